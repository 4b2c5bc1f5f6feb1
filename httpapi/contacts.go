package httpapi

import (
	"net/http"
	"slices"

	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
	"github.com/rpcrm/rpcrm/httpserver"
)

func (a *API) listContacts(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	a.listContactsIn(w, r, p, false)
}

func (a *API) listContactTrash(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	a.listContactsIn(w, r, p, true)
}

func (a *API) listContactsIn(w http.ResponseWriter, r *http.Request, p *auth.Principal, trash bool) {
	lp, v := listParams(r)
	q := r.URL.Query()
	f := crm.ContactFilter{CompanyID: queryID(q.Get("company_id"), "company_id", v), Language: q.Get("language")}
	if f.Language != "" && !slices.Contains(crm.ContactLanguages, f.Language) {
		v.Add("language", "Erwartet de, fr, it oder en.")
	}
	if err := v.Err(); err != nil {
		a.fail(w, r, err)
		return
	}
	lp.Deleted = trash
	f.ListParams = lp
	pg, err := a.CRM.ListContacts(r.Context(), p, f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpserver.JSON(w, http.StatusOK, pg)
}

func (a *API) createContact(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var in crm.ContactInput
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	c, err := a.CRM.CreateContact(r.Context(), p, in, meta(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	etag(w, c.Version)
	w.Header().Set("Location", "/api/v1/contacts/"+c.ID.String())
	httpserver.JSON(w, http.StatusCreated, c)
}

func (a *API) updateContact(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id, err := pathID(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var in crm.ContactInput
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := versioned(r, &in.Version); err != nil {
		a.fail(w, r, err)
		return
	}
	c, err := a.CRM.UpdateContact(r.Context(), p, id, in, meta(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	etag(w, c.Version)
	httpserver.JSON(w, http.StatusOK, c)
}

// contactRoutes are the contact endpoints. The trash is a sub-collection:
// GET lists it, DELETE on one of its entries purges it for good.
func (a *API) contactRoutes() []Route {
	return []Route{
		perm("GET", "/api/v1/contacts", auth.PermContactsRead, a.listContacts),
		perm("POST", "/api/v1/contacts", auth.PermContactsWrite, a.createContact),
		perm("GET", "/api/v1/contacts/trash", auth.PermContactsDelete, a.listContactTrash),
		perm("DELETE", "/api/v1/contacts/trash/{id}", auth.PermContactsDelete, removeRecord(a, CRM.PurgeContact)),
		perm("GET", "/api/v1/contacts/{id}", auth.PermContactsRead, getRecord(a, CRM.Contact)),
		perm("PATCH", "/api/v1/contacts/{id}", auth.PermContactsWrite, a.updateContact),
		perm("DELETE", "/api/v1/contacts/{id}", auth.PermContactsDelete, removeRecord(a, CRM.DeleteContact)),
		perm("POST", "/api/v1/contacts/{id}/restore", auth.PermContactsDelete, restoreRecord(a, CRM.RestoreContact)),
	}
}
