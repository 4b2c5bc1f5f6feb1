package httpapi

import (
	"net/url"
	"slices"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
)

// contactFilter reads the contact filters: company_id and language.
func contactFilter(q url.Values, lp crm.ListParams, v rpcrm.Validation) crm.ContactFilter {
	f := crm.ContactFilter{ListParams: lp, CompanyID: queryID(q.Get("company_id"), "company_id", v), Language: q.Get("language")}
	if f.Language != "" && !slices.Contains(crm.ContactLanguages, f.Language) {
		v.Add("language", "Erwartet de, fr, it oder en.")
	}
	return f
}

// contactRoutes are the contact endpoints. The trash is a sub-collection:
// GET lists it, DELETE on one of its entries purges it for good.
func (a *API) contactRoutes() []Route {
	contacts := crmResource(a, "/api/v1/contacts", func(c *crm.Contact) (uuid.UUID, int) { return c.ID, c.Version })
	return []Route{
		perm("GET", "/api/v1/contacts", auth.PermContactsRead, listRecords(contacts, CRM.ListContacts, contactFilter, false)),
		perm("POST", "/api/v1/contacts", auth.PermContactsWrite, createRecord(contacts, CRM.CreateContact)),
		perm("GET", "/api/v1/contacts/trash", auth.PermContactsDelete, listRecords(contacts, CRM.ListContacts, contactFilter, true)),
		perm("DELETE", "/api/v1/contacts/trash/{id}", auth.PermContactsDelete, removeRecord(a, CRM.PurgeContact)),
		perm("GET", "/api/v1/contacts/{id}", auth.PermContactsRead, getRecord(contacts, CRM.Contact)),
		perm("PATCH", "/api/v1/contacts/{id}", auth.PermContactsWrite,
			updateRecord(contacts, CRM.UpdateContact, func(in *crm.ContactInput) *int { return &in.Version })),
		perm("DELETE", "/api/v1/contacts/{id}", auth.PermContactsDelete, removeRecord(a, CRM.DeleteContact)),
		perm("POST", "/api/v1/contacts/{id}/restore", auth.PermContactsDelete, restoreRecord(contacts, CRM.RestoreContact)),
	}
}
