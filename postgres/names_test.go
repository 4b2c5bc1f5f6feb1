package postgres_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
	"github.com/rpcrm/rpcrm/internal/testfix"
	"github.com/rpcrm/rpcrm/postgres"
)

func TestRecordNamesOfCompanies(t *testing.T) {
	t.Parallel()
	e := testfix.New(t)
	s := &postgres.CRMService{DB: e.DB}
	ctx := context.Background()
	admin := builtinPrincipal(t, e, "alpha", "admin@alpha.test", auth.RoleKeyAdmin)
	beta := builtinPrincipal(t, e, "beta", "admin@beta.test", auth.RoleKeyAdmin)
	mk := func(p *auth.Principal, name string) uuid.UUID {
		c, err := s.CreateCompany(ctx, p, crm.CompanyInput{Name: &name}, auth.LoginMeta{})
		if err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	a, b, gone, other := mk(admin, "Müller AG"), mk(admin, "Keller GmbH"), mk(admin, "Weg AG"), mk(beta, "Beta Intern")
	if err := s.DeleteCompany(ctx, admin, gone, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}
	got, err := s.RecordNames(ctx, admin, crm.EntityCompany, []uuid.UUID{a, b, gone, other, uuid.New()})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[a] != "Müller AG" || got[b] != "Keller GmbH" {
		t.Fatalf("names = %v; want the two live alpha companies only", got)
	}
	// Scope "own": only the user's own companies.
	own := searchPrincipal(t, e, "alpha", uuid.New(), "companies:read:own")
	if got, err := s.RecordNames(ctx, own, crm.EntityCompany, []uuid.UUID{a, b}); err != nil || len(got) != 0 {
		t.Fatalf("own scope names = %v, %v", got, err)
	}
	none := searchPrincipal(t, e, "alpha", admin.UserID, "contacts:read")
	if got, err := s.RecordNames(ctx, none, crm.EntityCompany, []uuid.UUID{a}); err != nil || len(got) != 0 {
		t.Fatalf("without companies:read: %v, %v", got, err)
	}
}

func TestNameChoices(t *testing.T) {
	t.Parallel()
	e := testfix.New(t)
	s := &postgres.CRMService{DB: e.DB}
	ctx := context.Background()
	admin := builtinPrincipal(t, e, "alpha", "admin@alpha.test", auth.RoleKeyAdmin)
	beta := builtinPrincipal(t, e, "beta", "admin@beta.test", auth.RoleKeyAdmin)
	for _, name := range []string{"Zeta AG", "alpha GmbH", "Beta Holz AG"} {
		if _, err := s.CreateCompany(ctx, admin, crm.CompanyInput{Name: &name}, auth.LoginMeta{}); err != nil {
			t.Fatal(err)
		}
	}
	other := "Andere Firma"
	if _, err := s.CreateCompany(ctx, beta, crm.CompanyInput{Name: &other}, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}
	got, more, err := s.NameChoices(ctx, admin, crm.EntityCompany, 10)
	if err != nil || more || len(got) != 3 || got[0].Name != "alpha GmbH" || got[1].Name != "Beta Holz AG" || got[2].Name != "Zeta AG" {
		t.Fatalf("choices %+v more %v err %v; want alpha's three by name, case-insensitive", got, more, err)
	}
	if got, more, err := s.NameChoices(ctx, admin, crm.EntityCompany, 2); err != nil || !more || len(got) != 2 {
		t.Fatalf("max 2: %+v more %v err %v", got, more, err)
	}
	own := searchPrincipal(t, e, "alpha", uuid.New(), "companies:read:own")
	if got, _, err := s.NameChoices(ctx, own, crm.EntityCompany, 10); err != nil || len(got) != 0 {
		t.Fatalf("own scope: %+v %v", got, err)
	}
	none := searchPrincipal(t, e, "alpha", admin.UserID, "contacts:read")
	if got, _, err := s.NameChoices(ctx, none, crm.EntityCompany, 10); err != nil || len(got) != 0 {
		t.Fatalf("without companies:read: %+v %v", got, err)
	}
}
