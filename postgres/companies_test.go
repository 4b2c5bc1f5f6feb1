package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/audit"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
	"github.com/rpcrm/rpcrm/internal/testfix"
	"github.com/rpcrm/rpcrm/postgres"
)

// companyEnv is one fixture for all company, tag and custom field tests:
// its subtests run in sequence and keep out of each other's way (the list
// test has tenant beta to itself). Principals are built from the users'
// roles rather than by logging in: hashing passwords under the race
// detector is what makes tests slow.
type companyEnv struct {
	e                               *testfix.Env
	s                               *postgres.CRMService
	admin, sales                    *auth.Principal // alpha: built-in admin and sales (read all, write/delete own)
	other                           *auth.Principal // alpha: a second sales user
	betaAdmin, betaSales, betaOther *auth.Principal
}

func newCompanyEnv(t *testing.T) *companyEnv {
	t.Helper()
	e := testfix.New(t)
	ce := &companyEnv{e: e, s: &postgres.CRMService{DB: e.DB}}
	ce.admin = builtinPrincipal(t, e, "alpha", "admin@alpha.test", auth.RoleKeyAdmin)
	ce.sales = builtinPrincipal(t, e, "alpha", "sales@alpha.test", auth.RoleKeySales)
	ce.other = builtinPrincipal(t, e, "alpha", "other@alpha.test", auth.RoleKeySales)
	ce.betaAdmin = builtinPrincipal(t, e, "beta", "admin@beta.test", auth.RoleKeyAdmin)
	ce.betaSales = builtinPrincipal(t, e, "beta", "sales@beta.test", auth.RoleKeySales)
	ce.betaOther = builtinPrincipal(t, e, "beta", "other@beta.test", auth.RoleKeySales)
	return ce
}

// builtinPrincipal creates a user with a built-in role and returns the
// principal that Authenticate would give them.
func builtinPrincipal(t *testing.T, e *testfix.Env, slug, email, role string) *auth.Principal {
	t.Helper()
	u := e.CreateUser(t, slug, email, role)
	var grants []auth.Grant
	for _, r := range auth.BuiltinRoles() {
		if r.Key == role {
			grants = r.Grants
		}
	}
	ref := e.Ref(t, slug)
	return &auth.Principal{UserID: u.ID, TenantID: ref.ID, Tenant: ref.Slug, Email: email, Grants: auth.MergeGrants(grants)}
}

// TestCompanies runs the CRM record tests of companies, tags and custom
// fields on one fixture.
func TestCompanies(t *testing.T) {
	t.Parallel()
	ce := newCompanyEnv(t)
	t.Run("create and validate", func(t *testing.T) { testCompanyCreateAndValidate(t, ce) })
	t.Run("UID unique", func(t *testing.T) { testCompanyUIDUnique(t, ce) })
	t.Run("list", func(t *testing.T) { testCompanyList(t, ce) })
	t.Run("scopes", func(t *testing.T) { testCompanyScopes(t, ce) })
	t.Run("version, trash, audit", func(t *testing.T) { testCompanyVersionTrashAudit(t, ce) })
	t.Run("cross-tenant", func(t *testing.T) { testCompanyCrossTenant(t, ce) })
	t.Run("new tag from concurrent writes", func(t *testing.T) { testConcurrentNewTag(t, ce) })
	t.Run("tags", func(t *testing.T) { testTags(t, ce) })
	t.Run("custom fields", func(t *testing.T) { testCustomFields(t, ce) })
}

func (ce *companyEnv) create(t *testing.T, p *auth.Principal, in crm.CompanyInput) *crm.Company {
	t.Helper()
	c, err := ce.s.CreateCompany(context.Background(), p, in, auth.LoginMeta{})
	if err != nil {
		t.Fatalf("create company %v: %v", coStr(in.Name), err)
	}
	return c
}

func coStr(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

// companyCount counts the tenant's company rows, trashed ones included.
func companyCount(t *testing.T, e *testfix.Env, tenant uuid.UUID) int {
	t.Helper()
	var n int
	err := e.DB.InTenant(context.Background(), tenant, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT count(*) FROM companies`).Scan(&n)
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func coWantFields(t *testing.T, err error, what string, fields ...string) {
	t.Helper()
	var re *rpcrm.Error
	if !errors.As(err, &re) || re.Code != rpcrm.EINVALID {
		t.Errorf("%s: want EINVALID, got %v", what, err)
		return
	}
	for _, f := range fields {
		if re.Fields[f] == "" {
			t.Errorf("%s: error names no field %q: %v", what, f, re.Fields)
		}
	}
}

func companyNames(items []*crm.Company) []string {
	out := []string{}
	for _, c := range items {
		out = append(out, c.Name)
	}
	return out
}

func testCompanyCreateAndValidate(t *testing.T, ce *companyEnv) {
	ctx := context.Background()
	alpha := tid(t, ce.e, "alpha")

	c := ce.create(t, ce.admin, crm.CompanyInput{
		Name: ptr("  Müller AG "), UID: ptr("che109322551 mwst"), Website: ptr("mueller.ch"), Email: ptr(" Info@Mueller.CH "),
		Phone:    ptr("044 123 45 67"),
		Address:  &crm.Address{Street: "Bahnhofstrasse 1", PostalCode: "8001", City: "Zürich", Canton: "zh"},
		Industry: ptr("Maschinenbau"), Tags: &[]string{"VIP", " Kunde ", "vip"},
	})
	if c.Name != "Müller AG" || c.UID == nil || *c.UID != "CHE-109.322.551" || c.Website != "https://mueller.ch" ||
		c.Email != "info@mueller.ch" || c.Phone != "+41441234567" || c.Industry != "Maschinenbau" {
		t.Errorf("not normalised: %+v uid=%v", c, coStr(c.UID))
	}
	if c.Address != (crm.Address{Street: "Bahnhofstrasse 1", PostalCode: "8001", City: "Zürich", Canton: "ZH", Country: "CH"}) {
		t.Errorf("address = %+v", c.Address)
	}
	if !slices.Equal(c.Tags, []string{"VIP", "Kunde"}) {
		t.Errorf("tags = %v", c.Tags)
	}
	if c.OwnerID == nil || *c.OwnerID != ce.admin.UserID || c.Version != 1 || c.ID == uuid.Nil {
		t.Errorf("owner %v, version %d", c.OwnerID, c.Version)
	}
	// Unknown tags were added to the tenant's tag list.
	if tags := stringsIn(t, ce.e, alpha, `SELECT name FROM tags WHERE lower(name) IN ('vip', 'kunde')`); !slices.Equal(tags, []string{"Kunde", "VIP"}) {
		t.Errorf("tag list = %v", tags)
	}
	got, err := ce.s.Company(ctx, ce.sales, c.ID)
	if err != nil || got.Name != "Müller AG" || got.Phone != "+41441234567" {
		t.Errorf("read back: %+v, %v", got, err)
	}
	l := auditList(t, ce.e, "alpha", audit.Filter{Action: "company.create", EntityID: &c.ID})
	if len(l) != 1 || l[0].Changes["name"].After != "Müller AG" || l[0].Changes["uid"].After != "CHE-109.322.551" ||
		*l[0].ActorID != ce.admin.UserID {
		t.Errorf("create audit = %+v", l)
	}

	// A foreign address keeps its postal code and canton as given.
	de := ce.create(t, ce.admin, crm.CompanyInput{Name: ptr("Berlin GmbH"),
		Address: &crm.Address{PostalCode: "10115", City: "Berlin", Canton: "Berlin", Country: "de"}})
	if de.Address.Country != "DE" || de.Address.PostalCode != "10115" {
		t.Errorf("foreign address = %+v", de.Address)
	}

	n := companyCount(t, ce.e, alpha)
	for _, tc := range []struct {
		name   string
		in     crm.CompanyInput
		fields []string
	}{
		{"name missing", crm.CompanyInput{Name: ptr("  ")}, []string{"name"}},
		{"no name at all", crm.CompanyInput{Email: ptr("a@b.ch")}, []string{"name"}},
		{"bad UID checksum", crm.CompanyInput{Name: ptr("X"), UID: ptr("CHE-109.322.552")}, []string{"uid"}},
		{"UID without CHE", crm.CompanyInput{Name: ptr("X"), UID: ptr("109.322.551")}, []string{"uid"}},
		{"bad postal code", crm.CompanyInput{Name: ptr("X"), Address: &crm.Address{PostalCode: "800"}}, []string{"address.postal_code"}},
		{"unknown canton", crm.CompanyInput{Name: ptr("X"), Address: &crm.Address{Canton: "XY"}}, []string{"address.canton"}},
		{"unknown country", crm.CompanyInput{Name: ptr("X"), Address: &crm.Address{Country: "XX"}}, []string{"address.country"}},
		{"bad email", crm.CompanyInput{Name: ptr("X"), Email: ptr("info@mueller")}, []string{"email"}},
		{"bad phone", crm.CompanyInput{Name: ptr("X"), Phone: ptr("044 123 45")}, []string{"phone"}},
		{"phone with letters", crm.CompanyInput{Name: ptr("X"), Phone: ptr("044 CALL ME")}, []string{"phone"}},
		{"bad website", crm.CompanyInput{Name: ptr("X"), Website: ptr("ftp://x.ch")}, []string{"website"}},
		{"unknown owner", crm.CompanyInput{Name: ptr("X"), OwnerID: ptr(uuid.New())}, []string{"owner_id"}},
		{"all at once", crm.CompanyInput{Name: ptr(""), UID: ptr("CHE-109.322.552"), Email: ptr("x"), Phone: ptr("1"),
			Address: &crm.Address{PostalCode: "1", Canton: "QQ"}, OwnerID: ptr(uuid.New())},
			[]string{"name", "uid", "email", "phone", "address.postal_code", "address.canton", "owner_id"}},
	} {
		_, err := ce.s.CreateCompany(ctx, ce.admin, tc.in, auth.LoginMeta{})
		coWantFields(t, err, tc.name, tc.fields...)
	}
	// An owner from another tenant is as unknown as a random ID.
	_, err = ce.s.CreateCompany(ctx, ce.admin, crm.CompanyInput{Name: ptr("X"), OwnerID: &ce.betaAdmin.UserID}, auth.LoginMeta{})
	coWantFields(t, err, "owner of another tenant", "owner_id")
	if m := companyCount(t, ce.e, alpha); m != n {
		t.Errorf("refused creates stored companies: %d, want %d", m, n)
	}

	// Updates validate the whole record too and change nothing when refused.
	_, err = ce.s.UpdateCompany(ctx, ce.admin, c.ID, crm.CompanyInput{Name: ptr(""), Phone: ptr("0")}, auth.LoginMeta{})
	coWantFields(t, err, "update", "name", "phone")
	if got, _ := ce.s.Company(ctx, ce.admin, c.ID); got.Name != "Müller AG" || got.Version != 1 {
		t.Errorf("refused update changed the company: %+v", got)
	}
}

func testCompanyUIDUnique(t *testing.T, ce *companyEnv) {
	ctx := context.Background()
	a := ce.create(t, ce.admin, crm.CompanyInput{Name: ptr("A"), UID: ptr("CHE-116.281.710")})

	wantUIDConflict := func(err error, what string) {
		t.Helper()
		var re *rpcrm.Error
		if !errors.As(err, &re) || re.Code != rpcrm.ECONFLICT || re.Fields["uid"] == "" {
			t.Errorf("%s: want ECONFLICT on uid, got %v", what, err)
		}
	}
	_, err := ce.s.CreateCompany(ctx, ce.admin, crm.CompanyInput{Name: ptr("B"), UID: ptr("CHE116281710")}, auth.LoginMeta{})
	wantUIDConflict(err, "create with a taken UID")
	b := ce.create(t, ce.admin, crm.CompanyInput{Name: ptr("B")})
	_, err = ce.s.UpdateCompany(ctx, ce.admin, b.ID, crm.CompanyInput{UID: ptr("CHE-116.281.710")}, auth.LoginMeta{})
	wantUIDConflict(err, "update to a taken UID")

	// Another tenant may have the same UID.
	bc, err := ce.s.CreateCompany(ctx, ce.betaAdmin, crm.CompanyInput{Name: ptr("A"), UID: ptr("CHE-116.281.710")}, auth.LoginMeta{})
	if err != nil {
		t.Fatalf("same UID in beta: %v", err)
	}
	// Leave beta empty for the list test.
	if err := ce.s.DeleteCompany(ctx, ce.betaAdmin, bc.ID, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}
	if err := ce.s.PurgeCompany(ctx, ce.betaAdmin, bc.ID, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}

	// Only live companies count: once A is in the trash, B may take its
	// UID, and then A cannot come back with it.
	if err := ce.s.DeleteCompany(ctx, ce.admin, a.ID, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}
	if _, err := ce.s.UpdateCompany(ctx, ce.admin, b.ID, crm.CompanyInput{UID: ptr("CHE-116.281.710")}, auth.LoginMeta{}); err != nil {
		t.Fatalf("take the UID of a trashed company: %v", err)
	}
	_, err = ce.s.RestoreCompany(ctx, ce.admin, a.ID, auth.LoginMeta{})
	wantUIDConflict(err, "restore with a UID taken meanwhile")
	// Clearing the UID is allowed for many companies.
	for _, id := range []uuid.UUID{b.ID} {
		if _, err := ce.s.UpdateCompany(ctx, ce.admin, id, crm.CompanyInput{UID: ptr("")}, auth.LoginMeta{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ce.s.RestoreCompany(ctx, ce.admin, a.ID, auth.LoginMeta{}); err != nil {
		t.Errorf("restore once the UID is free: %v", err)
	}
}

func testCompanyList(t *testing.T, ce *companyEnv) {
	ctx := context.Background()
	type spec struct{ name, city, canton, phone, owner, tag string }
	specs := []spec{
		{"Müller AG", "Zürich", "ZH", "+41 44 123 45 67", "sales", "VIP"},
		{"Bäckerei Beck", "Bern", "BE", "", "sales", ""},
		{"alpha Consulting", "Basel", "BS", "", "other", "VIP"},
		{"Zeta Holding", "", "", "", "other", ""},
		{"Strassenbau Meier", "Zug", "ZG", "", "admin", ""},
		{"Chocolat Genève", "Genève", "GE", "022 700 00 00", "admin", "Kunde"},
		{"Omega Uhren", "Biel", "BE", "", "admin", ""},
	}
	owners := map[string]*auth.Principal{"sales": ce.betaSales, "other": ce.betaOther, "admin": ce.betaAdmin}
	ids := map[string]uuid.UUID{}
	for _, sp := range specs {
		in := crm.CompanyInput{Name: ptr(sp.name), Address: &crm.Address{City: sp.city, Canton: sp.canton},
			Phone: ptr(sp.phone), OwnerID: &owners[sp.owner].UserID}
		if sp.tag != "" {
			in.Tags = &[]string{sp.tag}
		}
		if sp.name == "Müller AG" {
			in.UID = ptr("CHE-109.322.551")
		}
		ids[sp.name] = ce.create(t, ce.betaAdmin, in).ID
	}
	list := func(f crm.CompanyFilter) []string {
		t.Helper()
		pg, err := ce.s.ListCompanies(ctx, ce.betaAdmin, f)
		if err != nil {
			t.Fatalf("list %+v: %v", f, err)
		}
		return companyNames(pg.Items)
	}
	lp := func(lp crm.ListParams) crm.CompanyFilter { return crm.CompanyFilter{ListParams: lp} }

	byName := []string{"alpha Consulting", "Bäckerei Beck", "Chocolat Genève", "Müller AG", "Omega Uhren", "Strassenbau Meier", "Zeta Holding"}
	if got := list(lp(crm.ListParams{})); !slices.Equal(got, byName) {
		t.Errorf("default sort (name, case-insensitive) = %v", got)
	}
	if got := list(lp(crm.ListParams{Sort: "name", Desc: true})); !slices.Equal(got, coReversed(byName)) {
		t.Errorf("name desc = %v", got)
	}
	// Companies without a city sort first ("" is the smallest key).
	byCity := []string{"Zeta Holding", "alpha Consulting", "Bäckerei Beck", "Omega Uhren", "Chocolat Genève", "Strassenbau Meier", "Müller AG"}
	if got := list(lp(crm.ListParams{Sort: "city"})); !slices.Equal(got, byCity) {
		t.Errorf("city asc = %v", got)
	}
	if got := list(lp(crm.ListParams{Sort: "city", Desc: true})); !slices.Equal(got, coReversed(byCity)) {
		t.Errorf("city desc = %v", got)
	}
	created := companyNames(nil)
	for _, sp := range specs {
		created = append(created, sp.name)
	}
	if got := list(lp(crm.ListParams{Sort: "created_at"})); !slices.Equal(got, created) {
		t.Errorf("created_at asc = %v", got)
	}
	if got := list(lp(crm.ListParams{Sort: "created_at", Desc: true})); !slices.Equal(got, coReversed(created)) {
		t.Errorf("created_at desc = %v", got)
	}
	_, err := ce.s.ListCompanies(ctx, ce.betaAdmin, lp(crm.ListParams{Sort: "uid"}))
	coWantFields(t, err, "sort by a field not on the list", "sort")
	_, err = ce.s.ListCompanies(ctx, ce.betaAdmin, lp(crm.ListParams{Limit: 201}))
	coWantFields(t, err, "limit over 200", "limit")
	_, err = ce.s.ListCompanies(ctx, ce.betaAdmin, lp(crm.ListParams{Cursor: "bogus"}))
	coWantFields(t, err, "bad cursor", "cursor")

	// Keyset paging: limit 3 over 7 companies gives 3+3+1, each once, in order.
	for _, tc := range []struct {
		sort string
		desc bool
		want []string
	}{
		{"name", false, byName}, {"name", true, coReversed(byName)}, {"city", false, byCity},
		{"city", true, coReversed(byCity)}, {"created_at", false, created}, {"created_at", true, coReversed(created)},
		{"updated_at", false, created},
	} {
		var all []string
		var sizes []int
		cursor := ""
		for i := 0; ; i++ {
			pg, err := ce.s.ListCompanies(ctx, ce.betaAdmin, lp(crm.ListParams{Sort: tc.sort, Desc: tc.desc, Limit: 3, Cursor: cursor}))
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, companyNames(pg.Items)...)
			sizes = append(sizes, len(pg.Items))
			if pg.NextCursor == "" || i > 5 {
				break
			}
			cursor = pg.NextCursor
		}
		if !slices.Equal(all, tc.want) || !slices.Equal(sizes, []int{3, 3, 1}) {
			t.Errorf("paging by %s desc=%v: pages %v, items %v, want %v", tc.sort, tc.desc, sizes, all, tc.want)
		}
	}
	// A cursor continues only the order it came from.
	pg, err := ce.s.ListCompanies(ctx, ce.betaAdmin, lp(crm.ListParams{Sort: "name", Limit: 3}))
	if err != nil || pg.NextCursor == "" {
		t.Fatalf("first page: %v", err)
	}
	for _, other := range []crm.ListParams{{Sort: "created_at"}, {Sort: "name", Desc: true}, {Sort: "city"}} {
		other.Cursor, other.Limit = pg.NextCursor, 3
		_, err := ce.s.ListCompanies(ctx, ce.betaAdmin, lp(other))
		coWantFields(t, err, "name cursor used for "+other.SortKey(), "cursor")
	}

	// An exact multiple of the limit ends without an empty extra page.
	pg, err = ce.s.ListCompanies(ctx, ce.betaAdmin, lp(crm.ListParams{Limit: 7}))
	if err != nil || len(pg.Items) != 7 || pg.NextCursor != "" {
		t.Errorf("limit 7 over 7: %d items, cursor %q, %v", len(pg.Items), pg.NextCursor, err)
	}

	// Filters.
	sorted := func(s []string) []string { slices.Sort(s); return s }
	for _, tc := range []struct {
		name string
		f    crm.CompanyFilter
		want []string
	}{
		{"owner", lp(crm.ListParams{OwnerID: &ce.betaOther.UserID}), []string{"Zeta Holding", "alpha Consulting"}},
		{"tag", lp(crm.ListParams{Tag: "VIP"}), []string{"Müller AG", "alpha Consulting"}},
		{"city", crm.CompanyFilter{City: "zürich"}, []string{"Müller AG"}},
		{"canton", crm.CompanyFilter{Canton: "be"}, []string{"Bäckerei Beck", "Omega Uhren"}},
		{"owner and canton", crm.CompanyFilter{ListParams: crm.ListParams{OwnerID: &ce.betaAdmin.UserID}, Canton: "BE"}, []string{"Omega Uhren"}},
		{"q muller", lp(crm.ListParams{Q: "muller"}), []string{"Müller AG"}},
		{"q mueller", lp(crm.ListParams{Q: "mueller"}), []string{"Müller AG"}},
		{"q Müller", lp(crm.ListParams{Q: "Müller"}), []string{"Müller AG"}},
		{"q MÜLLER AG", lp(crm.ListParams{Q: "MÜLLER AG"}), []string{"Müller AG"}},
		{"q city Zurich", lp(crm.ListParams{Q: "Zurich"}), []string{"Müller AG"}},
		{"q Geneve", lp(crm.ListParams{Q: "geneve"}), []string{"Chocolat Genève"}},
		{"q ß", lp(crm.ListParams{Q: "Straßenbau"}), []string{"Strassenbau Meier"}},
		{"q typo", lp(crm.ListParams{Q: "Mueler"}), []string{"Müller AG"}},
		{"q typo 2", lp(crm.ListParams{Q: "Chocolta"}), []string{"Chocolat Genève"}},
		{"q national phone", lp(crm.ListParams{Q: "044 123 45 67"}), []string{"Müller AG"}},
		{"q international phone", lp(crm.ListParams{Q: "+41 44 123 45 67"}), []string{"Müller AG"}},
		{"q 0041 phone", lp(crm.ListParams{Q: "0041 44 123 45 67"}), []string{"Müller AG"}},
		{"q phone part", lp(crm.ListParams{Q: "700 00 00"}), []string{"Chocolat Genève"}},
		{"q wildcard is literal", lp(crm.ListParams{Q: "%"}), []string{}},
		{"q underscore is literal", lp(crm.ListParams{Q: "_"}), []string{}},
		{"q UID", lp(crm.ListParams{Q: "CHE-109.322.551"}), []string{"Müller AG"}},
		{"q UID compact", lp(crm.ListParams{Q: "che109322551"}), []string{"Müller AG"}},
		{"q UID digits", lp(crm.ListParams{Q: "109.322.551"}), []string{"Müller AG"}},
		{"q nothing", lp(crm.ListParams{Q: "Xylophon"}), []string{}},
		{"q and tag", lp(crm.ListParams{Q: "alpha", Tag: "VIP"}), []string{"alpha Consulting"}},
	} {
		if got := sorted(list(tc.f)); !slices.Equal(got, sorted(tc.want)) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}

	// updated_since sees only what changed at or after the given time.
	time.Sleep(10 * time.Millisecond)
	since := time.Now()
	time.Sleep(10 * time.Millisecond)
	if _, err := ce.s.UpdateCompany(ctx, ce.betaAdmin, ids["Omega Uhren"], crm.CompanyInput{Industry: ptr("Uhren")}, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}
	if got := list(lp(crm.ListParams{UpdatedSince: &since})); !slices.Equal(got, []string{"Omega Uhren"}) {
		t.Errorf("updated_since = %v", got)
	}
	if got := list(lp(crm.ListParams{Sort: "updated_at", Desc: true, Limit: 1})); !slices.Equal(got, []string{"Omega Uhren"}) {
		t.Errorf("most recently updated = %v", got)
	}
}

func coReversed(s []string) []string {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

func testCompanyScopes(t *testing.T, ce *companyEnv) {
	ctx := context.Background()
	mine := ce.create(t, ce.sales, crm.CompanyInput{Name: ptr("Meine AG")})
	theirs := ce.create(t, ce.other, crm.CompanyInput{Name: ptr("Fremde AG")})
	if mine.OwnerID == nil || *mine.OwnerID != ce.sales.UserID {
		t.Fatalf("creator is not the owner: %v", mine.OwnerID)
	}

	// Sales reads everything …
	pg, err := ce.s.ListCompanies(ctx, ce.sales, crm.CompanyFilter{})
	if names := companyNames(pg.Items); err != nil || !slices.Contains(names, "Meine AG") || !slices.Contains(names, "Fremde AG") {
		t.Errorf("sales list: %v, %v", names, err)
	}
	if _, err := ce.s.Company(ctx, ce.sales, theirs.ID); err != nil {
		t.Errorf("sales reads another's company: %v", err)
	}
	// … but changes only its own.
	_, err = ce.s.UpdateCompany(ctx, ce.sales, theirs.ID, crm.CompanyInput{Name: ptr("Gekapert")}, auth.LoginMeta{})
	wantCode(t, err, rpcrm.ENOTFOUND, "sales updates another's company")
	wantCode(t, ce.s.DeleteCompany(ctx, ce.sales, theirs.ID, auth.LoginMeta{}), rpcrm.ENOTFOUND, "sales deletes another's company")
	if _, err := ce.s.UpdateCompany(ctx, ce.sales, mine.ID, crm.CompanyInput{Industry: ptr("Handel")}, auth.LoginMeta{}); err != nil {
		t.Errorf("sales updates own company: %v", err)
	}
	// Sales cannot give a company away, neither on create nor on update.
	_, err = ce.s.UpdateCompany(ctx, ce.sales, mine.ID, crm.CompanyInput{OwnerID: &ce.other.UserID}, auth.LoginMeta{})
	coWantFields(t, err, "sales hands own company to another", "owner_id")
	_, err = ce.s.CreateCompany(ctx, ce.sales, crm.CompanyInput{Name: ptr("X"), OwnerID: &ce.other.UserID}, auth.LoginMeta{})
	coWantFields(t, err, "sales creates for another", "owner_id")
	if _, err := ce.s.CreateCompany(ctx, ce.sales, crm.CompanyInput{Name: ptr("Selbst"), OwnerID: &ce.sales.UserID}, auth.LoginMeta{}); err != nil {
		t.Errorf("sales names self as owner: %v", err)
	}
	if got, _ := ce.s.Company(ctx, ce.admin, theirs.ID); got.Name != "Fremde AG" || got.DeletedAt != nil || got.Version != 1 {
		t.Errorf("refused changes left traces: %+v", got)
	}

	// Trash: sales sees and restores only its own trashed companies.
	if err := ce.s.DeleteCompany(ctx, ce.admin, theirs.ID, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}
	if err := ce.s.DeleteCompany(ctx, ce.sales, mine.ID, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}
	pg, err = ce.s.ListCompanies(ctx, ce.sales, crm.CompanyFilter{ListParams: crm.ListParams{Deleted: true}})
	if err != nil || !slices.Equal(companyNames(pg.Items), []string{"Meine AG"}) {
		t.Errorf("sales trash = %v, %v", companyNames(pg.Items), err)
	}
	_, err = ce.s.RestoreCompany(ctx, ce.sales, theirs.ID, auth.LoginMeta{})
	wantCode(t, err, rpcrm.ENOTFOUND, "sales restores another's company")
	wantCode(t, ce.s.PurgeCompany(ctx, ce.sales, theirs.ID, auth.LoginMeta{}), rpcrm.ENOTFOUND, "sales purges another's company")
	if _, err := ce.s.RestoreCompany(ctx, ce.sales, mine.ID, auth.LoginMeta{}); err != nil {
		t.Errorf("sales restores own company: %v", err)
	}
	if _, err := ce.s.RestoreCompany(ctx, ce.admin, theirs.ID, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}

	// A custom role with companies:read:own sees only its own companies.
	r, err := ce.e.Auth.CreateRole(ctx, ce.e.System(t, "alpha"),
		auth.RoleInput{Name: "Nur eigene", Permissions: []string{"companies:read:own"}}, auth.LoginMeta{})
	if err != nil {
		t.Fatal(err)
	}
	reader, err := ce.e.Auth.CreateUser(ctx, ce.e.System(t, "alpha"),
		auth.NewUser{Email: "reader@alpha.test", Name: "Reader", Password: testfix.Password, RoleIDs: []uuid.UUID{r.ID}}, auth.LoginMeta{})
	if err != nil {
		t.Fatal(err)
	}
	_, rp := loginAs(t, ce.e, "alpha", "reader@alpha.test")
	own := ce.create(t, ce.admin, crm.CompanyInput{Name: ptr("Lesers AG"), OwnerID: &reader.ID})
	pg, err = ce.s.ListCompanies(ctx, rp, crm.CompanyFilter{})
	if err != nil || !slices.Equal(companyNames(pg.Items), []string{"Lesers AG"}) {
		t.Errorf("read:own list = %v, %v", companyNames(pg.Items), err)
	}
	// Even asking for another owner's records explicitly gives nothing.
	pg, err = ce.s.ListCompanies(ctx, rp, crm.CompanyFilter{ListParams: crm.ListParams{OwnerID: &ce.other.UserID}})
	if err != nil || len(pg.Items) != 0 {
		t.Errorf("read:own list of another owner = %v, %v", companyNames(pg.Items), err)
	}
	if _, err := ce.s.Company(ctx, rp, own.ID); err != nil {
		t.Errorf("read:own reads own: %v", err)
	}
	_, err = ce.s.Company(ctx, rp, theirs.ID)
	wantCode(t, err, rpcrm.ENOTFOUND, "read:own reads another's")
	_, err = ce.s.CreateCompany(ctx, rp, crm.CompanyInput{Name: ptr("X")}, auth.LoginMeta{})
	wantCode(t, err, rpcrm.EFORBIDDEN, "read-only role creates")
	_, err = ce.s.UpdateCompany(ctx, rp, own.ID, crm.CompanyInput{Name: ptr("X")}, auth.LoginMeta{})
	wantCode(t, err, rpcrm.EFORBIDDEN, "read-only role updates")
	_, err = ce.s.ListCompanies(ctx, rp, crm.CompanyFilter{ListParams: crm.ListParams{Deleted: true}})
	wantCode(t, err, rpcrm.EFORBIDDEN, "read-only role lists the trash")
}

func testCompanyVersionTrashAudit(t *testing.T, ce *companyEnv) {
	ctx := context.Background()
	alpha := tid(t, ce.e, "alpha")
	c := ce.create(t, ce.admin, crm.CompanyInput{Name: ptr("Versioniert AG"), Email: ptr("a@v.ch")})

	// Stale version: refused, nothing changed, no audit.
	u, err := ce.s.UpdateCompany(ctx, ce.admin, c.ID, crm.CompanyInput{Name: ptr("V2 AG"), Version: 1}, auth.LoginMeta{})
	if err != nil || u.Version != 2 || u.Name != "V2 AG" {
		t.Fatalf("update with the current version: %+v, %v", u, err)
	}
	_, err = ce.s.UpdateCompany(ctx, ce.admin, c.ID, crm.CompanyInput{Name: ptr("Stale AG"), Version: 1}, auth.LoginMeta{})
	wantCode(t, err, rpcrm.EPRECONDITION, "stale version")
	if got, _ := ce.s.Company(ctx, ce.admin, c.ID); got.Name != "V2 AG" || got.Version != 2 {
		t.Errorf("stale update changed the company: %+v", got)
	}
	l := auditList(t, ce.e, "alpha", audit.Filter{Action: "company.update", EntityID: &c.ID})
	if len(l) != 1 {
		t.Fatalf("update audit entries = %d, want 1", len(l))
	}
	if ch := l[0].Changes; ch["name"].Before != "Versioniert AG" || ch["name"].After != "V2 AG" || len(ch) != 1 {
		t.Errorf("update audit changes = %+v", ch)
	}
	// An update that changes nothing writes no audit entry.
	if _, err := ce.s.UpdateCompany(ctx, ce.admin, c.ID, crm.CompanyInput{Name: ptr("V2 AG")}, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}
	if l := auditList(t, ce.e, "alpha", audit.Filter{Action: "company.update", EntityID: &c.ID}); len(l) != 1 {
		t.Errorf("no-op update was audited: %d entries", len(l))
	}

	// A contact and a deal refer to the company.
	var contactID, dealID uuid.UUID
	err = ce.e.DB.InTenant(ctx, alpha, func(tx pgx.Tx) error {
		contactID, dealID = uuid.New(), uuid.New()
		pipeline, stage := uuid.New(), uuid.New()
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`INSERT INTO contacts (tenant_id, id, last_name, company_id, owner_id) VALUES ($1, $2, 'Muster', $3, $4)`,
				[]any{alpha, contactID, c.ID, ce.admin.UserID}},
			{`INSERT INTO pipelines (tenant_id, id, name) VALUES ($1, $2, 'Test-Pipeline')`, []any{alpha, pipeline}},
			{`INSERT INTO stages (tenant_id, id, pipeline_id, name, position) VALUES ($1, $2, $3, 'Neu', 1)`, []any{alpha, stage, pipeline}},
			{`INSERT INTO deals (tenant_id, id, title, pipeline_id, stage_id, company_id) VALUES ($1, $2, 'Auftrag', $3, $4, $5)`,
				[]any{alpha, dealID, pipeline, stage, c.ID}},
		} {
			if _, err := tx.Exec(ctx, q.sql, q.args...); err != nil {
				return fmt.Errorf("%s: %w", q.sql, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Purge refuses live companies: they must go to the trash first.
	wantCode(t, ce.s.PurgeCompany(ctx, ce.admin, c.ID, auth.LoginMeta{}), rpcrm.ENOTFOUND, "purge a live company")
	_, err = ce.s.RestoreCompany(ctx, ce.admin, c.ID, auth.LoginMeta{})
	wantCode(t, err, rpcrm.ENOTFOUND, "restore a live company")

	if err := ce.s.DeleteCompany(ctx, ce.admin, c.ID, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}
	_, err = ce.s.Company(ctx, ce.admin, c.ID)
	wantCode(t, err, rpcrm.ENOTFOUND, "get a trashed company")
	wantCode(t, ce.s.DeleteCompany(ctx, ce.admin, c.ID, auth.LoginMeta{}), rpcrm.ENOTFOUND, "delete twice")
	_, err = ce.s.UpdateCompany(ctx, ce.admin, c.ID, crm.CompanyInput{Name: ptr("X")}, auth.LoginMeta{})
	wantCode(t, err, rpcrm.ENOTFOUND, "update a trashed company")
	pg, _ := ce.s.ListCompanies(ctx, ce.admin, crm.CompanyFilter{ListParams: crm.ListParams{Q: "V2 AG"}})
	if slices.Contains(companyNames(pg.Items), "V2 AG") {
		t.Errorf("trashed company still listed: %v", companyNames(pg.Items))
	}
	pg, _ = ce.s.ListCompanies(ctx, ce.admin, crm.CompanyFilter{ListParams: crm.ListParams{Q: "V2 AG", Deleted: true}})
	if len(pg.Items) != 1 || pg.Items[0].ID != c.ID || pg.Items[0].DeletedAt == nil {
		t.Errorf("trash = %+v", pg.Items)
	}
	r, err := ce.s.RestoreCompany(ctx, ce.admin, c.ID, auth.LoginMeta{})
	if err != nil || r.DeletedAt != nil || r.Name != "V2 AG" {
		t.Fatalf("restore: %+v, %v", r, err)
	}
	if err := ce.s.DeleteCompany(ctx, ce.admin, c.ID, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}
	if err := ce.s.PurgeCompany(ctx, ce.admin, c.ID, auth.LoginMeta{}); err != nil {
		t.Fatalf("purge: %v", err)
	}
	if ids := stringsIn(t, ce.e, alpha, `SELECT id::text FROM companies WHERE id = $1`, c.ID); len(ids) != 0 {
		t.Errorf("purged company still stored")
	}
	wantCode(t, ce.s.PurgeCompany(ctx, ce.admin, c.ID, auth.LoginMeta{}), rpcrm.ENOTFOUND, "purge twice")
	// Contact and deal survive without the reference.
	refs := stringsIn(t, ce.e, alpha, `SELECT coalesce(company_id::text, 'null') FROM contacts WHERE id = $1
		UNION ALL SELECT coalesce(company_id::text, 'null') FROM deals WHERE id = $2`, contactID, dealID)
	if !slices.Equal(refs, []string{"null", "null"}) {
		t.Errorf("contact and deal after purge: %v", refs)
	}

	// Every step is in the audit log, in order.
	var actions []string
	for _, e := range auditList(t, ce.e, "alpha", audit.Filter{EntityID: &c.ID, EntityType: "company"}) {
		actions = append(actions, e.Action)
		if e.ActorID == nil || *e.ActorID != ce.admin.UserID {
			t.Errorf("%s audited without the actor", e.Action)
		}
		if e.Action == "company.delete" && e.Changes["deleted"].After != true {
			t.Errorf("delete audit changes = %+v", e.Changes)
		}
	}
	slices.Reverse(actions)
	want := []string{"company.create", "company.update", "company.delete", "company.restore", "company.delete", "company.purge"}
	if !slices.Equal(actions, want) {
		t.Errorf("audit actions = %v, want %v", actions, want)
	}
}

func testCompanyCrossTenant(t *testing.T, ce *companyEnv) {
	ctx := context.Background()
	c := ce.create(t, ce.admin, crm.CompanyInput{Name: ptr("Alpha-Firma")})
	beta := ce.betaAdmin

	_, err := ce.s.Company(ctx, beta, c.ID)
	wantCode(t, err, rpcrm.ENOTFOUND, "beta reads alpha's company")
	_, err = ce.s.UpdateCompany(ctx, beta, c.ID, crm.CompanyInput{Name: ptr("X")}, auth.LoginMeta{})
	wantCode(t, err, rpcrm.ENOTFOUND, "beta updates alpha's company")
	wantCode(t, ce.s.DeleteCompany(ctx, beta, c.ID, auth.LoginMeta{}), rpcrm.ENOTFOUND, "beta deletes alpha's company")
	if err := ce.s.DeleteCompany(ctx, ce.admin, c.ID, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}
	_, err = ce.s.RestoreCompany(ctx, beta, c.ID, auth.LoginMeta{})
	wantCode(t, err, rpcrm.ENOTFOUND, "beta restores alpha's company")
	wantCode(t, ce.s.PurgeCompany(ctx, beta, c.ID, auth.LoginMeta{}), rpcrm.ENOTFOUND, "beta purges alpha's company")
	pg, err := ce.s.ListCompanies(ctx, beta, crm.CompanyFilter{ListParams: crm.ListParams{Deleted: true}})
	if err != nil || len(pg.Items) != 0 {
		t.Errorf("beta's trash shows %v, %v", companyNames(pg.Items), err)
	}
	if _, err := ce.s.RestoreCompany(ctx, ce.admin, c.ID, auth.LoginMeta{}); err != nil {
		t.Errorf("alpha's company was harmed: %v", err)
	}
}

// testConcurrentNewTag saves companies with the same new tag at once: every
// save must succeed and the tenant must end up with one such tag.
func testConcurrentNewTag(t *testing.T, ce *companyEnv) {
	ctx := context.Background()
	for round := range 5 {
		name := fmt.Sprintf("Messe %d", round)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tag := name
				if i%2 == 1 {
					tag = strings.ToUpper(name)
				}
				_, err := ce.s.CreateCompany(ctx, ce.admin, crm.CompanyInput{Name: ptr(fmt.Sprintf("Aussteller %d-%d", round, i)),
					Tags: &[]string{tag}}, auth.LoginMeta{})
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("round %d: concurrent create with a new tag: %v", round, err)
			}
		}
		tags := stringsIn(t, ce.e, ce.admin.TenantID, `SELECT name FROM tags WHERE lower(name) = lower($1)`, name)
		if len(tags) != 1 {
			t.Fatalf("round %d: tags %v", round, tags)
		}
		pg, err := ce.s.ListCompanies(ctx, ce.admin, crm.CompanyFilter{ListParams: crm.ListParams{Tag: tags[0]}})
		if err != nil || len(pg.Items) != 8 {
			t.Errorf("round %d: %d companies carry the tag in its stored spelling, want 8 (%v)", round, len(pg.Items), err)
		}
	}
}
