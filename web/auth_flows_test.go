package web_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/rpcrm/rpcrm/audit"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
	"github.com/rpcrm/rpcrm/internal/testfix"
	"github.com/rpcrm/rpcrm/postgres"
)

// ---- helpers of the account, settings, audit and import tests ----

// loggedIn creates a user with the given roles in the tenant of host and
// returns a browser logged in as them.
func (s *site) loggedIn(t testing.TB, host, email string, roles ...string) *browser {
	t.Helper()
	slug := strings.TrimSuffix(host, ".test")
	s.CreateUser(t, slug, email, roles...)
	b := s.browser(t, host)
	if resp, page := b.login(email, testfix.Password); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login %s: %d\n%s", email, resp.StatusCode, page)
	}
	return b
}

// csrf returns the browser's form token (the cookie's value).
func (b *browser) csrf() string {
	u, _ := url.Parse(b.site.srv.URL)
	for _, c := range b.jar.Cookies(u) {
		if strings.HasSuffix(c.Name, "rpcrm_csrf") {
			return c.Value
		}
	}
	_, page := b.do("GET", "/profile", nil)
	return csrfOf(b.t, page)
}

// post sends a form with the CSRF token.
func (b *browser) post(path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf_token", b.csrf())
	return b.do("POST", path, form)
}

// upload sends a multipart form with one file and the CSRF token.
func (b *browser) upload(path string, fields map[string]string, fileField, fileName string, data []byte) (*http.Response, string) {
	b.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("csrf_token", b.csrf()) //nolint:errcheck
	for k, v := range fields {
		mw.WriteField(k, v) //nolint:errcheck
	}
	if fileField != "" {
		fw, _ := mw.CreateFormFile(fileField, fileName)
		fw.Write(data) //nolint:errcheck
	}
	mw.Close()
	req, _ := http.NewRequest("POST", b.site.srv.URL+path, &body)
	req.Host = b.host
	req.Header.Set("Content-Type", mw.FormDataContentType())
	u, _ := url.Parse(b.site.srv.URL)
	for _, c := range b.jar.Cookies(u) {
		req.AddCookie(c)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	out.ReadFrom(resp.Body) //nolint:errcheck
	b.jar.SetCookies(u, resp.Cookies())
	return resp, out.String()
}

// page GETs a page, expects the status and returns the body, checked for
// inline code.
func (b *browser) page(path string, status int) string {
	b.t.Helper()
	resp, page := b.do("GET", path, nil)
	if resp.StatusCode != status {
		b.t.Fatalf("GET %s: %d, want %d\n%s", path, resp.StatusCode, status, page)
	}
	assertNoInlineCode(b.t, page)
	return page
}

func wantStatus(t *testing.T, what string, resp *http.Response, page string, status int, contains ...string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s: %d, want %d\n%s", what, resp.StatusCode, status, page)
	}
	for _, c := range contains {
		if !strings.Contains(page, c) {
			t.Fatalf("%s: page lacks %q\n%s", what, c, page)
		}
	}
}

// userID looks a user up by e-mail.
func (s *site) userID(t *testing.T, slug, email string) string {
	t.Helper()
	u, err := s.Auth.UserByEmail(context.Background(), s.System(t, slug), email)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID.String()
}

func (s *site) crm() *postgres.CRMService { return &postgres.CRMService{DB: s.DB} }

func (s *site) auditEntries(t *testing.T, slug string, f audit.Filter) []audit.Entry {
	t.Helper()
	l, err := (&postgres.AuditService{DB: s.DB}).List(context.Background(), s.System(t, slug), f)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// ownerExec runs SQL as the database owner (for the clock: expiring links).
func (s *site) ownerExec(t *testing.T, sql string, args ...any) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), s.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), sql, args...); err != nil {
		t.Fatal(err)
	}
}

var linkRe = regexp.MustCompile(`value="(http://[^"]+/set-password/(ul_[A-Za-z0-9_-]+))"`)

// issuedLink finds the one-time link on the page an administrator sees.
func issuedLink(t *testing.T, page string) (full, path string) {
	t.Helper()
	m := linkRe.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no one-time link on the page:\n%s", page)
	}
	return m[1], "/set-password/" + m[2]
}

func pngBytes(t *testing.T) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewRGBA(image.Rect(0, 0, 8, 8))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

const newPassword = "Rheinfall-Schaffhausen-42"

// ---- tests ----

func TestPasswordResetLinkWorksOnceAndExpires(t *testing.T) {
	s := newSite(t, false)
	admin := s.loggedIn(t, "alpha.test", "admin@alpha.test", "admin")
	bob := s.loggedIn(t, "alpha.test", "bob@alpha.test", "sales")
	bobID := s.userID(t, "alpha", "bob@alpha.test")

	// The login page leads to the "ask your administrator" page.
	anon := s.browser(t, "alpha.test")
	if page := anon.page("/login", 200); !strings.Contains(page, `href="/password-forgotten"`) {
		t.Fatalf("no forgotten-password link:\n%s", page)
	}
	if page := anon.page("/password-forgotten", 200); !strings.Contains(page, "Administrator") {
		t.Fatalf("forgotten-password page:\n%s", page)
	}

	// Issuing needs the form token.
	resp, _ := admin.do("POST", "/settings/users/"+bobID+"/link", url.Values{})
	wantStatus(t, "reset link without CSRF token", resp, "", http.StatusForbidden)
	resp, page := admin.post("/settings/users/"+bobID+"/link", nil)
	wantStatus(t, "reset link", resp, page, 200, "Link zum Zurücksetzen des Passworts", "bob@alpha.test")
	assertNoInlineCode(t, page)
	full, path := issuedLink(t, page)
	if !strings.HasPrefix(full, "http://alpha.test/set-password/ul_") {
		t.Errorf("link %s", full)
	}

	// The link is bound to its tenant.
	s.browser(t, "beta.test").page(path, http.StatusGone)

	page = anon.page(path, 200)
	if !strings.Contains(page, `id="set-password-form"`) || !strings.Contains(page, "bob@alpha.test") {
		t.Fatalf("link page:\n%s", page)
	}
	resp, _ = anon.do("POST", path, url.Values{"password": {newPassword}, "password_repeat": {newPassword}})
	wantStatus(t, "set password without CSRF token", resp, "", http.StatusForbidden)
	resp, page = anon.post(path, url.Values{"password": {newPassword}, "password_repeat": {"anders"}})
	wantStatus(t, "passwords differ", resp, page, http.StatusUnprocessableEntity, `id="f-password_repeat-error"`)
	resp, page = anon.post(path, url.Values{"password": {"kurz"}, "password_repeat": {"kurz"}})
	wantStatus(t, "short password", resp, page, http.StatusUnprocessableEntity, `id="f-password-error"`, "mindestens 10 Zeichen")
	resp, page = anon.post(path, url.Values{"password": {newPassword}, "password_repeat": {newPassword}})
	wantStatus(t, "set password", resp, page, 200, "Passwort gespeichert")

	// Bob's old session is over; the new password works; the link is spent.
	if resp, _ := bob.do("GET", "/", nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("bob's session after the reset: %d", resp.StatusCode)
	}
	if resp, _ := s.browser(t, "alpha.test").login("bob@alpha.test", newPassword); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("login with the new password: %d", resp.StatusCode)
	}
	resp, page = anon.post(path, url.Values{"password": {"Noch-ein-Passwort-77"}, "password_repeat": {"Noch-ein-Passwort-77"}})
	wantStatus(t, "second use", resp, page, http.StatusGone, "ungültig, abgelaufen oder wurde schon benutzt")
	if l := s.auditEntries(t, "alpha", audit.Filter{Action: audit.UserPasswordReset}); len(l) != 1 || l[0].Actor != "bob@alpha.test" {
		t.Errorf("audit of the reset: %+v", l)
	}
	if l := s.auditEntries(t, "alpha", audit.Filter{Action: audit.UserResetLink}); len(l) != 1 || l[0].Actor != "admin@alpha.test" {
		t.Errorf("audit of the link: %+v", l)
	}

	// A link expires after 24 hours.
	_, page = admin.post("/settings/users/"+bobID+"/link", nil)
	_, path = issuedLink(t, page)
	anon.page(path, 200)
	s.ownerExec(t, `UPDATE user_tokens SET expires_at = now() - interval '1 second' WHERE used_at IS NULL`)
	anon.page(path, http.StatusGone)
	resp, _ = anon.post(path, url.Values{"password": {"Noch-ein-Passwort-77"}, "password_repeat": {"Noch-ein-Passwort-77"}})
	wantStatus(t, "expired link", resp, "", http.StatusGone)
}

func TestInviteLinkCreatesUsableLogin(t *testing.T) {
	s := newSite(t, false)
	admin := s.loggedIn(t, "alpha.test", "admin@alpha.test", "admin")
	page := admin.page("/settings/users/new", 200)
	if !strings.Contains(page, `id="user-form"`) || !strings.Contains(page, "Vertrieb") {
		t.Fatalf("invitation form:\n%s", page)
	}
	sales := ""
	for _, r := range mustRoles(t, s, "alpha") {
		if r.Key == "sales" {
			sales = r.ID.String()
		}
	}
	resp, page := admin.post("/settings/users", url.Values{"name": {""}, "email": {"kaputt"}, "locale": {""}})
	wantStatus(t, "invalid invitation", resp, page, http.StatusUnprocessableEntity, `id="f-name-error"`, `id="f-email-error"`, `id="f-role_ids-error"`)
	resp, page = admin.post("/settings/users", url.Values{"name": {"Nina Frei"}, "email": {"nina@alpha.test"}, "locale": {"en"}, "role_ids": {sales}})
	wantStatus(t, "invitation", resp, page, 200, "Einladungslink", "nina@alpha.test")
	_, path := issuedLink(t, page)

	list := admin.page("/settings/users", 200)
	if !strings.Contains(list, "Nina Frei") || !strings.Contains(list, "eingeladen") {
		t.Fatalf("user list after the invitation:\n%s", list)
	}
	nina := s.browser(t, "alpha.test")
	if resp, _ := nina.login("nina@alpha.test", newPassword); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("login before accepting: %d", resp.StatusCode)
	}
	page = nina.page(path, 200)
	if !strings.Contains(page, "Einladung annehmen") {
		t.Fatalf("invitation page:\n%s", page)
	}
	resp, page = nina.post(path, url.Values{"password": {newPassword}, "password_repeat": {newPassword}})
	wantStatus(t, "accept", resp, page, 200)
	if resp, _ := nina.login("nina@alpha.test", newPassword); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login after accepting: %d", resp.StatusCode)
	}
	// Her language is English, as the administrator chose.
	if page := nina.page("/", 200); !strings.Contains(page, "Log out") {
		t.Errorf("nina's start page is not English:\n%s", page)
	}
	nina.page(path, http.StatusGone)
	if list := admin.page("/settings/users", 200); strings.Contains(list, "eingeladen") {
		t.Error("nina still shows as invited")
	}
}

func mustRoles(t *testing.T, s *site, slug string) []*auth.Role {
	t.Helper()
	roles, err := s.Auth.ListRoles(context.Background(), s.System(t, slug))
	if err != nil {
		t.Fatal(err)
	}
	return roles
}

func TestProfilePasswordAndLanguage(t *testing.T) {
	s := newSite(t, false)
	b := s.loggedIn(t, "alpha.test", "anna@alpha.test", "sales")
	page := b.page("/profile", 200)
	for _, want := range []string{`id="password-form"`, `id="language-form"`, `for="f-current_password"`, `for="f-locale"`} {
		if !strings.Contains(page, want) {
			t.Fatalf("profile lacks %s:\n%s", want, page)
		}
	}
	resp, _ := b.do("POST", "/profile/password", url.Values{"current_password": {testfix.Password}})
	wantStatus(t, "password without CSRF token", resp, "", http.StatusForbidden)
	resp, page = b.post("/profile/password", url.Values{"current_password": {"falsch"}, "password": {newPassword}, "password_repeat": {newPassword}})
	wantStatus(t, "wrong current password", resp, page, http.StatusUnprocessableEntity, `id="f-current_password-error"`, "aktuelle Passwort ist falsch")
	resp, page = b.post("/profile/password", url.Values{"current_password": {testfix.Password}, "password": {newPassword}, "password_repeat": {"x"}})
	wantStatus(t, "repeat differs", resp, page, http.StatusUnprocessableEntity, `id="f-password_repeat-error"`)
	resp, page = b.post("/profile/password", url.Values{"current_password": {testfix.Password}, "password": {"password123"}, "password_repeat": {"password123"}})
	wantStatus(t, "common password", resp, page, http.StatusUnprocessableEntity, `id="f-password-error"`)
	resp, _ = b.post("/profile/password", url.Values{"current_password": {testfix.Password}, "password": {newPassword}, "password_repeat": {newPassword}})
	wantStatus(t, "change password", resp, "", http.StatusSeeOther)
	if page := b.page("/profile", 200); !strings.Contains(page, "Passwort geändert") {
		t.Errorf("no confirmation after the change:\n%s", page)
	}
	if resp, _ := s.browser(t, "alpha.test").login("anna@alpha.test", newPassword); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("login with the changed password: %d", resp.StatusCode)
	}

	resp, page = b.post("/profile/language", url.Values{"locale": {"klingonisch"}})
	wantStatus(t, "unknown language", resp, page, http.StatusUnprocessableEntity, `id="f-locale-error"`)
	resp, _ = b.post("/profile/language", url.Values{"locale": {"en"}})
	wantStatus(t, "language", resp, "", http.StatusSeeOther)
	if page := b.page("/profile", 200); !strings.Contains(page, "My profile") || !strings.Contains(page, "Saved.") {
		t.Errorf("profile after choosing English:\n%s", page)
	}
	b.post("/profile/language", url.Values{"locale": {""}})
	if page := b.page("/profile", 200); !strings.Contains(page, "Mein Profil") {
		t.Errorf("profile after choosing the tenant's language:\n%s", page)
	}
}

func TestLoginShowsTenantProfile(t *testing.T) {
	s := newSite(t, false)
	ctx := context.Background()
	_, err := s.crm().UpdateTenantProfile(ctx, s.System(t, "alpha"), crm.ProfileInput{Name: "Alpha Treuhand AG", Locale: "en-GB", Logo: pngBytes(t)}, auth.LoginMeta{})
	if err != nil {
		t.Fatal(err)
	}
	b := s.browser(t, "alpha.test")
	page := b.page("/login", 200)
	if !strings.Contains(page, "Alpha Treuhand AG") || !strings.Contains(page, `<img class="tenant-logo" src="/logo?v=`) || !strings.Contains(page, "Log in") {
		t.Fatalf("login page with the tenant profile:\n%s", page)
	}
	resp, logo := b.do("GET", "/logo", nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" || !bytes.HasPrefix([]byte(logo), []byte("\x89PNG")) {
		t.Fatalf("logo: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// Beta is untouched.
	page = s.browser(t, "beta.test").page("/login", 200)
	if strings.Contains(page, "Alpha") || strings.Contains(page, "tenant-logo") || !strings.Contains(page, "Anmelden") {
		t.Fatalf("beta's login page:\n%s", page)
	}
	if resp, _ := s.browser(t, "beta.test").do("GET", "/logo", nil); resp.StatusCode != 404 {
		t.Fatalf("beta's logo: %d", resp.StatusCode)
	}
}
