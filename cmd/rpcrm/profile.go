package main

import (
	"context"
	"log/slog"

	"github.com/rpcrm/rpcrm/crm"
	"github.com/rpcrm/rpcrm/tenant"
)

// profileOverlay gives the API the tenant as its administrators set it up
// in the web UI's tenant profile (name, locale, currency over tenants.json).
func profileOverlay(svc crm.ProfileService, log *slog.Logger) func(context.Context, *tenant.Tenant) *tenant.Tenant {
	return func(ctx context.Context, t *tenant.Tenant) *tenant.Tenant {
		p, err := svc.TenantProfile(ctx, t.UUID())
		if err != nil {
			log.ErrorContext(ctx, "tenant profile", "tenant", t.ID, "err", err)
			return t
		}
		return p.Apply(t)
	}
}
