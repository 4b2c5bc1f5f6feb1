package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
	"github.com/rpcrm/rpcrm/vcard"
)

// contactListData is the contacts list (and its trash).
type contactListData struct {
	*listPage
	Items []*crm.Contact
	// Rows are the items as the table shows them, prepared in Go: a page of
	// 50 rows then needs no function calls in the template.
	Rows []contactRow
	// Companies are the company filter's choices (small tenants only; a
	// company's page links to its contacts otherwise); CompanyName names
	// the company filtered by.
	Companies   []option
	CompanyName string
	companies   map[uuid.UUID]string
}

// CompanyOf is the name of a contact's company.
func (d *contactListData) CompanyOf(id *uuid.UUID) string {
	if id == nil {
		return ""
	}
	return d.companies[*id]
}

// contactRow is one contact in the list table.
type contactRow struct {
	ID, LastName, FirstName, Name  string
	CompanyID, Company             string
	Email, Phone, PhoneText, Owner string
	Tags                           []string
	Updated, Deleted               string
}

func (d *contactListData) rows(v *view) {
	d.Rows = make([]contactRow, 0, len(d.Items))
	for _, c := range d.Items {
		row := contactRow{ID: c.ID.String(), LastName: c.LastName, FirstName: c.FirstName, Name: c.Name,
			Company: d.CompanyOf(c.CompanyID), Owner: d.OwnerName(c.OwnerID), Tags: c.Tags,
			Updated: v.Date(c.UpdatedAt), Deleted: v.Date(c.DeletedAt)}
		if row.LastName == "" {
			row.LastName = c.Name
		}
		if c.CompanyID != nil {
			row.CompanyID = c.CompanyID.String()
		}
		if len(c.Emails) > 0 {
			row.Email = c.Emails[0]
		}
		if len(c.Phones) > 0 {
			row.Phone, row.PhoneText = c.Phones[0], crm.FormatPhone(c.Phones[0])
		}
		d.Rows = append(d.Rows, row)
	}
}

var contactListKind = recordListKind{kind: "contact", page: "contacts", base: "/contacts",
	sortable: crm.ContactSortable, sort: "last_name"}

// companyChoicesMax is the most companies the contact filter offers as a list.
const companyChoicesMax = 100

func (u *UI) contactList(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	u.showContacts(w, r, p, false)
}

func (u *UI) contactTrash(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	u.showContacts(w, r, p, true)
}

func (u *UI) showContacts(w http.ResponseWriter, r *http.Request, p *auth.Principal, trash bool) {
	v, lq := u.recordListView(w, r, p, contactListKind, trash)
	target := hxTarget(r)
	companies := 0
	if target == "" {
		companies = companyChoicesMax // the filter is on whole pages only
	}
	lp, err := u.newListPage(r, p, v, lq, "contact", companies)
	if err != nil {
		u.fail(w, r, p, err)
		return
	}
	data := &contactListData{listPage: lp}
	var filtered *uuid.UUID // the company filtered by, named on whole pages
	if target == "" {
		data.companyChoices()
		filtered = lq.CompanyID()
	}
	pg, err := u.CRM.ListContacts(r.Context(), p, crm.ContactFilter{ListParams: lq.params(), CompanyID: lq.CompanyID()})
	var ok bool
	if data.Items, ok = listedRecords(u, w, r, p, v, lp, pg, err); !ok {
		return
	}
	if data.companies, err = u.contactCompanies(r.Context(), p, data.Items, filtered); err != nil {
		u.fail(w, r, p, err)
		return
	}
	if filtered != nil {
		data.CompanyName = data.companies[*filtered]
	}
	data.rows(v)
	v.Data = data
	u.renderRecordList(w, r, v, contactListKind)
}

// companyChoices offers the companies the list page read as a filter when
// there are few (none without companies:read).
func (d *contactListData) companyChoices() {
	if d.choices.CompaniesMore {
		return
	}
	for _, c := range d.choices.Companies {
		d.Companies = append(d.Companies, option{Value: c.ID.String(), Label: c.Name})
	}
}

// contactCompanies looks up the companies of a page of contacts, and the
// company filtered by if there is one, at once.
func (u *UI) contactCompanies(ctx context.Context, p *auth.Principal, items []*crm.Contact, filtered *uuid.UUID) (map[uuid.UUID]string, error) {
	var ids []uuid.UUID
	seen := map[uuid.UUID]bool{}
	if filtered != nil {
		seen[*filtered] = true
		ids = append(ids, *filtered)
	}
	for _, c := range items {
		if c.CompanyID != nil && !seen[*c.CompanyID] {
			seen[*c.CompanyID] = true
			ids = append(ids, *c.CompanyID)
		}
	}
	return u.CRM.RecordNames(ctx, p, crm.EntityCompany, ids)
}

// contactDetailData is the contact page.
type contactDetailData struct {
	recordDetail
	Contact *crm.Contact
	Company *crm.Company
	Deals   []*crm.Deal
	More    bool
	// Links are further records a quick action is linked to (the company).
	Links map[string]any
}

// contactDetailView renders the contact page with a prepared view.
func (u *UI) contactDetailView(w http.ResponseWriter, r *http.Request, p *auth.Principal, id uuid.UUID, v *view, status int) {
	c, err := u.CRM.Contact(r.Context(), p, id)
	if err != nil {
		u.fail(w, r, p, err)
		return
	}
	v.Title = c.Name
	v.Nav = "contacts"
	d := &contactDetailData{Contact: c, Links: map[string]any{}}
	if c.CompanyID != nil {
		if _, ok := p.Can(auth.PermCompaniesRead); ok {
			// A company outside the user's scope is simply not shown.
			d.Company, _ = u.CRM.Company(r.Context(), p, *c.CompanyID)
		}
		d.Links["company_id"] = c.CompanyID.String()
	}
	if d.recordDetail, err = u.loadRecordDetail(r, p, v, recordRef{Entity: crm.EntityContact, ID: id}, c.OwnerID, c.Custom); err != nil {
		u.fail(w, r, p, err)
		return
	}
	if d.Deals, d.More, err = u.linkedDeals(r.Context(), p, crm.DealFilter{ContactID: &id}); err != nil {
		u.fail(w, r, p, err)
		return
	}
	v.Data = d
	u.render(w, r, status, "contact", v)
}

// contactFormData is the create and edit form.
type contactFormData struct {
	recordFormData
	Languages []option
}

func (u *UI) contactNew(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	v := u.newView(w, r, p, "contact.new")
	v.Form.Set("owner_id", p.UserID.String())
	v.Form.Set("language", "de")
	v.Form.Set("address.country", "CH")
	if id, err := uuid.Parse(r.URL.Query().Get("company_id")); err == nil {
		if c, err := u.CRM.Company(r.Context(), p, id); err == nil {
			v.Form.Set("company", c.Name)
			v.Form.Set("company_id", c.ID.String())
		}
	}
	u.contactForm(w, r, p, v, "", nil, nil, http.StatusOK)
}

func (u *UI) contactEdit(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id, c, ok := recordAtPath(u, w, r, p, u.CRM.Contact)
	if !ok {
		return
	}
	v := u.newView(w, r, p, "contact.edit")
	f := v.Form
	f.Set("salutation", c.Salutation)
	f.Set("first_name", c.FirstName)
	f.Set("last_name", c.LastName)
	f.Set("emails", strings.Join(c.Emails, "\n"))
	phones := make([]string, len(c.Phones))
	for i, ph := range c.Phones {
		phones[i] = crm.FormatPhone(ph)
	}
	f.Set("phones", strings.Join(phones, "\n"))
	f.Set("job_title", c.JobTitle)
	if c.CompanyID != nil {
		f.Set("company_id", c.CompanyID.String())
		if names, err := u.CRM.RecordNames(r.Context(), p, crm.EntityCompany, []uuid.UUID{*c.CompanyID}); err == nil {
			f.Set("company", names[*c.CompanyID])
		}
	}
	setAddress(f, c.Address)
	f.Set("language", c.Language)
	f.Set("birthday", strOf(c.Birthday))
	f.Set("tags", strings.Join(c.Tags, ", "))
	if c.OwnerID != nil {
		f.Set("owner_id", c.OwnerID.String())
	}
	if c.MarketingConsent.Given {
		f.Set("consent", "true")
	}
	f.Set("consent_source", c.MarketingConsent.Source)
	f.Set("version", strconv.Itoa(c.Version))
	u.contactForm(w, r, p, v, id.String(), c.Custom, nil, http.StatusOK)
}

// contactForm renders the form (a recordFormRenderer).
func (u *UI) contactForm(w http.ResponseWriter, r *http.Request, p *auth.Principal, v *view, id string, current crm.Custom, posted []*crm.CustomField, status int) {
	v.Nav = "contacts"
	fd, err := u.loadRecordForm(r, p, v, crm.EntityContact, id, current, posted)
	if err != nil {
		u.fail(w, r, p, err)
		return
	}
	d := &contactFormData{recordFormData: fd}
	for _, l := range crm.ContactLanguages {
		d.Languages = append(d.Languages, option{Value: l, Label: v.T("contact.lang." + l)})
	}
	v.Data = d
	u.render(w, r, status, "contact-form", v)
}

// formCompany resolves the form's company: the hidden company_id when the
// name field still shows that company, else the one company of that name
// (case-insensitive). Empty clears the company.
func (u *UI) formCompany(ctx context.Context, p *auth.Principal, f url.Values, v *view) crm.NullID {
	name := strings.TrimSpace(f.Get("company"))
	if name == "" {
		return crm.NullID{Set: true}
	}
	if id, err := uuid.Parse(f.Get("company_id")); err == nil {
		if names, err := u.CRM.RecordNames(ctx, p, crm.EntityCompany, []uuid.UUID{id}); err == nil && strings.EqualFold(names[id], name) {
			return crm.NullID{Set: true, ID: &id}
		}
	}
	pg, err := u.CRM.ListCompanies(ctx, p, crm.CompanyFilter{ListParams: crm.ListParams{Q: name, Limit: crm.MaxLimit}})
	if err != nil {
		v.Fields["company"] = v.T("contact.company.unknown")
		return crm.NullID{}
	}
	var found []uuid.UUID
	for _, c := range pg.Items {
		if strings.EqualFold(c.Name, name) {
			found = append(found, c.ID)
		}
	}
	switch len(found) {
	case 1:
		return crm.NullID{Set: true, ID: &found[0]}
	case 0:
		v.Fields["company"] = v.T("contact.company.unknown")
	default:
		v.Fields["company"] = v.T("contact.company.ambiguous")
	}
	return crm.NullID{}
}

// contactSave creates (no id) or updates a contact from the form.
func (u *UI) contactSave(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	saveRecordForm(u, w, r, p, recordEditor[crm.ContactInput, *crm.Contact]{
		entity: crm.EntityContact,
		input:  u.contactInput, create: u.CRM.CreateContact, update: u.CRM.UpdateContact,
		id: func(c *crm.Contact) uuid.UUID { return c.ID }, refused: contactRefused, form: u.contactForm,
	})
}

// contactInput reads the posted contact form.
func (u *UI) contactInput(r *http.Request, p *auth.Principal, v *view, defs []*crm.CustomField) crm.ContactInput {
	f := v.Form
	salutation, first, last, job, lang, birthday := f.Get("salutation"), f.Get("first_name"), f.Get("last_name"),
		f.Get("job_title"), f.Get("language"), f.Get("birthday")
	emails, phones, tags := splitLines(f.Get("emails")), splitLines(f.Get("phones")), splitTags(f.Get("tags"))
	given, source := f.Get("consent") == "true", f.Get("consent_source")
	in := crm.ContactInput{Salutation: &salutation, FirstName: &first, LastName: &last, Emails: &emails, Phones: &phones,
		JobTitle: &job, Address: formAddress(f), Language: &lang, Birthday: &birthday, Tags: &tags, OwnerID: formOwner(f, v),
		MarketingConsent: &crm.ConsentInput{Given: &given, Source: &source}, Custom: customPatch(defs, f, v.Fields, v)}
	in.CompanyID = u.formCompany(r.Context(), p, f, v)
	in.Version, _ = strconv.Atoi(f.Get("version"))
	return in
}

// contactRefused shows the service's messages on the form's fields: per
// line of the e-mails and phones, the company and the consent.
func contactRefused(v *view) {
	lineErrors(v, "emails")
	lineErrors(v, "phones")
	for from, to := range map[string]string{"company_id": "company", "marketing_consent.source": "consent_source",
		"marketing_consent.at": "consent"} {
		if m, ok := v.Fields[from]; ok {
			v.Fields[to] = m
		}
	}
}

// companyOptions answers the company field's suggestions while typing
// (htmx): the companies matching the text, as datalist options.
func (u *UI) companyOptions(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var opts []option
	if q := strings.TrimSpace(r.URL.Query().Get("company")); q != "" {
		pg, err := u.CRM.ListCompanies(r.Context(), p, crm.CompanyFilter{ListParams: crm.ListParams{Q: q, Limit: 10}})
		if err != nil {
			u.fail(w, r, p, err)
			return
		}
		for _, c := range pg.Items {
			opts = append(opts, option{Value: c.Name, Label: c.Address.City})
		}
	}
	u.renderBlock(w, r, http.StatusOK, "contact-form", "company-options", opts)
}

// contactFilter is the contact filter of an export.
func contactExportFilter(r *http.Request) crm.ContactFilter {
	lq := contactListKind.query(r)
	f := crm.ContactFilter{ListParams: lq.params(), CompanyID: lq.CompanyID()}
	f.Limit, f.Cursor = crm.MaxLimit, ""
	return f
}

// contactExport sends the current list as CSV.
func (u *UI) contactExport(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	v := u.newView(w, r, p, "contact.list")
	f := contactExportFilter(r)
	exportCSV(u, w, r, p, "contacts", exportName(v, "kontakte", "csv"), crm.ContactCSVHeader,
		func(cursor string) (*crm.Page[*crm.Contact], error) {
			f.Cursor = cursor
			return u.CRM.ListContacts(r.Context(), p, f)
		}, func(items []*crm.Contact) ([][]string, error) {
			names, err := u.contactCompanies(r.Context(), p, items, nil)
			if err != nil {
				return nil, err
			}
			out := make([][]string, len(items))
			for i, c := range items {
				out[i] = crm.ContactCSVRow(c, companyName(names, c.CompanyID))
			}
			return out, nil
		})
}

func companyName(names map[uuid.UUID]string, id *uuid.UUID) string {
	if id == nil {
		return ""
	}
	return names[*id]
}

// contactExportVCF sends the current list as vCards.
func (u *UI) contactExportVCF(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	v := u.newView(w, r, p, "contact.list")
	f := contactExportFilter(r)
	n, ok := exportPages(u, w, r, p, func(cursor string) (*crm.Page[*crm.Contact], error) {
		f.Cursor = cursor
		return u.CRM.ListContacts(r.Context(), p, f)
	}, func() {
		attachment(w, "text/vcard; charset=utf-8", exportName(v, "kontakte", "vcf"))
	}, func(items []*crm.Contact) error {
		names, err := u.contactCompanies(r.Context(), p, items, nil)
		if err != nil {
			return err
		}
		for _, c := range items {
			if err := vcard.Encode(w, crm.ContactCard(c, companyName(names, c.CompanyID))); err != nil {
				return err
			}
		}
		return nil
	})
	if ok {
		u.logExport(r, p, "contacts", "vcard", n)
	}
}

// contactVCard sends one contact as a vCard (address book import).
func (u *UI) contactVCard(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	_, c, ok := recordAtPath(u, w, r, p, u.CRM.Contact)
	if !ok {
		return
	}
	names, err := u.contactCompanies(r.Context(), p, []*crm.Contact{c}, nil)
	if err != nil {
		u.fail(w, r, p, err)
		return
	}
	name := crm.SanitizeFileName(c.Name)
	attachment(w, "text/vcard; charset=utf-8", name+".vcf")
	if err := vcard.Encode(w, crm.ContactCard(c, companyName(names, c.CompanyID))); err != nil {
		u.Log.ErrorContext(r.Context(), "vcard", "err", err)
	}
}

func (u *UI) contactOps() trashOps {
	name := func(c *crm.Contact) string { return c.Name }
	return trashOps{base: "/contacts", name: named(u.CRM.Contact, name), del: u.CRM.DeleteContact,
		restore: namedRestore(u.CRM.RestoreContact, name), purge: u.CRM.PurgeContact}
}

func (u *UI) contactRoutes() []route {
	return append(u.recordTypeRoutes(recordTypePages{base: "/contacts",
		read: auth.PermContactsRead, write: auth.PermContactsWrite, remove: auth.PermContactsDelete,
		list: u.contactList, trash: u.contactTrash, export: u.contactExport,
		newForm: u.contactNew, editForm: u.contactEdit, detail: u.recordDetailPage("contact.title", (*UI).contactDetailView), save: u.contactSave,
		ops: u.contactOps}),
		page("GET /contacts/export.vcf", auth.PermExportRun, u.contactExportVCF),
		page("GET /contacts/company-options", auth.PermCompaniesRead, u.companyOptions),
		page("GET /contacts/{id}/vcard", auth.PermContactsRead, u.contactVCard),
	)
}
