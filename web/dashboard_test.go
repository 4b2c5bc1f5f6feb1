package web_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rpcrm/rpcrm/auth"
)

// rowOf returns the HTML of the table row with the given id or first
// header text.
func rowOf(t *testing.T, page, marker string) string {
	t.Helper()
	for _, row := range regexp.MustCompile(`(?s)<tr[^>]*>.*?</tr>`).FindAllString(page, -1) {
		if strings.Contains(row, marker) {
			return row
		}
	}
	t.Fatalf("no row with %q", marker)
	return ""
}

func TestDashboardPage(t *testing.T) {
	f, b := newDealFixture(t)
	ctx := context.Background()
	if _, err := f.Auth.CreateRole(ctx, f.System(t, "alpha"), auth.RoleInput{Name: "Eigene", Permissions: []string{
		"deals:read:own", "deals:write:own", "companies:read:own", "contacts:read:own", "activities:read:own", "activities:write:own"}}, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}
	ottoB := f.userBrowser(t, "alpha.test", "alpha", "otto@alpha.test", "Eigene")
	otto := f.principal(t, "alpha", "otto@alpha.test")

	f.deal(t, f.anna, "A", "Neu", "1000")
	f.deal(t, otto, "B", "Neu", "250.50")
	f.deal(t, otto, "C", "Angebot", "5000")
	f.deal(t, f.anna, "Won 1", "Gewonnen", "2000")
	f.deal(t, otto, "Won 2", "Gewonnen", "300")
	f.deal(t, f.anna, "Lost", "Verloren", "100")
	f.task(t, f.anna, "Überfälliger Anruf", time.Now().Add(-2*time.Hour), false)
	f.task(t, f.anna, "Nächste Woche", time.Now().Add(7*24*time.Hour), false)

	page := b.get("/", 200)
	assertNoInlineCode(t, page)
	wantContains(t, "dashboard", page, "chart.umd.min.js", "dashboard.js", `data-chart="bar"`, `<th scope="row">`, `<caption class="sr-only">`,
		"Willkommen, Test anna@alpha.test", "Administrator")
	neu := rowOf(t, page, ">Neu</a>")
	wantContains(t, "Neu row", neu, `data-value="1250.50"`, `<td class="num">2</td>`, "1&#39;250.50 CHF")
	wantContains(t, "Angebot row", rowOf(t, page, ">Angebot</a>"), `<td class="num">1</td>`, "5&#39;000.00 CHF")
	wantContains(t, "Qualifiziert row", rowOf(t, page, ">Qualifiziert</a>"), `data-value="0.00"`, "0.00 CHF")
	wantContains(t, "total row", rowOf(t, page, "Total offen"), `<td class="num">3</td>`, "6&#39;250.50 CHF")
	month := rowOf(t, page, `id="closed-month"`)
	wantContains(t, "won/lost this month", month, `<span class="dash-count">2</span> · 2&#39;300.00 CHF`, `<span class="dash-count">1</span> · 100.00 CHF`)
	wantContains(t, "won this quarter", rowOf(t, page, `id="closed-quarter"`), `<span class="dash-count">2</span> · 2&#39;300.00 CHF`)
	wantContains(t, "tasks", page, `<li id="tasks-overdue"><a href="/tasks?scope=mine&amp;tab=overdue"><span class="dash-figure">1</span>`, "Überfälliger Anruf")
	if strings.Contains(page, "Nächste Woche") {
		t.Error("a task due next week is listed as due today")
	}
	wantContains(t, "recent", page, `id="recent"`, ">Lost</a>", "Verkaufschance")

	// Own scope: only otto's deals count.
	page = ottoB.get("/", 200)
	wantContains(t, "own Neu row", rowOf(t, page, ">Neu</a>"), `<td class="num">1</td>`, "250.50 CHF")
	wantContains(t, "own month", rowOf(t, page, `id="closed-month"`), `<span class="dash-count">1</span> · 300.00 CHF`, `<span class="dash-count">0</span> · 0.00 CHF`)
	if strings.Contains(page, ">A</a>") || strings.Contains(page, ">Lost</a>") {
		t.Error("otto sees anna's deals among the recent changes")
	}
	wantContains(t, "own tasks", page, `<span class="dash-figure">0</span> Überfällig`)

	// Without deals:read there is no chart, but the page works.
	if _, err := f.Auth.CreateRole(ctx, f.System(t, "alpha"), auth.RoleInput{Name: "Nur Kontakte", Permissions: []string{"contacts:read"}}, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}
	kurt := f.userBrowser(t, "alpha.test", "alpha", "kurt@alpha.test", "Nur Kontakte")
	page = kurt.get("/", 200)
	if strings.Contains(page, "chart.umd") || strings.Contains(page, "dash-pipeline") || strings.Contains(page, "dash-tasks") {
		t.Error("dashboard without deals:read shows deal figures")
	}
	// Another tenant's start page knows nothing of alpha.
	f.CreateUser(t, "beta", "bea@beta.test", "admin")
	beta := f.browser(t, "beta.test")
	beta.login("bea@beta.test", "Kappelerhof-Brücke-17")
	page = beta.get("/", 200)
	if strings.Contains(page, "1&#39;250.50") || strings.Contains(page, ">Lost</a>") {
		t.Error("beta sees alpha's figures")
	}
	// The navigation loads the pages with scripts of their own (Chart.js,
	// the board) directly, without a boosted request first.
	for _, link := range []string{`<a class="brand" href="/" hx-boost="false">`, `<a href="/" hx-boost="false"`, `<a href="/deals" hx-boost="false"`} {
		if !strings.Contains(page, link) {
			t.Errorf("the start page lacks %s", link)
		}
	}
	// An htmx request aimed at <main> (no element of ours does it) gets the
	// whole page, not an error.
	if resp, page := beta.htmx("/contacts", "main"); resp.StatusCode != http.StatusOK || !strings.Contains(page, `<main id="main"`) {
		t.Errorf("htmx request with HX-Target main: %d\n%s", resp.StatusCode, page)
	}
	// A boosted navigation to the start page by another link is a real page load.
	req, _ := http.NewRequest("GET", b.site.srv.URL+"/", nil)
	req.Host = b.host
	req.Header.Set("HX-Request", "true")
	req.Header.Set("HX-Boosted", "true")
	for _, c := range b.jar.Cookies(req.URL) {
		req.AddCookie(c)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("HX-Redirect") != "/" {
		t.Errorf("boosted start page: HX-Redirect %q", resp.Header.Get("HX-Redirect"))
	}
}
