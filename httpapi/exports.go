package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
	"github.com/rpcrm/rpcrm/csvfile"
	"github.com/rpcrm/rpcrm/vcard"
)

// Exports stream the list services' pages straight to the response: no
// export is ever held in memory as a whole. The filters are those of the
// lists; limit and cursor are the export's own business.

var exportZone = func() *time.Location {
	if l, err := time.LoadLocation("Europe/Zurich"); err == nil {
		return l
	}
	return time.UTC
}()

// exportName is e.g. "kontakte-2026-11-26.csv", dated in Swiss time.
func exportName(base, ext string) string {
	return base + "-" + time.Now().In(exportZone).Format(time.DateOnly) + "." + ext
}

// csvOptions reads delimiter=semicolon|comma (semicolon, for Swiss Excel, by default).
func csvOptions(r *http.Request, v rpcrm.Validation) csvfile.WriterOptions {
	o := csvfile.ExcelOptions
	switch r.URL.Query().Get("delimiter") {
	case "", "semicolon", ";":
	case "comma", ",":
		o.Delimiter = ','
	default:
		v.Add("delimiter", "Erwartet semicolon oder comma.")
	}
	return o
}

// exportParams are the list parameters of an export: the client's filters
// and sort order, full pages from the start.
func exportParams(r *http.Request) (crm.ListParams, rpcrm.Validation) {
	lp, v := listParams(r)
	delete(v, "limit")
	lp.Limit, lp.Cursor = crm.MaxLimit, ""
	return lp, v
}

// pager fetches the pages of a list one by one.
type pager[T any] func(cursor string) (*crm.Page[T], error)

// stream fetches the first page before anything is sent, so that a bad
// filter or a missing permission still gets a proper error response. A
// failure after the first byte can only cut the response off, which the
// client notices (chunked encoding never completes).
func stream[T any](a *API, w http.ResponseWriter, r *http.Request, next pager[T], start func(), row func(T) error) (int, bool) {
	pg, err := next("")
	if err != nil {
		a.fail(w, r, err)
		return 0, false
	}
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(transferTime))
	start()
	n := 0
	for {
		for _, item := range pg.Items {
			if err := row(item); err != nil {
				a.Log.ErrorContext(r.Context(), "export write", "err", err, "path", r.URL.Path)
				panic(http.ErrAbortHandler)
			}
			n++
		}
		if pg.NextCursor == "" {
			return n, true
		}
		if pg, err = next(pg.NextCursor); err != nil {
			a.Log.ErrorContext(r.Context(), "export page", "err", err, "path", r.URL.Path)
			panic(http.ErrAbortHandler)
		}
	}
}

func attachment(w http.ResponseWriter, contentType, name string) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Disposition", contentDisposition(name))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, no-store")
}

func (a *API) logExport(r *http.Request, p *auth.Principal, kind, format string, rows int) {
	details := map[string]any{"format": format, "rows": rows, "filter": r.URL.Query()}
	if err := a.CRM.LogExport(r.Context(), p, kind, details, meta(r)); err != nil {
		a.Log.ErrorContext(r.Context(), "audit export", "err", err, "kind", kind)
	}
}

// nameCache looks up names by ID once per export; records the principal
// cannot see give "".
type nameCache map[uuid.UUID]string

func (c nameCache) get(id *uuid.UUID, load func(uuid.UUID) (string, error)) string {
	if id == nil {
		return ""
	}
	if n, ok := c[*id]; ok {
		return n
	}
	n, err := load(*id)
	if err != nil {
		n = ""
	}
	c[*id] = n
	return n
}

func (a *API) companyName(ctx context.Context, p *auth.Principal) func(uuid.UUID) (string, error) {
	return func(id uuid.UUID) (string, error) {
		c, err := a.CRM.Company(ctx, p, id)
		if err != nil {
			return "", err
		}
		return c.Name, nil
	}
}

func (a *API) contactFilterFrom(r *http.Request) (crm.ContactFilter, rpcrm.Validation) {
	lp, v := exportParams(r)
	return contactFilter(r.URL.Query(), lp, v), v
}

func (a *API) exportContactsCSV(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	f, v := a.contactFilterFrom(r)
	opts := csvOptions(r, v)
	if err := v.Err(); err != nil {
		a.fail(w, r, err)
		return
	}
	names := nameCache{}
	csvExport(a, w, r, p, opts, "contacts", "kontakte", crm.ContactCSVHeader, func(cursor string) (*crm.Page[*crm.Contact], error) {
		f.Cursor = cursor
		return a.CRM.ListContacts(r.Context(), p, f)
	}, func(c *crm.Contact) []string {
		return crm.ContactCSVRow(c, names.get(c.CompanyID, a.companyName(r.Context(), p)))
	})
}

// csvExport streams a list (page by page, from next) as a CSV attachment
// named after base, one row per record, and logs the export of kind.
func csvExport[T any](a *API, w http.ResponseWriter, r *http.Request, p *auth.Principal, opts csvfile.WriterOptions,
	kind, base string, header []string, next pager[T], row func(T) []string) {
	cw := csvfile.NewWriter(w, opts)
	n, ok := stream(a, w, r, next, func() {
		attachment(w, "text/csv; charset=utf-8", exportName(base, "csv"))
		_ = cw.Write(header)
	}, func(rec T) error {
		return cw.Write(row(rec))
	})
	if !ok {
		return
	}
	if err := cw.Flush(); err != nil {
		a.Log.ErrorContext(r.Context(), "export flush", "err", err)
		return
	}
	a.logExport(r, p, kind, "csv", n)
}

func (a *API) exportCompaniesCSV(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	lp, v := exportParams(r)
	opts := csvOptions(r, v)
	f := companyFilter(r.URL.Query(), lp, v)
	if err := v.Err(); err != nil {
		a.fail(w, r, err)
		return
	}
	csvExport(a, w, r, p, opts, "companies", "firmen", crm.CompanyCSVHeader, func(cursor string) (*crm.Page[*crm.Company], error) {
		f.Cursor = cursor
		return a.CRM.ListCompanies(r.Context(), p, f)
	}, crm.CompanyCSVRow)
}

func (a *API) exportDealsCSV(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	lp, v := exportParams(r)
	opts := csvOptions(r, v)
	f := dealFilter(r.URL.Query(), lp, v)
	if err := v.Err(); err != nil {
		a.fail(w, r, err)
		return
	}
	pipelines, stages := map[uuid.UUID]string{}, map[uuid.UUID]string{}
	if ps, err := a.CRM.ListPipelines(r.Context(), p); err == nil {
		for _, pl := range ps {
			pipelines[pl.ID] = pl.Name
			for _, st := range pl.Stages {
				stages[st.ID] = st.Name
			}
		}
	}
	companyNames, contactNames := nameCache{}, nameCache{}
	contactName := func(id uuid.UUID) (string, error) {
		c, err := a.CRM.Contact(r.Context(), p, id)
		if err != nil {
			return "", err
		}
		return c.Name, nil
	}
	csvExport(a, w, r, p, opts, "deals", "verkaufschancen", crm.DealCSVHeader, func(cursor string) (*crm.Page[*crm.Deal], error) {
		f.Cursor = cursor
		return a.CRM.ListDeals(r.Context(), p, f)
	}, func(d *crm.Deal) []string {
		return crm.DealCSVRow(d, pipelines[d.PipelineID], stages[d.StageID],
			companyNames.get(d.CompanyID, a.companyName(r.Context(), p)), contactNames.get(d.ContactID, contactName))
	})
}

// exportContactsVCF writes the filtered contacts as vCard 4.0, one card at
// a time.
func (a *API) exportContactsVCF(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	f, v := a.contactFilterFrom(r)
	if err := v.Err(); err != nil {
		a.fail(w, r, err)
		return
	}
	names := nameCache{}
	n, ok := stream(a, w, r, func(cursor string) (*crm.Page[*crm.Contact], error) {
		f.Cursor = cursor
		return a.CRM.ListContacts(r.Context(), p, f)
	}, func() {
		attachment(w, "text/vcard; charset=utf-8", exportName("kontakte", "vcf"))
	}, func(c *crm.Contact) error {
		return vcard.Encode(w, crm.ContactCard(c, names.get(c.CompanyID, a.companyName(r.Context(), p))))
	})
	if ok {
		a.logExport(r, p, "contacts", "vcard", n)
	}
}

// contactVCard sends one contact as a vCard.
func (a *API) contactVCard(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id, err := pathID(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	c, err := a.CRM.Contact(r.Context(), p, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	company := nameCache{}.get(c.CompanyID, a.companyName(r.Context(), p))
	name := crm.SanitizeFileName(c.Name)
	if name == "" {
		name = "kontakt"
	}
	attachment(w, "text/vcard; charset=utf-8", name+".vcf")
	if err := vcard.Encode(w, crm.ContactCard(c, company)); err != nil {
		a.Log.ErrorContext(r.Context(), "vcard", "err", err)
	}
}

// exportRoutes are the exports: export:run in the route, the read
// permission (and its scope) in the list services.
func (a *API) exportRoutes() []Route {
	return []Route{
		perm("GET", "/api/v1/exports/companies.csv", auth.PermExportRun, a.exportCompaniesCSV),
		perm("GET", "/api/v1/exports/contacts.csv", auth.PermExportRun, a.exportContactsCSV),
		perm("GET", "/api/v1/exports/deals.csv", auth.PermExportRun, a.exportDealsCSV),
		perm("GET", "/api/v1/exports/contacts.vcf", auth.PermExportRun, a.exportContactsVCF),
		perm("GET", "/api/v1/contacts/{id}/vcard", auth.PermContactsRead, a.contactVCard),
	}
}
