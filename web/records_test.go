package web_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"

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

// token is the browser's CSRF token (the cookie forms must echo).
func (b *browser) token() string {
	u, _ := url.Parse(b.site.srv.URL)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == "rpcrm_csrf" {
			return c.Value
		}
	}
	b.t.Fatal("no CSRF cookie; load a page first")
	return ""
}

// post sends a form with the CSRF token.
func (b *browser) post(path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf_token", b.token())
	return b.do("POST", path, form)
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

// upload posts a file as multipart/form-data with the given fields.
func (b *browser) upload(path string, fields map[string]string, name string, content []byte) (*http.Response, string) {
	b.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("csrf_token", b.token())
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	if name != "" {
		fw, _ := mw.CreateFormFile("file", name)
		_, _ = fw.Write(content)
	}
	_ = mw.Close()
	req, _ := http.NewRequest("POST", b.site.srv.URL+path, &body)
	req.Host = b.host
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return b.send(req)
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

func wantStatus(t *testing.T, resp *http.Response, page string, status int) {
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
	wantStatus(t, resp, page, 200)
	mustContain(t, page, "Keine Firmen gefunden.", `id="company-q"`, `hx-trigger="submit, change, input changed delay:300ms from:#company-q"`)
	assertNoInlineCode(t, page)

	resp, page = b.do("GET", "/companies/new", nil)
	wantStatus(t, resp, page, 200)
	mustContain(t, page, `id="company-form"`, `name="custom_fields.mitarbeitende"`, `<label for="f-address.postal_code">PLZ</label>`)
	assertNoInlineCode(t, page)

	// Validation: messages next to the fields, the input kept.
	resp, page = b.post("/companies", url.Values{"name": {""}, "email": {"nicht-gültig"}, "address.postal_code": {"80"},
		"address.country": {"CH"}, "custom_fields.mitarbeitende": {"viele"}, "industry": {"Uhren"}})
	wantStatus(t, resp, page, http.StatusUnprocessableEntity)
	mustContain(t, page, `id="f-custom_fields.mitarbeitende-error"`, `value="Uhren"`)
	resp, page = b.post("/companies", url.Values{"name": {""}, "email": {"nicht-gültig"}, "address.postal_code": {"80"},
		"address.country": {"CH"}, "industry": {"Uhren"}})
	wantStatus(t, resp, page, http.StatusUnprocessableEntity)
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
	wantStatus(t, resp, page, 200)
	mustContain(t, page, "Gespeichert.", "<h1>Müller Uhren AG</h1>", "&#43;41 44 123 45 67", "info@mueller-uhren.ch",
		"Bahnhofstrasse 1", "8001 Zürich ZH", `class="tag" href="/companies?tag=VIP"`, "<dt>Mitarbeitende</dt><dd>1&#39;250</dd>",
		"CHE-116.281.710", `id="activity-form"`, `id="document-form"`, `id="timeline"`, "Erstellt")
	assertNoInlineCode(t, page)

	// Edit: the form is filled in; a stale version is refused.
	resp, page = b.do("GET", "/companies/"+id.String()+"/edit", nil)
	wantStatus(t, resp, page, 200)
	mustContain(t, page, `value="Müller Uhren AG"`, `value="VIP, Uhren"`, `name="version" value="1"`, `value="1250"`)
	form := url.Values{"name": {"Müller Uhren & Co. AG"}, "version": {"1"}, "address.country": {"CH"}, "tags": {"VIP"}}
	resp, page = b.post("/companies/"+id.String(), form)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("update: %d\n%s", resp.StatusCode, page)
	}
	resp, page = b.post("/companies/"+id.String(), form)
	wantStatus(t, resp, page, http.StatusPreconditionFailed)
	mustContain(t, page, "inzwischen geändert", `value="Müller Uhren &amp; Co. AG"`)

	// The timeline shows the changes.
	_, page = b.do("GET", "/companies/"+id.String(), nil)
	mustContain(t, page, "Geändert", "Erstellt")

	// List: live search fragment, sort, "more" by cursor.
	for i := range 52 {
		rs.company(t, rs.adm, fmt.Sprintf("Firma %02d", i))
	}
	resp, page = b.do("GET", "/companies?sort=name", nil)
	wantStatus(t, resp, page, 200)
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
	wantStatus(t, resp, page, 200)
	if strings.Contains(page, "<html") || !strings.Contains(page, "Müller Uhren &amp; Co. AG") || !strings.Contains(page, "Firma 51") {
		t.Fatalf("more rows fragment:\n%s", page)
	}
	resp, page = b.do("GET", strings.ReplaceAll(m[1], "&amp;", "&"), nil) // without JavaScript: the next page
	wantStatus(t, resp, page, 200)
	mustContain(t, page, "Müller Uhren &amp; Co. AG", "<html")

	resp, page = b.htmx("/companies?q=m%C3%BCller", "company-results")
	wantStatus(t, resp, page, 200)
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
	wantStatus(t, resp, page, 200)
	mustContain(t, page, `aria-sort="ascending"><a href="/companies?sort=-name"`)
}
