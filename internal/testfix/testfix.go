// Package testfix builds the fixtures that tests of several packages share:
// a fresh PostgreSQL database migrated and connected as the application role,
// with three tenants (alpha and beta active, gamma suspended) and users.
package testfix

import (
	"context"
	"testing"
	"time"

	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/pgtest"
	"github.com/rpcrm/rpcrm/postgres"
	"github.com/rpcrm/rpcrm/tenant"
)

// TenantsJSON defines the fixture tenants.
const TenantsJSON = `{"tenants": [
  {"id": "alpha", "name": "Alpha AG", "hosts": ["alpha.test", "www.alpha.test"]},
  {"id": "beta", "name": "Beta GmbH", "hosts": ["beta.test"]},
  {"id": "gamma", "name": "Gamma SA", "hosts": ["gamma.test"], "locale": "fr-CH", "active": false}
]}`

// Password is the password of every fixture user.
const Password = "Kappelerhof-Brücke-17"

// JWTKey signs the fixture's access tokens.
var JWTKey = []byte("0123456789abcdef0123456789abcdef-test-key")

// Env is one test database with its services.
type Env struct {
	DB       *postgres.DB
	OwnerURL string // superuser of the test server (owns the schema)
	AppURL   string // the application role: no superuser, no BYPASSRLS, owns nothing
	Tenants  *tenant.Set
	Tokens   *auth.Tokens
	Auth     *postgres.AuthService
}

// New creates a fresh database, migrates it, creates the application role,
// connects as that role and syncs the fixture tenants.
func New(tb testing.TB) *Env {
	tb.Helper()
	ctx := context.Background()
	owner := pgtest.NewDatabase(tb)
	app := pgtest.NewRoleURL(tb, owner)
	if _, err := postgres.Migrate(ctx, owner, nil); err != nil {
		tb.Fatalf("migrate: %v", err)
	}
	if _, err := postgres.EnsureAppRole(ctx, owner, app); err != nil {
		tb.Fatalf("ensure app role: %v", err)
	}
	db, err := postgres.Open(ctx, app, 8)
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(db.Close)
	set, err := tenant.Parse([]byte(TenantsJSON))
	if err != nil {
		tb.Fatalf("tenants: %v", err)
	}
	var rows []postgres.TenantRow
	for _, t := range set.All() {
		rows = append(rows, postgres.TenantRow{ID: t.UUID(), Slug: t.ID, Name: t.Name, Active: t.Active})
	}
	if err := db.SyncTenants(ctx, rows); err != nil {
		tb.Fatalf("sync tenants: %v", err)
	}
	tokens, err := auth.NewTokens(JWTKey, "rpcrm-test", 15*time.Minute)
	if err != nil {
		tb.Fatal(err)
	}
	return &Env{DB: db, OwnerURL: owner, AppURL: app, Tenants: set, Tokens: tokens,
		Auth: &postgres.AuthService{DB: db, Tokens: tokens, RefreshTTL: 24 * time.Hour, ReuseGrace: 30 * time.Second}}
}

// Tenant returns a fixture tenant by slug.
func (e *Env) Tenant(tb testing.TB, slug string) *tenant.Tenant {
	t, ok := e.Tenants.ByID(slug)
	if !ok {
		tb.Fatalf("no fixture tenant %q", slug)
	}
	return t
}

// Ref returns the auth.TenantRef of a fixture tenant.
func (e *Env) Ref(tb testing.TB, slug string) auth.TenantRef {
	t := e.Tenant(tb, slug)
	return auth.TenantRef{ID: t.UUID(), Slug: t.ID}
}

// System is the operator's principal for a tenant (every grant), as the CLI uses it.
func (e *Env) System(tb testing.TB, slug string) *auth.Principal {
	t := e.Tenant(tb, slug)
	var grants []auth.Grant
	for _, p := range auth.AllPermissions() {
		grants = append(grants, auth.Grant{Permission: p.Name, Scope: auth.ScopeAll})
	}
	return &auth.Principal{TenantID: t.UUID(), Tenant: t.ID, Email: "test", Grants: auth.MergeGrants(grants)}
}

// CreateUser creates a user with Password and the given role keys or names.
func (e *Env) CreateUser(tb testing.TB, slug, email string, roles ...string) *auth.User {
	tb.Helper()
	u, err := e.Auth.CreateUser(context.Background(), e.System(tb, slug),
		auth.NewUser{Email: email, Name: "Test " + email, Password: Password, RoleKeys: roles}, auth.LoginMeta{})
	if err != nil {
		tb.Fatalf("create user %s in %s: %v", email, slug, err)
	}
	return u
}

// Login logs a user in and returns the token pair.
func (e *Env) Login(tb testing.TB, slug, email string) *auth.TokenPair {
	tb.Helper()
	pair, err := e.Auth.Login(context.Background(), e.Ref(tb, slug), email, Password, auth.LoginMeta{IP: "127.0.0.1"})
	if err != nil {
		tb.Fatalf("login %s in %s: %v", email, slug, err)
	}
	return pair
}
