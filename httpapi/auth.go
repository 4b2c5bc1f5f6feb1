package httpapi

import (
	"context"
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
	t := httpserver.Tenant(r.Context())
	info := httpserver.RequestInfo(r.Context())
	account := t.ID + "|" + in.Email
	limited := func(retry interface{ Seconds() float64 }) {
		a.Metrics.Logins.WithLabelValues(t.ID, "rate_limited").Inc()
		a.Log.WarnContext(r.Context(), "login rate limited", "tenant", t.ID, "client_ip", info.ClientIP.String(), "request_id", info.RequestID)
		a.fail(w, r, &rpcrm.Error{Code: rpcrm.ERATELIMIT, Message: "Zu viele Anmeldeversuche. Bitte warten Sie einen Moment."})
	}
	if ok, retry := a.LoginPerIP.Allow(info.ClientIP.String()); !ok {
		retryAfter(w, retry)
		limited(retry)
		return
	}
	if ok, retry := a.LoginPerAccount.Check(account); !ok {
		retryAfter(w, retry)
		limited(retry)
		return
	}
	pair, err := a.withHashSlot(r.Context(), func() (*auth.TokenPair, error) {
		return a.Auth.Login(r.Context(), tenantRef(r), in.Email, in.Password, meta(r))
	})
	if err != nil {
		if rpcrm.ErrorCode(err) == rpcrm.EUNAUTHORIZED {
			a.LoginPerAccount.Add(account)
			a.Metrics.Logins.WithLabelValues(t.ID, "failure").Inc()
		}
		a.fail(w, r, err)
		return
	}
	a.LoginPerAccount.Reset(account)
	a.Metrics.Logins.WithLabelValues(t.ID, "success").Inc()
	httpserver.JSON(w, http.StatusOK, pair)
}

// withHashSlot bounds how many password hashes run at once: each takes about
// 19 MiB and a core for 50 ms, and a burst of logins must not exhaust memory.
func (a *API) withHashSlot(ctx context.Context, fn func() (*auth.TokenPair, error)) (*auth.TokenPair, error) {
	select {
	case a.hashSlots <- struct{}{}:
		defer func() { <-a.hashSlots }()
		return fn()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
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
