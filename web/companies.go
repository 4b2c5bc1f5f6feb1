package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
)

// companyListData is the companies list (and its trash).
type companyListData struct {
	*listPage
	Items []*crm.Company
}

var companyListKind = recordListKind{kind: "company", page: "companies", base: "/companies",
	sortable: crm.CompanySortable, sort: "name"}

// companyList shows the companies: search as you type, filters by owner
// and tag, sortable columns, "more" by cursor. htmx asks for the results
// (#company-results) or the next rows (#company-more) only.
func (u *UI) companyList(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	u.showCompanies(w, r, p, false)
}

func (u *UI) companyTrash(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	u.showCompanies(w, r, p, true)
}

func (u *UI) showCompanies(w http.ResponseWriter, r *http.Request, p *auth.Principal, trash bool) {
	v, lq := u.recordListView(w, r, p, companyListKind, trash)
	lp, err := u.newListPage(r, p, v, lq, "company", 0)
	if err != nil {
		u.fail(w, r, p, err)
		return
	}
	data := &companyListData{listPage: lp}
	pg, err := u.CRM.ListCompanies(r.Context(), p, crm.CompanyFilter{ListParams: lq.params()})
	var ok bool
	if data.Items, ok = listedRecords(u, w, r, p, v, lp, pg, err); !ok {
		return
	}
	v.Data = data
	u.renderRecordList(w, r, v, companyListKind)
}

// companyDetailData is the company page.
type companyDetailData struct {
	recordDetail
	Company      *crm.Company
	Contacts     []*crm.Contact
	ContactsMore bool
	Deals        []*crm.Deal
	DealsMore    bool
}

// linkedLimit is how many linked contacts or deals a detail page lists.
const linkedLimit = 20

func init() {
	detailPages[crm.EntityCompany] = (*UI).companyDetailView
	detailPages[crm.EntityContact] = (*UI).contactDetailView
}

// companyDetailView renders the company page with a prepared view (which
// may carry a failed quick action's messages).
func (u *UI) companyDetailView(w http.ResponseWriter, r *http.Request, p *auth.Principal, id uuid.UUID, v *view, status int) {
	c, err := u.CRM.Company(r.Context(), p, id)
	if err != nil {
		u.fail(w, r, p, err)
		return
	}
	v.Title = c.Name
	v.Nav = "companies"
	d := &companyDetailData{Company: c}
	if d.recordDetail, err = u.loadRecordDetail(r, p, v, recordRef{Entity: crm.EntityCompany, ID: id}, c.OwnerID, c.Custom); err != nil {
		u.fail(w, r, p, err)
		return
	}
	if d.Contacts, d.ContactsMore, err = u.linkedContacts(r.Context(), p, crm.ContactFilter{CompanyID: &id}); err != nil {
		u.fail(w, r, p, err)
		return
	}
	if d.Deals, d.DealsMore, err = u.linkedDeals(r.Context(), p, crm.DealFilter{CompanyID: &id}); err != nil {
		u.fail(w, r, p, err)
		return
	}
	v.Data = d
	u.render(w, r, status, "company", v)
}

// linkedContacts lists the first contacts of a filter, if the user may
// read contacts.
func (u *UI) linkedContacts(ctx context.Context, p *auth.Principal, f crm.ContactFilter) ([]*crm.Contact, bool, error) {
	if _, ok := p.Can(auth.PermContactsRead); !ok {
		return nil, false, nil
	}
	f.Limit = linkedLimit
	pg, err := u.CRM.ListContacts(ctx, p, f)
	if err != nil {
		return nil, false, err
	}
	return pg.Items, pg.NextCursor != "", nil
}

// linkedDeals lists the most recently changed deals of a filter, if the
// user may read deals.
func (u *UI) linkedDeals(ctx context.Context, p *auth.Principal, f crm.DealFilter) ([]*crm.Deal, bool, error) {
	if _, ok := p.Can(auth.PermDealsRead); !ok {
		return nil, false, nil
	}
	f.Limit, f.Sort, f.Desc = linkedLimit, "updated_at", true
	pg, err := u.CRM.ListDeals(ctx, p, f)
	if err != nil {
		return nil, false, err
	}
	return pg.Items, pg.NextCursor != "", nil
}

func (u *UI) companyNew(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	v := u.newView(w, r, p, "company.new")
	v.Form.Set("owner_id", p.UserID.String())
	v.Form.Set("address.country", "CH")
	u.companyForm(w, r, p, v, "", nil, nil, http.StatusOK)
}

func (u *UI) companyEdit(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id, c, ok := recordAtPath(u, w, r, p, u.CRM.Company)
	if !ok {
		return
	}
	v := u.newView(w, r, p, "company.edit")
	f := v.Form
	f.Set("name", c.Name)
	f.Set("uid", strOf(c.UID))
	f.Set("website", c.Website)
	f.Set("email", c.Email)
	f.Set("phone", crm.FormatPhone(c.Phone))
	f.Set("industry", c.Industry)
	setAddress(f, c.Address)
	f.Set("tags", strings.Join(c.Tags, ", "))
	if c.OwnerID != nil {
		f.Set("owner_id", c.OwnerID.String())
	}
	f.Set("version", strconv.Itoa(c.Version))
	u.companyForm(w, r, p, v, id.String(), c.Custom, nil, http.StatusOK)
}

// companyForm renders the form (a recordFormRenderer).
func (u *UI) companyForm(w http.ResponseWriter, r *http.Request, p *auth.Principal, v *view, id string, current crm.Custom, posted []*crm.CustomField, status int) {
	v.Nav = "companies"
	d, err := u.loadRecordForm(r, p, v, crm.EntityCompany, id, current, posted)
	if err != nil {
		u.fail(w, r, p, err)
		return
	}
	v.Data = &d
	u.render(w, r, status, "company-form", v)
}

// formChoices are the users (owner) and tags a record form offers.
func (u *UI) formChoices(r *http.Request, p *auth.Principal) (owners, tags []option, err error) {
	ch, err := u.CRM.ListChoices(r.Context(), p, 0)
	if err != nil {
		return nil, nil, err
	}
	for _, us := range ch.Users {
		if !us.Disabled {
			owners = append(owners, option{Value: us.ID.String(), Label: us.Name})
		}
	}
	for _, t := range ch.Tags {
		tags = append(tags, option{Value: t.Name, Label: t.Name})
	}
	return owners, tags, nil
}

func setAddress(f url.Values, a crm.Address) {
	f.Set("address.street", a.Street)
	f.Set("address.postal_code", a.PostalCode)
	f.Set("address.city", a.City)
	f.Set("address.canton", a.Canton)
	f.Set("address.country", a.Country)
}

func formAddress(f url.Values) *crm.Address {
	return &crm.Address{Street: f.Get("address.street"), PostalCode: f.Get("address.postal_code"),
		City: f.Get("address.city"), Canton: f.Get("address.canton"), Country: f.Get("address.country")}
}

// formOwner reads the owner select; empty leaves the owner as it is (or
// the service's default, the creator).
func formOwner(f url.Values, v *view) *uuid.UUID {
	s := strings.TrimSpace(f.Get("owner_id"))
	if s == "" {
		return nil
	}
	id, err := uuid.Parse(s)
	if err != nil {
		v.Fields["owner_id"] = v.T("record.form.choose")
		return nil
	}
	return &id
}

// companySave creates (no id) or updates a company from the form.
func (u *UI) companySave(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	saveRecordForm(u, w, r, p, recordEditor[crm.CompanyInput, *crm.Company]{
		entity: crm.EntityCompany,
		input:  companyInput, create: u.CRM.CreateCompany, update: u.CRM.UpdateCompany,
		id: func(c *crm.Company) uuid.UUID { return c.ID }, form: u.companyForm,
	})
}

// companyInput reads the posted company form.
func companyInput(r *http.Request, _ *auth.Principal, v *view, defs []*crm.CustomField) crm.CompanyInput {
	f := v.Form
	name, uid, website, email, phone, industry := f.Get("name"), f.Get("uid"), f.Get("website"), f.Get("email"), f.Get("phone"), f.Get("industry")
	tags := splitTags(f.Get("tags"))
	in := crm.CompanyInput{Name: &name, UID: &uid, Website: &website, Email: &email, Phone: &phone, Industry: &industry,
		Address: formAddress(f), Tags: &tags, OwnerID: formOwner(f, v), Custom: customPatch(defs, f, v.Fields, v)}
	in.Version, _ = strconv.Atoi(f.Get("version"))
	return in
}

// strOf is *s, or "" for nil.
func strOf(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// statusOf is the status of a form refused by the service: 412 when the
// record changed in the meantime, else 422.
func statusOf(err error) int {
	if rpcrm.ErrorCode(err) == rpcrm.EPRECONDITION {
		return http.StatusPreconditionFailed
	}
	return http.StatusUnprocessableEntity
}

func idString(id uuid.UUID) string {
	if id == uuid.Nil {
		return ""
	}
	return id.String()
}

// companyExport sends the current list as CSV.
func (u *UI) companyExport(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	v := u.newView(w, r, p, "company.list")
	lq := companyListKind.query(r)
	f := crm.CompanyFilter{ListParams: lq.params()}
	f.Limit, f.Cursor = crm.MaxLimit, ""
	exportCSV(u, w, r, p, "companies", exportName(v, "firmen", "csv"), crm.CompanyCSVHeader,
		func(cursor string) (*crm.Page[*crm.Company], error) {
			f.Cursor = cursor
			return u.CRM.ListCompanies(r.Context(), p, f)
		}, func(items []*crm.Company) ([][]string, error) {
			out := make([][]string, len(items))
			for i, c := range items {
				out[i] = crm.CompanyCSVRow(c)
			}
			return out, nil
		})
}

func (u *UI) companyOps() trashOps {
	name := func(c *crm.Company) string { return c.Name }
	return trashOps{base: "/companies", name: named(u.CRM.Company, name), del: u.CRM.DeleteCompany,
		restore: namedRestore(u.CRM.RestoreCompany, name), purge: u.CRM.PurgeCompany}
}

func (u *UI) companyRoutes() []route {
	return u.recordTypeRoutes(recordTypePages{base: "/companies",
		read: auth.PermCompaniesRead, write: auth.PermCompaniesWrite, remove: auth.PermCompaniesDelete,
		list: u.companyList, trash: u.companyTrash, export: u.companyExport,
		newForm: u.companyNew, editForm: u.companyEdit, detail: u.recordDetailPage("company.title", (*UI).companyDetailView), save: u.companySave,
		ops: u.companyOps})
}
