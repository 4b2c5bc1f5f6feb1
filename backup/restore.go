package backup

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/rpcrm/rpcrm/postgres"
)

// RestoreOptions configure a restore.
type RestoreOptions struct {
	Manifest  string // path of the manifest; the other files are in its directory
	Env       string // the target environment (RPCRM_ENV)
	OwnerURL  string // RPCRM_DATABASE_OWNER_URL: restores, and owns every restored object
	AppURL    string // DATABASE_URL: the application role, (re)created with its grants
	BackupURL string // optional: the backup role, granted again after the restore
	DataDir   string // documents go to DataDir/uploads, which must be missing or empty
	Anonymise bool
	Log       io.Writer
}

// RestoreResult says what a restore did.
type RestoreResult struct {
	Manifest   *Manifest
	Documents  int
	Migrations []int64 // applied after the restore because the backup was older
	Warnings   []string
}

// RefusedError is a restore that was not attempted, with the reason as one line.
type RefusedError struct{ Reason string }

func (e *RefusedError) Error() string { return e.Reason }

func refuse(format string, args ...any) error {
	return &RefusedError{Reason: fmt.Sprintf(format, args...)}
}

// ReadManifest reads and checks a manifest file.
func ReadManifest(path string) (*Manifest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: not a backup manifest: %w", path, err)
	}
	if m.Format != ManifestFormat {
		return nil, fmt.Errorf("%s: manifest format %d, this rpcrm reads %d", path, m.Format, ManifestFormat)
	}
	for _, f := range []File{m.DatabaseDump, m.Uploads} {
		if f.Name == "" || f.Name != filepath.Base(f.Name) || strings.HasPrefix(f.Name, ".") {
			return nil, fmt.Errorf("%s: bad file name %q", path, f.Name)
		}
	}
	if !validEnv(m.Env) {
		return nil, fmt.Errorf("%s: unknown environment %q", path, m.Env)
	}
	return &m, nil
}

// Verify checks that the files of m, in dir, have the sizes and SHA-256 sums
// the manifest records.
func Verify(dir string, m *Manifest) error {
	for _, f := range []File{m.DatabaseDump, m.Uploads} {
		size, sum, err := fileSum(filepath.Join(dir, f.Name))
		if err != nil {
			return err
		}
		if size != f.Size || sum != f.SHA256 {
			return fmt.Errorf("%s does not match its manifest (size %d, want %d; sha256 %s, want %s): the backup is damaged",
				f.Name, size, f.Size, sum, f.SHA256)
		}
	}
	return nil
}

// Restore loads a backup into the configured database and data directory.
// Refusals (wrong environment, damaged files, a database or uploads
// directory that is not empty) come as *RefusedError before anything is
// changed. The database is restored in one transaction — anonymised in that
// same transaction when asked — so a failure leaves it empty.
func Restore(ctx context.Context, o RestoreOptions) (*RestoreResult, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	m, err := ReadManifest(o.Manifest)
	if err != nil {
		return nil, refuse("%v", err)
	}
	if m.Env == "prod" && (o.Env == "test" || o.Env == "dev") && !o.Anonymise {
		return nil, refuse("refusing to restore a prod backup into %s without --anonymise: personal data of the customers must not leave prod", o.Env)
	}
	latest := postgres.LatestVersion()
	if m.SchemaVersion > latest {
		return nil, refuse("the backup has schema version %d, newer than this rpcrm knows (%d): restore it with the rpcrm version that wrote it (%s)",
			m.SchemaVersion, latest, m.RPCRMVersion)
	}
	if o.Anonymise && m.SchemaVersion != latest {
		return nil, refuse("--anonymise needs a backup of schema version %d (this rpcrm); this one has %d: restore it with rpcrm %s",
			latest, m.SchemaVersion, m.RPCRMVersion)
	}
	dir := filepath.Dir(o.Manifest)
	if err := Verify(dir, m); err != nil {
		return nil, refuse("%v", err)
	}
	uploads := filepath.Join(o.DataDir, "uploads")
	if empty, err := dirEmpty(uploads); err != nil {
		return nil, err
	} else if !empty {
		return nil, refuse("the uploads directory %s is not empty: restore needs an empty one (move it away first)", uploads)
	}
	if err := checkEmptyDatabase(ctx, o.OwnerURL); err != nil {
		return nil, err
	}

	// The documents go to a hidden directory next to their place and are
	// renamed into it once the database is in.
	if err := os.MkdirAll(o.DataDir, uploadDirMode); err != nil {
		return nil, err
	}
	staging, err := os.MkdirTemp(o.DataDir, ".uploads-restore-")
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(staging, uploadDirMode); err != nil {
		return nil, err
	}
	moved := false
	defer func() {
		if !moved {
			os.RemoveAll(staging)
		}
	}()
	res := &RestoreResult{Manifest: m}
	fmt.Fprintln(o.Log, "restore: unpacking the documents")
	if res.Documents, err = unpackUploads(filepath.Join(dir, m.Uploads.Name), staging, o.Anonymise); err != nil {
		return nil, err
	}
	if res.Documents != m.Uploads.Files {
		return nil, fmt.Errorf("the uploads archive holds %d documents, its manifest says %d", res.Documents, m.Uploads.Files)
	}

	fmt.Fprintln(o.Log, "restore: loading the database")
	var anonSQL string
	if o.Anonymise {
		if anonSQL, err = anonymiseSQL(); err != nil {
			return nil, err
		}
	}
	if err := loadDump(ctx, o.OwnerURL, filepath.Join(dir, m.DatabaseDump.Name), anonSQL); err != nil {
		return nil, err
	}
	if err := os.Rename(staging, uploads); err != nil {
		return nil, fmt.Errorf("the database is restored, but the documents could not be moved into %s: %w (they are in %s)", uploads, err, staging)
	}
	moved = true
	if err := syncDir(o.DataDir); err != nil {
		return nil, err
	}

	fmt.Fprintln(o.Log, "restore: comparing row counts with the manifest")
	if err := checkCounts(ctx, o.OwnerURL, m.Tables); err != nil {
		return nil, err
	}
	// Pending migrations (a backup older than this binary) and the search
	// functions' LEAKPROOF mark, which lives in the system catalogue and is
	// not part of any dump.
	if res.Migrations, err = postgres.Migrate(ctx, o.OwnerURL, nil); err != nil {
		return nil, fmt.Errorf("the database is restored, but migrating it failed: %w", err)
	}
	if _, err := postgres.EnsureAppRole(ctx, o.OwnerURL, o.AppURL); err != nil {
		return nil, fmt.Errorf("the database is restored, but the application role could not be set up: %w", err)
	}
	if o.BackupURL != "" {
		if _, err := postgres.EnsureBackupRole(ctx, o.OwnerURL, o.BackupURL, true); err != nil {
			res.Warnings = append(res.Warnings, "backup role not set up: "+err.Error())
		}
	}
	return res, nil
}

// checkEmptyDatabase refuses a database that has any relation, function or
// type of its own in the public schema.
func checkEmptyDatabase(ctx context.Context, ownerURL string) error {
	conn, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		return fmt.Errorf("connect as owner: %w", redactConn(err))
	}
	defer conn.Close(context.Background())
	var db string
	var n int
	err = conn.QueryRow(ctx, `SELECT current_database(),
		(SELECT count(*) FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
		 WHERE s.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S'))
		+ (SELECT count(*) FROM pg_proc p JOIN pg_namespace s ON s.oid = p.pronamespace
		   WHERE s.nspname = 'public' AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e'))`).
		Scan(&db, &n)
	if err != nil {
		return err
	}
	if n > 0 {
		return refuse("database %s is not empty (%d objects in schema public): restore needs an empty database; drop and recreate it first (see docs/backups.md)", db, n)
	}
	return nil
}

// unpackUploads extracts the archive into dir. Anonymised, it writes a
// placeholder (see placeholder) instead of each document: the prod files
// themselves never reach the target.
func unpackUploads(archive, dir string, anonymise bool) (int, error) {
	f, err := os.Open(archive)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n := 0
	err = readUploads(f, func(rel string, hdr *tar.Header, content io.Reader) error {
		n++
		if anonymise {
			content = strings.NewReader(placeholder(filepath.Base(rel)))
		}
		return writeUploadFile(dir, rel, content)
	})
	return n, err
}

// loadDump streams the dump through pg_restore into psql, which runs it —
// and, when given, the anonymisation script — in a single transaction as the
// owner. --no-owner: the owner URL's role owns every object; --no-acl: the
// grants come from EnsureAppRole and EnsureBackupRole afterwards, so the
// restore works whatever the roles of the source server were called.
func loadDump(ctx context.Context, ownerURL, dump, anonSQL string) error {
	dbname, env, err := libpqConn(ownerURL)
	if err != nil {
		return fmt.Errorf("RPCRM_DATABASE_OWNER_URL: %w", err)
	}
	restorePath, err := toolPath("pg_restore")
	if err != nil {
		return err
	}
	psqlPath, err := toolPath("psql")
	if err != nil {
		return err
	}
	psqlArgs := []string{"--no-psqlrc", "--quiet", "--no-password", "--single-transaction", "--set=ON_ERROR_STOP=1",
		"--dbname=" + dbname, "--file=-"}
	if anonSQL != "" {
		tmp, err := os.CreateTemp("", "rpcrm-anonymise-*.sql")
		if err != nil {
			return err
		}
		defer os.Remove(tmp.Name())
		if _, err := tmp.WriteString(anonSQL); err != nil {
			tmp.Close()
			return err
		}
		if err := tmp.Close(); err != nil {
			return err
		}
		psqlArgs = append(psqlArgs, "--file="+tmp.Name())
	}
	// An explicit pipe whose ends the parent closes once both run: if psql
	// stops, pg_restore gets EPIPE instead of blocking.
	pipeR, pipeW, err := os.Pipe()
	if err != nil {
		return err
	}
	pr := exec.CommandContext(ctx, restorePath, "--no-owner", "--no-acl", "--file=-", dump)
	var prErr tailBuffer
	pr.Stdout, pr.Stderr = pipeW, &prErr
	ps := exec.CommandContext(ctx, psqlPath, psqlArgs...)
	ps.Env = append(os.Environ(), env...)
	var psErr tailBuffer
	ps.Stdin, ps.Stdout, ps.Stderr = pipeR, io.Discard, &psErr
	err = pr.Start()
	if err == nil {
		if err = ps.Start(); err != nil {
			pr.Process.Kill()
			pr.Wait()
		}
	}
	pipeR.Close()
	pipeW.Close()
	if err != nil {
		return err
	}
	psWait := ps.Wait()
	if psWait != nil {
		pr.Process.Kill() // psql gave up; pg_restore would block on the pipe
	}
	prWait := pr.Wait()
	switch {
	case psWait != nil:
		return fmt.Errorf("restore failed, nothing was committed: psql: %s", orErr(psErr.message(), psWait))
	case prWait != nil:
		return fmt.Errorf("restore failed: pg_restore: %s", orErr(prErr.message(), prWait))
	}
	return nil
}

func orErr(msg string, err error) string {
	if msg != "" {
		return msg
	}
	return err.Error()
}

// checkCounts compares every table's row count with the manifest. The
// owner is subject to forced row-level security, so the check lifts FORCE
// inside a transaction it rolls back.
func checkCounts(ctx context.Context, ownerURL string, want map[string]int64) error {
	conn, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		return fmt.Errorf("connect as owner: %w", redactConn(err))
	}
	defer conn.Close(context.Background())
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck
	if _, err := tx.Exec(ctx, `DO $$ DECLARE r record; BEGIN
		FOR r IN SELECT c.oid::regclass AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		         WHERE n.nspname = 'public' AND c.relforcerowsecurity LOOP
			EXECUTE format('ALTER TABLE %s NO FORCE ROW LEVEL SECURITY', r.t);
		END LOOP; END $$`); err != nil {
		return fmt.Errorf("check row counts: %w", err)
	}
	got, err := countRows(ctx, tx)
	if err != nil {
		return fmt.Errorf("check row counts: %w", err)
	}
	var diffs []string
	for _, t := range slices.Sorted(maps.Keys(want)) {
		if g, ok := got[t]; !ok {
			diffs = append(diffs, t+" is missing")
		} else if g != want[t] {
			diffs = append(diffs, fmt.Sprintf("%s has %d rows, the backup %d", t, g, want[t]))
		}
	}
	if len(diffs) > 0 {
		return errors.New("the restored database differs from its manifest: " + strings.Join(diffs, "; "))
	}
	return nil
}
