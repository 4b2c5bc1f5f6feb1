package postgres_test

import (
	"context"
	"errors"
	"fmt"
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

// contactEnv is one fixture database with the CRM service and an admin
// principal (a real user, so that records get an owner) in alpha.
type contactEnv struct {
	e     *testfix.Env
	s     *postgres.CRMService
	admin *auth.Principal
}

func newContactEnv(t *testing.T) *contactEnv {
	t.Helper()
	e := testfix.New(t)
	e.CreateUser(t, "alpha", "admin@alpha.test", auth.RoleKeyAdmin)
	_, admin := loginAs(t, e, "alpha", "admin@alpha.test")
	return &contactEnv{e: e, s: &postgres.CRMService{DB: e.DB}, admin: admin}
}

// contactUser creates a user in slug and returns a principal holding
// exactly the given grants ("contacts:read", "contacts:write:own", …).
func contactUser(t *testing.T, e *testfix.Env, slug, email string, grants ...string) *auth.Principal {
	t.Helper()
	u := e.CreateUser(t, slug, email, auth.RoleKeyReadonly) // the principal below carries the grants
	var gs []auth.Grant
	for _, s := range grants {
		g, err := auth.ParseGrant(s)
		if err != nil {
			t.Fatalf("grant %q: %v", s, err)
		}
		gs = append(gs, g)
	}
	return &auth.Principal{UserID: u.ID, TenantID: u.TenantID, Tenant: slug, Email: email, Grants: auth.MergeGrants(gs)}
}

func (ce *contactEnv) create(t *testing.T, p *auth.Principal, in crm.ContactInput) *crm.Contact {
	t.Helper()
	c, err := ce.s.CreateContact(context.Background(), p, in, auth.LoginMeta{})
	if err != nil {
		t.Fatalf("create contact: %v", err)
	}
	return c
}

func (ce *contactEnv) company(t *testing.T, p *auth.Principal, name string) *crm.Company {
	t.Helper()
	c, err := ce.s.CreateCompany(context.Background(), p, crm.CompanyInput{Name: &name}, auth.LoginMeta{})
	if err != nil {
		t.Fatalf("create company: %v", err)
	}
	return c
}

func contactField(t *testing.T, err error, code, field string) {
	t.Helper()
	wantCode(t, err, code, field)
	var e *rpcrm.Error
	if field != "" && (!asError(err, &e) || e.Fields[field] == "") {
		t.Errorf("want a field error on %q, got %v", field, err)
	}
}

func asError(err error, target **rpcrm.Error) bool { return errors.As(err, target) }

// TestContactRecords runs the tests that need no list of their own on one
// database, to keep the package fast.
func TestContactRecords(t *testing.T) {
	t.Parallel()
	ce := newContactEnv(t)
	for name, f := range map[string]func(*testing.T, *contactEnv){
		"create and get": testContactCreateAndGet, "validation": testContactValidation,
		"company link": testContactCompanyLink, "update, version and audit": testContactUpdateVersionAndAudit,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f(t, ce)
		})
	}
}

func testContactCreateAndGet(t *testing.T, ce *contactEnv) {
	ctx := context.Background()
	firm := ce.company(t, ce.admin, "Muster AG")
	before := time.Now()
	c := ce.create(t, ce.admin, crm.ContactInput{
		Salutation: ptr("Frau"), FirstName: ptr(" Anna "), LastName: ptr("Meier"),
		Emails:    &[]string{"Anna.Meier@Muster.CH", "anna.meier@muster.ch", "anna@privat.ch"},
		Phones:    &[]string{"044 123 45 67", "+41 44 123 45 67", "079 555 66 77"},
		JobTitle:  ptr("Einkauf"),
		CompanyID: crm.NullID{Set: true, ID: &firm.ID},
		Address:   &crm.Address{Street: "Bahnhofstrasse 1", PostalCode: "8001", City: "Zürich", Canton: "zh"},
		Language:  ptr("fr"), Birthday: ptr("1980-02-29"), Tags: &[]string{"VIP"},
		MarketingConsent: &crm.ConsentInput{Given: ptr(true), Source: ptr("Messe")},
	})
	got, err := ce.s.Contact(ctx, ce.admin, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Anna Meier" || got.Salutation != "Frau" || got.JobTitle != "Einkauf" || got.Language != "fr" {
		t.Errorf("stored contact: %+v", got)
	}
	if !slices.Equal(got.Emails, []string{"anna.meier@muster.ch", "anna@privat.ch"}) {
		t.Errorf("emails %v", got.Emails)
	}
	if !slices.Equal(got.Phones, []string{"+41441234567", "+41795556677"}) {
		t.Errorf("phones %v", got.Phones)
	}
	if got.CompanyID == nil || *got.CompanyID != firm.ID {
		t.Errorf("company %v, want %v", got.CompanyID, firm.ID)
	}
	if got.Birthday == nil || *got.Birthday != "1980-02-29" {
		t.Errorf("birthday %v", got.Birthday)
	}
	if got.Address.Canton != "ZH" || got.Address.City != "Zürich" || got.Address.Country != "CH" {
		t.Errorf("address %+v", got.Address)
	}
	mc := got.MarketingConsent
	if !mc.Given || mc.Source != "Messe" || mc.At == nil || mc.At.Before(before.Add(-time.Second)) || mc.At.After(time.Now()) {
		t.Errorf("consent %+v", mc)
	}
	if got.OwnerID == nil || *got.OwnerID != ce.admin.UserID || got.Version != 1 {
		t.Errorf("owner %v version %d", got.OwnerID, got.Version)
	}
	// The consent lands in its own columns.
	conn := ownerConn(t, ce.e)
	if n := ownerInt(t, conn, `SELECT count(*) FROM contacts WHERE id = $1 AND marketing_consent AND consent_at IS NOT NULL
		AND consent_source = 'Messe' AND language = 'fr' AND birthday = '1980-02-29'`, c.ID); n != 1 {
		t.Error("consent, language or birthday not in their columns")
	}

	entries := auditList(t, ce.e, "alpha", audit.Filter{Action: "contact.create", EntityID: &c.ID})
	if len(entries) != 1 {
		t.Fatalf("create audit entries: %d", len(entries))
	}
	if ch := entries[0].Changes["last_name"]; ch.Before != nil || ch.After != "Meier" {
		t.Errorf("create audit last_name: %+v", ch)
	}
	if _, ok := entries[0].Changes["emails"]; !ok {
		t.Errorf("create audit lacks emails: %v", entries[0].Changes)
	}
}

func testContactValidation(t *testing.T, ce *contactEnv) {
	ctx := context.Background()
	cases := []struct {
		name  string
		in    crm.ContactInput
		field string
	}{
		{"no name", crm.ContactInput{Salutation: ptr("Herr")}, "last_name"},
		{"email", crm.ContactInput{LastName: ptr("M"), Emails: &[]string{"ok@x.ch", "nicht gültig"}}, "emails.1"},
		{"phone", crm.ContactInput{LastName: ptr("M"), Phones: &[]string{"12"}}, "phones.0"},
		{"language", crm.ContactInput{LastName: ptr("M"), Language: ptr("rm")}, "language"},
		{"birthday future", crm.ContactInput{LastName: ptr("M"), Birthday: ptr(time.Now().AddDate(0, 0, 3).Format(time.DateOnly))}, "birthday"},
		{"birthday old", crm.ContactInput{LastName: ptr("M"), Birthday: ptr("1850-01-01")}, "birthday"},
		{"address", crm.ContactInput{LastName: ptr("M"), Address: &crm.Address{PostalCode: "123"}}, "address.postal_code"},
		{"salutation", crm.ContactInput{LastName: ptr("M"), Salutation: ptr(strings.Repeat("x", 51))}, "salutation"},
		{"owner", crm.ContactInput{LastName: ptr("M"), OwnerID: ptr(uuid.New())}, "owner_id"},
		{"company unknown", crm.ContactInput{LastName: ptr("M"), CompanyID: crm.NullID{Set: true, ID: ptr(uuid.New())}}, "company_id"},
		{"custom field unknown", crm.ContactInput{LastName: ptr("M"), Custom: crm.Custom{"x": "y"}}, "custom_fields.x"},
	}
	for _, tc := range cases {
		_, err := ce.s.CreateContact(ctx, ce.admin, tc.in, auth.LoginMeta{})
		contactField(t, err, rpcrm.EINVALID, tc.field)
	}
	conn := ownerConn(t, ce.e)
	if n := ownerInt(t, conn, `SELECT count(*) FROM contacts WHERE last_name = 'M' OR salutation = 'Herr'`); n != 0 {
		t.Errorf("%d contacts stored from bad input", n)
	}
	// Custom fields of the entity "contact" are validated and stored.
	if _, err := execIn(ce.e, ce.admin.TenantID, `INSERT INTO custom_fields (tenant_id, id, entity, key, label, type, options)
		VALUES ($1, $2, 'contact', 'segment', 'Segment', 'choice', '{A,B}')`, ce.admin.TenantID, uuid.New()); err != nil {
		t.Fatal(err)
	}
	_, err := ce.s.CreateContact(ctx, ce.admin, crm.ContactInput{LastName: ptr("M"), Custom: crm.Custom{"segment": "C"}}, auth.LoginMeta{})
	contactField(t, err, rpcrm.EINVALID, "custom_fields.segment")
	c := ce.create(t, ce.admin, crm.ContactInput{LastName: ptr("M"), Custom: crm.Custom{"segment": "B"}})
	if c.Custom["segment"] != "B" {
		t.Errorf("custom %v", c.Custom)
	}
}

func testContactCompanyLink(t *testing.T, ce *contactEnv) {
	ctx := context.Background()
	beta := ce.e.System(t, "beta")
	betaFirm := ce.company(t, beta, "Beta Firma")
	gone := ce.company(t, ce.admin, "Alt AG")
	if err := ce.s.DeleteCompany(ctx, ce.admin, gone.ID, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}
	mine := ce.company(t, ce.admin, "Admin AG")
	link := func(id uuid.UUID) crm.ContactInput {
		return crm.ContactInput{LastName: ptr("Link"), CompanyID: crm.NullID{Set: true, ID: &id}}
	}
	for name, id := range map[string]uuid.UUID{"other tenant": betaFirm.ID, "trashed": gone.ID} {
		_, err := ce.s.CreateContact(ctx, ce.admin, link(id), auth.LoginMeta{})
		if rpcrm.ErrorCode(err) != rpcrm.EINVALID {
			t.Errorf("%s: %v", name, err)
		}
		contactField(t, err, rpcrm.EINVALID, "company_id")
	}
	// A user who sees only their own companies cannot link someone else's,
	// nor can one who may not see companies at all.
	ownCo := contactUser(t, ce.e, "alpha", "own@alpha.test", "contacts:read", "contacts:write", "companies:read:own")
	_, err := ce.s.CreateContact(ctx, ownCo, link(mine.ID), auth.LoginMeta{})
	contactField(t, err, rpcrm.EINVALID, "company_id")
	noCo := contactUser(t, ce.e, "alpha", "noco@alpha.test", "contacts:read", "contacts:write")
	_, err = ce.s.CreateContact(ctx, noCo, link(mine.ID), auth.LoginMeta{})
	contactField(t, err, rpcrm.EINVALID, "company_id")

	// Linking, filtering by company, unlinking with null.
	c := ce.create(t, ce.admin, link(mine.ID))
	ce.create(t, ce.admin, crm.ContactInput{LastName: ptr("Ohne")})
	pg, err := ce.s.ListContacts(ctx, ce.admin, crm.ContactFilter{CompanyID: &mine.ID})
	if err != nil || len(pg.Items) != 1 || pg.Items[0].ID != c.ID {
		t.Fatalf("company filter: %v %v", pg, err)
	}
	// The company is trashed later: other changes to the contact still work.
	if err := ce.s.DeleteCompany(ctx, ce.admin, mine.ID, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}
	c2, err := ce.s.UpdateContact(ctx, ce.admin, c.ID, crm.ContactInput{JobTitle: ptr("CEO"), CompanyID: crm.NullID{Set: true, ID: &mine.ID}}, auth.LoginMeta{})
	if err != nil || c2.JobTitle != "CEO" {
		t.Fatalf("update with the unchanged, trashed company: %v", err)
	}
	c3, err := ce.s.UpdateContact(ctx, ce.admin, c.ID, crm.ContactInput{CompanyID: crm.NullID{Set: true}}, auth.LoginMeta{})
	if err != nil || c3.CompanyID != nil {
		t.Fatalf("unlink: %v %v", c3, err)
	}
	// The database backs the rule: no link across tenants, even bypassing the service.
	_, err = execIn(ce.e, ce.admin.TenantID, `UPDATE contacts SET company_id = $2 WHERE id = $1`, c.ID, betaFirm.ID)
	wantPgCode(t, err, "23503", "cross-tenant company link")
}

func testContactUpdateVersionAndAudit(t *testing.T, ce *contactEnv) {
	ctx := context.Background()
	c := ce.create(t, ce.admin, crm.ContactInput{FirstName: ptr("Hans"), LastName: ptr("Muster"), Emails: &[]string{"h@m.ch"}})

	_, err := ce.s.UpdateContact(ctx, ce.admin, c.ID, crm.ContactInput{LastName: ptr("Neu"), Version: c.Version + 1}, auth.LoginMeta{})
	wantCode(t, err, rpcrm.EPRECONDITION, "stale version")
	_, err = ce.s.UpdateContact(ctx, ce.admin, c.ID, crm.ContactInput{LastName: ptr(""), FirstName: ptr(" ")}, auth.LoginMeta{})
	contactField(t, err, rpcrm.EINVALID, "last_name")
	got, _ := ce.s.Contact(ctx, ce.admin, c.ID)
	if got.LastName != "Muster" || got.Version != c.Version {
		t.Fatalf("refused updates changed the contact: %+v", got)
	}

	c2, err := ce.s.UpdateContact(ctx, ce.admin, c.ID, crm.ContactInput{LastName: ptr("Müller"), Version: c.Version,
		Emails: &[]string{"Neu@M.ch", "h@m.ch"}, MarketingConsent: &crm.ConsentInput{Given: ptr(true)}}, auth.LoginMeta{})
	if err != nil {
		t.Fatal(err)
	}
	if c2.Version != c.Version+1 || c2.Name != "Hans Müller" || c2.Emails[0] != "neu@m.ch" || c2.FirstName != "Hans" {
		t.Errorf("updated: %+v", c2)
	}
	entries := auditList(t, ce.e, "alpha", audit.Filter{Action: "contact.update", EntityID: &c.ID})
	if len(entries) != 1 {
		t.Fatalf("update audit entries: %d", len(entries))
	}
	ch := entries[0].Changes
	if ch["last_name"].Before != "Muster" || ch["last_name"].After != "Müller" {
		t.Errorf("audit last_name: %+v", ch["last_name"])
	}
	if _, ok := ch["first_name"]; ok {
		t.Errorf("unchanged first_name in the audit: %+v", ch)
	}
	if _, ok := ch["marketing_consent"]; !ok {
		t.Errorf("audit lacks the consent: %+v", ch)
	}
	if entries[0].ActorID == nil || *entries[0].ActorID != ce.admin.UserID {
		t.Errorf("audit actor %v", entries[0].ActorID)
	}
	// Withdrawing the consent clears its time and source.
	c3, err := ce.s.UpdateContact(ctx, ce.admin, c.ID, crm.ContactInput{MarketingConsent: &crm.ConsentInput{Given: ptr(false)}}, auth.LoginMeta{})
	if err != nil || c3.MarketingConsent.Given || c3.MarketingConsent.At != nil {
		t.Errorf("withdrawn consent: %+v %v", c3.MarketingConsent, err)
	}
	// A no-op update writes no audit entry.
	if _, err := ce.s.UpdateContact(ctx, ce.admin, c.ID, crm.ContactInput{LastName: ptr("Müller")}, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}
	if n := len(auditList(t, ce.e, "alpha", audit.Filter{Action: "contact.update", EntityID: &c.ID})); n != 2 {
		t.Errorf("update audit entries after a no-op: %d, want 2", n)
	}
}

func TestContactScopes(t *testing.T) {
	t.Parallel()
	ce := newContactEnv(t)
	ctx := context.Background()
	e := ce.e
	e.CreateUser(t, "alpha", "sales@alpha.test", auth.RoleKeySales)
	_, sales := loginAs(t, e, "alpha", "sales@alpha.test")
	theirs := ce.create(t, ce.admin, crm.ContactInput{LastName: ptr("Fremd")})
	mine := ce.create(t, sales, crm.ContactInput{LastName: ptr("Eigen")})
	if mine.OwnerID == nil || *mine.OwnerID != sales.UserID {
		t.Fatalf("owner of a sales user's contact: %v", mine.OwnerID)
	}
	// Sales reads everything …
	pg, err := ce.s.ListContacts(ctx, sales, crm.ContactFilter{})
	if err != nil || len(pg.Items) != 2 {
		t.Fatalf("sales list: %v %v", pg, err)
	}
	if _, err := ce.s.Contact(ctx, sales, theirs.ID); err != nil {
		t.Errorf("sales reads another's contact: %v", err)
	}
	// … but changes only its own.
	_, err = ce.s.UpdateContact(ctx, sales, theirs.ID, crm.ContactInput{JobTitle: ptr("x")}, auth.LoginMeta{})
	wantCode(t, err, rpcrm.ENOTFOUND, "sales updates another's contact")
	wantCode(t, ce.s.DeleteContact(ctx, sales, theirs.ID, auth.LoginMeta{}), rpcrm.ENOTFOUND, "sales deletes another's contact")
	_, err = ce.s.UpdateContact(ctx, sales, mine.ID, crm.ContactInput{OwnerID: &ce.admin.UserID}, auth.LoginMeta{})
	contactField(t, err, rpcrm.EINVALID, "owner_id")
	_, err = ce.s.CreateContact(ctx, sales, crm.ContactInput{LastName: ptr("X"), OwnerID: &ce.admin.UserID}, auth.LoginMeta{})
	contactField(t, err, rpcrm.EINVALID, "owner_id")
	if _, err := ce.s.UpdateContact(ctx, sales, mine.ID, crm.ContactInput{JobTitle: ptr("Chef")}, auth.LoginMeta{}); err != nil {
		t.Errorf("sales updates its own contact: %v", err)
	}
	if err := ce.s.DeleteContact(ctx, sales, mine.ID, auth.LoginMeta{}); err != nil {
		t.Errorf("sales deletes its own contact: %v", err)
	}
	if _, err := ce.s.RestoreContact(ctx, sales, mine.ID, auth.LoginMeta{}); err != nil {
		t.Errorf("sales restores its own contact: %v", err)
	}
	if got, _ := ce.s.Contact(ctx, ce.admin, theirs.ID); got.Version != 1 {
		t.Errorf("another's contact changed: version %d", got.Version)
	}

	// With read scope "own", other contacts do not exist at all.
	reader := contactUser(t, e, "alpha", "reader@alpha.test", "contacts:read:own")
	ownC := ce.create(t, ce.admin, crm.ContactInput{LastName: ptr("Leser"), OwnerID: &reader.UserID})
	pg, err = ce.s.ListContacts(ctx, reader, crm.ContactFilter{})
	if err != nil || len(pg.Items) != 1 || pg.Items[0].ID != ownC.ID {
		t.Fatalf("own-scope list: %v %v", pg, err)
	}
	pg, err = ce.s.ListContacts(ctx, reader, crm.ContactFilter{ListParams: crm.ListParams{Q: "Fremd"}})
	if err != nil || len(pg.Items) != 0 {
		t.Errorf("own-scope search finds others: %v %v", pg, err)
	}
	_, err = ce.s.Contact(ctx, reader, theirs.ID)
	wantCode(t, err, rpcrm.ENOTFOUND, "own-scope get of another's contact")
	// Without the permission at all: forbidden.
	_, err = ce.s.CreateContact(ctx, reader, crm.ContactInput{LastName: ptr("Y")}, auth.LoginMeta{})
	wantCode(t, err, rpcrm.EFORBIDDEN, "create without contacts:write")
}

func TestContactCrossTenant(t *testing.T) {
	t.Parallel()
	ce := newContactEnv(t)
	ctx := context.Background()
	beta := ce.e.System(t, "beta")
	live := ce.create(t, beta, crm.ContactInput{LastName: ptr("Beta")})
	trashed := ce.create(t, beta, crm.ContactInput{LastName: ptr("Beta Papierkorb")})
	if err := ce.s.DeleteContact(ctx, beta, trashed.ID, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}
	m := auth.LoginMeta{}
	_, err := ce.s.Contact(ctx, ce.admin, live.ID)
	wantCode(t, err, rpcrm.ENOTFOUND, "get")
	_, err = ce.s.UpdateContact(ctx, ce.admin, live.ID, crm.ContactInput{LastName: ptr("X")}, m)
	wantCode(t, err, rpcrm.ENOTFOUND, "update")
	wantCode(t, ce.s.DeleteContact(ctx, ce.admin, live.ID, m), rpcrm.ENOTFOUND, "delete")
	_, err = ce.s.RestoreContact(ctx, ce.admin, trashed.ID, m)
	wantCode(t, err, rpcrm.ENOTFOUND, "restore")
	wantCode(t, ce.s.PurgeContact(ctx, ce.admin, trashed.ID, m), rpcrm.ENOTFOUND, "purge")
	for _, deleted := range []bool{false, true} {
		pg, err := ce.s.ListContacts(ctx, ce.admin, crm.ContactFilter{ListParams: crm.ListParams{Deleted: deleted}})
		if err != nil || len(pg.Items) != 0 {
			t.Errorf("alpha list (trash %v) shows beta: %v %v", deleted, pg, err)
		}
	}
	got, err := ce.s.Contact(ctx, beta, live.ID)
	if err != nil || got.LastName != "Beta" || got.Version != 1 {
		t.Errorf("beta contact changed: %+v %v", got, err)
	}
}

func TestContactTrashRestorePurge(t *testing.T) {
	t.Parallel()
	ce := newContactEnv(t)
	ctx := context.Background()
	tenant := ce.admin.TenantID
	m := auth.LoginMeta{}
	firm := ce.company(t, ce.admin, "Firma")
	c := ce.create(t, ce.admin, crm.ContactInput{LastName: ptr("Weg")})
	keep := ce.create(t, ce.admin, crm.ContactInput{LastName: ptr("Bleibt")})

	wantCode(t, ce.s.PurgeContact(ctx, ce.admin, c.ID, m), rpcrm.ENOTFOUND, "purge of a live contact")
	_, err := ce.s.RestoreContact(ctx, ce.admin, c.ID, m)
	wantCode(t, err, rpcrm.ENOTFOUND, "restore of a live contact")
	if err := ce.s.DeleteContact(ctx, ce.admin, c.ID, m); err != nil {
		t.Fatal(err)
	}
	wantCode(t, ce.s.DeleteContact(ctx, ce.admin, c.ID, m), rpcrm.ENOTFOUND, "second delete")
	_, err = ce.s.Contact(ctx, ce.admin, c.ID)
	wantCode(t, err, rpcrm.ENOTFOUND, "get of a trashed contact")
	_, err = ce.s.UpdateContact(ctx, ce.admin, c.ID, crm.ContactInput{JobTitle: ptr("x")}, m)
	wantCode(t, err, rpcrm.ENOTFOUND, "update of a trashed contact")
	ids := func(deleted bool) []uuid.UUID {
		pg, err := ce.s.ListContacts(ctx, ce.admin, crm.ContactFilter{ListParams: crm.ListParams{Deleted: deleted}})
		if err != nil {
			t.Fatal(err)
		}
		var out []uuid.UUID
		for _, x := range pg.Items {
			out = append(out, x.ID)
		}
		return out
	}
	if live, trash := ids(false), ids(true); !slices.Equal(live, []uuid.UUID{keep.ID}) || !slices.Equal(trash, []uuid.UUID{c.ID}) {
		t.Fatalf("live %v, trash %v", live, trash)
	}
	r, err := ce.s.RestoreContact(ctx, ce.admin, c.ID, m)
	if err != nil || r.DeletedAt != nil || r.Version != 3 {
		t.Fatalf("restore: %+v %v", r, err)
	}

	// Records that refer to the contact.
	pipe, stage, deal, act, docOnly, docShared := uuid.New(), uuid.New(), uuid.New(), uuid.New(), uuid.New(), uuid.New()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO pipelines (tenant_id, id, name) VALUES ($1, $2, 'P')`, []any{pipe}},
		{`INSERT INTO stages (tenant_id, id, pipeline_id, name, position) VALUES ($1, $2, $3, 'S', 1)`, []any{stage, pipe}},
		{`INSERT INTO deals (tenant_id, id, title, pipeline_id, stage_id, contact_id) VALUES ($1, $2, 'D', $3, $4, $5)`, []any{deal, pipe, stage, c.ID}},
		{`INSERT INTO activities (tenant_id, id, kind, subject, contact_id) VALUES ($1, $2, 'note', 'N', $3)`, []any{act, c.ID}},
		{`INSERT INTO documents (tenant_id, id, file_name, content_type, size, sha256, contact_id) VALUES ($1, $2, 'a.pdf', 'application/pdf', 1, 'x', $3)`, []any{docOnly, c.ID}},
		{`INSERT INTO documents (tenant_id, id, file_name, content_type, size, sha256, contact_id, company_id) VALUES ($1, $2, 'b.pdf', 'application/pdf', 1, 'x', $3, $4)`, []any{docShared, c.ID, firm.ID}},
	} {
		if _, err := execIn(ce.e, tenant, q.sql, append([]any{tenant}, q.args...)...); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	if err := ce.s.DeleteContact(ctx, ce.admin, c.ID, m); err != nil {
		t.Fatal(err)
	}
	if err := ce.s.PurgeContact(ctx, ce.admin, c.ID, m); err != nil {
		t.Fatal(err)
	}
	conn := ownerConn(t, ce.e)
	if n := ownerInt(t, conn, `SELECT count(*) FROM contacts WHERE id = $1`, c.ID); n != 0 {
		t.Error("purged contact still there")
	}
	if n := ownerInt(t, conn, `SELECT count(*) FROM deals WHERE id = $1 AND contact_id IS NULL`, deal); n != 1 {
		t.Error("deal lost or still linked")
	}
	if n := ownerInt(t, conn, `SELECT count(*) FROM activities WHERE id = $1 AND contact_id IS NULL`, act); n != 1 {
		t.Error("activity lost or still linked")
	}
	if n := ownerInt(t, conn, `SELECT count(*) FROM documents WHERE id = $1`, docOnly); n != 0 {
		t.Error("the contact's own document survived")
	}
	if n := ownerInt(t, conn, `SELECT count(*) FROM documents WHERE id = $1 AND contact_id IS NULL AND company_id = $2`, docShared, firm.ID); n != 1 {
		t.Error("the company's document was lost or still linked")
	}
	wantCode(t, ce.s.PurgeContact(ctx, ce.admin, c.ID, m), rpcrm.ENOTFOUND, "second purge")

	var actions []string
	for _, en := range auditList(t, ce.e, "alpha", audit.Filter{EntityID: &c.ID}) {
		actions = append(actions, en.Action)
		if en.Action == "contact.delete" && (en.Changes["deleted"].Before != false || en.Changes["deleted"].After != true) {
			t.Errorf("delete audit changes: %+v", en.Changes)
		}
	}
	slices.Sort(actions)
	want := []string{"contact.create", "contact.delete", "contact.delete", "contact.purge", "contact.restore"}
	if !slices.Equal(actions, want) {
		t.Errorf("audit actions %v, want %v", actions, want)
	}
}

func TestContactSearch(t *testing.T) {
	t.Parallel()
	ce := newContactEnv(t)
	ctx := context.Background()
	hans := ce.create(t, ce.admin, crm.ContactInput{FirstName: ptr("Hans"), LastName: ptr("Müller"),
		Emails: &[]string{"hans.mueller@beispiel.ch"}, Phones: &[]string{"044 123 45 67"}})
	anna := ce.create(t, ce.admin, crm.ContactInput{FirstName: ptr("Anna"), LastName: ptr("Meier"), JobTitle: ptr("Leiterin Einkauf"),
		Emails: &[]string{"anna@firma.ch"}, Phones: &[]string{"+41 79 555 66 77"}, Address: &crm.Address{City: "Zürich"}})
	ce.create(t, ce.admin, crm.ContactInput{FirstName: ptr("Ruth"), LastName: ptr("Strasser"), Phones: &[]string{"+49 30 7654321"}})
	names := map[uuid.UUID]string{hans.ID: "Hans", anna.ID: "Anna"}
	search := func(q string) []string {
		pg, err := ce.s.ListContacts(ctx, ce.admin, crm.ContactFilter{ListParams: crm.ListParams{Q: q}})
		if err != nil {
			t.Fatalf("search %q: %v", q, err)
		}
		var out []string
		for _, c := range pg.Items {
			if n, ok := names[c.ID]; ok {
				out = append(out, n)
			} else {
				out = append(out, c.FirstName)
			}
		}
		slices.Sort(out)
		return out
	}
	cases := map[string][]string{
		"mueller": {"Hans"}, "muller": {"Hans"}, "Müller": {"Hans"}, "MÜLLER": {"Hans"}, "Hans Müller": {"Hans"},
		"Müler":                    {"Hans"}, // one letter missing
		"Hans Mülker":              {"Hans"}, // one letter wrong
		"hans.mueller@beispiel.ch": {"Hans"}, "beispiel.ch": {"Hans"}, "anna@firma": {"Anna"},
		"044 123 45 67": {"Hans"}, "+41 44 123 45 67": {"Hans"}, "0041441234567": {"Hans"},
		"(044) 123-45-67": {"Hans"}, "123 45 67": {"Hans"}, "079 555 66 77": {"Anna"}, "+41795556677": {"Anna"},
		"0049 30 7654321": {"Ruth"},
		"zurich":          {"Anna"}, "Zuerich": {"Anna"}, "einkauf": {"Anna"},
		"Strasser": {"Ruth"}, "Straßer": {"Ruth"},
		"Meier": {"Anna"}, "Schmid": nil,
	}
	for q, want := range cases {
		if got := search(q); !slices.Equal(got, want) {
			t.Errorf("search %q: %v, want %v", q, got, want)
		}
	}
	// Other filters combine with the search.
	pg, err := ce.s.ListContacts(ctx, ce.admin, crm.ContactFilter{ListParams: crm.ListParams{Q: "Müller"}, Language: "fr"})
	if err != nil || len(pg.Items) != 0 {
		t.Errorf("search + language: %v %v", pg, err)
	}
}

func TestContactFiltersAndPaging(t *testing.T) {
	t.Parallel()
	ce := newContactEnv(t)
	ctx := context.Background()
	other := contactUser(t, ce.e, "alpha", "other@alpha.test", "contacts:read")
	lasts := []string{"Meier", "meier", "Müller", "Zürcher", "Ammann", "Brunner", "Meier", "Keller", "", "Huber"}
	var all []uuid.UUID
	for i := range 23 {
		in := crm.ContactInput{FirstName: ptr(fmt.Sprintf("P%02d", i%5)), LastName: ptr(lasts[i%len(lasts)])}
		if i%3 == 0 {
			in.Birthday = ptr(fmt.Sprintf("19%02d-0%d-1%d", 50+i, 1+i%9, i%10))
		}
		if i%4 == 0 {
			in.Language = ptr("it")
			in.Tags = &[]string{"Tessin"}
		}
		if i%5 == 0 {
			in.OwnerID = &other.UserID
		}
		all = append(all, ce.create(t, ce.admin, in).ID)
	}
	slices.SortFunc(all, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
	for _, sort := range []string{"last_name", "first_name", "birthday", "created_at", "updated_at"} {
		for _, desc := range []bool{false, true} {
			var seen []uuid.UUID
			var prev *crm.Contact
			cursor := ""
			for pages := 0; ; pages++ {
				if pages > 10 {
					t.Fatalf("%s: too many pages", sort)
				}
				pg, err := ce.s.ListContacts(ctx, ce.admin, crm.ContactFilter{ListParams: crm.ListParams{Sort: sort, Desc: desc, Limit: 4, Cursor: cursor}})
				if err != nil {
					t.Fatalf("%s page %d: %v", sort, pages, err)
				}
				if len(pg.Items) > 4 {
					t.Fatalf("%s: page of %d", sort, len(pg.Items))
				}
				for _, c := range pg.Items {
					// Only plain ASCII keys compare alike in Go and in any database collation.
					if prev != nil && sort == "last_name" {
						// Last name, then first name, each compared on its own.
						a := []string{strings.ToLower(prev.LastName), strings.ToLower(prev.FirstName)}
						b := []string{strings.ToLower(c.LastName), strings.ToLower(c.FirstName)}
						if desc {
							a, b = b, a
						}
						if plainKey(strings.Join(a, " ")) && plainKey(strings.Join(b, " ")) && slices.Compare(a, b) > 0 {
							t.Errorf("last_name order (desc %v): %q, %q", desc, prev.Name, c.Name)
						}
					}
					prev = c
					seen = append(seen, c.ID)
				}
				if pg.NextCursor == "" {
					break
				}
				cursor = pg.NextCursor
			}
			slices.SortFunc(seen, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
			if !slices.Equal(seen, all) {
				t.Errorf("sort %s desc %v: %d contacts seen, want each of %d exactly once", sort, desc, len(seen), len(all))
			}
		}
	}
	count := func(f crm.ContactFilter) int {
		pg, err := ce.s.ListContacts(ctx, ce.admin, f)
		if err != nil {
			t.Fatal(err)
		}
		return len(pg.Items)
	}
	if n := count(crm.ContactFilter{Language: "it"}); n != 6 {
		t.Errorf("language it: %d, want 6", n)
	}
	if n := count(crm.ContactFilter{ListParams: crm.ListParams{Tag: "Tessin"}}); n != 6 {
		t.Errorf("tag: %d, want 6", n)
	}
	if n := count(crm.ContactFilter{ListParams: crm.ListParams{OwnerID: &other.UserID}}); n != 5 {
		t.Errorf("owner: %d, want 5", n)
	}
	future := time.Now().Add(time.Hour)
	if n := count(crm.ContactFilter{ListParams: crm.ListParams{UpdatedSince: &future}}); n != 0 {
		t.Errorf("updated_since in the future: %d", n)
	}
	_, err := ce.s.ListContacts(ctx, ce.admin, crm.ContactFilter{ListParams: crm.ListParams{Sort: "email"}})
	contactField(t, err, rpcrm.EINVALID, "sort")
	_, err = ce.s.ListContacts(ctx, ce.admin, crm.ContactFilter{ListParams: crm.ListParams{Limit: 201}})
	contactField(t, err, rpcrm.EINVALID, "limit")
}

func plainKey(s string) bool {
	for i, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == ' ' && i > 0) {
			return false
		}
	}
	return true
}
