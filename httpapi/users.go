package httpapi

import (
	"net/http"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/httpserver"
)

// patchUser applies in to user id (enable, disable), at the version If-Match
// names, if any.
func (a *API) patchUser(w http.ResponseWriter, r *http.Request, p *auth.Principal, id uuid.UUID, in auth.UserPatch) {
	if err := versioned(r, &in.Version); err != nil {
		a.fail(w, r, err)
		return
	}
	u, err := a.Auth.UpdateUser(r.Context(), p, id, in, meta(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	etag(w, u.Version)
	httpserver.JSON(w, http.StatusOK, u)
}

func (a *API) disableUser(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	a.setDisabled(w, r, p, true)
}

func (a *API) enableUser(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	a.setDisabled(w, r, p, false)
}

func (a *API) setDisabled(w http.ResponseWriter, r *http.Request, p *auth.Principal, disabled bool) {
	id, err := pathID(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.patchUser(w, r, p, id, auth.UserPatch{Disabled: &disabled})
}

type passwordRequest struct {
	Password string `json:"password"`
}

// setPassword: PUT /api/v1/users/{id}/password — an administrator sets a new
// password; every session of the user ends.
func (a *API) setPassword(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id, err := pathID(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var in passwordRequest
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	if in.Password == "" {
		a.fail(w, r, rpcrm.FieldError("password", "Das Passwort fehlt."))
		return
	}
	if err := a.Auth.SetPassword(r.Context(), p, id, in.Password, meta(r)); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
