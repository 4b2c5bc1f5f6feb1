package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
)

// Dashboard computes the start page's figures in one tenant transaction.
// Every query filters by tenant (and RLS checks it again) and by the
// caller's read scope; the parts the caller may not see stay nil. The open
// value and the closed deals read the tenant's deals once each (no index
// holds amounts or won/lost times; see docs/web.md for the measurements),
// the task counts go through activities_open_tasks_idx and stop at
// crm.TaskCountCap, the recent records read each table's *_updated_idx
// backwards, a few rows per table.
func (s *CRMService) Dashboard(ctx context.Context, p *auth.Principal, dq crm.DashboardQuery) (*crm.Dashboard, error) {
	if dq.Now.IsZero() {
		dq.Now = time.Now()
	}
	if dq.Recent <= 0 {
		dq.Recent = 10
	}
	if dq.Recent > 50 {
		dq.Recent = 50
	}
	d := &crm.Dashboard{Recent: []crm.RecentRecord{}}
	err := s.DB.InTenant(ctx, p.TenantID, func(tx pgx.Tx) error {
		if _, ok := p.Grants.Allows(auth.PermDealsRead); ok {
			var err error
			if d.Pipelines, err = dashboardPipelines(ctx, tx, p); err != nil {
				return err
			}
			if d.Closed, err = dashboardClosed(ctx, tx, p, dq); err != nil {
				return err
			}
		}
		if _, ok := p.Grants.Allows(auth.PermActivitiesRead); ok && p.UserID != uuid.Nil {
			var err error
			if d.Tasks, err = dashboardTasks(ctx, tx, p, dq); err != nil {
				return err
			}
		}
		var err error
		d.Recent, err = dashboardRecent(ctx, tx, p, dq.Recent)
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// addSum adds one (currency, count, sum) row to a DealSum.
func addSum(s *crm.DealSum, currency string, n int, total string) {
	if n == 0 {
		return
	}
	s.Count += n
	for i := range s.Totals {
		if s.Totals[i].Currency == currency {
			s.Totals[i].Amount = addDecimal(s.Totals[i].Amount, total)
			return
		}
	}
	s.Totals = append(s.Totals, crm.MoneyAmount{Currency: currency, Amount: total})
}

// addDecimal adds two non-negative decimals with two places exactly
// ("12.50" + "0.75" = "13.25"), without floats.
func addDecimal(a, b string) string {
	cents := func(s string) int64 {
		whole, frac, _ := strings.Cut(s, ".")
		for len(frac) < 2 {
			frac += "0"
		}
		w, _ := strconv.ParseInt(whole, 10, 64)
		f, _ := strconv.ParseInt(frac[:2], 10, 64)
		return w*100 + f
	}
	c := cents(a) + cents(b)
	f := c % 100
	out := strconv.FormatInt(c/100, 10) + "."
	if f < 10 {
		out += "0"
	}
	return out + strconv.FormatInt(f, 10)
}

// dashboardPipelines sums the open deals per pipeline and open stage.
func dashboardPipelines(ctx context.Context, tx pgx.Tx, p *auth.Principal) ([]crm.PipelineValue, error) {
	pls, err := loadPipelines(ctx, tx, p.TenantID, nil)
	if err != nil {
		return nil, err
	}
	q := &query{}
	t := q.arg(p.TenantID)
	q.add(`SELECT d.stage_id, d.currency, count(*), coalesce(sum(d.amount), 0.00)::text
		FROM stages st JOIN deals d ON d.tenant_id = st.tenant_id AND d.pipeline_id = st.pipeline_id AND d.stage_id = st.id
		WHERE st.tenant_id = ` + t + ` AND st.kind = 'open' AND d.tenant_id = ` + t + ` AND d.deleted_at IS NULL`)
	if err := ownerFilter(q, p, auth.PermDealsRead, "d.owner_id"); err != nil {
		return nil, err
	}
	q.add(" GROUP BY d.stage_id, d.currency ORDER BY d.stage_id, d.currency")
	rows, err := tx.Query(ctx, q.String(), q.args...)
	if err != nil {
		return nil, err
	}
	type row struct {
		currency, total string
		n               int
	}
	sums := map[uuid.UUID][]row{}
	var stageID uuid.UUID
	var r row
	if _, err := pgx.ForEachRow(rows, []any{&stageID, &r.currency, &r.n, &r.total}, func() error {
		sums[stageID] = append(sums[stageID], r)
		return nil
	}); err != nil {
		return nil, err
	}
	out := make([]crm.PipelineValue, 0, len(pls))
	for _, pl := range pls {
		pv := crm.PipelineValue{Pipeline: pl, Stages: []crm.StageSum{}, Total: crm.DealSum{Totals: []crm.MoneyAmount{}}}
		for _, st := range pl.Stages {
			if st.Kind != crm.StageOpen {
				continue
			}
			ss := crm.StageSum{Stage: st, DealSum: crm.DealSum{Totals: []crm.MoneyAmount{}}}
			for _, r := range sums[st.ID] {
				addSum(&ss.DealSum, r.currency, r.n, r.total)
				addSum(&pv.Total, r.currency, r.n, r.total)
			}
			pv.Stages = append(pv.Stages, ss)
		}
		out = append(out, pv)
	}
	return out, nil
}

// dashboardClosed counts the deals won and lost this month and quarter.
// won_at (lost_at) is set exactly while a deal is in a won (lost) stage
// (crm.Deal.EnterStage, stageStatusSQL), so the times alone say it all.
func dashboardClosed(ctx context.Context, tx pgx.Tx, p *auth.Principal, dq crm.DashboardQuery) (*crm.ClosedDeals, error) {
	_, monthStart, monthEnd, quarterStart, quarterEnd := dq.Periods()
	c := &crm.ClosedDeals{MonthStart: monthStart, QuarterStart: quarterStart}
	for _, s := range []*crm.DealSum{&c.WonMonth, &c.LostMonth, &c.WonQuarter, &c.LostQuarter} {
		s.Totals = []crm.MoneyAmount{}
	}
	q := &query{}
	t := q.arg(p.TenantID)
	ms, me, qs, qe := q.arg(monthStart), q.arg(monthEnd), q.arg(quarterStart), q.arg(quarterEnd)
	inMonth := "coalesce(won_at, lost_at) >= " + ms + " AND coalesce(won_at, lost_at) < " + me
	q.add(`SELECT won_at IS NOT NULL, currency, count(*) FILTER (WHERE ` + inMonth + `),
			coalesce(sum(amount) FILTER (WHERE ` + inMonth + `), 0.00)::text, count(*), coalesce(sum(amount), 0.00)::text
		FROM deals WHERE tenant_id = ` + t + ` AND deleted_at IS NULL
		AND ((won_at >= ` + qs + ` AND won_at < ` + qe + `) OR (lost_at >= ` + qs + ` AND lost_at < ` + qe + `))`)
	if err := ownerFilter(q, p, auth.PermDealsRead, "owner_id"); err != nil {
		return nil, err
	}
	q.add(" GROUP BY 1, 2 ORDER BY 1, 2")
	rows, err := tx.Query(ctx, q.String(), q.args...)
	if err != nil {
		return nil, err
	}
	var won bool
	var currency, monthSum, quarterSum string
	var monthN, quarterN int
	_, err = pgx.ForEachRow(rows, []any{&won, &currency, &monthN, &monthSum, &quarterN, &quarterSum}, func() error {
		month, quarter := &c.LostMonth, &c.LostQuarter
		if won {
			month, quarter = &c.WonMonth, &c.WonQuarter
		}
		addSum(month, currency, monthN, monthSum)
		addSum(quarter, currency, quarterN, quarterSum)
		return nil
	})
	return c, err
}

// dashboardTasks counts the caller's open tasks overdue and due later
// today, each up to crm.TaskCountCap: a backlog of thousands of overdue
// tasks should not make the start page read them all.
func dashboardTasks(ctx context.Context, tx pgx.Tx, p *auth.Principal, dq crm.DashboardQuery) (*crm.TaskCounts, error) {
	dayEnd, _, _, _, _ := dq.Periods()
	tc := &crm.TaskCounts{}
	const open = `SELECT 1 FROM activities WHERE tenant_id = $1 AND assignee_id = $2 AND done_at IS NULL AND deleted_at IS NULL
		AND kind = 'task' AND `
	limit := " LIMIT " + strconv.Itoa(crm.TaskCountCap)
	err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM (`+open+`due_at < $3`+limit+`) o),
		(SELECT count(*) FROM (`+open+`due_at >= $3 AND due_at < $4`+limit+`) t)`,
		p.TenantID, p.UserID, dq.Now, dayEnd).Scan(&tc.Overdue, &tc.DueToday)
	return tc, err
}

// dashboardRecent lists the companies, contacts and deals the caller may
// read, changed last: each table's newest n first (by its updated index),
// then the newest n of those.
func dashboardRecent(ctx context.Context, tx pgx.Tx, p *auth.Principal, n int) ([]crm.RecentRecord, error) {
	type branch struct {
		entity, table, title string
		perm                 auth.Permission
	}
	var branches []branch
	for _, b := range []branch{
		{crm.EntityCompany, "companies", "name", auth.PermCompaniesRead},
		{crm.EntityContact, "contacts", "trim(first_name || ' ' || last_name)", auth.PermContactsRead},
		{crm.EntityDeal, "deals", "title", auth.PermDealsRead},
	} {
		if _, ok := p.Grants.Allows(b.perm); ok {
			branches = append(branches, b)
		}
	}
	if len(branches) == 0 {
		return []crm.RecentRecord{}, nil
	}
	q := &query{}
	t := q.arg(p.TenantID)
	limit := strconv.Itoa(n)
	q.add("SELECT r.entity, r.id, r.title, r.updated_at, coalesce(u.name, '') FROM (")
	for i, b := range branches {
		if i > 0 {
			q.add(" UNION ALL ")
		}
		q.add("(SELECT '" + b.entity + "' AS entity, id, " + b.title + " AS title, updated_at, updated_by FROM " + b.table +
			" WHERE tenant_id = " + t + " AND deleted_at IS NULL")
		if err := ownerFilter(q, p, b.perm, "owner_id"); err != nil {
			return nil, err
		}
		q.add(" ORDER BY updated_at DESC, id DESC LIMIT " + limit + ")")
	}
	q.add(") r LEFT JOIN users u ON u.tenant_id = " + t + " AND u.id = r.updated_by ORDER BY r.updated_at DESC, r.id DESC LIMIT " + limit)
	rows, err := tx.Query(ctx, q.String(), q.args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (crm.RecentRecord, error) {
		var rr crm.RecentRecord
		err := r.Scan(&rr.Entity, &rr.ID, &rr.Title, &rr.UpdatedAt, &rr.UpdatedBy)
		return rr, err
	})
}

// nameSources are the tables RecordNames reads, with their name expression.
var nameSources = map[string]struct {
	table, name string
	perm        auth.Permission
}{
	crm.EntityCompany: {"companies", "name", auth.PermCompaniesRead},
	crm.EntityContact: {"contacts", "trim(first_name || ' ' || last_name)", auth.PermContactsRead},
	crm.EntityDeal:    {"deals", "title", auth.PermDealsRead},
}

// RecordNames returns the names of the records among ids that p may read.
func (s *CRMService) RecordNames(ctx context.Context, p *auth.Principal, entity string, ids []uuid.UUID) (map[uuid.UUID]string, error) {
	src, ok := nameSources[entity]
	out := map[uuid.UUID]string{}
	if !ok {
		return nil, fmt.Errorf("record names of unknown entity %q", entity)
	}
	if _, can := p.Grants.Allows(src.perm); !can || len(ids) == 0 {
		return out, nil
	}
	q := &query{}
	q.add("SELECT id, " + src.name + " FROM " + src.table + " WHERE tenant_id = " + q.arg(p.TenantID) +
		" AND id = ANY(" + q.arg(ids) + ") AND deleted_at IS NULL")
	if err := ownerFilter(q, p, src.perm, "owner_id"); err != nil {
		return nil, err
	}
	err := s.DB.InTenant(ctx, p.TenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, q.String(), q.args...)
		if err != nil {
			return err
		}
		var id uuid.UUID
		var name string
		_, err = pgx.ForEachRow(rows, []any{&id, &name}, func() error {
			out[id] = name
			return nil
		})
		return err
	})
	return out, err
}
