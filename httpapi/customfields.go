package httpapi

import (
	"net/http"

	"github.com/google/uuid"

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

// customFieldRoutes are the custom field definitions. Every record form
// needs them, so reading is open to everyone logged in; defining fields is
// settings:manage.
func (a *API) customFieldRoutes() []Route {
	fields := crmResource(a, "/api/v1/custom-fields", func(f *crm.CustomField) (uuid.UUID, int) { return f.ID, f.Version })
	return []Route{
		authRoute("GET", "/api/v1/custom-fields", a.listCustomFields),
		perm("POST", "/api/v1/custom-fields", auth.PermSettingsManage, createRecord(fields, CRM.CreateCustomField)),
		perm("PATCH", "/api/v1/custom-fields/{id}", auth.PermSettingsManage,
			updateRecord(fields, CRM.UpdateCustomField, func(in *crm.CustomFieldInput) *int { return &in.Version })),
		perm("DELETE", "/api/v1/custom-fields/{id}", auth.PermSettingsManage, removeRecord(a, CRM.DeleteCustomField)),
	}
}
