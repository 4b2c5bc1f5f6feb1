package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rpcrm/rpcrm/filestore"
	"github.com/rpcrm/rpcrm/httpserver"
	"github.com/rpcrm/rpcrm/internal/testfix"
	"github.com/rpcrm/rpcrm/metrics"
	"github.com/rpcrm/rpcrm/pgtest"
	"github.com/rpcrm/rpcrm/postgres"
	"github.com/rpcrm/rpcrm/ratelimit"
	"github.com/rpcrm/rpcrm/tenant"
	"github.com/rpcrm/rpcrm/web"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type site struct {
	*testfix.Env
	srv *httptest.Server
	ui  *web.UI
}

func newSite(t testing.TB, secure bool) *site {
	t.Helper()
	e := testfix.New(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	m := metrics.New()
	gate := httpserver.NewLoginGate(ratelimit.NewWindow(100, time.Minute), ratelimit.NewWindow(100, time.Minute), m, log, 2)
	files := filestore.New(t.TempDir())
	ui := &web.UI{Auth: e.Auth, CRM: &postgres.CRMService{DB: e.DB, Files: files}, Audit: &postgres.AuditService{DB: e.DB},
		Files: files, MaxUploadBytes: 1 << 20, Gate: gate, Log: log, Secure: secure, RefreshTTL: time.Hour}
	s := &httpserver.Server{Log: log, Metrics: m, Tenants: tenant.NewRegistry(e.Tenants), Web: ui.Handler()}
	// The small imports of the tests answer at once even on a busy
	// machine; TestImportInTheBackground sets 0 to test the progress page.
	web.SetImportWait(ui, 15*time.Second)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &site{Env: e, srv: srv, ui: ui}
}

// browser is an HTTP client with a cookie jar that sends every request to
// the test server with the given Host and does not follow redirects.
type browser struct {
	t    testing.TB
	site *site
	jar  *cookiejar.Jar
	host string
}

func (s *site) browser(t testing.TB, host string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, site: s, jar: jar, host: host}
}

func (b *browser) do(method, path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.site.srv.URL+path, body)
	req.Host = b.host
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	// The jar is keyed by the URL's host; the test server is 127.0.0.1 for every tenant,
	// so keep one jar per browser (per tenant host) as a real browser would.
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

var csrfRe = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func csrfOf(t testing.TB, page string) string {
	t.Helper()
	m := csrfRe.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token in page:\n%s", page)
	}
	return m[1]
}

func (b *browser) login(email, password string) (*http.Response, string) {
	_, page := b.do("GET", "/login", nil)
	return b.do("POST", "/login", url.Values{"csrf_token": {csrfOf(b.t, page)}, "email": {email}, "password": {password}, "next": {"/"}})
}

// scriptTag and inlineCode find what the Content-Security-Policy would
// block: scripts without src, style elements and attributes, handlers.
var (
	scriptTag  = regexp.MustCompile(`<script[^>]*>`)
	inlineCode = regexp.MustCompile(`<style|\sstyle=|\son[a-z]+=|javascript:`)
)

func assertNoInlineCode(t testing.TB, page string) {
	t.Helper()
	for _, tag := range scriptTag.FindAllString(page, -1) {
		if !strings.Contains(tag, " src=") {
			t.Errorf("inline script: %s", tag)
		}
	}
	if m := inlineCode.FindString(page); m != "" {
		t.Errorf("inline style or handler: %q", m)
	}
}

func TestLoginFlow(t *testing.T) {
	s := newSite(t, true)
	s.CreateUser(t, "alpha", "anna@alpha.test", "admin")
	b := s.browser(t, "alpha.test")

	resp, _ := b.do("GET", "/", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?next=%2F" {
		t.Fatalf("anonymous start page: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, page := b.do("GET", "/login", nil)
	if resp.StatusCode != 200 || !strings.Contains(page, "Alpha AG") || !strings.Contains(page, `<label for="email">E-Mail-Adresse</label>`) {
		t.Fatalf("login page: %d\n%s", resp.StatusCode, page)
	}
	assertNoInlineCode(t, page)

	resp, page = b.login("anna@alpha.test", "wrong password!")
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(page, "E-Mail-Adresse oder Passwort ist falsch.") {
		t.Fatalf("wrong password: %d\n%s", resp.StatusCode, page)
	}
	if !strings.Contains(page, `value="anna@alpha.test"`) {
		t.Fatal("the e-mail typed is lost after a failed login")
	}
	resp, page = b.login("", "")
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `id="email-error"`) || !strings.Contains(page, `id="password-error"`) {
		t.Fatalf("empty form: %d\n%s", resp.StatusCode, page)
	}

	resp, _ = b.login("anna@alpha.test", testfix.Password)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("login: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	var names []string
	for _, c := range resp.Cookies() {
		names = append(names, c.Name)
		if !c.HttpOnly || !c.Secure || c.Path != "/" || c.Domain != "" || c.SameSite != http.SameSiteLaxMode {
			t.Errorf("cookie %s: HttpOnly=%v Secure=%v Path=%q Domain=%q SameSite=%v", c.Name, c.HttpOnly, c.Secure, c.Path, c.Domain, c.SameSite)
		}
		if !strings.HasPrefix(c.Name, "__Host-") {
			t.Errorf("cookie %s lacks the __Host- prefix", c.Name)
		}
	}
	if strings.Join(names, ",") != "__Host-rpcrm_at,__Host-rpcrm_rt" {
		t.Errorf("cookies set at login: %v", names)
	}
	resp, page = b.do("GET", "/", nil)
	if resp.StatusCode != 200 || !strings.Contains(page, "Willkommen, Test anna@alpha.test") || !strings.Contains(page, "Administrator") {
		t.Fatalf("start page: %d\n%s", resp.StatusCode, page)
	}

	// Logout needs the form token, then ends the session for good.
	resp, _ = b.do("POST", "/logout", url.Values{})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("logout without CSRF token: %d", resp.StatusCode)
	}
	resp, _ = b.do("POST", "/logout", url.Values{"csrf_token": {csrfOf(t, page)}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Fatalf("logout: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = b.do("GET", "/", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("start page after logout: %d", resp.StatusCode)
	}
}

func TestLoginRefusesMissingCSRFAndCrossSite(t *testing.T) {
	s := newSite(t, false)
	s.CreateUser(t, "alpha", "anna@alpha.test", "admin")
	b := s.browser(t, "alpha.test")
	b.do("GET", "/login", nil)
	resp, page := b.do("POST", "/login", url.Values{"email": {"anna@alpha.test"}, "password": {testfix.Password}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "Formular ist abgelaufen") {
		t.Fatalf("login without CSRF token: %d", resp.StatusCode)
	}
	for _, c := range resp.Cookies() {
		if c.Name == "rpcrm_at" && c.Value != "" {
			t.Fatal("a session cookie was set without a CSRF token")
		}
	}
	// A cross-site form post is refused before it reaches the handler.
	req, _ := http.NewRequest("POST", s.srv.URL+"/login", strings.NewReader("email=x"))
	req.Host = "alpha.test"
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", "https://evil.example")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site post: %d", res.StatusCode)
	}
	// In dev (not Secure) the cookies carry no __Host- prefix: browsers
	// would drop them over plain http.
	resp, _ = b.login("anna@alpha.test", testfix.Password)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("dev login: %d", resp.StatusCode)
	}
	for _, c := range resp.Cookies() {
		if strings.HasPrefix(c.Name, "__Host-") || c.Secure {
			t.Errorf("dev cookie %s Secure=%v", c.Name, c.Secure)
		}
	}
}

func TestSessionRenewsWithRefreshCookieAndStaysInTenant(t *testing.T) {
	s := newSite(t, false)
	s.CreateUser(t, "alpha", "anna@alpha.test", "admin")
	b := s.browser(t, "alpha.test")
	if resp, _ := b.login("anna@alpha.test", testfix.Password); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	u, _ := url.Parse(s.srv.URL)
	var at, rt string
	for _, c := range b.jar.Cookies(u) {
		switch c.Name {
		case "rpcrm_at":
			at = c.Value
		case "rpcrm_rt":
			rt = c.Value
		}
	}
	if at == "" || rt == "" {
		t.Fatal("session cookies missing")
	}

	// The same cookies presented on another tenant's host get no session there.
	other := s.browser(t, "beta.test")
	other.jar.SetCookies(u, []*http.Cookie{{Name: "rpcrm_at", Value: at}, {Name: "rpcrm_rt", Value: rt}})
	if resp, _ := other.do("GET", "/", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("alpha's cookies on beta.test: %d, want a redirect to the login", resp.StatusCode)
	}

	// Without the access token (expired), the refresh cookie renews the session.
	b2 := s.browser(t, "alpha.test")
	b2.jar.SetCookies(u, []*http.Cookie{{Name: "rpcrm_rt", Value: rt}})
	resp, page := b2.do("GET", "/", nil)
	if resp.StatusCode != 200 || !strings.Contains(page, "Willkommen") {
		t.Fatalf("renewal with refresh cookie: %d", resp.StatusCode)
	}
	renewed := false
	for _, c := range resp.Cookies() {
		if c.Name == "rpcrm_rt" && c.Value != "" && c.Value != rt {
			renewed = true
		}
	}
	if !renewed {
		t.Fatal("the refresh cookie was not rotated")
	}
	// The beta attempt above must not have spent alpha's refresh token; the
	// session is still usable from the original browser.
	if _, err := s.Auth.Authenticate(context.Background(), s.Ref(t, "alpha"), at); err != nil {
		t.Fatalf("original access token: %v", err)
	}
}

func TestStaticAndUnknownPaths(t *testing.T) {
	s := newSite(t, false)
	b := s.browser(t, "alpha.test")
	resp, css := b.do("GET", "/static/app.css", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") || !strings.Contains(css, ":focus-visible") {
		t.Fatalf("app.css: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if resp, _ := b.do("GET", "/nope", nil); resp.StatusCode != 404 {
		t.Fatalf("unknown path: %d", resp.StatusCode)
	}
	if resp, _ := s.browser(t, "gamma.test").do("GET", "/login", nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("suspended tenant login page: %d", resp.StatusCode)
	}
}
