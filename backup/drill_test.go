package backup_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/backup"
	"github.com/rpcrm/rpcrm/crm"
	"github.com/rpcrm/rpcrm/filestore"
	"github.com/rpcrm/rpcrm/internal/testfix"
	"github.com/rpcrm/rpcrm/pgtest"
	"github.com/rpcrm/rpcrm/postgres"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// requireTools skips (or fails in CI) without pg_dump, pg_restore and psql.
func requireTools(t *testing.T) {
	t.Helper()
	for _, name := range []string{"pg_dump", "pg_restore", "psql"} {
		if _, err := backup.ToolPath(name); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatal(err)
			}
			t.Skip(err)
		}
	}
}

// state is everything the drill compares before and after.
type state struct {
	tables   map[string]string // table → "rows:N md5:…"
	rls      map[string]string // table → "enabled/forced"
	policies []string
	grants   []string          // the application role's table privileges
	docs     map[string]string // uploads path → SHA-256
}

func capture(t *testing.T, adminURL, appRole, uploads string) state {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, adminURL) // superuser: sees every tenant's rows
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	s := state{tables: map[string]string{}, rls: map[string]string{}, docs: map[string]string{}}
	rows, err := conn.Query(ctx, `SELECT c.relname::text, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	type tbl struct {
		name          string
		rls, forceRLS bool
	}
	var tables []tbl
	for rows.Next() {
		var x tbl
		if err := rows.Scan(&x.name, &x.rls, &x.forceRLS); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, x)
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	for _, x := range tables {
		var n int64
		var sum string
		q := fmt.Sprintf(`SELECT count(*), coalesce(md5(string_agg(t::text, E'\n' ORDER BY t::text)), '') FROM public.%s t`,
			pgx.Identifier{x.name}.Sanitize())
		if err := conn.QueryRow(ctx, q).Scan(&n, &sum); err != nil {
			t.Fatal(err)
		}
		s.tables[x.name] = fmt.Sprintf("rows:%d md5:%s", n, sum)
		s.rls[x.name] = fmt.Sprintf("enabled=%v forced=%v", x.rls, x.forceRLS)
		for _, p := range []string{"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"} {
			var has bool
			if err := conn.QueryRow(ctx, "SELECT has_table_privilege($1, $2, $3)", appRole, "public."+x.name, p).Scan(&has); err != nil {
				t.Fatal(err)
			}
			if has {
				s.grants = append(s.grants, x.name+":"+p)
			}
		}
	}
	if err := conn.QueryRow(ctx, `SELECT coalesce(array_agg(tablename || ' ' || policyname || ' ' || cmd || ' ' || array_to_string(roles, ',')
		|| ' ' || coalesce(qual, '') || ' ' || coalesce(with_check, '') ORDER BY tablename, policyname), '{}')
		FROM pg_policies WHERE schemaname = 'public'`).Scan(&s.policies); err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(uploads, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(uploads, p)
		sum := sha256.Sum256(data)
		s.docs[rel] = hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return s
}

func roleOf(t *testing.T, u string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return p.User.Username()
}

func dbOf(t *testing.T, u string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(p.Path, "/")
}

func adminExec(t *testing.T, sql string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.Admin(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// fixture is a seeded database with documents, and a backup role.
type fixture struct {
	e         *testfix.Env
	dataDir   string
	backupURL string
	docs      []*crm.Document
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	e := testfix.New(t)
	f := &fixture{e: e, dataDir: t.TempDir()}
	svc := &postgres.CRMService{DB: e.DB}
	store := filestore.New(filepath.Join(f.dataDir, "uploads"))
	for i, slug := range []string{"alpha", "beta"} {
		e.CreateUser(t, slug, "admin@"+slug+".test", "admin")
		p := e.System(t, slug)
		if _, err := svc.Seed(ctx, p, postgres.SeedOptions{Contacts: 40, Seed: uint64(i + 1), Workers: 1}); err != nil {
			t.Fatalf("seed %s: %v", slug, err)
		}
		name := "Dokumenten-Kunde " + slug + " AG"
		c, err := svc.CreateCompany(ctx, p, crm.CompanyInput{Name: &name}, auth.LoginMeta{})
		if err != nil {
			t.Fatal(err)
		}
		for j := range 3 {
			id := uuid.Must(uuid.NewV7())
			content := bytes.Repeat([]byte(fmt.Sprintf("Offerte %s %d — Müller & Söhne\n", slug, j)), 200+j)
			st, err := store.Put(p.TenantID, id, bytes.NewReader(content), 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			d, err := svc.CreateDocument(ctx, p, crm.DocumentInput{ID: id, FileName: fmt.Sprintf("Offerte Müller %d.pdf", j),
				ContentType: st.ContentType, Size: st.Size, SHA256: st.SHA256, CompanyID: &c.ID}, auth.LoginMeta{})
			if err != nil {
				t.Fatal(err)
			}
			f.docs = append(f.docs, d)
		}
		if err := svc.DeleteDocument(ctx, p, f.docs[len(f.docs)-1].ID, auth.LoginMeta{}); err != nil {
			t.Fatal(err)
		}
	}
	f.backupURL = pgtest.NewRoleURL(t, e.OwnerURL)
	created, err := postgres.EnsureBackupRole(ctx, e.OwnerURL, f.backupURL, true)
	if err != nil || !created {
		t.Fatalf("EnsureBackupRole = %v, %v", created, err)
	}
	if err := postgres.CheckBackupRole(ctx, f.backupURL); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) backup(t *testing.T, dir, hook string) *backup.Result {
	t.Helper()
	res, err := backup.Run(context.Background(), backup.Options{Env: "prod", Dir: dir, DataDir: f.dataDir,
		DatabaseURL: f.backupURL, Retention: 7 * 24 * time.Hour, Hook: hook, Version: "v-test"})
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	return res
}

// TestRestoreDrill is the drill the operations guide promises: seed data and
// documents, back up, drop everything (database, roles, documents), restore,
// and compare every table, every document, row-level security and the
// application role's grants; then prove the restored system works.
func TestRestoreDrill(t *testing.T) {
	requireTools(t)
	ctx := context.Background()
	f := newFixture(t)
	e := f.e
	appRole, backupRole := roleOf(t, e.AppURL), roleOf(t, f.backupURL)
	uploads := filepath.Join(f.dataDir, "uploads")
	before := capture(t, e.OwnerURL, appRole, uploads)
	if len(before.docs) != 6 || len(before.policies) == 0 || len(before.grants) == 0 {
		t.Fatalf("fixture too small: %d documents, %d policies, %d grants", len(before.docs), len(before.policies), len(before.grants))
	}

	dir := t.TempDir()
	hookOut := filepath.Join(t.TempDir(), "hook.txt")
	start := time.Now()
	res := f.backup(t, dir, `printf '%s' >`+hookOut)
	t.Logf("backup took %v: dump %d bytes, uploads %d bytes", time.Since(start), res.Manifest.DatabaseDump.Size, res.Manifest.Uploads.Size)

	// The files, as named in the seed, and the manifest that ties them together.
	stamp := res.Manifest.CreatedAt.Format("20060102_150405")
	for _, name := range []string{"prod_db_" + stamp + ".dump", "prod_uploads_" + stamp + ".tar.gz", "prod_manifest_" + stamp + ".json"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", name, fi.Mode().Perm())
		}
	}
	if res.ManifestPath != filepath.Join(dir, "prod_manifest_"+stamp+".json") {
		t.Errorf("manifest path %s", res.ManifestPath)
	}
	m := res.Manifest
	if m.SchemaVersion != postgres.LatestVersion() || m.Uploads.Files != 6 || m.Tables["contacts"] != 80 ||
		m.Tables["documents"] != 6 || m.PgDumpVersion == "" || m.PostgresVersion == "" || m.RPCRMVersion != "v-test" {
		t.Errorf("manifest: %+v", m)
	}
	if hooked, err := os.ReadFile(hookOut); err != nil || string(hooked) != res.ManifestPath {
		t.Errorf("hook got %q (%v), want the manifest path", hooked, err)
	}
	var st backup.Status
	readJSON(t, backup.StatusPath(dir, "prod"), &st)
	if st.LastSuccess == nil || st.LastError != "" || st.LastManifest != res.ManifestPath {
		t.Errorf("status after success: %+v", st)
	}
	entries, _ := os.ReadDir(dir)
	for _, en := range entries {
		if strings.HasSuffix(en.Name(), ".partial") {
			t.Errorf("left behind %s", en.Name())
		}
	}

	// Drop everything: the database, both roles, the documents.
	e.DB.Close()
	dbName := dbOf(t, e.OwnerURL)
	adminExec(t, "DROP DATABASE "+pgx.Identifier{dbName}.Sanitize()+" WITH (FORCE)")
	adminExec(t, "DROP ROLE "+pgx.Identifier{appRole}.Sanitize())
	adminExec(t, "DROP ROLE "+pgx.Identifier{backupRole}.Sanitize())
	if err := os.RemoveAll(uploads); err != nil {
		t.Fatal(err)
	}
	adminExec(t, "CREATE DATABASE "+pgx.Identifier{dbName}.Sanitize()+" TEMPLATE template0 ENCODING 'UTF8'")

	start = time.Now()
	rr, err := backup.Restore(ctx, backup.RestoreOptions{Manifest: res.ManifestPath, Env: "prod", OwnerURL: e.OwnerURL,
		AppURL: e.AppURL, BackupURL: f.backupURL, DataDir: f.dataDir})
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	t.Logf("restore took %v", time.Since(start))
	if rr.Documents != 6 || len(rr.Warnings) > 0 || len(rr.Migrations) > 0 {
		t.Errorf("restore result: %+v", rr)
	}

	after := capture(t, e.OwnerURL, appRole, uploads)
	for _, name := range slices.Sorted(maps.Keys(before.tables)) {
		if before.tables[name] != after.tables[name] {
			t.Errorf("table %s: before %s, after %s", name, before.tables[name], after.tables[name])
		}
		if before.rls[name] != after.rls[name] {
			t.Errorf("row-level security of %s: before %s, after %s", name, before.rls[name], after.rls[name])
		}
	}
	if len(after.tables) != len(before.tables) {
		t.Errorf("%d tables after, %d before", len(after.tables), len(before.tables))
	}
	if !slices.Equal(before.policies, after.policies) {
		t.Errorf("policies differ:\nbefore %v\nafter  %v", before.policies, after.policies)
	}
	if !slices.Equal(before.grants, after.grants) {
		t.Errorf("application role grants differ:\nbefore %v\nafter  %v", before.grants, after.grants)
	}
	if !maps.Equal(before.docs, after.docs) {
		t.Errorf("documents differ:\nbefore %v\nafter  %v", before.docs, after.docs)
	}

	// The restored system works: the application role passes the server's
	// start check, sees its tenant's rows, and nothing without a tenant.
	db, err := postgres.Open(ctx, e.AppURL, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.CheckAppRole(ctx); err != nil {
		t.Error(err)
	}
	if err := db.CheckSchema(ctx); err != nil {
		t.Error(err)
	}
	var n int
	if err := db.QueryTenantRow(ctx, e.Tenant(t, "alpha").UUID(), "SELECT count(*) FROM contacts", nil,
		func(r pgx.Row) error { return r.Scan(&n) }); err != nil || n != 40 {
		t.Errorf("alpha sees %d contacts (%v), want 40", n, err)
	}
	if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM contacts").Scan(&n); err != nil || n != 0 {
		t.Errorf("without a tenant the application role sees %d contacts (%v), want 0", n, err)
	}
	if _, err := db.Pool.Exec(ctx, "DELETE FROM audit_log"); err == nil {
		t.Error("the application role may delete audit entries after the restore")
	}
	svc := &postgres.CRMService{DB: db}
	doc, err := svc.Document(ctx, e.System(t, "alpha"), f.docs[0].ID)
	if err != nil || doc.SHA256 != f.docs[0].SHA256 {
		t.Errorf("document after restore: %+v, %v", doc, err)
	}
	data, err := os.ReadFile(filestore.New(uploads).Path(e.Tenant(t, "alpha").UUID(), f.docs[0].ID))
	if sum := sha256.Sum256(data); err != nil || hex.EncodeToString(sum[:]) != f.docs[0].SHA256 {
		t.Errorf("document file after restore does not match its record (%v)", err)
	}
	// The backup role was recreated with its grants: the next backup runs.
	if err := postgres.CheckBackupRole(ctx, f.backupURL); err != nil {
		t.Error(err)
	}
	res2 := f.backup(t, dir, "")
	if !maps.Equal(res2.Manifest.Tables, m.Tables) {
		t.Errorf("second backup counts %v, first %v", res2.Manifest.Tables, m.Tables)
	}

	t.Run("refuses a database that is not empty", func(t *testing.T) {
		other := t.TempDir()
		_, err := backup.Restore(ctx, backup.RestoreOptions{Manifest: res.ManifestPath, Env: "prod", OwnerURL: e.OwnerURL,
			AppURL: e.AppURL, DataDir: other})
		var re *backup.RefusedError
		if !errors.As(err, &re) || !strings.Contains(err.Error(), "is not empty") {
			t.Errorf("restore into the full database: %v", err)
		}
	})
	t.Run("refuses an uploads directory that is not empty", func(t *testing.T) {
		fresh := pgtest.NewDatabase(t)
		_, err := backup.Restore(ctx, backup.RestoreOptions{Manifest: res.ManifestPath, Env: "prod", OwnerURL: fresh,
			AppURL: pgtest.NewRoleURL(t, fresh), DataDir: f.dataDir})
		if err == nil || !strings.Contains(err.Error(), "uploads directory") {
			t.Errorf("restore over existing documents: %v", err)
		}
	})
	t.Run("refuses a damaged backup", func(t *testing.T) {
		damaged := t.TempDir()
		for _, name := range []string{m.DatabaseDump.Name, m.Uploads.Name, filepath.Base(res.ManifestPath)} {
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			if name == m.DatabaseDump.Name {
				data[len(data)/2] ^= 0xff
			}
			if err := os.WriteFile(filepath.Join(damaged, name), data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		fresh := pgtest.NewDatabase(t)
		_, err := backup.Restore(ctx, backup.RestoreOptions{Manifest: filepath.Join(damaged, filepath.Base(res.ManifestPath)),
			Env: "prod", OwnerURL: fresh, AppURL: pgtest.NewRoleURL(t, fresh), DataDir: t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), "does not match its manifest") {
			t.Errorf("restore of a damaged dump: %v", err)
		}
	})
	t.Run("refuses prod into dev or test without anonymising", func(t *testing.T) {
		for _, env := range []string{"dev", "test"} {
			_, err := backup.Restore(ctx, backup.RestoreOptions{Manifest: res.ManifestPath, Env: env, OwnerURL: e.OwnerURL,
				AppURL: e.AppURL, DataDir: t.TempDir()})
			if err == nil || !strings.Contains(err.Error(), "without --anonymise") {
				t.Errorf("prod into %s: %v", env, err)
			}
		}
	})
	t.Run("anonymised into dev", func(t *testing.T) {
		testAnonymisedRestore(t, f, res, before)
	})
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatal(err)
	}
}
