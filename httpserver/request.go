// Package httpserver is the HTTP front of RP CRM shared by the JSON API and
// the web UI: the server with its timeouts and graceful shutdown, the
// middleware every request passes (request ID, logging, metrics, security
// headers, tenant resolution), health, readiness and metrics endpoints, and
// the response helpers for JSON and RFC 9457 problems.
package httpserver

import (
	"context"
	"net/netip"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm/tenant"
)

// Info is what the middleware learns about a request. Handlers fill in the
// user and the route pattern; the logging middleware reads them at the end.
type Info struct {
	RequestID string
	ClientIP  netip.Addr
	Scheme    string
	Tenant    *tenant.Tenant
	UserID    uuid.UUID
	// Route is the matched pattern, e.g. "GET /api/v1/users/{id}".
	Route string
}

type infoKey struct{}

// RequestInfo returns the request's Info; it is never nil inside the server's handler chain.
func RequestInfo(ctx context.Context) *Info {
	if i, ok := ctx.Value(infoKey{}).(*Info); ok {
		return i
	}
	return &Info{}
}

// WithInfo returns ctx carrying i (used by tests that call handlers directly).
func WithInfo(ctx context.Context, i *Info) context.Context {
	return context.WithValue(ctx, infoKey{}, i)
}

// Tenant returns the tenant the request was resolved to, or nil.
func Tenant(ctx context.Context) *tenant.Tenant {
	return RequestInfo(ctx).Tenant
}
