package httpserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/httpapi"
	"github.com/rpcrm/rpcrm/httpserver"
	"github.com/rpcrm/rpcrm/internal/testfix"
	"github.com/rpcrm/rpcrm/metrics"
	"github.com/rpcrm/rpcrm/pgtest"
	"github.com/rpcrm/rpcrm/postgres"
	"github.com/rpcrm/rpcrm/proxy"
	"github.com/rpcrm/rpcrm/ratelimit"
	"github.com/rpcrm/rpcrm/tenant"
	"github.com/rpcrm/rpcrm/web"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// options configures newServer.
type options struct {
	// Env, if set, serves the real API and UI on the fixture database, wired
	// as serve.go does. Without it the API is stubAPI and the UI stubWeb.
	Env          *testfix.Env
	Trust        string // proxy.ParseTrust list; default: trust nobody
	MetricsAllow string // default "127.0.0.0/8, ::1" as in the configuration
	Ready        func(context.Context) error
	API          http.Handler // overrides the API
}

type testServer struct {
	*httptest.Server
	Metrics *metrics.Metrics
	logs    *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func mustTrust(t *testing.T, list string) proxy.Trust {
	t.Helper()
	tr, err := proxy.ParseTrust(list)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func fixtureTenants(t *testing.T) *tenant.Set {
	t.Helper()
	set, err := tenant.Parse([]byte(testfix.TenantsJSON))
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// newHTTPServer builds the httpserver.Server; newServer runs its handler.
func newHTTPServer(t *testing.T, o options) (*httpserver.Server, *syncBuffer) {
	t.Helper()
	if o.MetricsAllow == "" {
		o.MetricsAllow = "127.0.0.0/8, ::1"
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m := metrics.New()
	srv := &httpserver.Server{
		Log: log, Metrics: m, Trust: mustTrust(t, o.Trust), MetricsAllow: mustTrust(t, o.MetricsAllow),
		Ready: o.Ready, API: o.API,
	}
	if o.Env != nil {
		e := o.Env
		srv.Tenants = tenant.NewRegistry(e.Tenants)
		gate := httpserver.NewLoginGate(ratelimit.NewWindow(1000, time.Minute), ratelimit.NewWindow(1000, 15*time.Minute), m, log, 0)
		if srv.API == nil {
			srv.API = (&httpapi.API{Auth: e.Auth, Audit: &postgres.AuditService{DB: e.DB}, CRM: &postgres.CRMService{DB: e.DB}, Log: log, Metrics: m,
				MaxBodyBytes: 1 << 20, Gate: gate}).Handler()
		}
		srv.Web = (&web.UI{Auth: e.Auth, Gate: gate, Log: log, RefreshTTL: 24 * time.Hour}).Handler()
	} else {
		srv.Tenants = tenant.NewRegistry(fixtureTenants(t))
		if srv.API == nil {
			srv.API = stubAPI()
		}
		srv.Web = stubWeb()
	}
	return srv, logs
}

func newServer(t *testing.T, o options) *testServer {
	t.Helper()
	srv, logs := newHTTPServer(t, o)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return &testServer{Server: ts, Metrics: srv.Metrics, logs: logs}
}

// stubAPI stands in for the JSON API where a test needs no database: it
// reports what the middleware resolved and misbehaves on request.
func stubAPI() http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, httpserver.Route(pattern, h)) }
	handle("GET /api/v1/whoami", func(w http.ResponseWriter, r *http.Request) {
		info := httpserver.RequestInfo(r.Context())
		httpserver.JSON(w, http.StatusOK, map[string]string{"tenant": info.Tenant.ID, "client_ip": info.ClientIP.String(),
			"scheme": info.Scheme, "request_id": info.RequestID})
	})
	handle("GET /api/v1/panic", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"7"`)
		panic("boom: secret internal detail")
	})
	handle("GET /api/v1/panic-after-write", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprint(w, "partial")
		panic("late boom")
	})
	handle("GET /api/v1/abort", func(w http.ResponseWriter, r *http.Request) {
		panic(http.ErrAbortHandler)
	})
	handle("GET /api/v1/fail", func(w http.ResponseWriter, r *http.Request) {
		httpserver.Error(w, r, nil, fmt.Errorf("database password=hunter2 unreachable"))
	})
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		httpserver.Error(w, r, nil, rpcrm.Errorf(rpcrm.ENOTFOUND, "Diese API-Adresse gibt es nicht."))
	})
	return mux
}

// stubWeb shows the resolved tenant's name on its start page.
func stubWeb() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", httpserver.Route("GET /", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><title>%s</title>", httpserver.Tenant(r.Context()).Name)
	})))
	return mux
}

type request struct {
	Method string
	Path   string
	Host   string // default alpha.test
	Header map[string]string
	Body   string
}

type response struct {
	Status int
	Header http.Header
	Body   string
}

func (s *testServer) do(t *testing.T, r request) *response {
	t.Helper()
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if r.Body != "" {
		body = strings.NewReader(r.Body)
	}
	req, err := http.NewRequest(method, s.URL+r.Path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "alpha.test"
	if r.Host != "" {
		req.Host = r.Host
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	client := &http.Client{
		Transport: s.Client().Transport,
		// Show redirects as they are.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, r.Path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &response{Status: res.StatusCode, Header: res.Header, Body: string(b)}
}

type problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	Code      string `json:"code"`
	RequestID string `json:"request_id"`
}

// problem checks that the answer is an RFC 9457 document agreeing with the
// HTTP status and request ID, and returns it.
func (r *response) problem(t *testing.T) problem {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json; body: %s", ct, r.Body)
	}
	var p problem
	if err := json.Unmarshal([]byte(r.Body), &p); err != nil {
		t.Fatalf("problem is not JSON: %v: %s", err, r.Body)
	}
	if p.Status != r.Status || p.Type == "" || p.Title == "" {
		t.Errorf("problem %+v for HTTP status %d", p, r.Status)
	}
	if p.RequestID == "" || p.RequestID != r.Header.Get("X-Request-ID") {
		t.Errorf("problem request_id %q, X-Request-ID %q", p.RequestID, r.Header.Get("X-Request-ID"))
	}
	return p
}

// html checks that the answer is an HTML page.
func (r *response) html(t *testing.T) {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("Content-Type = %q, want HTML; body: %s", ct, r.Body)
	}
	if !strings.Contains(strings.ToLower(r.Body), "<html") && !strings.Contains(strings.ToLower(r.Body), "<!doctype html") {
		t.Errorf("not an HTML page: %s", r.Body)
	}
}
