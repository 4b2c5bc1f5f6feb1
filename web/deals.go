package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
)

// dealRoutes are the deal pages: the board per pipeline (the start of the
// area), the list, the trash, a deal's page and its forms.
func (u *UI) dealRoutes() []route {
	return []route{
		page("GET /deals", auth.PermDealsRead, u.dealBoard),
		page("GET /deals/list", auth.PermDealsRead, u.dealList),
		page("GET /deals/trash", auth.PermDealsDelete, u.dealTrash),
		page("GET /deals/new", auth.PermDealsWrite, u.dealNew),
		page("POST /deals", auth.PermDealsWrite, u.dealCreate),
		page("GET /deals/options/company", auth.PermDealsWrite, u.dealOptions(crm.EntityCompany)),
		page("GET /deals/options/contact", auth.PermDealsWrite, u.dealOptions(crm.EntityContact)),
		page("GET /deals/{id}", auth.PermDealsRead, u.dealShow),
		page("GET /deals/{id}/edit", auth.PermDealsWrite, u.dealEdit),
		page("POST /deals/{id}", auth.PermDealsWrite, u.dealUpdate),
		page("POST /deals/{id}/move", auth.PermDealsWrite, u.dealMove),
		page("GET /deals/{id}/lost", auth.PermDealsWrite, u.dealLostPage),
		page("POST /deals/{id}/delete", auth.PermDealsDelete, u.dealDelete),
		page("POST /deals/{id}/restore", auth.PermDealsDelete, u.dealRestore),
		page("POST /deals/{id}/purge", auth.PermDealsDelete, u.purgeRecord(func() trashOps {
			return trashOps{base: "/deals", purge: u.CRM.PurgeDeal}
		})),
	}
}

// boardPerStage is the number of cards a board column shows.
const boardPerStage = 50

// needsFullLoad answers a boosted htmx navigation to a page with scripts of
// its own (board, chart) with a real page load: htmx swaps only the body,
// so the page's scripts in the head would never run. The navigation's links
// to these pages are not boosted (hx-boost="false") and so cost no extra
// round trip; this catches the other links.
func needsFullLoad(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet || r.Header.Get("HX-Boosted") != "true" {
		return false
	}
	w.Header().Set("HX-Redirect", r.URL.RequestURI())
	w.WriteHeader(http.StatusOK)
	return true
}

// pathID reads the {id} of the route; a malformed one is a 404.
func (u *UI) pathID(w http.ResponseWriter, r *http.Request, p *auth.Principal) (uuid.UUID, bool) {
	return u.pathValueID(w, r, p, "id")
}

func queryID(s string) *uuid.UUID {
	id, err := uuid.Parse(strings.TrimSpace(s))
	if err != nil {
		return nil
	}
	return &id
}

// userNames maps the tenant's users to their names (for owners).
func (u *UI) userNames(r *http.Request, p *auth.Principal) (map[uuid.UUID]string, []option) {
	users, err := u.Auth.ListUsers(r.Context(), p)
	names := map[uuid.UUID]string{}
	var opts []option
	if err != nil {
		u.Log.ErrorContext(r.Context(), "list users", "err", err)
		return names, opts
	}
	for _, us := range users {
		names[us.ID] = us.Name
		opts = append(opts, option{Value: us.ID.String(), Label: us.Name})
	}
	return names, opts
}

// canWriteOwned reports whether p may change a record with this owner.
func canWriteOwned(p *auth.Principal, perm auth.Permission, owner *uuid.UUID) bool {
	s, ok := p.Can(perm)
	return ok && (s == auth.ScopeAll || owner != nil && *owner == p.UserID)
}

// dealCard is a deal as a board card or list row shows it.
type dealCard struct {
	*crm.Deal
	Company, Contact, Owner, Stage string
	// CanMove: the user may change this deal (scope own: their own only).
	CanMove bool
}

// dealCards adds the names of the deals' companies, owners and stages.
func (u *UI) dealCards(r *http.Request, p *auth.Principal, ds []*crm.Deal, pls []*crm.Pipeline) []dealCard {
	var ids []uuid.UUID
	for _, d := range ds {
		if d.CompanyID != nil {
			ids = append(ids, *d.CompanyID)
		}
	}
	companies, err := u.CRM.RecordNames(r.Context(), p, crm.EntityCompany, ids)
	if err != nil {
		u.Log.ErrorContext(r.Context(), "company names", "err", err)
	}
	owners, _ := u.userNames(r, p)
	stages := map[uuid.UUID]string{}
	for _, pl := range pls {
		for _, st := range pl.Stages {
			stages[st.ID] = st.Name
		}
	}
	out := make([]dealCard, 0, len(ds))
	for _, d := range ds {
		c := dealCard{Deal: d, Stage: stages[d.StageID], CanMove: canWriteOwned(p, auth.PermDealsWrite, d.OwnerID)}
		if d.CompanyID != nil {
			c.Company = companies[*d.CompanyID]
		}
		if d.OwnerID != nil {
			c.Owner = owners[*d.OwnerID]
		}
		out = append(out, c)
	}
	return out
}

// sumText writes sums per currency the Swiss way, the tenant's currency
// first: "12'500.00 CHF · 3'000.00 EUR"; "0.00 CHF" when there is nothing.
func sumText(totals []crm.MoneyAmount, currency string) string {
	s := crm.DealSum{Totals: totals}
	parts := []string{money(s.Amount(currency), currency)}
	for _, t := range s.Others(currency) {
		parts = append(parts, money(t.Amount, t.Currency))
	}
	return strings.Join(parts, " · ")
}

type boardColumn struct {
	Stage *crm.Stage
	Count int
	Total string
	Cards []dealCard
	More  int
}

type boardPage struct {
	Pipelines []*crm.Pipeline
	Pipeline  *crm.Pipeline
	Columns   []boardColumn
	Stages    []option
	CanWrite  bool
	Next      string
}

// choosePipeline returns the pipeline named by the query, or the first.
func choosePipeline(pls []*crm.Pipeline, id string) *crm.Pipeline {
	for _, pl := range pls {
		if pl.ID.String() == id {
			return pl
		}
	}
	if len(pls) > 0 {
		return pls[0]
	}
	return nil
}

func stageOptions(pl *crm.Pipeline) []option {
	var opts []option
	for _, st := range pl.Stages {
		opts = append(opts, option{Value: st.ID.String(), Label: st.Name})
	}
	return opts
}

func (u *UI) dealBoard(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if needsFullLoad(w, r) {
		return
	}
	ctx := r.Context()
	pls, err := u.CRM.ListPipelines(ctx, p)
	if err != nil {
		u.fail(w, r, p, err)
		return
	}
	v := u.newView(w, r, p, "deals.board.title")
	v.Nav = "deals"
	v.Scripts = []string{"vendor/Sortable.min.js", "board.js"}
	data := &boardPage{Pipelines: pls, Next: r.URL.RequestURI()}
	_, data.CanWrite = p.Can(auth.PermDealsWrite)
	data.Pipeline = choosePipeline(pls, r.URL.Query().Get("pipeline"))
	if data.Pipeline != nil {
		b, err := u.CRM.Board(ctx, p, data.Pipeline.ID, boardPerStage)
		if err != nil {
			u.fail(w, r, p, err)
			return
		}
		data.Pipeline = b.Pipeline
		data.Stages = stageOptions(b.Pipeline)
		var all []*crm.Deal
		for _, c := range b.Stages {
			all = append(all, c.Deals...)
		}
		cards := u.dealCards(r, p, all, pls)
		i := 0
		for _, c := range b.Stages {
			col := boardColumn{Stage: c.Stage, Count: c.Count, Total: sumText(c.Totals, v.Tenant.Currency),
				Cards: cards[i : i+len(c.Deals)], More: c.Count - len(c.Deals)}
			i += len(c.Deals)
			data.Columns = append(data.Columns, col)
		}
	}
	v.Data = data
	u.render(w, r, http.StatusOK, "deals", v)
}

// moveAnswer is the board's JSON answer to a move: the deal as it is now
// (its version for the next move) and every column's count and total.
type moveAnswer struct {
	OK          bool         `json:"ok"`
	Message     string       `json:"message"`
	NeedsReason bool         `json:"needs_reason,omitempty"`
	Deal        *movedDeal   `json:"deal,omitempty"`
	Columns     []moveColumn `json:"columns,omitempty"`
}

type movedDeal struct {
	ID      uuid.UUID `json:"id"`
	Version int       `json:"version"`
	StageID uuid.UUID `json:"stage_id"`
	Status  string    `json:"status"`
}

type moveColumn struct {
	StageID uuid.UUID `json:"stage_id"`
	Count   int       `json:"count"`
	Total   string    `json:"total"`
}

func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// dealMove moves a deal to another stage: from the board (JSON, with the
// new totals) or from a card's form (redirect). The version makes a move
// based on a stale board fail instead of undoing someone else's change.
func (u *UI) dealMove(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id, ok := u.pathID(w, r, p)
	if !ok {
		return
	}
	ctx := r.Context()
	stageID := queryID(r.PostFormValue("stage_id"))
	version, _ := strconv.Atoi(r.PostFormValue("version"))
	next := safeNext(r.PostFormValue("next"))
	if next == "/" {
		next = "/deals"
	}
	in := crm.DealInput{StageID: stageID, Version: version}
	reason := strings.TrimSpace(r.PostFormValue("lost_reason"))
	fromLostForm := r.PostFormValue("lost_form") != ""
	if reason != "" || fromLostForm {
		in.LostReason = &reason
	}
	v := u.newView(w, r, p, "deals.move.title")
	var d *crm.Deal
	var err error
	if stageID == nil {
		err = rpcrm.FieldError("stage_id", v.T("deals.move.no_stage"))
	} else {
		d, err = u.CRM.UpdateDeal(ctx, p, id, in, meta(r))
	}
	if wantsJSON(r) {
		u.moveJSON(w, r, p, v, id, d, err)
		return
	}
	switch {
	case err == nil:
		u.setFlash(w, flash{Kind: "ok", Message: v.T("deals.moved", d.Title)})
		redirect(w, r, next)
	case rpcrm.ErrorCode(err) == rpcrm.EPRECONDITION:
		u.setFlash(w, flash{Kind: "error", Message: v.T("deals.move.stale")})
		redirect(w, r, next)
	case fieldOf(err, "lost_reason") != "" && !fromLostForm:
		q := url.Values{"stage": {stageID.String()}, "version": {strconv.Itoa(version)}, "next": {next}}
		redirect(w, r, "/deals/"+id.String()+"/lost?"+q.Encode())
	case fromLostForm && formErrors(v, err):
		cur, gerr := u.CRM.Deal(ctx, p, id)
		if gerr != nil {
			u.fail(w, r, p, gerr)
			return
		}
		v.Form = r.PostForm
		u.renderLost(w, r, v, cur, stageID, version, next, http.StatusUnprocessableEntity)
	case formErrors(v, err):
		msg := v.Error
		for _, m := range v.Fields {
			msg = m
		}
		u.setFlash(w, flash{Kind: "error", Message: msg})
		redirect(w, r, next)
	default:
		u.fail(w, r, p, err)
	}
}

// fieldOf returns a validation error's message for one field.
func fieldOf(err error, field string) string {
	if e, ok := err.(*rpcrm.Error); ok {
		return e.Fields[field]
	}
	return ""
}

func (u *UI) moveJSON(w http.ResponseWriter, r *http.Request, p *auth.Principal, v *view, id uuid.UUID, d *crm.Deal, err error) {
	ctx := r.Context()
	ans := moveAnswer{OK: err == nil}
	status := http.StatusOK
	switch code := rpcrm.ErrorCode(err); {
	case err == nil:
		ans.Message = v.T("deals.moved", d.Title)
	case code == rpcrm.EPRECONDITION:
		status = http.StatusPreconditionFailed
		ans.Message = v.T("deals.move.stale")
		// The card goes to where the deal really is, with its version.
		d, _ = u.CRM.Deal(ctx, p, id)
	case code == rpcrm.ENOTFOUND:
		status = http.StatusNotFound
		ans.Message = v.T("error.not_found")
	case code == rpcrm.EFORBIDDEN:
		status = http.StatusForbidden
		ans.Message = v.T("error.forbidden")
	case code == rpcrm.EINVALID || code == rpcrm.ECONFLICT:
		status = http.StatusUnprocessableEntity
		ans.Message = v.Msg(rpcrm.ErrorMessage(err))
		if m := fieldOf(err, "lost_reason"); m != "" {
			ans.NeedsReason, ans.Message = true, v.Msg(m)
		} else if m := fieldOf(err, "stage_id"); m != "" {
			ans.Message = v.Msg(m)
		}
	default:
		u.Log.ErrorContext(ctx, "move deal", "err", err)
		status = http.StatusInternalServerError
		ans.Message = v.T("error.internal")
	}
	if d != nil {
		ans.Deal = &movedDeal{ID: d.ID, Version: d.Version, StageID: d.StageID, Status: d.Status}
		if b, berr := u.CRM.Board(ctx, p, d.PipelineID, 0); berr == nil {
			for _, c := range b.Stages {
				ans.Columns = append(ans.Columns, moveColumn{StageID: c.Stage.ID, Count: c.Count, Total: sumText(c.Totals, v.Tenant.Currency)})
			}
		}
	}
	writeJSON(w, status, ans)
}

type lostPage struct {
	Deal    *crm.Deal
	Stage   *crm.Stage
	Version int
	Next    string
}

// dealLostPage asks for the reason of a loss (the board without JavaScript).
func (u *UI) dealLostPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id, ok := u.pathID(w, r, p)
	if !ok {
		return
	}
	d, err := u.CRM.Deal(r.Context(), p, id)
	if err != nil {
		u.fail(w, r, p, err)
		return
	}
	q := r.URL.Query()
	version, _ := strconv.Atoi(q.Get("version"))
	if version == 0 {
		version = d.Version
	}
	v := u.newView(w, r, p, "deals.lost.title")
	u.renderLost(w, r, v, d, queryID(q.Get("stage")), version, safeNext(q.Get("next")), http.StatusOK)
}

func (u *UI) renderLost(w http.ResponseWriter, r *http.Request, v *view, d *crm.Deal, stageID *uuid.UUID, version int, next string, status int) {
	pl, err := u.CRM.Pipeline(r.Context(), v.User, d.PipelineID)
	if err != nil {
		u.fail(w, r, v.User, err)
		return
	}
	data := &lostPage{Deal: d, Version: version, Next: next}
	for _, st := range pl.Stages {
		if (stageID != nil && st.ID == *stageID) || (stageID == nil && data.Stage == nil && st.Kind == crm.StageLost) {
			data.Stage = st
		}
	}
	if data.Stage == nil || data.Stage.Kind != crm.StageLost {
		u.errorPage(w, r, v.User, http.StatusNotFound, "error.not_found")
		return
	}
	v.Nav = "deals"
	v.Data = data
	u.render(w, r, status, "deal_lost", v)
}

// dealListPage is the list view with its filters.
type dealListPage struct {
	Items       []dealCard
	Next        string // URL of the next page ("" on the last)
	Pipelines   []option
	Stages      []option
	Owners      []option
	Sorts       []option
	CompanyID   string
	CompanyName string
	Trash       bool
}

var dealListSorts = []string{"updated_at", "-updated_at", "title", "-title", "amount", "-amount", "expected_close", "-expected_close", "created_at", "-created_at"}

func (u *UI) dealList(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	u.dealListOrTrash(w, r, p, false)
}

func (u *UI) dealTrash(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	u.dealListOrTrash(w, r, p, true)
}

func (u *UI) dealListOrTrash(w http.ResponseWriter, r *http.Request, p *auth.Principal, trash bool) {
	ctx := r.Context()
	q := r.URL.Query()
	title := "deals.list.title"
	if trash {
		title = "deals.trash.title"
	}
	v := u.newView(w, r, p, title)
	v.Nav = "deals"
	v.Form = q
	sort := q.Get("sort")
	if sort == "" {
		sort = "-updated_at"
		v.Form.Set("sort", sort)
	}
	f := crm.DealFilter{ListParams: crm.ListParams{Q: q.Get("q"), Sort: strings.TrimPrefix(sort, "-"), Desc: strings.HasPrefix(sort, "-"),
		Cursor: q.Get("cursor"), Limit: 50, OwnerID: queryID(q.Get("owner")), Deleted: trash},
		PipelineID: queryID(q.Get("pipeline")), StageID: queryID(q.Get("stage")), CompanyID: queryID(q.Get("company")),
		Status: q.Get("status")}
	pls, err := u.CRM.ListPipelines(ctx, p)
	if err != nil {
		u.fail(w, r, p, err)
		return
	}
	data := &dealListPage{Trash: trash}
	pg, err := u.CRM.ListDeals(ctx, p, f)
	if err != nil {
		if !formErrors(v, err) {
			u.fail(w, r, p, err)
			return
		}
		pg = &crm.Page[*crm.Deal]{}
	}
	data.Items = u.dealCards(r, p, pg.Items, pls)
	if pg.NextCursor != "" {
		nq := url.Values{}
		for k, vs := range q {
			nq[k] = vs
		}
		nq.Set("cursor", pg.NextCursor)
		data.Next = r.URL.Path + "?" + nq.Encode()
	}
	if hxTarget(r) == "deal-more" {
		u.renderBlock(w, r, http.StatusOK, "deal_list", "deal-rows", &rowsData{V: v, D: data})
		return
	}
	for _, pl := range pls {
		data.Pipelines = append(data.Pipelines, option{Value: pl.ID.String(), Label: pl.Name})
		if f.PipelineID == nil || *f.PipelineID == pl.ID {
			for _, st := range pl.Stages {
				label := st.Name
				if f.PipelineID == nil && len(pls) > 1 {
					label = pl.Name + ": " + st.Name
				}
				data.Stages = append(data.Stages, option{Value: st.ID.String(), Label: label})
			}
		}
	}
	_, data.Owners = u.userNames(r, p)
	for _, s := range dealListSorts {
		data.Sorts = append(data.Sorts, option{Value: s, Label: v.T("deals.sort." + s)})
	}
	if f.CompanyID != nil {
		data.CompanyID = f.CompanyID.String()
		names, _ := u.CRM.RecordNames(ctx, p, crm.EntityCompany, []uuid.UUID{*f.CompanyID})
		data.CompanyName = names[*f.CompanyID]
	}
	v.Data = data
	status := http.StatusOK
	if len(v.Fields) > 0 {
		status = http.StatusUnprocessableEntity
	}
	u.render(w, r, status, "deal_list", v)
}

// rowsData is the dot of the list's row fragment: the view and the page.
type rowsData struct {
	V *view
	D *dealListPage
}

// dealPage is a deal's own page.
type dealPage struct {
	Deal      *crm.Deal
	Pipeline  *crm.Pipeline
	Stage     *crm.Stage
	Company   string
	Contact   string
	Owner     string
	Stages    []option
	Custom    []customShown
	UserNames map[uuid.UUID]string
	CanWrite  bool
	// Parts are the shared detail parts: timeline, documents, quick actions.
	Parts *recordParts
	// Links are the further records a quick action on the deal links to.
	Links map[string]any
}

func init() { detailPages[crm.EntityDeal] = (*UI).dealDetailView }

func (u *UI) dealShow(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id, ok := u.pathID(w, r, p)
	if !ok {
		return
	}
	u.dealDetailView(w, r, p, id, u.newView(w, r, p, "deals.show.title"), http.StatusOK)
}

// dealDetailView renders a deal's page with a prepared view (after a failed
// quick action or upload, v carries the messages next to the fields).
func (u *UI) dealDetailView(w http.ResponseWriter, r *http.Request, p *auth.Principal, id uuid.UUID, v *view, status int) {
	ctx := r.Context()
	d, err := u.CRM.Deal(ctx, p, id)
	if err != nil {
		u.fail(w, r, p, err)
		return
	}
	pl, err := u.CRM.Pipeline(ctx, p, d.PipelineID)
	if err != nil {
		u.fail(w, r, p, err)
		return
	}
	v.Nav = "deals"
	v.Title = d.Title
	data := &dealPage{Deal: d, Pipeline: pl, Stages: stageOptions(pl), CanWrite: canWriteOwned(p, auth.PermDealsWrite, d.OwnerID),
		Links: map[string]any{}}
	for _, st := range pl.Stages {
		if st.ID == d.StageID {
			data.Stage = st
		}
	}
	if d.CompanyID != nil {
		names, _ := u.CRM.RecordNames(ctx, p, crm.EntityCompany, []uuid.UUID{*d.CompanyID})
		data.Company = names[*d.CompanyID]
		data.Links["company_id"] = d.CompanyID.String()
	}
	if d.ContactID != nil {
		names, _ := u.CRM.RecordNames(ctx, p, crm.EntityContact, []uuid.UUID{*d.ContactID})
		data.Contact = names[*d.ContactID]
		data.Links["contact_id"] = d.ContactID.String()
	}
	data.UserNames, _ = u.userNames(r, p)
	if d.OwnerID != nil {
		data.Owner = data.UserNames[*d.OwnerID]
	}
	defs, err := u.CRM.CustomFields(ctx, p, crm.EntityDeal)
	if err != nil {
		u.fail(w, r, p, err)
		return
	}
	data.Custom = customDisplay(v, defs, d.Custom)
	if data.Parts, err = u.loadRecordParts(r, p, v, recordRef{Entity: crm.EntityDeal, ID: id}); err != nil {
		u.fail(w, r, p, err)
		return
	}
	v.Data = data
	u.render(w, r, status, "deal", v)
}

// dealForm is the create and edit form.
type dealForm struct {
	Deal       *crm.Deal // nil when creating
	Pipelines  []*crm.Pipeline
	Owners     []option
	Currencies []option
	CanOwner   bool // the user may give the deal to someone else
	Custom     []customInput
}

var currencies = []string{"CHF", "EUR", "USD", "GBP"}

func (u *UI) dealFormData(r *http.Request, p *auth.Principal, d *crm.Deal) (*dealForm, error) {
	pls, err := u.CRM.ListPipelines(r.Context(), p)
	if err != nil {
		return nil, err
	}
	f := &dealForm{Deal: d, Pipelines: pls}
	s, _ := p.Can(auth.PermDealsWrite)
	f.CanOwner = s == auth.ScopeAll
	_, f.Owners = u.userNames(r, p)
	for _, c := range currencies {
		f.Currencies = append(f.Currencies, option{Value: c, Label: c})
	}
	return f, nil
}

func (u *UI) renderDealForm(w http.ResponseWriter, r *http.Request, p *auth.Principal, v *view, d *crm.Deal, status int) {
	data, err := u.dealFormData(r, p, d)
	if err != nil {
		u.fail(w, r, p, err)
		return
	}
	// The tenant's custom fields of deals: the stored values, or after a
	// refused post what was typed.
	defs, err := u.CRM.CustomFields(r.Context(), p, crm.EntityDeal)
	if err != nil {
		u.fail(w, r, p, err)
		return
	}
	var current crm.Custom
	if d != nil {
		current = d.Custom
	}
	data.Custom = customInputs(v, defs, current, v.Form, r.Method == http.MethodPost)
	v.Nav = "deals"
	v.Data = data
	u.render(w, r, status, "deal_form", v)
}

func (u *UI) dealNew(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	v := u.newView(w, r, p, "deals.new.title")
	q := r.URL.Query()
	v.Form = url.Values{"currency": {v.Tenant.Currency}, "stage_id": {q.Get("stage")}, "owner_id": {p.UserID.String()}}
	ctx := r.Context()
	if id := queryID(q.Get("company_id")); id != nil {
		if names, _ := u.CRM.RecordNames(ctx, p, crm.EntityCompany, []uuid.UUID{*id}); names[*id] != "" {
			v.Form.Set("company_id", id.String())
			v.Form.Set("company", names[*id])
		}
	}
	if id := queryID(q.Get("contact_id")); id != nil {
		if names, _ := u.CRM.RecordNames(ctx, p, crm.EntityContact, []uuid.UUID{*id}); names[*id] != "" {
			v.Form.Set("contact_id", id.String())
			v.Form.Set("contact", names[*id])
		}
	}
	u.renderDealForm(w, r, p, v, nil, http.StatusOK)
}

func (u *UI) dealEdit(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id, ok := u.pathID(w, r, p)
	if !ok {
		return
	}
	ctx := r.Context()
	d, err := u.CRM.Deal(ctx, p, id)
	if err != nil {
		u.fail(w, r, p, err)
		return
	}
	if !canWriteOwned(p, auth.PermDealsWrite, d.OwnerID) {
		// Readable, but not the user's to change: as the service would answer.
		u.errorPage(w, r, p, http.StatusNotFound, "error.not_found")
		return
	}
	v := u.newView(w, r, p, "deals.edit.title")
	v.Form = url.Values{"title": {d.Title}, "currency": {d.Currency}, "stage_id": {d.StageID.String()},
		"probability": {strconv.Itoa(d.Probability)}, "lost_reason": {d.LostReason}, "tags": {strings.Join(d.Tags, ", ")},
		"version": {strconv.Itoa(d.Version)}}
	if d.Amount != nil {
		v.Form.Set("amount", money(*d.Amount))
	}
	if d.ExpectedClose != nil {
		v.Form.Set("expected_close", *d.ExpectedClose)
	}
	if d.OwnerID != nil {
		v.Form.Set("owner_id", d.OwnerID.String())
	}
	if d.CompanyID != nil {
		names, _ := u.CRM.RecordNames(ctx, p, crm.EntityCompany, []uuid.UUID{*d.CompanyID})
		v.Form.Set("company_id", d.CompanyID.String())
		v.Form.Set("company", names[*d.CompanyID])
	}
	if d.ContactID != nil {
		names, _ := u.CRM.RecordNames(ctx, p, crm.EntityContact, []uuid.UUID{*d.ContactID})
		v.Form.Set("contact_id", d.ContactID.String())
		v.Form.Set("contact", names[*d.ContactID])
	}
	u.renderDealForm(w, r, p, v, d, http.StatusOK)
}

// dealInput reads the form. Companies and contacts are typed by name (a
// datalist suggests them); the hidden ID stays valid while the name typed
// is still the one it belongs to.
func (u *UI) dealInput(r *http.Request, p *auth.Principal, v *view) crm.DealInput {
	f := r.PostForm
	in := crm.DealInput{}
	title, currency := f.Get("title"), f.Get("currency")
	amount := crm.DecimalText(strings.ReplaceAll(strings.TrimSpace(f.Get("amount")), " ", ""))
	expected, reason := f.Get("expected_close"), f.Get("lost_reason")
	in.Title, in.Currency, in.Amount, in.ExpectedClose, in.LostReason = &title, &currency, &amount, &expected, &reason
	in.StageID = queryID(f.Get("stage_id"))
	if in.StageID == nil {
		v.Fields["stage_id"] = v.T("deals.stage.missing")
	} else {
		pls, _ := u.CRM.ListPipelines(r.Context(), p)
		for _, pl := range pls {
			for _, st := range pl.Stages {
				if st.ID == *in.StageID {
					in.PipelineID = &pl.ID
				}
			}
		}
	}
	if s := strings.TrimSpace(f.Get("probability")); s != "" {
		n, err := strconv.Atoi(strings.TrimSuffix(s, "%"))
		if err != nil {
			v.Fields["probability"] = v.T("deals.probability.invalid")
		} else {
			in.Probability = &n
		}
	}
	if owner := queryID(f.Get("owner_id")); owner != nil {
		in.OwnerID = owner
	}
	tags := []string{}
	for _, t := range strings.Split(f.Get("tags"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	in.Tags = &tags
	in.CompanyID = u.resolveName(r, p, v, crm.EntityCompany, "company")
	in.ContactID = u.resolveName(r, p, v, crm.EntityContact, "contact")
	if defs, err := u.CRM.CustomFields(r.Context(), p, crm.EntityDeal); err == nil {
		in.Custom = customPatch(defs, f, v.Fields, v)
	} else {
		v.Error = v.T("error.internal")
		v.Fields["custom_fields"] = v.T("error.internal")
	}
	in.Version, _ = strconv.Atoi(f.Get("version"))
	return in
}

// resolveName turns a company or contact typed by name into its ID: the
// hidden ID if the name still matches it, else the one record of that
// exact name (case-insensitive); none or several is a field error.
func (u *UI) resolveName(r *http.Request, p *auth.Principal, v *view, entity, field string) crm.OptionalID {
	ctx := r.Context()
	name := strings.TrimSpace(r.PostFormValue(field))
	if name == "" {
		return crm.OptionalID{Set: true}
	}
	if id := queryID(r.PostFormValue(field + "_id")); id != nil {
		names, _ := u.CRM.RecordNames(ctx, p, entity, []uuid.UUID{*id})
		if strings.EqualFold(names[*id], name) {
			return crm.OptionalID{Set: true, ID: id}
		}
	}
	var found []uuid.UUID
	for _, o := range u.nameOptions(r, p, entity, name) {
		if strings.EqualFold(o.Label, name) {
			id, _ := uuid.Parse(o.Value)
			found = append(found, id)
		}
	}
	switch len(found) {
	case 1:
		return crm.OptionalID{Set: true, ID: &found[0]}
	case 0:
		v.Fields[field] = v.T("deals."+field+".unknown", name)
	default:
		v.Fields[field] = v.T("deals."+field+".ambiguous", name)
	}
	return crm.OptionalID{}
}

// nameOptions finds up to 20 companies or contacts by their name.
func (u *UI) nameOptions(r *http.Request, p *auth.Principal, entity, q string) []option {
	ctx := r.Context()
	lp := crm.ListParams{Q: q, Limit: 20}
	switch entity {
	case crm.EntityCompany:
		if _, ok := p.Can(auth.PermCompaniesRead); ok {
			pg, err := u.CRM.ListCompanies(ctx, p, crm.CompanyFilter{ListParams: lp})
			return recordNameOptions(pg, err, func(c *crm.Company) (uuid.UUID, string) { return c.ID, c.Name })
		}
	case crm.EntityContact:
		if _, ok := p.Can(auth.PermContactsRead); ok {
			pg, err := u.CRM.ListContacts(ctx, p, crm.ContactFilter{ListParams: lp})
			return recordNameOptions(pg, err, func(c *crm.Contact) (uuid.UUID, string) { return c.ID, c.Name })
		}
	}
	return nil
}

// dealOptions answers the form's datalist with the companies or contacts
// whose name matches what was typed so far (htmx).
func (u *UI) dealOptions(entity string) pageHandler {
	return func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		q := strings.TrimSpace(r.URL.Query().Get(entity))
		var opts []option
		if len([]rune(q)) >= 2 {
			opts = u.nameOptions(r, p, entity, q)
		}
		u.renderBlock(w, r, http.StatusOK, "deal_form", "name-options", opts)
	}
}

// saveDeal handles the create and the edit form.
func (u *UI) saveDeal(w http.ResponseWriter, r *http.Request, p *auth.Principal, id *uuid.UUID) {
	title := "deals.new.title"
	if id != nil {
		title = "deals.edit.title"
	}
	v := u.newView(w, r, p, title)
	in := u.dealInput(r, p, v)
	var d, before *crm.Deal
	var err error
	if id != nil {
		if before, err = u.CRM.Deal(r.Context(), p, *id); err != nil {
			u.fail(w, r, p, err)
			return
		}
	}
	if len(v.Fields) == 0 {
		if id == nil {
			d, err = u.CRM.CreateDeal(r.Context(), p, in, meta(r))
		} else {
			d, err = u.CRM.UpdateDeal(r.Context(), p, *id, in, meta(r))
		}
		if err == nil {
			u.setFlash(w, flash{Kind: "ok", Message: v.T("flash.saved")})
			redirect(w, r, "/deals/"+d.ID.String())
			return
		}
		if !formErrors(v, err) {
			u.fail(w, r, p, err)
			return
		}
	} else {
		v.Error = v.T("form.invalid")
	}
	for from, to := range map[string]string{"company_id": "company", "contact_id": "contact", "pipeline_id": "stage_id"} {
		if m, ok := v.Fields[from]; ok {
			v.Fields[to] = m
		}
	}
	v.Form = r.PostForm
	status := http.StatusUnprocessableEntity
	if rpcrm.ErrorCode(err) == rpcrm.EPRECONDITION {
		status = http.StatusPreconditionFailed
	}
	u.renderDealForm(w, r, p, v, before, status)
}

func (u *UI) dealCreate(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	u.saveDeal(w, r, p, nil)
}

func (u *UI) dealUpdate(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id, ok := u.pathID(w, r, p)
	if !ok {
		return
	}
	u.saveDeal(w, r, p, &id)
}

func (u *UI) dealDelete(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id, ok := u.pathID(w, r, p)
	if !ok {
		return
	}
	if err := u.CRM.DeleteDeal(r.Context(), p, id, meta(r)); err != nil {
		u.fail(w, r, p, err)
		return
	}
	u.trashDone(w, r, p, "/deals/list", "/deals/"+id.String()+"/restore", "deals.deleted")
}

func (u *UI) dealRestore(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id, ok := u.pathID(w, r, p)
	if !ok {
		return
	}
	d, err := u.CRM.RestoreDeal(r.Context(), p, id, meta(r))
	if err != nil {
		u.fail(w, r, p, err)
		return
	}
	u.trashDone(w, r, p, "/deals/"+id.String(), "", "deals.restored", d.Title)
}
