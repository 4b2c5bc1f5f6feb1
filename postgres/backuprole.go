package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// EnsureBackupRole makes the role named in backupURL fit for `rpcrm backup`:
// it may bypass row-level security (pg_dump must see every tenant's rows and
// refuses to run under RLS) and may only read. It runs with adminURL, the
// owner connection; when create is true a missing role is created with the
// password given in backupURL. Creating a role with BYPASSRLS, or granting
// it, needs a superuser on PostgreSQL 15 (on 16 and later, a role with
// CREATEROLE that has BYPASSRLS itself). The grants — CONNECT, USAGE on the
// schema and SELECT on every table and sequence, including those later
// migrations create (default privileges of the schema owner) — need only the
// owner. It reports whether it created the role.
func EnsureBackupRole(ctx context.Context, adminURL, backupURL string, create bool) (created bool, err error) {
	return setUpRole(ctx, adminURL, backupURL, "RPCRM_BACKUP_DATABASE_URL", func(tx pgx.Tx, role, password, ident string) (bool, error) {
		var exists, bypass bool
		if err := tx.QueryRow(ctx, "SELECT count(*) > 0, coalesce(bool_or(rolbypassrls), false) FROM pg_roles WHERE rolname = $1", role).
			Scan(&exists, &bypass); err != nil {
			return false, err
		}
		switch {
		case !exists && !create:
			return false, fmt.Errorf("backup role %s does not exist: create it with `rpcrm backup --init-role` (see docs/backups.md)", role)
		case !exists:
			stmt, err := createRoleSQL(ctx, tx, role, password, "NOSUPERUSER BYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT")
			if err != nil {
				return false, err
			}
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return false, privilegeHint(fmt.Errorf("create backup role %s: %w", role, err))
			}
			created = true
		case !bypass:
			if _, err := tx.Exec(ctx, "ALTER ROLE "+ident+" BYPASSRLS"); err != nil {
				return false, privilegeHint(fmt.Errorf("give backup role %s BYPASSRLS: %w", role, err))
			}
		}
		var dbName, schemaOwner string
		if err := tx.QueryRow(ctx, `SELECT current_database(),
			coalesce((SELECT tableowner::text FROM pg_tables WHERE schemaname = 'public' AND tablename = $1), current_user::text)`,
			versionTable).Scan(&dbName, &schemaOwner); err != nil {
			return false, err
		}
		owner := pgx.Identifier{schemaOwner}.Sanitize()
		// Read-only: whatever else it held goes (roleBaseGrants).
		stmts := append(roleBaseGrants(dbName, ident),
			"GRANT SELECT ON ALL TABLES IN SCHEMA public TO "+ident,
			"GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO "+ident,
			// Tables of later migrations are readable at once.
			"ALTER DEFAULT PRIVILEGES FOR ROLE "+owner+" IN SCHEMA public GRANT SELECT ON TABLES TO "+ident,
			"ALTER DEFAULT PRIVILEGES FOR ROLE "+owner+" IN SCHEMA public GRANT SELECT ON SEQUENCES TO "+ident,
		)
		if s, err := execAll(ctx, tx, stmts); err != nil {
			return false, privilegeHint(fmt.Errorf("grant to backup role %s: %s: %w", role, s, err))
		}
		return created, nil
	})
}

// privilegeHint adds what to do to an insufficient_privilege error.
func privilegeHint(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42501" {
		return fmt.Errorf("%w (run it once with RPCRM_DATABASE_OWNER_URL set to a superuser, e.g. postgres; see docs/backups.md)", err)
	}
	return err
}

// CheckBackupRole connects with backupURL and returns an error naming what is
// missing if that role cannot dump the whole database: BYPASSRLS, or SELECT
// on one of the tables.
func CheckBackupRole(ctx context.Context, backupURL string) error {
	conn, err := pgx.Connect(ctx, backupURL)
	if err != nil {
		return fmt.Errorf("connect as backup role: %w", redact(err))
	}
	defer conn.Close(ctx)
	var (
		role       string
		super, bpr bool
		unreadable []string
	)
	err = conn.QueryRow(ctx, `SELECT r.rolname, r.rolsuper, r.rolbypassrls,
		coalesce((SELECT array_agg(c.relname::text ORDER BY c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		          WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'S') AND NOT has_table_privilege(c.oid, 'SELECT')), '{}')
		FROM pg_roles r WHERE r.rolname = current_user`).Scan(&role, &super, &bpr, &unreadable)
	if err != nil {
		return fmt.Errorf("inspect backup role: %w", err)
	}
	var problems []string
	if !super && !bpr {
		problems = append(problems, "cannot bypass row-level security (no BYPASSRLS)")
	}
	if len(unreadable) > 0 {
		problems = append(problems, "may not read "+strings.Join(unreadable, ", "))
	}
	if len(problems) > 0 {
		return fmt.Errorf("RPCRM_BACKUP_DATABASE_URL: the backup role %q %s: run `rpcrm backup --init-role` (see docs/backups.md)",
			role, strings.Join(problems, " and "))
	}
	return nil
}
