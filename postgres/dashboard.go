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
// value and the closed deals come from index-only scans of the open deals
// and of those won or lost this quarter (see docs/dashboard.md),
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
			if d.Pipelines, d.Closed, err = dashboardDeals(ctx, tx, p, dq); err != nil {
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

// dashboardDeals sums the tenant's live deals (those p may read) by stage
// and currency: in total for the open stages (the pipeline value), and
// within this month and this quarter for the won and lost ones. won_at
// (lost_at) is set exactly while a deal is in a won (lost) stage
// (crm.Deal.EnterStage, stageStatusSQL): an open deal has neither, and the
// stage's kind says which of the two times counts.
func dashboardDeals(ctx context.Context, tx pgx.Tx, p *auth.Principal, dq crm.DashboardQuery) ([]crm.PipelineValue, *crm.ClosedDeals, error) {
	pls, err := loadPipelines(ctx, tx, p.TenantID, nil)
	if err != nil {
		return nil, nil, err
	}
	_, monthStart, _, quarterStart, _ := dq.Periods()
	q, err := dashboardDealsQuery(p, dq)
	if err != nil {
		return nil, nil, err
	}
	rows, err := tx.Query(ctx, q.String(), q.args...)
	if err != nil {
		return nil, nil, err
	}
	type sums struct {
		currency                    string
		n, monthN, quarterN         int
		total, monthSum, quarterSum string
	}
	byStage := map[uuid.UUID][]sums{}
	var stageID uuid.UUID
	var r sums
	if _, err := pgx.ForEachRow(rows, []any{&stageID, &r.currency, &r.n, &r.total, &r.monthN, &r.monthSum, &r.quarterN, &r.quarterSum}, func() error {
		byStage[stageID] = append(byStage[stageID], r)
		return nil
	}); err != nil {
		return nil, nil, err
	}

	c := &crm.ClosedDeals{MonthStart: monthStart, QuarterStart: quarterStart}
	for _, s := range []*crm.DealSum{&c.WonMonth, &c.LostMonth, &c.WonQuarter, &c.LostQuarter} {
		s.Totals = []crm.MoneyAmount{}
	}
	values := make([]crm.PipelineValue, 0, len(pls))
	for _, pl := range pls {
		pv := crm.PipelineValue{Pipeline: pl, Stages: []crm.StageSum{}, Total: crm.DealSum{Totals: []crm.MoneyAmount{}}}
		for _, st := range pl.Stages {
			switch st.Kind {
			case crm.StageOpen:
				ss := crm.StageSum{Stage: st, DealSum: crm.DealSum{Totals: []crm.MoneyAmount{}}}
				for _, r := range byStage[st.ID] {
					addSum(&ss.DealSum, r.currency, r.n, r.total)
					addSum(&pv.Total, r.currency, r.n, r.total)
				}
				pv.Stages = append(pv.Stages, ss)
			case crm.StageWon, crm.StageLost:
				month, quarter := &c.WonMonth, &c.WonQuarter
				if st.Kind == crm.StageLost {
					month, quarter = &c.LostMonth, &c.LostQuarter
				}
				for _, r := range byStage[st.ID] {
					addSum(month, r.currency, r.monthN, r.monthSum)
					addSum(quarter, r.currency, r.quarterN, r.quarterSum)
				}
			}
		}
		values = append(values, pv)
	}
	return values, c, nil
}

// dashboardDealsQuery sums, by stage and currency, the open deals p may
// read and those won or lost in this month and this quarter. Each of its
// three parts is served by an index that holds all it reads (migration
// 00005, TestDashboardDealsUseIndexes): the open deals by stage, and the
// deals won (lost) in this quarter, the month lying within it.
func dashboardDealsQuery(p *auth.Principal, dq crm.DashboardQuery) (*query, error) {
	_, monthStart, monthEnd, quarterStart, quarterEnd := dq.Periods()
	q := &query{}
	tenant := q.arg(p.TenantID)
	ms, me, qs, qe := q.arg(monthStart), q.arg(monthEnd), q.arg(quarterStart), q.arg(quarterEnd)
	q.add(`SELECT stage_id, currency, count(*), coalesce(sum(amount), 0.00)::text, 0, '0.00', 0, '0.00'
		FROM deals WHERE tenant_id = ` + tenant + ` AND deleted_at IS NULL AND won_at IS NULL AND lost_at IS NULL`)
	if err := ownerFilter(q, p, auth.PermDealsRead, "owner_id"); err != nil {
		return nil, err
	}
	q.add(" GROUP BY stage_id, currency")
	for _, at := range []string{"won_at", "lost_at"} {
		inMonth := at + " >= " + ms + " AND " + at + " < " + me
		q.add(` UNION ALL
		SELECT stage_id, currency, 0, '0.00',
			count(*) FILTER (WHERE ` + inMonth + `), coalesce(sum(amount) FILTER (WHERE ` + inMonth + `), 0.00)::text,
			count(*), coalesce(sum(amount), 0.00)::text
		FROM deals WHERE tenant_id = ` + tenant + ` AND deleted_at IS NULL AND ` + at + ` >= ` + qs + ` AND ` + at + ` < ` + qe)
		if err := ownerFilter(q, p, auth.PermDealsRead, "owner_id"); err != nil {
			return nil, err
		}
		q.add(" GROUP BY stage_id, currency")
	}
	q.add(" ORDER BY stage_id, currency")
	return q, nil
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
	err := s.DB.QueryTenant(ctx, p.TenantID, q.String(), q.args, func(rows pgx.Rows) error {
		var id uuid.UUID
		var name string
		_, err := pgx.ForEachRow(rows, []any{&id, &name}, func() error {
			out[id] = name
			return nil
		})
		return err
	})
	return out, err
}

// nameChoicesQuery reads max+1 records of a table by name.
func nameChoicesQuery(p *auth.Principal, table, name string, perm auth.Permission, max int) (*query, error) {
	q := &query{}
	q.add("SELECT id, " + name + " FROM " + table + " WHERE tenant_id = " + q.arg(p.TenantID) + " AND deleted_at IS NULL")
	if err := ownerFilter(q, p, perm, "owner_id"); err != nil {
		return nil, err
	}
	q.add(" ORDER BY lower(" + name + "), id LIMIT " + q.arg(max+1))
	return q, nil
}

// cutChoices cuts the extra record nameChoicesQuery read.
func cutChoices(out []crm.NamedRecord, max int) ([]crm.NamedRecord, bool) {
	if len(out) > max {
		return out[:max], true
	}
	return out, false
}

// ListChoices reads the users, the tags and (when companies > 0 and p may
// read companies) the first companies by name in one round trip.
func (s *CRMService) ListChoices(ctx context.Context, p *auth.Principal, companies int) (*crm.ListChoices, error) {
	out := &crm.ListChoices{}
	var cq *query
	if _, can := p.Grants.Allows(auth.PermCompaniesRead); can && companies > 0 {
		src := nameSources[crm.EntityCompany]
		var err error
		if cq, err = nameChoicesQuery(p, src.table, src.name, src.perm, companies); err != nil {
			return nil, err
		}
	}
	err := s.DB.ReadTenant(ctx, p.TenantID, func(b *pgx.Batch) {
		b.Queue(`SELECT id, name, disabled_at IS NOT NULL FROM users WHERE tenant_id = $1 ORDER BY lower(name), email`, p.TenantID).
			Query(func(rows pgx.Rows) error {
				var err error
				out.Users, err = pgx.CollectRows(rows, pgx.RowToStructByPos[crm.UserChoice])
				return err
			})
		queueTags(b, p.TenantID, &out.Tags)
		if cq != nil {
			b.Queue(cq.String(), cq.args...).Query(func(rows pgx.Rows) error {
				var err error
				out.Companies, err = pgx.CollectRows(rows, pgx.RowToStructByPos[crm.NamedRecord])
				return err
			})
		}
	})
	if err != nil {
		return nil, err
	}
	out.Companies, out.CompaniesMore = cutChoices(out.Companies, companies)
	return out, nil
}
