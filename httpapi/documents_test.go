package httpapi_test

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rpcrm/rpcrm/filestore"
	"github.com/rpcrm/rpcrm/httpapi"
	"github.com/rpcrm/rpcrm/httpserver"
	"github.com/rpcrm/rpcrm/internal/testfix"
	"github.com/rpcrm/rpcrm/metrics"
	"github.com/rpcrm/rpcrm/postgres"
	"github.com/rpcrm/rpcrm/proxy"
	"github.com/rpcrm/rpcrm/ratelimit"
	"github.com/rpcrm/rpcrm/tenant"
)

// TestDocuments runs the document API tests on one database: each part has
// its own server, file store and companies.
func TestDocuments(t *testing.T) {
	t.Parallel()
	e := testfix.New(t)
	e.CreateUser(t, "alpha", "admin@alpha.test", "admin")
	admin := e.Login(t, "alpha", "admin@alpha.test").AccessToken
	e.CreateUser(t, "beta", "admin@beta.test", "admin")
	betaAdmin := e.Login(t, "beta", "admin@beta.test").AccessToken
	for name, test := range map[string]func(*testing.T, *testfix.Env, string, string){
		"round trip":                  testDocumentRoundTrip,
		"refused uploads":             testDocumentUploadRefused,
		"file names never reach disk": testDocumentFileNameNeverReachesDisk,
		"trash and scopes":            testDocumentTrashAndScopes,
		"slow upload":                 testSlowUploadOutlastsReadTimeout,
		"purged record's documents":   testPurgedRecordTakesItsDocuments,
	} {
		t.Run(name, func(t *testing.T) { test(t, e, admin, betaAdmin) })
	}
}

// docServer is newServer with a file store in a temporary directory.
// Options change the http.Server before it starts.
func docServer(t *testing.T, e *testfix.Env, maxUpload int64, options ...func(*http.Server)) (*testServer, string) {
	t.Helper()
	dir := t.TempDir()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m := metrics.New()
	gate := httpserver.NewLoginGate(ratelimit.NewWindow(10_000, time.Minute), ratelimit.NewWindow(10_000, 15*time.Minute), m, log, 0)
	files := filestore.New(dir)
	api := &httpapi.API{
		Auth: e.Auth, Audit: &postgres.AuditService{DB: e.DB}, CRM: &postgres.CRMService{DB: e.DB, Files: files}, Log: log, Metrics: m,
		MaxBodyBytes: 64 << 10, Gate: gate, Files: files, MaxUploadBytes: maxUpload,
	}
	srv := &httpserver.Server{Log: log, Metrics: m, Tenants: tenant.NewRegistry(e.Tenants), Trust: proxy.Trust{},
		MetricsAllow: proxy.Trust{}, Ready: func(ctx context.Context) error { return nil }, API: api.Handler()}
	ts := httptest.NewUnstartedServer(srv.Handler())
	for _, o := range options {
		o(ts.Config)
	}
	ts.Start()
	t.Cleanup(ts.Close)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return &testServer{Server: ts, Env: e, Metrics: m, logs: logs}, dir
}

// upload is one multipart upload: fields first, then the file (unless
// fileName is "-").
type upload struct {
	fields      [][2]string
	fileName    string
	contentType string // what the client claims
	content     []byte
	// trailing fields follow the file.
	trailing [][2]string
	// disposition, if set, replaces the file part's Content-Disposition.
	disposition string
}

func (u upload) body(t *testing.T) ([]byte, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, f := range u.fields {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			t.Fatal(err)
		}
	}
	if u.fileName != "-" {
		h := textproto.MIMEHeader{}
		esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(u.fileName)
		h.Set("Content-Disposition", cmp.Or(u.disposition, `form-data; name="file"; filename="`+esc+`"`))
		h.Set("Content-Type", u.contentType)
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(u.content)
	}
	for _, f := range u.trailing {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			t.Fatal(err)
		}
	}
	mw.Close()
	return b.Bytes(), mw.FormDataContentType()
}

func (s *testServer) upload(t *testing.T, host, token string, u upload) *response {
	t.Helper()
	body, ct := u.body(t)
	return s.do(t, request{Method: "POST", Path: "/api/v1/documents", Host: host, Token: token, Body: body, ContentType: ct})
}

// storedFiles lists the files under dir, relative to it.
func storedFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

type docJSON struct {
	ID          string `json:"id"`
	FileName    string `json:"file_name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	CompanyID   string `json:"company_id"`
}

func createCompanyAPI(t *testing.T, s *testServer, host, token, name string) string {
	t.Helper()
	res := s.do(t, request{Method: "POST", Path: "/api/v1/companies", Host: host, Token: token, Body: map[string]string{"name": name}})
	if res.Status != http.StatusCreated {
		t.Fatalf("create company: %d %s", res.Status, res.Body)
	}
	return res.object(t)["id"].(string)
}

func testDocumentRoundTrip(t *testing.T, e *testfix.Env, admin, betaAdmin string) {
	s, dir := docServer(t, e, 0)
	company := createCompanyAPI(t, s, "alpha.test", admin, "Müller AG")

	pdf := append([]byte("%PDF-1.7\n"), make([]byte, 300<<10)...)
	rand.Read(pdf[9:])
	name := `Offerte Müller "2026".pdf`
	res := s.upload(t, "alpha.test", admin, upload{fields: [][2]string{{"company_id", company}}, fileName: name,
		contentType: "image/png", content: pdf})
	if res.Status != http.StatusCreated {
		t.Fatalf("upload: %d %s", res.Status, res.Body)
	}
	var d docJSON
	res.decode(t, &d)
	sum := sha256.Sum256(pdf)
	if d.FileName != name || d.ContentType != "application/pdf" || d.Size != int64(len(pdf)) ||
		d.SHA256 != hex.EncodeToString(sum[:]) || d.CompanyID != company {
		t.Errorf("uploaded %+v", d)
	}
	if res.Header.Get("Location") != "/api/v1/documents/"+d.ID {
		t.Errorf("Location %q", res.Header.Get("Location"))
	}
	// Stored under the tenant's UUID and the document ID, nothing else.
	want := filepath.Join(e.Tenant(t, "alpha").UUID().String(), d.ID[:2], d.ID)
	if got := storedFiles(t, dir); len(got) != 1 || got[0] != want {
		t.Errorf("stored files %v, want [%s]", got, want)
	}

	res = s.do(t, request{Path: "/api/v1/documents/" + d.ID + "/content", Token: admin})
	if res.Status != http.StatusOK {
		t.Fatalf("download: %d %s", res.Status, res.Body)
	}
	got := sha256.Sum256(res.Body)
	if !bytes.Equal(res.Body, pdf) || got != sum {
		t.Errorf("downloaded %d bytes, differ from the upload", len(res.Body))
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/pdf" {
		t.Errorf("Content-Type %q", ct)
	}
	if v := res.Header.Get("X-Content-Type-Options"); v != "nosniff" {
		t.Errorf("X-Content-Type-Options %q", v)
	}
	cd := res.Header.Get("Content-Disposition")
	if cd != `attachment; filename="Offerte M_ller _2026_.pdf"; filename*=UTF-8''Offerte%20M%C3%BCller%20%222026%22.pdf` {
		t.Errorf("Content-Disposition %s", cd)
	}
	if disp, params, err := mime.ParseMediaType(cd); err != nil || disp != "attachment" || params["filename"] != name {
		t.Errorf("Content-Disposition parses as %q %v %v", disp, params, err)
	}
	etag := res.Header.Get("ETag")
	if res := s.do(t, request{Path: "/api/v1/documents/" + d.ID + "/content", Token: admin,
		Header: map[string]string{"If-None-Match": etag}}); res.Status != http.StatusNotModified {
		t.Errorf("conditional download: %d", res.Status)
	}

	// HTML claimed to be a PNG is served as what it is, but only as an attachment.
	res = s.upload(t, "alpha.test", admin, upload{fields: [][2]string{{"company_id", company}}, fileName: "bild.png",
		contentType: "image/png", content: []byte("<!DOCTYPE html><html><body><script>alert(document.cookie)</script>")})
	if res.Status != http.StatusCreated {
		t.Fatalf("upload html: %d %s", res.Status, res.Body)
	}
	var h docJSON
	res.decode(t, &h)
	res = s.do(t, request{Path: "/api/v1/documents/" + h.ID + "/content", Token: admin})
	if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("HTML served as %q", ct)
	}
	if cd := res.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") {
		t.Errorf("HTML served with Content-Disposition %q", cd)
	}
	if res.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(res.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("HTML served without nosniff or sandbox: %v", res.Header)
	}

	// Metadata, the list of the company's documents, the audit log.
	runScenarios(t, s, []scenario{
		{Name: "metadata", request: request{Path: "/api/v1/documents/" + d.ID, Token: admin}, ExpectedStatus: 200,
			ExpectedContent: []string{`"sha256":"` + d.SHA256}, ExpectedHeaders: map[string]string{"ETag": `"1"`}},
		{Name: "list by company", request: request{Path: "/api/v1/documents?company_id=" + company + "&sort=file_name", Token: admin},
			ExpectedStatus: 200, ExpectedContent: []string{`"file_name":"bild.png"`, d.ID}},
		{Name: "list by a bad id", request: request{Path: "/api/v1/documents?deal_id=x", Token: admin},
			ExpectedStatus: 422, ExpectedFields: []string{"deal_id"}},
	})
	entries := s.auditEntries(t, "alpha.test", admin, "action=document.create&entity_id="+d.ID)
	if len(entries) != 1 {
		t.Fatalf("audit entries %v", entries)
	}
	det, _ := entries[0]["details"].(map[string]any)
	if det["file_name"] != name || det["sha256"] != d.SHA256 || det["size"] != float64(len(pdf)) {
		t.Errorf("audit details %v", det)
	}
}

func testDocumentUploadRefused(t *testing.T, e *testfix.Env, admin, betaAdmin string) {
	s, dir := docServer(t, e, 4096)
	company := createCompanyAPI(t, s, "alpha.test", admin, "Kunde AG")
	betaCompany := createCompanyAPI(t, s, "beta.test", betaAdmin, "Beta Kunde AG")
	link := [][2]string{{"company_id", company}}

	nothingStored := func(t *testing.T, _ *response) {
		t.Helper()
		if files := storedFiles(t, dir); len(files) != 0 {
			t.Errorf("files left on disk: %v", files)
		}
		res := s.do(t, request{Path: "/api/v1/documents?company_id=" + company, Token: admin})
		if !bytes.Contains(res.Body, []byte(`"items":[]`)) {
			t.Errorf("documents recorded: %s", res.Body)
		}
	}
	post := func(u upload) request {
		body, ct := u.body(t)
		return request{Method: "POST", Path: "/api/v1/documents", Token: admin, Body: body, ContentType: ct}
	}
	runScenarios(t, s, []scenario{
		{Name: "one byte over the limit", request: post(upload{fields: link, fileName: "a.txt", content: bytes.Repeat([]byte("a"), 4097)}),
			ExpectedStatus: 413, ExpectedContent: []string{"Datei zu gross (höchstens 4 KB)"}, After: nothingStored},
		{Name: "far over the limit", request: post(upload{fields: link, fileName: "a.txt", content: bytes.Repeat([]byte("a"), 150<<10)}),
			ExpectedStatus: 413, ExpectedContent: []string{"Datei zu gross"}, After: nothingStored},
		{Name: "no link", request: post(upload{fileName: "a.txt", content: []byte("hallo")}),
			ExpectedStatus: 422, ExpectedFields: []string{"company_id"}, After: nothingStored},
		{Name: "link after the file, to another tenant's company",
			request:        post(upload{fileName: "a.txt", content: []byte("hallo"), trailing: [][2]string{{"company_id", betaCompany}}}),
			ExpectedStatus: 422, ExpectedFields: []string{"company_id"}, After: nothingStored},
		{Name: "another tenant's company", request: post(upload{fields: [][2]string{{"company_id", betaCompany}}, fileName: "a.txt", content: []byte("hallo")}),
			ExpectedStatus: 422, ExpectedFields: []string{"company_id"}, After: nothingStored},
		{Name: "bad id", request: post(upload{fields: [][2]string{{"deal_id", "../../x"}}, fileName: "a.txt", content: []byte("hallo")}),
			ExpectedStatus: 422, ExpectedFields: []string{"deal_id"}, After: nothingStored},
		{Name: "unknown field", request: post(upload{fields: append([][2]string{{"path", "/etc"}}, link...), fileName: "a.txt", content: []byte("hallo")}),
			ExpectedStatus: 422, ExpectedFields: []string{"path"}, After: nothingStored},
		{Name: "no file", request: post(upload{fields: link, fileName: "-"}),
			ExpectedStatus: 422, ExpectedFields: []string{"file"}, After: nothingStored},
		{Name: "JSON instead of multipart", request: request{Method: "POST", Path: "/api/v1/documents", Token: admin,
			Body: map[string]string{"company_id": company}}, ExpectedStatus: 422, After: nothingStored},
		{Name: "the general body limit still holds elsewhere", request: request{Method: "POST", Path: "/api/v1/companies", Token: admin,
			Body: map[string]string{"name": strings.Repeat("x", 100<<10)}}, ExpectedStatus: 422, ExpectedContent: []string{"zu gross"}},
		{Name: "exactly at the limit, link after the file", request: post(upload{trailing: link, fileName: "a.txt", content: bytes.Repeat([]byte("a"), 4096)}),
			ExpectedStatus: 201, ExpectedContent: []string{`"size":4096`}},
	})
}

func testDocumentFileNameNeverReachesDisk(t *testing.T, e *testfix.Env, admin, betaAdmin string) {
	s, dir := docServer(t, e, 0)
	company := createCompanyAPI(t, s, "alpha.test", admin, "Kunde AG")
	tenantDir := e.Tenant(t, "alpha").UUID().String()
	// Control characters and line breaks can only come RFC 2231-encoded;
	// they must not reach the stored name or the download's header.
	encoded := upload{fields: [][2]string{{"company_id", company}}, content: []byte("inhalt"),
		disposition: `form-data; name="file"; filename*=UTF-8''evil%0D%0AX-Injected%3A%201%01%1B%5B31m%7F.txt`}
	res := s.do(t, func() request {
		body, ct := encoded.body(t)
		return request{Method: "POST", Path: "/api/v1/documents", Token: admin, Body: body, ContentType: ct}
	}())
	if res.Status != http.StatusCreated || !bytes.Contains(res.Body, []byte(`"file_name":"evilX-Injected: 1[31m.txt"`)) {
		t.Errorf("upload with control characters: %d %s", res.Status, res.Body)
	}
	for name, want := range map[string]string{
		"../../etc/passwd":             "passwd",
		`..\..\..\windows\win.ini`:     "win.ini",
		"..":                           "Dokument",
		"/absolute/path.txt":           "path.txt",
		"\u202Egnp.exe":                "gnp.exe",
		strings.Repeat("x", 300) + ".": strings.Repeat("x", 200),
	} {
		t.Run(want, func(t *testing.T) {
			before := len(storedFiles(t, dir))
			res := s.upload(t, "alpha.test", admin, upload{fields: [][2]string{{"company_id", company}}, fileName: name, content: []byte("inhalt")})
			if res.Status != http.StatusCreated {
				t.Fatalf("upload: %d %s", res.Status, res.Body)
			}
			var d docJSON
			res.decode(t, &d)
			if d.FileName != want {
				t.Errorf("file_name %q, want %q", d.FileName, want)
			}
			files := storedFiles(t, dir)
			if len(files) != before+1 {
				t.Fatalf("files %v", files)
			}
			found := false
			for _, f := range files {
				if f == filepath.Join(tenantDir, d.ID[:2], d.ID) {
					found = true
				}
			}
			if !found {
				t.Errorf("document %s not stored under its ID: %v", d.ID, files)
			}
			res = s.do(t, request{Path: "/api/v1/documents/" + d.ID + "/content", Token: admin})
			cd := res.Header.Get("Content-Disposition")
			if strings.ContainsAny(cd, "\r\n/\\") || !strings.HasPrefix(cd, "attachment;") {
				t.Errorf("Content-Disposition %q", cd)
			}
			if res.Header.Get("X-Injected") != "" {
				t.Error("header injected through the file name")
			}
		})
	}
}

func testDocumentTrashAndScopes(t *testing.T, e *testfix.Env, admin, betaAdmin string) {
	s, dir := docServer(t, e, 0)
	own := customRole(t, e, "alpha", "Eigene Dokumente", "companies:read", "documents:read:own", "documents:write:own", "documents:delete:own")
	userWithRoles(t, e, "alpha", "olga@alpha.test", own.ID)
	userWithRoles(t, e, "alpha", "otto@alpha.test", own.ID)
	olga := e.Login(t, "alpha", "olga@alpha.test").AccessToken
	otto := e.Login(t, "alpha", "otto@alpha.test").AccessToken
	company := createCompanyAPI(t, s, "alpha.test", admin, "Kunde AG")

	res := s.upload(t, "alpha.test", olga, upload{fields: [][2]string{{"company_id", company}}, fileName: "olga.txt", content: []byte("von Olga")})
	if res.Status != http.StatusCreated {
		t.Fatalf("upload: %d %s", res.Status, res.Body)
	}
	var d docJSON
	res.decode(t, &d)
	path := "/api/v1/documents/" + d.ID
	onDisk := func(want bool) func(t *testing.T, _ *response) {
		return func(t *testing.T, _ *response) {
			t.Helper()
			if got := len(storedFiles(t, dir)) == 1; got != want {
				t.Errorf("file on disk: %v, want %v", got, want)
			}
		}
	}
	var scenarios []scenario
	// Another tenant's admin and a colleague with scope "own": 404 for every verb.
	for who, tok := range map[string]struct{ host, token string }{"other tenant": {"beta.test", betaAdmin}, "colleague": {"alpha.test", otto}} {
		for _, r := range []request{
			{Path: path}, {Path: path + "/content"}, {Method: "DELETE", Path: path},
			{Method: "POST", Path: path + "/restore"}, {Method: "DELETE", Path: "/api/v1/documents/trash/" + d.ID},
		} {
			r.Host, r.Token = tok.host, tok.token
			scenarios = append(scenarios, scenario{Name: who + " " + r.Method + " " + r.Path, request: r, ExpectedStatus: 404, After: onDisk(true)})
		}
		scenarios = append(scenarios, scenario{Name: who + " lists", request: request{Path: "/api/v1/documents", Host: tok.host, Token: tok.token},
			ExpectedStatus: 200, NotExpectedContent: []string{d.ID}})
	}
	scenarios = append(scenarios,
		scenario{Name: "other tenant uploads to alpha's company", request: func() request {
			body, ct := upload{fields: [][2]string{{"company_id", company}}, fileName: "x.txt", content: []byte("x")}.body(t)
			return request{Method: "POST", Path: "/api/v1/documents", Host: "beta.test", Token: betaAdmin, Body: body, ContentType: ct}
		}(), ExpectedStatus: 422, ExpectedFields: []string{"company_id"}, After: onDisk(true)},
		scenario{Name: "purge a live document", request: request{Method: "DELETE", Path: "/api/v1/documents/trash/" + d.ID, Token: olga},
			ExpectedStatus: 404, After: onDisk(true)},
		scenario{Name: "trash", request: request{Method: "DELETE", Path: path, Token: olga}, ExpectedStatus: 204, After: onDisk(true)},
		scenario{Name: "trashed content is gone", request: request{Path: path + "/content", Token: olga}, ExpectedStatus: 404},
		scenario{Name: "trash list", request: request{Path: "/api/v1/documents/trash", Token: olga}, ExpectedStatus: 200,
			ExpectedContent: []string{d.ID}},
		scenario{Name: "colleague's trash list", request: request{Path: "/api/v1/documents/trash", Token: otto}, ExpectedStatus: 200,
			NotExpectedContent: []string{d.ID}},
		scenario{Name: "restore", request: request{Method: "POST", Path: path + "/restore", Token: olga}, ExpectedStatus: 200,
			ExpectedContent: []string{`"version":3`}},
		scenario{Name: "content is back", request: request{Path: path + "/content", Token: olga}, ExpectedStatus: 200,
			ExpectedContent: []string{"von Olga"}},
		scenario{Name: "trash again", request: request{Method: "DELETE", Path: path, Token: olga}, ExpectedStatus: 204},
		scenario{Name: "purge", request: request{Method: "DELETE", Path: "/api/v1/documents/trash/" + d.ID, Token: olga},
			ExpectedStatus: 204, After: onDisk(false)},
		scenario{Name: "purged", request: request{Method: "POST", Path: path + "/restore", Token: olga}, ExpectedStatus: 404},
	)
	runScenarios(t, s, scenarios)
	actions := []string{}
	for _, en := range s.auditEntries(t, "alpha.test", admin, "entity_id="+d.ID) {
		actions = append(actions, en["action"].(string))
	}
	if got := strings.Join(actions, " "); got != "document.purge document.delete document.restore document.delete document.create" {
		t.Errorf("audit (newest first): %s", got)
	}
}

// testPurgedRecordTakesItsDocuments checks that purging a company deletes
// its documents, records and files, and keeps the others.
func testPurgedRecordTakesItsDocuments(t *testing.T, e *testfix.Env, admin, betaAdmin string) {
	s, dir := docServer(t, e, 0)
	company := createCompanyAPI(t, s, "alpha.test", admin, "Weg AG")
	res := s.do(t, request{Method: "POST", Path: "/api/v1/contacts", Token: admin, Body: map[string]any{"last_name": "Bleibt"}})
	if res.Status != http.StatusCreated {
		t.Fatalf("contact: %d %s", res.Status, res.Body)
	}
	var contact struct{ ID string }
	res.decode(t, &contact)
	up := func(name string, fields ...[2]string) docJSON {
		res := s.upload(t, "alpha.test", admin, upload{fields: fields, fileName: name, content: []byte(name)})
		if res.Status != http.StatusCreated {
			t.Fatalf("upload %s: %d %s", name, res.Status, res.Body)
		}
		var d docJSON
		res.decode(t, &d)
		return d
	}
	alone := up("alone.txt", [2]string{"company_id", company})
	up("second.txt", [2]string{"company_id", company})
	shared := up("contact.txt", [2]string{"contact_id", contact.ID})
	if n := len(storedFiles(t, dir)); n != 3 {
		t.Fatalf("%d files stored, want 3", n)
	}
	for _, r := range []request{
		{Method: "DELETE", Path: "/api/v1/companies/" + company},
		{Method: "DELETE", Path: "/api/v1/companies/trash/" + company},
	} {
		r.Token = admin
		if res := s.do(t, r); res.Status != http.StatusNoContent {
			t.Fatalf("%s %s: %d %s", r.Method, r.Path, res.Status, res.Body)
		}
	}
	files := storedFiles(t, dir)
	if len(files) != 1 || !strings.HasSuffix(files[0], shared.ID) {
		t.Errorf("files left %v, want only %s", files, shared.ID)
	}
	if res := s.do(t, request{Path: "/api/v1/documents/" + alone.ID, Token: admin}); res.Status != http.StatusNotFound {
		t.Errorf("document attached to the company alone: %d", res.Status)
	}
	res = s.do(t, request{Path: "/api/v1/documents/" + shared.ID, Token: admin})
	if res.Status != http.StatusOK {
		t.Errorf("the contact's document: %d %s", res.Status, res.Body)
	}
	if entries := s.auditEntries(t, "alpha.test", admin, "entity_id="+alone.ID); len(entries) == 0 || entries[0]["action"] != "document.purge" {
		t.Errorf("audit of the purged document: %v", entries)
	}
}

// testSlowUploadOutlastsReadTimeout checks that an upload may take longer
// than the server's read timeout, which is meant for JSON requests.
func testSlowUploadOutlastsReadTimeout(t *testing.T, e *testfix.Env, admin, betaAdmin string) {
	s, _ := docServer(t, e, 0, func(hs *http.Server) { hs.ReadTimeout = 300 * time.Millisecond })
	company := createCompanyAPI(t, s, "alpha.test", admin, "Kunde AG")
	body, ct := upload{fields: [][2]string{{"company_id", company}}, fileName: "langsam.txt", content: bytes.Repeat([]byte("z"), 8000)}.body(t)

	pr, pw := io.Pipe()
	go func() {
		// About a second in all, in ten pieces.
		for chunk := range slices.Chunk(body, len(body)/10+1) {
			time.Sleep(100 * time.Millisecond)
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
		pw.Close()
	}()
	req, err := http.NewRequest("POST", s.URL+"/api/v1/documents", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "alpha.test"
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+admin)
	res, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusCreated || !bytes.Contains(b, []byte(`"size":8000`)) {
		t.Fatalf("slow upload: %d %s", res.StatusCode, b)
	}
	// The timeout itself works: a slow JSON request is cut off.
	pr2, pw2 := io.Pipe()
	go func() {
		pw2.Write([]byte(`{"name":`))
		time.Sleep(time.Second)
		pw2.Write([]byte(`"Zu langsam AG"}`))
		pw2.Close()
	}()
	req, _ = http.NewRequest("POST", s.URL+"/api/v1/companies", pr2)
	req.Host = "alpha.test"
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+admin)
	if res, err := s.Client().Do(req); err == nil {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode == http.StatusCreated {
			t.Errorf("slow JSON request outlasted the read timeout: %s", b)
		}
	}
}
