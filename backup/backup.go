// Package backup writes and restores RP CRM backups: per environment a
// PostgreSQL dump (pg_dump custom format, compressed) taken by a backup role
// that bypasses row-level security, a tar.gz of the uploaded documents, and
// a JSON manifest with sizes, SHA-256 sums, versions and row counts. Every
// file is written under a temporary name and renamed when complete; the
// manifest comes last, so a backup without a manifest is unfinished.
// Restore verifies the checksums, loads the dump into an empty database in
// one transaction (optionally anonymising it in the same transaction) and
// checks the row counts against the manifest.
package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rpcrm/rpcrm/postgres"
)

// ManifestFormat is the version of the manifest layout.
const ManifestFormat = 1

// stampLayout is the time in file names, always UTC.
const stampLayout = "20060102_150405"

// File is one file of a backup.
type File struct {
	Name   string `json:"name"` // base name, in the manifest's directory
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	Files  int    `json:"files,omitempty"` // uploads: number of documents
}

// Manifest describes one backup.
type Manifest struct {
	Format          int              `json:"format"`
	Env             string           `json:"env"`
	CreatedAt       time.Time        `json:"created_at"`
	FinishedAt      time.Time        `json:"finished_at"`
	RPCRMVersion    string           `json:"rpcrm_version"`
	SchemaVersion   int64            `json:"schema_version"`
	PostgresVersion string           `json:"postgres_version"`
	PgDumpVersion   string           `json:"pg_dump_version"`
	Database        string           `json:"database"`
	DatabaseDump    File             `json:"database_dump"`
	Uploads         File             `json:"uploads"`
	Tables          map[string]int64 `json:"tables"` // rows per table, in the dump's snapshot
}

// Status is the monitoring file every run rewrites: <dir>/<env>_backup_status.json.
type Status struct {
	LastAttempt  time.Time  `json:"last_attempt"`
	LastSuccess  *time.Time `json:"last_success,omitempty"`
	LastError    string     `json:"last_error"`
	LastManifest string     `json:"last_manifest"`
}

// Options configure one backup run.
type Options struct {
	Env         string        // prod, test or dev: the prefix of every file name
	Dir         string        // backup directory (created 0700 if missing)
	DataDir     string        // RPCRM_DATA_DIR; the documents are in DataDir/uploads
	DatabaseURL string        // the backup role's connection
	Retention   time.Duration // delete this environment's backups older than this after a success
	Hook        string        // optional shell command, run with the manifest path as $1
	Version     string        // rpcrm version, for the manifest
	Now         func() time.Time
	Log         io.Writer // progress, retention and the hook's output; nil discards
}

// Result is what a successful run did.
type Result struct {
	ManifestPath string
	Manifest     *Manifest
	Deleted      []string // files removed by retention
}

// StatusPath is where Run writes the status file of env.
func StatusPath(dir, env string) string { return filepath.Join(dir, env+"_backup_status.json") }

// Run takes one backup and then applies the retention. Whatever happens it
// rewrites the status file; on failure no file under a final name is left
// behind except complete ones of earlier runs.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if !validEnv(o.Env) {
		return nil, fmt.Errorf("backup: environment %q is not prod, test or dev", o.Env)
	}
	if err := os.MkdirAll(o.Dir, backupDirMode); err != nil {
		return nil, fmt.Errorf("backup directory: %w", err)
	}
	start := o.Now().UTC()
	res, err := run(ctx, o, start)
	st := readStatus(o.Dir, o.Env)
	st.LastAttempt = start
	if err != nil {
		st.LastError = err.Error()
	} else {
		done := res.Manifest.FinishedAt
		st.LastSuccess, st.LastError, st.LastManifest = &done, "", res.ManifestPath
	}
	data, _ := json.MarshalIndent(st, "", "  ")
	if serr := writeFileAtomic(StatusPath(o.Dir, o.Env), append(data, '\n')); serr != nil {
		return nil, errors.Join(err, fmt.Errorf("write status file: %w", serr))
	}
	return res, err
}

func readStatus(dir, env string) Status {
	var st Status
	if data, err := os.ReadFile(StatusPath(dir, env)); err == nil {
		_ = json.Unmarshal(data, &st) // a damaged file is simply replaced
	}
	return st
}

func validEnv(e string) bool { return e == "prod" || e == "test" || e == "dev" }

func run(ctx context.Context, o Options, start time.Time) (*Result, error) {
	unlock, err := lockDir(o.Dir, o.Env)
	if err != nil {
		return nil, err
	}
	defer unlock()
	removePartials(o.Dir, o.Env)

	// File names carry the second; a run right after another waits for
	// the next one rather than overwrite.
	var dbFile, upFile, manifestFile string
	for {
		stamp := start.Format(stampLayout)
		dbFile = filepath.Join(o.Dir, o.Env+"_db_"+stamp+".dump")
		upFile = filepath.Join(o.Dir, o.Env+"_uploads_"+stamp+".tar.gz")
		manifestFile = filepath.Join(o.Dir, o.Env+"_manifest_"+stamp+".json")
		if !anyExists(dbFile, upFile, manifestFile) {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(start.Add(time.Second).Sub(o.Now().UTC())):
		}
		start = start.Add(time.Second)
	}
	m := &Manifest{Format: ManifestFormat, Env: o.Env, CreatedAt: start, RPCRMVersion: o.Version}
	committed := []string{}
	ok := false
	defer func() {
		if !ok { // a backup without its manifest is worthless: leave nothing
			for _, p := range committed {
				os.Remove(p)
			}
		}
	}()

	fmt.Fprintf(o.Log, "backup: dumping the %s database\n", o.Env)
	if err := dumpDatabase(ctx, o, m, dbFile); err != nil {
		return nil, err
	}
	committed = append(committed, dbFile)

	fmt.Fprintln(o.Log, "backup: archiving the uploaded documents")
	a, err := createAtomic(upFile)
	if err != nil {
		return nil, err
	}
	n, err := writeUploads(a, filepath.Join(o.DataDir, "uploads"))
	if err == nil {
		err = a.commit()
	} else {
		a.abort()
	}
	if err != nil {
		return nil, fmt.Errorf("archive uploads: %w", err)
	}
	committed = append(committed, upFile)
	m.Uploads = File{Name: filepath.Base(upFile), Size: a.n, SHA256: a.sum(), Files: n}

	m.FinishedAt = o.Now().UTC()
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(manifestFile, append(data, '\n')); err != nil {
		return nil, fmt.Errorf("write manifest: %w", err)
	}
	committed = append(committed, manifestFile)

	if o.Hook != "" {
		fmt.Fprintln(o.Log, "backup: running the hook")
		if err := runHook(ctx, o, manifestFile); err != nil {
			// The backup itself is complete and stays; the run failed.
			ok = true
			return nil, err
		}
	}
	ok = true
	deleted, err := applyRetention(o.Dir, o.Env, start, o.Retention)
	for _, d := range deleted {
		fmt.Fprintf(o.Log, "backup: deleted %s (older than the retention)\n", d)
	}
	if err != nil {
		return nil, fmt.Errorf("retention: %w", err)
	}
	return &Result{ManifestPath: manifestFile, Manifest: m, Deleted: deleted}, nil
}

// dumpDatabase runs pg_dump as the backup role in a snapshot it exports
// from a transaction that also counts every table's rows, so the counts in
// the manifest are exactly the dump's.
func dumpDatabase(ctx context.Context, o Options, m *Manifest, final string) error {
	dbname, env, err := libpqConn(o.DatabaseURL)
	if err != nil {
		return fmt.Errorf("RPCRM_BACKUP_DATABASE_URL: %w", err)
	}
	if err := postgres.CheckBackupRole(ctx, o.DatabaseURL); err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, o.DatabaseURL)
	if err != nil {
		return fmt.Errorf("connect as backup role: %w", redactConn(err))
	}
	defer conn.Close(context.Background())
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck
	// Off: an error instead of silently missing rows if the role cannot
	// bypass row-level security.
	if _, err := tx.Exec(ctx, "SET LOCAL row_security = off"); err != nil {
		return err
	}
	var snapshot string
	if err := tx.QueryRow(ctx, "SELECT pg_export_snapshot(), current_database(), current_setting('server_version')").
		Scan(&snapshot, &m.Database, &m.PostgresVersion); err != nil {
		return err
	}
	if m.Tables, err = countRows(ctx, tx); err != nil {
		return fmt.Errorf("count rows as backup role (run `rpcrm backup --init-role`?): %w", err)
	}
	if err := tx.QueryRow(ctx, "SELECT coalesce(max(version_id), 0) FROM goose_db_version WHERE is_applied AND version_id > 0").
		Scan(&m.SchemaVersion); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if m.PgDumpVersion, err = toolVersion(ctx, "pg_dump"); err != nil {
		return err
	}
	a, err := createAtomic(final)
	if err != nil {
		return err
	}
	partial := a.f.Name()
	a.f.Close() // pg_dump writes the file itself
	err = runTool(ctx, env, nil, "pg_dump", "--format=custom", "--compress=6", "--no-password",
		"--snapshot="+snapshot, "--file="+partial, "--dbname="+dbname)
	if err != nil {
		os.Remove(partial)
		return err
	}
	// Proof that the dump is readable, before it gets a final name.
	if err := runTool(ctx, nil, io.Discard, "pg_restore", "--list", partial); err != nil {
		os.Remove(partial)
		return fmt.Errorf("the new dump does not read back: %w", err)
	}
	size, sum, err := fileSum(partial)
	if err != nil {
		os.Remove(partial)
		return err
	}
	f, err := os.OpenFile(partial, os.O_RDWR, 0)
	if err != nil {
		os.Remove(partial)
		return err
	}
	a.f = f
	if err := a.commit(); err != nil {
		return err
	}
	m.DatabaseDump = File{Name: filepath.Base(final), Size: size, SHA256: sum}
	return nil
}

// countRows counts the rows of every table in the public schema. The
// caller decides how row-level security applies.
func countRows(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
	QueryRow(context.Context, string, ...any) pgx.Row
}) (map[string]int64, error) {
	rows, err := q.Query(ctx, `SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1`)
	if err != nil {
		return nil, err
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	counts := make(map[string]int64, len(tables))
	for _, t := range tables {
		var n int64
		if err := q.QueryRow(ctx, "SELECT count(*) FROM public."+pgx.Identifier{t}.Sanitize()).Scan(&n); err != nil {
			return nil, fmt.Errorf("%s: %w", t, err)
		}
		counts[t] = n
	}
	return counts, nil
}

// runHook runs the off-site hook: `sh -c 'HOOK "$@"' rpcrm-backup-hook MANIFEST`.
func runHook(ctx context.Context, o Options, manifest string) error {
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", o.Hook+` "$@"`, "rpcrm-backup-hook", manifest)
	cmd.Dir = o.Dir
	cmd.Stdout, cmd.Stderr = o.Log, o.Log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("backup hook (RPCRM_BACKUP_HOOK) failed: %w; the backup itself is complete: %s", err, manifest)
	}
	return nil
}

var backupName = regexp.MustCompile(`^(prod|test|dev)_(db|uploads|manifest)_(\d{8}_\d{6})\.(dump|tar\.gz|json)$`)

// applyRetention deletes env's backup files whose time stamp (from the
// name) is older than retention before now. Other environments' files and
// anything else in the directory stay.
func applyRetention(dir, env string, now time.Time, retention time.Duration) ([]string, error) {
	if retention <= 0 {
		return nil, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var deleted []string
	var errs []error
	// Manifests first: a backup loses its "complete" mark before its data.
	sort.SliceStable(entries, func(i, j int) bool {
		return strings.Contains(entries[i].Name(), "_manifest_") && !strings.Contains(entries[j].Name(), "_manifest_")
	})
	for _, e := range entries {
		m := backupName.FindStringSubmatch(e.Name())
		if m == nil || m[1] != env || !e.Type().IsRegular() {
			continue
		}
		t, err := time.Parse(stampLayout, m[3])
		if err != nil || now.Sub(t) <= retention {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		deleted = append(deleted, e.Name())
	}
	return deleted, errors.Join(errs...)
}

func anyExists(paths ...string) bool {
	for _, p := range paths {
		if _, err := os.Lstat(p); err == nil {
			return true
		}
	}
	return false
}

// removePartials deletes temporary files an interrupted run of env left.
// It runs under the directory lock, so no other run is writing them.
func removePartials(dir, env string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, "."+env+"_") && strings.HasSuffix(n, partialSuffix) {
			os.Remove(filepath.Join(dir, n))
		}
	}
}

// redactConn keeps passwords out of connection errors.
func redactConn(err error) error {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		return errors.New("invalid connection string")
	}
	return err
}
