package postgres_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/audit"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
	"github.com/rpcrm/rpcrm/internal/testfix"
	"github.com/rpcrm/rpcrm/postgres"
)

func amount(s string) *crm.DecimalText { d := crm.DecimalText(s); return &d }

func wantField(t testing.TB, err error, field, what string) {
	t.Helper()
	wantCode(t, err, rpcrm.EINVALID, what)
	if e, ok := err.(*rpcrm.Error); ok {
		if _, has := e.Fields[field]; !has {
			t.Errorf("%s: fields %v do not name %q", what, e.Fields, field)
		}
	}
}

// pipelinesOf returns the tenant's pipelines in order.
func pipelinesOf(t testing.TB, s *postgres.CRMService, p *auth.Principal) []*crm.Pipeline {
	t.Helper()
	pls, err := s.ListPipelines(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return pls
}

func stageNamed(t testing.TB, pl *crm.Pipeline, name string) *crm.Stage {
	t.Helper()
	for _, s := range pl.Stages {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no stage %q in %s", name, pl.Name)
	return nil
}

func stageNames(pl *crm.Pipeline) string {
	var out []string
	for i, s := range pl.Stages {
		if s.Position != i {
			out = append(out, "!position")
		}
		out = append(out, s.Name)
	}
	return strings.Join(out, ",")
}

// testDefaultPipeline checks that every fixture tenant got the default
// pipeline from SyncTenants, and that syncing again adds none.
func testDefaultPipeline(t *testing.T, e *testfix.Env) {
	ctx := context.Background()
	s := &postgres.CRMService{DB: e.DB}
	for _, slug := range []string{"alpha", "beta", "gamma"} {
		pls := pipelinesOf(t, s, e.System(t, slug))
		if len(pls) != 1 || pls[0].Name != "Verkauf" {
			t.Fatalf("%s: pipelines %+v", slug, pls)
		}
		if got := stageNames(pls[0]); got != "Neu,Qualifiziert,Angebot,Verhandlung,Gewonnen,Verloren" {
			t.Errorf("%s: stages %s", slug, got)
		}
		var kinds []string
		var probs []int
		for _, st := range pls[0].Stages {
			kinds = append(kinds, st.Kind)
			probs = append(probs, st.Probability)
		}
		if !slices.Equal(kinds, []string{"open", "open", "open", "open", "won", "lost"}) || !slices.Equal(probs, []int{10, 25, 50, 75, 100, 0}) {
			t.Errorf("%s: kinds %v probabilities %v", slug, kinds, probs)
		}
	}
	alpha := e.System(t, "alpha")
	first := pipelinesOf(t, s, alpha)[0]

	// A second sync creates nothing; nor does one after the tenant renamed
	// its pipeline or added another: only "no pipeline at all" counts.
	if err := e.DB.SyncTenants(ctx, tenantRows(e)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdatePipeline(ctx, alpha, first.ID, crm.PipelineInput{Name: ptr("Projekte")}, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}
	if err := e.DB.SyncTenants(ctx, tenantRows(e)); err != nil {
		t.Fatal(err)
	}
	owner := ownerConn(t, e)
	for _, slug := range []string{"alpha", "beta", "gamma"} {
		if n := ownerInt(t, owner, `SELECT count(*) FROM pipelines WHERE tenant_id = $1`, tid(t, e, slug)); n != 1 {
			t.Errorf("%s: %d pipelines after repeated syncs", slug, n)
		}
		if n := ownerInt(t, owner, `SELECT count(*) FROM stages WHERE tenant_id = $1`, tid(t, e, slug)); n != 6 {
			t.Errorf("%s: %d stages after repeated syncs", slug, n)
		}
	}
	if _, err := s.UpdatePipeline(ctx, alpha, first.ID, crm.PipelineInput{Name: ptr("Verkauf")}, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}
}

func TestPipelinesAndStages(t *testing.T) {
	t.Parallel()
	e := testfix.New(t)
	ctx := context.Background()
	s := &postgres.CRMService{DB: e.DB}
	sys := e.System(t, "alpha")
	m := auth.LoginMeta{}
	t.Run("default pipeline", func(t *testing.T) { testDefaultPipeline(t, e) })
	verkauf := pipelinesOf(t, s, sys)[0]

	t.Run("create with stages and defaults", func(t *testing.T) {
		pl, err := s.CreatePipeline(ctx, sys, crm.PipelineInput{Name: ptr("Service"), Stages: []crm.StageInput{
			{Name: ptr("Anfrage"), Probability: ptr(20)}, {Name: ptr("Erledigt"), Kind: ptr("won")}}}, m)
		if err != nil {
			t.Fatal(err)
		}
		if stageNames(pl) != "Anfrage,Erledigt" || pl.Stages[1].Probability != 100 || pl.Position != 1 {
			t.Errorf("created %+v", pl)
		}
		_, err = s.CreatePipeline(ctx, sys, crm.PipelineInput{Name: ptr("SERVICE")}, m)
		wantCode(t, err, rpcrm.ECONFLICT, "duplicate name")
		pl2, err := s.CreatePipeline(ctx, sys, crm.PipelineInput{Name: ptr("Miete"), Position: ptr(0)}, m)
		if err != nil {
			t.Fatal(err)
		}
		if len(pl2.Stages) != 6 {
			t.Errorf("default stages: %s", stageNames(pl2))
		}
		var names []string
		for i, pl := range pipelinesOf(t, s, sys) {
			if pl.Position != i {
				t.Errorf("pipeline %s at %d, want %d", pl.Name, pl.Position, i)
			}
			names = append(names, pl.Name)
		}
		if strings.Join(names, ",") != "Miete,Verkauf,Service" {
			t.Errorf("pipeline order %v", names)
		}
		if err := s.DeletePipeline(ctx, sys, pl2.ID, m); err != nil {
			t.Fatal(err)
		}
		if err := s.DeletePipeline(ctx, sys, pl.ID, m); err != nil {
			t.Fatal(err)
		}
		// The last pipeline stays.
		wantCode(t, s.DeletePipeline(ctx, sys, verkauf.ID, m), rpcrm.ECONFLICT, "delete last pipeline")
		if n := len(auditList(t, e, "alpha", audit.Filter{Action: "pipeline.create"})); n != 2 {
			t.Errorf("%d pipeline.create audits, want 2", n)
		}
		if n := len(auditList(t, e, "alpha", audit.Filter{Action: "pipeline.delete", EntityID: &pl2.ID})); n != 1 {
			t.Errorf("%d pipeline.delete audits, want 1", n)
		}
		// Renaming is audited with before and after. (Moving pipelines
		// around bumped Verkauf's version.)
		cur, err := s.Pipeline(ctx, sys, verkauf.ID)
		if err != nil {
			t.Fatal(err)
		}
		if cur.Version == verkauf.Version {
			t.Error("renumbering did not bump the version")
		}
		if _, err := s.UpdatePipeline(ctx, sys, verkauf.ID, crm.PipelineInput{Name: ptr("Vertrieb"), Version: cur.Version}, m); err != nil {
			t.Fatal(err)
		}
		up := auditList(t, e, "alpha", audit.Filter{Action: "pipeline.update", EntityID: &verkauf.ID})
		if len(up) == 0 || up[0].Changes["name"].Before != "Verkauf" || up[0].Changes["name"].After != "Vertrieb" {
			t.Errorf("rename audit: %+v", up)
		}
		_, err = s.UpdatePipeline(ctx, sys, verkauf.ID, crm.PipelineInput{Name: ptr("Verkauf"), Version: cur.Version}, m)
		wantCode(t, err, rpcrm.EPRECONDITION, "stale pipeline")
		if _, err := s.UpdatePipeline(ctx, sys, verkauf.ID, crm.PipelineInput{Name: ptr("Verkauf")}, m); err != nil {
			t.Fatal(err)
		}
		if got := pipelinesOf(t, s, sys); len(got) != 1 || got[0].Position != 0 {
			t.Errorf("after deletes: %+v", got)
		}
	})

	t.Run("stage create, update, move", func(t *testing.T) {
		pl, err := s.CreateStage(ctx, sys, verkauf.ID, crm.StageInput{Name: ptr("Präsentation"), Probability: ptr(40), Position: ptr(2)}, m)
		if err != nil {
			t.Fatal(err)
		}
		if got := stageNames(pl); got != "Neu,Qualifiziert,Präsentation,Angebot,Verhandlung,Gewonnen,Verloren" {
			t.Fatalf("after create: %s", got)
		}
		st := stageNamed(t, pl, "Präsentation")
		// Move to the end (clamped), rename: positions stay dense and unique.
		pl, err = s.UpdateStage(ctx, sys, verkauf.ID, st.ID, crm.StageInput{Name: ptr("Demo"), Position: ptr(99), Version: st.Version}, m)
		if err != nil {
			t.Fatal(err)
		}
		if got := stageNames(pl); got != "Neu,Qualifiziert,Angebot,Verhandlung,Gewonnen,Verloren,Demo" {
			t.Fatalf("after move: %s", got)
		}
		_, err = s.UpdateStage(ctx, sys, verkauf.ID, st.ID, crm.StageInput{Name: ptr("Alt"), Version: st.Version}, m)
		wantCode(t, err, rpcrm.EPRECONDITION, "stale stage version")
		_, err = s.UpdateStage(ctx, sys, verkauf.ID, st.ID, crm.StageInput{Kind: ptr("closed")}, m)
		wantField(t, err, "kind", "bad kind")
		_, err = s.UpdateStage(ctx, sys, verkauf.ID, st.ID, crm.StageInput{Probability: ptr(101)}, m)
		wantField(t, err, "probability", "bad probability")
		// A stage of the pipeline under another pipeline's ID is not found.
		other, err := s.CreatePipeline(ctx, sys, crm.PipelineInput{Name: ptr("Andere")}, m)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.UpdateStage(ctx, sys, other.ID, st.ID, crm.StageInput{Name: ptr("X")}, m)
		wantCode(t, err, rpcrm.ENOTFOUND, "stage under another pipeline")
		if err := s.DeletePipeline(ctx, sys, other.ID, m); err != nil {
			t.Fatal(err)
		}
		pl, err = s.DeleteStage(ctx, sys, verkauf.ID, st.ID, nil, m)
		if err != nil {
			t.Fatal(err)
		}
		if got := stageNames(pl); got != "Neu,Qualifiziert,Angebot,Verhandlung,Gewonnen,Verloren" {
			t.Fatalf("after delete: %s", got)
		}
		if len(auditList(t, e, "alpha", audit.Filter{Action: "stage.update", EntityID: &st.ID})) != 1 ||
			len(auditList(t, e, "alpha", audit.Filter{Action: "stage.delete", EntityID: &st.ID})) != 1 {
			t.Error("stage changes not audited")
		}
	})

	t.Run("reorder", func(t *testing.T) {
		pl := pipelinesOf(t, s, sys)[0]
		ids := make([]uuid.UUID, len(pl.Stages))
		for i, st := range pl.Stages {
			ids[len(ids)-1-i] = st.ID
		}
		for name, bad := range map[string][]uuid.UUID{
			"missing one": ids[1:], "duplicate": append(slices.Clone(ids[1:]), ids[1]), "foreign": append(slices.Clone(ids[1:]), uuid.New()),
			"extra": append(slices.Clone(ids), uuid.New()), "empty": nil,
		} {
			_, err := s.ReorderStages(ctx, sys, pl.ID, crm.StageOrder{StageIDs: bad}, m)
			wantField(t, err, "stage_ids", name)
		}
		_, err := s.ReorderStages(ctx, sys, pl.ID, crm.StageOrder{StageIDs: ids, Version: pl.Version - 1}, m)
		wantCode(t, err, rpcrm.EPRECONDITION, "stale pipeline version")
		got, err := s.ReorderStages(ctx, sys, pl.ID, crm.StageOrder{StageIDs: ids, Version: pl.Version}, m)
		if err != nil {
			t.Fatal(err)
		}
		if stageNames(got) != "Verloren,Gewonnen,Verhandlung,Angebot,Qualifiziert,Neu" || got.Version != pl.Version+1 {
			t.Errorf("reordered: %s v%d", stageNames(got), got.Version)
		}
		if len(auditList(t, e, "alpha", audit.Filter{Action: "stage.reorder"})) != 1 {
			t.Error("reorder not audited")
		}
		slices.Reverse(ids)
		if _, err := s.ReorderStages(ctx, sys, pl.ID, crm.StageOrder{StageIDs: ids}, m); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("a pipeline keeps one stage", func(t *testing.T) {
		pl, err := s.CreatePipeline(ctx, sys, crm.PipelineInput{Name: ptr("Einfach"), Stages: []crm.StageInput{{Name: ptr("Nur")}}}, m)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.DeleteStage(ctx, sys, pl.ID, pl.Stages[0].ID, nil, m)
		wantCode(t, err, rpcrm.ECONFLICT, "delete the only stage")
		if err := s.DeletePipeline(ctx, sys, pl.ID, m); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("permissions", func(t *testing.T) {
		e.CreateUser(t, "alpha", "sales@alpha.test", "sales")
		_, sales := loginAs(t, e, "alpha", "sales@alpha.test")
		if len(pipelinesOf(t, s, sales)) != 1 {
			t.Error("sales cannot read pipelines")
		}
		_, err := s.CreatePipeline(ctx, sales, crm.PipelineInput{Name: ptr("Meins")}, m)
		wantCode(t, err, rpcrm.EFORBIDDEN, "sales creates pipeline")
		_, err = s.UpdateStage(ctx, sales, verkauf.ID, verkauf.Stages[0].ID, crm.StageInput{Name: ptr("X")}, m)
		wantCode(t, err, rpcrm.EFORBIDDEN, "sales renames stage")
	})
}

func TestDeals(t *testing.T) {
	t.Parallel()
	e := testfix.New(t)
	ctx := context.Background()
	s := &postgres.CRMService{DB: e.DB}
	sys := e.System(t, "alpha")
	m := auth.LoginMeta{}
	verkauf := pipelinesOf(t, s, sys)[0]
	neu, angebot := stageNamed(t, verkauf, "Neu"), stageNamed(t, verkauf, "Angebot")
	gewonnen, verloren := stageNamed(t, verkauf, "Gewonnen"), stageNamed(t, verkauf, "Verloren")
	owner := ownerConn(t, e)

	t.Run("create with defaults", func(t *testing.T) {
		d, err := s.CreateDeal(ctx, sys, crm.DealInput{Title: ptr("Website-Relaunch")}, m)
		if err != nil {
			t.Fatal(err)
		}
		if d.PipelineID != verkauf.ID || d.StageID != neu.ID || d.Probability != 10 || d.Currency != "CHF" ||
			d.Status != "open" || d.Amount != nil || d.WonAt != nil || d.Version != 1 {
			t.Errorf("defaults: %+v", d)
		}
		if n := len(auditList(t, e, "alpha", audit.Filter{Action: "deal.create", EntityID: &d.ID})); n != 1 {
			t.Errorf("%d create audits", n)
		}
	})

	t.Run("amounts are exact", func(t *testing.T) {
		var ids []uuid.UUID
		for in, want := range map[string]string{"0.10": "0.10", "0.2": "0.20", "12'500.50": "12500.50", "999999999999.99": "999999999999.99", "7": "7.00"} {
			d, err := s.CreateDeal(ctx, sys, crm.DealInput{Title: ptr("Betrag " + in), Amount: amount(in)}, m)
			if err != nil {
				t.Fatal(err)
			}
			if d.Amount == nil || *d.Amount != want {
				t.Errorf("amount %q stored as %v, want %s", in, d.Amount, want)
			}
			ids = append(ids, d.ID)
		}
		// The database sums them exactly: 0.10 + 0.20 is 0.30, not 0.30000000000000004.
		var sum string
		if err := owner.QueryRow(ctx, `SELECT sum(amount)::text FROM deals WHERE id = ANY($1) AND amount < 1`, ids).Scan(&sum); err != nil {
			t.Fatal(err)
		}
		if sum != "0.30" {
			t.Errorf("sum = %s", sum)
		}
		for _, bad := range []string{"1.234", "-5", "1e3", "1234567890123"} {
			_, err := s.CreateDeal(ctx, sys, crm.DealInput{Title: ptr("Falsch"), Amount: amount(bad)}, m)
			wantField(t, err, "amount", "amount "+bad)
		}
	})

	t.Run("validation", func(t *testing.T) {
		betaStage := pipelinesOf(t, s, e.System(t, "beta"))[0].Stages[0]
		other, err := s.CreatePipeline(ctx, sys, crm.PipelineInput{Name: ptr("Zweite")}, m)
		if err != nil {
			t.Fatal(err)
		}
		unknown := uuid.New()
		cases := []struct {
			name  string
			in    crm.DealInput
			field string
		}{
			{"no title", crm.DealInput{}, "title"},
			{"stage of another pipeline", crm.DealInput{Title: ptr("x"), PipelineID: &verkauf.ID, StageID: &other.Stages[0].ID}, "stage_id"},
			{"stage of default vs other pipeline", crm.DealInput{Title: ptr("x"), StageID: &other.Stages[0].ID}, "stage_id"},
			{"stage of another tenant", crm.DealInput{Title: ptr("x"), StageID: &betaStage.ID}, "stage_id"},
			{"unknown pipeline", crm.DealInput{Title: ptr("x"), PipelineID: &unknown}, "pipeline_id"},
			{"unknown company", crm.DealInput{Title: ptr("x"), CompanyID: crm.OptionalID{Set: true, ID: &unknown}}, "company_id"},
			{"unknown contact", crm.DealInput{Title: ptr("x"), ContactID: crm.OptionalID{Set: true, ID: &unknown}}, "contact_id"},
			{"unknown owner", crm.DealInput{Title: ptr("x"), OwnerID: &unknown}, "owner_id"},
			{"lost without reason", crm.DealInput{Title: ptr("x"), StageID: &verloren.ID}, "lost_reason"},
			{"currency", crm.DealInput{Title: ptr("x"), Currency: ptr("CHFX")}, "currency"},
		}
		for _, c := range cases {
			_, err := s.CreateDeal(ctx, sys, c.in, m)
			wantField(t, err, c.field, c.name)
		}
		// A trashed company cannot be linked.
		c, err := s.CreateCompany(ctx, sys, crm.CompanyInput{Name: ptr("Alte AG")}, m)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteCompany(ctx, sys, c.ID, m); err != nil {
			t.Fatal(err)
		}
		_, err = s.CreateDeal(ctx, sys, crm.DealInput{Title: ptr("x"), CompanyID: crm.OptionalID{Set: true, ID: &c.ID}}, m)
		wantField(t, err, "company_id", "trashed company")
		// Only the pipeline given: its first stage.
		d, err := s.CreateDeal(ctx, sys, crm.DealInput{Title: ptr("Zweite Pipeline"), PipelineID: &other.ID}, m)
		if err != nil {
			t.Fatal(err)
		}
		if d.StageID != other.Stages[0].ID {
			t.Errorf("stage %v, want the first of the pipeline", d.StageID)
		}
		// Moving it back to the first pipeline without a stage takes that one's first.
		d, err = s.UpdateDeal(ctx, sys, d.ID, crm.DealInput{PipelineID: &verkauf.ID}, m)
		if err != nil {
			t.Fatal(err)
		}
		if d.PipelineID != verkauf.ID || d.StageID != neu.ID {
			t.Errorf("moved pipeline: %+v", d)
		}
		// A pipeline with deals cannot be deleted; an empty one can.
		d2, err := s.CreateDeal(ctx, sys, crm.DealInput{Title: ptr("Bleibt"), PipelineID: &other.ID}, m)
		if err != nil {
			t.Fatal(err)
		}
		wantCode(t, s.DeletePipeline(ctx, sys, other.ID, m), rpcrm.ECONFLICT, "pipeline with deals")
		if err := s.DeleteDeal(ctx, sys, d2.ID, m); err != nil {
			t.Fatal(err)
		}
		wantCode(t, s.DeletePipeline(ctx, sys, other.ID, m), rpcrm.ECONFLICT, "pipeline with trashed deals")
		if err := s.PurgeDeal(ctx, sys, d2.ID, m); err != nil {
			t.Fatal(err)
		}
		if err := s.DeletePipeline(ctx, sys, other.ID, m); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("won and lost", func(t *testing.T) {
		d, err := s.CreateDeal(ctx, sys, crm.DealInput{Title: ptr("Abschluss"), StageID: &angebot.ID, Probability: ptr(60)}, m)
		if err != nil {
			t.Fatal(err)
		}
		if d.Probability != 60 {
			t.Errorf("explicit probability %d", d.Probability)
		}
		created := d.StageChangedAt
		time.Sleep(5 * time.Millisecond)
		d, err = s.UpdateDeal(ctx, sys, d.ID, crm.DealInput{StageID: &gewonnen.ID}, m)
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != "won" || d.WonAt == nil || d.LostAt != nil || d.Probability != 100 || !d.StageChangedAt.After(created) {
			t.Errorf("won: %+v", d)
		}
		wonAt := d.WonAt
		// An unrelated change keeps won_at and stage_changed_at.
		d, err = s.UpdateDeal(ctx, sys, d.ID, crm.DealInput{Title: ptr("Abschluss 2026")}, m)
		if err != nil {
			t.Fatal(err)
		}
		if !d.WonAt.Equal(*wonAt) || d.Status != "won" {
			t.Errorf("won_at changed: %v -> %v", wonAt, d.WonAt)
		}
		before := d.Version
		_, err = s.UpdateDeal(ctx, sys, d.ID, crm.DealInput{StageID: &verloren.ID}, m)
		wantField(t, err, "lost_reason", "lost without reason")
		if got, _ := s.Deal(ctx, sys, d.ID); got.Version != before || got.Status != "won" {
			t.Errorf("refused change changed the deal: %+v", got)
		}
		d, err = s.UpdateDeal(ctx, sys, d.ID, crm.DealInput{StageID: &verloren.ID, LostReason: ptr("Budget gestrichen")}, m)
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != "lost" || d.WonAt != nil || d.LostAt == nil || d.LostReason != "Budget gestrichen" || d.Probability != 0 {
			t.Errorf("lost: %+v", d)
		}
		// Clearing the reason of a lost deal is refused.
		_, err = s.UpdateDeal(ctx, sys, d.ID, crm.DealInput{LostReason: ptr("")}, m)
		wantField(t, err, "lost_reason", "clear reason of lost deal")
		d, err = s.UpdateDeal(ctx, sys, d.ID, crm.DealInput{StageID: &neu.ID}, m)
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != "open" || d.WonAt != nil || d.LostAt != nil || d.LostReason != "" || d.Probability != 10 {
			t.Errorf("reopened: %+v", d)
		}
		entries := auditList(t, e, "alpha", audit.Filter{Action: "deal.update", EntityID: &d.ID})
		if len(entries) != 4 {
			t.Fatalf("%d update audits, want 4", len(entries))
		}
		var statusChanges int
		for _, en := range entries {
			if _, ok := en.Changes["status"]; ok {
				statusChanges++
			}
		}
		if statusChanges != 3 {
			t.Errorf("%d audited status changes, want 3", statusChanges)
		}
		// Stale versions change nothing.
		_, err = s.UpdateDeal(ctx, sys, d.ID, crm.DealInput{Title: ptr("Zu spät"), Version: d.Version - 1}, m)
		wantCode(t, err, rpcrm.EPRECONDITION, "stale deal")
		if got, _ := s.Deal(ctx, sys, d.ID); got.Title != "Abschluss 2026" {
			t.Errorf("stale update applied: %q", got.Title)
		}
	})

	t.Run("stage removal moves deals", func(t *testing.T) {
		pl, err := s.CreatePipeline(ctx, sys, crm.PipelineInput{Name: ptr("Umzug")}, m)
		if err != nil {
			t.Fatal(err)
		}
		from, to, lost := pl.Stages[1], pl.Stages[2], stageNamed(t, pl, "Verloren")
		live, err := s.CreateDeal(ctx, sys, crm.DealInput{Title: ptr("Lebt"), PipelineID: &pl.ID, StageID: &from.ID}, m)
		if err != nil {
			t.Fatal(err)
		}
		trashed, err := s.CreateDeal(ctx, sys, crm.DealInput{Title: ptr("Papierkorb"), PipelineID: &pl.ID, StageID: &from.ID}, m)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteDeal(ctx, sys, trashed.ID, m); err != nil {
			t.Fatal(err)
		}
		_, err = s.DeleteStage(ctx, sys, pl.ID, from.ID, nil, m)
		wantCode(t, err, rpcrm.ECONFLICT, "stage with deals, no move_to")
		if err != nil && !strings.Contains(err.Error(), "move_to") {
			t.Errorf("message does not say how: %v", err)
		}
		_, err = s.DeleteStage(ctx, sys, pl.ID, from.ID, &neu.ID, m)
		wantField(t, err, "move_to", "move_to in another pipeline")
		_, err = s.DeleteStage(ctx, sys, pl.ID, from.ID, &from.ID, m)
		wantField(t, err, "move_to", "move_to itself")
		got, err := s.DeleteStage(ctx, sys, pl.ID, from.ID, &to.ID, m)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Stages) != 5 || findStage(got, from.ID) {
			t.Errorf("stage still there: %s", stageNames(got))
		}
		d, err := s.Deal(ctx, sys, live.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d.StageID != to.ID || d.Version != live.Version+1 {
			t.Errorf("live deal not moved: %+v", d)
		}
		if n := ownerInt(t, owner, `SELECT count(*) FROM deals WHERE id = $1 AND stage_id = $2`, trashed.ID, to.ID); n != 1 {
			t.Error("trashed deal not moved")
		}
		entries := auditList(t, e, "alpha", audit.Filter{Action: "deal.update", EntityID: &live.ID})
		if len(entries) != 1 || entries[0].Changes["stage_id"].After == nil {
			t.Errorf("move not audited: %+v", entries)
		}
		// Moving into a lost stage: the deals are lost, with a reason.
		got, err = s.DeleteStage(ctx, sys, pl.ID, to.ID, &lost.ID, m)
		if err != nil {
			t.Fatal(err)
		}
		d, _ = s.Deal(ctx, sys, live.ID)
		if d.Status != "lost" || d.LostAt == nil || d.LostReason == "" {
			t.Errorf("moved into lost: %+v", d)
		}
		// Turning the lost stage into an open one reopens its deals.
		lostNow := findStageByID(got, lost.ID)
		if _, err := s.UpdateStage(ctx, sys, pl.ID, lost.ID, crm.StageInput{Kind: ptr("open"), Version: lostNow.Version}, m); err != nil {
			t.Fatal(err)
		}
		d, _ = s.Deal(ctx, sys, live.ID)
		if d.Status != "open" || d.LostAt != nil || d.LostReason != "" {
			t.Errorf("reopened by stage kind: %+v", d)
		}
	})

	t.Run("trash", func(t *testing.T) {
		d, err := s.CreateDeal(ctx, sys, crm.DealInput{Title: ptr("Wegwerfen")}, m)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteDeal(ctx, sys, d.ID, m); err != nil {
			t.Fatal(err)
		}
		_, err = s.Deal(ctx, sys, d.ID)
		wantCode(t, err, rpcrm.ENOTFOUND, "trashed deal")
		_, err = s.UpdateDeal(ctx, sys, d.ID, crm.DealInput{Title: ptr("x")}, m)
		wantCode(t, err, rpcrm.ENOTFOUND, "update trashed deal")
		pg, err := s.ListDeals(ctx, sys, crm.DealFilter{ListParams: crm.ListParams{Deleted: true}})
		if err != nil {
			t.Fatal(err)
		}
		if len(pg.Items) == 0 || !slices.ContainsFunc(pg.Items, func(x *crm.Deal) bool { return x.ID == d.ID }) {
			t.Error("trash does not list the deal")
		}
		wantCode(t, s.PurgeDeal(ctx, sys, uuid.New(), m), rpcrm.ENOTFOUND, "purge unknown")
		if _, err := s.RestoreDeal(ctx, sys, d.ID, m); err != nil {
			t.Fatal(err)
		}
		wantCode(t, s.PurgeDeal(ctx, sys, d.ID, m), rpcrm.ENOTFOUND, "purge live deal")
		if err := s.DeleteDeal(ctx, sys, d.ID, m); err != nil {
			t.Fatal(err)
		}
		if err := s.PurgeDeal(ctx, sys, d.ID, m); err != nil {
			t.Fatal(err)
		}
		for _, action := range []string{"deal.delete", "deal.restore", "deal.purge"} {
			if len(auditList(t, e, "alpha", audit.Filter{Action: action, EntityID: &d.ID})) == 0 {
				t.Errorf("no %s audit", action)
			}
		}
	})
}

func findStage(pl *crm.Pipeline, id uuid.UUID) bool { return findStageByID(pl, id) != nil }

func findStageByID(pl *crm.Pipeline, id uuid.UUID) *crm.Stage {
	for _, s := range pl.Stages {
		if s.ID == id {
			return s
		}
	}
	return nil
}

func TestDealScopesAndTenants(t *testing.T) {
	t.Parallel()
	e := testfix.New(t)
	ctx := context.Background()
	s := &postgres.CRMService{DB: e.DB}
	sys := e.System(t, "alpha")
	m := auth.LoginMeta{}
	e.CreateUser(t, "alpha", "sara@alpha.test", "sales")
	e.CreateUser(t, "alpha", "simon@alpha.test", "sales")
	_, sara := loginAs(t, e, "alpha", "sara@alpha.test")
	_, simon := loginAs(t, e, "alpha", "simon@alpha.test")
	// Sales may see all deals but change only their own; a role with deals:read
	// scope own sees only their own.
	ownRole, err := e.Auth.CreateRole(ctx, sys, auth.RoleInput{Name: "Eigene",
		Permissions: []string{"deals:read:own", "deals:write:own", "deals:delete:own"}}, m)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Auth.CreateUser(ctx, sys, auth.NewUser{Email: "olga@alpha.test", Name: "Olga", Password: testfix.Password,
		RoleIDs: []uuid.UUID{ownRole.ID}}, m); err != nil {
		t.Fatal(err)
	}
	_, olga := loginAs(t, e, "alpha", "olga@alpha.test")

	mine, err := s.CreateDeal(ctx, sara, crm.DealInput{Title: ptr("Saras Deal"), Amount: amount("100")}, m)
	if err != nil {
		t.Fatal(err)
	}
	if mine.OwnerID == nil || *mine.OwnerID != sara.UserID {
		t.Errorf("owner %v, want the creator", mine.OwnerID)
	}
	olgas, err := s.CreateDeal(ctx, olga, crm.DealInput{Title: ptr("Olgas Deal"), Amount: amount("50")}, m)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.CreateDeal(ctx, sara, crm.DealInput{Title: ptr("Für Simon"), OwnerID: &simon.UserID}, m)
	wantField(t, err, "owner_id", "sales assigns another owner")

	// Simon sees Sara's deal but cannot change, delete it.
	if _, err := s.Deal(ctx, simon, mine.ID); err != nil {
		t.Errorf("simon reads: %v", err)
	}
	_, err = s.UpdateDeal(ctx, simon, mine.ID, crm.DealInput{Title: ptr("Meins")}, m)
	wantCode(t, err, rpcrm.ENOTFOUND, "simon updates sara's deal")
	wantCode(t, s.DeleteDeal(ctx, simon, mine.ID, m), rpcrm.ENOTFOUND, "simon deletes sara's deal")

	// Olga sees only her own, in lists and on the board.
	_, err = s.Deal(ctx, olga, mine.ID)
	wantCode(t, err, rpcrm.ENOTFOUND, "olga reads sara's deal")
	pg, err := s.ListDeals(ctx, olga, crm.DealFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pg.Items) != 1 || pg.Items[0].ID != olgas.ID {
		t.Errorf("olga lists %d deals", len(pg.Items))
	}
	pl := pipelinesOf(t, s, olga)[0]
	b, err := s.Board(ctx, olga, pl.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if b.Stages[0].Count != 1 || b.Stages[0].Totals[0].Amount != "50.00" || len(b.Stages[0].Deals) != 1 {
		t.Errorf("olga's board: %+v", b.Stages[0])
	}
	b, err = s.Board(ctx, sys, pl.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if b.Stages[0].Count != 2 || b.Stages[0].Totals[0].Amount != "150.00" {
		t.Errorf("full board: %+v", b.Stages[0])
	}

	// Another tenant sees nothing of alpha's, for every verb.
	beta := e.System(t, "beta")
	_, err = s.Deal(ctx, beta, mine.ID)
	wantCode(t, err, rpcrm.ENOTFOUND, "beta reads")
	_, err = s.UpdateDeal(ctx, beta, mine.ID, crm.DealInput{Title: ptr("x")}, m)
	wantCode(t, err, rpcrm.ENOTFOUND, "beta updates")
	wantCode(t, s.DeleteDeal(ctx, beta, mine.ID, m), rpcrm.ENOTFOUND, "beta deletes")
	_, err = s.RestoreDeal(ctx, beta, mine.ID, m)
	wantCode(t, err, rpcrm.ENOTFOUND, "beta restores")
	wantCode(t, s.PurgeDeal(ctx, beta, mine.ID, m), rpcrm.ENOTFOUND, "beta purges")
	_, err = s.Pipeline(ctx, beta, pl.ID)
	wantCode(t, err, rpcrm.ENOTFOUND, "beta reads pipeline")
	_, err = s.UpdatePipeline(ctx, beta, pl.ID, crm.PipelineInput{Name: ptr("x")}, m)
	wantCode(t, err, rpcrm.ENOTFOUND, "beta renames pipeline")
	wantCode(t, s.DeletePipeline(ctx, beta, pl.ID, m), rpcrm.ENOTFOUND, "beta deletes pipeline")
	_, err = s.CreateStage(ctx, beta, pl.ID, crm.StageInput{Name: ptr("x")}, m)
	wantCode(t, err, rpcrm.ENOTFOUND, "beta adds stage")
	_, err = s.UpdateStage(ctx, beta, pl.ID, pl.Stages[0].ID, crm.StageInput{Name: ptr("x")}, m)
	wantCode(t, err, rpcrm.ENOTFOUND, "beta renames stage")
	_, err = s.DeleteStage(ctx, beta, pl.ID, pl.Stages[0].ID, nil, m)
	wantCode(t, err, rpcrm.ENOTFOUND, "beta deletes stage")
	_, err = s.ReorderStages(ctx, beta, pl.ID, crm.StageOrder{}, m)
	wantCode(t, err, rpcrm.ENOTFOUND, "beta reorders")
	_, err = s.Board(ctx, beta, pl.ID, 10)
	wantCode(t, err, rpcrm.ENOTFOUND, "beta board")
	if d, err := s.Deal(ctx, sys, mine.ID); err != nil || d.Version != mine.Version {
		t.Errorf("deal changed by refused calls: %+v %v", d, err)
	}
}

func TestDealList(t *testing.T) {
	t.Parallel()
	e := testfix.New(t)
	ctx := context.Background()
	s := &postgres.CRMService{DB: e.DB}
	sys := e.System(t, "alpha")
	m := auth.LoginMeta{}
	pl := pipelinesOf(t, s, sys)[0]
	won, lost := stageNamed(t, pl, "Gewonnen"), stageNamed(t, pl, "Verloren")
	c, err := s.CreateCompany(ctx, sys, crm.CompanyInput{Name: ptr("Käserei Müller AG")}, m)
	if err != nil {
		t.Fatal(err)
	}
	mk := func(in crm.DealInput) *crm.Deal {
		t.Helper()
		d, err := s.CreateDeal(ctx, sys, in, m)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	a := mk(crm.DealInput{Title: ptr("Alpha Offerte"), Amount: amount("300"), ExpectedClose: ptr("2026-03-01"), Tags: &[]string{"Heiss"}})
	b := mk(crm.DealInput{Title: ptr("Bäckerei Zürich"), Amount: amount("100.50"), ExpectedClose: ptr("2026-01-15"), CompanyID: crm.OptionalID{Set: true, ID: &c.ID}})
	cc := mk(crm.DealInput{Title: ptr("Chalet Umbau"), StageID: &won.ID})
	dd := mk(crm.DealInput{Title: ptr("Dach"), Amount: amount("5"), StageID: &lost.ID, LostReason: ptr("Zu spät"), Currency: ptr("EUR")})

	list := func(f crm.DealFilter) []string {
		t.Helper()
		var out []string
		for {
			pg, err := s.ListDeals(ctx, sys, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range pg.Items {
				out = append(out, d.Title[:1])
			}
			if pg.NextCursor == "" {
				return out
			}
			f.Cursor = pg.NextCursor
		}
	}
	lp := func(sort string, desc bool) crm.ListParams { return crm.ListParams{Sort: sort, Desc: desc, Limit: 1} }
	checks := []struct {
		name string
		f    crm.DealFilter
		want string
	}{
		{"title", crm.DealFilter{ListParams: lp("title", false)}, "ABCD"},
		{"amount desc (none as 0)", crm.DealFilter{ListParams: lp("amount", true)}, "ABDC"},
		{"expected_close (undated last)", crm.DealFilter{ListParams: lp("expected_close", false)}, "BACD"},
		{"created_at", crm.DealFilter{ListParams: lp("created_at", false)}, "ABCD"},
		{"status open", crm.DealFilter{ListParams: lp("title", false), Status: "open"}, "AB"},
		{"status won", crm.DealFilter{Status: "won"}, "C"},
		{"status lost", crm.DealFilter{Status: "lost"}, "D"},
		{"company", crm.DealFilter{CompanyID: &c.ID}, "B"},
		{"stage", crm.DealFilter{StageID: &won.ID}, "C"},
		{"pipeline", crm.DealFilter{ListParams: lp("title", false), PipelineID: &pl.ID}, "ABCD"},
		{"tag", crm.DealFilter{ListParams: crm.ListParams{Tag: "heiss"}}, ""},
		{"tag exact", crm.DealFilter{ListParams: crm.ListParams{Tag: "Heiss"}}, "A"},
		{"close range", crm.DealFilter{ListParams: lp("title", false), ExpectedCloseFrom: ptr(time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)),
			ExpectedCloseTo: ptr(time.Date(2026, 2, 28, 0, 0, 0, 0, time.UTC))}, "B"},
		{"search", crm.DealFilter{ListParams: crm.ListParams{Q: "backerei zurich"}}, "B"},
	}
	for _, c := range checks {
		if got := strings.Join(list(c.f), ""); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	_, err = s.ListDeals(ctx, sys, crm.DealFilter{ListParams: crm.ListParams{Sort: "probability"}})
	wantField(t, err, "sort", "unsortable field")
	_, err = s.ListDeals(ctx, sys, crm.DealFilter{Status: "pending"})
	wantField(t, err, "status", "bad status")

	// Board totals per currency, counts per stage, deals by expected close.
	board, err := s.Board(ctx, sys, pl.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	neu := board.Stages[0]
	if neu.Count != 2 || len(neu.Totals) != 1 || neu.Totals[0] != (crm.MoneyAmount{Currency: "CHF", Amount: "400.50"}) ||
		len(neu.Deals) != 1 || neu.Deals[0].ID != b.ID {
		t.Errorf("board Neu: %+v", neu)
	}
	wonCol, lostCol := board.Stages[4], board.Stages[5]
	if wonCol.Count != 1 || wonCol.Totals[0].Amount != "0.00" || wonCol.Deals[0].ID != cc.ID {
		t.Errorf("board Gewonnen: %+v", wonCol)
	}
	if lostCol.Count != 1 || lostCol.Totals[0] != (crm.MoneyAmount{Currency: "EUR", Amount: "5.00"}) || lostCol.Deals[0].ID != dd.ID {
		t.Errorf("board Verloren: %+v", lostCol)
	}
	if board.Stages[1].Count != 0 || len(board.Stages[1].Deals) != 0 || board.Stages[1].Totals == nil {
		t.Errorf("empty stage: %+v", board.Stages[1])
	}
	// Trashed deals leave the board.
	if err := s.DeleteDeal(ctx, sys, a.ID, m); err != nil {
		t.Fatal(err)
	}
	board, err = s.Board(ctx, sys, pl.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if board.Stages[0].Count != 1 || board.Stages[0].Totals[0].Amount != "100.50" || len(board.Stages[0].Deals) != 0 {
		t.Errorf("board after trash: %+v", board.Stages[0])
	}
	_, err = s.Board(ctx, sys, pl.ID, 101)
	wantField(t, err, "limit", "board limit")
}
