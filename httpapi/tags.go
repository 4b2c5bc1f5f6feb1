package httpapi

import (
	"net/http"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
	"github.com/rpcrm/rpcrm/httpserver"
)

func (a *API) listTags(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	tags, err := a.CRM.Tags(r.Context(), p)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpserver.JSON(w, http.StatusOK, crm.Page[*crm.Tag]{Items: tags})
}

// tagRoutes are the tag endpoints. Everyone logged in reads the tags (every
// record form offers them); changing them is tags:manage.
func (a *API) tagRoutes() []Route {
	tags := crmResource(a, "/api/v1/tags", func(t *crm.Tag) (uuid.UUID, int) { return t.ID, t.Version })
	return []Route{
		authRoute("GET", "/api/v1/tags", a.listTags),
		perm("POST", "/api/v1/tags", auth.PermTagsManage, createRecord(tags, CRM.CreateTag)),
		perm("PATCH", "/api/v1/tags/{id}", auth.PermTagsManage,
			updateRecord(tags, CRM.UpdateTag, func(in *crm.TagInput) *int { return &in.Version })),
		perm("DELETE", "/api/v1/tags/{id}", auth.PermTagsManage, removeRecord(a, CRM.DeleteTag)),
	}
}
