package backup_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/rpcrm/rpcrm/backup"
	"github.com/rpcrm/rpcrm/pgtest"
	"github.com/rpcrm/rpcrm/postgres"
)

// figures are the things anonymisation keeps, as one checksum per query.
var figures = map[string]string{
	"ids":        `SELECT md5(string_agg(t || ':' || id::text, ',' ORDER BY t, id)) FROM (SELECT 'companies' AS t, id FROM companies UNION ALL SELECT 'contacts', id FROM contacts UNION ALL SELECT 'deals', id FROM deals UNION ALL SELECT 'activities', id FROM activities UNION ALL SELECT 'documents', id FROM documents UNION ALL SELECT 'users', id FROM users) x`,
	"deals":      `SELECT md5(string_agg(concat_ws('|', id, amount, currency, pipeline_id, stage_id, company_id, contact_id, owner_id, expected_close, probability, won_at, lost_at, created_at, deleted_at), ',' ORDER BY id)) FROM deals`,
	"activities": `SELECT md5(string_agg(concat_ws('|', id, kind, due_at, done_at, assignee_id, company_id, contact_id, deal_id, owner_id, created_at, length(body) > 0), ',' ORDER BY id)) FROM activities`,
	"contacts":   `SELECT md5(string_agg(concat_ws('|', id, company_id, owner_id, language, tags, cardinality(emails), cardinality(phones), marketing_consent, consent_at, created_at), ',' ORDER BY id)) FROM contacts`,
	"amounts":    `SELECT sum(amount)::text || ' ' || count(*) FROM deals`,
}

func queryText(t *testing.T, connURL, sql string, args ...any) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, connURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var s string
	if err := conn.QueryRow(ctx, sql, args...).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

func testAnonymisedRestore(t *testing.T, f *fixture, res *backup.Result, before state) {
	ctx := context.Background()
	orig := f.e.OwnerURL // superuser: reads across tenants
	dev := pgtest.NewDatabase(t)
	devApp := pgtest.NewRoleURL(t, dev)
	dataDir := t.TempDir()
	rr, err := backup.Restore(ctx, backup.RestoreOptions{Manifest: res.ManifestPath, Env: "dev", OwnerURL: dev,
		AppURL: devApp, DataDir: dataDir, Anonymise: true})
	if err != nil {
		t.Fatalf("anonymised restore: %v", err)
	}
	if rr.Documents != 6 {
		t.Errorf("%d documents", rr.Documents)
	}
	after := capture(t, dev, roleOf(t, devApp), filepath.Join(dataDir, "uploads"))
	for name, b := range before.tables {
		rowsBefore, _, _ := strings.Cut(b, " ")
		rowsAfter, _, _ := strings.Cut(after.tables[name], " ")
		if rowsBefore != rowsAfter {
			t.Errorf("%s: %s before, %s anonymised", name, rowsBefore, rowsAfter)
		}
		if before.rls[name] != after.rls[name] {
			t.Errorf("row-level security of %s: before %s, anonymised %s", name, before.rls[name], after.rls[name])
		}
	}
	for _, name := range []string{"contacts", "companies", "users", "activities", "documents", "deals"} {
		if before.tables[name] == after.tables[name] {
			t.Errorf("%s unchanged by anonymisation", name)
		}
	}
	for _, name := range []string{"pipelines", "stages", "roles", "role_permissions", "tenants", "tags"} {
		if before.tables[name] != after.tables[name] {
			t.Errorf("%s changed by anonymisation", name)
		}
	}
	for what, q := range figures {
		if a, b := queryText(t, orig, q), queryText(t, dev, q); a != b {
			t.Errorf("%s changed: %s → %s", what, a, b)
		}
	}

	// Nothing that identifies a person survives.
	checks := map[string]string{
		"contact e-mails":      `SELECT count(*)::text FROM contacts, unnest(emails) e WHERE e = ANY($1)`,
		"contact e-mails kept": `SELECT count(*)::text FROM contacts, unnest(emails) e WHERE e NOT LIKE '%@example.com'`,
		"user e-mails":         `SELECT count(*)::text FROM users WHERE email NOT LIKE '%@example.com'`,
		"company UIDs":         `SELECT count(*)::text FROM companies WHERE uid = ANY($1)`,
		"document names":       `SELECT count(*)::text FROM documents WHERE file_name NOT LIKE 'Dokument-%.pdf'`,
		"live sessions":        `SELECT count(*)::text FROM sessions WHERE revoked_at IS NULL`,
		"audit IPs":            `SELECT count(*)::text FROM audit_log WHERE ip <> ''`,
	}
	origEmails := queryList(t, orig, `SELECT coalesce(array_agg(e), '{}') FROM contacts, unnest(emails) e`)
	origUIDs := queryList(t, orig, `SELECT coalesce(array_agg(uid), '{}') FROM companies WHERE uid IS NOT NULL`)
	for what, q := range checks {
		var arg any
		switch what {
		case "contact e-mails":
			arg = origEmails
		case "company UIDs":
			arg = origUIDs
		}
		var got string
		if arg != nil {
			got = queryText(t, dev, q, arg)
		} else {
			got = queryText(t, dev, q)
		}
		if got != "0" {
			t.Errorf("%s: %s rows still hold the original", what, got)
		}
	}
	if len(origEmails) == 0 || len(origUIDs) == 0 {
		t.Fatal("fixture has no e-mails or UIDs to anonymise")
	}
	if n := queryText(t, dev, `SELECT count(*)::text FROM users`); n == "0" {
		t.Fatal("no users")
	}
	origHashes := queryList(t, orig, `SELECT array_agg(password_hash) FROM users`)
	if n := queryText(t, dev, `SELECT count(*)::text FROM users WHERE password_hash = ANY($1)`, origHashes); n != "0" {
		t.Errorf("%s users keep their password hash", n)
	}
	// Same id, different person: compare names row by row.
	origNames := queryList(t, orig, `SELECT array_agg(id::text || first_name || last_name ORDER BY id) FROM contacts`)
	devNames := queryList(t, dev, `SELECT array_agg(id::text || first_name || last_name ORDER BY id) FROM contacts`)
	same := 0
	for i := range origNames {
		if origNames[i] == devNames[i] {
			same++
		}
	}
	if same > len(origNames)/10 {
		t.Errorf("%d of %d contacts keep their name", same, len(origNames))
	}

	// The documents are placeholders whose records match them; no prod file came along.
	for rel, sum := range after.docs {
		if slicesContains(before.docs, sum) {
			t.Errorf("document %s is the prod file", rel)
		}
		id := filepath.Base(rel)
		want := queryText(t, dev, `SELECT sha256 FROM documents WHERE id = $1`, id)
		if sum != want {
			t.Errorf("document %s: file %s, record %s", rel, sum, want)
		}
		data, _ := os.ReadFile(filepath.Join(dataDir, "uploads", rel))
		s := sha256.Sum256(data)
		if hex.EncodeToString(s[:]) != sum {
			t.Error("capture is inconsistent")
		}
	}
	if len(after.docs) != 6 {
		t.Errorf("%d documents after anonymised restore", len(after.docs))
	}

	// The anonymised environment runs.
	db, err := postgres.Open(ctx, devApp, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.CheckAppRole(ctx); err != nil {
		t.Error(err)
	}
}

func queryList(t *testing.T, connURL, sql string) []string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, connURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var out []string
	if err := conn.QueryRow(ctx, sql).Scan(&out); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}

func slicesContains(m map[string]string, v string) bool {
	for _, x := range m {
		if x == v {
			return true
		}
	}
	return false
}
