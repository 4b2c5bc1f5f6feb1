package httpserver

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm/metrics"
	"github.com/rpcrm/rpcrm/proxy"
	"github.com/rpcrm/rpcrm/tenant"
)

// statusWriter remembers the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// newRequestID returns 16 random hex characters.
func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// validRequestID accepts an upstream request ID only if it is short and plain,
// so that it cannot inject anything into logs or headers.
func validRequestID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// observe is the outermost middleware: it gives the request its Info (request
// ID, client address), recovers panics, logs the request and records metrics.
func observe(log *slog.Logger, m *metrics.Metrics, trust proxy.Trust, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &Info{ClientIP: trust.ClientIP(r), Scheme: trust.Scheme(r)}
		if id := r.Header.Get("X-Request-ID"); validRequestID(id) && trust.Contains(peerAddr(r)) {
			info.RequestID = id
		} else {
			info.RequestID = newRequestID()
		}
		w.Header().Set("X-Request-ID", info.RequestID)
		sw := &statusWriter{ResponseWriter: w}
		r = r.WithContext(WithInfo(r.Context(), info))

		m.HTTPInFlight.Inc()
		defer func() {
			m.HTTPInFlight.Dec()
			abort := false
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.ErrorContext(r.Context(), "panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()), "request_id", info.RequestID)
				if sw.status == 0 {
					WriteProblem(sw, Problem{Type: problemTypeBase + "internal", Title: "Interner Fehler", Status: 500, RequestID: info.RequestID})
				} else {
					// Part of the response is out: cut the connection so
					// the client sees a broken response, not a complete-looking one.
					abort = true
				}
			}
			if abort {
				defer panic(http.ErrAbortHandler)
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			route := info.Route
			if route == "" {
				route = "unmatched"
			}
			elapsed := time.Since(start)
			m.HTTPRequests.WithLabelValues(route, r.Method, strconv.Itoa(status)).Inc()
			m.HTTPDuration.WithLabelValues(route, r.Method).Observe(elapsed.Seconds())
			level := slog.LevelInfo
			if status >= 500 {
				level = slog.LevelError
			}
			if !log.Enabled(r.Context(), level) {
				return // building the attributes costs more than the rest of this function
			}
			attrs := []slog.Attr{
				slog.String("request_id", info.RequestID),
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.String("route", route),
				slog.Int("status", status),
				slog.Int64("bytes", sw.bytes),
				slog.Duration("duration", elapsed),
				slog.String("client_ip", info.ClientIP.String()),
			}
			if info.Tenant != nil {
				attrs = append(attrs, slog.String("tenant", info.Tenant.ID))
			}
			if info.UserID != uuid.Nil {
				attrs = append(attrs, slog.String("user_id", info.UserID.String()))
			}
			log.LogAttrs(r.Context(), level, "request", attrs...)
		}()
		next.ServeHTTP(sw, r)
	})
}

// securityHeaders sets the headers every response carries. The policy allows
// no inline script or style; HSTS is only sent over HTTPS, where it means something.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
			"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
		if RequestInfo(r.Context()).Scheme == "https" {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}

// resolveTenant finds the tenant by the request's host name. An unknown host
// gets a 404 that names no tenant; a suspended tenant gets a 403 and nothing else.
func resolveTenant(reg *tenant.Registry, trust proxy.Trust, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, ok := reg.Lookup(trust.Host(r))
		if !ok {
			refuse(w, r, http.StatusNotFound, "unknown-host", "Nicht gefunden", "Unter dieser Adresse gibt es nichts.")
			return
		}
		if !t.Active {
			refuse(w, r, http.StatusForbidden, "tenant-suspended", "Zugang gesperrt",
				"Dieser Zugang ist gesperrt. Bitte wenden Sie sich an Ihren Anbieter.")
			return
		}
		RequestInfo(r.Context()).Tenant = t
		next.ServeHTTP(w, r)
	})
}

// refuse answers API paths with a problem document and everything else with a
// minimal neutral page, both in the language the request's Accept-Language
// prefers (no tenant is known yet to say otherwise).
func refuse(w http.ResponseWriter, r *http.Request, status int, kind, title, detail string) {
	lang := ProblemLanguage(r)
	p := localize(lang, Problem{Type: problemTypeBase + kind, Title: title, Status: status, Detail: detail,
		RequestID: RequestInfo(r.Context()).RequestID})
	if strings.HasPrefix(r.URL.Path, "/api/") || strings.Contains(r.Header.Get("Accept"), "json") {
		WriteProblem(w, p)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!doctype html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\"><title>%s</title></head>"+
		"<body><main><h1>%s</h1><p>%s</p></main></body></html>\n", lang, p.Title, p.Title, p.Detail)
}
