package httpserver_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/rpcrm/rpcrm/internal/testfix"
)

func checkSecurityHeaders(t *testing.T, res *response) {
	t.Helper()
	csp := res.Header.Get("Content-Security-Policy")
	switch {
	case csp == "":
		t.Errorf("no Content-Security-Policy")
	case strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval"):
		t.Errorf("Content-Security-Policy allows inline code: %s", csp)
	case !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") ||
		!strings.Contains(csp, "object-src 'none'"):
		t.Errorf("Content-Security-Policy too loose: %s", csp)
	}
	for h, want := range map[string]string{
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
		"Referrer-Policy":        "same-origin",
	} {
		if got := res.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(res.Header.Get("X-Request-ID")) {
		t.Errorf("X-Request-ID = %q, want 16 hex digits", res.Header.Get("X-Request-ID"))
	}
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	e := testfix.New(t)
	real := newServer(t, options{Env: e})
	stub := newServer(t, options{})
	failing := newServer(t, options{Ready: func(context.Context) error { return errNotReady }})

	cases := []struct {
		name   string
		s      *testServer
		r      request
		status int
	}{
		{"login page", real, request{Path: "/login"}, 200},
		{"static file", real, request{Path: "/static/app.css"}, 200},
		{"redirect to login", real, request{Path: "/"}, 303},
		{"unknown web path", real, request{Path: "/nope"}, 404},
		{"API without token", real, request{Path: "/api/v1/me"}, 401},
		{"API bad input", real, request{Method: "POST", Path: "/api/v1/auth/login", Body: "{}"}, 422},
		{"unknown API path", real, request{Path: "/api/v1/nope"}, 404},
		{"unknown host", real, request{Path: "/", Host: "unknown.test"}, 404},
		{"suspended tenant", real, request{Path: "/api/v1/me", Host: "gamma.test"}, 403},
		{"healthz", real, request{Path: "/healthz", Host: "10.0.0.1"}, 200},
		{"readyz", real, request{Path: "/readyz"}, 200},
		{"readyz failing", failing, request{Path: "/readyz"}, 503},
		{"metrics", real, request{Path: "/metrics"}, 200},
		{"panic", stub, request{Path: "/api/v1/panic"}, 500},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := c.s.do(t, c.r)
			if res.Status != c.status {
				t.Fatalf("status %d, want %d: %s", res.Status, c.status, res.Body)
			}
			checkSecurityHeaders(t, res)
			if h := res.Header.Get("Strict-Transport-Security"); h != "" {
				t.Errorf("HSTS over plain HTTP from an untrusted peer: %q", h)
			}
		})
	}
}

func TestHSTS(t *testing.T) {
	t.Parallel()
	untrusted := newServer(t, options{})
	trusted := newServer(t, options{Trust: "127.0.0.1"})
	cases := []struct {
		name  string
		s     *testServer
		proto string
		want  bool
	}{
		{"trusted proxy says https", trusted, "https", true},
		{"trusted proxy says HTTPS", trusted, "HTTPS", true},
		{"trusted proxy, last value counts", trusted, "http, https", true},
		{"trusted proxy says http", trusted, "http", false},
		{"trusted proxy says nothing", trusted, "", false},
		{"untrusted peer says https", untrusted, "https", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := map[string]string{}
			if c.proto != "" {
				h["X-Forwarded-Proto"] = c.proto
			}
			for _, r := range []request{{Path: "/", Header: h}, {Path: "/api/v1/nope", Header: h}, {Path: "/", Host: "unknown.test", Header: h}} {
				res := c.s.do(t, r)
				hsts := res.Header.Get("Strict-Transport-Security")
				if c.want != (hsts != "") {
					t.Errorf("%s (host %s): Strict-Transport-Security = %q, want present: %v", r.Path, r.Host, hsts, c.want)
				}
				if c.want && !regexp.MustCompile(`max-age=([3-9][0-9]{7}|[0-9]{9,})`).MatchString(hsts) {
					t.Errorf("HSTS max-age under a year: %q", hsts)
				}
			}
		})
	}
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	untrusted := newServer(t, options{})
	trusted := newServer(t, options{Trust: "127.0.0.1"})
	long := strings.Repeat("a", 65)
	cases := []struct {
		name string
		s    *testServer
		in   string
		echo bool
	}{
		{"trusted proxy's ID is kept", trusted, "req-42_a.B", true},
		{"64 characters are fine", trusted, long[:64], true},
		{"too long", trusted, long, false},
		{"unsafe characters", trusted, "abc def", false},
		{"log injection", trusted, "abc\tlevel=ERROR", false},
		{"untrusted peer's ID is ignored", untrusted, "req-42", false},
		{"none sent", untrusted, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := map[string]string{}
			if c.in != "" {
				h["X-Request-ID"] = c.in
			}
			res := c.s.do(t, request{Path: "/api/v1/whoami", Header: h})
			got := res.Header.Get("X-Request-ID")
			if c.echo {
				if got != c.in {
					t.Errorf("X-Request-ID = %q, want %q echoed", got, c.in)
				}
			} else if got == c.in || !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(got) {
				t.Errorf("X-Request-ID = %q, want a fresh one", got)
			}
			// Handlers and logs see the same ID.
			if !strings.Contains(res.Body, `"request_id":"`+got+`"`) {
				t.Errorf("handler saw another request ID: %s", res.Body)
			}
			if !strings.Contains(c.s.logs.String(), "request_id="+got) {
				t.Errorf("request ID %s not in the log", got)
			}
		})
	}
	// Fresh IDs differ.
	a := untrusted.do(t, request{Path: "/healthz"}).Header.Get("X-Request-ID")
	b := untrusted.do(t, request{Path: "/healthz"}).Header.Get("X-Request-ID")
	if a == b {
		t.Errorf("two requests share the ID %s", a)
	}
}
