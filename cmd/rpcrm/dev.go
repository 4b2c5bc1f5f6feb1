package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/config"
	"github.com/rpcrm/rpcrm/pgserver"
	"github.com/rpcrm/rpcrm/postgres"
	"github.com/rpcrm/rpcrm/tenant"
)

// demoTenants is the tenants file `rpcrm dev` writes when there is none.
const demoTenants = `{
  "tenants": [
    {"id": "mandant1", "name": "Mandant 1 AG", "hosts": ["mandant1.localhost"], "locale": "de-CH", "currency": "CHF", "timezone": "Europe/Zurich"},
    {"id": "mandant2", "name": "Mandant 2 GmbH", "hosts": ["mandant2.localhost"], "locale": "de-CH", "currency": "CHF", "timezone": "Europe/Zurich"}
  ]
}
`

// demoUser is a login `rpcrm dev` creates in every tenant of the demo file.
type demoUser struct{ local, name, role, password string }

var demoUsers = []demoUser{
	{"admin", "Anna Admin", auth.RoleKeyAdmin, "Zuerichsee-2026"},
	{"verkauf", "Viktor Verkauf", auth.RoleKeySales, "Verkauf-Chur-2026"},
}

func runDev(ctx context.Context, env *environment, args []string) error {
	fs := newFlagSet(env, "dev", "", `Start RP CRM for development with nothing to configure: without DATABASE_URL
a private PostgreSQL is started from the installed server binaries with its
data under RPCRM_DATA_DIR/postgres (./data/postgres), reused on the next start.
Without RPCRM_TENANTS_FILE, RPCRM_DATA_DIR/tenants.json is used and, if missing,
written with two demo tenants (mandant1.localhost, mandant2.localhost). Each
demo tenant gets an administrator and a sales user, and a tenant without
contacts demo data (rpcrm seed, 200 contacts). Ctrl-C stops the server and
then PostgreSQL.`)
	envFile := configFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(env, *envFile, config.Options{Env: config.EnvDev, AllowNoDatabase: true, TenantsFileInDataDir: true})
	if err != nil {
		return err
	}
	if cfg.TenantsFile == filepath.Join(cfg.DataDir, "tenants.json") {
		if err := writeIfMissing(cfg.TenantsFile, demoTenants); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("RPCRM_DATA_DIR: %w", err)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if cfg.DatabaseURL == "" {
		srv, err := startDevPostgres(ctx, cfg)
		if err != nil {
			return err
		}
		defer func() {
			cancel() // first, so the watcher below does not mistake this stop for a crash
			fmt.Fprintln(env.stderr, "stopping PostgreSQL …")
			if err := srv.Stop(); err != nil {
				fmt.Fprintln(env.stderr, "PostgreSQL stop:", err)
			}
		}()
		go func() {
			select {
			case <-srv.Done():
				fmt.Fprintln(env.stderr, "PostgreSQL exited unexpectedly; see", srv.LogFile())
				cancel()
			case <-ctx.Done():
			}
		}()
	}

	// Prepare everything before the server starts, so that the logins
	// printed below work from the first request.
	log := newLogger(cfg, env.stderr)
	set, err := loadTenants(cfg.TenantsFile)
	if err != nil {
		return err
	}
	db, err := prepareDatabase(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	err = db.SyncTenants(ctx, tenantRows(set))
	if err == nil {
		err = createDemoUsers(ctx, db, set.All())
	}
	if err == nil {
		err = seedDemoTenants(ctx, db, set.All())
	}
	db.Close()
	if err != nil {
		return err
	}
	cfg.MigrateOnStart = false // done above

	return serve(ctx, env, cfg, func(addr string) {
		port := addr[strings.LastIndexByte(addr, ':')+1:]
		w := env.stdout
		fmt.Fprintln(w)
		fmt.Fprintln(w, "RP CRM is running (Ctrl-C stops it).")
		fmt.Fprintln(w)
		for _, t := range set.All() {
			for _, h := range t.Hosts {
				fmt.Fprintf(w, "  %-16s http://%s:%s/\n", t.Name, h, port)
			}
			for _, u := range demoUsers {
				fmt.Fprintf(w, "      %-8s %-28s password: %s\n", u.role, u.local+"@"+t.ID+".localhost", u.password)
			}
		}
		if all := set.All(); len(all) > 0 {
			first := all[0]
			fmt.Fprintln(w)
			fmt.Fprintf(w, "  Try: curl -s http://%s:%s/api/v1/auth/login -H 'Content-Type: application/json' \\\n", first.Hosts[0], port)
			fmt.Fprintf(w, "         -d '{\"email\":\"%s@%s.localhost\",\"password\":\"%s\"}'\n", demoUsers[0].local, first.ID, demoUsers[0].password)
		}
		fmt.Fprintln(w)
		fmt.Fprintf(w, "  Health: http://127.0.0.1:%s/healthz   Metrics: http://127.0.0.1:%s/metrics\n\n", port, port)
	})
}

// devSecrets are the passwords of the private cluster's roles, kept next to
// its data so that a second start can log in again.
type devSecrets struct {
	Owner string `json:"owner_password"`
	App   string `json:"app_password"`
}

func startDevPostgres(ctx context.Context, cfg *config.Config) (*pgserver.Server, error) {
	if _, err := pgserver.FindBinDir(); err != nil {
		return nil, fmt.Errorf("%v", err)
	}
	secretsFile := filepath.Join(cfg.DataDir, "postgres.secrets.json")
	var s devSecrets
	data, err := os.ReadFile(secretsFile)
	switch {
	case err == nil:
		if err := json.Unmarshal(data, &s); err != nil || s.Owner == "" || s.App == "" {
			return nil, fmt.Errorf("%s is damaged: delete %s and it to start afresh", secretsFile, filepath.Join(cfg.DataDir, "postgres"))
		}
	case errors.Is(err, os.ErrNotExist):
		s = devSecrets{Owner: randomHex(16), App: randomHex(16)}
		data, _ := json.MarshalIndent(s, "", "  ")
		if err := os.WriteFile(secretsFile, append(data, '\n'), 0o600); err != nil {
			return nil, err
		}
	default:
		return nil, err
	}
	dir, err := filepath.Abs(filepath.Join(cfg.DataDir, "postgres"))
	if err != nil {
		return nil, err
	}
	srv, err := pgserver.Start(ctx, pgserver.Options{Dir: dir, User: "rpcrm_owner", Password: s.Owner})
	if err != nil {
		return nil, fmt.Errorf("start private PostgreSQL: %w", err)
	}
	// The cluster has only its maintenance database at first.
	conn, err := pgx.Connect(ctx, srv.URL("postgres"))
	if err == nil {
		var exists bool
		err = conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'rpcrm')").Scan(&exists)
		if err == nil && !exists {
			_, err = conn.Exec(ctx, "CREATE DATABASE rpcrm")
		}
		conn.Close(ctx)
	}
	if err != nil {
		srv.Stop()
		return nil, fmt.Errorf("create database rpcrm: %w", err)
	}
	cfg.DatabaseOwnerURL = srv.URL("rpcrm")
	app, _ := url.Parse(cfg.DatabaseOwnerURL)
	app.User = url.UserPassword("rpcrm_app", s.App)
	cfg.DatabaseURL = app.String()
	return srv, nil
}

func createDemoUsers(ctx context.Context, db *postgres.DB, tenants []*tenant.Tenant) error {
	svc := &postgres.AuthService{DB: db}
	for _, t := range tenants {
		who := systemPrincipal(t, "rpcrm dev")
		for _, u := range demoUsers {
			email := u.local + "@" + t.ID + ".localhost"
			_, err := svc.UserByEmail(ctx, who, email)
			if err == nil {
				continue
			}
			if rpcrm.ErrorCode(err) != rpcrm.ENOTFOUND {
				return err
			}
			if _, err := svc.CreateUser(ctx, who, auth.NewUser{Email: email, Name: u.name, Password: u.password,
				RoleKeys: []string{u.role}}, auth.LoginMeta{}); err != nil {
				return fmt.Errorf("demo user %s: %w", email, fieldErrors(err))
			}
		}
	}
	return nil
}

func writeIfMissing(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
