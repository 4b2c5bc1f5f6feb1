package web_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm/audit"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
	"github.com/rpcrm/rpcrm/internal/testfix"
	"github.com/rpcrm/rpcrm/postgres"
)

// recordSite is a site with an admin logged in on alpha and the CRM
// service for fixtures.
type recordSite struct {
	*site
	crm   *postgres.CRMService
	admin *browser
	adm   *auth.Principal
}

func newRecordSite(t *testing.T) *recordSite {
	t.Helper()
	s := newSite(t, false)
	rs := &recordSite{site: s, crm: &postgres.CRMService{DB: s.DB}}
	s.CreateUser(t, "alpha", "anna@alpha.test", "admin")
	rs.admin = rs.loggedIn(t, "alpha.test", "anna@alpha.test")
	rs.adm = rs.principal(t, "alpha", "anna@alpha.test")
	return rs
}

func (rs *recordSite) loggedIn(t *testing.T, host, email string) *browser {
	t.Helper()
	b := rs.browser(t, host)
	if resp, page := b.login(email, testfix.Password); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login %s: %d\n%s", email, resp.StatusCode, page)
	}
	return b
}

func (rs *recordSite) principal(t *testing.T, slug, email string) *auth.Principal {
	t.Helper()
	pair := rs.Login(t, slug, email)
	p, err := rs.Auth.Authenticate(context.Background(), rs.Ref(t, slug), pair.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// htmx sends a GET as htmx does, replacing the element with id target.
func (b *browser) htmx(path, target string) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.site.srv.URL+path, nil)
	req.Host = b.host
	req.Header.Set("HX-Request", "true")
	req.Header.Set("HX-Target", target)
	return b.send(req)
}

func (b *browser) send(req *http.Request) (*http.Response, string) {
	b.t.Helper()
	for _, c := range b.jar.Cookies(req.URL) {
		req.AddCookie(c)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	b.jar.SetCookies(req.URL, resp.Cookies())
	return resp, string(data)
}

// follow loads the page a 303 points to.
func (b *browser) follow(resp *http.Response) (*http.Response, string) {
	b.t.Helper()
	if resp.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("want a redirect, got %d", resp.StatusCode)
	}
	loc := resp.Header.Get("Location")
	loc, _, _ = strings.Cut(loc, "#")
	return b.do("GET", loc, nil)
}

func mustContain(t *testing.T, page string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(page, w) {
			t.Fatalf("page lacks %q:\n%s", w, page)
		}
	}
}

func wantResp(t *testing.T, resp *http.Response, page string, status int) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d\n%s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, status, page)
	}
}

var idInLocation = regexp.MustCompile(`/(?:companies|contacts)/([0-9a-f-]{36})`)

func locationID(t *testing.T, resp *http.Response) uuid.UUID {
	t.Helper()
	m := idInLocation.FindStringSubmatch(resp.Header.Get("Location"))
	if m == nil {
		t.Fatalf("no record ID in Location %q (status %d)", resp.Header.Get("Location"), resp.StatusCode)
	}
	return uuid.MustParse(m[1])
}

func ptr[T any](v T) *T { return &v }

func (rs *recordSite) company(t *testing.T, p *auth.Principal, name string) *crm.Company {
	t.Helper()
	c, err := rs.crm.CreateCompany(context.Background(), p, crm.CompanyInput{Name: &name}, auth.LoginMeta{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (rs *recordSite) contact(t *testing.T, p *auth.Principal, in crm.ContactInput) *crm.Contact {
	t.Helper()
	c, err := rs.crm.CreateContact(context.Background(), p, in, auth.LoginMeta{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCompanyListFormsAndDetail(t *testing.T) {
	rs := newRecordSite(t)
	b := rs.admin
	ctx := context.Background()
	if _, err := rs.crm.CreateCustomField(ctx, rs.adm, crm.CustomFieldInput{Entity: ptr(crm.EntityCompany), Key: ptr("mitarbeitende"),
		Label: ptr("Mitarbeitende"), Type: ptr(crm.FieldNumber)}, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}

	resp, page := b.do("GET", "/companies", nil)
	wantResp(t, resp, page, 200)
	mustContain(t, page, "Keine Firmen gefunden.", `id="company-q"`, `hx-trigger="submit, change, input changed delay:300ms from:#company-q"`)
	assertNoInlineCode(t, page)

	resp, page = b.do("GET", "/companies/new", nil)
	wantResp(t, resp, page, 200)
	mustContain(t, page, `id="company-form"`, `name="custom_fields.mitarbeitende"`, `<label for="f-address.postal_code">PLZ</label>`)
	assertNoInlineCode(t, page)

	// Validation: messages next to the fields, the input kept.
	resp, page = b.post("/companies", url.Values{"name": {""}, "email": {"nicht-gültig"}, "address.postal_code": {"80"},
		"address.country": {"CH"}, "custom_fields.mitarbeitende": {"viele"}, "industry": {"Uhren"}})
	wantResp(t, resp, page, http.StatusUnprocessableEntity)
	mustContain(t, page, `id="f-custom_fields.mitarbeitende-error"`, `value="Uhren"`)
	resp, page = b.post("/companies", url.Values{"name": {""}, "email": {"nicht-gültig"}, "address.postal_code": {"80"},
		"address.country": {"CH"}, "industry": {"Uhren"}})
	wantResp(t, resp, page, http.StatusUnprocessableEntity)
	mustContain(t, page, `<p class="field-error" id="f-name-error">Der Name fehlt.</p>`,
		`id="f-email-error">Die E-Mail-Adresse ist ungültig.`, `id="f-address.postal_code-error">Eine Schweizer Postleitzahl hat vier Ziffern.`,
		`value="Uhren"`, "Bitte korrigieren Sie die markierten Felder.")
	assertNoInlineCode(t, page)

	resp, page = b.post("/companies", url.Values{"name": {"Müller Uhren AG"}, "email": {"Info@Mueller-Uhren.ch"},
		"phone": {"044 123 45 67"}, "website": {"mueller-uhren.ch"}, "uid": {"CHE-116.281.710"}, "industry": {"Uhren"},
		"address.street": {"Bahnhofstrasse 1"}, "address.postal_code": {"8001"}, "address.city": {"Zürich"},
		"address.canton": {"zh"}, "address.country": {"CH"}, "tags": {"VIP, Uhren"}, "owner_id": {rs.adm.UserID.String()},
		"custom_fields.mitarbeitende": {"1'250"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d\n%s", resp.StatusCode, page)
	}
	id := locationID(t, resp)
	resp, page = b.follow(resp)
	wantResp(t, resp, page, 200)
	mustContain(t, page, "Gespeichert.", "<h1>Müller Uhren AG</h1>", "&#43;41 44 123 45 67", "info@mueller-uhren.ch",
		"Bahnhofstrasse 1", "8001 Zürich ZH", `class="tag" href="/companies?tag=VIP"`, "<dt>Mitarbeitende</dt><dd>1&#39;250</dd>",
		"CHE-116.281.710", `id="activity-form"`, `id="document-form"`, `id="timeline"`, "Erstellt")
	assertNoInlineCode(t, page)

	// Edit: the form is filled in; a stale version is refused.
	resp, page = b.do("GET", "/companies/"+id.String()+"/edit", nil)
	wantResp(t, resp, page, 200)
	mustContain(t, page, `value="Müller Uhren AG"`, `value="VIP, Uhren"`, `name="version" value="1"`, `value="1250"`)
	form := url.Values{"name": {"Müller Uhren & Co. AG"}, "version": {"1"}, "address.country": {"CH"}, "tags": {"VIP"}}
	resp, page = b.post("/companies/"+id.String(), form)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("update: %d\n%s", resp.StatusCode, page)
	}
	resp, page = b.post("/companies/"+id.String(), form)
	wantResp(t, resp, page, http.StatusPreconditionFailed)
	mustContain(t, page, "inzwischen geändert", `value="Müller Uhren &amp; Co. AG"`)

	// The timeline shows the changes.
	_, page = b.do("GET", "/companies/"+id.String(), nil)
	mustContain(t, page, "Geändert", "Erstellt")

	// List: live search fragment, sort, "more" by cursor.
	for i := range 52 {
		rs.company(t, rs.adm, fmt.Sprintf("Firma %02d", i))
	}
	resp, page = b.do("GET", "/companies?sort=name", nil)
	wantResp(t, resp, page, 200)
	mustContain(t, page, `aria-sort="ascending"`, `id="company-more"`, `hx-target="#company-more"`, "Firma 00")
	if strings.Contains(page, "Müller Uhren") {
		t.Fatal("the first page of 50 should end before M")
	}
	m := regexp.MustCompile(`<tr id="company-more" class="more"><td colspan="8"><a href="([^"]+)" hx-get="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no more link:\n%s", page)
	}
	next := strings.ReplaceAll(m[2], "&amp;", "&")
	resp, page = b.htmx(next, "company-more")
	wantResp(t, resp, page, 200)
	if strings.Contains(page, "<html") || !strings.Contains(page, "Müller Uhren &amp; Co. AG") || !strings.Contains(page, "Firma 51") {
		t.Fatalf("more rows fragment:\n%s", page)
	}
	resp, page = b.do("GET", strings.ReplaceAll(m[1], "&amp;", "&"), nil) // without JavaScript: the next page
	wantResp(t, resp, page, 200)
	mustContain(t, page, "Müller Uhren &amp; Co. AG", "<html")

	resp, page = b.htmx("/companies?q=m%C3%BCller", "company-results")
	wantResp(t, resp, page, 200)
	if strings.Contains(page, "<html") || !strings.HasPrefix(strings.TrimSpace(page), `<div id="company-results"`) ||
		!strings.Contains(page, "Müller Uhren") || strings.Contains(page, "Firma 01") {
		t.Fatalf("live search fragment:\n%s", page)
	}
	_, page = b.do("GET", "/companies?sort=-name&tag=VIP", nil)
	mustContain(t, page, `aria-sort="descending"`, "Müller Uhren", `/companies/export.csv?sort=-name&amp;tag=VIP`)
	if strings.Contains(page, "Firma 01") {
		t.Fatal("tag filter ignored")
	}
	// A sort the service does not offer falls back to the default.
	resp, page = b.do("GET", "/companies?sort=uid", nil)
	wantResp(t, resp, page, 200)
	mustContain(t, page, `aria-sort="ascending"><a href="/companies?sort=-name"`)
}

func TestContactFormsDetailAndQuickActions(t *testing.T) {
	rs := newRecordSite(t)
	b := rs.admin
	co := rs.company(t, rs.adm, "Keller Treuhand AG")
	rs.company(t, rs.adm, "Doppel AG")
	rs.company(t, rs.adm, "Doppel AG")
	ctx := context.Background()
	if _, err := rs.crm.CreateCustomField(ctx, rs.adm, crm.CustomFieldInput{Entity: ptr(crm.EntityContact), Key: ptr("kanal"),
		Label: ptr("Kanal"), Type: ptr(crm.FieldMulti), Options: &[]string{"Telefon", "Post"}}, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}

	resp, page := b.do("GET", "/contacts/new?company_id="+co.ID.String(), nil)
	wantResp(t, resp, page, 200)
	mustContain(t, page, `id="contact-form"`, `value="Keller Treuhand AG"`, `name="custom_fields.kanal" value="Telefon"`,
		`hx-get="/contacts/company-options"`)
	assertNoInlineCode(t, page)

	// Errors: the second e-mail address, the unknown and the ambiguous company.
	base := url.Values{"first_name": {"Hans"}, "last_name": {"Müller"}, "language": {"de"}, "address.country": {"CH"}}
	f := cloneForm(base)
	f.Set("emails", "hans@keller.ch\nkein-mail\n")
	f.Set("company", "Unbekannt AG")
	resp, page = b.post("/contacts", f)
	wantResp(t, resp, page, http.StatusUnprocessableEntity)
	mustContain(t, page, `id="f-company-error">Keine Firma mit diesem Namen gefunden.`, `value="Hans"`)
	f.Set("company", "Doppel AG")
	resp, page = b.post("/contacts", f)
	wantResp(t, resp, page, http.StatusUnprocessableEntity)
	mustContain(t, page, `id="f-company-error">Mehrere Firmen heissen so.`)
	f.Set("company", "keller treuhand ag")
	resp, page = b.post("/contacts", f)
	wantResp(t, resp, page, http.StatusUnprocessableEntity)
	mustContain(t, page, `id="f-emails-error">Zeile 2: Die E-Mail-Adresse ist ungültig.`, "hans@keller.ch\nkein-mail")

	f = cloneForm(base)
	f.Set("salutation", "Herr")
	f.Set("emails", "Hans@Keller.ch\r\nhans.mueller@gmail.com")
	f.Set("phones", "044 123 45 67\n079 555 66 77")
	f.Set("company", "Keller Treuhand AG")
	f.Set("company_id", co.ID.String())
	f.Set("job_title", "Treuhänder")
	f.Set("birthday", "1970-03-15")
	f.Set("consent", "true")
	f.Set("consent_source", "Messe Basel 2026")
	f.Set("tags", "Kunde")
	f["custom_fields.kanal"] = []string{"Post"}
	resp, page = b.post("/contacts", f)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create contact: %d\n%s", resp.StatusCode, page)
	}
	id := locationID(t, resp)
	resp, page = b.follow(resp)
	wantResp(t, resp, page, 200)
	mustContain(t, page, "Hans Müller", `<a href="/companies/`+co.ID.String()+`">Keller Treuhand AG</a>`, "hans@keller.ch",
		"hans.mueller@gmail.com", "&#43;41 44 123 45 67", "&#43;41 79 555 66 77", "Treuhänder", "15.03.1970",
		"Erteilt am", "(Messe Basel 2026)", "<dt>Kanal</dt><dd>Post</dd>", `name="company_id" value="`+co.ID.String()+`"`)
	assertNoInlineCode(t, page)

	// The company's page lists the contact.
	_, page = b.do("GET", "/companies/"+co.ID.String(), nil)
	mustContain(t, page, `<a href="/contacts/`+id.String()+`">Hans Müller</a>`)

	// Edit keeps everything; clearing the company works.
	resp, page = b.do("GET", "/contacts/"+id.String()+"/edit", nil)
	wantResp(t, resp, page, 200)
	mustContain(t, page, "hans@keller.ch\nhans.mueller@gmail.com", "&#43;41 44 123 45 67\n&#43;41 79 555 66 77",
		`value="Keller Treuhand AG"`, `value="1970-03-15"`, `name="consent" type="checkbox" value="true" checked`)

	// Quick actions: a call, then a task with due date and assignee;
	// a missing subject comes back next to the field on the contact's page.
	back := "/contacts/" + id.String()
	resp, page = b.post("/activities", url.Values{"kind": {"call"}, "subject": {"Offerte besprochen"}, "body": {"Ruft **morgen** zurück."},
		"contact_id": {id.String()}, "company_id": {co.ID.String()}, "record": {"contact"}, "back": {back}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != back+"#timeline" {
		t.Fatalf("log a call: %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), page)
	}
	resp, page = b.post("/activities", url.Values{"kind": {"task"}, "subject": {"Vertrag senden"}, "due_date": {"2030-12-31"},
		"due_time": {"14:30"}, "assignee_id": {rs.adm.UserID.String()}, "contact_id": {id.String()}, "record": {"contact"},
		"back": {"//evil.example/"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != back+"#timeline" {
		t.Fatalf("add a task (back must stay local): %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, page = b.follow(resp)
	mustContain(t, page, "Aufgabe erstellt.", "Offerte besprochen", "<strong>morgen</strong>", "Vertrag senden",
		"Fällig 31.12.2030 14:30", "Zuständig: Test anna@alpha.test", `<span class="badge">Anruf</span>`)
	resp, page = b.post("/activities", url.Values{"kind": {"note"}, "subject": {" "}, "body": {"Text bleibt"},
		"contact_id": {id.String()}, "record": {"contact"}})
	wantResp(t, resp, page, http.StatusUnprocessableEntity)
	mustContain(t, page, `id="f-subject-error">Der Betreff fehlt.`, ">Text bleibt</textarea>", "<h1>")
	resp, page = b.post("/activities", url.Values{"kind": {"task"}, "subject": {"x"}, "due_date": {"31.12.2030"},
		"contact_id": {id.String()}, "record": {"contact"}})
	wantResp(t, resp, page, http.StatusUnprocessableEntity)
	mustContain(t, page, `id="f-due_date-error"`)
	// The company's timeline has the call too (linked to both).
	_, page = b.do("GET", "/companies/"+co.ID.String(), nil)
	mustContain(t, page, "Offerte besprochen")

	// vCard of one contact.
	resp, page = b.do("GET", "/contacts/"+id.String()+"/vcard", nil)
	wantResp(t, resp, page, 200)
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/vcard") || !strings.Contains(page, "FN:Hans Müller") ||
		!strings.Contains(page, "ORG:Keller Treuhand AG") {
		t.Fatalf("vcard: %s\n%s", resp.Header.Get("Content-Type"), page)
	}

	// Timeline paging: "more" as htmx fragment and as a plain link.
	for i := range 25 {
		if _, err := rs.crm.CreateActivity(ctx, rs.adm, crm.ActivityInput{Kind: ptr("note"), Subject: ptr(fmt.Sprintf("Notiz %02d", i)),
			ContactID: crm.Clearable{Set: true, Value: id.String()}}, auth.LoginMeta{}); err != nil {
			t.Fatal(err)
		}
	}
	_, page = b.do("GET", back, nil)
	m := regexp.MustCompile(`<li class="more"><a href="([^"]+)" hx-get="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no timeline more link:\n%s", page)
	}
	resp, frag := b.htmx(strings.ReplaceAll(m[2], "&amp;", "&"), "")
	wantResp(t, resp, frag, 200)
	if strings.Contains(frag, "<html") || !strings.Contains(frag, `<li class="tl`) || !strings.Contains(frag, "Offerte besprochen") {
		t.Fatalf("timeline fragment:\n%s", frag)
	}
	resp, page = b.do("GET", strings.ReplaceAll(m[1], "&amp;", "&"), nil)
	wantResp(t, resp, page, 200)
	mustContain(t, page, "Offerte besprochen")
}

func cloneForm(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

func TestDocumentsUploadDownloadDelete(t *testing.T) {
	rs := newRecordSite(t)
	b := rs.admin
	co := rs.company(t, rs.adm, "Dokumente AG")
	page0 := "/companies/" + co.ID.String()
	b.do("GET", page0, nil)

	content := []byte("%PDF-1.4\nOfferte\n")
	resp, page := b.upload("/documents", map[string]string{"company_id": co.ID.String(), "record": "company", "back": page0}, "file",
		"Offerte Müller \"2026\".pdf", content)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != page0+"#documents" {
		t.Fatalf("upload: %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), page)
	}
	resp, page = b.follow(resp)
	mustContain(t, page, "«Offerte Müller &#34;2026&#34;.pdf» hochgeladen.", `download hx-boost="false">Offerte Müller &#34;2026&#34;.pdf</a>`,
		"17 Bytes")
	m := regexp.MustCompile(`href="/documents/([0-9a-f-]{36})"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no download link")
	}
	doc := m[1]

	resp, got := b.do("GET", "/documents/"+doc, nil)
	wantResp(t, resp, got, 200)
	h := resp.Header
	if got != string(content) || h.Get("Content-Type") != "application/pdf" || h.Get("X-Content-Type-Options") != "nosniff" ||
		h.Get("Content-Disposition") != `attachment; filename="Offerte M_ller _2026_.pdf"; filename*=UTF-8''Offerte%20M%C3%BCller%20%222026%22.pdf` ||
		!strings.Contains(h.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("download: %q %v", got, h)
	}

	// No file chosen: the message next to the file field.
	resp, page = b.upload("/documents", map[string]string{"company_id": co.ID.String(), "record": "company"}, "", "", nil)
	wantResp(t, resp, page, http.StatusUnprocessableEntity)
	mustContain(t, page, `id="f-file-error">Bitte wählen Sie eine Datei.`)
	// Too large (the test site allows 1 MiB): the 413 page.
	resp, page = b.upload("/documents", map[string]string{"company_id": co.ID.String()}, "file", "gross.bin", bytes.Repeat([]byte("x"), 1<<20+1))
	wantResp(t, resp, page, http.StatusRequestEntityTooLarge)
	mustContain(t, page, "Die Datei ist zu gross.")
	// Without the token nothing is stored.
	req, _ := http.NewRequest("POST", b.site.srv.URL+"/documents", strings.NewReader("--x--\r\n"))
	req.Host = b.host
	req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
	if resp, _ := b.send(req); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("upload without CSRF token: %d", resp.StatusCode)
	}

	// Delete → trash with undo; the undo restores it.
	resp, page = b.post("/documents/"+doc+"/delete", url.Values{"back": {page0}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete document: %d\n%s", resp.StatusCode, page)
	}
	resp, page = b.follow(resp)
	mustContain(t, page, "in den Papierkorb verschoben.", `action="/documents/`+doc+`/restore"`, "Noch keine Dokumente.")
	if resp, _ := b.do("GET", "/documents/"+doc, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("download of a trashed document: %d", resp.StatusCode)
	}
	resp, page = b.post("/documents/"+doc+"/restore", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != page0+"#documents" {
		t.Fatalf("restore document: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page = b.follow(resp)
	mustContain(t, page, "wiederhergestellt", `href="/documents/`+doc+`"`)

	// Another tenant's user cannot download it.
	rs.CreateUser(t, "beta", "bob@beta.test", "admin")
	other := rs.loggedIn(t, "beta.test", "bob@beta.test")
	if resp, _ := other.do("GET", "/documents/"+doc, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("beta downloads alpha's document: %d", resp.StatusCode)
	}
}

func TestTrashUndoAndPurge(t *testing.T) {
	rs := newRecordSite(t)
	b := rs.admin
	c := rs.contact(t, rs.adm, crm.ContactInput{FirstName: ptr("Vreni"), LastName: ptr("Tanner")})
	b.do("GET", "/contacts", nil)

	resp, page := b.post("/contacts/"+c.ID.String()+"/delete", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/contacts" {
		t.Fatalf("delete: %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), page)
	}
	resp, page = b.follow(resp)
	mustContain(t, page, `role="status"`, "«Vreni Tanner» in den Papierkorb verschoben.",
		`<form method="post" action="/contacts/`+c.ID.String()+`/restore" class="inline">`, "Keine Personen gefunden.")
	if resp, _ := b.do("GET", "/contacts/"+c.ID.String(), nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("trashed contact's page: %d", resp.StatusCode)
	}
	resp, page = b.do("GET", "/contacts/trash", nil)
	wantResp(t, resp, page, 200)
	mustContain(t, page, "Tanner", `action="/contacts/`+c.ID.String()+`/purge"`)
	assertNoInlineCode(t, page)

	// Undo.
	resp, _ = b.post("/contacts/"+c.ID.String()+"/restore", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/contacts/"+c.ID.String() {
		t.Fatalf("restore: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page = b.follow(resp)
	mustContain(t, page, "«Vreni Tanner» wiederhergestellt.", "<h1>Vreni Tanner</h1>")

	// Purge from the trash.
	co := rs.company(t, rs.adm, "Weg AG")
	b.post("/companies/"+co.ID.String()+"/delete", nil)
	resp, page = b.do("GET", "/companies/trash", nil)
	mustContain(t, page, "Weg AG")
	resp, _ = b.post("/companies/"+co.ID.String()+"/purge", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/companies/trash" {
		t.Fatalf("purge: %d", resp.StatusCode)
	}
	_, page = b.follow(resp)
	mustContain(t, page, "Endgültig gelöscht.", "Der Papierkorb ist leer.")
}

func TestRecordPermissionsTenantsAndCSRF(t *testing.T) {
	rs := newRecordSite(t)
	ctx := context.Background()
	sys := rs.System(t, "alpha")
	// A custom role that reads only its own contacts and companies.
	role, err := rs.Auth.CreateRole(ctx, sys, auth.RoleInput{Name: "Eigene", Permissions: []string{"contacts:read:own",
		"companies:read:own", "contacts:write:own"}}, auth.LoginMeta{})
	if err != nil {
		t.Fatal(err)
	}
	own, err := rs.Auth.CreateUser(ctx, sys, auth.NewUser{Email: "olga@alpha.test", Name: "Olga", Password: testfix.Password,
		RoleIDs: []uuid.UUID{role.ID}}, auth.LoginMeta{})
	if err != nil {
		t.Fatal(err)
	}
	rs.CreateUser(t, "alpha", "rita@alpha.test", "readonly")
	colleague := rs.contact(t, rs.adm, crm.ContactInput{FirstName: ptr("Peter"), LastName: ptr("Kollege")})
	mine := rs.contact(t, rs.adm, crm.ContactInput{FirstName: ptr("Olgas"), LastName: ptr("Kundin"), OwnerID: &own.ID})

	ob := rs.loggedIn(t, "alpha.test", "olga@alpha.test")
	if resp, page := ob.do("GET", "/contacts/"+colleague.ID.String(), nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("own scope opens a colleague's contact: %d\n%s", resp.StatusCode, page)
	}
	resp, page := ob.do("GET", "/contacts/"+mine.ID.String(), nil)
	wantResp(t, resp, page, 200)
	if strings.Contains(page, `id="activity-form"`) || strings.Contains(page, `id="document-form"`) {
		t.Fatal("quick actions shown without activities:write / documents:write")
	}
	_, page = ob.do("GET", "/contacts", nil)
	if strings.Contains(page, "Kollege") || !strings.Contains(page, "Kundin") {
		t.Fatalf("own-scope list:\n%s", page)
	}
	if strings.Contains(page, "export.csv") {
		t.Fatal("export offered without export:run")
	}
	for _, path := range []string{"/contacts/export.csv", "/contacts/trash", "/deals-nope"} {
		resp, _ := ob.do("GET", path, nil)
		if want := map[bool]int{true: 404, false: 403}[path == "/deals-nope"]; resp.StatusCode != want {
			t.Fatalf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
	// A search by an own-scope user finds only their records.
	_, page = ob.do("GET", "/search?q=Kollege", nil)
	mustContain(t, page, "Nichts gefunden")

	rb := rs.loggedIn(t, "alpha.test", "rita@alpha.test")
	for _, path := range []string{"/companies/new", "/contacts/new", "/contacts/" + mine.ID.String() + "/edit"} {
		if resp, _ := rb.do("GET", path, nil); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("readonly GET %s: %d", path, resp.StatusCode)
		}
	}
	for _, path := range []string{"/companies", "/contacts/" + mine.ID.String() + "/delete", "/activities", "/documents/" + uuid.NewString() + "/delete"} {
		if resp, _ := rb.post(path, url.Values{"name": {"X"}}); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("readonly POST %s: %d", path, resp.StatusCode)
		}
	}

	// Another tenant's record URL is not found.
	rs.CreateUser(t, "beta", "bob@beta.test", "admin")
	bb := rs.loggedIn(t, "beta.test", "bob@beta.test")
	co := rs.company(t, rs.adm, "Alpha Geheim AG")
	for _, path := range []string{"/contacts/" + mine.ID.String(), "/companies/" + co.ID.String(), "/companies/" + co.ID.String() + "/edit",
		"/companies/not-a-uuid"} {
		if resp, _ := bb.do("GET", path, nil); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("beta GET %s: %d", path, resp.StatusCode)
		}
	}
	if resp, _ := bb.htmx("/timeline/company/"+co.ID.String(), "x"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("beta loads alpha's timeline: %d", resp.StatusCode)
	}
	bb.do("GET", "/companies", nil)
	if resp, _ := bb.post("/companies/"+co.ID.String()+"/delete", nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("beta deletes alpha's company: %d", resp.StatusCode)
	}
	if resp, _ := bb.post("/activities", url.Values{"kind": {"note"}, "subject": {"x"}, "company_id": {co.ID.String()}}); resp.StatusCode == http.StatusSeeOther {
		t.Fatal("beta adds a note to alpha's company")
	}
	if _, err := rs.crm.Company(ctx, rs.adm, co.ID); err != nil {
		t.Fatalf("alpha's company after beta's attempts: %v", err)
	}

	// CSRF: every form post needs the token.
	b := rs.admin
	for _, path := range []string{"/companies", "/contacts", "/companies/" + co.ID.String() + "/delete", "/activities"} {
		if resp, _ := b.do("POST", path, url.Values{"name": {"Ohne Token"}, "last_name": {"x"}}); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("POST %s without token: %d", path, resp.StatusCode)
		}
	}
	if _, err := rs.crm.Company(ctx, rs.adm, co.ID); err != nil {
		t.Fatalf("company deleted without token: %v", err)
	}
}

func TestExportsCSVAndVCard(t *testing.T) {
	rs := newRecordSite(t)
	b := rs.admin
	co := rs.company(t, rs.adm, "=HYPERLINK(\"http://evil\")")
	rs.contact(t, rs.adm, crm.ContactInput{FirstName: ptr("Anna"), LastName: ptr("Zürcher"), CompanyID: crm.NullID{Set: true, ID: &co.ID},
		Phones: &[]string{"044 123 45 67"}, Tags: &[]string{"Export"}})
	rs.contact(t, rs.adm, crm.ContactInput{FirstName: ptr("Beat"), LastName: ptr("Andere")})

	resp, page := b.do("GET", "/contacts?tag=Export", nil)
	mustContain(t, page, `href="/contacts/export.csv?tag=Export"`, `href="/contacts/export.vcf?tag=Export"`)
	resp, body := b.do("GET", "/contacts/export.csv?tag=Export", nil)
	wantResp(t, resp, body, 200)
	if !strings.HasPrefix(body, "\uFEFFAnrede;Vorname;Nachname;") || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), `attachment; filename="kontakte-`) {
		t.Fatalf("contacts CSV: %v\n%s", resp.Header, body)
	}
	mustContain(t, body, ";Anna;Zürcher;", "'+41441234567", `"'=HYPERLINK(""http://evil"")"`)
	if strings.Contains(body, "Andere") {
		t.Fatal("the export ignores the list's filter")
	}
	resp, body = b.do("GET", "/companies/export.csv?delimiter=comma", nil)
	wantResp(t, resp, body, 200)
	if !strings.HasPrefix(body, "\uFEFFFirma,UID,") || !strings.Contains(body, `"'=HYPERLINK(""http://evil"")"`) {
		t.Fatalf("companies CSV with commas:\n%s", body)
	}
	resp, body = b.do("GET", "/contacts/export.vcf", nil)
	wantResp(t, resp, body, 200)
	if strings.Count(body, "BEGIN:VCARD") != 2 || !strings.Contains(body, "FN:Anna Zürcher") {
		t.Fatalf("vCard export:\n%s", body)
	}
	// Each export is in the audit log.
	entries, err := (&postgres.AuditService{DB: rs.DB}).List(context.Background(), rs.adm, audit.Filter{Action: "export.contacts"})
	if err != nil || len(entries) != 2 {
		t.Fatalf("audit entries of contact exports: %d, %v", len(entries), err)
	}
}

func TestSearchPageAndLiveResults(t *testing.T) {
	rs := newRecordSite(t)
	b := rs.admin
	co := rs.company(t, rs.adm, "Bäckerei Müller GmbH")
	c := rs.contact(t, rs.adm, crm.ContactInput{FirstName: ptr("Hans"), LastName: ptr("Müller"), Emails: &[]string{"hans@example.ch"}})

	resp, page := b.do("GET", "/search", nil)
	wantResp(t, resp, page, 200)
	mustContain(t, page, "Suchen Sie nach Firmen")
	assertNoInlineCode(t, page)

	resp, page = b.do("GET", "/search?q=muller", nil)
	wantResp(t, resp, page, 200)
	mustContain(t, page, `<a href="/contacts/`+c.ID.String()+`">Hans Müller</a>`, `<a href="/companies/`+co.ID.String()+`">Bäckerei Müller GmbH</a>`,
		`<h2 id="sg-company">Firmen`, `<h2 id="sg-contact">Personen`, `id="q" name="q" type="search"`, `value="muller"`)
	assertNoInlineCode(t, page)

	resp, page = b.htmx("/search?q=mull", "search-suggest")
	wantResp(t, resp, page, 200)
	if strings.Contains(page, "<html") || !strings.Contains(page, "Hans Müller") || !strings.Contains(page, `href="/search?q=mull"`) {
		t.Fatalf("live results:\n%s", page)
	}
	_, page = b.do("GET", "/search?q=zzzzqqq", nil)
	mustContain(t, page, "Nichts gefunden für «zzzzqqq».")
	_, page = b.do("GET", "/search?q="+strings.Repeat("x", 201), nil)
	mustContain(t, page, "zu lang")
	if _, page := b.htmx("/search?q=", "search-suggest"); strings.TrimSpace(page) != "" {
		t.Fatalf("empty query's live results: %q", page)
	}
}
