package httpapi_test

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rpcrm/rpcrm/auth"
)

// importRequest builds a multipart import request; fields are sent before
// or after the file as the test asks.
func importRequest(t *testing.T, host, token, kind string, file []byte, fieldsFirst bool, fields map[string]string) request {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	writeFields := func() {
		keys := make([]string, 0, len(fields))
		for k := range fields {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if err := mw.WriteField(k, fields[k]); err != nil {
				t.Fatal(err)
			}
		}
	}
	if fieldsFirst {
		writeFields()
	}
	if file != nil {
		fw, err := mw.CreateFormFile("file", "import.csv")
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(file)
	}
	if !fieldsFirst {
		writeFields()
	}
	mw.Close()
	return request{Method: "POST", Path: "/api/v1/imports/" + kind, Host: host, Token: token, Body: buf.Bytes(),
		ContentType: mw.FormDataContentType()}
}

type importResult struct {
	DryRun     bool `json:"dry_run"`
	Created    int  `json:"created"`
	Updated    int  `json:"updated"`
	Skipped    int  `json:"skipped"`
	Truncated  bool `json:"truncated"`
	RolledBack bool `json:"rolled_back"`
	Errors     []struct {
		Line    int    `json:"line"`
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
	Encoding  string `json:"encoding"`
	Delimiter string `json:"delimiter"`
}

func (ca *contactAPI) importCSV(t *testing.T, host, token, kind, csv string, fields map[string]string, want int) importResult {
	t.Helper()
	res := ca.s.do(t, importRequest(t, host, token, kind, []byte(csv), false, fields))
	if res.Status != want {
		t.Fatalf("import %s: %d, want %d: %s", kind, res.Status, want, res.Body)
	}
	var out importResult
	res.decode(t, &out)
	return out
}

func (ca *contactAPI) contactCount(t *testing.T, host, token string) int {
	t.Helper()
	res := ca.s.do(t, request{Path: "/api/v1/contacts?limit=200", Host: host, Token: token})
	var pg struct {
		Items []map[string]any `json:"items"`
	}
	res.decode(t, &pg)
	return len(pg.Items)
}

func TestImportAPI(t *testing.T) {
	t.Parallel()
	ca := newContactAPI(t)
	csv := "Given;Family;Mail;Kommentar\r\nAnna;Meier;anna@example.ch;\"zwei\r\nZeilen\"\r\nBen;Bad;kein-mail;\r\nCara;Gut;cara@example.ch;\r\n"
	mapping := map[string]string{"mapping": `{"Given":"first_name","Family":"last_name","Mail":"email"}`}

	// The form fields may come before or after the file.
	res := ca.s.do(t, importRequest(t, "", ca.admin, "contacts", []byte(csv), true,
		map[string]string{"mapping": mapping["mapping"], "dry_run": "true", "mode": "skip_bad_rows"}))
	var dry importResult
	res.decode(t, &dry)
	if res.Status != http.StatusOK || !dry.DryRun || dry.Created != 2 || len(dry.Errors) != 1 || dry.Errors[0].Line != 4 ||
		dry.Errors[0].Field != "emails.0" || dry.Delimiter != ";" || dry.Encoding != "utf-8" {
		t.Fatalf("dry run: %d %s", res.Status, res.Body)
	}
	if n := ca.contactCount(t, "", ca.admin); n != 0 {
		t.Fatalf("dry run created %d", n)
	}

	all := ca.importCSV(t, "", ca.admin, "contacts", csv, mapping, http.StatusUnprocessableEntity)
	if !all.RolledBack || all.Created != 0 || len(all.Errors) != 1 {
		t.Errorf("all_or_nothing: %+v", all)
	}
	if n := ca.contactCount(t, "", ca.admin); n != 0 {
		t.Fatalf("all_or_nothing created %d", n)
	}
	skip := ca.importCSV(t, "", ca.admin, "contacts", csv,
		map[string]string{"mapping": mapping["mapping"], "mode": "skip_bad_rows"}, http.StatusOK)
	if skip.Created != 2 || len(skip.Errors) != 1 {
		t.Errorf("skip_bad_rows: %+v", skip)
	}
	if n := ca.contactCount(t, "", ca.admin); n != 2 {
		t.Fatalf("skip_bad_rows created %d", n)
	}
	entries := ca.s.auditEntries(t, "", ca.admin, "action=import.contacts")
	if len(entries) != 1 {
		t.Errorf("audit: %+v", entries)
	}

	// Bad requests.
	for name, sc := range map[string]struct {
		req  request
		want int
	}{
		"empty file":   {importRequest(t, "", ca.admin, "contacts", []byte{}, false, nil), 422},
		"no file":      {importRequest(t, "", ca.admin, "contacts", nil, false, map[string]string{"mode": "skip_bad_rows"}), 422},
		"bad mode":     {importRequest(t, "", ca.admin, "contacts", []byte("Name\nA\n"), false, map[string]string{"mode": "x"}), 422},
		"bad mapping":  {importRequest(t, "", ca.admin, "contacts", []byte("Name\nA\n"), false, map[string]string{"mapping": "[1]"}), 422},
		"unknown part": {importRequest(t, "", ca.admin, "contacts", []byte("Name\nA\n"), false, map[string]string{"x": "1"}), 422},
		"not multipart": {request{Method: "POST", Path: "/api/v1/imports/contacts", Token: ca.admin, Body: "Name\nA\n",
			ContentType: "text/csv"}, 422},
	} {
		res := ca.s.do(t, sc.req)
		if res.Status != sc.want {
			t.Errorf("%s: %d %s", name, res.Status, res.Body)
			continue
		}
		res.problem(t)
	}

	// Header only: nothing to do, no error.
	if r := ca.importCSV(t, "", ca.admin, "companies", "Firma;Ort\r\n", nil, http.StatusOK); r.Created != 0 || len(r.Errors) != 0 {
		t.Errorf("header only: %+v", r)
	}
}

func TestImportAPIPermissions(t *testing.T) {
	t.Parallel()
	ca := newContactAPI(t)
	e := ca.s.Env
	csv := "Vorname;Nachname\nA;B\n"
	// sales may export but not import (the route walker checks the rest).
	ca.importCSV(t, "", ca.sales, "contacts", csv, nil, http.StatusForbidden)
	// import:run without the records' write permission.
	role := customRole(t, e, "alpha", "Importeur", "import:run", "contacts:read", "companies:write")
	userWithRoles(t, e, "alpha", "imp@alpha.test", role.ID)
	tok := e.Login(t, "alpha", "imp@alpha.test").AccessToken
	ca.importCSV(t, "", tok, "contacts", csv, nil, http.StatusForbidden)
	if r := ca.importCSV(t, "", tok, "companies", "Firma\nImport AG\n", nil, http.StatusOK); r.Created != 1 {
		t.Errorf("companies: %+v", r)
	}
	// Export needs export:run, and the read permission.
	e.CreateUser(t, "alpha", "ro@alpha.test", auth.RoleKeyReadonly)
	roTok := e.Login(t, "alpha", "ro@alpha.test").AccessToken
	if res := ca.s.do(t, request{Path: "/api/v1/exports/contacts.csv", Token: roTok}); res.Status != http.StatusForbidden {
		t.Errorf("readonly export: %d", res.Status)
	}
	exp := customRole(t, e, "alpha", "Exporteur", "export:run", "companies:read")
	userWithRoles(t, e, "alpha", "exp@alpha.test", exp.ID)
	expTok := e.Login(t, "alpha", "exp@alpha.test").AccessToken
	if res := ca.s.do(t, request{Path: "/api/v1/exports/contacts.csv", Token: expTok}); res.Status != http.StatusForbidden {
		t.Errorf("export without contacts:read: %d %s", res.Status, res.Body)
	}
	if res := ca.s.do(t, request{Path: "/api/v1/exports/companies.csv", Token: expTok}); res.Status != http.StatusOK {
		t.Errorf("companies export: %d %s", res.Status, res.Body)
	}
}

// A 10 MB file travels through the import without the general body limit
// (64 KiB in tests) getting in the way.
func TestImportAPILargeFile(t *testing.T) {
	t.Parallel()
	ca := newContactAPI(t)
	var b strings.Builder
	b.WriteString("Vorname;Nachname;E-Mail;Bemerkung\r\n")
	filler := strings.Repeat("x", 10_000)
	rows := 0
	for b.Len() < 10<<20 {
		fmt.Fprintf(&b, "Vorname%d;Nachname%d;p%d@example.ch;%s\r\n", rows, rows, rows, filler)
		rows++
	}
	r := ca.importCSV(t, "", ca.admin, "contacts", b.String(), map[string]string{"dry_run": "true"}, http.StatusOK)
	if r.Created != rows || len(r.Errors) != 0 {
		t.Errorf("10 MB: created %d of %d, errors %+v", r.Created, rows, r.Errors)
	}
}

func TestExportAPI(t *testing.T) {
	t.Parallel()
	ca := newContactAPI(t)
	firm := ca.post(t, "", ca.admin, "/api/v1/companies", map[string]any{"name": "=Muster AG", "uid": "CHE-109.322.551"})
	ca.post(t, "", ca.admin, "/api/v1/contacts", map[string]any{
		"salutation": "Herr", "first_name": "=HYPERLINK(\"http://evil\")", "last_name": "Müller",
		"emails": []string{"hans@example.ch", "h2@example.ch"}, "phones": []string{"044 123 45 67", "079 765 43 21"},
		"company_id": firm["id"], "job_title": "@Chef", "birthday": "1970-12-31", "language": "fr",
		"address": map[string]any{"street": "Bahnhofstrasse 1\nPostfach", "postal_code": "8001", "city": "Zürich", "canton": "ZH"},
		"tags":    []string{"Kunde", "VIP"}})
	ca.post(t, "", ca.sales, "/api/v1/contacts", map[string]any{"first_name": "Sara", "last_name": "Sales"})
	ca.post(t, "beta.test", ca.betaAdmin, "/api/v1/contacts", map[string]any{"last_name": "Beta"})

	res := ca.s.do(t, request{Path: "/api/v1/exports/contacts.csv?sort=first_name", Token: ca.admin})
	if res.Status != http.StatusOK {
		t.Fatalf("export: %d %s", res.Status, res.Body)
	}
	today := time.Now().Format("2006-01-02")
	if cd := res.Header.Get("Content-Disposition"); !strings.Contains(cd, `filename="kontakte-`) || !strings.Contains(cd, ".csv") {
		t.Errorf("Content-Disposition = %q (today %s)", cd, today)
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	body := string(res.Body)
	if !strings.HasPrefix(body, "\uFEFFAnrede;Vorname;Nachname;E-Mail;") {
		t.Fatalf("no BOM or header: %q", body[:min(len(body), 80)])
	}
	for _, want := range []string{`"'=HYPERLINK(""http://evil"")"`, "'+41441234567; +41797654321", "'=Muster AG", "'@Chef",
		"31.12.1970", "\"Bahnhofstrasse 1\r\nPostfach\"", "Kunde, VIP", "hans@example.ch; h2@example.ch", "Sara;Sales"} {
		if !strings.Contains(body, want) {
			t.Errorf("export lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "Beta") {
		t.Errorf("export contains beta's contact")
	}
	if lines := strings.Count(body, "\r\n"); lines != 4 { // header, two rows, the quoted line break
		t.Errorf("%d lines:\n%s", lines, body)
	}
	// Filters as in the list; comma on request.
	res = ca.s.do(t, request{Path: "/api/v1/exports/contacts.csv?language=fr&delimiter=comma", Token: ca.admin})
	if body := string(res.Body); res.Status != 200 || !strings.HasPrefix(body, "\uFEFFAnrede,Vorname,") || strings.Contains(body, "Sara") {
		t.Errorf("filtered export: %d %s", res.Status, body)
	}
	if res := ca.s.do(t, request{Path: "/api/v1/exports/contacts.csv?delimiter=pipe", Token: ca.admin}); res.Status != 422 {
		t.Errorf("bad delimiter: %d", res.Status)
	}
	if len(ca.s.auditEntries(t, "", ca.admin, "action=export.contacts")) != 2 {
		t.Errorf("export not audited")
	}
	// Companies and deals.
	res = ca.s.do(t, request{Path: "/api/v1/exports/companies.csv", Token: ca.admin})
	if body := string(res.Body); res.Status != 200 || !strings.Contains(body, "'=Muster AG;CHE-109.322.551") ||
		!strings.Contains(res.Header.Get("Content-Disposition"), "firmen-") {
		t.Errorf("companies: %d %s", res.Status, body)
	}
	ca.post(t, "", ca.admin, "/api/v1/deals", map[string]any{"title": "Grossauftrag", "amount": "12500.50", "company_id": firm["id"]})
	res = ca.s.do(t, request{Path: "/api/v1/exports/deals.csv", Token: ca.admin})
	if body := string(res.Body); res.Status != 200 || !strings.Contains(body, "Grossauftrag;12500.50;CHF;Verkauf;Neu;open") ||
		!strings.Contains(body, "'=Muster AG") {
		t.Errorf("deals: %d %s", res.Status, body)
	}
}

func TestVCardAPI(t *testing.T) {
	t.Parallel()
	ca := newContactAPI(t)
	c := ca.post(t, "", ca.admin, "/api/v1/contacts", map[string]any{"first_name": "Hans", "last_name": "Müller",
		"emails": []string{"hans@example.ch"}, "phones": []string{"044 123 45 67"}, "birthday": "1970-04-12"})
	ca.post(t, "", ca.admin, "/api/v1/contacts", map[string]any{"first_name": "Anna", "last_name": "Meier"})
	res := ca.s.do(t, request{Path: "/api/v1/contacts/" + c["id"].(string) + "/vcard", Token: ca.sales})
	body := string(res.Body)
	if res.Status != 200 || res.Header.Get("Content-Type") != "text/vcard; charset=utf-8" ||
		!strings.Contains(body, "FN:Hans Müller\r\n") || !strings.Contains(body, "TEL;VALUE=uri:tel:+41441234567") ||
		!strings.Contains(body, "BDAY:19700412") {
		t.Errorf("vcard: %d %s", res.Status, body)
	}
	if res := ca.s.do(t, request{Path: "/api/v1/contacts/" + c["id"].(string) + "/vcard", Host: "beta.test", Token: ca.betaAdmin}); res.Status != 404 {
		t.Errorf("cross-tenant vcard: %d", res.Status)
	}
	res = ca.s.do(t, request{Path: "/api/v1/exports/contacts.vcf", Token: ca.admin})
	if n := strings.Count(string(res.Body), "BEGIN:VCARD"); res.Status != 200 || n != 2 ||
		!strings.Contains(res.Header.Get("Content-Disposition"), ".vcf") {
		t.Errorf("vcf export: %d, %d cards", res.Status, n)
	}
}

// Exporting contacts and importing the file into another tenant gives the
// same data, including the company link by name.
func TestExportImportRoundTrip(t *testing.T) {
	t.Parallel()
	ca := newContactAPI(t)
	firm := ca.post(t, "", ca.admin, "/api/v1/companies", map[string]any{"name": "Muster AG"})
	ca.post(t, "beta.test", ca.betaAdmin, "/api/v1/companies", map[string]any{"name": "muster ag"})
	in := []map[string]any{
		{"salutation": "Frau", "first_name": "Anna", "last_name": "Meier-Müller", "emails": []string{"anna@example.ch", "a2@example.ch"},
			"phones": []string{"+41 44 123 45 67", "+49 30 1234567"}, "job_title": "-Leiterin", "company_id": firm["id"],
			"address":  map[string]any{"street": "Rue du Lac 1\nc/o X", "postal_code": "1200", "city": "Genève", "canton": "GE", "country": "CH"},
			"language": "fr", "birthday": "1980-02-29", "tags": []string{"Kunde", "Ärzte; Zahnärzte"}},
		{"first_name": "Bruno", "last_name": "Nur", "address": map[string]any{"country": "DE", "postal_code": "10115", "city": "Berlin"}},
	}
	for _, c := range in {
		ca.post(t, "", ca.admin, "/api/v1/contacts", c)
	}
	res := ca.s.do(t, request{Path: "/api/v1/exports/contacts.csv", Token: ca.admin})
	if res.Status != 200 {
		t.Fatalf("export: %d %s", res.Status, res.Body)
	}
	// Tags with ';' or ',' in them cannot survive a list cell.
	exported := strings.ReplaceAll(string(res.Body), "Ärzte; Zahnärzte", "Ärzte")
	r := ca.importCSV(t, "beta.test", ca.betaAdmin, "contacts", exported, nil, http.StatusOK)
	if r.Created != 2 || len(r.Errors) != 0 || r.Encoding != "utf-8-bom" {
		t.Fatalf("import: %+v", r)
	}
	list := func(host, token string) []map[string]any {
		res := ca.s.do(t, request{Path: "/api/v1/contacts", Host: host, Token: token})
		var pg struct {
			Items []map[string]any `json:"items"`
		}
		res.decode(t, &pg)
		return pg.Items
	}
	a, b := list("", ca.admin), list("beta.test", ca.betaAdmin)
	if len(a) != 2 || len(b) != 2 {
		t.Fatalf("alpha %d, beta %d", len(a), len(b))
	}
	for i := range a {
		for _, k := range []string{"salutation", "first_name", "last_name", "emails", "phones", "job_title", "address", "language", "birthday"} {
			if fmt.Sprint(a[i][k]) != fmt.Sprint(b[i][k]) {
				t.Errorf("%s: alpha %v, beta %v", k, a[i][k], b[i][k])
			}
		}
	}
	if fmt.Sprint(b[0]["tags"]) != "[Kunde Ärzte]" {
		t.Errorf("tags: %v", b[0]["tags"])
	}
	if b[0]["company_id"] == nil || b[0]["company_id"] == a[0]["company_id"] {
		t.Errorf("company link: alpha %v, beta %v", a[0]["company_id"], b[0]["company_id"])
	}
}
