package httpapi

import (
	"github.com/rpcrm/rpcrm/auth"
)

// recordsCreated counts n new CRM records of type typ for the caller's
// tenant (rpcrm_records_created_total). Tenants are the few configured
// ones and types a fixed list, so the label values stay few.
func (a *API) recordsCreated(p *auth.Principal, typ string, n int) {
	if a.Metrics == nil || p == nil || n <= 0 {
		return
	}
	a.Metrics.RecordsCreated.WithLabelValues(p.Tenant, typ).Add(float64(n))
}

// importedType names the record type an import creates, by the write
// permission it needs.
func importedType(write auth.Permission) string {
	switch write {
	case auth.PermCompaniesWrite:
		return "company"
	case auth.PermContactsWrite:
		return "contact"
	}
	return "other"
}
