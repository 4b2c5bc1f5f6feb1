package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserWorkday is a sales person's day on mandant1 in Chromium: log
// in, create a company and a contact, find the contact by typing in the
// header search, drag a deal to the next stage and see it there after a
// reload, check off a task, import a CSV with one bad row, log out.
func TestBrowserWorkday(t *testing.T) {
	s := newSite(t, 20)
	ctx := incognito(t, 3*time.Minute)
	login(t, ctx, s, "mandant1", "admin@mandant1.localhost", adminPassword)

	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v\nat %s", what, err, location(t, ctx))
		}
	}

	// A company, then a contact working there (the company typed by name).
	step("create a company",
		chromedp.Navigate(s.url("mandant1", "/companies/new")),
		chromedp.WaitVisible(chromedp.ID("company-form")),
		chromedp.SendKeys(chromedp.ID("f-name"), "Zwygart Holzbau AG"),
		chromedp.Submit(chromedp.ID("company-form")),
		chromedp.WaitVisible(chromedp.CSS(".flash.ok")),
	)
	if h1 := text(t, ctx, "main h1"); !strings.Contains(h1, "Zwygart Holzbau AG") {
		t.Fatalf("after creating the company the page shows %q", h1)
	}
	step("create a contact",
		chromedp.Navigate(s.url("mandant1", "/contacts/new")),
		chromedp.WaitVisible(chromedp.ID("contact-form")),
		chromedp.SendKeys(chromedp.ID("f-first_name"), "Ruedi"),
		chromedp.SendKeys(chromedp.ID("f-last_name"), "Zwygart"),
		chromedp.SendKeys(chromedp.ID("f-company"), "Zwygart Holzbau AG"),
		chromedp.Submit(chromedp.ID("contact-form")),
		chromedp.WaitVisible(chromedp.CSS(".flash.ok")),
	)
	if body := text(t, ctx, "main"); !strings.Contains(body, "Ruedi Zwygart") || !strings.Contains(body, "Zwygart Holzbau AG") {
		t.Fatalf("contact page: %s", body)
	}

	// "/" focuses the search; typing shows the contact among the results.
	step("search as you type",
		chromedp.Navigate(s.url("mandant1", "/")),
		chromedp.WaitVisible(chromedp.ID("q")),
		chromedp.KeyEvent("/"),
		chromedp.SendKeys(chromedp.ID("q"), "zwygart"),
		chromedp.WaitVisible(chromedp.CSS(`#search-suggest a[href^="/contacts/"]`)),
	)
	if got := text(t, ctx, "#search-suggest"); !strings.Contains(got, "Ruedi Zwygart") {
		t.Errorf("search results: %s", got)
	}
	if focused, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.id`)); focused != "q" {
		t.Errorf("the search field lost the focus to %q", focused)
	}

	// Drag the first card of the first column into the second column.
	step("open the board",
		chromedp.Navigate(s.url("mandant1", "/deals")),
		chromedp.WaitVisible(chromedp.CSS(`#board[data-ready]`)),
	)
	first := `#board .board-col:nth-of-type(1) li.deal-card.movable`
	dealID, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(first), "data-id"))
	if err != nil || !dealID.Exists {
		t.Fatalf("no deal in the first column: %v", err)
	}
	target := `#board .board-col:nth-of-type(2) ol.cards`
	nextStage, _ := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(target), "data-stage"))
	step("drag the deal to the next stage",
		chromedp.DragAndDrop(chromedp.CSS(first), chromedp.CSS(target)),
		chromedp.WaitVisible(chromedp.CSS(`#board-status.ok`)),
	)
	if got := s.query(`SELECT stage_id::text FROM deals WHERE id = $2 AND `+inTenant, "mandant1", dealID.Value); got != nextStage.Value {
		t.Fatalf("deal %s is in stage %s after the drag, want %s", dealID.Value, got, nextStage.Value)
	}
	step("the move survives a reload",
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS(`#board .board-col:nth-of-type(2) #deal-`+dealID.Value)),
	)

	// A task of today, checked off on the task list.
	step("create a task",
		chromedp.Navigate(s.url("mandant1", "/tasks/new")),
		chromedp.WaitVisible(chromedp.ID("task-form")),
		chromedp.SendKeys(chromedp.ID("f-subject"), "Offerte Zwygart nachfassen"),
		chromedp.Submit(chromedp.ID("task-form")),
		chromedp.WaitVisible(chromedp.CSS(".flash.ok")),
		chromedp.Navigate(s.url("mandant1", "/tasks")),
		chromedp.WaitVisible(chromedp.CSS(`tr.task-row`)),
	)
	taskID := s.query(`SELECT id::text FROM activities WHERE subject = 'Offerte Zwygart nachfassen' AND `+inTenant, "mandant1")
	step("check it off in place",
		chromedp.WaitVisible(chromedp.CSS(`#task-`+taskID+` button.check`)),
		chromedp.Click(chromedp.CSS(`#task-`+taskID+` button.check`)),
		chromedp.WaitVisible(chromedp.CSS(`#task-`+taskID+`.done`)),
	)
	if done := s.query(`SELECT (done_at IS NOT NULL)::text FROM activities WHERE id = $2 AND `+inTenant, "mandant1", taskID); done != "true" {
		t.Errorf("task done: %s", done)
	}

	// Import three contacts, one of them with a bad e-mail address.
	csv := filepath.Join(t.TempDir(), "kontakte.csv")
	if err := os.WriteFile(csv, []byte("Vorname;Nachname;E-Mail\r\nAnna;Imhof;anna@imhof.ch\r\nBeat;Imhof;kein-mail\r\nCarla;Imhof;carla@imhof.ch\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	step("upload the CSV",
		chromedp.Navigate(s.url("mandant1", "/import")),
		chromedp.WaitVisible(chromedp.ID("import-form")),
		chromedp.SetValue(chromedp.ID("f-entity"), "contact"),
		chromedp.SetUploadFiles(chromedp.ID("f-file"), []string{csv}),
		chromedp.Submit(chromedp.ID("import-form")),
		chromedp.WaitVisible(chromedp.ID("import-map-form")),
		chromedp.Submit(chromedp.ID("import-map-form")),
		chromedp.WaitVisible(chromedp.ID("import-errors")),
	)
	if errs := text(t, ctx, "#import-errors"); !strings.Contains(errs, "3") || !strings.Contains(strings.ToLower(errs), "mail") {
		t.Errorf("dry run errors: %s", errs)
	}
	step("import the good rows",
		chromedp.Click(chromedp.ID("mode-skip_bad_rows")),
		chromedp.Submit(chromedp.ID("import-run-form")),
		chromedp.WaitVisible(chromedp.ID("done-title")),
	)
	if n := s.query(`SELECT count(*) FROM contacts WHERE last_name = 'Imhof' AND `+inTenant, "mandant1"); n != "2" {
		t.Errorf("imported contacts: %s, want 2", n)
	}

	step("log out",
		chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
		chromedp.WaitVisible(chromedp.ID("email")),
	)
}
