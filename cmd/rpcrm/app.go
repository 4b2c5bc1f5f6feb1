package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/config"
	"github.com/rpcrm/rpcrm/filestore"
	"github.com/rpcrm/rpcrm/postgres"
	"github.com/rpcrm/rpcrm/tenant"
)

// configFlags adds --env-file to fs and returns a loader for the configuration.
func configFlags(fs *flag.FlagSet) *string {
	return fs.String("env-file", "", "read settings from this env file (e.g. .env.production); the environment wins over it")
}

func loadConfig(env *environment, envFile string, o config.Options) (*config.Config, error) {
	o.EnvFile = envFile
	o.Lookup = env.lookup
	o.Environ = env.environ
	cfg, err := config.Load(o)
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	return cfg, nil
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// loadTenants reads and validates the tenants file; a bad file is a
// configuration error (exit 2) that names every problem.
func loadTenants(path string) (*tenant.Set, error) {
	set, err := tenant.LoadFile(path)
	if err != nil {
		var ve *tenant.ValidationError
		if errors.As(err, &ve) || errors.Is(err, fs.ErrNotExist) {
			return nil, &exitError{code: 2, err: fmt.Errorf("RPCRM_TENANTS_FILE: %w", err)}
		}
		return nil, err
	}
	return set, nil
}

func tenantRows(set *tenant.Set) []postgres.TenantRow {
	var rows []postgres.TenantRow
	for _, t := range set.All() {
		rows = append(rows, postgres.TenantRow{ID: t.UUID(), Slug: t.ID, Name: t.Name, Active: t.Active})
	}
	return rows
}

// prepareDatabase migrates (with the owner connection) when asked, makes sure
// the application role exists with its grants, and opens the application pool.
func prepareDatabase(ctx context.Context, cfg *config.Config, log *slog.Logger, migrate bool) (*postgres.DB, error) {
	if migrate {
		applied, err := postgres.Migrate(ctx, cfg.DatabaseOwnerURL, log)
		if err != nil {
			return nil, err
		}
		if len(applied) > 0 {
			log.Info("migrations applied", "versions", applied)
		}
		created, err := postgres.EnsureAppRole(ctx, cfg.DatabaseOwnerURL, cfg.DatabaseURL)
		if err != nil {
			return nil, err
		}
		if created {
			log.Info("application role created")
		}
	}
	db, err := postgres.Open(ctx, cfg.DatabaseURL, cfg.DBMaxConns)
	if err != nil {
		return nil, err
	}
	if err := db.CheckSchema(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// jwtKey returns RPCRM_JWT_SECRET, or the key in DATA_DIR/keys/jwt.key,
// created on first use. Every instance serving the same tenants needs the same key.
func jwtKey(cfg *config.Config) ([]byte, error) {
	if len(cfg.JWTSecret) > 0 {
		return cfg.JWTSecret, nil
	}
	dir := filepath.Join(cfg.DataDir, "keys")
	path := filepath.Join(dir, "jwt.key")
	key, err := os.ReadFile(path)
	if err == nil {
		if len(key) < auth.MinTokenKeyLen {
			return nil, fmt.Errorf("%s: key is shorter than %d bytes", path, auth.MinTokenKeyLen)
		}
		return key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("RPCRM_DATA_DIR: %w", err)
	}
	key = make([]byte, 64)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	// O_EXCL: if another instance created the key meanwhile, use theirs.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("RPCRM_DATA_DIR: %w", err)
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		return nil, err
	}
	return key, f.Close()
}

// systemPrincipal acts for the operator in CLI commands: every grant, no user.
func systemPrincipal(t *tenant.Tenant, who string) *auth.Principal {
	var grants []auth.Grant
	for _, p := range auth.AllPermissions() {
		grants = append(grants, auth.Grant{Permission: p.Name, Scope: auth.ScopeAll})
	}
	return &auth.Principal{TenantID: t.UUID(), Tenant: t.ID, Email: who, Name: who,
		UserID: uuid.Nil, Grants: auth.MergeGrants(grants)}
}

// operatorName names the person running a CLI command in audit entries.
func operatorName() string {
	if u, err := user.Current(); err == nil {
		return "cli:" + u.Username
	}
	return "cli"
}

// uploadStore is where the installation keeps document files.
func uploadStore(cfg *config.Config) *filestore.Store {
	return filestore.New(filepath.Join(cfg.DataDir, "uploads"))
}

func latestSchema() int64 { return postgres.LatestVersion() }
