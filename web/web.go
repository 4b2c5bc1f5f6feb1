// Package web is RP CRM's server-rendered user interface (html/template and
// htmx). It uses the same domain services and permissions as the JSON API.
// The session lives in two HttpOnly cookies: the short-lived access token
// and the refresh token, renewed transparently when the access token has
// expired. Every page works without JavaScript; htmx only makes it faster.
package web

import (
	"context"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/audit"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
	"github.com/rpcrm/rpcrm/filestore"
	"github.com/rpcrm/rpcrm/httpserver"
)

//go:embed templates
var templateFiles embed.FS

// static holds app.css and app.js, and after `make assets` the front-end
// libraries from npm under vendor/.
//
//go:embed static
var staticFiles embed.FS

// AuditLog reads the audit log.
type AuditLog interface {
	List(ctx context.Context, p *auth.Principal, f audit.Filter) ([]audit.Entry, error)
}

// UI holds the dependencies of the web handlers.
type UI struct {
	Auth  auth.Service
	CRM   crm.Service
	Audit AuditLog
	Gate  *httpserver.LoginGate
	Log   *slog.Logger
	// Files stores document content; MaxUploadBytes bounds one document.
	Files          *filestore.Store
	MaxUploadBytes int64
	// Secure marks cookies Secure and gives them the __Host- prefix; off
	// only in dev, where the UI is served over plain http://*.localhost.
	Secure     bool
	RefreshTTL time.Duration
	// TempDir holds uploads between the steps of the import wizard
	// (RPCRM_DATA_DIR/tmp in the server; the system's temp dir if empty).
	TempDir string

	pages  map[string]*template.Template
	assets *assets
	// jobs are the import wizard's running and recently finished imports;
	// a post waits up to importWait for its job (set by Handler; the tests
	// change it).
	jobs       importJobs
	importWait time.Duration
}

// pageHandler serves a page for a logged-in user.
type pageHandler func(w http.ResponseWriter, r *http.Request, p *auth.Principal)

// route is one UI route: public (login) or for logged-in users holding
// perm ("" for any logged-in user).
type route struct {
	pattern string
	perm    auth.Permission
	page    pageHandler
	public  http.HandlerFunc
}

func page(pattern string, perm auth.Permission, h pageHandler) route {
	return route{pattern: pattern, perm: perm, page: h}
}

func public(pattern string, h http.HandlerFunc) route { return route{pattern: pattern, public: h} }

// routes lists every UI route; each area of the UI adds its own.
func (u *UI) routes() []route {
	rs := []route{
		public("GET /static/", u.assets.ServeHTTP),
		public("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, u.assets.url("favicon.svg"), http.StatusMovedPermanently)
		}),
		public("GET /login", u.loginPage),
		public("POST /login", u.loginSubmit),
		page("POST /logout", "", u.logout),
		page("GET /{$}", "", u.home),
	}
	rs = append(rs, u.recordRoutes()...)
	rs = append(rs, u.dealRoutes()...)
	rs = append(rs, u.taskRoutes()...)
	rs = append(rs, u.adminRoutes()...)
	return rs
}

// Handler parses the templates and returns the UI's handler. It panics if a
// template does not parse: that is a build defect, not a runtime condition.
func (u *UI) Handler() http.Handler {
	u.pages = parsePages()
	static, _ := fs.Sub(staticFiles, "static")
	u.assets = newAssets(static)
	u.importWait = importWaitDefault
	mux := http.NewServeMux()
	for _, rt := range u.routes() {
		h := rt.public
		if rt.page != nil {
			h = u.requireUser(u.allow(rt.perm, rt.page))
		}
		mux.Handle(rt.pattern, httpserver.Route(rt.pattern, h))
	}
	mux.Handle("/", httpserver.Route("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.errorPage(w, r, nil, http.StatusNotFound, "error.not_found")
	})))
	// Refuse state-changing requests from other origins (Sec-Fetch-Site /
	// Origin), on top of the per-form token checked by requireUser.
	return http.NewCrossOriginProtection().Handler(u.withProfile(mux))
}

// allow refuses users without perm with a 403 page.
func (u *UI) allow(perm auth.Permission, next pageHandler) pageHandler {
	if perm == "" {
		return next
	}
	return func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		if _, ok := p.Can(perm); !ok {
			u.errorPage(w, r, p, http.StatusForbidden, "error.forbidden")
			return
		}
		next(w, r, p)
	}
}

func (u *UI) maxUpload() int64 {
	if u.MaxUploadBytes > 0 {
		return u.MaxUploadBytes
	}
	return 25 << 20
}

// maxFormBytes bounds form posts other than uploads.
const maxFormBytes = 1 << 20

// meta is what the audit log records of a request.
func meta(r *http.Request) auth.LoginMeta {
	info := httpserver.RequestInfo(r.Context())
	return auth.LoginMeta{IP: info.ClientIP.String(), UserAgent: r.UserAgent(), RequestID: info.RequestID}
}

func (u *UI) loginPage(w http.ResponseWriter, r *http.Request) {
	v := u.newView(w, r, nil, "login.title")
	v.Data = u.loginData(r)
	v.Next = safeNext(r.URL.Query().Get("next"))
	u.render(w, r, http.StatusOK, "login", v)
}

func (u *UI) loginSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	v := u.newView(w, r, nil, "login.title")
	v.Data = u.loginData(r)
	v.Next = safeNext(r.PostFormValue("next"))
	v.Email = strings.TrimSpace(r.PostFormValue("email"))
	if !u.checkCSRF(r) {
		v.Error = v.T("error.csrf")
		u.render(w, r, http.StatusForbidden, "login", v)
		return
	}
	password := r.PostFormValue("password")
	if v.Email == "" {
		v.Fields["email"] = v.T("login.email.missing")
	}
	if password == "" {
		v.Fields["password"] = v.T("login.password.missing")
	}
	if len(v.Fields) > 0 {
		u.render(w, r, http.StatusUnprocessableEntity, "login", v)
		return
	}
	pair, retry, err := u.Gate.Login(r, u.Auth, v.Email, password)
	if err != nil {
		status := http.StatusUnauthorized
		switch rpcrm.ErrorCode(err) {
		case rpcrm.ERATELIMIT:
			status = http.StatusTooManyRequests
			if retry > 0 {
				w.Header().Set("Retry-After", itoa(int(retry.Seconds())+1))
			}
			v.Error = v.T("login.limited")
		case rpcrm.EUNAUTHORIZED:
			v.Error = v.T("login.failed")
		default:
			u.Log.ErrorContext(r.Context(), "login", "err", err)
			status = http.StatusInternalServerError
			v.Error = v.T("error.internal")
		}
		u.render(w, r, status, "login", v)
		return
	}
	u.setSession(w, pair)
	redirect(w, r, v.Next)
}

func (u *UI) logout(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if err := u.Auth.Logout(r.Context(), p, meta(r)); err != nil {
		u.Log.ErrorContext(r.Context(), "logout", "err", err)
	}
	u.clearSession(w)
	redirect(w, r, "/login")
}
