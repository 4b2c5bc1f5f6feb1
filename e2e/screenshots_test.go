package e2e

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestScreenshots saves a picture of each main page. `make screenshots`
// sets RPCRM_SCREENSHOTS=docs/screenshots; otherwise they go to a temporary
// directory, so that every test run proves the pages render in a browser.
func TestScreenshots(t *testing.T) {
	s := newSite(t, 60)
	dir := os.Getenv("RPCRM_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx := incognito(t, 3*time.Minute)
	shoot := func(name, path string, ready chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(s.url("mandant1", path)), ready); err != nil {
			t.Fatalf("%s (%s): %v", name, path, err)
		}
		img, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()) // the viewport, PNG
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if len(img) < 5_000 {
			t.Errorf("screenshot %s is only %d bytes", name, len(img))
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), img, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	main := chromedp.WaitVisible(chromedp.CSS("main h1"))
	shoot("login", "/login", chromedp.WaitVisible(chromedp.ID("email")))
	login(t, ctx, s, "mandant1", "admin@mandant1.localhost", adminPassword)
	contact := s.query(`SELECT id::text FROM contacts WHERE deleted_at IS NULL AND `+inTenant+` ORDER BY last_name, id LIMIT 1`, "mandant1")
	company := s.query(`SELECT id::text FROM companies WHERE deleted_at IS NULL AND `+inTenant+` ORDER BY name, id LIMIT 1`, "mandant1")
	deal := s.query(`SELECT id::text FROM deals WHERE deleted_at IS NULL AND `+inTenant+` ORDER BY updated_at DESC, id LIMIT 1`, "mandant1")
	for _, p := range []struct{ name, path string }{
		{"dashboard", "/"},
		{"contacts", "/contacts"},
		{"contact", "/contacts/" + contact},
		{"companies", "/companies"},
		{"company", "/companies/" + company},
		{"deals-board", "/deals"},
		{"deal", "/deals/" + deal},
		{"tasks", "/tasks"},
		{"search", "/search?q=M%C3%BCller"},
		{"import", "/import"},
		{"settings", "/settings"},
		{"audit", "/audit"},
	} {
		shoot(p.name, p.path, main)
	}
	// A phone's width.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}
	shoot("contacts-phone", "/contacts", main)
}
