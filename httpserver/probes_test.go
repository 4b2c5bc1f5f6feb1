package httpserver_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm/internal/testfix"
	"github.com/rpcrm/rpcrm/metrics"
)

var errNotReady = errors.New("database password=hunter2 unreachable")

func TestHealthz(t *testing.T) {
	t.Parallel()
	// Nothing is ready and no host is known to this server: liveness does not care.
	s := newServer(t, options{Ready: func(context.Context) error { return errNotReady }})
	for _, host := range []string{"alpha.test", "unknown.test", "10.0.0.1:8080", "gamma.test", "[::1]:8080"} {
		t.Run(host, func(t *testing.T) {
			res := s.do(t, request{Path: "/healthz", Host: host})
			if res.Status != http.StatusOK || res.Body != "ok\n" {
				t.Fatalf("healthz: %d %q", res.Status, res.Body)
			}
			if res.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q", res.Header.Get("Cache-Control"))
			}
		})
	}
}

func TestReadyz(t *testing.T) {
	t.Parallel()
	deadlines := make(chan time.Duration, 1)
	cases := []struct {
		name   string
		ready  func(context.Context) error
		status int
		body   string
	}{
		{"no check configured", nil, 200, "ready\n"},
		{"check passes", func(ctx context.Context) error {
			d, ok := ctx.Deadline()
			if !ok {
				d = time.Now().Add(time.Hour)
			}
			deadlines <- time.Until(d)
			return nil
		}, 200, "ready\n"},
		{"check fails", func(context.Context) error { return errNotReady }, 503, "not ready\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newServer(t, options{Ready: c.ready})
			res := s.do(t, request{Path: "/readyz", Host: "unknown.test"})
			if res.Status != c.status || res.Body != c.body {
				t.Fatalf("readyz: %d %q, want %d %q", res.Status, res.Body, c.status, c.body)
			}
			if strings.Contains(res.Body, "hunter2") {
				t.Errorf("readyz shows the error: %q", res.Body)
			}
			if c.status == 503 && !strings.Contains(s.logs.String(), "hunter2") {
				t.Errorf("the reason is not logged:\n%s", s.logs.String())
			}
		})
	}
	// The check gets a bounded time so that a hung database cannot hang probes.
	select {
	case d := <-deadlines:
		if d <= 0 || d > 5*time.Second {
			t.Errorf("readiness check deadline %v away, want a few seconds", d)
		}
	default:
		t.Error("readiness check was not called")
	}
}

func TestReadyzWithDatabase(t *testing.T) {
	t.Parallel()
	e := testfix.New(t)
	s := newServer(t, options{Env: e, Ready: func(ctx context.Context) error { return e.DB.Pool.Ping(ctx) }})
	if res := s.do(t, request{Path: "/readyz", Host: "10.0.0.1"}); res.Status != http.StatusOK {
		t.Fatalf("readyz: %d %s", res.Status, res.Body)
	}
	e.DB.Close()
	if res := s.do(t, request{Path: "/readyz", Host: "10.0.0.1"}); res.Status != http.StatusServiceUnavailable {
		t.Fatalf("readyz with the database closed: %d %s", res.Status, res.Body)
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	e := testfix.New(t)
	s := newServer(t, options{Env: e})
	s.Metrics.RegisterPool(func() metrics.PoolStats {
		st := e.DB.Pool.Stat()
		return metrics.PoolStats{Acquired: st.AcquiredConns(), Idle: st.IdleConns(), Total: st.TotalConns(), Max: st.MaxConns(),
			AcquireCount: st.AcquireCount(), AcquireWaitSeconds: st.AcquireDuration().Seconds(), EmptyAcquireCount: st.EmptyAcquireCount()}
	})
	e.CreateUser(t, "alpha", "anna@alpha.test", "admin")

	res := s.do(t, request{Method: "POST", Path: "/api/v1/auth/login",
		Body: `{"email":"anna@alpha.test","password":"` + testfix.Password + `"}`})
	if res.Status != http.StatusOK {
		t.Fatalf("login: %d %s", res.Status, res.Body)
	}
	token := res.Body[strings.Index(res.Body, `"access_token":"`)+16:]
	token = token[:strings.IndexByte(token, '"')]
	id := uuid.NewString()
	if res := s.do(t, request{Path: "/api/v1/users/" + id, Header: map[string]string{"Authorization": "Bearer " + token}}); res.Status != http.StatusNotFound {
		t.Fatalf("get unknown user: %d %s", res.Status, res.Body)
	}
	s.do(t, request{Path: "/", Host: "unknown.test"})
	s.do(t, request{Path: "/login"})

	// Scraped by IP, as Prometheus does: the Host names no tenant.
	res = s.do(t, request{Path: "/metrics", Host: "127.0.0.1:" + strings.Split(s.URL, ":")[2]})
	if res.Status != http.StatusOK {
		t.Fatalf("metrics: %d %s", res.Status, res.Body)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type = %q", ct)
	}
	for _, want := range []string{
		`rpcrm_http_requests_total{method="POST",route="POST /api/v1/auth/login",status="200"} 1`,
		`rpcrm_http_requests_total{method="GET",route="GET /api/v1/users/{id}",status="404"} 1`,
		`rpcrm_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`rpcrm_http_requests_total{method="GET",route="GET /login",status="200"} 1`,
		`rpcrm_http_request_duration_seconds_bucket{method="POST",route="POST /api/v1/auth/login",le=`,
		`rpcrm_http_request_duration_seconds_count{method="POST",route="POST /api/v1/auth/login"} 1`,
		`rpcrm_http_requests_in_flight 1`, // this scrape
		`rpcrm_logins_total{outcome="success",tenant="alpha"} 1`,
		`rpcrm_db_pool_max_connections 8`,
		`rpcrm_db_pool_acquires_total `,
		`go_goroutines `,
	} {
		if !strings.Contains(res.Body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// Route labels are patterns: no IDs, no tenant hosts.
	if strings.Contains(res.Body, id) || strings.Contains(res.Body, "alpha.test") {
		t.Errorf("metrics contain a concrete path or host")
	}
}

func TestMetricsAccess(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name         string
		trust, allow string
		xff          string
		want         int
	}{
		{"loopback", "", "127.0.0.0/8, ::1", "", 200},
		{"client outside the allowed networks", "", "10.0.0.0/8", "", 404},
		{"untrusted peer claiming an allowed address", "", "10.0.0.0/8", "10.1.2.3", 404},
		{"trusted proxy forwarding an outside client", "127.0.0.1", "127.0.0.0/8, ::1", "203.0.113.9", 404},
		{"trusted proxy forwarding an allowed client", "127.0.0.1", "10.0.0.0/8", "10.1.2.3", 200},
		{"nobody allowed", "", "", "", 404},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			allow := c.allow
			if allow == "" {
				allow = " " // an empty list: options treats "" as the default
			}
			s := newServer(t, options{Trust: c.trust, MetricsAllow: allow})
			h := map[string]string{}
			if c.xff != "" {
				h["X-Forwarded-For"] = c.xff
			}
			res := s.do(t, request{Path: "/metrics", Host: "unknown.test", Header: h})
			if res.Status != c.want {
				t.Fatalf("status %d, want %d", res.Status, c.want)
			}
			if c.want == 404 && strings.Contains(res.Body, "rpcrm_") {
				t.Errorf("refused scrape shows metrics: %s", res.Body)
			}
			if c.want == 200 && !strings.Contains(res.Body, "rpcrm_http_requests_in_flight 1") {
				t.Errorf("metrics lack rpcrm_http_requests_in_flight")
			}
		})
	}
}
