package httpapi

import (
	"net/http"

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

func (a *API) createTag(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var in crm.TagInput
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	t, err := a.CRM.CreateTag(r.Context(), p, in, meta(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	etag(w, t.Version)
	w.Header().Set("Location", "/api/v1/tags/"+t.ID.String())
	httpserver.JSON(w, http.StatusCreated, t)
}

func (a *API) updateTag(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id, err := pathID(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var in crm.TagInput
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := versioned(r, &in.Version); err != nil {
		a.fail(w, r, err)
		return
	}
	t, err := a.CRM.UpdateTag(r.Context(), p, id, in, meta(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	etag(w, t.Version)
	httpserver.JSON(w, http.StatusOK, t)
}

func (a *API) deleteTag(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id, err := pathID(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.CRM.DeleteTag(r.Context(), p, id, meta(r)); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// tagRoutes are the tag endpoints. Everyone logged in reads the tags (every
// record form offers them); changing them is tags:manage.
func (a *API) tagRoutes() []Route {
	return []Route{
		authRoute("GET", "/api/v1/tags", a.listTags),
		perm("POST", "/api/v1/tags", auth.PermTagsManage, a.createTag),
		perm("PATCH", "/api/v1/tags/{id}", auth.PermTagsManage, a.updateTag),
		perm("DELETE", "/api/v1/tags/{id}", auth.PermTagsManage, a.deleteTag),
	}
}
