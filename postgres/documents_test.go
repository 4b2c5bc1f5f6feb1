package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/audit"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
	"github.com/rpcrm/rpcrm/internal/testfix"
	"github.com/rpcrm/rpcrm/postgres"
)

// TestDocumentService runs the document service tests on one database;
// each part has its own users and companies.
func TestDocumentService(t *testing.T) {
	t.Parallel()
	e := testfix.New(t)
	e.CreateUser(t, "beta", "admin@beta.test", "admin")
	t.Run("links", func(t *testing.T) { testDocumentLinks(t, e) })
	t.Run("lifecycle", func(t *testing.T) { testDocumentLifecycle(t, e) })
	t.Run("own scope", func(t *testing.T) { testDocumentOwnScope(t, e) })
}

// docInput is a measured upload linked to company.
func docInput(name string, company *uuid.UUID) crm.DocumentInput {
	return crm.DocumentInput{ID: uuid.Must(uuid.NewV7()), FileName: name, ContentType: "application/pdf", Size: 1234,
		SHA256: strings.Repeat("ab", 32), CompanyID: company}
}

func docCompany(t *testing.T, s *postgres.CRMService, p *auth.Principal, name string) *crm.Company {
	t.Helper()
	c, err := s.CreateCompany(context.Background(), p, crm.CompanyInput{Name: &name}, auth.LoginMeta{})
	if err != nil {
		t.Fatalf("create company %s: %v", name, err)
	}
	return c
}

func testDocumentLinks(t *testing.T, e *testfix.Env) {
	ctx := context.Background()
	s := &postgres.CRMService{DB: e.DB}
	sys := e.System(t, "alpha")
	own := docRole(t, e, "alpha", "Eigene Firmen", "companies:read:own", "companies:write:own", "contacts:read:own", "documents:read", "documents:write")
	e.CreateUser(t, "alpha", "anna@alpha.test", "sales")
	_, anna := loginAs(t, e, "alpha", "anna@alpha.test")
	docUser(t, e, "alpha", "olga@alpha.test", own)
	_, olga := loginAs(t, e, "alpha", "olga@alpha.test")
	noCompanies := docRole(t, e, "alpha", "Nur Dokumente", "documents:read", "documents:write")
	docUser(t, e, "alpha", "dora@alpha.test", noCompanies)
	_, dora := loginAs(t, e, "alpha", "dora@alpha.test")

	annas := docCompany(t, s, anna, "Annas AG")
	trashed := docCompany(t, s, sys, "Papierkorb AG")
	if err := s.DeleteCompany(ctx, sys, trashed.ID, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}
	beta := docCompany(t, s, e.System(t, "beta"), "Beta Kunde AG")

	// A contact and a deal, written by the schema owner: their services live elsewhere.
	conn := ownerConn(t, e)
	alpha := tid(t, e, "alpha")
	contact, deal, pipeline, stage := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	ownerExec(t, conn, `INSERT INTO contacts (tenant_id, id, last_name, owner_id) VALUES ($1, $2, 'Muster', $3)`, alpha, contact, anna.UserID)
	ownerExec(t, conn, `INSERT INTO pipelines (tenant_id, id, name) VALUES ($1, $2, 'Dokumente-Test')`, alpha, pipeline)
	ownerExec(t, conn, `INSERT INTO stages (tenant_id, id, pipeline_id, name, position) VALUES ($1, $2, $3, 'Neu', 1)`, alpha, stage, pipeline)
	ownerExec(t, conn, `INSERT INTO deals (tenant_id, id, title, pipeline_id, stage_id) VALUES ($1, $2, 'Gross', $3, $4)`, alpha, deal, pipeline, stage)

	cases := []struct {
		name  string
		p     *auth.Principal
		in    func(*crm.DocumentInput)
		field string // "" means the document is created
	}{
		{"company", anna, func(in *crm.DocumentInput) {}, ""},
		{"contact", anna, func(in *crm.DocumentInput) { in.CompanyID, in.ContactID = nil, &contact }, ""},
		{"deal", anna, func(in *crm.DocumentInput) { in.CompanyID, in.DealID = nil, &deal }, ""},
		{"no link", anna, func(in *crm.DocumentInput) { in.CompanyID = nil }, "company_id"},
		{"two links", anna, func(in *crm.DocumentInput) { in.ContactID = &contact }, "company_id"},
		{"unknown company", anna, func(in *crm.DocumentInput) { in.CompanyID = ptr(uuid.New()) }, "company_id"},
		{"trashed company", anna, func(in *crm.DocumentInput) { in.CompanyID = &trashed.ID }, "company_id"},
		{"company of another tenant", anna, func(in *crm.DocumentInput) { in.CompanyID = &beta.ID }, "company_id"},
		{"unknown deal", anna, func(in *crm.DocumentInput) { in.CompanyID, in.DealID = nil, ptr(uuid.New()) }, "deal_id"},
		{"own scope, own company", olga, func(in *crm.DocumentInput) { in.CompanyID = &docCompany(t, s, olga, "Olgas GmbH").ID }, ""},
		{"own scope, someone else's company", olga, func(in *crm.DocumentInput) {}, "company_id"},
		{"own scope, someone else's contact", olga, func(in *crm.DocumentInput) { in.CompanyID, in.ContactID = nil, &contact }, "contact_id"},
		{"no companies:read", dora, func(in *crm.DocumentInput) {}, "company_id"},
		{"no deals:read", olga, func(in *crm.DocumentInput) { in.CompanyID, in.DealID = nil, &deal }, "deal_id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := docInput("Offerte.pdf", &annas.ID)
			tc.in(&in)
			d, err := s.CreateDocument(ctx, tc.p, in, auth.LoginMeta{})
			n := ownerInt(t, conn, `SELECT count(*) FROM documents WHERE id = $1`, in.ID)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("CreateDocument: %v", err)
				}
				if n != 1 || d.ID != in.ID || d.OwnerID == nil || *d.OwnerID != tc.p.UserID {
					t.Errorf("document %+v, %d rows", d, n)
				}
				return
			}
			wantCode(t, err, rpcrm.EINVALID, "CreateDocument")
			if e, ok := err.(*rpcrm.Error); !ok || e.Fields[tc.field] == "" {
				t.Errorf("error %v does not name %s", err, tc.field)
			}
			if n != 0 {
				t.Errorf("refused document was stored")
			}
		})
	}
}

func testDocumentLifecycle(t *testing.T, e *testfix.Env) {
	ctx := context.Background()
	s := &postgres.CRMService{DB: e.DB}
	sys := e.System(t, "alpha")
	e.CreateUser(t, "alpha", "lena@alpha.test", "sales")
	e.CreateUser(t, "alpha", "beat@alpha.test", "sales")
	_, anna := loginAs(t, e, "alpha", "lena@alpha.test")
	_, beat := loginAs(t, e, "alpha", "beat@alpha.test")
	_, betaAdmin := loginAs(t, e, "beta", "admin@beta.test")
	meta := auth.LoginMeta{IP: "192.0.2.1", RequestID: "req-1"}

	c := docCompany(t, s, sys, "Kunde AG")
	other := docCompany(t, s, sys, "Andere AG")
	in := docInput("Vertrag.pdf", &c.ID)
	d, err := s.CreateDocument(ctx, anna, in, meta)
	if err != nil {
		t.Fatal(err)
	}
	if d.FileName != "Vertrag.pdf" || d.Size != 1234 || d.SHA256 != in.SHA256 || d.ContentType != "application/pdf" ||
		d.CompanyID == nil || *d.CompanyID != c.ID || d.Version != 1 {
		t.Errorf("created %+v", d)
	}
	// Beat (sales: read all, delete own) sees Anna's document but cannot delete it.
	if _, err := s.Document(ctx, beat, d.ID); err != nil {
		t.Errorf("sales colleague cannot read: %v", err)
	}
	wantCode(t, s.DeleteDocument(ctx, beat, d.ID, meta), rpcrm.ENOTFOUND, "colleague deletes")
	// Another tenant sees nothing, for every verb.
	_, err = s.Document(ctx, betaAdmin, d.ID)
	wantCode(t, err, rpcrm.ENOTFOUND, "other tenant reads")
	wantCode(t, s.DeleteDocument(ctx, betaAdmin, d.ID, meta), rpcrm.ENOTFOUND, "other tenant deletes")
	if pg, err := s.ListDocuments(ctx, betaAdmin, crm.DocumentFilter{}); err != nil || len(pg.Items) != 0 {
		t.Errorf("other tenant lists %v, %v", pg, err)
	}

	if err := s.DeleteDocument(ctx, anna, d.ID, meta); err != nil {
		t.Fatal(err)
	}
	_, err = s.Document(ctx, anna, d.ID)
	wantCode(t, err, rpcrm.ENOTFOUND, "read trashed")
	wantCode(t, s.DeleteDocument(ctx, anna, d.ID, meta), rpcrm.ENOTFOUND, "delete twice")
	wantCode(t, s.PurgeDocument(ctx, beat, d.ID, meta), rpcrm.ENOTFOUND, "colleague purges")
	_, err = s.RestoreDocument(ctx, betaAdmin, d.ID, meta)
	wantCode(t, err, rpcrm.ENOTFOUND, "other tenant restores")
	wantCode(t, s.PurgeDocument(ctx, betaAdmin, d.ID, meta), rpcrm.ENOTFOUND, "other tenant purges")
	if pg, err := s.ListDocuments(ctx, beat, crm.DocumentFilter{ListParams: crm.ListParams{Deleted: true}}); err != nil || len(pg.Items) != 0 {
		t.Errorf("colleague's trash (delete:own) shows %v, %v", pg, err)
	}
	if pg, err := s.ListDocuments(ctx, anna, crm.DocumentFilter{ListParams: crm.ListParams{Deleted: true}}); err != nil || len(pg.Items) != 1 {
		t.Errorf("own trash shows %v, %v", pg, err)
	}
	r, err := s.RestoreDocument(ctx, anna, d.ID, meta)
	if err != nil || r.DeletedAt != nil || r.Version != 3 {
		t.Fatalf("restore: %+v, %v", r, err)
	}
	wantCode(t, s.PurgeDocument(ctx, anna, d.ID, meta), rpcrm.ENOTFOUND, "purge a live document")
	if err := s.DeleteDocument(ctx, anna, d.ID, meta); err != nil {
		t.Fatal(err)
	}
	if err := s.PurgeDocument(ctx, anna, d.ID, meta); err != nil {
		t.Fatal(err)
	}
	if n := ownerInt(t, ownerConn(t, e), `SELECT count(*) FROM documents WHERE id = $1`, d.ID); n != 0 {
		t.Errorf("purged document still has %d rows", n)
	}

	entries := auditList(t, e, "alpha", audit.Filter{EntityType: "document", EntityID: &d.ID, Limit: 50})
	var actions []string
	for _, en := range entries {
		actions = append([]string{en.Action}, actions...)
		if en.Details["file_name"] != "Vertrag.pdf" || en.Details["sha256"] != in.SHA256 || fmt.Sprint(en.Details["size"]) != "1234" {
			t.Errorf("%s details %v", en.Action, en.Details)
		}
		if en.IP != "192.0.2.1" || en.ActorID == nil || *en.ActorID != anna.UserID {
			t.Errorf("%s by %v from %q", en.Action, en.ActorID, en.IP)
		}
	}
	if got := strings.Join(actions, " "); got != "document.create document.delete document.restore document.delete document.purge" {
		t.Errorf("audit actions: %s", got)
	}
	if ch := entries[len(entries)-1].Changes; ch["file_name"].After != "Vertrag.pdf" {
		t.Errorf("create changes %v", ch)
	}

	// Lists: by linked record, keyset pages, search, sorting.
	for i := range 5 {
		target := &c.ID
		if i%2 == 1 {
			target = &other.ID
		}
		if _, err := s.CreateDocument(ctx, anna, docInput(fmt.Sprintf("Beleg %d.pdf", i), target), meta); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	f := crm.DocumentFilter{ListParams: crm.ListParams{Limit: 2}, CompanyID: &c.ID}
	for pages := 0; ; pages++ {
		pg, err := s.ListDocuments(ctx, beat, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range pg.Items {
			names = append(names, d.FileName)
		}
		if pg.NextCursor == "" {
			break
		}
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		f.Cursor = pg.NextCursor
	}
	if got := strings.Join(names, ","); got != "Beleg 4.pdf,Beleg 2.pdf,Beleg 0.pdf" {
		t.Errorf("company's documents, newest first: %s", got)
	}
	pg, err := s.ListDocuments(ctx, anna, crm.DocumentFilter{ListParams: crm.ListParams{Q: "beleg 3", Sort: "file_name"}})
	if err != nil || len(pg.Items) != 1 || pg.Items[0].FileName != "Beleg 3.pdf" {
		t.Errorf("search: %v, %v", pg, err)
	}
	_, err = s.ListDocuments(ctx, anna, crm.DocumentFilter{ListParams: crm.ListParams{Sort: "sha256"}})
	wantCode(t, err, rpcrm.EINVALID, "sort by a field not on the list")
}

func testDocumentOwnScope(t *testing.T, e *testfix.Env) {
	ctx := context.Background()
	s := &postgres.CRMService{DB: e.DB}
	role := docRole(t, e, "alpha", "Eigene Dokumente", "companies:read", "documents:read:own", "documents:write:own", "documents:delete:own")
	docUser(t, e, "alpha", "olivia@alpha.test", role)
	docUser(t, e, "alpha", "otto@alpha.test", role)
	_, olga := loginAs(t, e, "alpha", "olivia@alpha.test")
	_, otto := loginAs(t, e, "alpha", "otto@alpha.test")
	c := docCompany(t, s, e.System(t, "alpha"), "Kunde AG")
	d, err := s.CreateDocument(ctx, olga, docInput("Olga.pdf", &c.ID), auth.LoginMeta{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Document(ctx, otto, d.ID)
	wantCode(t, err, rpcrm.ENOTFOUND, "read another's document")
	wantCode(t, s.DeleteDocument(ctx, otto, d.ID, auth.LoginMeta{}), rpcrm.ENOTFOUND, "delete another's document")
	if pg, err := s.ListDocuments(ctx, otto, crm.DocumentFilter{CompanyID: &c.ID}); err != nil || len(pg.Items) != 0 {
		t.Errorf("list shows another's documents: %v, %v", pg, err)
	}
	if pg, err := s.ListDocuments(ctx, olga, crm.DocumentFilter{CompanyID: &c.ID}); err != nil || len(pg.Items) != 1 {
		t.Errorf("list hides own documents: %v, %v", pg, err)
	}
}

// docRole creates a role with exactly the given permissions.
func docRole(t *testing.T, e *testfix.Env, slug, name string, perms ...string) uuid.UUID {
	t.Helper()
	r, err := e.Auth.CreateRole(context.Background(), e.System(t, slug), auth.RoleInput{Name: name, Permissions: perms}, auth.LoginMeta{})
	if err != nil {
		t.Fatalf("create role %s: %v", name, err)
	}
	return r.ID
}

// docUser creates a user holding one role.
func docUser(t *testing.T, e *testfix.Env, slug, email string, role uuid.UUID) {
	t.Helper()
	_, err := e.Auth.CreateUser(context.Background(), e.System(t, slug),
		auth.NewUser{Email: email, Name: "Test " + email, Password: testfix.Password, RoleIDs: []uuid.UUID{role}}, auth.LoginMeta{})
	if err != nil {
		t.Fatalf("create user %s: %v", email, err)
	}
}
