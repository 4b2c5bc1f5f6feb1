// Package web is RP CRM's server-rendered user interface (html/template).
// It uses the same domain services and permissions as the JSON API. The
// session lives in two HttpOnly cookies: the short-lived access token and the
// refresh token, renewed transparently when the access token has expired.
package web

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/httpserver"
	"github.com/rpcrm/rpcrm/tenant"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// UI holds the dependencies of the web handlers.
type UI struct {
	Auth auth.Service
	Gate *httpserver.LoginGate
	Log  *slog.Logger
	// Secure marks cookies Secure and gives them the __Host- prefix; off
	// only in dev, where the UI is served over plain http://*.localhost.
	Secure     bool
	RefreshTTL time.Duration

	pages map[string]*template.Template
}

// page names; each is parsed with the layout at start, so a broken template
// stops the server instead of failing a request.
var pageNames = []string{"login", "home"}

// Handler parses the templates and returns the UI's handler. It panics if a
// template does not parse: that is a build defect, not a runtime condition.
func (u *UI) Handler() http.Handler {
	u.pages = map[string]*template.Template{}
	for _, name := range pageNames {
		t := template.New(name).Funcs(template.FuncMap{})
		t = template.Must(t.ParseFS(templateFiles, "templates/layout.html", "templates/"+name+".html"))
		u.pages[name] = t
	}
	static, _ := fs.Sub(staticFiles, "static")
	mux := http.NewServeMux()
	handle := func(pattern string, h http.HandlerFunc) {
		mux.Handle(pattern, httpserver.Route(pattern, h))
	}
	handle("GET /static/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		http.StripPrefix("/static/", http.FileServerFS(static)).ServeHTTP(w, r)
	})
	handle("GET /login", u.loginPage)
	handle("POST /login", u.loginSubmit)
	handle("POST /logout", u.requireUser(u.logout))
	handle("GET /{$}", u.requireUser(u.home))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	// Refuse state-changing requests from other origins (Sec-Fetch-Site /
	// Origin), on top of the per-form token checked by the handlers.
	return http.NewCrossOriginProtection().Handler(mux)
}

func (u *UI) cookieName(base string) string {
	if u.Secure {
		return "__Host-rpcrm_" + base
	}
	return "rpcrm_" + base
}

func (u *UI) setCookie(w http.ResponseWriter, base, value string, maxAge time.Duration) {
	c := &http.Cookie{Name: u.cookieName(base), Value: value, Path: "/", HttpOnly: true, Secure: u.Secure,
		SameSite: http.SameSiteLaxMode}
	if maxAge < 0 {
		c.MaxAge = -1
	} else if maxAge > 0 {
		c.MaxAge = int(maxAge.Seconds())
	}
	http.SetCookie(w, c)
}

func (u *UI) cookie(r *http.Request, base string) string {
	c, err := r.Cookie(u.cookieName(base))
	if err != nil {
		return ""
	}
	return c.Value
}

// csrfToken returns the request's CSRF token, setting the cookie that holds
// it if there is none yet (double-submit: forms must send the same value).
func (u *UI) csrfToken(w http.ResponseWriter, r *http.Request) string {
	if tok := u.cookie(r, "csrf"); len(tok) >= 32 {
		return tok
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	tok := base64.RawURLEncoding.EncodeToString(b)
	u.setCookie(w, "csrf", tok, 0)
	return tok
}

func (u *UI) checkCSRF(r *http.Request) bool {
	want := u.cookie(r, "csrf")
	got := r.PostFormValue("csrf_token")
	if got == "" {
		got = r.Header.Get("X-CSRF-Token")
	}
	return len(want) >= 32 && subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

// view is what every page template gets.
type view struct {
	Title  string
	Lang   string
	Tenant *tenant.Tenant
	User   *auth.Principal
	CSRF   string
	Error  string
	Fields map[string]string
	Email  string
	Next   string
}

// T translates a UI text key into the page's language.
func (v *view) T(key string) string { return translate(v.Lang, key) }

func (u *UI) newView(w http.ResponseWriter, r *http.Request, p *auth.Principal, title string) *view {
	t := httpserver.Tenant(r.Context())
	locale := t.Locale
	if p != nil && p.Locale != "" {
		locale = p.Locale
	}
	v := &view{Lang: lang(locale), Tenant: t, User: p, CSRF: u.csrfToken(w, r), Fields: map[string]string{}}
	v.Title = v.T(title)
	return v
}

func (u *UI) render(w http.ResponseWriter, r *http.Request, status int, page string, v *view) {
	var buf bytes.Buffer
	if err := u.pages[page].ExecuteTemplate(&buf, "layout", v); err != nil {
		u.Log.ErrorContext(r.Context(), "render page", "page", page, "err", err)
		http.Error(w, "Interner Fehler", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes()) //nolint:errcheck
}

// maxFormBytes bounds form posts; uploads will have their own limit.
const maxFormBytes = 1 << 20

// requireUser authenticates the request from its cookies, renewing the
// access token with the refresh token when needed, or sends the browser to
// the login page.
func (u *UI) requireUser(next func(http.ResponseWriter, *http.Request, *auth.Principal)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t := httpserver.Tenant(r.Context())
		ref := auth.TenantRef{ID: t.UUID(), Slug: t.ID}
		var p *auth.Principal
		if at := u.cookie(r, "at"); at != "" {
			p, _ = u.Auth.Authenticate(r.Context(), ref, at)
		}
		if p == nil {
			if rt := u.cookie(r, "rt"); rt != "" {
				info := httpserver.RequestInfo(r.Context())
				pair, err := u.Auth.Refresh(r.Context(), ref, rt,
					auth.LoginMeta{IP: info.ClientIP.String(), UserAgent: r.UserAgent(), RequestID: info.RequestID})
				if err == nil {
					u.setSession(w, pair)
					p, _ = u.Auth.Authenticate(r.Context(), ref, pair.AccessToken)
				}
			}
		}
		if p == nil {
			u.clearSession(w)
			if r.Method != http.MethodGet {
				http.Redirect(w, r, "/login", http.StatusSeeOther)
				return
			}
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		httpserver.RequestInfo(r.Context()).UserID = p.UserID
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !u.checkCSRF(r) {
			http.Error(w, "Ungültiges oder fehlendes Formular-Token. Bitte laden Sie die Seite neu.", http.StatusForbidden)
			return
		}
		next(w, r, p)
	}
}

func (u *UI) setSession(w http.ResponseWriter, pair *auth.TokenPair) {
	u.setCookie(w, "at", pair.AccessToken, time.Until(pair.ExpiresAt))
	u.setCookie(w, "rt", pair.RefreshToken, u.RefreshTTL)
}

func (u *UI) clearSession(w http.ResponseWriter) {
	u.setCookie(w, "at", "", -1)
	u.setCookie(w, "rt", "", -1)
}

// safeNext keeps redirects after login on this site: only local paths.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

func (u *UI) loginPage(w http.ResponseWriter, r *http.Request) {
	v := u.newView(w, r, nil, "login.title")
	v.Next = safeNext(r.URL.Query().Get("next"))
	u.render(w, r, http.StatusOK, "login", v)
}

func (u *UI) loginSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	v := u.newView(w, r, nil, "login.title")
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
	http.Redirect(w, r, v.Next, http.StatusSeeOther)
}

func (u *UI) logout(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	info := httpserver.RequestInfo(r.Context())
	if err := u.Auth.Logout(r.Context(), p, auth.LoginMeta{IP: info.ClientIP.String(), UserAgent: r.UserAgent(),
		RequestID: info.RequestID}); err != nil {
		u.Log.ErrorContext(r.Context(), "logout", "err", err)
	}
	u.clearSession(w)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (u *UI) home(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	u.render(w, r, http.StatusOK, "home", u.newView(w, r, p, "home.title"))
}
