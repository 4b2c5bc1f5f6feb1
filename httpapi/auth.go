package httpapi

import (
	"net/http"
	"strings"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/httpserver"
)

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// login: POST /api/v1/auth/login
func (a *API) login(w http.ResponseWriter, r *http.Request) {
	var in loginRequest
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	v := rpcrm.Validation{}
	in.Email = strings.ToLower(strings.TrimSpace(in.Email))
	if in.Email == "" {
		v.Add("email", "Die E-Mail-Adresse fehlt.")
	}
	if in.Password == "" {
		v.Add("password", "Das Passwort fehlt.")
	}
	if len(in.Email) > 254 || len(in.Password) > 1024 {
		v.Add("email", "E-Mail-Adresse oder Passwort ist zu lang.")
	}
	if err := v.Err(); err != nil {
		a.fail(w, r, err)
		return
	}
	pair, retry, err := a.gate.Login(r, a.Auth, in.Email, in.Password)
	if err != nil {
		if retry > 0 {
			retryAfter(w, retry)
		}
		a.fail(w, r, err)
		return
	}
	httpserver.JSON(w, http.StatusOK, pair)
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

// refresh: POST /api/v1/auth/refresh
func (a *API) refresh(w http.ResponseWriter, r *http.Request) {
	var in refreshRequest
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	if in.RefreshToken == "" {
		a.fail(w, r, rpcrm.FieldError("refresh_token", "Das Refresh-Token fehlt."))
		return
	}
	pair, err := a.Auth.Refresh(r.Context(), tenantRef(r), in.RefreshToken, meta(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpserver.JSON(w, http.StatusOK, pair)
}

// logout: POST /api/v1/auth/logout — ends the session of the access token.
func (a *API) logout(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if err := a.Auth.Logout(r.Context(), p, meta(r)); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type meResponse struct {
	ID          string         `json:"id"`
	Email       string         `json:"email"`
	Name        string         `json:"name"`
	Locale      string         `json:"locale"`
	Tenant      tenantResponse `json:"tenant"`
	Roles       []auth.RoleRef `json:"roles"`
	Permissions []string       `json:"permissions"`
}

type tenantResponse struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Locale   string `json:"locale"`
	Currency string `json:"currency"`
	Timezone string `json:"timezone"`
}

// me: GET /api/v1/me
func (a *API) me(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	t := httpserver.Tenant(r.Context())
	perms := []string{}
	for _, g := range p.Grants.List() {
		perms = append(perms, g.String())
	}
	locale := p.Locale
	if locale == "" {
		locale = t.Locale
	}
	roles := p.Roles
	if roles == nil {
		roles = []auth.RoleRef{}
	}
	httpserver.JSON(w, http.StatusOK, meResponse{
		ID: p.UserID.String(), Email: p.Email, Name: p.Name, Locale: locale,
		Tenant: tenantResponse{ID: t.ID, Name: t.Name, Locale: t.Locale, Currency: t.Currency, Timezone: t.Timezone},
		Roles:  roles, Permissions: perms,
	})
}

// permissions: GET /api/v1/permissions — the catalogue, for building role editors.
func (a *API) permissions(w http.ResponseWriter, r *http.Request, _ *auth.Principal) {
	httpserver.JSON(w, http.StatusOK, map[string]any{"permissions": auth.AllPermissions()})
}
