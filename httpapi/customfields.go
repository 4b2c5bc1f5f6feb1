package httpapi

import (
	"net/http"

	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
	"github.com/rpcrm/rpcrm/httpserver"
)

func (a *API) listCustomFields(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	list, err := a.CRM.CustomFields(r.Context(), p, r.URL.Query().Get("entity"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpserver.JSON(w, http.StatusOK, crm.Page[*crm.CustomField]{Items: list})
}

func (a *API) createCustomField(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var in crm.CustomFieldInput
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	f, err := a.CRM.CreateCustomField(r.Context(), p, in, meta(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	etag(w, f.Version)
	w.Header().Set("Location", "/api/v1/custom-fields/"+f.ID.String())
	httpserver.JSON(w, http.StatusCreated, f)
}

func (a *API) updateCustomField(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id, err := pathID(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var in crm.CustomFieldInput
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := versioned(r, &in.Version); err != nil {
		a.fail(w, r, err)
		return
	}
	f, err := a.CRM.UpdateCustomField(r.Context(), p, id, in, meta(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	etag(w, f.Version)
	httpserver.JSON(w, http.StatusOK, f)
}

func (a *API) deleteCustomField(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id, err := pathID(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.CRM.DeleteCustomField(r.Context(), p, id, meta(r)); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// customFieldRoutes are the custom field definitions. Every record form
// needs them, so reading is open to everyone logged in; defining fields is
// settings:manage.
func (a *API) customFieldRoutes() []Route {
	return []Route{
		authRoute("GET", "/api/v1/custom-fields", a.listCustomFields),
		perm("POST", "/api/v1/custom-fields", auth.PermSettingsManage, a.createCustomField),
		perm("PATCH", "/api/v1/custom-fields/{id}", auth.PermSettingsManage, a.updateCustomField),
		perm("DELETE", "/api/v1/custom-fields/{id}", auth.PermSettingsManage, a.deleteCustomField),
	}
}
