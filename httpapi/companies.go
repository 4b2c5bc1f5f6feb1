package httpapi

import (
	"net/url"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
)

// companyFilter reads the company filters: city, canton and industry.
func companyFilter(q url.Values, lp crm.ListParams, _ rpcrm.Validation) crm.CompanyFilter {
	return crm.CompanyFilter{ListParams: lp, City: q.Get("city"), Canton: q.Get("canton"), Industry: q.Get("industry")}
}

// companyRoutes are the company endpoints. The trash is a sub-collection:
// GET lists it, DELETE on one of its entries purges it for good.
func (a *API) companyRoutes() []Route {
	companies := crmResource(a, "/api/v1/companies", func(c *crm.Company) (uuid.UUID, int) { return c.ID, c.Version })
	return []Route{
		perm("GET", "/api/v1/companies", auth.PermCompaniesRead, listRecords(companies, CRM.ListCompanies, companyFilter, false)),
		perm("POST", "/api/v1/companies", auth.PermCompaniesWrite, createRecord(companies, CRM.CreateCompany)),
		perm("GET", "/api/v1/companies/trash", auth.PermCompaniesDelete, listRecords(companies, CRM.ListCompanies, companyFilter, true)),
		perm("DELETE", "/api/v1/companies/trash/{id}", auth.PermCompaniesDelete, removeRecord(a, CRM.PurgeCompany)),
		perm("GET", "/api/v1/companies/{id}", auth.PermCompaniesRead, getRecord(companies, CRM.Company)),
		perm("PATCH", "/api/v1/companies/{id}", auth.PermCompaniesWrite,
			updateRecord(companies, CRM.UpdateCompany, func(in *crm.CompanyInput) *int { return &in.Version })),
		perm("DELETE", "/api/v1/companies/{id}", auth.PermCompaniesDelete, removeRecord(a, CRM.DeleteCompany)),
		perm("POST", "/api/v1/companies/{id}/restore", auth.PermCompaniesDelete, restoreRecord(companies, CRM.RestoreCompany)),
	}
}
