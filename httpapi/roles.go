package httpapi

import (
	"net/http"

	"github.com/rpcrm/rpcrm/auth"
)

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
