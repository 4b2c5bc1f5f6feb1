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

// actUser creates a user with a custom role holding exactly perms and
// returns their principal.
func actUser(t *testing.T, e *testfix.Env, slug, email string, perms ...string) *auth.Principal {
	t.Helper()
	ctx := context.Background()
	role, err := e.Auth.CreateRole(ctx, e.System(t, slug), auth.RoleInput{Name: "Rolle " + email, Permissions: perms}, auth.LoginMeta{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Auth.CreateUser(ctx, e.System(t, slug),
		auth.NewUser{Email: email, Name: "Test " + email, Password: testfix.Password, RoleIDs: []uuid.UUID{role.ID}}, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}
	_, p := loginAs(t, e, slug, email)
	return p
}

// actAdmin creates an administrator and returns their principal.
func actAdmin(t *testing.T, e *testfix.Env, slug, email string) *auth.Principal {
	t.Helper()
	e.CreateUser(t, slug, email, "admin")
	_, p := loginAs(t, e, slug, email)
	return p
}

// actOwnPerms is a sales-like role that sees and changes only its own records.
var actOwnPerms = []string{"activities:read:own", "activities:write:own", "activities:delete:own",
	"companies:read:own", "companies:write:own", "contacts:read:own", "deals:read:own"}

func actCreate(t *testing.T, s *postgres.CRMService, p *auth.Principal, in crm.ActivityInput) *crm.Activity {
	t.Helper()
	a, err := s.CreateActivity(context.Background(), p, in, auth.LoginMeta{})
	if err != nil {
		t.Fatalf("create activity %v: %v", in, err)
	}
	return a
}

func actCompany(t *testing.T, s *postgres.CRMService, p *auth.Principal, name string) *crm.Company {
	t.Helper()
	c, err := s.CreateCompany(context.Background(), p, crm.CompanyInput{Name: &name}, auth.LoginMeta{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func actSet(s string) crm.Clearable { return crm.Clearable{Set: true, Value: s} }

func actWantFields(t *testing.T, err error, fields ...string) {
	t.Helper()
	wantCode(t, err, rpcrm.EINVALID, "validation")
	e, ok := err.(*rpcrm.Error)
	if !ok {
		return
	}
	for _, f := range fields {
		if _, ok := e.Fields[f]; !ok {
			t.Errorf("error %v does not name field %q", err, f)
		}
	}
}

// actExec runs raw SQL as the application role inside tenant's transaction.
func actExec(t *testing.T, e *testfix.Env, tenant uuid.UUID, sql string, args ...any) {
	t.Helper()
	if _, err := execIn(e, tenant, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// actContactAndDeal inserts a contact and a deal (with its pipeline) by SQL:
// their services are not this test's subject.
func actContactAndDeal(t *testing.T, e *testfix.Env, tenant uuid.UUID, owner *uuid.UUID) (contact, deal uuid.UUID) {
	t.Helper()
	contact, deal, pipeline, stage := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	actExec(t, e, tenant, `INSERT INTO contacts (tenant_id, id, first_name, last_name, owner_id) VALUES ($1, $2, 'Heidi', 'Muster', $3)`, tenant, contact, owner)
	actExec(t, e, tenant, `INSERT INTO pipelines (tenant_id, id, name) VALUES ($1, $2, $3)`, tenant, pipeline, "P "+pipeline.String())
	actExec(t, e, tenant, `INSERT INTO stages (tenant_id, id, pipeline_id, name, position) VALUES ($1, $2, $3, 'Neu', 1)`, tenant, stage, pipeline)
	actExec(t, e, tenant, `INSERT INTO deals (tenant_id, id, title, pipeline_id, stage_id, owner_id) VALUES ($1, $2, 'Auftrag', $3, $4, $5)`,
		tenant, deal, pipeline, stage, owner)
	return contact, deal
}

func TestActivities(t *testing.T) {
	t.Parallel()
	e := testfix.New(t)
	s := &postgres.CRMService{DB: e.DB}
	ctx := context.Background()
	anna := actAdmin(t, e, "alpha", "anna@alpha.test")
	beta := actAdmin(t, e, "beta", "boris@beta.test")
	alpha := tid(t, e, "alpha")
	company := actCompany(t, s, anna, "Muster AG")
	betaCompany := actCompany(t, s, beta, "Beta AG")
	contact, deal := actContactAndDeal(t, e, alpha, &anna.UserID)
	betaContact, betaDeal := actContactAndDeal(t, e, tid(t, e, "beta"), &beta.UserID)
	trashed := actCompany(t, s, anna, "Alt AG")
	if err := s.DeleteCompany(ctx, anna, trashed.ID, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}
	disabled := e.CreateUser(t, "alpha", "weg@alpha.test", "sales")
	if _, err := e.Auth.UpdateUser(ctx, e.System(t, "alpha"), disabled.ID, auth.UserPatch{Disabled: ptr(true)}, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}

	t.Run("validation", func(t *testing.T) {
		long := strings.Repeat("x", 201)
		for _, c := range []struct {
			name  string
			in    crm.ActivityInput
			field string
		}{
			{"kind missing", crm.ActivityInput{Subject: ptr("Anruf")}, "kind"},
			{"kind unknown", crm.ActivityInput{Kind: ptr("fax"), Subject: ptr("Fax")}, "kind"},
			{"subject missing", crm.ActivityInput{Kind: ptr("note"), Subject: ptr("  ")}, "subject"},
			{"subject too long", crm.ActivityInput{Kind: ptr("note"), Subject: &long}, "subject"},
			{"body too long", crm.ActivityInput{Kind: ptr("note"), Subject: ptr("a"), Body: ptr(strings.Repeat("ä", 20001))}, "body"},
			{"body format", crm.ActivityInput{Kind: ptr("note"), Subject: ptr("a"), BodyFormat: ptr("html")}, "body_format"},
			{"due at", crm.ActivityInput{Kind: ptr("task"), Subject: ptr("a"), DueAt: actSet("morgen")}, "due_at"},
			{"due at without zone", crm.ActivityInput{Kind: ptr("task"), Subject: ptr("a"), DueAt: actSet("2026-01-31T10:00:00")}, "due_at"},
			{"assignee not an id", crm.ActivityInput{Kind: ptr("task"), Subject: ptr("a"), AssigneeID: actSet("anna")}, "assignee_id"},
			{"assignee unknown", crm.ActivityInput{Kind: ptr("task"), Subject: ptr("a"), AssigneeID: actSet(uuid.NewString())}, "assignee_id"},
			{"assignee of other tenant", crm.ActivityInput{Kind: ptr("task"), Subject: ptr("a"), AssigneeID: actSet(beta.UserID.String())}, "assignee_id"},
			{"assignee disabled", crm.ActivityInput{Kind: ptr("task"), Subject: ptr("a"), AssigneeID: actSet(disabled.ID.String())}, "assignee_id"},
			{"company unknown", crm.ActivityInput{Kind: ptr("note"), Subject: ptr("a"), CompanyID: actSet(uuid.NewString())}, "company_id"},
			{"company of other tenant", crm.ActivityInput{Kind: ptr("note"), Subject: ptr("a"), CompanyID: actSet(betaCompany.ID.String())}, "company_id"},
			{"company trashed", crm.ActivityInput{Kind: ptr("note"), Subject: ptr("a"), CompanyID: actSet(trashed.ID.String())}, "company_id"},
			{"company not an id", crm.ActivityInput{Kind: ptr("note"), Subject: ptr("a"), CompanyID: actSet("x")}, "company_id"},
			{"contact of other tenant", crm.ActivityInput{Kind: ptr("note"), Subject: ptr("a"), ContactID: actSet(betaContact.String())}, "contact_id"},
			{"deal of other tenant", crm.ActivityInput{Kind: ptr("note"), Subject: ptr("a"), DealID: actSet(betaDeal.String())}, "deal_id"},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, err := s.CreateActivity(ctx, anna, c.in, auth.LoginMeta{})
				actWantFields(t, err, c.field)
			})
		}
		// Several problems are reported together.
		_, err := s.CreateActivity(ctx, anna, crm.ActivityInput{Kind: ptr("x"), DueAt: actSet("x"), DealID: actSet(uuid.NewString())}, auth.LoginMeta{})
		actWantFields(t, err, "kind", "subject", "due_at", "deal_id")
		if n := stringsIn(t, e, alpha, `SELECT id::text FROM activities`); len(n) != 0 {
			t.Errorf("invalid input created %d activities", len(n))
		}
	})

	t.Run("create, update, done, audit", func(t *testing.T) {
		due := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
		a := actCreate(t, s, anna, crm.ActivityInput{Kind: ptr(" Task "), Subject: ptr(" Offerte nachfassen "),
			Body: ptr("**Wichtig**: <b>sofort</b>"), BodyFormat: ptr("markdown"), DueAt: actSet("2026-03-01T10:00:00+01:00"),
			CompanyID: actSet(company.ID.String()), ContactID: actSet(contact.String()), DealID: actSet(deal.String())})
		if a.Kind != "task" || a.Subject != "Offerte nachfassen" || a.BodyFormat != "markdown" || a.DueAt == nil || !a.DueAt.Equal(due) {
			t.Errorf("created %+v", a)
		}
		if a.AssigneeID == nil || *a.AssigneeID != anna.UserID || a.OwnerID == nil || *a.OwnerID != anna.UserID {
			t.Errorf("task assignee %v, owner %v; want the creator", a.AssigneeID, a.OwnerID)
		}
		if a.Body != "**Wichtig**: <b>sofort</b>" || a.BodyHTML != "<p><strong>Wichtig</strong>: &lt;b&gt;sofort&lt;/b&gt;</p>\n" {
			t.Errorf("body %q, html %q", a.Body, a.BodyHTML)
		}
		if !a.Overdue || a.Done || a.Version != 1 {
			t.Errorf("overdue %v done %v version %d", a.Overdue, a.Done, a.Version)
		}
		note := actCreate(t, s, anna, crm.ActivityInput{Kind: ptr("note"), Subject: ptr("Notiz"), Body: ptr("a\nb")})
		if note.AssigneeID != nil || note.BodyFormat != "text" || note.BodyHTML != "<p>a<br>\nb</p>\n" || note.Overdue {
			t.Errorf("note %+v", note)
		}

		// Partial update: clear the due date and the deal, keep the rest.
		a2, err := s.UpdateActivity(ctx, anna, a.ID, crm.ActivityInput{DueAt: crm.Clearable{Set: true, Null: true},
			DealID: crm.Clearable{Set: true, Null: true}, Version: 1}, auth.LoginMeta{})
		if err != nil {
			t.Fatal(err)
		}
		if a2.DueAt != nil || a2.DealID != nil || a2.CompanyID == nil || a2.Subject != a.Subject || a2.Version != 2 || a2.Overdue {
			t.Errorf("after update %+v", a2)
		}
		// Whole-record validation on update; nothing changes.
		_, err = s.UpdateActivity(ctx, anna, a.ID, crm.ActivityInput{Subject: ptr(""), Kind: ptr("fax")}, auth.LoginMeta{})
		actWantFields(t, err, "subject", "kind")
		// A stale version changes nothing.
		_, err = s.UpdateActivity(ctx, anna, a.ID, crm.ActivityInput{Subject: ptr("Neu"), Version: 1}, auth.LoginMeta{})
		wantCode(t, err, rpcrm.EPRECONDITION, "stale update")
		if got, _ := s.Activity(ctx, anna, a.ID); got.Subject != a.Subject || got.Version != 2 {
			t.Errorf("after refused updates: %q v%d", got.Subject, got.Version)
		}

		// Done: set once, kept when repeated, cleared by done=false.
		done, err := s.UpdateActivity(ctx, anna, a.ID, crm.ActivityInput{Done: ptr(true)}, auth.LoginMeta{})
		if err != nil {
			t.Fatal(err)
		}
		if !done.Done || done.DoneAt == nil || time.Since(*done.DoneAt) > time.Minute {
			t.Fatalf("done: %v %v", done.Done, done.DoneAt)
		}
		again, err := s.UpdateActivity(ctx, anna, a.ID, crm.ActivityInput{Done: ptr(true)}, auth.LoginMeta{})
		if err != nil {
			t.Fatal(err)
		}
		if !again.DoneAt.Equal(*done.DoneAt) {
			t.Errorf("done again moved done_at from %v to %v", done.DoneAt, again.DoneAt)
		}
		open, err := s.UpdateActivity(ctx, anna, a.ID, crm.ActivityInput{Done: ptr(false)}, auth.LoginMeta{})
		if err != nil {
			t.Fatal(err)
		}
		if open.Done || open.DoneAt != nil {
			t.Errorf("undone: %v %v", open.Done, open.DoneAt)
		}

		id := a.ID
		entries := auditList(t, e, "alpha", audit.Filter{EntityType: "activity", EntityID: &id})
		var actions []string
		for _, en := range entries {
			actions = append(actions, en.Action)
		}
		// Newest first; the repeated "done" changed nothing and left no entry.
		want := []string{"activity.update", "activity.update", "activity.update", "activity.create"}
		if !slices.Equal(actions, want) {
			t.Fatalf("audit actions %v, want %v", actions, want)
		}
		if c := entries[2].Changes; len(c) != 2 || c["due_at"].After != nil || c["deal_id"].Before != deal.String() {
			t.Errorf("update changes %v", c)
		}
		if c := entries[1].Changes; c["done_at"].Before != nil || c["done_at"].After == nil || len(c) != 1 {
			t.Errorf("done changes %v", c)
		}
		if c := entries[3].Changes; c["subject"].After != "Offerte nachfassen" || c["kind"].After != "task" {
			t.Errorf("create changes %v", c)
		}
	})

	t.Run("list filters", func(t *testing.T) {
		p := anna
		c := actCompany(t, s, p, "Filter AG")
		mk := func(kind, subject, due string, done bool) uuid.UUID {
			in := crm.ActivityInput{Kind: &kind, Subject: &subject, CompanyID: actSet(c.ID.String()), Done: &done}
			if due != "" {
				in.DueAt = actSet(due)
			}
			return actCreate(t, s, p, in).ID
		}
		call := mk("call", "Anruf Müller", "", true)
		task1 := mk("task", "Rückruf", "2026-01-10T10:00:00Z", false)
		task2 := mk("task", "Offerte", "2026-02-10T10:00:00Z", false)
		list := func(f crm.ActivityFilter) []uuid.UUID {
			t.Helper()
			f.CompanyID = &c.ID // leave out the other subtests' activities
			pg, err := s.ListActivities(ctx, p, f)
			if err != nil {
				t.Fatal(err)
			}
			var ids []uuid.UUID
			for _, a := range pg.Items {
				ids = append(ids, a.ID)
			}
			return ids
		}
		check := func(name string, got []uuid.UUID, want ...uuid.UUID) {
			t.Helper()
			if !slices.Equal(got, want) {
				t.Errorf("%s: got %v, want %v", name, got, want)
			}
		}
		check("default newest first", list(crm.ActivityFilter{}), task2, task1, call)
		check("kind", list(crm.ActivityFilter{Kind: "task"}), task2, task1)
		check("open", list(crm.ActivityFilter{Open: ptr(true)}), task2, task1)
		check("done", list(crm.ActivityFilter{Open: ptr(false)}), call)
		check("due before", list(crm.ActivityFilter{DueBefore: ptr(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))}), task1)
		check("due after", list(crm.ActivityFilter{DueAfter: ptr(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))}), task2)
		check("company", list(crm.ActivityFilter{CompanyID: &c.ID}), task2, task1, call)
		check("assignee", list(crm.ActivityFilter{AssigneeID: &p.UserID}), task2, task1)
		check("updated since", list(crm.ActivityFilter{ListParams: crm.ListParams{UpdatedSince: ptr(time.Now().Add(time.Hour))}}))
		check("updated since past", list(crm.ActivityFilter{ListParams: crm.ListParams{UpdatedSince: ptr(time.Now().Add(-time.Hour))}}), task2, task1, call)
		check("owner", list(crm.ActivityFilter{ListParams: crm.ListParams{OwnerID: ptr(uuid.New())}}))
		check("search", list(crm.ActivityFilter{ListParams: crm.ListParams{Q: "mueller"}}), call)
		check("sort due_at, undated last", list(crm.ActivityFilter{ListParams: crm.ListParams{Sort: "due_at"}}), task1, task2, call)
		// Both tasks are due in the past (the test runs after February 2026).
		check("overdue", list(crm.ActivityFilter{Overdue: ptr(true)}), task2, task1)
		check("not overdue", list(crm.ActivityFilter{Overdue: ptr(false)}), call)
		check("open and not overdue", list(crm.ActivityFilter{Open: ptr(true), Overdue: ptr(false)}))
		check("done by done_at", list(crm.ActivityFilter{Open: ptr(false), ListParams: crm.ListParams{Sort: "done_at", Desc: true}}), call)
		first := list(crm.ActivityFilter{ListParams: crm.ListParams{Sort: "subject", Limit: 2}})
		check("sort subject page 1", first, call, task2)
		pg, err := s.ListActivities(ctx, p, crm.ActivityFilter{CompanyID: &c.ID, ListParams: crm.ListParams{Sort: "subject", Limit: 2}})
		if err != nil {
			t.Fatal(err)
		}
		check("sort subject page 2", list(crm.ActivityFilter{ListParams: crm.ListParams{Sort: "subject", Limit: 2, Cursor: pg.NextCursor}}), task1)
		_, err = s.ListActivities(ctx, p, crm.ActivityFilter{Kind: "fax", ListParams: crm.ListParams{Sort: "name", Tag: "x"}})
		actWantFields(t, err, "kind", "sort", "tag")
	})

	t.Run("trash", func(t *testing.T) {
		a := actCreate(t, s, anna, crm.ActivityInput{Kind: ptr("note"), Subject: ptr("Wegwerfen")})
		wantCode(t, s.PurgeActivity(ctx, anna, a.ID, auth.LoginMeta{}), rpcrm.ENOTFOUND, "purge of a live activity")
		if err := s.DeleteActivity(ctx, anna, a.ID, auth.LoginMeta{}); err != nil {
			t.Fatal(err)
		}
		_, err := s.Activity(ctx, anna, a.ID)
		wantCode(t, err, rpcrm.ENOTFOUND, "get trashed")
		_, err = s.UpdateActivity(ctx, anna, a.ID, crm.ActivityInput{Subject: ptr("x")}, auth.LoginMeta{})
		wantCode(t, err, rpcrm.ENOTFOUND, "update trashed")
		wantCode(t, s.DeleteActivity(ctx, anna, a.ID, auth.LoginMeta{}), rpcrm.ENOTFOUND, "delete twice")
		trash, err := s.ListActivities(ctx, anna, crm.ActivityFilter{ListParams: crm.ListParams{Deleted: true}})
		if err != nil {
			t.Fatal(err)
		}
		if len(trash.Items) != 1 || trash.Items[0].ID != a.ID || trash.Items[0].DeletedAt == nil {
			t.Fatalf("trash %v", trash.Items)
		}
		r, err := s.RestoreActivity(ctx, anna, a.ID, auth.LoginMeta{})
		if err != nil || r.DeletedAt != nil || r.Version != 3 {
			t.Fatalf("restore: %v %+v", err, r)
		}
		if err := s.DeleteActivity(ctx, anna, a.ID, auth.LoginMeta{}); err != nil {
			t.Fatal(err)
		}
		if err := s.PurgeActivity(ctx, anna, a.ID, auth.LoginMeta{}); err != nil {
			t.Fatal(err)
		}
		if n := stringsIn(t, e, alpha, `SELECT id::text FROM activities WHERE id = $1`, a.ID); len(n) != 0 {
			t.Error("purged activity still there")
		}
		id := a.ID
		var actions []string
		for _, en := range auditList(t, e, "alpha", audit.Filter{EntityID: &id}) {
			actions = append(actions, en.Action)
		}
		want := []string{"activity.purge", "activity.delete", "activity.restore", "activity.delete", "activity.create"}
		if !slices.Equal(actions, want) {
			t.Errorf("audit %v, want %v", actions, want)
		}
	})

	t.Run("other tenant: 404 for every verb", func(t *testing.T) {
		a := actCreate(t, s, anna, crm.ActivityInput{Kind: ptr("note"), Subject: ptr("Geheim"), CompanyID: actSet(company.ID.String())})
		_, err := s.Activity(ctx, beta, a.ID)
		wantCode(t, err, rpcrm.ENOTFOUND, "get")
		_, err = s.UpdateActivity(ctx, beta, a.ID, crm.ActivityInput{Subject: ptr("x")}, auth.LoginMeta{})
		wantCode(t, err, rpcrm.ENOTFOUND, "update")
		wantCode(t, s.DeleteActivity(ctx, beta, a.ID, auth.LoginMeta{}), rpcrm.ENOTFOUND, "delete")
		_, err = s.RestoreActivity(ctx, beta, a.ID, auth.LoginMeta{})
		wantCode(t, err, rpcrm.ENOTFOUND, "restore")
		wantCode(t, s.PurgeActivity(ctx, beta, a.ID, auth.LoginMeta{}), rpcrm.ENOTFOUND, "purge")
		for entity, id := range map[string]uuid.UUID{crm.EntityCompany: company.ID, crm.EntityContact: contact, crm.EntityDeal: deal} {
			_, err = s.Timeline(ctx, beta, entity, id, crm.ListParams{})
			wantCode(t, err, rpcrm.ENOTFOUND, "timeline of "+entity)
		}
		pg, err := s.ListActivities(ctx, beta, crm.ActivityFilter{})
		if err != nil || len(pg.Items) != 0 {
			t.Errorf("beta lists %v (%v)", pg, err)
		}
		if got, err := s.Activity(ctx, anna, a.ID); err != nil || got.Subject != "Geheim" {
			t.Errorf("activity changed: %v %v", got, err)
		}
	})
}

// TestActivityOwnScope: with scope "own" a user sees the activities they
// own, are assigned to, or that hang on a record they own; they change those
// they own or are assigned to and delete only their own.
func TestActivityOwnScope(t *testing.T) {
	t.Parallel()
	e := testfix.New(t)
	s := &postgres.CRMService{DB: e.DB}
	ctx := context.Background()
	anna := actAdmin(t, e, "alpha", "anna@alpha.test")
	bob := actUser(t, e, "alpha", "bob@alpha.test", actOwnPerms...)
	carl := actUser(t, e, "alpha", "carl@alpha.test", actOwnPerms...)
	alpha := tid(t, e, "alpha")

	bobs := actCompany(t, s, bob, "Bobs Firma")
	annas := actCompany(t, s, anna, "Annas Firma")
	bobsContact, bobsDeal := actContactAndDeal(t, e, alpha, &bob.UserID)
	onCompany := actCreate(t, s, anna, crm.ActivityInput{Kind: ptr("note"), Subject: ptr("An Bobs Firma"), CompanyID: actSet(bobs.ID.String())})
	onContact := actCreate(t, s, anna, crm.ActivityInput{Kind: ptr("call"), Subject: ptr("An Bobs Kontakt"), ContactID: actSet(bobsContact.String())})
	onDeal := actCreate(t, s, anna, crm.ActivityInput{Kind: ptr("meeting"), Subject: ptr("An Bobs Deal"), DealID: actSet(bobsDeal.String())})
	forCarl := actCreate(t, s, anna, crm.ActivityInput{Kind: ptr("task"), Subject: ptr("Für Carl"), AssigneeID: actSet(carl.UserID.String()),
		CompanyID: actSet(annas.ID.String())})
	annasOwn := actCreate(t, s, anna, crm.ActivityInput{Kind: ptr("note"), Subject: ptr("Annas"), CompanyID: actSet(annas.ID.String())})
	carlsOwn := actCreate(t, s, carl, crm.ActivityInput{Kind: ptr("note"), Subject: ptr("Carls")})

	ids := func(p *auth.Principal) []uuid.UUID {
		t.Helper()
		pg, err := s.ListActivities(ctx, p, crm.ActivityFilter{ListParams: crm.ListParams{Sort: "created_at"}})
		if err != nil {
			t.Fatal(err)
		}
		var out []uuid.UUID
		for _, a := range pg.Items {
			out = append(out, a.ID)
		}
		return out
	}
	if got, want := ids(bob), []uuid.UUID{onCompany.ID, onContact.ID, onDeal.ID}; !slices.Equal(got, want) {
		t.Errorf("bob sees %v, want %v", got, want)
	}
	if got, want := ids(carl), []uuid.UUID{forCarl.ID, carlsOwn.ID}; !slices.Equal(got, want) {
		t.Errorf("carl sees %v, want %v", got, want)
	}
	if got := ids(anna); len(got) != 6 {
		t.Errorf("anna sees %d activities, want 6", len(got))
	}
	if _, err := s.Activity(ctx, bob, onDeal.ID); err != nil {
		t.Errorf("bob cannot get the activity on his deal: %v", err)
	}
	_, err := s.Activity(ctx, bob, annasOwn.ID)
	wantCode(t, err, rpcrm.ENOTFOUND, "bob gets anna's activity")

	// Seeing is not changing: Bob neither owns nor is assigned to these.
	_, err = s.UpdateActivity(ctx, bob, onCompany.ID, crm.ActivityInput{Subject: ptr("x")}, auth.LoginMeta{})
	wantCode(t, err, rpcrm.ENOTFOUND, "bob updates an activity he only sees")
	wantCode(t, s.DeleteActivity(ctx, bob, onCompany.ID, auth.LoginMeta{}), rpcrm.ENOTFOUND, "bob deletes")

	// The assignee may tick the task off, but not delete it.
	if _, err := s.UpdateActivity(ctx, carl, forCarl.ID, crm.ActivityInput{Done: ptr(true)}, auth.LoginMeta{}); err != nil {
		t.Errorf("carl cannot mark his task done: %v", err)
	}
	wantCode(t, s.DeleteActivity(ctx, carl, forCarl.ID, auth.LoginMeta{}), rpcrm.ENOTFOUND, "assignee deletes")
	// Carl may hand the task on; afterwards it is out of his sight.
	moved, err := s.UpdateActivity(ctx, carl, forCarl.ID, crm.ActivityInput{AssigneeID: actSet(bob.UserID.String())}, auth.LoginMeta{})
	if err != nil || *moved.AssigneeID != bob.UserID {
		t.Fatalf("hand on: %v %+v", err, moved)
	}
	_, err = s.Activity(ctx, carl, forCarl.ID)
	wantCode(t, err, rpcrm.ENOTFOUND, "carl after handing on")

	// Links must be visible to the user: Carl does not own Bob's company.
	_, err = s.CreateActivity(ctx, carl, crm.ActivityInput{Kind: ptr("note"), Subject: ptr("x"), CompanyID: actSet(bobs.ID.String()),
		ContactID: actSet(bobsContact.String()), DealID: actSet(bobsDeal.String())}, auth.LoginMeta{})
	actWantFields(t, err, "company_id", "contact_id", "deal_id")
	// Without any contacts:read, no contact can be linked.
	noContacts := actUser(t, e, "alpha", "dora@alpha.test", "activities:read", "activities:write")
	_, err = s.CreateActivity(ctx, noContacts, crm.ActivityInput{Kind: ptr("note"), Subject: ptr("x"), ContactID: actSet(bobsContact.String())}, auth.LoginMeta{})
	actWantFields(t, err, "contact_id")

	// Timelines follow the record's scope and the activities' scope.
	_, err = s.Timeline(ctx, carl, crm.EntityCompany, bobs.ID, crm.ListParams{})
	wantCode(t, err, rpcrm.ENOTFOUND, "carl's timeline of bob's company")
	tl, err := s.Timeline(ctx, bob, crm.EntityCompany, bobs.ID, crm.ListParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(tl.Items) == 0 || tl.Items[len(tl.Items)-1].Type != crm.TimelineChange {
		t.Errorf("bob's timeline %+v", tl.Items)
	}
	for _, it := range tl.Items {
		if it.Type == crm.TimelineActivity && it.ID != onCompany.ID {
			t.Errorf("unexpected activity %v", it.ID)
		}
	}
}

// TestMyOpenTasks: overdue first, then upcoming, then undated; only open,
// live tasks assigned to the caller; paging by keyset.
func TestMyOpenTasks(t *testing.T) {
	t.Parallel()
	e := testfix.New(t)
	s := &postgres.CRMService{DB: e.DB}
	ctx := context.Background()
	maria := actAdmin(t, e, "alpha", "maria@alpha.test")
	other := actAdmin(t, e, "alpha", "otto@alpha.test")
	now := time.Now().UTC().Truncate(time.Second)
	task := func(p *auth.Principal, kind, subject string, due time.Duration, undated bool) uuid.UUID {
		in := crm.ActivityInput{Kind: &kind, Subject: &subject, AssigneeID: actSet(maria.UserID.String())}
		if !undated {
			in.DueAt = actSet(now.Add(due).Format(time.RFC3339))
		}
		return actCreate(t, s, p, in).ID
	}
	undated1 := task(maria, "task", "ohne Termin 1", 0, true)
	upcoming2 := task(other, "task", "in drei Tagen", 72*time.Hour, false)
	overdue1 := task(maria, "task", "vorgestern", -48*time.Hour, false)
	upcoming1 := task(maria, "task", "in einer Stunde", time.Hour, false)
	undated2 := task(maria, "task", "ohne Termin 2", 0, true)
	overdue2 := task(other, "task", "vor einer Stunde", -time.Hour, false)
	// Not in the list: done, trashed, not a task, someone else's.
	done := task(maria, "task", "erledigt", -time.Hour, false)
	if _, err := s.UpdateActivity(ctx, maria, done, crm.ActivityInput{Done: ptr(true)}, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}
	trashed := task(maria, "task", "gelöscht", -time.Hour, false)
	if err := s.DeleteActivity(ctx, maria, trashed, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}
	task(maria, "call", "Anruf", -time.Hour, false)
	actCreate(t, s, other, crm.ActivityInput{Kind: ptr("task"), Subject: ptr("Ottos"), DueAt: actSet(now.Add(-time.Hour).Format(time.RFC3339))})

	undated := []uuid.UUID{undated1, undated2}
	slices.SortFunc(undated, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
	want := append([]uuid.UUID{overdue1, overdue2, upcoming1, upcoming2}, undated...)

	for _, limit := range []int{50, 1, 2, 4} {
		var got []uuid.UUID
		var overdue []bool
		cursor := ""
		for pages := 0; pages < 10; pages++ {
			pg, err := s.MyOpenTasks(ctx, maria, crm.ListParams{Limit: limit, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range pg.Items {
				got = append(got, a.ID)
				overdue = append(overdue, a.Overdue)
			}
			if cursor = pg.NextCursor; cursor == "" {
				break
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("limit %d: got %v, want %v", limit, got, want)
		}
		if !slices.Equal(overdue, []bool{true, true, false, false, false, false}) {
			t.Errorf("limit %d: overdue flags %v", limit, overdue)
		}
	}
	pg, err := s.MyOpenTasks(ctx, other, crm.ListParams{})
	if err != nil || len(pg.Items) != 1 {
		t.Errorf("otto's tasks: %v %v", pg, err)
	}
	_, err = s.MyOpenTasks(ctx, maria, crm.ListParams{Sort: "due_at", Desc: true})
	actWantFields(t, err, "sort")

	// The plan: the partial index delivers rows in order, no sort step. With
	// a handful of rows the planner would rather scan the table, so that is
	// switched off for the check.
	sql, args := postgres.MyTasksQuery(maria, crm.ListParams{Limit: 20})
	text := planOf(t, e, maria.TenantID, "EXPLAIN", sql, args, noSeqScan)
	if !strings.Contains(text, "activities_open_tasks_idx") || strings.Contains(text, "Sort") {
		t.Errorf("plan does not read the open-tasks index in order:\n%s", text)
	}
}

// TestTimeline: activities, documents and changes of a record merged newest
// first, paged by (at, id).
func TestTimeline(t *testing.T) {
	t.Parallel()
	e := testfix.New(t)
	s := &postgres.CRMService{DB: e.DB}
	ctx := context.Background()
	anna := actAdmin(t, e, "alpha", "anna@alpha.test")
	alpha := tid(t, e, "alpha")
	c := actCompany(t, s, anna, "Zeitleiste AG")
	if _, err := s.UpdateCompany(ctx, anna, c.ID, crm.CompanyInput{Industry: ptr("Uhren")}, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}
	other := actCompany(t, s, anna, "Andere AG")
	contact, deal := actContactAndDeal(t, e, alpha, &anna.UserID)

	at := func(day int) time.Time { return time.Date(2025, 6, day, 12, 0, 0, 0, time.UTC) }
	act := func(subject string, day int, links crm.ActivityInput) uuid.UUID {
		links.Kind, links.Subject, links.Body, links.BodyFormat = ptr("note"), &subject, ptr("*kursiv* <i>"), ptr("markdown")
		id := actCreate(t, s, anna, links).ID
		actExec(t, e, alpha, `UPDATE activities SET created_at = $2 WHERE id = $1`, id, at(day))
		return id
	}
	doc := func(name string, day int, company, contact, deal *uuid.UUID) uuid.UUID {
		id := uuid.New()
		actExec(t, e, alpha, `INSERT INTO documents (tenant_id, id, file_name, content_type, size, sha256, company_id, contact_id,
			deal_id, owner_id, created_at, created_by) VALUES ($1, $2, $3, 'application/pdf', 1234, 'x', $4, $5, $6, $7, $8, $7)`,
			alpha, id, name, company, contact, deal, anna.UserID, at(day))
		return id
	}
	onCompany := crm.ActivityInput{CompanyID: actSet(c.ID.String())}
	a1 := act("erste", 1, onCompany)
	d2 := doc("offerte.pdf", 2, &c.ID, nil, nil)
	a3 := act("dritte", 3, onCompany)
	d4 := doc("vertrag.pdf", 4, &c.ID, &contact, nil)
	// Same time as a3: the ID breaks the tie.
	a3b := act("dritte b", 3, onCompany)
	act("andere Firma", 5, crm.ActivityInput{CompanyID: actSet(other.ID.String())})
	gone := act("gelöscht", 6, onCompany)
	if err := s.DeleteActivity(ctx, anna, gone, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}
	changes := auditList(t, e, "alpha", audit.Filter{EntityType: "company", EntityID: &c.ID})
	if len(changes) != 2 {
		t.Fatalf("company audit: %v", changes)
	}
	third := []uuid.UUID{a3, a3b}
	slices.SortFunc(third, func(a, b uuid.UUID) int { return -strings.Compare(a.String(), b.String()) })
	want := []uuid.UUID{changes[0].ID, changes[1].ID, d4, third[0], third[1], d2, a1}

	for _, limit := range []int{50, 1, 3} {
		var got []*crm.TimelineItem
		cursor := ""
		for pages := 0; pages < 10; pages++ {
			pg, err := s.Timeline(ctx, anna, crm.EntityCompany, c.ID, crm.ListParams{Limit: limit, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, pg.Items...)
			if cursor = pg.NextCursor; cursor == "" {
				break
			}
		}
		var ids []uuid.UUID
		for _, it := range got {
			ids = append(ids, it.ID)
		}
		if !slices.Equal(ids, want) {
			t.Fatalf("limit %d: timeline %v, want %v", limit, ids, want)
		}
		if limit != 50 {
			continue
		}
		if it := got[0]; it.Type != "change" || it.Action != "company.update" || it.Actor != "anna@alpha.test" ||
			it.Changes["industry"].After != "Uhren" {
			t.Errorf("change item %+v", it)
		}
		if it := got[2]; it.Type != "document" || it.FileName != "vertrag.pdf" || it.Size == nil || *it.Size != 1234 ||
			!it.At.Equal(at(4)) || it.CreatedBy == nil || *it.CreatedBy != anna.UserID {
			t.Errorf("document item %+v", it)
		}
		if it := got[6]; it.Type != "activity" || it.Kind != "note" || it.Subject != "erste" ||
			it.BodyHTML != "<p><em>kursiv</em> &lt;i&gt;</p>\n" || !it.At.Equal(at(1)) {
			t.Errorf("activity item %+v", it)
		}
	}

	// Contacts and deals have timelines too, checked against their tables.
	cAct := act("am Kontakt", 7, crm.ActivityInput{ContactID: actSet(contact.String())})
	dAct := act("am Deal", 8, crm.ActivityInput{DealID: actSet(deal.String())})
	for entity, w := range map[string][]uuid.UUID{crm.EntityContact: {cAct, d4}, crm.EntityDeal: {dAct}} {
		id := contact
		if entity == crm.EntityDeal {
			id = deal
		}
		pg, err := s.Timeline(ctx, anna, entity, id, crm.ListParams{})
		if err != nil {
			t.Fatal(err)
		}
		var ids []uuid.UUID
		for _, it := range pg.Items {
			ids = append(ids, it.ID)
		}
		if !slices.Equal(ids, w) {
			t.Errorf("%s timeline %v, want %v", entity, ids, w)
		}
	}
	for entity, id := range map[string]uuid.UUID{crm.EntityCompany: uuid.New(), crm.EntityContact: c.ID, crm.EntityDeal: contact} {
		_, err := s.Timeline(ctx, anna, entity, id, crm.ListParams{})
		wantCode(t, err, rpcrm.ENOTFOUND, "timeline of a missing "+entity)
	}
	// A trashed record has no timeline.
	actExec(t, e, alpha, `UPDATE contacts SET deleted_at = now() WHERE id = $1`, contact)
	_, err := s.Timeline(ctx, anna, crm.EntityContact, contact, crm.ListParams{})
	wantCode(t, err, rpcrm.ENOTFOUND, "timeline of a trashed contact")

	// Without activities:read and documents:read only the changes remain.
	reader := actUser(t, e, "alpha", "rita@alpha.test", "companies:read")
	pg, err := s.Timeline(ctx, reader, crm.EntityCompany, c.ID, crm.ListParams{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pg.Items) != 2 || pg.Items[0].Type != "change" || pg.Items[1].Type != "change" {
		t.Errorf("timeline without activities/documents rights: %+v", pg.Items)
	}
	_, err = s.Timeline(ctx, reader, crm.EntityDeal, deal, crm.ListParams{})
	wantCode(t, err, rpcrm.EFORBIDDEN, "timeline without deals:read")
	_, err = s.Timeline(ctx, anna, crm.EntityCompany, c.ID, crm.ListParams{Limit: 500, Cursor: "kaputt"})
	actWantFields(t, err, "limit", "cursor")
}
