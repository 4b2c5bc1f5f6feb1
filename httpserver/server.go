package httpserver

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rpcrm/rpcrm/metrics"
	"github.com/rpcrm/rpcrm/proxy"
	"github.com/rpcrm/rpcrm/tenant"
)

// Server is RP CRM's HTTP server: one port for API and UI of all tenants.
type Server struct {
	Log     *slog.Logger
	Metrics *metrics.Metrics
	Tenants *tenant.Registry
	// Trust says whose X-Forwarded-* headers to believe.
	Trust proxy.Trust
	// MetricsAllow is the set of client networks that may read /metrics.
	MetricsAllow proxy.Trust
	// Ready reports whether the server can serve (database reachable, schema current).
	Ready func(context.Context) error
	// API serves /api/ and Web everything else, both for the resolved tenant.
	API, Web http.Handler

	ReadTimeout, WriteTimeout, IdleTimeout, ShutdownTimeout time.Duration
}

// Handler returns the complete handler chain.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	// Health, readiness and metrics answer whatever the Host header says:
	// probes and scrapers address the server by IP.
	mux.Handle("GET /healthz", route("GET /healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Write([]byte("ok\n")) //nolint:errcheck
	})))
	mux.Handle("GET /readyz", route("GET /readyz", http.HandlerFunc(s.readyz)))
	metricsHandler := promhttp.HandlerFor(s.Metrics.Registry, promhttp.HandlerOpts{})
	mux.Handle("GET /metrics", route("GET /metrics", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.MetricsAllow.Contains(RequestInfo(r.Context()).ClientIP) {
			refuse(w, r, http.StatusNotFound, "unknown-host", "Nicht gefunden", "Unter dieser Adresse gibt es nichts.")
			return
		}
		metricsHandler.ServeHTTP(w, r)
	})))
	tenantMux := http.NewServeMux()
	if s.API != nil {
		tenantMux.Handle("/api/", s.API)
	}
	if s.Web != nil {
		tenantMux.Handle("/", s.Web)
	}
	mux.Handle("/", resolveTenant(s.Tenants, s.Trust, tenantMux))
	return observe(s.Log, s.Metrics, s.Trust, securityHeaders(mux))
}

// route records the matched pattern for logs and metrics.
func route(pattern string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		RequestInfo(r.Context()).Route = pattern
		h.ServeHTTP(w, r)
	})
}

// Route wraps h so that logs and metrics name the route by pattern; the API
// and UI use it for every route they register.
func Route(pattern string, h http.Handler) http.Handler { return route(pattern, h) }

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if s.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if err := s.Ready(ctx); err != nil {
			s.Log.WarnContext(r.Context(), "not ready", "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("not ready\n")) //nolint:errcheck
			return
		}
	}
	w.Write([]byte("ready\n")) //nolint:errcheck
}

// Serve serves on ln until ctx is cancelled, then shuts down gracefully:
// it stops accepting, lets requests in flight finish (up to
// ShutdownTimeout) and returns nil if they all did.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       s.ReadTimeout,
		WriteTimeout:      s.WriteTimeout,
		IdleTimeout:       s.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.Log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	timeout := s.ShutdownTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	s.Log.Info("shutting down", "timeout", timeout)
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	if err != nil {
		return err
	}
	s.Log.Info("stopped")
	return nil
}

// peerAddr is the address of the direct peer, without port.
func peerAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		a, _ := netip.ParseAddr(r.RemoteAddr)
		return a.Unmap()
	}
	return ap.Addr().Unmap()
}
