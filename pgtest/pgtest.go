// Package pgtest gives tests a real PostgreSQL: a fresh database per call,
// on whichever server is at hand (RPCRM_TEST_ADMIN_URL, the local server on
// 5432, or a private one started for the test process).
//
// A package that uses it should stop the private server when its tests end:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/rpcrm/rpcrm/pgserver"
)

// Environment variables that choose the server.
const (
	// AdminURLEnv names a superuser URL to use instead of looking for a server.
	AdminURLEnv = "RPCRM_TEST_ADMIN_URL"
	// PrivateEnv, set to 1, skips every other server and starts a private
	// one, so that path can be exercised on a machine that has 5432.
	PrivateEnv = "RPCRM_TEST_PRIVATE_PG"
)

// DefaultAdminURL is the machine's own server, tried before starting one.
const DefaultAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

const (
	dbPrefix   = "rpcrm_t_"
	rolePrefix = "rpcrm_t_app_"
	// Long enough for teardown under a busy CI machine, short enough that a
	// hung server fails the test run rather than the CI timeout.
	adminTimeout = 30 * time.Second
)

// The first Admin call decides which server this test process uses; the
// decision, and any failure, is shared by every later call.
var (
	mu         sync.Mutex
	decided    bool
	adminURL   string
	adminErr   error // fail every test with it
	skipReason string
	server     *pgserver.Server
	serverDir  string
)

// Admin returns a superuser URL: RPCRM_TEST_ADMIN_URL if set, else the local
// server on 127.0.0.1:5432 if it answers within about 2 s, else a private
// server started once per test process (fsync off; stopped by Shutdown).
// RPCRM_TEST_PRIVATE_PG=1 forces the private server. Without PostgreSQL
// binaries the test is skipped, or failed when CI=true.
func Admin(tb testing.TB) string {
	tb.Helper()
	mu.Lock()
	defer mu.Unlock()
	if !decided {
		adminURL, skipReason, adminErr = decide()
		decided = true
	}
	switch {
	case adminErr != nil:
		tb.Fatal(adminErr)
	case skipReason != "":
		tb.Skip(skipReason)
	}
	return adminURL
}

func decide() (admin, skip string, err error) {
	if on, _ := strconv.ParseBool(os.Getenv(PrivateEnv)); on {
		return startPrivate()
	}
	if u := os.Getenv(AdminURLEnv); u != "" {
		if err := ping(u, 5*time.Second); err != nil {
			return "", "", fmt.Errorf("pgtest: %s does not answer: %w", AdminURLEnv, err)
		}
		return u, "", nil
	}
	if ping(DefaultAdminURL, 2*time.Second) == nil {
		return DefaultAdminURL, "", nil
	}
	return startPrivate()
}

func ping(u string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return conn.Ping(ctx)
}

// startPrivate runs a throw-away cluster. Its directory sits directly under
// os.TempDir with mode 0755 because, when tests run as root, the server runs
// as the postgres user and must be able to enter every parent.
func startPrivate() (admin, skip string, err error) {
	if _, err := pgserver.FindBinDir(); err != nil {
		if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
			return "", "", fmt.Errorf("pgtest: no PostgreSQL server answers and none can be started (CI must install it): %w", err)
		}
		return "", "pgtest: no PostgreSQL server answers and none can be started: " + err.Error(), nil
	}
	dir, err := os.MkdirTemp("", "rpcrm-pgtest-")
	if err != nil {
		return "", "", fmt.Errorf("pgtest: %w", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		os.RemoveAll(dir)
		return "", "", fmt.Errorf("pgtest: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := pgserver.Start(ctx, pgserver.Options{
		Dir:      filepath.Join(dir, "data"),
		User:     "postgres",
		Password: randomHex(16),
		// Durability is worthless for a cluster deleted at the end of the run.
		Settings: map[string]string{
			"fsync":              "off",
			"synchronous_commit": "off",
			"full_page_writes":   "off",
		},
	})
	if err != nil {
		os.RemoveAll(dir)
		return "", "", fmt.Errorf("pgtest: private server: %w", err)
	}
	server, serverDir = s, dir
	return s.URL("postgres"), "", nil
}

// Shutdown stops the private server, if this process started one, and
// deletes its files. Without it the server still ends with the test process
// (on Linux), but its directory stays behind in os.TempDir.
func Shutdown() {
	mu.Lock()
	defer mu.Unlock()
	if server != nil {
		if err := server.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
		if err := os.RemoveAll(serverDir); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
	}
	server, serverDir = nil, ""
	decided, adminURL, adminErr, skipReason = false, "", nil, ""
}

// Main runs the tests and then Shutdown; call it from TestMain. Returning
// from TestMain lets the testing package exit with m.Run's code.
func Main(m *testing.M) {
	defer Shutdown()
	m.Run()
}

// NewDatabase creates an empty database with a random name (prefix
// rpcrm_t_), owned by the admin superuser, and drops it when the test ends,
// ending any sessions still open on it. It returns the database's URL with
// the admin credentials.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	admin := Admin(tb)
	name := dbPrefix + randomHex(8)
	// template0 rather than template1: nothing that someone added to the
	// shared server's template1 leaks in, and concurrent creates never trip
	// over a session connected to the template.
	execAdmin(tb, admin, "CREATE DATABASE "+quote(name)+" TEMPLATE template0 ENCODING 'UTF8'")
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
		defer cancel()
		if err := execCtx(ctx, admin, "DROP DATABASE IF EXISTS "+quote(name)+" WITH (FORCE)"); err != nil {
			tb.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return withDatabase(tb, admin, name)
}

// NewRoleURL returns dbURL with a fresh role name (prefix rpcrm_t_app_) and a
// random password in place of its credentials. The role is not created: that
// is the job of the code under test. When the test ends the role is dropped
// if it exists, together with what it owns and was granted in dbURL's
// database.
func NewRoleURL(tb testing.TB, dbURL string) string {
	tb.Helper()
	admin := Admin(tb)
	u, err := url.Parse(dbURL)
	if err != nil {
		tb.Fatalf("pgtest: NewRoleURL: %v", err)
	}
	database := strings.TrimPrefix(u.Path, "/")
	role, password := rolePrefix+randomHex(8), randomHex(16)
	u.User = url.UserPassword(role, password)

	// Cleanups run last-in first-out, so this one runs while the database
	// from NewDatabase still exists. DROP ROLE fails as long as the role
	// owns objects or holds privileges anywhere, so clear them in that
	// database first; DROP OWNED also revokes grants on the database itself.
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
		defer cancel()
		if err := dropRole(ctx, tb, admin, database, role); err != nil {
			tb.Errorf("pgtest: drop role %s: %v", role, err)
		}
	})
	return u.String()
}

func dropRole(ctx context.Context, tb testing.TB, admin, database, role string) error {
	conn, err := pgx.Connect(ctx, withDatabase(tb, admin, database))
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "3D000" {
		// The database is already gone, and with it whatever the role had there.
		conn, err = pgx.Connect(ctx, admin)
	}
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", role).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		return nil
	}
	q := quote(role)
	for _, sql := range []string{
		// Ownership of databases and other shared objects is moved, not lost.
		"REASSIGN OWNED BY " + q + " TO CURRENT_USER",
		"DROP OWNED BY " + q,
		"DROP ROLE " + q,
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			return fmt.Errorf("%s: %w", sql, err)
		}
	}
	return nil
}

func withDatabase(tb testing.TB, admin, database string) string {
	tb.Helper()
	u, err := url.Parse(admin)
	if err != nil {
		tb.Fatalf("pgtest: admin URL must be a postgres:// URL: %v", err)
	}
	u.Path = "/" + database
	u.RawPath = ""
	return u.String()
}

func execAdmin(tb testing.TB, admin, sql string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	if err := execCtx(ctx, admin, sql); err != nil {
		tb.Fatalf("pgtest: %s: %v", sql, err)
	}
}

func execCtx(ctx context.Context, connURL, sql string) error {
	conn, err := pgx.Connect(ctx, connURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

func quote(name string) string { return pgx.Identifier{name}.Sanitize() }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}
