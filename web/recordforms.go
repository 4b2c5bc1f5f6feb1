package web

import (
	"context"
	"net/http"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
)

// Shared parts of the record types with a list, a trash and a form of their
// own (companies, contacts): their routes, the list and trash pages, the
// record's page, the form's data and save flow, and the lookup of the
// record a route names; and small helpers the deals and documents share.

// recordTypePages are the handlers and permissions of a record type's
// standard pages, for recordTypeRoutes.
type recordTypePages struct {
	base                string // the list's path, e.g. /companies
	read, write, remove auth.Permission
	list, trash, export pageHandler
	newForm, editForm   pageHandler
	detail, save        pageHandler
	ops                 func() trashOps
}

// recordTypeRoutes are a record type's list, trash, CSV export, form,
// page, and delete, restore and purge.
func (u *UI) recordTypeRoutes(rp recordTypePages) []route {
	b := rp.base
	return []route{
		page("GET "+b, rp.read, rp.list),
		page("GET "+b+"/trash", rp.remove, rp.trash),
		page("GET "+b+"/export.csv", auth.PermExportRun, rp.export),
		page("GET "+b+"/new", rp.write, rp.newForm),
		page("POST "+b, rp.write, rp.save),
		page("GET "+b+"/{id}", rp.read, rp.detail),
		page("GET "+b+"/{id}/edit", rp.write, rp.editForm),
		page("POST "+b+"/{id}", rp.write, rp.save),
		page("POST "+b+"/{id}/delete", rp.remove, u.deleteRecord(rp.ops)),
		page("POST "+b+"/{id}/restore", rp.remove, u.restoreRecord(rp.ops)),
		page("POST "+b+"/{id}/purge", rp.remove, u.purgeRecord(rp.ops)),
	}
}

// recordFormRenderer renders a record form. posted are the custom field
// definitions a submitted form in v.Form was read with (then the custom
// fields show what was typed, and the definitions are not read again); nil
// for a form not submitted yet (or a tenant without custom fields, whose
// forms have none to show).
type recordFormRenderer func(w http.ResponseWriter, r *http.Request, p *auth.Principal, v *view, id string, current crm.Custom,
	posted []*crm.CustomField, status int)

// recordEditor is how saveRecordForm saves a record type's form. Build it
// per request: its service calls are method values of u.CRM.
type recordEditor[In, T any] struct {
	// entity is the record type (crm.EntityCompany, …): whose custom fields
	// the form has, the prefix of its titles (<entity>.new, <entity>.edit),
	// and where the saved record's page is (recordRef.URL).
	entity string
	// input reads the posted form (v.Form), noting invalid fields in
	// v.Fields.
	input  func(r *http.Request, p *auth.Principal, v *view, defs []*crm.CustomField) In
	create func(context.Context, *auth.Principal, In, auth.LoginMeta) (T, error)
	update func(context.Context, *auth.Principal, uuid.UUID, In, auth.LoginMeta) (T, error)
	id     func(T) uuid.UUID
	// refused, if set, moves the messages of a form the service refused to
	// the form's fields.
	refused func(v *view)
	form    recordFormRenderer
}

// saveRecordForm creates (no {id}) or updates a record from its form: an
// invalid form is shown again (422, or 412 when the record changed in the
// meantime), a saved record's page is next, with a flash.
func saveRecordForm[In, T any](u *UI, w http.ResponseWriter, r *http.Request, p *auth.Principal, ed recordEditor[In, T]) {
	_ = r.ParseForm()
	var id uuid.UUID
	if r.PathValue("id") != "" {
		var err error
		if id, err = pathID(r); err != nil {
			u.fail(w, r, p, err)
			return
		}
	}
	title := ed.entity + ".new"
	if id != uuid.Nil {
		title = ed.entity + ".edit"
	}
	v := u.newView(w, r, p, title)
	v.Form = r.PostForm
	defs, err := u.CRM.CustomFields(r.Context(), p, ed.entity)
	if err != nil {
		u.fail(w, r, p, err)
		return
	}
	in := ed.input(r, p, v, defs)
	if len(v.Fields) > 0 {
		v.Error = v.T("form.invalid")
		ed.form(w, r, p, v, idString(id), nil, defs, http.StatusUnprocessableEntity)
		return
	}
	var saved T
	if id == uuid.Nil {
		saved, err = ed.create(r.Context(), p, in, meta(r))
	} else {
		saved, err = ed.update(r.Context(), p, id, in, meta(r))
	}
	if err != nil {
		if !formErrors(v, err) {
			u.fail(w, r, p, err)
			return
		}
		if ed.refused != nil {
			ed.refused(v)
		}
		ed.form(w, r, p, v, idString(id), nil, defs, statusOf(err))
		return
	}
	u.setFlash(w, flash{Kind: "ok", Message: v.T("flash.saved")})
	redirect(w, r, recordRef{Entity: ed.entity, ID: ed.id(saved)}.URL())
}

// recordAtPath reads the record the route's {id} names with get; when it
// cannot, it has answered with the error page and ok is false.
func recordAtPath[T any](u *UI, w http.ResponseWriter, r *http.Request, p *auth.Principal,
	get func(context.Context, *auth.Principal, uuid.UUID) (T, error)) (id uuid.UUID, rec T, ok bool) {
	id, err := pathID(r)
	if err != nil {
		u.fail(w, r, p, err)
		return id, rec, false
	}
	if rec, err = get(r.Context(), p, id); err != nil {
		u.fail(w, r, p, err)
		return id, rec, false
	}
	return id, rec, true
}

// recordListKind is a record type's list, for its list and trash pages and
// its exports.
type recordListKind struct {
	kind string // the prefix of the titles (<kind>.list, <kind>.trash) and of the htmx targets
	page string // the page template, also the navigation entry
	base string // the list's path
	// sortable are the columns the list sorts by, sort the default.
	sortable []string
	sort     string
}

// query reads the list's URL.
func (k recordListKind) query(r *http.Request) listQuery {
	return readListQuery(r, k.base, k.sortable, k.sort)
}

// recordListView is the view and query of a record type's list or trash.
func (u *UI) recordListView(w http.ResponseWriter, r *http.Request, p *auth.Principal, k recordListKind, trash bool) (*view, listQuery) {
	title := k.kind + ".list"
	if trash {
		title = k.kind + ".trash"
	}
	v := u.newView(w, r, p, title)
	v.Nav = k.page
	lq := k.query(r)
	lq.Trash = trash
	return v, lq
}

// listedRecords takes a page of a record list: a list whose parameters the
// service refused shows their messages and no rows; on another error it
// has answered with the error page and ok is false.
func listedRecords[T any](u *UI, w http.ResponseWriter, r *http.Request, p *auth.Principal, v *view, lp *listPage,
	pg *crm.Page[T], err error) (items []T, ok bool) {
	switch {
	case err == nil:
		lp.setCursor(pg.NextCursor)
		return pg.Items, true
	case listFailed(err):
		formErrors(v, err)
		return nil, true
	}
	u.fail(w, r, p, err)
	return nil, false
}

// renderRecordList renders a record list: for htmx its results
// (#<kind>-results) or its next rows (#<kind>-more) only, else the page.
func (u *UI) renderRecordList(w http.ResponseWriter, r *http.Request, v *view, k recordListKind) {
	switch hxTarget(r) {
	case k.kind + "-results":
		u.renderBlock(w, r, http.StatusOK, k.page, k.kind+"-results", v)
	case k.kind + "-more":
		u.renderBlock(w, r, http.StatusOK, k.page, k.kind+"-rows", v)
	default:
		u.render(w, r, http.StatusOK, k.page, v)
	}
}

// recordDetailFunc renders a record's page with a prepared view (which may
// carry a failed quick action's messages), see detailPages.
type recordDetailFunc func(u *UI, w http.ResponseWriter, r *http.Request, p *auth.Principal, id uuid.UUID, v *view, status int)

// recordDetailPage is the handler of a record's page: the route's {id},
// shown by show with a new view titled title.
func (u *UI) recordDetailPage(title string, show recordDetailFunc) pageHandler {
	return func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		id, err := pathID(r)
		if err != nil {
			u.fail(w, r, p, err)
			return
		}
		show(u, w, r, p, id, u.newView(w, r, p, title), http.StatusOK)
	}
}

// recordDetail is what the company and contact pages have in common: the
// shared parts (timeline, documents, quick actions), the owner's name and
// the custom fields.
type recordDetail struct {
	Owner  string
	Custom []customShown
	Parts  *recordParts
}

// loadRecordDetail loads the shared parts of a record's page.
func (u *UI) loadRecordDetail(r *http.Request, p *auth.Principal, v *view, ref recordRef, owner *uuid.UUID, custom crm.Custom) (recordDetail, error) {
	var d recordDetail
	var err error
	if d.Parts, err = u.loadRecordParts(r, p, v, ref); err != nil {
		return d, err
	}
	d.Owner = d.Parts.userName(owner)
	defs, err := u.CRM.CustomFields(r.Context(), p, ref.Entity)
	if err != nil {
		return d, err
	}
	d.Custom = customDisplay(v, defs, custom)
	return d, nil
}

// recordFormData is what the company and contact forms have in common.
type recordFormData struct {
	ID      string // empty for a new record
	Owners  []option
	TagList []option
	Custom  []customInput
}

// loadRecordForm loads the choices of a record's form: the users (owner),
// the tags and the entity's custom fields; see recordFormRenderer for
// current and posted.
func (u *UI) loadRecordForm(r *http.Request, p *auth.Principal, v *view, entity, id string, current crm.Custom,
	posted []*crm.CustomField) (recordFormData, error) {
	d := recordFormData{ID: id}
	var err error
	if d.Owners, d.TagList, err = u.formChoices(r, p); err != nil {
		return d, err
	}
	defs := posted
	if defs == nil {
		if defs, err = u.CRM.CustomFields(r.Context(), p, entity); err != nil {
			return d, err
		}
	}
	d.Custom = customInputs(v, defs, current, v.Form, posted != nil)
	return d, nil
}

// linkIDs is the record's id in the one of the company, contact and deal
// ids of a document (filter or input) that its entity names.
func (ref recordRef) linkIDs() (company, contact, deal *uuid.UUID) {
	id := ref.ID
	switch ref.Entity {
	case crm.EntityCompany:
		return &id, nil, nil
	case crm.EntityContact:
		return nil, &id, nil
	}
	return nil, nil, &id
}

// recordNameOptions are a page of records as options (id, name); none
// when the list failed.
func recordNameOptions[T any](pg *crm.Page[T], err error, idName func(T) (uuid.UUID, string)) []option {
	if err != nil {
		return nil
	}
	var opts []option
	for _, x := range pg.Items {
		id, name := idName(x)
		opts = append(opts, option{Value: id.String(), Label: name})
	}
	return opts
}
