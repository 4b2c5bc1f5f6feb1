package web

// The parts every record detail page (company, contact, deal) shares: the
// timeline, the documents and the quick actions, with their handlers. A
// detail page loads them with loadRecordParts and shows them with the
// partials in templates/partials/records.html (see the comment there); the
// forms post to the routes below and come back to the detail page.

import (
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
	"github.com/rpcrm/rpcrm/filestore"
	"github.com/rpcrm/rpcrm/httpserver"
)

// recordRef names the company, contact or deal a page is about.
type recordRef struct {
	Entity string // crm.EntityCompany, crm.EntityContact or crm.EntityDeal
	ID     uuid.UUID
}

// recordPaths are the detail pages' URL prefixes by entity.
var recordPaths = map[string]string{
	crm.EntityCompany: "/companies/",
	crm.EntityContact: "/contacts/",
	crm.EntityDeal:    "/deals/",
}

// URL is the record's detail page.
func (r recordRef) URL() string { return recordPaths[r.Entity] + r.ID.String() }

// Field is the name of the link field of documents and activities
// (company_id, contact_id or deal_id).
func (r recordRef) Field() string { return r.Entity + "_id" }

// detailPages render a record's detail page with a prepared view: after a
// quick action or an upload on it failed, v carries the messages next to
// the fields (v.Fields) and what was typed (v.Form). Each area registers
// its detail page in an init function:
//
//	func init() { detailPages[crm.EntityDeal] = (*UI).dealDetailView }
//
// Without an entry the failed form's messages come back as a flash.
var detailPages = map[string]recordDetailFunc{}

// recordParts is what the shared partials show of one record.
type recordParts struct {
	Ref recordRef
	// Timeline is one page of the record's timeline, newest first;
	// TimelineMore is the URL of the next page as a fragment (htmx) and
	// TimelineNext the same page for browsers without JavaScript.
	Timeline     []timelineEntry
	TimelineMore string
	TimelineNext string
	// Documents are the record's live documents, newest first (nil when
	// the user may not read documents).
	Documents []*crm.Document
	// Users are the assignees a task can get.
	Users []option
	// Today is the default due date of a new task (YYYY-MM-DD).
	Today string
	// Me is the current user's ID, the default assignee.
	Me string
	// MaxUpload is the largest document, as text.
	MaxUpload string
	// Kinds are the kinds of activity the quick action offers.
	Kinds []string

	names map[uuid.UUID]string
}

// userName is the name of a user of the tenant ("" for nil or unknown).
func (rp *recordParts) userName(id *uuid.UUID) string {
	if id == nil {
		return ""
	}
	return rp.names[*id]
}

// timelineEntry is a timeline item with what the page shows of it.
type timelineEntry struct {
	*crm.TimelineItem
	// Body is the activity's body, rendered (and escaped) by crm.RenderBody.
	Body template.HTML
	// Who is the author, uploader or actor; Assignee a task's assignee.
	Who, Assignee string
	// What is the kind of an activity or the action of a change, as text;
	// Fields are the changed fields of a change, as labels.
	What   string
	Fields []string
}

// quickKinds are the activities a quick action records, the default first.
var quickKinds = []string{crm.KindNote, crm.KindCall, crm.KindMeeting, crm.KindEmail, crm.KindTask}

// timelinePageSize is how many timeline entries a page shows at once.
const timelinePageSize = 20

// loadRecordParts loads the timeline (the page after the "timeline"
// cursor in the URL, if any), the documents and the users for the quick
// actions of a record the caller has already read.
func (u *UI) loadRecordParts(r *http.Request, p *auth.Principal, v *view, ref recordRef) (*recordParts, error) {
	rp := &recordParts{Ref: ref, Me: p.UserID.String(), Today: time.Now().In(v.loc).Format(time.DateOnly),
		MaxUpload: fileSize(u.maxUpload()), Kinds: quickKinds, names: map[uuid.UUID]string{}}
	names := rp.names
	users, err := u.Auth.ListUsers(r.Context(), p)
	if err != nil {
		return nil, err
	}
	for _, us := range users {
		names[us.ID] = us.Name
		if !us.Disabled {
			rp.Users = append(rp.Users, option{Value: us.ID.String(), Label: us.Name})
		}
	}
	if err := u.loadTimeline(r, p, v, rp, names, r.URL.Query().Get("timeline")); err != nil {
		return nil, err
	}
	if _, ok := p.Can(auth.PermDocumentsRead); ok {
		f := crm.DocumentFilter{ListParams: crm.ListParams{Limit: crm.MaxLimit, Sort: "created_at", Desc: true}}
		f.CompanyID, f.ContactID, f.DealID = ref.linkIDs()
		pg, err := u.CRM.ListDocuments(r.Context(), p, f)
		if err != nil {
			return nil, err
		}
		rp.Documents = pg.Items
	}
	return rp, nil
}

// loadTimeline fills in one page of the timeline.
func (u *UI) loadTimeline(r *http.Request, p *auth.Principal, v *view, rp *recordParts, names map[uuid.UUID]string, cursor string) error {
	pg, err := u.CRM.Timeline(r.Context(), p, rp.Ref.Entity, rp.Ref.ID, crm.ListParams{Limit: timelinePageSize, Cursor: cursor})
	if err != nil {
		return err
	}
	name := func(id *uuid.UUID) string {
		if id == nil {
			return ""
		}
		return names[*id]
	}
	for _, it := range pg.Items {
		e := timelineEntry{TimelineItem: it, Body: template.HTML(it.BodyHTML)} //nolint:gosec // escaped by crm.RenderBody
		switch it.Type {
		case crm.TimelineActivity:
			e.Who, e.Assignee = name(it.OwnerID), name(it.AssigneeID)
			e.What = v.textOr("record.kind."+it.Kind, it.Kind)
		case crm.TimelineDocument:
			e.Who = name(it.CreatedBy)
		default:
			e.Who = it.Actor
			action := it.Action
			if i := strings.LastIndexByte(action, '.'); i >= 0 {
				action = action[i+1:]
			}
			e.What = v.textOr("record.action."+action, it.Action)
			if n := name(it.ActorID); n != "" {
				e.Who = n
			}
			for k := range it.Changes {
				e.Fields = append(e.Fields, v.fieldLabel(k))
			}
			slices.Sort(e.Fields)
		}
		rp.Timeline = append(rp.Timeline, e)
	}
	if pg.NextCursor != "" {
		q := url.Values{"cursor": {pg.NextCursor}}
		rp.TimelineMore = "/timeline/" + rp.Ref.Entity + "/" + rp.Ref.ID.String() + "?" + q.Encode()
		rp.TimelineNext = rp.Ref.URL() + "?" + url.Values{"timeline": {pg.NextCursor}}.Encode() + "#timeline"
	}
	return nil
}

// fieldLabel names a record field in the page's language: its label text
// ("record.field.<name>") when there is one, else the field name itself.
func (v *view) fieldLabel(field string) string {
	if key, ok := strings.CutPrefix(field, "custom_fields."); ok {
		return key
	}
	return v.textOr("record.field."+field, field)
}

// textOr translates key, or returns fallback when there is no such text.
func (v *view) textOr(key, fallback string) string {
	if s := translate(v.Lang, key); s != key {
		return s
	}
	return fallback
}

// timelineFragment answers the "more" button of a timeline (htmx): the next
// entries and a new button.
func (u *UI) timelineFragment(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	ref, ok := refFromPath(r)
	if !ok {
		u.errorPage(w, r, p, http.StatusNotFound, "error.not_found")
		return
	}
	if r.Header.Get("HX-Request") != "true" {
		// Without JavaScript the link leads to the detail page instead;
		// someone who typed the URL gets there too.
		redirect(w, r, ref.URL()+"?"+url.Values{"timeline": {r.URL.Query().Get("cursor")}}.Encode()+"#timeline")
		return
	}
	v := u.newView(w, r, p, "record.timeline")
	rp := &recordParts{Ref: ref}
	names := map[uuid.UUID]string{}
	if users, err := u.Auth.ListUsers(r.Context(), p); err == nil {
		for _, us := range users {
			names[us.ID] = us.Name
		}
	}
	if err := u.loadTimeline(r, p, v, rp, names, r.URL.Query().Get("cursor")); err != nil {
		u.fail(w, r, p, err)
		return
	}
	u.renderBlock(w, r, http.StatusOK, fragmentsPage, "timeline-items", map[string]any{"v": v, "r": rp})
}

// refFromPath reads /…/{entity}/{id}.
func refFromPath(r *http.Request) (recordRef, bool) {
	entity := r.PathValue("entity")
	id, err := uuid.Parse(r.PathValue("id"))
	if _, ok := recordPaths[entity]; !ok || err != nil {
		return recordRef{}, false
	}
	return recordRef{Entity: entity, ID: id}, true
}

// pathID reads the {id} of the URL; a malformed one is a record that does
// not exist.
func pathID(r *http.Request) (uuid.UUID, error) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return uuid.Nil, rpcrm.Errorf(rpcrm.ENOTFOUND, "Nicht gefunden.")
	}
	return id, nil
}

// linkedRef reads the record a form posts about from its company_id,
// contact_id or deal_id field: the first one set, in the order of the
// form's "record" field if it names one.
func linkedRef(form url.Values) (recordRef, bool) {
	order := []string{crm.EntityDeal, crm.EntityContact, crm.EntityCompany}
	if e := form.Get("record"); recordPaths[e] != "" {
		order = append([]string{e}, order...)
	}
	for _, e := range order {
		if s := strings.TrimSpace(form.Get(e + "_id")); s != "" {
			id, err := uuid.Parse(s)
			if err != nil {
				return recordRef{}, false
			}
			return recordRef{Entity: e, ID: id}, true
		}
	}
	return recordRef{}, false
}

// formFailed shows the messages of a failed quick action or upload next to
// its fields on the record's detail page, or as a flash when the area has
// not registered its page.
func (u *UI) formFailed(w http.ResponseWriter, r *http.Request, p *auth.Principal, ref recordRef, v *view) {
	if show, ok := detailPages[ref.Entity]; ok {
		show(u, w, r, p, ref.ID, v, http.StatusUnprocessableEntity)
		return
	}
	msgs := []string{}
	for _, m := range v.Fields {
		msgs = append(msgs, m)
	}
	slices.Sort(msgs)
	if len(msgs) == 0 {
		msgs = append(msgs, v.Error)
	}
	u.setFlash(w, flash{Kind: "error", Message: strings.Join(msgs, " ")})
	redirect(w, r, ref.URL())
}

// createActivity is a quick action: log a call, add a note or a task with
// due date and assignee. Fields: kind, subject, body, due_date, due_time,
// assignee_id and the record's link (company_id, contact_id, deal_id; a
// contact's page may send its company too).
func (u *UI) createActivity(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	_ = r.ParseForm()
	ref, ok := linkedRef(r.PostForm)
	if !ok {
		u.errorPage(w, r, p, http.StatusBadRequest, "error.bad_form")
		return
	}
	v := u.newView(w, r, p, "record.quick")
	v.Form = r.PostForm
	f := r.PostForm
	kind, subject, body := f.Get("kind"), f.Get("subject"), f.Get("body")
	format := crm.FormatMarkdown
	in := crm.ActivityInput{Kind: &kind, Subject: &subject, Body: &body, BodyFormat: &format}
	for _, e := range []string{crm.EntityCompany, crm.EntityContact, crm.EntityDeal} {
		if s := strings.TrimSpace(f.Get(e + "_id")); s != "" {
			c := crm.Clearable{Set: true, Value: s}
			switch e {
			case crm.EntityCompany:
				in.CompanyID = c
			case crm.EntityContact:
				in.ContactID = c
			default:
				in.DealID = c
			}
		}
	}
	if kind == crm.KindTask {
		if a := strings.TrimSpace(f.Get("assignee_id")); a != "" {
			in.AssigneeID = crm.Clearable{Set: true, Value: a}
		}
		if due, err := dueAt(f.Get("due_date"), f.Get("due_time"), v.loc); err != nil {
			v.Fields["due_date"] = v.T("record.due.invalid")
		} else if due != "" {
			in.DueAt = crm.Clearable{Set: true, Value: due}
		}
	}
	if len(v.Fields) > 0 {
		v.Error = v.T("form.invalid")
		u.formFailed(w, r, p, ref, v)
		return
	}
	if _, err := u.CRM.CreateActivity(r.Context(), p, in, meta(r)); err != nil {
		if !formErrors(v, err) {
			u.fail(w, r, p, err)
			return
		}
		if m, ok := v.Fields["due_at"]; ok {
			v.Fields["due_date"] = m
		}
		u.formFailed(w, r, p, ref, v)
		return
	}
	key := "record.activity.saved"
	if kind == crm.KindTask {
		key = "record.task.saved"
	}
	u.setFlash(w, flash{Kind: "ok", Message: v.T(key)})
	redirect(w, r, backTo(f.Get("back"), ref)+"#timeline")
}

// dueAt turns a due date and optional time (in the tenant's zone) into an
// RFC 3339 time; without a time the task is due at the end of the day.
func dueAt(date, clock string, loc *time.Location) (string, error) {
	date, clock = strings.TrimSpace(date), strings.TrimSpace(clock)
	if date == "" {
		if clock != "" {
			return "", errors.New("time without date")
		}
		return "", nil
	}
	if clock == "" {
		clock = "23:59"
	}
	t, err := time.ParseInLocation("2006-01-02 15:04", date+" "+clock, loc)
	if err != nil {
		return "", err
	}
	return t.Format(time.RFC3339), nil
}

// backTo is where a form returns: its "back" field if that is a local path
// (safeNext), else the record's page.
func backTo(back string, ref recordRef) string {
	if b := safeNext(back); b != "/" {
		return b
	}
	return ref.URL()
}

// uploadDocument stores a file posted as multipart/form-data (field
// "file") for the record named by company_id, contact_id or deal_id. The
// foundation has parsed the form within the upload limit; the content goes
// to the file store first and the record is created afterwards (the file
// is removed again if that fails).
func (u *UI) uploadDocument(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if r.MultipartForm == nil {
		u.errorPage(w, r, p, http.StatusBadRequest, "error.bad_form")
		return
	}
	form := url.Values(r.MultipartForm.Value)
	ref, ok := linkedRef(form)
	if !ok {
		u.errorPage(w, r, p, http.StatusBadRequest, "error.bad_form")
		return
	}
	v := u.newView(w, r, p, "record.documents")
	v.Form = form
	files := r.MultipartForm.File["file"]
	if len(files) == 0 || files[0].Filename == "" {
		v.Fields["file"] = v.T("record.file.missing")
		v.Error = v.T("form.invalid")
		u.formFailed(w, r, p, ref, v)
		return
	}
	if u.Files == nil {
		u.fail(w, r, p, rpcrm.Errorf(rpcrm.EUNAVAILABLE, "Die Dokumentablage ist nicht eingerichtet."))
		return
	}
	src, err := files[0].Open()
	if err != nil {
		u.fail(w, r, p, err)
		return
	}
	defer src.Close()
	id, err := uuid.NewV7()
	if err != nil {
		u.fail(w, r, p, err)
		return
	}
	st, err := u.Files.Put(p.TenantID, id, src, u.maxUpload())
	if err != nil {
		var tooLarge *filestore.TooLargeError
		var pathErr *fs.PathError
		switch {
		case errors.As(err, &tooLarge):
			u.errorPage(w, r, p, http.StatusRequestEntityTooLarge, "error.too_large")
		case errors.As(err, &pathErr):
			u.fail(w, r, p, fmt.Errorf("store upload: %w", err))
		default:
			u.errorPage(w, r, p, http.StatusBadRequest, "error.bad_form")
		}
		return
	}
	in := crm.DocumentInput{ID: id, FileName: files[0].Filename, ContentType: st.ContentType, Size: st.Size, SHA256: st.SHA256}
	in.CompanyID, in.ContactID, in.DealID = ref.linkIDs()
	d, err := u.CRM.CreateDocument(r.Context(), p, in, meta(r))
	if err != nil {
		if rerr := u.Files.Remove(p.TenantID, id); rerr != nil {
			u.Log.ErrorContext(r.Context(), "remove unrecorded upload", "err", rerr, "document_id", id)
		}
		if rpcrm.ErrorCode(err) == rpcrm.EINVALID && formErrors(v, err) {
			u.formFailed(w, r, p, ref, v)
			return
		}
		u.fail(w, r, p, err)
		return
	}
	u.setFlash(w, flash{Kind: "ok", Message: v.T("record.document.uploaded", d.FileName)})
	redirect(w, r, backTo(form.Get("back"), ref)+"#documents")
}

// downloadDocument sends a document's content, always as an attachment
// with the sniffed type and nosniff, so that an uploaded HTML page or SVG
// never runs in the application's origin.
func (u *UI) downloadDocument(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	_, d, ok := recordAtPath(u, w, r, p, u.CRM.Document)
	if !ok {
		return
	}
	if u.Files == nil {
		u.fail(w, r, p, rpcrm.Errorf(rpcrm.EUNAVAILABLE, "Die Dokumentablage ist nicht eingerichtet."))
		return
	}
	f, err := u.Files.Open(p.TenantID, d.ID)
	if err != nil {
		u.fail(w, r, p, fmt.Errorf("open content of document %s: %w", d.ID, err))
		return
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", d.ContentType)
	h.Set("Content-Disposition", httpserver.ContentDisposition(crm.SanitizeFileName(d.FileName)))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, no-cache")
	h.Set("ETag", `"`+d.SHA256+`"`)
	http.ServeContent(w, r, "", d.CreatedAt, f)
}

// docRef is the record a document belongs to.
func docRef(d *crm.Document) recordRef {
	switch {
	case d.CompanyID != nil:
		return recordRef{Entity: crm.EntityCompany, ID: *d.CompanyID}
	case d.ContactID != nil:
		return recordRef{Entity: crm.EntityContact, ID: *d.ContactID}
	case d.DealID != nil:
		return recordRef{Entity: crm.EntityDeal, ID: *d.DealID}
	}
	return recordRef{}
}

// deleteDocument moves a document to the trash; the flash offers undo.
func (u *UI) deleteDocument(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id, d, ok := recordAtPath(u, w, r, p, u.CRM.Document)
	if !ok {
		return
	}
	if err := u.CRM.DeleteDocument(r.Context(), p, id, meta(r)); err != nil {
		u.fail(w, r, p, err)
		return
	}
	v := u.newView(w, r, p, "record.documents")
	u.setFlash(w, flash{Kind: "ok", Message: v.T("record.document.deleted", d.FileName),
		UndoURL: "/documents/" + id.String() + "/restore"})
	redirect(w, r, backTo(r.PostFormValue("back"), docRef(d))+"#documents")
}

// restoreDocument takes a document out of the trash (the undo of delete).
func (u *UI) restoreDocument(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id, err := pathID(r)
	if err != nil {
		u.fail(w, r, p, err)
		return
	}
	d, err := u.CRM.RestoreDocument(r.Context(), p, id, meta(r))
	if err != nil {
		u.fail(w, r, p, err)
		return
	}
	v := u.newView(w, r, p, "record.documents")
	u.setFlash(w, flash{Kind: "ok", Message: v.T("record.document.restored", d.FileName)})
	redirect(w, r, backTo(r.PostFormValue("back"), docRef(d))+"#documents")
}

// recordRoutes are the routes of companies, contacts, search and the
// shared parts of the detail pages.
func (u *UI) recordRoutes() []route {
	rs := append(u.companyRoutes(), u.contactRoutes()...)
	rs = append(rs, u.searchRoutes()...)
	return append(rs, []route{
		page("GET /timeline/{entity}/{id}", "", u.timelineFragment),
		page("POST /activities", auth.PermActivitiesWrite, u.createActivity),
		page("POST /documents", auth.PermDocumentsWrite, u.uploadDocument),
		page("GET /documents/{id}", auth.PermDocumentsRead, u.downloadDocument),
		page("POST /documents/{id}/delete", auth.PermDocumentsDelete, u.deleteDocument),
		page("POST /documents/{id}/restore", auth.PermDocumentsDelete, u.restoreDocument),
	}...)
}

// fileSize writes a size the Swiss way: 532 Bytes, 12 KB, 1.4 MB.
func fileSize(n any) string {
	var b int64
	switch x := n.(type) {
	case int64:
		b = x
	case *int64:
		if x == nil {
			return ""
		}
		b = *x
	case int:
		b = int64(x)
	}
	switch {
	case b >= 1<<20 && b%(1<<20) == 0:
		return fmt.Sprintf("%d MB", b>>20)
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%d KB", (b+512)>>10)
	}
	return fmt.Sprintf("%d Bytes", b)
}

func init() {
	funcs["filesize"] = fileSize
}
