package httpserver_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/internal/testfix"
)

// tenantWords are what an answer to an unknown host must not reveal.
var tenantWords = []string{"alpha", "beta", "gamma", "Alpha AG", "Beta GmbH", "Gamma SA"}

func TestTenantResolution(t *testing.T) {
	t.Parallel()
	e := testfix.New(t)
	s := newServer(t, options{Env: e})

	t.Run("unknown host", func(t *testing.T) {
		hosts := []string{"unknown.test", "127.0.0.1", "alpha", "evil.alpha.test", "alpha.test.evil.example", "alpha.test..", "xn--alpha.test"}
		for _, host := range hosts {
			for _, path := range []string{"/api/v1/me", "/api/v1/auth/login", "/", "/login", "/static/app.css"} {
				t.Run(host+path, func(t *testing.T) {
					method := http.MethodGet
					body := ""
					if strings.HasSuffix(path, "/login") && strings.HasPrefix(path, "/api/") {
						method = http.MethodPost
						body = `{"email":"anna@alpha.test","password":"x"}`
					}
					res := s.do(t, request{Method: method, Path: path, Host: host, Body: body})
					if res.Status != http.StatusNotFound {
						t.Fatalf("status %d, want 404: %s", res.Status, res.Body)
					}
					if strings.HasPrefix(path, "/api/") {
						if p := res.problem(t); !strings.HasSuffix(p.Type, "unknown-host") {
							t.Errorf("problem type %q", p.Type)
						}
					} else {
						res.html(t)
					}
					for _, w := range tenantWords {
						if strings.Contains(strings.ToLower(res.Body), strings.ToLower(w)) {
							t.Errorf("body names %q: %s", w, res.Body)
						}
					}
					if res.Header.Get("Set-Cookie") != "" || res.Header.Get("Location") != "" {
						t.Errorf("unknown host got a cookie or a redirect: %v", res.Header)
					}
				})
			}
		}
	})

	t.Run("unknown host asking for JSON", func(t *testing.T) {
		res := s.do(t, request{Path: "/", Host: "unknown.test", Header: map[string]string{"Accept": "application/json"}})
		if res.Status != http.StatusNotFound {
			t.Fatalf("status %d", res.Status)
		}
		res.problem(t)
	})

	t.Run("unknown host page in the browser's language", func(t *testing.T) {
		for lang, want := range map[string]string{
			"":                        `<html lang="de"><head><meta charset="utf-8"><title>Nicht gefunden</title>`,
			"de-CH,de;q=0.9":          `<html lang="de"><head><meta charset="utf-8"><title>Nicht gefunden</title>`,
			"en-GB,en;q=0.9":          `<html lang="en"><head><meta charset="utf-8"><title>Not found</title>`,
			"fr-CH,en;q=0.8,de;q=0.5": `<html lang="en">`,
		} {
			res := s.do(t, request{Path: "/login", Host: "unknown.test", Header: map[string]string{"Accept-Language": lang}})
			if res.Status != http.StatusNotFound || !strings.Contains(res.Body, want) {
				t.Errorf("Accept-Language %q: %d %s, want %s", lang, res.Status, res.Body, want)
			}
		}
	})

	t.Run("host matching ignores case, port and trailing dot", func(t *testing.T) {
		for host, name := range map[string]string{
			"alpha.test":       "Alpha AG",
			"ALPHA.test.:8080": "Alpha AG",
			"Alpha.Test.":      "Alpha AG",
			"alpha.test:443":   "Alpha AG",
			"WWW.alpha.TEST":   "Alpha AG",
			"beta.test:80":     "Beta GmbH",
		} {
			t.Run(host, func(t *testing.T) {
				res := s.do(t, request{Path: "/login", Host: host})
				if res.Status != http.StatusOK {
					t.Fatalf("login page: %d %s", res.Status, res.Body)
				}
				if !strings.Contains(res.Body, name) {
					t.Errorf("login page does not show %q", name)
				}
				// The API on the same host knows the tenant: no token is a 401, not a 404.
				if res := s.do(t, request{Path: "/api/v1/me", Host: host}); res.Status != http.StatusUnauthorized {
					t.Errorf("/api/v1/me: %d, want 401", res.Status)
				}
			})
		}
	})

	t.Run("suspended tenant", func(t *testing.T) {
		e.CreateUser(t, "gamma", "gina@gamma.test", "admin")
		// A token issued for the suspended tenant (e.g. before it was
		// suspended) is no way in either.
		var token string
		if pair, err := e.Auth.Login(context.Background(), e.Ref(t, "gamma"), "gina@gamma.test", testfix.Password, auth.LoginMeta{}); err == nil {
			token = pair.AccessToken
		}
		requests := []request{
			{Path: "/api/v1/me"},
			{Path: "/api/v1/me", Header: map[string]string{"Authorization": "Bearer " + token}},
			{Method: http.MethodPost, Path: "/api/v1/auth/login", Body: `{"email":"gina@gamma.test","password":"` + testfix.Password + `"}`},
			{Method: http.MethodPost, Path: "/api/v1/auth/refresh", Body: `{"refresh_token":"rt_x"}`},
			{Path: "/api/v1/nope"},
		}
		for _, r := range requests {
			r.Host = "GAMMA.test:8443"
			res := s.do(t, r)
			if res.Status != http.StatusForbidden {
				t.Fatalf("%s %s: %d, want 403: %s", r.Method, r.Path, res.Status, res.Body)
			}
			if p := res.problem(t); !strings.HasSuffix(p.Type, "tenant-suspended") {
				t.Errorf("problem type %q, want …/tenant-suspended", p.Type)
			}
			if strings.Contains(res.Body, "access_token") || res.Header.Get("Set-Cookie") != "" {
				t.Fatalf("suspended tenant issued credentials: %v %s", res.Header, res.Body)
			}
		}
		for _, r := range []request{
			{Path: "/"},
			{Path: "/login"},
			{Method: http.MethodPost, Path: "/login", Body: "email=gina%40gamma.test&password=x",
				Header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}},
		} {
			r.Host = "gamma.test"
			res := s.do(t, r)
			if res.Status != http.StatusForbidden {
				t.Fatalf("%s %s: %d, want 403: %s", r.Method, r.Path, res.Status, res.Body)
			}
			res.html(t)
			if res.Header.Get("Set-Cookie") != "" {
				t.Errorf("suspended tenant set a cookie: %v", res.Header)
			}
		}
		// The login was refused before it was even attempted.
		if m := s.do(t, request{Path: "/metrics"}); strings.Contains(m.Body, `tenant="gamma"`) {
			t.Errorf("a login on the suspended tenant was attempted:\n%s", m.Body)
		}
	})
}

func TestForwardedHost(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		trust      string
		host, xfh  string
		wantStatus int
		wantTenant string
	}{
		{"untrusted peer cannot pick a tenant", "", "unknown.test", "alpha.test", 404, ""},
		{"untrusted peer cannot switch tenant", "", "alpha.test", "beta.test", 200, "alpha"},
		{"trusted proxy names the tenant", "127.0.0.1", "unknown.test", "alpha.test", 200, "alpha"},
		{"trusted proxy: its value wins over Host", "127.0.0.1", "alpha.test", "unknown.test", 404, ""},
		{"trusted proxy: last value counts", "127.0.0.1", "unknown.test", "alpha.test, beta.test:443", 200, "beta"},
		{"trusted proxy without the header: Host", "127.0.0.0/8", "beta.test", "", 200, "beta"},
		{"trusted proxy to a suspended tenant", "127.0.0.1", "alpha.test", "gamma.test", 403, ""},
	}
	servers := map[string]*testServer{}
	for _, c := range cases {
		if servers[c.trust] == nil {
			servers[c.trust] = newServer(t, options{Trust: c.trust})
		}
		s := servers[c.trust]
		t.Run(c.name, func(t *testing.T) {
			h := map[string]string{}
			if c.xfh != "" {
				h["X-Forwarded-Host"] = c.xfh
			}
			res := s.do(t, request{Path: "/api/v1/whoami", Host: c.host, Header: h})
			if res.Status != c.wantStatus {
				t.Fatalf("status %d, want %d: %s", res.Status, c.wantStatus, res.Body)
			}
			if c.wantTenant != "" && !strings.Contains(res.Body, `"tenant":"`+c.wantTenant+`"`) {
				t.Errorf("resolved to the wrong tenant: %s", res.Body)
			}
		})
	}
}
