package httpserver

import (
	"context"
	"net/http"

	"github.com/rpcrm/rpcrm/tenant"
)

// TenantOverlay replaces the request's tenant with overlay(tenant), e.g.
// the tenant with the name, locale and currency its administrators chose
// in their profile. overlay must not change the tenant it is given (it is
// shared by all requests); it returns a copy or the tenant itself.
func TenantOverlay(overlay func(ctx context.Context, t *tenant.Tenant) *tenant.Tenant, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := RequestInfo(r.Context())
		if info.Tenant != nil {
			info.Tenant = overlay(r.Context(), info.Tenant)
		}
		next.ServeHTTP(w, r)
	})
}
