package pgtest_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rpcrm/rpcrm/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func connect(t *testing.T, u string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func mustExec(t *testing.T, conn *pgx.Conn, sql string) {
	t.Helper()
	if _, err := conn.Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func count(t *testing.T, conn *pgx.Conn, sql string, arg any) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(context.Background(), sql, arg).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func dbName(t *testing.T, u string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(p.Path, "/")
}

func TestNewDatabase(t *testing.T) {
	admin := connect(t, pgtest.Admin(t))
	var (
		name string
		leak *pgx.Conn
		err  error
	)
	t.Run("use", func(t *testing.T) {
		u := pgtest.NewDatabase(t)
		name = dbName(t, u)
		if !strings.HasPrefix(name, "rpcrm_t_") {
			t.Errorf("database name %q lacks the rpcrm_t_ prefix", name)
		}
		conn := connect(t, u)
		mustExec(t, conn, "CREATE TABLE t (id int PRIMARY KEY)")
		mustExec(t, conn, "INSERT INTO t VALUES (1)")
		var super bool
		if err := conn.QueryRow(context.Background(), "SELECT rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&super); err != nil {
			t.Fatal(err)
		}
		if !super {
			t.Error("NewDatabase URL does not carry superuser credentials")
		}
		// Left open on purpose: the drop must end sessions itself.
		if leak, err = pgx.Connect(context.Background(), u); err != nil {
			t.Fatal(err)
		}
	})
	if leak != nil {
		leak.Close(context.Background())
	}
	if n := count(t, admin, "SELECT count(*) FROM pg_database WHERE datname = $1", name); n != 0 {
		t.Errorf("database %s still exists after the test's cleanup", name)
	}
}

func TestNewDatabaseParallel(t *testing.T) {
	const n = 4
	var mu sync.Mutex
	seen := map[string]bool{}
	for i := range n {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			u := pgtest.NewDatabase(t)
			mu.Lock()
			defer mu.Unlock()
			if seen[dbName(t, u)] {
				t.Errorf("database name %s handed out twice", dbName(t, u))
			}
			seen[dbName(t, u)] = true
		})
	}
}

func TestNewRoleURL(t *testing.T) {
	admin := connect(t, pgtest.Admin(t))
	var role, database string
	t.Run("use", func(t *testing.T) {
		dbURL := pgtest.NewDatabase(t)
		database = dbName(t, dbURL)
		roleURL := pgtest.NewRoleURL(t, dbURL)
		u, err := url.Parse(roleURL)
		if err != nil {
			t.Fatal(err)
		}
		role = u.User.Username()
		password, _ := u.User.Password()
		if !strings.HasPrefix(role, "rpcrm_t_app_") || password == "" {
			t.Fatalf("role URL %s: want a rpcrm_t_app_ role with a password", roleURL)
		}
		if dbName(t, roleURL) != database {
			t.Errorf("role URL points at %s, want %s", dbName(t, roleURL), database)
		}

		// What the code under test would do: create the role and give it
		// things that make a plain DROP ROLE fail.
		owner := connect(t, dbURL)
		q := pgx.Identifier{role}.Sanitize()
		mustExec(t, owner, fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", q, password))
		mustExec(t, owner, fmt.Sprintf("GRANT CONNECT, CREATE ON DATABASE %s TO %s", pgx.Identifier{database}.Sanitize(), q))
		mustExec(t, owner, "CREATE TABLE granted (id int)")
		mustExec(t, owner, "GRANT SELECT ON granted TO "+q)

		app := connect(t, roleURL)
		var user string
		if err := app.QueryRow(context.Background(), "SELECT current_user").Scan(&user); err != nil {
			t.Fatal(err)
		}
		if user != role {
			t.Errorf("connected as %s, want %s", user, role)
		}
		mustExec(t, app, "CREATE SCHEMA owned_by_app")
		mustExec(t, app, "CREATE TABLE owned_by_app.t (id int)")
	})
	if n := count(t, admin, "SELECT count(*) FROM pg_roles WHERE rolname = $1", role); n != 0 {
		t.Errorf("role %s still exists after the test's cleanup", role)
	}
	if n := count(t, admin, "SELECT count(*) FROM pg_database WHERE datname = $1", database); n != 0 {
		t.Errorf("database %s still exists after the test's cleanup", database)
	}
}

func TestNewRoleURLNeverCreated(t *testing.T) {
	t.Run("use", func(t *testing.T) {
		_ = pgtest.NewRoleURL(t, pgtest.NewDatabase(t))
	})
	// Passing is the assertion: the cleanup must not fail on a missing role.
}
