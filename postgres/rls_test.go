package postgres_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rpcrm/rpcrm/internal/testfix"
	"github.com/rpcrm/rpcrm/postgres"
)

// rlsFixture is alpha and beta, each with an admin who has logged in (a
// session, a refresh token, audit entries) and a sales user.
type rlsFixture struct {
	e                       *testfix.Env
	alpha, beta             uuid.UUID
	anna, alex, bob, bea    uuid.UUID // anna, alex in alpha; bob, bea in beta
	betaSales, alphaSales   uuid.UUID
	alphaEmails, betaEmails []string
}

func newRLSFixture(t *testing.T) *rlsFixture {
	e := testfix.New(t)
	f := &rlsFixture{e: e, alpha: tid(t, e, "alpha"), beta: tid(t, e, "beta")}
	f.anna = e.CreateUser(t, "alpha", "anna@alpha.test", "admin").ID
	f.alex = e.CreateUser(t, "alpha", "alex@alpha.test", "sales").ID
	f.bob = e.CreateUser(t, "beta", "bob@beta.test", "admin").ID
	f.bea = e.CreateUser(t, "beta", "bea@beta.test", "sales").ID
	e.Login(t, "alpha", "anna@alpha.test")
	e.Login(t, "beta", "bob@beta.test")
	f.alphaSales = roleID(t, e, "alpha", "sales")
	f.betaSales = roleID(t, e, "beta", "sales")
	f.alphaEmails = []string{"alex@alpha.test", "anna@alpha.test"}
	f.betaEmails = []string{"bea@beta.test", "bob@beta.test"}
	return f
}

// tenantTables are the tables that hold tenant data.
var tenantTables = []string{"users", "roles", "role_permissions", "user_roles", "sessions", "refresh_tokens", "audit_log"}

func TestRLS(t *testing.T) {
	t.Parallel()
	f := newRLSFixture(t)
	e := f.e
	ctx := context.Background()
	owner := ownerConn(t, e)

	t.Run("unfiltered query sees only the current tenant", func(t *testing.T) {
		if got := stringsIn(t, e, f.alpha, "SELECT email FROM users"); !slices.Equal(got, f.alphaEmails) {
			t.Errorf("alpha sees users %v, want %v", got, f.alphaEmails)
		}
		if got := stringsIn(t, e, f.beta, "SELECT email FROM users"); !slices.Equal(got, f.betaEmails) {
			t.Errorf("beta sees users %v, want %v", got, f.betaEmails)
		}
		for _, table := range tenantTables {
			// The owner (superuser, not subject to RLS) proves both tenants have rows.
			if n := ownerInt(t, owner, "SELECT count(DISTINCT tenant_id) FROM "+table+" WHERE tenant_id IN ($1, $2)", f.alpha, f.beta); n != 2 {
				t.Fatalf("fixture: %s has rows of %d of the two tenants, want 2", table, n)
			}
			for _, tenant := range []uuid.UUID{f.alpha, f.beta} {
				got := stringsIn(t, e, tenant, "SELECT DISTINCT tenant_id::text FROM "+table)
				if !slices.Equal(got, []string{tenant.String()}) {
					t.Errorf("%s in tenant %s: SELECT without filter sees tenants %v", table, tenant, got)
				}
			}
		}
		roles := stringsIn(t, e, f.alpha, "SELECT key FROM roles")
		if !slices.Equal(roles, []string{"admin", "manager", "readonly", "sales"}) {
			t.Errorf("alpha roles = %v", roles)
		}
	})

	t.Run("no tenant set sees nothing and does not fail", func(t *testing.T) {
		for _, table := range tenantTables {
			var n int
			if err := e.DB.Pool.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
				t.Errorf("%s without tenant: %v", table, err)
			} else if n != 0 {
				t.Errorf("%s without tenant: %d rows visible, want 0", table, n)
			}
		}
	})

	t.Run("pooled connection that had a tenant fails closed", func(t *testing.T) {
		// A pool of one connection: InTenant and the later query must share it.
		db, err := postgres.Open(ctx, e.AppURL, 1)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var pidIn, pidOut int
		var inside []string
		err = db.InTenant(ctx, f.alpha, func(tx pgx.Tx) error {
			if err := tx.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pidIn); err != nil {
				return err
			}
			rows, err := tx.Query(ctx, "SELECT email FROM users ORDER BY email")
			if err != nil {
				return err
			}
			inside, err = pgx.CollectRows(rows, pgx.RowTo[string])
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(inside, f.alphaEmails) {
			t.Fatalf("inside InTenant: %v", inside)
		}
		var setting string
		var isNull bool
		if err := db.Pool.QueryRow(ctx, "SELECT pg_backend_pid(), current_setting('app.tenant_id', true), app_tenant_id() IS NULL").
			Scan(&pidOut, &setting, &isNull); err != nil {
			t.Fatal(err)
		}
		if pidIn != pidOut {
			t.Fatalf("not the same connection (%d, %d)", pidIn, pidOut)
		}
		if setting != "" || !isNull {
			t.Errorf("after the tenant transaction: app.tenant_id = %q, app_tenant_id() IS NULL = %v; want '' and true", setting, isNull)
		}
		rows, err := db.Pool.Query(ctx, "SELECT email FROM users")
		if err != nil {
			t.Fatalf("query on reused connection: %v", err)
		}
		leaked, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("query on reused connection: %v", err)
		}
		if len(leaked) != 0 {
			t.Errorf("tenant setting leaked through the pool: %v", leaked)
		}

		// QueryTenantRow's pipelined batch must not leak either.
		var n int
		if err := db.QueryTenantRow(ctx, f.beta, "SELECT count(*) FROM users", nil, func(r pgx.Row) error { return r.Scan(&n) }); err != nil {
			t.Fatal(err)
		}
		if n != len(f.betaEmails) {
			t.Errorf("QueryTenantRow(beta) counts %d users, want %d", n, len(f.betaEmails))
		}
		if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM users").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("after QueryTenantRow the connection still sees %d users", n)
		}

		// Nor QueryTenant's, which reads rows; its query sees only beta's.
		var emails []string
		if err := db.QueryTenant(ctx, f.beta, "SELECT email FROM users ORDER BY email", nil, func(rows pgx.Rows) error {
			var err error
			emails, err = pgx.CollectRows(rows, pgx.RowTo[string])
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(emails, f.betaEmails) {
			t.Errorf("QueryTenant(beta) reads %v, want %v", emails, f.betaEmails)
		}
		if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM users").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("after QueryTenant the connection still sees %d users", n)
		}
	})

	t.Run("same on an acquired connection", func(t *testing.T) {
		conn, err := e.DB.Pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Release()
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if _, err := tx.Exec(ctx, "SELECT set_config('app.tenant_id', $1, true)", f.beta.String()); err != nil {
			t.Fatal(err)
		}
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM users").Scan(&n); err != nil || n != 2 {
			t.Fatalf("in tx: %d users, %v", n, err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM users").Scan(&n); err != nil {
			t.Fatalf("after tx: %v", err)
		}
		if n != 0 {
			t.Errorf("after tx on the same connection: %d users visible, want 0", n)
		}
	})

	t.Run("InTenant refuses the nil tenant", func(t *testing.T) {
		called := false
		err := e.DB.InTenant(ctx, uuid.Nil, func(pgx.Tx) error { called = true; return nil })
		if err == nil || called {
			t.Errorf("InTenant(uuid.Nil) = %v, fn called = %v", err, called)
		}
	})

	t.Run("insert into another tenant is rejected", func(t *testing.T) {
		betaAdmin := roleID(t, e, "beta", "admin")
		cases := []struct{ name, sql string }{
			{"users", "INSERT INTO users (tenant_id, id, email, name, password_hash) VALUES ($1, gen_random_uuid(), 'evil@beta.test', 'Evil', 'x')"},
			{"roles", "INSERT INTO roles (tenant_id, id, name) VALUES ($1, gen_random_uuid(), 'Evil')"},
			{"audit_log", "INSERT INTO audit_log (tenant_id, id, action) VALUES ($1, gen_random_uuid(), 'evil')"},
			{"role_permissions", "INSERT INTO role_permissions (tenant_id, role_id, permission, scope) VALUES ($1, '" + betaAdmin.String() + "', 'evil:x', 'all')"},
			{"sessions", "INSERT INTO sessions (tenant_id, id, user_id) VALUES ($1, gen_random_uuid(), '" + f.bob.String() + "')"},
		}
		for _, c := range cases {
			_, err := execIn(e, f.alpha, c.sql, f.beta)
			wantPgCode(t, err, "42501", "alpha inserts into beta's "+c.name)
		}
		if n := ownerInt(t, owner, "SELECT count(*) FROM users WHERE email = 'evil@beta.test'"); n != 0 {
			t.Errorf("foreign insert landed: %d rows", n)
		}
	})

	t.Run("update cannot move a row to another tenant", func(t *testing.T) {
		_, err := execIn(e, f.alpha, "UPDATE users SET tenant_id = $1 WHERE id = $2", f.beta, f.alex)
		wantPgCode(t, err, "42501", "UPDATE users SET tenant_id = beta")
		_, err = execIn(e, f.alpha, "UPDATE roles SET tenant_id = $1 WHERE key = 'readonly'", f.beta)
		wantPgCode(t, err, "42501", "UPDATE roles SET tenant_id = beta")
		if n := ownerInt(t, owner, "SELECT count(*) FROM users WHERE tenant_id = $1 AND id = $2", f.alpha, f.alex); n != 1 {
			t.Errorf("alex moved out of alpha")
		}
	})

	t.Run("update and delete of another tenant's rows affect nothing", func(t *testing.T) {
		before := ownerInt(t, owner, "SELECT count(*) FROM sessions WHERE tenant_id = $1", f.beta)
		stmts := []struct {
			sql  string
			args []any
		}{
			{"UPDATE users SET name = 'pwned' WHERE tenant_id = $1", []any{f.beta}},
			{"UPDATE users SET name = 'pwned' WHERE id = $1", []any{f.bob}},
			{"UPDATE roles SET name = 'pwned' WHERE tenant_id = $1", []any{f.beta}},
			{"UPDATE sessions SET revoked_at = now() WHERE tenant_id = $1", []any{f.beta}},
			{"DELETE FROM users WHERE id = $1", []any{f.bea}},
			{"DELETE FROM sessions WHERE tenant_id = $1", []any{f.beta}},
			{"DELETE FROM user_roles WHERE tenant_id = $1", []any{f.beta}},
			{"DELETE FROM role_permissions WHERE tenant_id = $1", []any{f.beta}},
			{"DELETE FROM refresh_tokens WHERE tenant_id = $1", []any{f.beta}},
		}
		for _, s := range stmts {
			n, err := execIn(e, f.alpha, s.sql, s.args...)
			if err != nil || n != 0 {
				t.Errorf("alpha: %s: %d rows, %v; want 0 rows, no error", s.sql, n, err)
			}
		}
		if n := ownerInt(t, owner, "SELECT count(*) FROM users WHERE tenant_id = $1 AND name = 'pwned'", f.beta); n != 0 {
			t.Errorf("%d beta users renamed", n)
		}
		if n := ownerInt(t, owner, "SELECT count(*) FROM users WHERE tenant_id = $1", f.beta); n != 2 {
			t.Errorf("beta has %d users, want 2", n)
		}
		if n := ownerInt(t, owner, "SELECT count(*) FROM sessions WHERE tenant_id = $1 AND revoked_at IS NULL", f.beta); n != before {
			t.Errorf("beta has %d live sessions, want %d", n, before)
		}
	})

	t.Run("foreign keys cannot point into another tenant", func(t *testing.T) {
		// The beta role exists; only the composite key (tenant_id, role_id) stops this.
		_, err := execIn(e, f.alpha, "INSERT INTO user_roles (tenant_id, user_id, role_id) VALUES ($1, $2, $3)", f.alpha, f.alex, f.betaSales)
		wantPgCode(t, err, "23503", "alpha user_roles -> beta role")
		_, err = execIn(e, f.alpha, "INSERT INTO sessions (tenant_id, id, user_id) VALUES ($1, gen_random_uuid(), $2)", f.alpha, f.bob)
		wantPgCode(t, err, "23503", "alpha session -> beta user")
		_, err = execIn(e, f.alpha, "INSERT INTO role_permissions (tenant_id, role_id, permission, scope) VALUES ($1, $2, 'contacts:read', 'all')", f.alpha, f.betaSales)
		wantPgCode(t, err, "23503", "alpha role_permissions -> beta role")
		// Control: the same insert with alpha's own role works.
		if _, err := execIn(e, f.alpha, "INSERT INTO user_roles (tenant_id, user_id, role_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", f.alpha, f.alex, f.alphaSales); err != nil {
			t.Errorf("control insert: %v", err)
		}
	})

	t.Run("the role cannot change the schema or switch RLS off", func(t *testing.T) {
		var ownerName string
		if err := owner.QueryRow(ctx, "SELECT current_user").Scan(&ownerName); err != nil {
			t.Fatal(err)
		}
		stmts := []string{
			"ALTER TABLE users ADD COLUMN evil int",
			"ALTER TABLE users DISABLE ROW LEVEL SECURITY",
			"ALTER TABLE users NO FORCE ROW LEVEL SECURITY",
			"DROP TABLE audit_log",
			"TRUNCATE audit_log",
			"TRUNCATE users CASCADE",
			"CREATE TABLE public.rpcrm_evil (id int)",
			"CREATE TABLE rpcrm_evil2 (id int)",
			"ALTER POLICY tenant_isolation ON users USING (true)",
			"DROP POLICY tenant_isolation ON users",
			"CREATE POLICY evil ON users USING (true)",
			"CREATE OR REPLACE FUNCTION app_tenant_id() RETURNS uuid LANGUAGE sql AS $$ SELECT NULL::uuid $$",
			"ALTER ROLE CURRENT_USER BYPASSRLS",
			"SET ROLE " + pgx.Identifier{ownerName}.Sanitize(),
		}
		for _, s := range stmts {
			_, err := e.DB.Pool.Exec(ctx, s)
			wantPgCode(t, err, "42501", s)
		}
		// Inside a tenant transaction as well.
		_, err := execIn(e, f.alpha, "ALTER TABLE users FORCE ROW LEVEL SECURITY")
		wantPgCode(t, err, "42501", "ALTER TABLE in tenant transaction")
	})

	t.Run("row_security off is an error, not a bypass", func(t *testing.T) {
		err := e.DB.InTenant(ctx, f.alpha, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SET LOCAL row_security = off"); err != nil {
				t.Fatalf("SET LOCAL row_security: %v", err)
			}
			var n int
			return tx.QueryRow(ctx, "SELECT count(*) FROM users").Scan(&n)
		})
		wantPgCode(t, err, "42501", "SELECT with row_security = off in tenant")

		conn, err := pgx.Connect(ctx, e.AppURL) // a session setting must not reach the pool
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "SET row_security = off"); err != nil {
			t.Fatalf("SET row_security: %v", err)
		}
		for _, table := range tenantTables {
			var n int
			err := conn.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n)
			wantPgCode(t, err, "42501", "SELECT "+table+" with row_security = off")
		}
	})

	t.Run("audit log is append-only", func(t *testing.T) {
		id := uuid.New()
		if _, err := execIn(e, f.alpha, "INSERT INTO audit_log (tenant_id, id, action) VALUES ($1, $2, 'test.append')", f.alpha, id); err != nil {
			t.Fatalf("insert: %v", err)
		}
		if got := stringsIn(t, e, f.alpha, "SELECT action FROM audit_log WHERE id = $1", id); !slices.Equal(got, []string{"test.append"}) {
			t.Errorf("select own entry: %v", got)
		}
		_, err := execIn(e, f.alpha, "UPDATE audit_log SET action = 'forged' WHERE id = $1", id)
		wantPgCode(t, err, "42501", "UPDATE audit_log")
		_, err = execIn(e, f.alpha, "DELETE FROM audit_log WHERE id = $1", id)
		wantPgCode(t, err, "42501", "DELETE audit_log")
		_, err = execIn(e, f.alpha, "DELETE FROM audit_log WHERE false")
		wantPgCode(t, err, "42501", "DELETE audit_log WHERE false")
		if n := ownerInt(t, owner, "SELECT count(*) FROM audit_log WHERE id = $1 AND action = 'test.append'", id); n != 1 {
			t.Errorf("entry changed or gone")
		}
	})

	t.Run("schema guards", func(t *testing.T) { checkSchemaGuards(t, owner) })

	t.Run("CheckAppRole", func(t *testing.T) {
		if err := e.DB.CheckAppRole(ctx); err != nil {
			t.Errorf("app role: %v", err)
		}
		super, err := postgres.Open(ctx, e.OwnerURL, 1)
		if err != nil {
			t.Fatal(err)
		}
		defer super.Close()
		if err := super.CheckAppRole(ctx); err == nil || !strings.Contains(err.Error(), "superuser") {
			t.Errorf("superuser pool: CheckAppRole = %v, want error mentioning superuser", err)
		}
	})
}

// checkSchemaGuards inspects the catalogue so that a future migration cannot
// add a tenant table that escapes row-level security.
func checkSchemaGuards(t *testing.T, owner *pgx.Conn) {
	ctx := context.Background()

	rows, err := owner.Query(ctx, `
		SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
		       EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped),
		       (SELECT a.attname::text FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
		        WHERE i.indrelid = c.oid AND i.indisprimary)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
		ORDER BY c.relname`)
	if err != nil {
		t.Fatal(err)
	}
	var tenantTablesFound, others []string
	for rows.Next() {
		var name string
		var rls, force, hasTenant bool
		var pkFirst *string
		if err := rows.Scan(&name, &rls, &force, &hasTenant, &pkFirst); err != nil {
			t.Fatal(err)
		}
		if !hasTenant {
			others = append(others, name)
			continue
		}
		tenantTablesFound = append(tenantTablesFound, name)
		if !rls || !force {
			t.Errorf("table %s has tenant_id but relrowsecurity=%v relforcerowsecurity=%v", name, rls, force)
		}
		if pkFirst == nil || *pkFirst != "tenant_id" {
			t.Errorf("table %s: primary key must start with tenant_id, starts with %v", name, pkFirst)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// Only these may lack tenant_id; a new shared table must be added here on purpose.
	if !slices.Equal(others, []string{"goose_db_version", "tenants"}) {
		t.Errorf("tables without tenant_id: %v, want [goose_db_version tenants]", others)
	}
	if len(tenantTablesFound) < len(tenantTables) {
		t.Errorf("tenant tables found: %v", tenantTablesFound)
	}

	// Every tenant table has policies, and every policy is tied to app_tenant_id().
	var unpoliced []string
	if err := owner.QueryRow(ctx, `
		SELECT coalesce(array_agg(c.relname::text ORDER BY c.relname), '{}') FROM pg_class c
		WHERE c.relnamespace = 'public'::regnamespace AND c.relname = ANY($1)
		  AND NOT EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid)`, tenantTablesFound).Scan(&unpoliced); err != nil {
		t.Fatal(err)
	}
	if len(unpoliced) > 0 {
		t.Errorf("tenant tables without policies: %v", unpoliced)
	}
	prow, err := owner.Query(ctx, `
		SELECT tablename::text, policyname::text, permissive, coalesce(qual, ''), coalesce(with_check, '')
		FROM pg_policies WHERE schemaname = 'public'`)
	if err != nil {
		t.Fatal(err)
	}
	for prow.Next() {
		var table, policy, permissive, qual, check string
		if err := prow.Scan(&table, &policy, &permissive, &qual, &check); err != nil {
			t.Fatal(err)
		}
		if permissive != "PERMISSIVE" {
			continue // restrictive policies only narrow access
		}
		for _, expr := range []string{qual, check} {
			if expr != "" && !strings.Contains(expr, "tenant_id = app_tenant_id()") {
				t.Errorf("policy %s on %s: expression %q not tied to app_tenant_id()", policy, table, expr)
			}
		}
		if qual == "" && check == "" {
			t.Errorf("policy %s on %s has no expression", policy, table)
		}
	}
	if err := prow.Err(); err != nil {
		t.Fatal(err)
	}

	// A foreign key between tenant tables must include tenant_id on both
	// sides; otherwise a row could reference another tenant's row (RI checks
	// do not see row-level security).
	frows, err := owner.Query(ctx, `
		SELECT con.conname::text,
		       EXISTS (SELECT 1 FROM unnest(con.conkey, con.confkey) AS k(a, b)
		               JOIN pg_attribute ca ON ca.attrelid = con.conrelid AND ca.attnum = k.a
		               JOIN pg_attribute fa ON fa.attrelid = con.confrelid AND fa.attnum = k.b
		               WHERE ca.attname = 'tenant_id' AND fa.attname = 'tenant_id')
		FROM pg_constraint con
		WHERE con.contype = 'f' AND con.connamespace = 'public'::regnamespace
		  AND con.confrelid <> 'public.tenants'::regclass`)
	if err != nil {
		t.Fatal(err)
	}
	nfk := 0
	for frows.Next() {
		var name string
		var ok bool
		if err := frows.Scan(&name, &ok); err != nil {
			t.Fatal(err)
		}
		nfk++
		if !ok {
			t.Errorf("foreign key %s does not match tenant_id to tenant_id", name)
		}
	}
	if err := frows.Err(); err != nil {
		t.Fatal(err)
	}
	if nfk < 5 {
		t.Errorf("found only %d foreign keys between tenant tables; query broken?", nfk)
	}

	// Unique indexes on tenant tables start with tenant_id: a global unique
	// value would let one tenant probe another's data through conflicts.
	var globalUnique []string
	if err := owner.QueryRow(ctx, `
		SELECT coalesce(array_agg(ic.relname::text ORDER BY ic.relname), '{}')
		FROM pg_index i
		JOIN pg_class ic ON ic.oid = i.indexrelid
		JOIN pg_class c ON c.oid = i.indrelid
		LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
		WHERE i.indisunique AND c.relnamespace = 'public'::regnamespace AND c.relname = ANY($1)
		  AND a.attname IS DISTINCT FROM 'tenant_id'`, tenantTablesFound).Scan(&globalUnique); err != nil {
		t.Fatal(err)
	}
	if len(globalUnique) > 0 {
		t.Errorf("unique indexes on tenant tables not led by tenant_id: %v", globalUnique)
	}
}
