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
	pages := []struct{ name, path string }{
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
	}
	for _, p := range pages {
		shoot(p.name, p.path, main)
		// Every form control has a name for screen readers, and the page
		// has its landmarks.
		unlabelled, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('input, select, textarea')]
			.filter(e => e.type !== 'hidden' && !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby'))
			.map(e => e.tagName.toLowerCase() + '[name=' + (e.name || e.id) + ']')
			.concat(['header', 'nav', 'main'].filter(l => !document.querySelector(l)).map(l => 'no <' + l + '>'))`))
		if err != nil {
			t.Fatalf("labels, %s: %v", p.name, err)
		}
		if len(unlabelled) > 0 {
			t.Errorf("%s (%s): controls without a label or missing landmarks: %v", p.name, p.path, unlabelled)
		}
	}
	// A phone's width: every main page fits without scrolling sideways
	// (wide tables scroll inside their own box), and the navigation and
	// the search stay on the screen.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}
	shoot("contacts-phone", "/contacts", main)
	for _, p := range append(pages, struct{ name, path string }{"deal form", "/deals/new"}, struct{ name, path string }{"contact form", "/contacts/new"}) {
		type metrics struct {
			Overflow   float64  `json:"overflow"`
			NavRight   float64  `json:"navRight"`
			SearchLeft float64  `json:"searchLeft"`
			Width      float64  `json:"width"`
			Culprits   []string `json:"culprits"`
		}
		if err := chromedp.Do(ctx, chromedp.Navigate(s.url("mandant1", p.path)), main); err != nil {
			t.Fatalf("phone width, %s: %v", p.name, err)
		}
		m, err := chromedp.Run(ctx, chromedp.Evaluate[metrics](`({overflow: document.documentElement.scrollWidth - window.innerWidth,
				navRight: document.querySelector('nav.main-nav').getBoundingClientRect().left,
				searchLeft: document.getElementById('q').getBoundingClientRect().right,
				width: window.innerWidth,
				culprits: [...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5 &&
					![...e.children].some(c => c.getBoundingClientRect().right > window.innerWidth + 0.5) &&
					!e.closest('.table-wrap, .board')).slice(0, 5).map(e => (e.parentElement ? e.parentElement.tagName.toLowerCase() + (e.parentElement.className ? '.' + String(e.parentElement.className).split(' ').join('.') : '') + ' > ' : '') + e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
					(e.className ? '.' + String(e.className).split(' ').join('.') : '') + ' ' + Math.round(e.getBoundingClientRect().right) + 'px')})`))
		if err != nil {
			t.Fatalf("phone width, %s: %v", p.name, err)
		}
		if m.Width != 390 || m.Overflow > 0 {
			t.Errorf("phone width, %s (%s): the page is %.0f px wider than the %.0f px screen; too wide: %v", p.name, p.path, m.Overflow, m.Width, m.Culprits)
		}
		if m.NavRight < 0 || m.NavRight >= m.Width || m.SearchLeft <= 0 || m.SearchLeft > m.Width {
			t.Errorf("phone width, %s: navigation starts at %.0f px, search ends at %.0f px; want both on the %.0f px screen",
				p.name, m.NavRight, m.SearchLeft, m.Width)
		}
	}
}
