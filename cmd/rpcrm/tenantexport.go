package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/rpcrm/rpcrm/config"
	"github.com/rpcrm/rpcrm/postgres"
	"github.com/rpcrm/rpcrm/tenant"
	"github.com/rpcrm/rpcrm/tenantexport"
)

// openOwnerDB connects as the database owner (RPCRM_DATABASE_OWNER_URL, or
// DATABASE_URL) and checks that the schema is the one this binary knows.
func openOwnerDB(ctx context.Context, cfg *config.Config) (*postgres.DB, error) {
	db, err := postgres.Open(ctx, cfg.DatabaseOwnerURL, 2)
	if err != nil {
		return nil, err
	}
	if err := db.CheckSchema(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// tenantFileArgs parses the flags and the SLUG FILE arguments of export and import.
func tenantFileArgs(env *environment, action, description string, args []string) (cfg *config.Config, slug, file string, err error) {
	fs := newFlagSet(env, "tenants "+action, "SLUG FILE.zip", description)
	envFile := configFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return nil, "", "", err
	}
	if fs.NArg() != 2 {
		return nil, "", "", usageErr("tenants %s: expected a tenant id (slug) and a FILE.zip", action)
	}
	cfg, err = loadConfig(env, *envFile, config.Options{})
	return cfg, fs.Arg(0), fs.Arg(1), err
}

func runTenantsExport(ctx context.Context, env *environment, args []string) error {
	cfg, slug, file, err := tenantFileArgs(env, "export", `Write every record of one tenant into a new zip file: its users (with their
password hashes and roles), custom roles, companies, contacts, pipelines,
deals, activities, tags, custom fields, documents with their files and the
audit log, with a manifest of SHA-256 checksums. Sessions stay behind. The
tenant keeps working; the export is one consistent snapshot. The tenant need
not be in tenants.json any more, only in the database. Connects with
RPCRM_DATABASE_OWNER_URL; reads the files under RPCRM_DATA_DIR/uploads.
The file holds personal data and password hashes: it is created with mode
0600. See docs/tenant-export.md.`, args)
	if err != nil {
		return err
	}
	if _, err := os.Lstat(file); err == nil {
		return fmt.Errorf("tenants export: %s already exists; choose a new file name", file)
	}
	db, err := openOwnerDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	start := time.Now()
	// A temporary file beside the target, renamed when complete: an
	// interrupted export leaves no half-written FILE.zip behind.
	tmp, err := os.CreateTemp(filepath.Dir(file), ".rpcrm-export-*.zip")
	if err != nil {
		return fmt.Errorf("tenants export: %w", err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	m, err := tenantexport.Export(ctx, db, uploadStore(cfg), tenant.UUIDOf(slug), tmp,
		tenantexport.Options{Actor: operatorName(), AppVersion: version})
	if errors.Is(err, postgres.ErrNoTenant) {
		return fmt.Errorf("tenants export: no tenant %q in the database", slug)
	}
	if err != nil {
		return fmt.Errorf("tenants export %s: %w", slug, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("tenants export: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("tenants export: %w", err)
	}
	// Link refuses to replace a file that appeared meanwhile; rename would
	// not, so it only serves file systems without hard links.
	if err := os.Link(tmp.Name(), file); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("tenants export: %s already exists; choose a new file name", file)
		}
		if _, err := os.Lstat(file); err == nil {
			return fmt.Errorf("tenants export: %s already exists; choose a new file name", file)
		}
		if err := os.Rename(tmp.Name(), file); err != nil {
			return fmt.Errorf("tenants export: %w", err)
		}
	}
	os.Remove(tmp.Name())
	done = true
	info, err := os.Stat(file)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "exported tenant %s to %s in %s: %d rows in %d tables, %d documents (%d bytes); zip %d bytes\n",
		slug, file, time.Since(start).Round(time.Millisecond), m.Rows(), len(m.Tables), len(m.Documents), m.DocumentBytes(), info.Size())
	return nil
}

func runTenantsImport(ctx context.Context, env *environment, args []string) error {
	cfg, slug, file, err := tenantFileArgs(env, "import", `Fill the tenant SLUG of tenants.json with an export made by
"rpcrm tenants export", here or on another installation. The tenant must be
new: any users, records, custom roles or audit entries make the import
refuse. The whole file is checked first (format, schema version, every
SHA-256); then all rows go in with one transaction and the documents into
RPCRM_DATA_DIR/uploads, so a failure leaves the tenant as it was. Record IDs
stay, users keep their passwords and log in again. The schema version of
the export must equal this database's. Connects with
RPCRM_DATABASE_OWNER_URL. See docs/tenant-export.md.`, args)
	if err != nil {
		return err
	}
	set, err := loadTenants(cfg.TenantsFile)
	if err != nil {
		return err
	}
	t, ok := set.ByID(slug)
	if !ok {
		return usageErr("tenants import: no tenant %q in %s: add it there first", slug, cfg.TenantsFile)
	}
	if _, err := os.Stat(file); err != nil {
		return fmt.Errorf("tenants import: %w", err)
	}
	db, err := openOwnerDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	// A tenant new to tenants.json needs its database record first.
	if err := db.SyncTenants(ctx, []postgres.TenantRow{{ID: t.UUID(), Slug: t.ID, Name: t.Name, Active: t.Active}}); err != nil {
		return err
	}
	start := time.Now()
	m, err := tenantexport.Import(ctx, db, uploadStore(cfg), tenantexport.Target{ID: t.UUID(), Slug: t.ID}, file,
		tenantexport.Options{Actor: operatorName(), AppVersion: version})
	if err != nil {
		return fmt.Errorf("tenants import: %w", err)
	}
	fmt.Fprintf(env.stdout, "imported %s into tenant %s in %s: %d rows in %d tables, %d documents (%d bytes) "+
		"from tenant %s, exported %s; users log in again\n",
		file, t.ID, time.Since(start).Round(time.Millisecond), m.Rows(), len(m.Tables), len(m.Documents), m.DocumentBytes(),
		m.Tenant.Slug, m.ExportedAt.Format(time.RFC3339))
	return nil
}
