package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	dto "github.com/prometheus/client_model/go"

	"github.com/rpcrm/rpcrm/auth"
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

// serverOptions configures newServer; the zero value gives generous limits,
// no trusted proxies and a 64 KiB body limit.
type serverOptions struct {
	Trust                       string // proxy.ParseTrust list
	MaxBodyBytes                int64
	LoginPerIP, LoginPerAccount *ratelimit.Window
	HashConcurrency             int
	Auth                        auth.Service // default: the fixture's AuthService
}

// testServer is the real handler chain (httpserver.Server around the API and
// the web UI, as serve.go wires it) on an httptest server.
type testServer struct {
	*httptest.Server
	Env     *testfix.Env
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

func newServer(t *testing.T, e *testfix.Env, o serverOptions) *testServer {
	t.Helper()
	if o.LoginPerIP == nil {
		o.LoginPerIP = ratelimit.NewWindow(10_000, time.Minute)
	}
	if o.LoginPerAccount == nil {
		o.LoginPerAccount = ratelimit.NewWindow(10_000, 15*time.Minute)
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = 64 << 10
	}
	if o.Auth == nil {
		o.Auth = e.Auth
	}
	trust, err := proxy.ParseTrust(o.Trust)
	if err != nil {
		t.Fatal(err)
	}
	metricsAllow, err := proxy.ParseTrust("127.0.0.0/8, ::1")
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m := metrics.New()
	// One login gate for API and UI, as serve.go wires it.
	gate := httpserver.NewLoginGate(o.LoginPerIP, o.LoginPerAccount, m, log, o.HashConcurrency)
	api := &httpapi.API{
		Auth: o.Auth, Audit: &postgres.AuditService{DB: e.DB}, CRM: m.CountCreations(&postgres.CRMService{DB: e.DB}), Log: log, Metrics: m,
		MaxBodyBytes: o.MaxBodyBytes, Gate: gate,
	}
	ui := &web.UI{Auth: o.Auth, Gate: gate, Log: log, RefreshTTL: 24 * time.Hour}
	srv := &httpserver.Server{
		Log: log, Metrics: m, Tenants: tenant.NewRegistry(e.Tenants), Trust: trust, MetricsAllow: metricsAllow,
		Ready: func(ctx context.Context) error { return e.DB.Pool.Ping(ctx) },
		API:   api.Handler(),
		Web:   ui.Handler(),
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	s := &testServer{Server: ts, Env: e, Metrics: m, logs: logs}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return s
}

// request is one HTTP request to the test server.
type request struct {
	Method string
	Path   string
	Host   string // default alpha.test
	Token  string // sent as "Authorization: Bearer <Token>" unless empty
	// Body: nil sends none, a string or []byte is sent as is, anything else as JSON.
	Body any
	// ContentType defaults to application/json when there is a body; "-" sends none.
	ContentType string
	Header      map[string]string
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (s *testServer) do(t *testing.T, r request) *response {
	t.Helper()
	res, err := s.send(r)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// send is do for goroutines other than the test's own: it reports errors
// instead of failing the test.
func (s *testServer) send(r request) (*response, error) {
	var body io.Reader
	switch b := r.Body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(j)
	}
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequest(method, s.URL+r.Path, body)
	if err != nil {
		return nil, err
	}
	req.Host = "alpha.test"
	if r.Host != "" {
		req.Host = r.Host
	}
	if body != nil {
		switch r.ContentType {
		case "":
			req.Header.Set("Content-Type", "application/json")
		case "-":
		default:
			req.Header.Set("Content-Type", r.ContentType)
		}
	}
	if r.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.Token)
	}
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	res, err := s.Client().Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, r.Path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	return &response{Status: res.StatusCode, Header: res.Header, Body: b}, nil
}

// decode unmarshals the body into v.
func (r *response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, r.Body)
	}
}

// object returns the body as a JSON object.
func (r *response) object(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	r.decode(t, &m)
	return m
}

type problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	Instance  string `json:"instance"`
	Code      string `json:"code"`
	RequestID string `json:"request_id"`
	Errors    []struct {
		Field   string `json:"field"`
		Pointer string `json:"pointer"`
		Detail  string `json:"detail"`
	} `json:"errors"`
}

func (p problem) fields() []string {
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Field)
	}
	return out
}

// problem checks that the response is a well-formed RFC 9457 document whose
// status and request ID agree with the HTTP response, and returns it.
func (r *response) problem(t *testing.T) problem {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json; body: %s", ct, r.Body)
	}
	var p problem
	r.decode(t, &p)
	if p.Status != r.Status {
		t.Errorf("problem status %d != HTTP status %d", p.Status, r.Status)
	}
	if p.Type == "" || p.Title == "" {
		t.Errorf("problem without type or title: %s", r.Body)
	}
	if p.RequestID == "" || p.RequestID != r.Header.Get("X-Request-ID") {
		t.Errorf("problem request_id %q, X-Request-ID %q", p.RequestID, r.Header.Get("X-Request-ID"))
	}
	return p
}

// scenario is one table-driven API test case in the style of pocketbase's
// tests.ApiScenario: a request and what the answer must and must not contain.
type scenario struct {
	Name string
	request
	ExpectedStatus int
	// ExpectedCode, if set, is the problem's code (the answer must be a problem).
	ExpectedCode string
	// ExpectedFields are field names the problem's errors must name.
	ExpectedFields     []string
	ExpectedContent    []string
	NotExpectedContent []string
	// ExpectedHeaders must be present with exactly this value; "*" means any non-empty value.
	ExpectedHeaders map[string]string
	After           func(t *testing.T, res *response)
}

func (sc scenario) run(t *testing.T, s *testServer) *response {
	t.Helper()
	res := s.do(t, sc.request)
	if res.Status != sc.ExpectedStatus {
		host := sc.Host
		if host == "" {
			host = "alpha.test"
		}
		t.Fatalf("%s %s on %s: status %d, want %d; body: %s", sc.Method, sc.Path, host, res.Status, sc.ExpectedStatus, res.Body)
	}
	if res.Status >= 400 && strings.HasPrefix(sc.Path, "/api/") {
		p := res.problem(t)
		if sc.ExpectedCode != "" && p.Code != sc.ExpectedCode {
			t.Errorf("problem code %q, want %q", p.Code, sc.ExpectedCode)
		}
		for _, f := range sc.ExpectedFields {
			if !slices.Contains(p.fields(), f) {
				t.Errorf("problem errors %v do not name %q; body: %s", p.fields(), f, res.Body)
			}
		}
	} else if sc.ExpectedCode != "" || len(sc.ExpectedFields) > 0 {
		t.Errorf("expected a problem, got %d: %s", res.Status, res.Body)
	}
	for _, c := range sc.ExpectedContent {
		if !bytes.Contains(res.Body, []byte(c)) {
			t.Errorf("body lacks %q: %s", c, res.Body)
		}
	}
	for _, c := range sc.NotExpectedContent {
		if bytes.Contains(res.Body, []byte(c)) {
			t.Errorf("body contains %q: %s", c, res.Body)
		}
	}
	for k, v := range sc.ExpectedHeaders {
		got := res.Header.Get(k)
		if v == "*" && got == "" || v != "*" && got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if sc.After != nil {
		sc.After(t, res)
	}
	return res
}

func runScenarios(t *testing.T, s *testServer, scenarios []scenario) {
	t.Helper()
	for _, sc := range scenarios {
		name := sc.Name
		if name == "" {
			name = sc.Method + " " + sc.Path
		}
		t.Run(name, func(t *testing.T) { sc.run(t, s) })
	}
}

// login logs in over HTTP and fails the test unless it succeeds.
func (s *testServer) login(t *testing.T, host, email, password string) tokenPair {
	t.Helper()
	res := s.do(t, request{Method: "POST", Path: "/api/v1/auth/login", Host: host,
		Body: map[string]string{"email": email, "password": password}})
	if res.Status != http.StatusOK {
		t.Fatalf("login %s on %s: %d %s", email, host, res.Status, res.Body)
	}
	var p tokenPair
	res.decode(t, &p)
	return p
}

type tokenPair struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
}

// customRole creates a role with exactly the given permissions in tenant slug.
func customRole(t *testing.T, e *testfix.Env, slug, name string, perms ...string) *auth.Role {
	t.Helper()
	if perms == nil {
		perms = []string{}
	}
	r, err := e.Auth.CreateRole(context.Background(), e.System(t, slug),
		auth.RoleInput{Name: name, Permissions: perms}, auth.LoginMeta{})
	if err != nil {
		t.Fatalf("create role %s: %v", name, err)
	}
	return r
}

// userWithRoles creates a user holding the given roles (by ID).
func userWithRoles(t *testing.T, e *testfix.Env, slug, email string, roles ...uuid.UUID) *auth.User {
	t.Helper()
	u, err := e.Auth.CreateUser(context.Background(), e.System(t, slug),
		auth.NewUser{Email: email, Name: "Test " + email, Password: testfix.Password, RoleIDs: roles}, auth.LoginMeta{})
	if err != nil {
		t.Fatalf("create user %s: %v", email, err)
	}
	return u
}

// counterValue reads a counter from the registry; 0 if the series does not exist.
func counterValue(t *testing.T, m *metrics.Metrics, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, metric := range f.GetMetric() {
			if labelsMatch(metric.GetLabel(), labels) {
				return metric.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func labelsMatch(have []*dto.LabelPair, want map[string]string) bool {
	n := 0
	for _, l := range have {
		if v, ok := want[l.GetName()]; ok {
			if v != l.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(want)
}

// auditEntries lists audit entries of the admin's tenant over the API.
func (s *testServer) auditEntries(t *testing.T, host, adminToken, query string) []map[string]any {
	t.Helper()
	res := s.do(t, request{Path: "/api/v1/audit-log?" + query, Host: host, Token: adminToken})
	if res.Status != http.StatusOK {
		t.Fatalf("audit log: %d %s", res.Status, res.Body)
	}
	var out struct {
		Items []map[string]any `json:"items"`
	}
	res.decode(t, &out)
	return out.Items
}
