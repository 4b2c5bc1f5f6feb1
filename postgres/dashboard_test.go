package postgres_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
	"github.com/rpcrm/rpcrm/internal/testfix"
	"github.com/rpcrm/rpcrm/postgres"
)

// dashFixture is a known data set in tenant alpha (and a deal in beta that
// must never count): open, won and lost deals of two owners, tasks around
// a fixed "now" of 20 November 2026, 12:00 in Zurich.
type dashFixture struct {
	e                *testfix.Env
	s                *postgres.CRMService
	anna, otto, kurt *auth.Principal
	now              time.Time
	zurich           *time.Location
}

func newDashFixture(t *testing.T) *dashFixture {
	t.Helper()
	ctx := context.Background()
	e := testfix.New(t)
	s := &postgres.CRMService{DB: e.DB}
	zurich, err := time.LoadLocation("Europe/Zurich")
	if err != nil {
		t.Fatal(err)
	}
	f := &dashFixture{e: e, s: s, zurich: zurich, now: time.Date(2026, 11, 20, 12, 0, 0, 0, zurich)}
	sys := e.System(t, "alpha")
	if _, err := e.Auth.CreateRole(ctx, sys, auth.RoleInput{Name: "Eigene", Permissions: []string{
		"deals:read:own", "deals:write:own", "companies:read:own", "contacts:read:own", "activities:read:own", "activities:write:own"}}, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Auth.CreateRole(ctx, sys, auth.RoleInput{Name: "Nur Kontakte", Permissions: []string{"contacts:read"}}, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}
	e.CreateUser(t, "alpha", "anna@alpha.test", "admin")
	e.CreateUser(t, "alpha", "otto@alpha.test", "Eigene")
	e.CreateUser(t, "alpha", "kurt@alpha.test", "Nur Kontakte")
	_, f.anna = loginAs(t, e, "alpha", "anna@alpha.test")
	_, f.otto = loginAs(t, e, "alpha", "otto@alpha.test")
	_, f.kurt = loginAs(t, e, "alpha", "kurt@alpha.test")

	pl := pipelinesOf(t, s, f.anna)[0]
	conn := ownerConn(t, e)
	deal := func(title, stage, amt, currency string, owner *auth.Principal, closedAt string) uuid.UUID {
		t.Helper()
		in := crm.DealInput{Title: &title, StageID: &stageNamed(t, pl, stage).ID, OwnerID: &owner.UserID, Currency: &currency}
		if amt != "" {
			in.Amount = amount(amt)
		}
		if stage == "Verloren" {
			in.LostReason = ptr("zu teuer")
		}
		d, err := s.CreateDeal(ctx, f.anna, in, auth.LoginMeta{})
		if err != nil {
			t.Fatalf("deal %s: %v", title, err)
		}
		if closedAt != "" {
			col := "won_at"
			if stage == "Verloren" {
				col = "lost_at"
			}
			ownerExec(t, conn, `UPDATE deals SET `+col+` = $2 WHERE id = $1`, d.ID, closedAt)
		}
		return d.ID
	}
	deal("A", "Neu", "1000", "CHF", f.anna, "")
	deal("B", "Neu", "250.50", "CHF", f.otto, "")
	deal("C", "Angebot", "500", "EUR", f.otto, "")
	deal("no amount", "Verhandlung", "", "CHF", f.anna, "")
	gone := deal("deleted", "Neu", "99999", "CHF", f.anna, "")
	if err := s.DeleteDeal(ctx, f.anna, gone, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}
	deal("D", "Gewonnen", "2000", "CHF", f.anna, "2026-11-03T10:00:00Z")
	// 31 October 23:30 UTC is 1 November 00:30 in Zurich: this month.
	deal("E", "Gewonnen", "300", "CHF", f.otto, "2026-10-31T23:30:00Z")
	deal("G", "Gewonnen", "700", "CHF", f.anna, "2026-10-15T10:00:00Z")  // this quarter, not this month
	deal("H", "Gewonnen", "5000", "CHF", f.anna, "2026-09-30T10:00:00Z") // last quarter
	deal("F", "Verloren", "100", "CHF", f.anna, "2026-11-10T10:00:00Z")
	deal("next year", "Gewonnen", "50", "CHF", f.anna, "2027-01-05T10:00:00Z")

	betaSys := e.System(t, "beta")
	if _, err := s.CreateDeal(ctx, betaSys, crm.DealInput{Title: ptr("Beta"), Amount: amount("777")}, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}

	task := func(p *auth.Principal, kind string, due time.Time, done bool) {
		t.Helper()
		in := crm.ActivityInput{Kind: &kind, Subject: ptr("Aufgabe"), DueAt: crm.Clearable{Set: true, Value: due.Format(time.RFC3339)}, Done: &done}
		if _, err := s.CreateActivity(ctx, p, in, auth.LoginMeta{}); err != nil {
			t.Fatal(err)
		}
	}
	task(f.anna, "task", f.now.Add(-time.Hour), false)    // overdue
	task(f.anna, "task", f.now.Add(-48*time.Hour), false) // overdue
	task(f.anna, "task", f.now.Add(2*time.Hour), false)   // due today
	task(f.anna, "task", f.now.Add(13*time.Hour), false)  // tomorrow 01:00
	task(f.anna, "task", f.now.Add(-time.Hour), true)     // done
	task(f.anna, "meeting", f.now.Add(time.Hour), false)  // no task
	task(f.otto, "task", f.now.Add(time.Hour), false)     // otto's
	return f
}

func (f *dashFixture) dashboard(t *testing.T, p *auth.Principal) *crm.Dashboard {
	t.Helper()
	d, err := f.s.Dashboard(context.Background(), p, crm.DashboardQuery{Now: f.now, Location: f.zurich})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func wantSum(t *testing.T, what string, got crm.DealSum, count int, amounts ...string) {
	t.Helper()
	var want []crm.MoneyAmount
	for i := 0; i < len(amounts); i += 2 {
		want = append(want, crm.MoneyAmount{Currency: amounts[i], Amount: amounts[i+1]})
	}
	ok := got.Count == count && len(got.Totals) == len(want)
	for i := range want {
		ok = ok && got.Totals[i] == want[i]
	}
	if !ok {
		t.Errorf("%s: got %d %v, want %d %v", what, got.Count, got.Totals, count, want)
	}
}

func TestDashboard(t *testing.T) {
	t.Parallel()
	f := newDashFixture(t)

	t.Run("all", func(t *testing.T) {
		d := f.dashboard(t, f.anna)
		if len(d.Pipelines) != 1 || len(d.Pipelines[0].Stages) != 4 {
			t.Fatalf("pipelines %+v", d.Pipelines)
		}
		st := d.Pipelines[0].Stages
		wantSum(t, "Neu", st[0].DealSum, 2, "CHF", "1250.50")
		wantSum(t, "Qualifiziert", st[1].DealSum, 0)
		wantSum(t, "Angebot", st[2].DealSum, 1, "EUR", "500.00")
		wantSum(t, "Verhandlung", st[3].DealSum, 1, "CHF", "0.00")
		wantSum(t, "total", d.Pipelines[0].Total, 4, "CHF", "1250.50", "EUR", "500.00")
		if st[0].Amount("CHF") != "1250.50" || st[2].Amount("CHF") != "0.00" || len(d.Pipelines[0].Total.Others("CHF")) != 1 {
			t.Errorf("Amount/Others helpers")
		}
		c := d.Closed
		wantSum(t, "won this month", c.WonMonth, 2, "CHF", "2300.00")
		wantSum(t, "won this quarter", c.WonQuarter, 3, "CHF", "3000.00")
		wantSum(t, "lost this month", c.LostMonth, 1, "CHF", "100.00")
		wantSum(t, "lost this quarter", c.LostQuarter, 1, "CHF", "100.00")
		if !c.MonthStart.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, f.zurich)) || !c.QuarterStart.Equal(time.Date(2026, 10, 1, 0, 0, 0, 0, f.zurich)) {
			t.Errorf("periods %v %v", c.MonthStart, c.QuarterStart)
		}
		if d.Tasks == nil || d.Tasks.Overdue != 2 || d.Tasks.DueToday != 1 {
			t.Errorf("tasks %+v", d.Tasks)
		}
		if len(d.Recent) != 10 {
			t.Fatalf("recent: %d", len(d.Recent))
		}
		for i, r := range d.Recent {
			if i > 0 && r.UpdatedAt.After(d.Recent[i-1].UpdatedAt) {
				t.Errorf("recent not newest first at %d", i)
			}
			if r.Title == "deleted" || r.Title == "Beta" {
				t.Errorf("recent lists %q", r.Title)
			}
		}
		if r := d.Recent[0]; r.Entity != crm.EntityDeal || r.Title != "next year" || r.UpdatedBy != "Test anna@alpha.test" {
			t.Errorf("newest change %+v", r)
		}
	})

	t.Run("in UTC the boundary deal is October's", func(t *testing.T) {
		d, err := f.s.Dashboard(context.Background(), f.anna, crm.DashboardQuery{Now: f.now, Location: time.UTC})
		if err != nil {
			t.Fatal(err)
		}
		wantSum(t, "won this month (UTC)", d.Closed.WonMonth, 1, "CHF", "2000.00")
		wantSum(t, "won this quarter (UTC)", d.Closed.WonQuarter, 3, "CHF", "3000.00")
	})

	t.Run("own scope", func(t *testing.T) {
		d := f.dashboard(t, f.otto)
		st := d.Pipelines[0].Stages
		wantSum(t, "own Neu", st[0].DealSum, 1, "CHF", "250.50")
		wantSum(t, "own Angebot", st[2].DealSum, 1, "EUR", "500.00")
		wantSum(t, "own Verhandlung", st[3].DealSum, 0)
		wantSum(t, "own won this month", d.Closed.WonMonth, 1, "CHF", "300.00")
		wantSum(t, "own won this quarter", d.Closed.WonQuarter, 1, "CHF", "300.00")
		wantSum(t, "own lost", d.Closed.LostQuarter, 0)
		if d.Tasks == nil || d.Tasks.Overdue != 0 || d.Tasks.DueToday != 1 {
			t.Errorf("own tasks %+v", d.Tasks)
		}
		if len(d.Recent) != 3 {
			t.Errorf("own recent %+v", d.Recent)
		}
		for _, r := range d.Recent {
			if r.Title != "B" && r.Title != "C" && r.Title != "E" {
				t.Errorf("otto sees %q", r.Title)
			}
		}
	})

	t.Run("record names", func(t *testing.T) {
		ctx := context.Background()
		all := f.dashboard(t, f.anna).Recent
		var ids []uuid.UUID
		for _, r := range all {
			ids = append(ids, r.ID)
		}
		ids = append(ids, uuid.New())
		names, err := f.s.RecordNames(ctx, f.anna, crm.EntityDeal, ids)
		if err != nil || len(names) != len(all) || names[all[0].ID] != all[0].Title {
			t.Errorf("anna's names: %v %v", names, err)
		}
		names, err = f.s.RecordNames(ctx, f.otto, crm.EntityDeal, ids)
		if err != nil || len(names) != 3 {
			t.Errorf("otto's names (own scope): %v %v", names, err)
		}
		names, err = f.s.RecordNames(ctx, f.kurt, crm.EntityDeal, ids)
		if err != nil || len(names) != 0 {
			t.Errorf("kurt's names (no deals:read): %v %v", names, err)
		}
	})

	t.Run("without deals and activities", func(t *testing.T) {
		d := f.dashboard(t, f.kurt)
		if d.Pipelines != nil || d.Closed != nil || d.Tasks != nil || len(d.Recent) != 0 {
			t.Errorf("kurt sees %+v", d)
		}
	})

	t.Run("other tenant", func(t *testing.T) {
		d := f.dashboard(t, f.e.System(t, "beta"))
		wantSum(t, "beta Neu", d.Pipelines[0].Stages[0].DealSum, 1, "CHF", "777.00")
		wantSum(t, "beta won", d.Closed.WonQuarter, 0)
	})
}

// BenchmarkDashboard computes the start page of a tenant with the demo data
// of 100,000 contacts (20,000 companies, 50,000 deals, 300,000 activities),
// for a user who reads everything and for one who reads their own records.
// It takes a few minutes to seed: go test -run '^$' -bench Dashboard ./postgres/
func BenchmarkDashboard(b *testing.B) {
	e := testfix.New(b)
	ctx := context.Background()
	svc := &postgres.CRMService{DB: e.DB}
	sys := e.System(b, "alpha")
	if _, err := e.Auth.CreateRole(ctx, sys, auth.RoleInput{Name: "Eigene", Permissions: []string{
		"deals:read:own", "companies:read:own", "contacts:read:own", "activities:read:own"}}, auth.LoginMeta{}); err != nil {
		b.Fatal(err)
	}
	e.CreateUser(b, "alpha", "anna@alpha.test", "admin")
	e.CreateUser(b, "alpha", "otto@alpha.test", "Eigene")
	for i := range 3 {
		e.CreateUser(b, "alpha", "sales"+strconv.Itoa(i)+"@alpha.test", "sales")
	}
	if _, err := svc.Seed(ctx, sys, postgres.SeedOptions{Contacts: 100_000, Seed: 1, Workers: 4}); err != nil {
		b.Fatal(err)
	}
	ownerExec(b, ownerConn(b, e), "ANALYZE")
	for _, who := range []string{"anna", "otto"} {
		_, p := loginAs(b, e, "alpha", who+"@alpha.test")
		b.Run(who, func(b *testing.B) {
			for b.Loop() {
				d, err := svc.Dashboard(ctx, p, crm.DashboardQuery{Location: time.UTC})
				if err != nil {
					b.Fatal(err)
				}
				if d.Pipelines[0].Total.Count == 0 || len(d.Recent) == 0 {
					b.Fatalf("no figures: %+v", d)
				}
			}
		})
	}
}

// The start page's deal figures read the open deals and this quarter's
// closed ones from the indexes of migration 00005 (index-only), not every
// deal of the tenant: a tenant of some years has mostly closed deals of
// earlier quarters, and the start page is where every login lands.
func TestDashboardDealsUseIndexes(t *testing.T) {
	t.Parallel()
	f := newDashFixture(t)
	conn := ownerConn(t, f.e)
	// 20,000 more deals of the first pipeline: 30 % open, the rest won or
	// lost over the five years before f.now.
	ownerExec(t, conn, `INSERT INTO deals (tenant_id, id, title, amount, pipeline_id, stage_id, owner_id, won_at, lost_at)
		SELECT d.tenant_id, gen_random_uuid(), 'Deal ' || i, i % 5000, d.pipeline_id, s.id, d.owner_id,
			CASE WHEN s.kind = 'won' THEN $2::timestamptz - (i % 1800) * interval '1 day' END,
			CASE WHEN s.kind = 'lost' THEN $2::timestamptz - (i % 1800) * interval '1 day' END
		FROM generate_series(1, 20000) AS i
		CROSS JOIN LATERAL (SELECT tenant_id, pipeline_id, owner_id FROM deals WHERE tenant_id = $1 AND title = 'A') AS d
		CROSS JOIN LATERAL (SELECT id, kind FROM stages WHERE tenant_id = d.tenant_id AND pipeline_id = d.pipeline_id
			AND kind = CASE WHEN i % 10 < 3 THEN 'open' WHEN i % 10 < 7 THEN 'won' ELSE 'lost' END
			ORDER BY position LIMIT 1) AS s`, f.anna.TenantID, f.now)
	ownerExec(t, conn, "VACUUM ANALYZE deals")

	for _, p := range []*auth.Principal{f.anna, f.otto} {
		sql, args, err := postgres.DashboardDealsSQL(p, crm.DashboardQuery{Now: f.now, Location: f.zurich})
		if err != nil {
			t.Fatal(err)
		}
		all := planOf(t, f.e, p.TenantID, "EXPLAIN", sql, args, nil)
		// Otto (scope own) has one deal: the owner index finds it faster.
		for _, idx := range []string{"deals_open_value_idx", "deals_won_idx", "deals_lost_idx"} {
			if p == f.anna && !strings.Contains(all, "Index Only Scan using "+idx) {
				t.Errorf("the deal figures of %s are not read by %s:\n%s", p.Email, idx, all)
			}
		}
		if strings.Contains(all, "Seq Scan") {
			t.Errorf("the deal figures of %s read the whole table:\n%s", p.Email, all)
		}
	}
	// And the figures still add up: the fixture's deals plus the new ones.
	d := f.dashboard(t, f.anna)
	var open int
	for _, st := range d.Pipelines[0].Stages {
		open += st.Count
	}
	if want := 4 + 6000; open != want {
		t.Errorf("open deals: %d, want %d", open, want)
	}
}
