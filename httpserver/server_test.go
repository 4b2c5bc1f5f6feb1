package httpserver_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rpcrm/rpcrm/httpserver"
	"github.com/rpcrm/rpcrm/metrics"
	"github.com/rpcrm/rpcrm/tenant"
)

// blockingAPI answers once released; entered is closed when the first
// request arrives, and ctxErr receives the request context's error at release.
type blockingAPI struct {
	once    sync.Once
	entered chan struct{}
	release chan struct{}
	ctxErr  chan error
}

func newBlockingAPI() *blockingAPI {
	return &blockingAPI{entered: make(chan struct{}), release: make(chan struct{}), ctxErr: make(chan error, 1)}
}

func (b *blockingAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.once.Do(func() { close(b.entered) })
	<-b.release
	select {
	case b.ctxErr <- r.Context().Err():
	default:
	}
	w.Header().Set("Content-Type", "text/plain")
	io.WriteString(w, "done") //nolint:errcheck
}

type result struct {
	status int
	body   string
	err    error
}

// startServe runs srv.Serve on a loopback port and returns its address and
// the channel Serve's result arrives on.
func startServe(t *testing.T, ctx context.Context, srv *httpserver.Server) (string, <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	return ln.Addr().String(), served
}

// get sends one request in the background.
func get(addr, path string) <-chan result {
	out := make(chan result, 1)
	go func() {
		req, err := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
		if err != nil {
			out <- result{err: err}
			return
		}
		req.Host = "alpha.test"
		client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{}}
		res, err := client.Do(req)
		if err != nil {
			out <- result{err: err}
			return
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		out <- result{status: res.StatusCode, body: string(b), err: err}
	}()
	return out
}

func waitFor[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(20 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
	panic("unreachable")
}

func newServeServer(t *testing.T, api http.Handler, shutdownTimeout time.Duration) *httpserver.Server {
	return &httpserver.Server{
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: metrics.New(),
		Tenants: tenant.NewRegistry(fixtureTenants(t)), API: api, Web: stubWeb(),
		ShutdownTimeout: shutdownTimeout,
	}
}

func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	api := newBlockingAPI()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, served := startServe(t, ctx, newServeServer(t, api, 20*time.Second))

	// The server answers before the shutdown.
	if r := waitFor(t, "health check", get(addr, "/healthz")); r.err != nil || r.status != 200 {
		t.Fatalf("healthz before shutdown: %+v", r)
	}
	inFlight := get(addr, "/api/v1/slow")
	waitFor(t, "the request to reach the handler", api.entered)

	cancel()
	// New connections are refused soon, while the request is still running.
	deadline := time.Now().Add(5 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("the server still accepts connections 5 s after the shutdown began")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-served:
		t.Fatalf("Serve returned %v while a request was in flight", err)
	case r := <-inFlight:
		t.Fatalf("the in-flight request ended before it was released: %+v", r)
	case <-time.After(100 * time.Millisecond):
	}

	close(api.release)
	r := waitFor(t, "the in-flight request", inFlight)
	if r.err != nil || r.status != http.StatusOK || r.body != "done" {
		t.Fatalf("in-flight request: %+v", r)
	}
	if err := waitFor(t, "the request's context error", api.ctxErr); err != nil {
		t.Errorf("the in-flight request's context was cancelled by the shutdown: %v", err)
	}
	if err := waitFor(t, "Serve to return", served); err != nil {
		t.Errorf("Serve = %v, want nil", err)
	}
}

func TestShutdownTimeout(t *testing.T) {
	t.Parallel()
	api := newBlockingAPI()
	defer close(api.release)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, served := startServe(t, ctx, newServeServer(t, api, 300*time.Millisecond))
	get(addr, "/api/v1/stuck")
	waitFor(t, "the request to reach the handler", api.entered)
	start := time.Now()
	cancel()
	err := waitFor(t, "Serve to return", served)
	if err == nil {
		t.Fatal("Serve = nil although a request outlived ShutdownTimeout")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Serve = %v, want the deadline error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Serve took %v to give up, ShutdownTimeout is 300ms", d)
	}
}

func TestPanicRecovery(t *testing.T) {
	t.Parallel()
	s := newServer(t, options{})

	res := s.do(t, request{Path: "/api/v1/panic"})
	if res.Status != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500: %s", res.Status, res.Body)
	}
	p := res.problem(t)
	if !strings.HasSuffix(p.Type, "/internal") {
		t.Errorf("problem type %q", p.Type)
	}
	if strings.Contains(res.Body, "boom") || strings.Contains(res.Body, "secret") || strings.Contains(res.Body, "goroutine") {
		t.Errorf("the answer shows the panic: %s", res.Body)
	}
	checkSecurityHeaders(t, res)
	logs := s.logs.String()
	if !strings.Contains(logs, "boom: secret internal detail") || !strings.Contains(logs, "request_id="+p.RequestID) ||
		!strings.Contains(logs, "stack=") {
		t.Errorf("the panic is not logged with its request ID and stack:\n%s", logs)
	}

	// A panic after the answer started cannot change the status (aborting
	// the connection would be fine too), but must not take the server down.
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/api/v1/panic-after-write", nil)
	req.Host = "alpha.test"
	if res, err := s.Client().Do(req); err == nil {
		io.Copy(io.Discard, res.Body) //nolint:errcheck // an aborted body is fine here
		res.Body.Close()
		if res.StatusCode != http.StatusAccepted {
			t.Errorf("panic after write: %d", res.StatusCode)
		}
	}
	// http.ErrAbortHandler aborts the answer on purpose.
	req, _ = http.NewRequest(http.MethodGet, s.URL+"/api/v1/abort", nil)
	req.Host = "alpha.test"
	if res, err := s.Client().Do(req); err == nil {
		res.Body.Close()
		t.Errorf("aborted handler answered %d", res.StatusCode)
	}

	// Internal errors are problems without their detail.
	res = s.do(t, request{Path: "/api/v1/fail"})
	if res.Status != 500 || strings.Contains(res.Body, "hunter2") {
		t.Errorf("internal error: %d %s", res.Status, res.Body)
	}
	res.problem(t)

	// The server keeps serving, and the panics were counted as 500s.
	for range 3 {
		if res := s.do(t, request{Path: "/api/v1/whoami"}); res.Status != http.StatusOK {
			t.Fatalf("after the panics: %d %s", res.Status, res.Body)
		}
	}
	m := s.do(t, request{Path: "/metrics"})
	for _, want := range []string{
		`rpcrm_http_requests_total{method="GET",route="GET /api/v1/panic",status="500"} 1`,
		`rpcrm_http_requests_total{method="GET",route="GET /api/v1/whoami",status="200"} 3`,
		`rpcrm_http_requests_in_flight 1`, // only the scrape: the panics released their slot
	} {
		if !strings.Contains(m.Body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
