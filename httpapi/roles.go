package httpapi

import (
	"net/http"

	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/httpserver"
)

func (a *API) listRoles(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	roles, err := a.Auth.ListRoles(r.Context(), p)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if roles == nil {
		roles = []*auth.Role{}
	}
	httpserver.JSON(w, http.StatusOK, map[string]any{"items": roles})
}

func (a *API) getRole(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id, err := pathID(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	role, err := a.Auth.Role(r.Context(), p, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	etag(w, role.Version)
	httpserver.JSON(w, http.StatusOK, role)
}

func (a *API) createRole(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var in auth.RoleInput
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	role, err := a.Auth.CreateRole(r.Context(), p, in, meta(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	etag(w, role.Version)
	w.Header().Set("Location", "/api/v1/roles/"+role.ID.String())
	httpserver.JSON(w, http.StatusCreated, role)
}

func (a *API) updateRole(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id, err := pathID(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var in auth.RolePatch
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	v, err := ifMatch(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if v != 0 {
		in.Version = v
	}
	role, err := a.Auth.UpdateRole(r.Context(), p, id, in, meta(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	etag(w, role.Version)
	httpserver.JSON(w, http.StatusOK, role)
}

func (a *API) deleteRole(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id, err := pathID(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.Auth.DeleteRole(r.Context(), p, id, meta(r)); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
