package httpapi

import (
	"net/http"

	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
	"github.com/rpcrm/rpcrm/httpserver"
)

func (a *API) listCompanies(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	a.listCompaniesIn(w, r, p, false)
}

func (a *API) listCompanyTrash(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	a.listCompaniesIn(w, r, p, true)
}

func (a *API) listCompaniesIn(w http.ResponseWriter, r *http.Request, p *auth.Principal, trash bool) {
	lp, v := listParams(r)
	if err := v.Err(); err != nil {
		a.fail(w, r, err)
		return
	}
	lp.Deleted = trash
	q := r.URL.Query()
	f := crm.CompanyFilter{ListParams: lp, City: q.Get("city"), Canton: q.Get("canton"), Industry: q.Get("industry")}
	pg, err := a.CRM.ListCompanies(r.Context(), p, f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpserver.JSON(w, http.StatusOK, pg)
}

func (a *API) createCompany(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var in crm.CompanyInput
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	c, err := a.CRM.CreateCompany(r.Context(), p, in, meta(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	etag(w, c.Version)
	w.Header().Set("Location", "/api/v1/companies/"+c.ID.String())
	httpserver.JSON(w, http.StatusCreated, c)
}

func (a *API) updateCompany(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id, err := pathID(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var in crm.CompanyInput
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := versioned(r, &in.Version); err != nil {
		a.fail(w, r, err)
		return
	}
	c, err := a.CRM.UpdateCompany(r.Context(), p, id, in, meta(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	etag(w, c.Version)
	httpserver.JSON(w, http.StatusOK, c)
}

// companyRoutes are the company endpoints. The trash is a sub-collection:
// GET lists it, DELETE on one of its entries purges it for good.
func (a *API) companyRoutes() []Route {
	return []Route{
		perm("GET", "/api/v1/companies", auth.PermCompaniesRead, a.listCompanies),
		perm("POST", "/api/v1/companies", auth.PermCompaniesWrite, a.createCompany),
		perm("GET", "/api/v1/companies/trash", auth.PermCompaniesDelete, a.listCompanyTrash),
		perm("DELETE", "/api/v1/companies/trash/{id}", auth.PermCompaniesDelete, removeRecord(a, CRM.PurgeCompany)),
		perm("GET", "/api/v1/companies/{id}", auth.PermCompaniesRead, getRecord(a, CRM.Company)),
		perm("PATCH", "/api/v1/companies/{id}", auth.PermCompaniesWrite, a.updateCompany),
		perm("DELETE", "/api/v1/companies/{id}", auth.PermCompaniesDelete, removeRecord(a, CRM.DeleteCompany)),
		perm("POST", "/api/v1/companies/{id}/restore", auth.PermCompaniesDelete, restoreRecord(a, CRM.RestoreCompany)),
	}
}
