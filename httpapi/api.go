// Package httpapi is RP CRM's JSON API under /api/v1/. Every route is listed
// in Routes with the permission it needs; the handlers call the domain services.
package httpapi

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/audit"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
	"github.com/rpcrm/rpcrm/filestore"
	"github.com/rpcrm/rpcrm/httpserver"
	"github.com/rpcrm/rpcrm/metrics"
	"github.com/rpcrm/rpcrm/ratelimit"
)

// AuditLog reads the audit log.
type AuditLog interface {
	List(ctx context.Context, p *auth.Principal, f audit.Filter) ([]audit.Entry, error)
}

// CRM is everything the API needs of the CRM records.
type CRM = crm.Service

// API holds the dependencies of the JSON API handlers.
type API struct {
	Auth    auth.Service
	Audit   AuditLog
	CRM     CRM
	Log     *slog.Logger
	Metrics *metrics.Metrics
	// MaxBodyBytes bounds every request body.
	MaxBodyBytes int64
	// Files stores document content (uploads fail without it);
	// MaxUploadBytes bounds one document (default 25 MiB).
	Files          *filestore.Store
	MaxUploadBytes int64
	// LoginPerIP limits login attempts per client address; LoginPerAccount
	// limits failed attempts per tenant and e-mail address.
	LoginPerIP, LoginPerAccount *ratelimit.Window
	// HashConcurrency bounds the password checks running at once (default: 4).
	HashConcurrency int
	// Gate, if set, is used for logins instead of one built from the fields
	// above; the server shares one gate between the API and the UI.
	Gate *httpserver.LoginGate

	gate *httpserver.LoginGate
}

// Access says who may call a route.
type Access int

// Route access levels.
const (
	Public        Access = iota // anyone on a tenant host
	Authenticated               // any logged-in user
	Permitted                   // a user holding Route.Permission
)

// Route is one API endpoint.
type Route struct {
	Method, Path string
	Access       Access
	Permission   auth.Permission
	MaxBody      int64 // body limit of this route; 0 means API.MaxBodyBytes
	handler      func(w http.ResponseWriter, r *http.Request, p *auth.Principal)
}

// Routes lists every endpoint of the API: the one place to read what the API
// offers and what each call requires.
func (a *API) Routes() []Route {
	pub := func(method, path string, h http.HandlerFunc) Route {
		return Route{Method: method, Path: path, Access: Public,
			handler: func(w http.ResponseWriter, r *http.Request, _ *auth.Principal) { h(w, r) }}
	}
	authn := func(method, path string, h func(http.ResponseWriter, *http.Request, *auth.Principal)) Route {
		return Route{Method: method, Path: path, Access: Authenticated, handler: h}
	}
	users := authResource(a, "/api/v1/users", func(u *auth.User) (uuid.UUID, int) { return u.ID, u.Version })
	roles := authResource(a, "/api/v1/roles", func(role *auth.Role) (uuid.UUID, int) { return role.ID, role.Version })
	routes := []Route{
		pub("POST", "/api/v1/auth/login", a.login),
		pub("POST", "/api/v1/auth/refresh", a.refresh),
		authn("POST", "/api/v1/auth/logout", a.logout),
		authn("GET", "/api/v1/me", a.me),
		authn("GET", "/api/v1/permissions", a.permissions),

		perm("GET", "/api/v1/users", auth.PermUsersManage, listAll(users, auth.Service.ListUsers)),
		perm("POST", "/api/v1/users", auth.PermUsersManage, createRecord(users, auth.Service.CreateUser)),
		perm("GET", "/api/v1/users/{id}", auth.PermUsersManage, getRecord(users, auth.Service.User)),
		perm("PATCH", "/api/v1/users/{id}", auth.PermUsersManage,
			updateRecord(users, auth.Service.UpdateUser, func(in *auth.UserPatch) *int { return &in.Version })),
		perm("POST", "/api/v1/users/{id}/disable", auth.PermUsersManage, a.disableUser),
		perm("POST", "/api/v1/users/{id}/enable", auth.PermUsersManage, a.enableUser),
		perm("PUT", "/api/v1/users/{id}/password", auth.PermUsersManage, a.setPassword),

		perm("GET", "/api/v1/roles", auth.PermRolesManage, listAll(roles, auth.Service.ListRoles)),
		perm("POST", "/api/v1/roles", auth.PermRolesManage, createRecord(roles, auth.Service.CreateRole)),
		perm("GET", "/api/v1/roles/{id}", auth.PermRolesManage, getRecord(roles, auth.Service.Role)),
		perm("PATCH", "/api/v1/roles/{id}", auth.PermRolesManage,
			updateRecord(roles, auth.Service.UpdateRole, func(in *auth.RolePatch) *int { return &in.Version })),
		perm("DELETE", "/api/v1/roles/{id}", auth.PermRolesManage, a.deleteRole),

		perm("GET", "/api/v1/audit-log", auth.PermAuditRead, a.listAudit),
	}
	// The CRM records, one group per resource (each in its own file).
	for _, group := range [][]Route{
		a.companyRoutes(),
		a.contactRoutes(),
		a.documentRoutes(),
		a.dealRoutes(),
		a.activityRoutes(),
		a.tagRoutes(),
		a.customFieldRoutes(),
		a.searchRoutes(),
		a.openapiRoutes(),
		a.importRoutes(), a.exportRoutes(),
	} {
		routes = append(routes, group...)
	}
	return routes
}

// authRoute declares a route open to any logged-in user.
func authRoute(method, path string, h func(http.ResponseWriter, *http.Request, *auth.Principal)) Route {
	return Route{Method: method, Path: path, Access: Authenticated, handler: h}
}

// perm declares a route that needs permission p.
func perm(method, path string, p auth.Permission, h func(http.ResponseWriter, *http.Request, *auth.Principal)) Route {
	return Route{Method: method, Path: path, Access: Permitted, Permission: p, handler: h}
}

// Handler returns the API's handler; it expects the tenant to be resolved
// (httpserver does that) and answers unknown paths with a problem document.
func (a *API) Handler() http.Handler {
	a.gate = a.Gate
	if a.gate == nil {
		a.gate = httpserver.NewLoginGate(a.LoginPerIP, a.LoginPerAccount, a.Metrics, a.Log, a.HashConcurrency)
	}
	mux := http.NewServeMux()
	for _, rt := range a.Routes() {
		pattern := rt.Method + " " + rt.Path
		mux.Handle(pattern, httpserver.Route(pattern, a.guard(rt)))
	}
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		httpserver.Error(w, r, a.Log, rpcrm.Errorf(rpcrm.ENOTFOUND, "Diese API-Adresse gibt es nicht."))
	})
	return mux
}

// guard authenticates the caller and checks the route's permission before
// the handler runs.
func (a *API) guard(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if limit := cmp.Or(rt.MaxBody, a.MaxBodyBytes); limit > 0 {
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		if rt.Access == Public {
			rt.handler(w, r, nil)
			return
		}
		p, err := a.principal(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="rpcrm"`)
			httpserver.Error(w, r, a.Log, err)
			return
		}
		httpserver.RequestInfo(r.Context()).UserID = p.UserID
		if rt.Access == Permitted && !p.Grants.Has(rt.Permission) {
			httpserver.Error(w, r, a.Log, &rpcrm.Error{Code: rpcrm.EFORBIDDEN,
				Message: fmt.Sprintf("Dafür fehlt Ihnen die Berechtigung %q.", rt.Permission)})
			return
		}
		rt.handler(w, r, p)
	})
}

var errNoToken = &rpcrm.Error{Code: rpcrm.EUNAUTHORIZED, Message: "Bitte melden Sie sich an."}

func (a *API) principal(r *http.Request) (*auth.Principal, error) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return nil, errNoToken
	}
	t := httpserver.Tenant(r.Context())
	return a.Auth.Authenticate(r.Context(), auth.TenantRef{ID: t.UUID(), Slug: t.ID}, strings.TrimSpace(token))
}

func meta(r *http.Request) auth.LoginMeta {
	info := httpserver.RequestInfo(r.Context())
	return auth.LoginMeta{IP: info.ClientIP.String(), UserAgent: r.UserAgent(), RequestID: info.RequestID}
}

func tenantRef(r *http.Request) auth.TenantRef {
	t := httpserver.Tenant(r.Context())
	return auth.TenantRef{ID: t.UUID(), Slug: t.ID}
}

// decode reads a JSON body into v, refusing unknown fields, trailing data,
// a wrong media type and bodies over the limit.
func decode(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return &rpcrm.Error{Code: rpcrm.EINVALID, Message: "Der Inhalt muss JSON sein (Content-Type: application/json)."}
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &rpcrm.Error{Code: rpcrm.EINVALID, Message: "Nach dem JSON-Objekt folgen weitere Daten."}
	}
	return nil
}

func decodeError(err error) error {
	var maxErr *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &maxErr):
		return &rpcrm.Error{Code: rpcrm.EINVALID, Message: fmt.Sprintf("Die Anfrage ist zu gross (höchstens %d Bytes).", maxErr.Limit)}
	case errors.Is(err, io.EOF):
		return &rpcrm.Error{Code: rpcrm.EINVALID, Message: "Die Anfrage enthält kein JSON."}
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		return rpcrm.FieldError(field, "Falscher Typ: erwartet "+typeErr.Type.String()+".")
	case errors.As(err, &syntaxErr):
		return &rpcrm.Error{Code: rpcrm.EINVALID, Message: fmt.Sprintf("Ungültiges JSON bei Byte %d.", syntaxErr.Offset)}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return rpcrm.FieldError(name, "Unbekanntes Feld.")
	}
	return &rpcrm.Error{Code: rpcrm.EINVALID, Message: "Ungültiges JSON."}
}

// pathID parses the {id} path value.
func pathID(r *http.Request) (uuid.UUID, error) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return uuid.Nil, rpcrm.Errorf(rpcrm.ENOTFOUND, "Nicht gefunden.")
	}
	return id, nil
}

// ifMatch returns the version the client sent in If-Match ("3" or W/"3"), or 0.
func ifMatch(r *http.Request) (int, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" {
		return 0, nil
	}
	h = strings.Trim(strings.TrimPrefix(h, "W/"), `"`)
	v, err := strconv.Atoi(h)
	if err != nil || v <= 0 {
		return 0, rpcrm.FieldError("If-Match", "Erwartet die Version als ETag, z. B. \"3\".")
	}
	return v, nil
}

func etag(w http.ResponseWriter, version int) {
	w.Header().Set("ETag", `"`+strconv.Itoa(version)+`"`)
}

func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	httpserver.Error(w, r, a.Log, err)
}

func retryAfter(w http.ResponseWriter, d time.Duration) {
	secs := int(d.Round(time.Second).Seconds())
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
}
