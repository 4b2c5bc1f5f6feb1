package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/rpcrm/rpcrm/backup"
	"github.com/rpcrm/rpcrm/config"
	"github.com/rpcrm/rpcrm/postgres"
)

func runBackup(ctx context.Context, env *environment, args []string) error {
	fs := newFlagSet(env, "backup", "", `Back up this environment (RPCRM_ENV): a pg_dump of the database (custom
format, compressed) taken as the backup role of RPCRM_BACKUP_DATABASE_URL, a
tar.gz of the uploaded documents and a manifest with sizes, SHA-256 sums and
versions, in RPCRM_BACKUP_DIR as <env>_db_…dump, <env>_uploads_…tar.gz and
<env>_manifest_…json (UTC time stamps). Then runs RPCRM_BACKUP_HOOK with the
manifest path and deletes this environment's backups older than
RPCRM_BACKUP_RETENTION. Every run rewrites <env>_backup_status.json. On
success the manifest's path is the last line of standard output.

--init-role creates the backup role (BYPASSRLS, read-only) named in
RPCRM_BACKUP_DATABASE_URL, or repairs its grants, using
RPCRM_DATABASE_OWNER_URL, and takes no backup. See docs/backups.md.`)
	envFile := configFlags(fs)
	dir := fs.String("dir", "", "backup directory (overrides RPCRM_BACKUP_DIR)")
	retention := fs.String("retention", "", "keep backups this long, e.g. 7d or 36h (overrides RPCRM_BACKUP_RETENTION)")
	initRole := fs.Bool("init-role", false, "create the backup role or repair its grants, then exit")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("backup: unexpected argument %q", fs.Arg(0))
	}
	cfg, err := loadConfig(env, *envFile, config.Options{})
	if err != nil {
		return err
	}
	if cfg.BackupDatabaseURL == "" {
		return usageErr("RPCRM_BACKUP_DATABASE_URL: required by rpcrm backup (the backup role's connection, e.g. postgres://rp_crm_%s_backup:secret@127.0.0.1:5432/rp_crm_%s; see docs/backups.md)", cfg.Env, cfg.Env)
	}
	if *initRole {
		created, err := postgres.EnsureBackupRole(ctx, cfg.DatabaseOwnerURL, cfg.BackupDatabaseURL, true)
		if err != nil {
			return err
		}
		if created {
			fmt.Fprintln(env.stdout, "created the backup role named in RPCRM_BACKUP_DATABASE_URL (BYPASSRLS, read-only)")
		} else {
			fmt.Fprintln(env.stdout, "the backup role named in RPCRM_BACKUP_DATABASE_URL exists; its grants are up to date")
		}
		return nil
	}
	o := backup.Options{Env: string(cfg.Env), Dir: cfg.BackupDirectory(), DataDir: cfg.DataDir,
		DatabaseURL: cfg.BackupDatabaseURL, Retention: cfg.BackupRetention, Hook: cfg.BackupHook,
		Version: version, Log: env.stderr}
	if *dir != "" {
		o.Dir = *dir
	}
	if *retention != "" {
		d, ok := config.ParseRetention(*retention)
		if !ok || d < 0 {
			return usageErr("backup: --retention %q is not a number of days (e.g. 7d) or a duration (e.g. 36h)", *retention)
		}
		o.Retention = d
	}
	res, err := backup.Run(ctx, o)
	if err != nil {
		return err
	}
	fmt.Fprintln(env.stdout, res.ManifestPath)
	return nil
}

func runRestore(ctx context.Context, env *environment, args []string) error {
	fs := newFlagSet(env, "restore", "--manifest FILE", `Restore a backup written by rpcrm backup into the configured database
(DATABASE_URL's database, loaded as RPCRM_DATABASE_OWNER_URL) and data
directory. The database must be empty and RPCRM_DATA_DIR/uploads empty or
missing. The checksums in the manifest are verified first; the database is
loaded in one transaction. A prod backup is refused in test and dev unless
--anonymise replaces names, e-mail addresses, phone numbers, addresses, free
text and documents with invented data on the way in. Afterwards the
application role is (re)created with its grants, as rpcrm migrate does.
See docs/backups.md.`)
	envFile := configFlags(fs)
	manifest := fs.String("manifest", "", "the backup's manifest (<env>_manifest_YYYYMMDD_HHMMSS.json)")
	anonymise := fs.Bool("anonymise", false, "replace personal data and free text with invented data while restoring")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("restore: unexpected argument %q", fs.Arg(0))
	}
	if *manifest == "" {
		return usageErr("restore: --manifest is required (the backup's <env>_manifest_….json)")
	}
	cfg, err := loadConfig(env, *envFile, config.Options{})
	if err != nil {
		return err
	}
	res, err := backup.Restore(ctx, backup.RestoreOptions{Manifest: *manifest, Env: string(cfg.Env),
		OwnerURL: cfg.DatabaseOwnerURL, AppURL: cfg.DatabaseURL, BackupURL: cfg.BackupDatabaseURL,
		DataDir: cfg.DataDir, Anonymise: *anonymise, Log: env.stderr})
	if err != nil {
		return err
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(env.stderr, "rpcrm: warning: "+w)
	}
	m := res.Manifest
	what := "restored"
	if *anonymise {
		what = "restored and anonymised"
	}
	fmt.Fprintf(env.stdout, "%s the %s backup of %s (schema %d, %d tables, %d documents)\n",
		what, m.Env, m.CreatedAt.Format("2006-01-02 15:04:05 UTC"), m.SchemaVersion, len(m.Tables), res.Documents)
	if len(res.Migrations) > 0 {
		fmt.Fprintf(env.stdout, "applied migrations %s; schema is at version %d\n", strings.Trim(fmt.Sprint(res.Migrations), "[]"), postgres.LatestVersion())
	}
	return nil
}
