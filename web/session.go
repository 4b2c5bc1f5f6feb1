package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/httpserver"
)

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
	// Later calls in this request (several forms on one page) must agree.
	r.AddCookie(&http.Cookie{Name: u.cookieName("csrf"), Value: tok})
	return tok
}

// checkCSRF compares the form's (or htmx's X-CSRF-Token header's) token
// with the cookie's.
func (u *UI) checkCSRF(r *http.Request) bool {
	want := u.cookie(r, "csrf")
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.FormValue("csrf_token")
	}
	return len(want) >= 32 && subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

// flash is a one-time message shown on the next page after a redirect
// ("Gespeichert", "In den Papierkorb verschoben" with an undo link).
type flash struct {
	Kind    string // "ok" or "error"
	Message string
	// UndoURL, when set, is posted to (with the CSRF token) to undo.
	UndoURL string
}

func (u *UI) setFlash(w http.ResponseWriter, f flash) {
	v := url.Values{"k": {f.Kind}, "m": {f.Message}}
	if f.UndoURL != "" {
		v.Set("u", f.UndoURL)
	}
	u.setCookie(w, "flash", base64.RawURLEncoding.EncodeToString([]byte(v.Encode())), time.Minute)
}

// takeFlash returns the pending flash message, if any, and clears it.
func (u *UI) takeFlash(w http.ResponseWriter, r *http.Request) *flash {
	raw := u.cookie(r, "flash")
	if raw == "" {
		return nil
	}
	u.setCookie(w, "flash", "", -1)
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil {
		return nil
	}
	v, err := url.ParseQuery(string(b))
	if err != nil || v.Get("m") == "" {
		return nil
	}
	f := &flash{Kind: v.Get("k"), Message: v.Get("m"), UndoURL: safeNext(v.Get("u"))}
	if f.UndoURL == "/" {
		f.UndoURL = ""
	}
	if f.Kind != "error" {
		f.Kind = "ok"
	}
	return f
}

// requireUser authenticates the request from its cookies, renewing the
// access token with the refresh token when needed, or sends the browser to
// the login page. State-changing requests must carry the CSRF token.
func (u *UI) requireUser(next pageHandler) http.HandlerFunc {
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
			target := "/login"
			if r.Method == http.MethodGet {
				target += "?next=" + url.QueryEscape(r.URL.RequestURI())
			}
			if r.Header.Get("HX-Request") == "true" {
				// htmx would swap the login page into a fragment: reload instead.
				w.Header().Set("HX-Redirect", target)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		httpserver.RequestInfo(r.Context()).UserID = p.UserID
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if isMultipart(r) {
				// Uploads: parsed here (files beyond 1 MiB spill to temporary
				// files) so that the token can be checked before anything
				// else; the limit is the document limit plus the form.
				r.Body = http.MaxBytesReader(w, r.Body, u.maxUpload()+maxFormBytes)
				if err := r.ParseMultipartForm(1 << 20); err != nil {
					var tooBig *http.MaxBytesError
					if errors.As(err, &tooBig) {
						u.errorPage(w, r, p, http.StatusRequestEntityTooLarge, "error.too_large")
						return
					}
					u.errorPage(w, r, p, http.StatusBadRequest, "error.bad_form")
					return
				}
				defer r.MultipartForm.RemoveAll() //nolint:errcheck
			} else {
				r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			}
			if !u.checkCSRF(r) {
				// A page left open across a new login elsewhere, or a forged
				// post: nothing is changed; the error page, in the user's
				// language, carries a fresh token for the next try.
				u.errorPage(w, r, p, http.StatusForbidden, "error.csrf")
				return
			}
		}
		next(w, r, p)
	}
}

func isMultipart(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data")
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
