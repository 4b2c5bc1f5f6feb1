package postgres_test

import (
	"context"
	"fmt"
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

func TestCompanyChoices(t *testing.T) {
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
	// The companies of ListChoices, as a choice list by name.
	companies := func(p *auth.Principal, max int) ([]crm.NamedRecord, bool, error) {
		ch, err := s.ListChoices(ctx, p, max)
		if err != nil {
			return nil, false, err
		}
		return ch.Companies, ch.CompaniesMore, nil
	}
	got, more, err := companies(admin, 10)
	if err != nil || more || len(got) != 3 || got[0].Name != "alpha GmbH" || got[1].Name != "Beta Holz AG" || got[2].Name != "Zeta AG" {
		t.Fatalf("choices %+v more %v err %v; want alpha's three by name, case-insensitive", got, more, err)
	}
	if got, more, err := companies(admin, 2); err != nil || !more || len(got) != 2 {
		t.Fatalf("max 2: %+v more %v err %v", got, more, err)
	}
	own := searchPrincipal(t, e, "alpha", uuid.New(), "companies:read:own")
	if got, _, err := companies(own, 10); err != nil || len(got) != 0 {
		t.Fatalf("own scope: %+v %v", got, err)
	}
	none := searchPrincipal(t, e, "alpha", admin.UserID, "contacts:read")
	if got, _, err := companies(none, 10); err != nil || len(got) != 0 {
		t.Fatalf("without companies:read: %+v %v", got, err)
	}
}

func TestListChoices(t *testing.T) {
	t.Parallel()
	e := testfix.New(t)
	s := &postgres.CRMService{DB: e.DB}
	as := &postgres.AuthService{DB: e.DB}
	ctx := context.Background()
	admin := builtinPrincipal(t, e, "alpha", "admin@alpha.test", auth.RoleKeyAdmin)
	beta := builtinPrincipal(t, e, "beta", "admin@beta.test", auth.RoleKeyAdmin)
	gone := e.CreateUser(t, "alpha", "gone@alpha.test", auth.RoleKeySales)
	yes := true
	if _, err := as.UpdateUser(ctx, admin, gone.ID, auth.UserPatch{Disabled: &yes}, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Zeta AG", "alpha GmbH", "Beta Holz AG"} {
		if _, err := s.CreateCompany(ctx, admin, crm.CompanyInput{Name: &name}, auth.LoginMeta{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tag := range []string{"VIP", "Kunde"} {
		if _, err := s.CreateTag(ctx, admin, crm.TagInput{Name: &tag}, auth.LoginMeta{}); err != nil {
			t.Fatal(err)
		}
	}
	other := "Andere Firma"
	if _, err := s.CreateCompany(ctx, beta, crm.CompanyInput{Name: &other}, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}

	ch, err := s.ListChoices(ctx, admin, 2)
	if err != nil {
		t.Fatal(err)
	}
	var users []string
	for _, u := range ch.Users {
		users = append(users, fmt.Sprintf("%s disabled=%v", u.Name, u.Disabled))
	}
	wantUsers := []string{admin.Email, "gone@alpha.test"}
	if len(ch.Users) != 2 || ch.Users[0].ID != admin.UserID || ch.Users[1].ID != gone.ID || ch.Users[0].Disabled || !ch.Users[1].Disabled {
		t.Errorf("users = %v; want %v (the second disabled), alpha's only", users, wantUsers)
	}
	if len(ch.Tags) != 2 || ch.Tags[0].Name != "Kunde" || ch.Tags[1].Name != "VIP" {
		t.Errorf("tags = %+v; want Kunde, VIP", ch.Tags)
	}
	if len(ch.Companies) != 2 || !ch.CompaniesMore || ch.Companies[0].Name != "alpha GmbH" || ch.Companies[1].Name != "Beta Holz AG" {
		t.Errorf("companies = %+v more %v; want the first two of alpha's three by name, and more", ch.Companies, ch.CompaniesMore)
	}
	if ch, err := s.ListChoices(ctx, admin, 0); err != nil || len(ch.Companies) != 0 || ch.CompaniesMore || len(ch.Users) != 2 {
		t.Errorf("without companies: %+v, %v", ch, err)
	}
	own := searchPrincipal(t, e, "alpha", uuid.New(), "companies:read:own")
	if ch, err := s.ListChoices(ctx, own, 10); err != nil || len(ch.Companies) != 0 || ch.CompaniesMore {
		t.Errorf("own scope: %+v, %v; want no companies", ch, err)
	}
	none := searchPrincipal(t, e, "alpha", admin.UserID, "contacts:read")
	if ch, err := s.ListChoices(ctx, none, 10); err != nil || len(ch.Companies) != 0 || len(ch.Users) != 2 {
		t.Errorf("without companies:read: %+v, %v; want users but no companies", ch, err)
	}
}
