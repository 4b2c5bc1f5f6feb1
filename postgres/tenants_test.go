package postgres_test

import (
	"context"
	"slices"
	"testing"

	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/internal/testfix"
	"github.com/rpcrm/rpcrm/postgres"
)

func TestSyncTenants(t *testing.T) {
	t.Parallel()
	e := testfix.New(t)
	ctx := context.Background()
	owner := ownerConn(t, e)
	alpha := tid(t, e, "alpha")
	anna := e.CreateUser(t, "alpha", "anna@alpha.test", "admin")

	// builtins returns role key -> sorted "permission scope" list of a tenant.
	builtins := func(t *testing.T, slug string) map[string][]string {
		t.Helper()
		rows, err := owner.Query(ctx, `
			SELECT r.key, coalesce(array_agg(rp.permission || ' ' || rp.scope ORDER BY rp.permission) FILTER (WHERE rp.permission IS NOT NULL), '{}')
			FROM roles r LEFT JOIN role_permissions rp ON rp.tenant_id = r.tenant_id AND rp.role_id = r.id
			WHERE r.tenant_id = $1 AND r.key IS NOT NULL GROUP BY r.key`, tid(t, e, slug))
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string][]string{}
		for rows.Next() {
			var key string
			var perms []string
			if err := rows.Scan(&key, &perms); err != nil {
				t.Fatal(err)
			}
			out[key] = perms
		}
		return out
	}
	want := map[string][]string{}
	for _, br := range auth.BuiltinRoles() {
		var perms []string
		for _, g := range br.Grants {
			perms = append(perms, string(g.Permission)+" "+string(g.Scope))
		}
		slices.Sort(perms)
		want[br.Key] = perms
	}
	checkBuiltins := func(t *testing.T) {
		t.Helper()
		for _, slug := range []string{"alpha", "beta", "gamma"} {
			got := builtins(t, slug)
			if len(got) != 4 {
				t.Errorf("%s has %d built-in roles, want 4 (admin, manager, sales, readonly): %v", slug, len(got), got)
			}
			for key, perms := range want {
				if !slices.Equal(got[key], perms) {
					t.Errorf("%s role %s: grants %v, want %v", slug, key, got[key], perms)
				}
			}
		}
	}
	adminBefore := roleID(t, e, "alpha", "admin")

	t.Run("idempotent", func(t *testing.T) {
		checkBuiltins(t)
		for range 2 {
			if err := e.DB.SyncTenants(ctx, tenantRows(e)); err != nil {
				t.Fatal(err)
			}
		}
		checkBuiltins(t)
		if n := ownerInt(t, owner, "SELECT count(*) FROM roles"); n != 12 {
			t.Errorf("%d roles in total, want 12", n)
		}
		if n := ownerInt(t, owner, "SELECT count(*) FROM tenants"); n != 3 {
			t.Errorf("%d tenants, want 3", n)
		}
		// Role ids stay, so users keep their roles.
		if id := roleID(t, e, "alpha", "admin"); id != adminBefore {
			t.Errorf("admin role id changed from %s to %s", adminBefore, id)
		}
		u, err := e.Auth.User(ctx, e.System(t, "alpha"), anna.ID)
		if err != nil || len(u.Roles) != 1 || u.Roles[0].Key != "admin" {
			t.Errorf("anna after sync: %+v, %v", u, err)
		}
	})

	t.Run("rename and suspend", func(t *testing.T) {
		rows := tenantRows(e)
		for i := range rows {
			if rows[i].Slug == "alpha" {
				rows[i].Name = "Alpha Holding AG"
				rows[i].Active = false
			}
		}
		if err := e.DB.SyncTenants(ctx, rows); err != nil {
			t.Fatal(err)
		}
		var name string
		var active bool
		if err := owner.QueryRow(ctx, "SELECT name, active FROM tenants WHERE id = $1", alpha).Scan(&name, &active); err != nil {
			t.Fatal(err)
		}
		if name != "Alpha Holding AG" || active {
			t.Errorf("alpha after sync: name %q active %v", name, active)
		}
		if err := e.DB.SyncTenants(ctx, tenantRows(e)); err != nil {
			t.Fatal(err)
		}
		if err := owner.QueryRow(ctx, "SELECT name, active FROM tenants WHERE id = $1", alpha).Scan(&name, &active); err != nil {
			t.Fatal(err)
		}
		if name != "Alpha AG" || !active {
			t.Errorf("alpha after second sync: name %q active %v", name, active)
		}
	})

	t.Run("slug of an existing id cannot change", func(t *testing.T) {
		err := e.DB.SyncTenants(ctx, []postgres.TenantRow{{ID: alpha, Slug: "alpha2", Name: "x", Active: true}})
		if err == nil {
			t.Error("SyncTenants accepted a different slug for alpha's id")
		}
		var slug, name string
		if err := owner.QueryRow(ctx, "SELECT slug, name FROM tenants WHERE id = $1", alpha).Scan(&slug, &name); err != nil {
			t.Fatal(err)
		}
		if slug != "alpha" || name != "Alpha AG" {
			t.Errorf("refused sync changed alpha: slug %q name %q", slug, name)
		}
	})

	t.Run("tampered built-in roles are repaired", func(t *testing.T) {
		admin := roleID(t, e, "alpha", "admin")
		sales := roleID(t, e, "alpha", "sales")
		readonly := roleID(t, e, "alpha", "readonly")
		ownerExec(t, owner, "DELETE FROM role_permissions WHERE tenant_id = $1 AND role_id = $2 AND permission = 'users:manage'", alpha, admin)
		ownerExec(t, owner, "UPDATE role_permissions SET scope = 'all' WHERE tenant_id = $1 AND role_id = $2 AND permission = 'contacts:write'", alpha, sales)
		ownerExec(t, owner, "INSERT INTO role_permissions (tenant_id, role_id, permission, scope) VALUES ($1, $2, 'users:manage', 'all')", alpha, readonly)
		ownerExec(t, owner, "UPDATE roles SET name = 'Hacked', description = 'x' WHERE tenant_id = $1 AND id = $2", alpha, admin)
		if got := builtins(t, "alpha"); slices.Equal(got["admin"], want["admin"]) {
			t.Fatal("tampering did not take effect")
		}
		if err := e.DB.SyncTenants(ctx, tenantRows(e)); err != nil {
			t.Fatal(err)
		}
		checkBuiltins(t)
		var name string
		if err := owner.QueryRow(ctx, "SELECT name FROM roles WHERE id = $1", admin).Scan(&name); err != nil {
			t.Fatal(err)
		}
		if name != "Administrator" {
			t.Errorf("admin role name after sync: %q", name)
		}
		// The repaired grant is effective at once for the admin's principal.
		_, p := loginAs(t, e, "alpha", "anna@alpha.test")
		if !p.Grants.Has(auth.PermUsersManage) {
			t.Error("anna lacks users:manage after repair")
		}
	})
}
