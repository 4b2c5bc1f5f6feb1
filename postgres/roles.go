package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// appGrants is everything the application role may do: exactly what the
// server needs, and no more. The audit log is append-only for it.
var appGrants = []struct{ table, privileges string }{
	{"tenants", "SELECT, INSERT, UPDATE"},
	{"users", "SELECT, INSERT, UPDATE, DELETE"},
	{"roles", "SELECT, INSERT, UPDATE, DELETE"},
	{"role_permissions", "SELECT, INSERT, UPDATE, DELETE"},
	{"user_roles", "SELECT, INSERT, UPDATE, DELETE"},
	{"sessions", "SELECT, INSERT, UPDATE, DELETE"},
	{"refresh_tokens", "SELECT, INSERT, UPDATE, DELETE"},
	{"audit_log", "SELECT, INSERT"},
	{"tags", "SELECT, INSERT, UPDATE, DELETE"},
	{"custom_fields", "SELECT, INSERT, UPDATE, DELETE"},
	{"companies", "SELECT, INSERT, UPDATE, DELETE"},
	{"contacts", "SELECT, INSERT, UPDATE, DELETE"},
	{"pipelines", "SELECT, INSERT, UPDATE, DELETE"},
	{"stages", "SELECT, INSERT, UPDATE, DELETE"},
	{"deals", "SELECT, INSERT, UPDATE, DELETE"},
	{"activities", "SELECT, INSERT, UPDATE, DELETE"},
	{"documents", "SELECT, INSERT, UPDATE, DELETE"},
	{"user_tokens", "SELECT, INSERT, UPDATE, DELETE"},
	{"tenant_profiles", "SELECT, INSERT, UPDATE"},
	{versionTable, "SELECT"},
}

// EnsureAppRole creates the application role named in appURL if it is missing
// (with the password given there) and sets its privileges to exactly appGrants.
// It runs with the owner connection ownerURL. When both URLs name the same
// role there is nothing to separate and it does nothing.
func EnsureAppRole(ctx context.Context, ownerURL, appURL string) (created bool, err error) {
	return setUpRole(ctx, ownerURL, appURL, "DATABASE_URL", func(tx pgx.Tx, role, password, ident string) (bool, error) {
		var exists bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", role).Scan(&exists); err != nil {
			return false, err
		}
		if !exists {
			stmt, err := createRoleSQL(ctx, tx, role, password, "NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT")
			if err != nil {
				return false, err
			}
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return false, fmt.Errorf("create application role %s: %w", role, err)
			}
			created = true
		}
		var dbName string
		if err := tx.QueryRow(ctx, "SELECT current_database()").Scan(&dbName); err != nil {
			return false, err
		}
		stmts := append(roleBaseGrants(dbName, ident),
			"REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM "+ident,
			// Older PostgreSQL versions let everyone create tables in public.
			"REVOKE CREATE ON SCHEMA public FROM "+ident,
			"REVOKE CREATE ON SCHEMA public FROM PUBLIC",
		)
		for _, g := range appGrants {
			stmts = append(stmts, "GRANT "+g.privileges+" ON "+pgx.Identifier{g.table}.Sanitize()+" TO "+ident)
		}
		if s, err := execAll(ctx, tx, stmts); err != nil {
			return false, fmt.Errorf("grant to %s: %s: %w", role, s, err)
		}
		return created, nil
	})
}

// setUpRole runs setup in a transaction on the owner connection ownerURL
// for the login role that roleURL names (urlName names roleURL in errors),
// and commits it when setup succeeds. setup gets the role's name, its
// password and its name quoted for SQL. When roleURL names no role, or the
// owner's own, there is nothing to separate and it does nothing.
func setUpRole(ctx context.Context, ownerURL, roleURL, urlName string,
	setup func(tx pgx.Tx, role, password, ident string) (created bool, err error)) (bool, error) {
	cfg, err := pgx.ParseConfig(roleURL)
	if err != nil {
		return false, fmt.Errorf("%s: %w", urlName, redact(err))
	}
	conn, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		return false, fmt.Errorf("connect as owner: %w", redact(err))
	}
	defer conn.Close(ctx)

	var owner string
	if err := conn.QueryRow(ctx, "SELECT current_user").Scan(&owner); err != nil {
		return false, err
	}
	role := cfg.User
	if role == "" || role == owner {
		return false, nil
	}

	tx, err := conn.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	created, err := setup(tx, role, cfg.Password, pgx.Identifier{role}.Sanitize())
	if err != nil {
		return false, err
	}
	return created, tx.Commit(ctx)
}

// roleBaseGrants are the first statements of a role's privileges: it may
// connect to the database dbName and use the schema, and whatever it held
// on tables and sequences goes.
func roleBaseGrants(dbName, ident string) []string {
	return []string{
		"GRANT CONNECT ON DATABASE " + pgx.Identifier{dbName}.Sanitize() + " TO " + ident,
		"GRANT USAGE ON SCHEMA public TO " + ident,
		"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM " + ident,
		"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM " + ident,
	}
}

// createRoleSQL returns the statement that creates role as a login role
// with password and the attributes attrs (constant SQL of the code).
// CREATE ROLE takes no parameters; format() quotes the password as a literal.
func createRoleSQL(ctx context.Context, tx pgx.Tx, role, password, attrs string) (string, error) {
	var stmt string
	err := tx.QueryRow(ctx, "SELECT format('CREATE ROLE %I LOGIN PASSWORD %L "+attrs+"', $1::text, $2::text)",
		role, password).Scan(&stmt)
	return stmt, err
}

// execAll runs stmts in order and stops at the first that fails, which it
// returns with the error.
func execAll(ctx context.Context, tx pgx.Tx, stmts []string) (failed string, err error) {
	for _, s := range stmts {
		if _, err := tx.Exec(ctx, s); err != nil {
			return s, err
		}
	}
	return "", nil
}

// CheckAppRole returns an error if the role this pool connects as could step
// around row-level security: a superuser, a role with BYPASSRLS, or the owner
// of any of our tables.
func (db *DB) CheckAppRole(ctx context.Context) error {
	var (
		role          string
		super, bypass bool
		owned         []string
	)
	err := db.Pool.QueryRow(ctx, `
		SELECT r.rolname, r.rolsuper, r.rolbypassrls,
		       coalesce((SELECT array_agg(tablename::text ORDER BY tablename) FROM pg_tables
		                 WHERE schemaname = 'public' AND tableowner = r.rolname), '{}')
		FROM pg_roles r WHERE r.rolname = current_user`).Scan(&role, &super, &bypass, &owned)
	if err != nil {
		return fmt.Errorf("inspect database role: %w", err)
	}
	var problems []string
	if super {
		problems = append(problems, "is a superuser")
	}
	if bypass {
		problems = append(problems, "has BYPASSRLS")
	}
	if len(owned) > 0 {
		problems = append(problems, "owns tables ("+strings.Join(owned, ", ")+")")
	}
	// Membership counts too: SET ROLE to such a role would step around RLS.
	var risky []string
	err = db.Pool.QueryRow(ctx, `
		SELECT coalesce(array_agg(r.rolname::text ORDER BY r.rolname), '{}') FROM pg_roles r
		WHERE r.rolname <> current_user AND pg_has_role(current_user, r.oid, 'MEMBER')
		  AND (r.rolsuper OR r.rolbypassrls
		       OR EXISTS (SELECT 1 FROM pg_tables t WHERE t.schemaname = 'public' AND t.tableowner = r.rolname))`).Scan(&risky)
	if err != nil {
		return fmt.Errorf("inspect database role memberships: %w", err)
	}
	if len(risky) > 0 {
		problems = append(problems, "is a member of "+strings.Join(risky, ", ")+" (superuser, BYPASSRLS or table owner)")
	}
	if len(problems) > 0 {
		return fmt.Errorf("DATABASE_URL: the application role %q %s; it must be a plain role that row-level security applies to (see docs/configuration.md)", role, strings.Join(problems, " and "))
	}
	return nil
}
