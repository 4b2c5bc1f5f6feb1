package web_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rpcrm/rpcrm/crm"
	"github.com/rpcrm/rpcrm/web"
)

var importPathRe = regexp.MustCompile(`^/import/[0-9a-f]{32}$`)

const companiesCSV = "Firma;Ort;E-Mail;Notiz\n" +
	"Muster AG;Zürich;info@muster.ch;a\n" +
	"Kaputt GmbH;Bern;keine-adresse;b\n" +
	"Beispiel SA;Chur;hallo@beispiel.ch;c\n"

// startImport uploads a CSV and returns the path of its mapping step.
func startImport(t *testing.T, b *browser, entity, csv string) string {
	t.Helper()
	resp, page := b.upload("/import", map[string]string{"entity": entity}, "file", "firmen.csv", []byte(csv))
	if resp.StatusCode != http.StatusSeeOther || !importPathRe.MatchString(resp.Header.Get("Location")) {
		t.Fatalf("upload: %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), page)
	}
	return resp.Header.Get("Location")
}

func TestImportWizardSkipsTheBadRow(t *testing.T) {
	s := newSite(t, false)
	b := s.loggedIn(t, "alpha.test", "admin@alpha.test", "admin")
	page := b.page("/import", 200)
	if !strings.Contains(page, `id="import-form"`) || !strings.Contains(page, `enctype="multipart/form-data"`) || !strings.Contains(page, `for="f-file"`) {
		t.Fatalf("import start page:\n%s", page)
	}

	path := startImport(t, b, crm.EntityCompany, companiesCSV)
	page = b.page(path, 200)
	// The columns with the fields recognised from their names.
	for _, want := range []string{`id="import-mapping"`, `<label for="map-0">Firma</label>`, `<option value="name" selected>`,
		`<option value="address.city" selected>`, `<option value="email" selected>`, `<option value="" selected>– nicht importieren –`} {
		if !strings.Contains(page, want) {
			t.Fatalf("mapping page lacks %q:\n%s", want, page)
		}
	}
	form := url.Values{"map.0": {"name"}, "map.1": {"address.city"}, "map.2": {"email"}, "map.3": {""},
		"mode": {crm.ImportSkipBadRows}, "duplicates": {crm.DuplicatesSkip}}
	resp, _ := b.do("POST", path+"/check", form)
	wantStatus(t, "dry run without CSRF token", resp, "", http.StatusForbidden)

	// The dry run names the bad row's line and reason and saves nothing.
	resp, page = b.post(path+"/check", form)
	wantStatus(t, "dry run", resp, page, 200, `id="import-errors"`, `<th scope="row" class="num">3</th>`, "E-Mail", "ungültig", `id="import-run-form"`)
	assertNoInlineCode(t, page)
	if n := countCompanies(t, s); n != 0 {
		t.Fatalf("the dry run saved %d companies", n)
	}
	// All or nothing imports nothing.
	form.Set("mode", crm.ImportAllOrNothing)
	resp, page = b.post(path+"/run", form)
	wantStatus(t, "all or nothing", resp, page, http.StatusUnprocessableEntity, "Nichts importiert")
	if n := countCompanies(t, s); n != 0 {
		t.Fatalf("all-or-nothing saved %d companies", n)
	}
	// Skipping the bad row imports the rest.
	form.Set("mode", crm.ImportSkipBadRows)
	resp, page = b.post(path+"/run", form)
	wantStatus(t, "import", resp, page, 200, "Import abgeschlossen", `id="import-counts"`, `<dd class="num">2</dd>`, `<th scope="row" class="num">3</th>`)
	if n := countCompanies(t, s); n != 2 {
		t.Fatalf("imported %d companies, want 2", n)
	}
	// The file is gone after the import.
	b.page(path, http.StatusNotFound)
	resp, _ = b.post(path+"/run", form)
	wantStatus(t, "import again", resp, "", http.StatusNotFound)
}

func countCompanies(t *testing.T, s *site) int {
	t.Helper()
	page, err := s.crm().ListCompanies(context.Background(), s.System(t, "alpha"), crm.CompanyFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return len(page.Items)
}

func TestImportWizardRefusals(t *testing.T) {
	s := newSite(t, false)
	b := s.loggedIn(t, "alpha.test", "admin@alpha.test", "admin")

	resp, page := b.upload("/import", map[string]string{"entity": "contact"}, "", "", nil)
	wantStatus(t, "no file", resp, page, http.StatusUnprocessableEntity, `id="f-file-error"`)
	resp, page = b.upload("/import", map[string]string{"entity": "deal"}, "file", "x.csv", []byte("Titel\nA\n"))
	wantStatus(t, "deals are not importable", resp, page, http.StatusUnprocessableEntity, `id="f-entity-error"`)
	resp, page = b.upload("/import", map[string]string{"entity": "company"}, "file", "mappe.xlsx", []byte("PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00"))
	wantStatus(t, "a workbook", resp, page, http.StatusUnprocessableEntity, `id="f-file-error"`, "keine CSV-Datei")
	resp, page = b.upload("/import", map[string]string{"entity": "company"}, "file", "gross.csv", []byte("Firma\n"+strings.Repeat("x", 1<<20)))
	wantStatus(t, "too large", resp, page, http.StatusRequestEntityTooLarge)

	// A mapping without the name column is refused on the mapping step.
	path := startImport(t, b, crm.EntityContact, "Vorname;Nachname;Firma\nAnna;Muster;Muster AG\n")
	resp, page = b.post(path+"/check", url.Values{"map.0": {""}, "map.1": {""}, "map.2": {"company"}, "mode": {crm.ImportSkipBadRows}, "duplicates": {"skip"}})
	wantStatus(t, "mapping without a name", resp, page, http.StatusUnprocessableEntity, `id="f-mapping-error"`)
	resp, page = b.post(path+"/check", url.Values{"map.0": {"first_name"}, "map.1": {"last_name"}, "mode": {"irgendwie"}, "duplicates": {"skip"}})
	wantStatus(t, "bad mode", resp, page, http.StatusUnprocessableEntity)

	// The upload belongs to its user: another user, even an administrator of the same tenant, gets a 404.
	other := s.loggedIn(t, "alpha.test", "zweit@alpha.test", "admin")
	other.page(path, http.StatusNotFound)
	resp, _ = other.post(path+"/run", url.Values{"map.0": {"first_name"}})
	wantStatus(t, "someone else's upload", resp, "", http.StatusNotFound)
	b.page("/import/..%2F..%2Fetc%2Fpasswd", http.StatusNotFound)
	b.page("/import/0123456789abcdef0123456789abcdef", http.StatusNotFound)

	// Cancel deletes the file.
	dir := filepath.Join(os.TempDir(), "rpcrm", "imports")
	id := strings.TrimPrefix(path, "/import/")
	if _, err := os.Stat(filepath.Join(dir, id+".csv")); err != nil {
		t.Fatalf("upload not under the temporary directory: %v", err)
	}
	resp, _ = b.post(path+"/cancel", nil)
	wantStatus(t, "cancel", resp, "", http.StatusSeeOther)
	if _, err := os.Stat(filepath.Join(dir, id+".csv")); !os.IsNotExist(err) {
		t.Fatalf("the file survived the cancel: %v", err)
	}
	b.page(path, http.StatusNotFound)

	// Uploads left waiting are deleted after an hour.
	path = startImport(t, b, crm.EntityCompany, companiesCSV)
	id = strings.TrimPrefix(path, "/import/")
	old := time.Now().Add(-61 * time.Minute)
	for _, ext := range []string{".csv", ".json"} {
		if err := os.Chtimes(filepath.Join(dir, id+ext), old, old); err != nil {
			t.Fatal(err)
		}
	}
	b.page("/import", 200)
	if _, err := os.Stat(filepath.Join(dir, id+".json")); !os.IsNotExist(err) {
		t.Fatalf("an upload older than an hour survived: %v", err)
	}
	b.page(path, http.StatusNotFound)

	// Without import:run (the sales role), or without the form token.
	sales := s.loggedIn(t, "alpha.test", "sales@alpha.test", "sales")
	sales.page("/import", http.StatusForbidden)
	resp, _ = sales.upload("/import", map[string]string{"entity": "company"}, "file", "f.csv", []byte(companiesCSV))
	wantStatus(t, "upload without import:run", resp, "", http.StatusForbidden)
	resp, _ = b.do("POST", "/import", url.Values{"entity": {"company"}})
	wantStatus(t, "upload without CSRF token", resp, "", http.StatusForbidden)
}

// awaitImport loads the progress page until it shows the result instead of
// the progress bar, and returns that page.
func awaitImport(t *testing.T, b *browser, progress string) (*http.Response, string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, page := b.do("GET", progress, nil)
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, `<progress`) {
			return resp, page
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still shows the progress after 30 s:\n%s", progress, page)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestImportInTheBackground(t *testing.T) {
	s := newSite(t, false)
	web.SetImportWait(s.ui, 0) // every post goes to the progress page
	b := s.loggedIn(t, "alpha.test", "admin@alpha.test", "admin")
	path := startImport(t, b, crm.EntityCompany, companiesCSV)
	progress := path + "/progress"
	form := url.Values{"map.0": {"name"}, "map.1": {"address.city"}, "map.2": {"email"}, "map.3": {""},
		"mode": {crm.ImportSkipBadRows}, "duplicates": {crm.DuplicatesSkip}}

	// The dry run: the progress page, then the report at the same address,
	// with the mapping and options of the form.
	resp, page := b.post(path+"/check", form)
	wantStatus(t, "dry run", resp, page, http.StatusSeeOther)
	if loc := resp.Header.Get("Location"); loc != progress {
		t.Fatalf("dry run redirects to %q, want %q", loc, progress)
	}
	resp, page = awaitImport(t, b, progress)
	wantStatus(t, "dry run result", resp, page, http.StatusOK, `id="import-errors"`, `<th scope="row" class="num">3</th>`,
		`id="import-run-form"`, `<input type="hidden" name="map.2" value="email">`, `value="skip_bad_rows" checked`)
	assertNoInlineCode(t, page)
	if n := countCompanies(t, s); n != 0 {
		t.Fatalf("the dry run saved %d companies", n)
	}
	// htmx's poll of a finished job loads the whole page.
	resp, _ = b.htmx(progress, "import-progress")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("HX-Redirect") != progress {
		t.Fatalf("poll of a finished job: %d, HX-Redirect %q", resp.StatusCode, resp.Header.Get("HX-Redirect"))
	}

	// The import.
	resp, page = b.post(path+"/run", form)
	wantStatus(t, "import", resp, page, http.StatusSeeOther)
	resp, page = awaitImport(t, b, progress)
	wantStatus(t, "import result", resp, page, http.StatusOK, "Import abgeschlossen", `id="import-counts"`, `<dd class="num">2</dd>`)
	page2, err := s.crm().ListCompanies(context.Background(), s.System(t, "alpha"), crm.CompanyFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range page2.Items {
		names = append(names, c.Name)
	}
	slices.Sort(names)
	if strings.Join(names, ",") != "Beispiel SA,Muster AG" {
		t.Fatalf("imported companies: %v", names)
	}
	// The upload is gone, the result stays at the progress address.
	b.page(path, http.StatusNotFound)
	b.page(progress, http.StatusOK)

	// A bad mapping found by the job: back to the mapping step.
	path = startImport(t, b, crm.EntityContact, "Vorname;Nachname;Firma\nAnna;Muster;Muster AG\n")
	resp, page = b.post(path+"/check", url.Values{"map.0": {""}, "map.1": {""}, "map.2": {"company"}, "mode": {crm.ImportSkipBadRows}, "duplicates": {"skip"}})
	wantStatus(t, "dry run without a name", resp, page, http.StatusSeeOther)
	resp, page = awaitImport(t, b, path+"/progress")
	wantStatus(t, "mapping without a name", resp, page, http.StatusUnprocessableEntity, `id="f-mapping-error"`, `id="import-map-form"`)
}

func TestImportProgressPage(t *testing.T) {
	s := newSite(t, false)
	b := s.loggedIn(t, "alpha.test", "admin@alpha.test", "admin")
	p := s.principal(t, "alpha", "admin@alpha.test")
	path := startImport(t, b, crm.EntityCompany, companiesCSV)
	id := strings.TrimPrefix(path, "/import/")
	progress := path + "/progress"

	// A running job that has read 47 of 100 bytes: the bar and the text
	// show 47 %, screen readers hear the status in steps of ten.
	web.PutImportJob(s.ui, id, p.TenantID, p.UserID, 47, 100, time.Time{})
	page := b.page(progress, http.StatusOK)
	mustContain(t, page, `<progress id="import-progress-bar" max="100" value="47">`, `aria-hidden="true">47 % der Datei verarbeitet`,
		`<p class="sr-only" role="status">40 % der Datei verarbeitet</p>`)
	// A running job that has read 40 of 100 bytes.
	web.PutImportJob(s.ui, id, p.TenantID, p.UserID, 40, 100, time.Time{})
	page = b.page(progress, http.StatusOK)
	mustContain(t, page, `<progress id="import-progress-bar" max="100" value="40">`, "40 % der Datei verarbeitet", `role="status"`,
		`<noscript><meta http-equiv="refresh" content="2"></noscript>`, `hx-get="`+progress+`"`, `hx-trigger="every 1s"`,
		`<li aria-current="step">Prüfen</li>`)
	// htmx's poll gets the block alone.
	resp, frag := b.htmx(progress, "import-progress")
	wantStatus(t, "poll", resp, frag, http.StatusOK, `value="40"`)
	if strings.Contains(frag, "<html") || strings.Contains(frag, "hx-trigger") {
		t.Fatalf("the poll got more than the progress block:\n%s", frag)
	}
	// Pages without the progress have no refresh.
	if page := b.page(path, http.StatusOK); strings.Contains(page, "http-equiv") {
		t.Fatal("the mapping page refreshes itself")
	}

	// A post while the job runs shows its progress and starts no other.
	web.SetImportWait(s.ui, 0)
	resp, _ = b.post(path+"/check", url.Values{"map.0": {"name"}, "mode": {crm.ImportSkipBadRows}, "duplicates": {"skip"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != progress {
		t.Fatalf("post during a job: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	mustContain(t, b.page(progress, http.StatusOK), `value="40"`)

	// Only for its user: others get the 404 of a missing upload.
	other := s.loggedIn(t, "alpha.test", "zweit@alpha.test", "admin")
	mustContain(t, other.page(progress, http.StatusNotFound), "gibt es nicht mehr")
	beta := s.loggedIn(t, "beta.test", "admin@beta.test", "admin")
	mustContain(t, beta.page(progress, http.StatusNotFound), "gibt es nicht mehr")
	sales := s.loggedIn(t, "alpha.test", "sales@alpha.test", "sales")
	sales.page(progress, http.StatusForbidden)

	// Finished: the poll loads the whole page, which is the result.
	web.PutImportJob(s.ui, id, p.TenantID, p.UserID, 100, 100, time.Now())
	resp, _ = b.htmx(progress, "import-progress")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("HX-Redirect") != progress {
		t.Fatalf("poll of a finished job: %d, HX-Redirect %q", resp.StatusCode, resp.Header.Get("HX-Redirect"))
	}
	mustContain(t, b.page(progress, http.StatusOK), "Ergebnis des Probelaufs", `id="import-run-form"`)

	// A result older than 15 minutes is gone; the upload still waits.
	web.PutImportJob(s.ui, id, p.TenantID, p.UserID, 100, 100, time.Now().Add(-16*time.Minute))
	resp, _ = b.do("GET", progress, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != path {
		t.Fatalf("progress of a forgotten job: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}

	// Cancel stops a running job and deletes the upload.
	web.PutImportJob(s.ui, id, p.TenantID, p.UserID, 40, 100, time.Time{})
	resp, _ = b.post(path+"/cancel", nil)
	wantStatus(t, "cancel", resp, "", http.StatusSeeOther)
	b.page(progress, http.StatusNotFound)
	b.page("/import/0123456789abcdef0123456789abcdef/progress", http.StatusNotFound)
}
