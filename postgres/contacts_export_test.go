package postgres

import (
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
)

// ContactListSQL returns the query ListContacts sends for f, so that the
// tests can check its plan.
func ContactListSQL(p *auth.Principal, f crm.ContactFilter) (string, []any, error) {
	q, err := contactListQuery(p, &f)
	if err != nil {
		return "", nil, err
	}
	return q.String(), q.args, nil
}

// DashboardDealsSQL returns the query of the start page's deal figures, so
// that the tests can check its plan.
func DashboardDealsSQL(p *auth.Principal, dq crm.DashboardQuery) (string, []any, error) {
	q, err := dashboardDealsQuery(p, dq)
	if err != nil {
		return "", nil, err
	}
	return q.String(), q.args, nil
}
