package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rpcrm/rpcrm/pgserver"
)

// localAdminURL is the machine's own PostgreSQL, tried before starting one.
const localAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

const (
	setupBudget  = 3 * time.Minute  // database, migrations, server start, login
	adminTimeout = 30 * time.Second // each statement of the teardown
)

// database is where the benchmark runs: the application role's URL (the
// server's DATABASE_URL and (B)'s pool) and the owner's (migrations).
type database struct {
	appURL, ownerURL string
	name             string // the database's name
	about            string // one line for the report
	// managed is true when the benchmark made the database (and so strips
	// the caller's PG* variables from the server's environment).
	managed bool
	drop    []func() error // run in reverse order by close
}

func (d *database) close() error {
	var errs []error
	for i := len(d.drop) - 1; i >= 0; i-- {
		if err := d.drop[i](); err != nil {
			errs = append(errs, err)
		}
	}
	d.drop = nil
	return errors.Join(errs...)
}

// setupDatabase uses the caller's DATABASE_URL (and RPCRM_DATABASE_OWNER_URL)
// if set; else a fresh database on the local server if it answers; else a
// fresh database on a private server started for this run.
func setupDatabase(ctx context.Context, forcePrivate bool, logf func(string, ...any)) (*database, error) {
	app, owner := os.Getenv("DATABASE_URL"), os.Getenv("RPCRM_DATABASE_OWNER_URL")
	if app != "" {
		return callerDatabase(app, owner)
	}
	if owner != "" {
		return nil, errors.New("RPCRM_DATABASE_OWNER_URL is set but DATABASE_URL is not: set both, or neither to let the benchmark make its own database")
	}

	if !forcePrivate {
		err := ping(ctx, localAdminURL, 2*time.Second)
		if err == nil {
			logf("using the local PostgreSQL on 127.0.0.1:5432")
			return newBenchDatabase(ctx, localAdminURL, "local server 127.0.0.1:5432", logf)
		}
		logf("no PostgreSQL answers on 127.0.0.1:5432 as postgres (%v); starting a private one", oneLine(err))
	}

	if _, err := pgserver.FindBinDir(); err != nil {
		return nil, fmt.Errorf("no database: set DATABASE_URL and RPCRM_DATABASE_OWNER_URL, run PostgreSQL on 127.0.0.1:5432, or install it: %w", err)
	}
	// Directly under the temp dir with 0755: when we run as root, the
	// server runs as the postgres account and must be able to enter it.
	dir, err := os.MkdirTemp("", "rpcrm-bench-pg-")
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	srv, err := pgserver.Start(ctx, pgserver.Options{
		Dir:      filepath.Join(dir, "data"),
		User:     "postgres",
		Password: randomHex(16),
		// Durability is worthless for a cluster deleted at the end of the
		// run; the measured work only reads.
		Settings: map[string]string{"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"},
	})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	logf("private PostgreSQL started on 127.0.0.1:%d (data in %s)", srv.Port(), dir)
	stop := func() error {
		logf("stopping the private PostgreSQL")
		return errors.Join(srv.Stop(), os.RemoveAll(dir))
	}
	db, err := newBenchDatabase(ctx, srv.URL("postgres"), fmt.Sprintf("private server (pgserver) 127.0.0.1:%d", srv.Port()), logf)
	if err != nil {
		return nil, errors.Join(err, stop())
	}
	db.drop = append([]func() error{stop}, db.drop...)
	return db, nil
}

// callerDatabase checks the caller's URLs. The server runs with
// RPCRM_ENV=prod, which refuses an application role that owns the tables,
// so the owner must be a different role; and the load must stay on this
// machine.
func callerDatabase(app, owner string) (*database, error) {
	if owner == "" {
		owner = app
	}
	appCfg, err := pgx.ParseConfig(app)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	ownerCfg, err := pgx.ParseConfig(owner)
	if err != nil {
		return nil, fmt.Errorf("RPCRM_DATABASE_OWNER_URL: %w", err)
	}
	if appCfg.User == ownerCfg.User {
		return nil, fmt.Errorf("DATABASE_URL and RPCRM_DATABASE_OWNER_URL both connect as %q: the server runs with RPCRM_ENV=prod, "+
			"which refuses an application role that owns the tables; set RPCRM_DATABASE_OWNER_URL to the owner role", appCfg.User)
	}
	for _, u := range []struct {
		name string
		cfg  *pgx.ConnConfig
	}{{"DATABASE_URL", appCfg}, {"RPCRM_DATABASE_OWNER_URL", ownerCfg}} {
		hosts := []string{u.cfg.Host}
		for _, fb := range u.cfg.Fallbacks {
			hosts = append(hosts, fb.Host)
		}
		for _, h := range hosts {
			if !isLocalHost(h) {
				return nil, fmt.Errorf("%s points at %s: the benchmark only runs against a database on this machine (127.0.0.1, ::1, localhost or a Unix socket)", u.name, h)
			}
		}
	}
	return &database{appURL: app, ownerURL: owner, name: appCfg.Database,
		about: fmt.Sprintf("caller's DATABASE_URL %s@%s:%d/%s", appCfg.User, appCfg.Host, appCfg.Port, appCfg.Database)}, nil
}

func isLocalHost(h string) bool {
	if strings.HasPrefix(h, "/") || h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// newBenchDatabase creates rpcrm_bench_<random> on the server of adminURL (a
// superuser, who then owns the schema) and names an application role
// rpcrm_bench_app_<random> with a random password, which `rpcrm migrate`
// creates. Both are dropped by close.
func newBenchDatabase(ctx context.Context, adminURL, where string, logf func(string, ...any)) (*database, error) {
	suffix := randomHex(6)
	name, role, password := "rpcrm_bench_"+suffix, "rpcrm_bench_app_"+suffix, randomHex(16)
	owner, err := url.Parse(adminURL)
	if err != nil {
		return nil, err
	}
	owner.Path, owner.RawPath = "/"+name, ""
	if err := execSQL(ctx, adminURL, "CREATE DATABASE "+quote(name)+" TEMPLATE template0 ENCODING 'UTF8'"); err != nil {
		return nil, fmt.Errorf("create database %s: %w", name, err)
	}
	logf("created database %s; application role %s", name, role)
	app := *owner
	app.User = url.UserPassword(role, password)
	d := &database{appURL: app.String(), ownerURL: owner.String(), name: name, managed: true,
		about: fmt.Sprintf("%s, fresh database %s, application role %s", where, name, role)}
	d.drop = append(d.drop, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
		defer cancel()
		logf("dropping database %s and role %s", name, role)
		// The role's privileges all lie in the database, so once that is
		// gone nothing holds on to the role.
		return errors.Join(
			execSQL(ctx, adminURL, "DROP DATABASE IF EXISTS "+quote(name)+" WITH (FORCE)"),
			execSQL(ctx, adminURL, "DROP ROLE IF EXISTS "+quote(role)))
	})
	return d, nil
}

func ping(ctx context.Context, u string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return conn.Ping(ctx)
}

func execSQL(ctx context.Context, connURL, sql string) error {
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
	_, _ = rand.Read(b) // never fails on supported platforms
	return hex.EncodeToString(b)
}

func oneLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}
