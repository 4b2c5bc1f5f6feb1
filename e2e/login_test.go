package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// login opens the tenant's login page and logs in; it waits for the start
// page.
func login(t *testing.T, ctx context.Context, s *site, tenantID, email, password string) {
	t.Helper()
	err := chromedp.Do(ctx,
		chromedp.Navigate(s.url(tenantID, "/login")),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`nav.main-nav`)),
	)
	if err != nil {
		t.Fatalf("log in as %s on %s: %v", email, tenantID, err)
	}
}

// text returns the text content of the first element matching css.
func text(t *testing.T, ctx context.Context, css string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		t.Fatalf("text of %s: %v", css, err)
	}
	return s
}

func location(t *testing.T, ctx context.Context) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestBrowserLoginIsolationLogout logs in on mandant1, checks that the
// session does not reach mandant2 (another host: the cookies are not sent,
// so its pages ask for a login) and that a mandant2 record's ID is unknown
// on mandant1, then logs out.
func TestBrowserLoginIsolationLogout(t *testing.T) {
	s := newSite(t, 5)
	ctx := incognito(t, 60*time.Second)
	login(t, ctx, s, "mandant1", "admin@mandant1.localhost", adminPassword)
	if got := text(t, ctx, "header .tenant"); got != "Mandant 1 AG" {
		t.Errorf("tenant shown in the header: %q", got)
	}

	other := s.query(`SELECT id::text FROM contacts WHERE `+inTenant+` ORDER BY id LIMIT 1`, "mandant2")
	// mandant2's host in the same browser: no session there.
	if err := chromedp.Do(ctx, chromedp.Navigate(s.url("mandant2", "/contacts/"+other)), chromedp.WaitVisible(chromedp.ID("email"))); err != nil {
		t.Fatalf("mandant2 record on its own host: %v", err)
	}
	if loc := location(t, ctx); !strings.Contains(loc, "mandant2.localhost") || !strings.Contains(loc, "/login") {
		t.Errorf("mandant2 record without a session there: at %s, want its login page", loc)
	}
	// mandant2's record ID on mandant1's host, logged in: not found.
	if err := chromedp.Do(ctx, chromedp.Navigate(s.url("mandant1", "/contacts/"+other)), chromedp.WaitVisible(chromedp.ID("error-title"))); err != nil {
		t.Fatalf("mandant2 record on mandant1: %v", err)
	}
	if body := text(t, ctx, "main"); strings.Contains(body, other) && !strings.Contains(body, "existiert nicht") {
		t.Errorf("mandant2 record on mandant1 shows: %s", body)
	}

	// Log out: the start page asks for a login again.
	err := chromedp.Do(ctx,
		chromedp.Navigate(s.url("mandant1", "/")),
		chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.Navigate(s.url("mandant1", "/")),
		chromedp.WaitVisible(chromedp.ID("email")),
	)
	if err != nil {
		t.Fatalf("log out: %v", err)
	}
}
