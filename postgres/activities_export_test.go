package postgres

import (
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
)

// MyTasksQuery exposes the "my open tasks" statement to the plan test.
func MyTasksQuery(p *auth.Principal, lp crm.ListParams) (string, []any) {
	q := myTasksQuery(p, lp)
	return q.String(), q.args
}
