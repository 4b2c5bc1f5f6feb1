package postgres_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/audit"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/internal/testfix"
	"github.com/rpcrm/rpcrm/pgtest"
	"github.com/rpcrm/rpcrm/postgres"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// newPassword satisfies the password policy and differs from testfix.Password.
const newPassword = "Rheinfall-Schaffhausen-42"

// pgCode returns the SQLSTATE of err, or "" if err is not a PostgreSQL error.
func pgCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

func wantPgCode(t testing.TB, err error, code, what string) {
	t.Helper()
	if got := pgCode(err); got != code {
		t.Errorf("%s: want SQLSTATE %s, got %q (err = %v)", what, code, got, err)
	}
}

func wantCode(t testing.TB, err error, code, what string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: want error %s, got nil", what, code)
		return
	}
	if got := rpcrm.ErrorCode(err); got != code {
		t.Errorf("%s: want error code %s, got %s (err = %v)", what, code, got, err)
	}
}

// ownerConn connects as the superuser that owns the schema; it bypasses RLS.
func ownerConn(t testing.TB, e *testfix.Env) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), e.OwnerURL)
	if err != nil {
		t.Fatalf("connect as owner: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func ownerExec(t testing.TB, conn *pgx.Conn, sql string, args ...any) pgconn.CommandTag {
	t.Helper()
	tag, err := conn.Exec(context.Background(), sql, args...)
	if err != nil {
		t.Fatalf("owner: %s: %v", sql, err)
	}
	return tag
}

func ownerInt(t testing.TB, conn *pgx.Conn, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("owner: %s: %v", sql, err)
	}
	return n
}

func tid(t testing.TB, e *testfix.Env, slug string) uuid.UUID {
	return e.Tenant(t, slug).UUID()
}

// execIn runs one statement in a transaction scoped to tenant and returns the
// number of affected rows.
func execIn(e *testfix.Env, tenant uuid.UUID, sql string, args ...any) (int64, error) {
	ctx := context.Background()
	var n int64
	err := e.DB.InTenant(ctx, tenant, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, sql, args...)
		n = tag.RowsAffected()
		return err
	})
	return n, err
}

// stringsIn runs a one-column query in a transaction scoped to tenant.
func stringsIn(t testing.TB, e *testfix.Env, tenant uuid.UUID, sql string, args ...any) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	err := e.DB.InTenant(ctx, tenant, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	slices.Sort(out)
	return out
}

// roleID returns the id of the role with the given built-in key in a tenant.
func roleID(t testing.TB, e *testfix.Env, slug, key string) uuid.UUID {
	t.Helper()
	roles, err := e.Auth.ListRoles(context.Background(), e.System(t, slug))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range roles {
		if r.Key == key {
			return r.ID
		}
	}
	t.Fatalf("no role %q in %s", key, slug)
	return uuid.Nil
}

// loginAs logs in and returns the token pair and the authenticated principal.
func loginAs(t testing.TB, e *testfix.Env, slug, email string) (*auth.TokenPair, *auth.Principal) {
	t.Helper()
	pair := e.Login(t, slug, email)
	p, err := e.Auth.Authenticate(context.Background(), e.Ref(t, slug), pair.AccessToken)
	if err != nil {
		t.Fatalf("authenticate %s: %v", email, err)
	}
	return pair, p
}

func auditList(t testing.TB, e *testfix.Env, slug string, f audit.Filter) []audit.Entry {
	t.Helper()
	as := &postgres.AuditService{DB: e.DB}
	list, err := as.List(context.Background(), e.System(t, slug), f)
	if err != nil {
		t.Fatalf("audit list %s: %v", slug, err)
	}
	return list
}

func ptr[T any](v T) *T { return &v }

func tenantRows(e *testfix.Env) []postgres.TenantRow {
	var rows []postgres.TenantRow
	for _, t := range e.Tenants.All() {
		rows = append(rows, postgres.TenantRow{ID: t.UUID(), Slug: t.ID, Name: t.Name, Active: t.Active})
	}
	return rows
}

// planOf returns PostgreSQL's plan of sql (explain is the EXPLAIN with its
// options) in a transaction of the tenant, after setup (nil: none), which
// may change the planner's settings for that transaction only.
func planOf(t testing.TB, e *testfix.Env, tenant uuid.UUID, explain, sql string, args []any, setup func(pgx.Tx) error) string {
	t.Helper()
	ctx := context.Background()
	var plan []string
	err := e.DB.InTenant(ctx, tenant, func(tx pgx.Tx) error {
		if setup != nil {
			if err := setup(tx); err != nil {
				return err
			}
		}
		rows, err := tx.Query(ctx, explain+" "+sql, args...)
		if err != nil {
			return err
		}
		plan, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, sql)
	}
	return strings.Join(plan, "\n")
}

// noSeqScan is a planOf setup that makes the planner use an index wherever
// one can serve, as it would on a table of many rows.
func noSeqScan(tx pgx.Tx) error {
	_, err := tx.Exec(context.Background(), "SET LOCAL enable_seqscan = off")
	return err
}
