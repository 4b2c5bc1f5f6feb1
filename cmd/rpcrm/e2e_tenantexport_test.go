package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// uploadDocument posts content as a document of the company companyID and
// returns the new document's ID.
func uploadDocument(t *testing.T, base, host, token, companyID, name string, content []byte) string {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if err := mw.WriteField("company_id", companyID); err != nil {
		t.Fatal(err)
	}
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(content)
	mw.Close()
	req, err := http.NewRequest("POST", base+"/api/v1/documents", &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var d struct {
		ID string `json:"id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload %s: %d %v", name, resp.StatusCode, err)
	}
	return d.ID
}

// tenantCounts counts a tenant's rows in a few tables, as the owner.
func (f *fixture) tenantCounts(slug string) [5]int {
	f.t.Helper()
	var c [5]int
	f.ownerQueryRow(`SELECT
		(SELECT count(*) FROM users WHERE tenant_id = t.id),
		(SELECT count(*) FROM companies WHERE tenant_id = t.id),
		(SELECT count(*) FROM contacts WHERE tenant_id = t.id),
		(SELECT count(*) FROM documents WHERE tenant_id = t.id),
		(SELECT count(*) FROM audit_log WHERE tenant_id = t.id)
		FROM tenants t WHERE t.slug = $1`, []any{slug}, &c[0], &c[1], &c[2], &c[3], &c[4])
	return c
}

// A tenant moves: `rpcrm tenants export` writes it into a zip while the
// server runs, `rpcrm tenants import` fills an empty tenant of another
// installation (another database and data directory, another slug) with
// it, and there its users log in with their passwords and download their
// documents. Every refusal is one line and a non-zero exit.
func TestE2ETenantExportImport(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true, "alpha", "beta")
	f.migrate()
	f.createUser("alpha", "admin@alpha.ch", "Anna Admin", "admin", pwAdmin)
	if r := runCLI(t, f.dir, f.envWith("RPCRM_ENV", "dev"), "", "seed", "--tenant", "alpha", "--contacts", "40"); r.code != 0 {
		t.Fatalf("seed: %v", r)
	}
	p := f.start(nil, "serve")
	p.waitReady(f.base())
	_, token := login(t, f.base(), "alpha.test", "admin@alpha.ch", pwAdmin)
	var companyID string
	f.ownerQueryRow(`SELECT c.id::text FROM companies c JOIN tenants t ON t.id = c.tenant_id WHERE t.slug = 'alpha' LIMIT 1`, nil, &companyID)
	content := bytes.Repeat([]byte("%PDF-1.4 Offerte Zürich\n"), 500)
	docID := uploadDocument(t, f.base(), "alpha.test", token, companyID, "Offerte.pdf", content)

	zipPath := filepath.Join(f.dir, "alpha.zip")
	r := f.run("", "tenants", "export", "alpha", zipPath)
	if r.code != 0 {
		t.Fatalf("export: %v", r)
	}
	line := singleLine(t, "export stdout", r.stdout)
	t.Log(line)
	if !strings.HasPrefix(line, "exported tenant alpha to "+zipPath) || !strings.Contains(line, fmt.Sprintf("1 documents (%d bytes)", len(content))) {
		t.Errorf("export summary: %q", line)
	}
	if st, err := os.Stat(zipPath); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("export file: %v, mode %v, want 0600 (it holds password hashes)", err, st.Mode())
	}
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, zf := range zr.File {
		names = append(names, zf.Name)
	}
	zr.Close()
	if want := []string{"manifest.json", "tables/contacts.jsonl", "documents/" + docID}; !containsAll(names, want) {
		t.Errorf("zip entries %v lack some of %v", names, want)
	}
	leftovers, _ := filepath.Glob(filepath.Join(f.dir, ".rpcrm-export-*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary export files left behind: %v", leftovers)
	}

	refusals := []struct {
		name string
		code int
		args []string
		want string
	}{
		{"existing file", 1, []string{"tenants", "export", "alpha", zipPath}, "already exists; choose a new file name"},
		{"unknown tenant", 1, []string{"tenants", "export", "nosuch", filepath.Join(f.dir, "x.zip")}, `no tenant "nosuch" in the database`},
		{"missing argument", 2, []string{"tenants", "export", "alpha"}, "expected a tenant id (slug) and a FILE.zip"},
		{"import into a tenant with data", 1, []string{"tenants", "import", "alpha", zipPath}, "tenant alpha: the tenant is not empty ("},
		{"import into a tenant not in tenants.json", 2, []string{"tenants", "import", "nosuch", zipPath}, `no tenant "nosuch" in`},
		{"import of a file that is no export", 1, []string{"tenants", "import", "beta", f.tenants}, "is not a readable zip file"},
	}
	for _, rc := range refusals {
		r := f.run("", rc.args...)
		line := singleLine(t, rc.name+" stderr", r.stderr)
		if r.code != rc.code || !strings.Contains(line, rc.want) {
			t.Errorf("%s: want exit %d and a line with %q: %v", rc.name, rc.code, rc.want, r)
		}
	}
	if c := f.tenantCounts("beta"); c != [5]int{} {
		t.Errorf("beta after refused imports: %v, want nothing", c)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "x.zip")); err == nil {
		t.Errorf("a failed export left its file behind")
	}

	// Another installation: its own database, data directory and tenant name.
	g := newFixture(t, true, "neu")
	g.migrate()
	r = g.run("", "tenants", "import", "neu", zipPath)
	if r.code != 0 {
		t.Fatalf("import: %v", r)
	}
	line = singleLine(t, "import stdout", r.stdout)
	t.Log(line)
	if !strings.Contains(line, "into tenant neu") || !strings.Contains(line, "from tenant alpha") {
		t.Errorf("import summary: %q", line)
	}
	src, dst := f.tenantCounts("alpha"), g.tenantCounts("neu")
	// The export's own audit entry came after the snapshot; the import adds its own.
	if src != dst {
		t.Errorf("neu after the import holds %v (users, companies, contacts, documents, audit), alpha %v", dst, src)
	}
	r = g.run("", "tenants", "import", "neu", zipPath)
	if line := singleLine(t, "second import stderr", r.stderr); r.code != 1 || !strings.Contains(line, "tenant neu: the tenant is not empty (") {
		t.Errorf("second import: %v", r)
	}

	q := g.start(nil, "serve")
	q.waitReady(g.base())
	code, token := login(t, g.base(), "neu.test", "admin@alpha.ch", pwAdmin)
	if code != http.StatusOK {
		t.Fatalf("login in the new installation with the old password: %d", code)
	}
	if m := me(t, g.base(), "neu.test", token); m.Tenant.ID != "neu" || len(m.Roles) != 1 || m.Roles[0].Key != "admin" {
		t.Errorf("GET /api/v1/me in neu: %+v", m)
	}
	code, body, err := httpDo("GET", g.base()+"/api/v1/documents/"+docID+"/content", "neu.test", "", token)
	if err != nil || code != http.StatusOK || !bytes.Equal(body, content) {
		t.Errorf("download of the moved document: %d %v, %d bytes (want %d)", code, err, len(body), len(content))
	}
	code, body, err = httpDo("GET", g.base()+"/api/v1/contacts?limit=100", "neu.test", "", token)
	var page struct {
		Items []json.RawMessage `json:"items"`
	}
	if err != nil || code != http.StatusOK || json.Unmarshal(body, &page) != nil || len(page.Items) != 40 {
		t.Errorf("contacts in neu: %d %v, %d items, want 40", code, err, len(page.Items))
	}
	// The old installation still serves alpha.
	if code, _ := login(t, f.base(), "alpha.test", "admin@alpha.ch", pwAdmin); code != http.StatusOK {
		t.Errorf("login in alpha after the export: %d", code)
	}
}

func containsAll(list, want []string) bool {
	for _, w := range want {
		if !slices.Contains(list, w) {
			return false
		}
	}
	return true
}
