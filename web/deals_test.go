package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
	"github.com/rpcrm/rpcrm/internal/testfix"
	"github.com/rpcrm/rpcrm/postgres"
)

// crmOf returns the CRM service on the site's database.
func (s *site) crmOf() *postgres.CRMService { return &postgres.CRMService{DB: s.DB} }

// principal authenticates a fixture user for calling services directly.
func (s *site) principal(t *testing.T, slug, email string) *auth.Principal {
	t.Helper()
	pair := s.Login(t, slug, email)
	p, err := s.Auth.Authenticate(context.Background(), s.Ref(t, slug), pair.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// userBrowser creates a user with the roles and logs them in.
func (s *site) userBrowser(t *testing.T, host, slug, email string, roles ...string) *browser {
	t.Helper()
	s.CreateUser(t, slug, email, roles...)
	b := s.browser(t, host)
	if resp, _ := b.login(email, testfix.Password); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login %s: %d", email, resp.StatusCode)
	}
	return b
}

// get fetches a page and wants the status.
func (b *browser) get(path string, status int) string {
	b.t.Helper()
	resp, page := b.do("GET", path, nil)
	if resp.StatusCode != status {
		b.t.Fatalf("GET %s: %d, want %d\n%s", path, resp.StatusCode, status, page)
	}
	return page
}

// postJSON posts a form as board.js does: token in the header, JSON answer.
func (b *browser) postJSON(path string, form url.Values, out any) int {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.site.srv.URL+path, strings.NewReader(form.Encode()))
	req.Host = b.host
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-CSRF-Token", b.csrf())
	for _, c := range b.jar.Cookies(req.URL) {
		req.AddCookie(c)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(data, out); err != nil {
		b.t.Fatalf("POST %s: %d, not JSON: %s", path, resp.StatusCode, data)
	}
	return resp.StatusCode
}

func wantContains(t *testing.T, what, page string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(page, p) {
			t.Errorf("%s lacks %q", what, p)
		}
	}
}

// dealFixture is tenant alpha with the default pipeline and a few deals.
type dealFixture struct {
	*site
	svc    *postgres.CRMService
	anna   *auth.Principal
	pl     *crm.Pipeline
	stages map[string]*crm.Stage
}

func newDealFixture(t *testing.T) (*dealFixture, *browser) {
	t.Helper()
	s := newSite(t, false)
	b := s.userBrowser(t, "alpha.test", "alpha", "anna@alpha.test", "admin")
	f := &dealFixture{site: s, svc: s.crmOf(), anna: s.principal(t, "alpha", "anna@alpha.test"), stages: map[string]*crm.Stage{}}
	pls, err := f.svc.ListPipelines(context.Background(), f.anna)
	if err != nil {
		t.Fatal(err)
	}
	f.pl = pls[0]
	for _, st := range f.pl.Stages {
		f.stages[st.Name] = st
	}
	return f, b
}

func (f *dealFixture) deal(t *testing.T, p *auth.Principal, title, stage, amount string) *crm.Deal {
	t.Helper()
	in := crm.DealInput{Title: &title, StageID: &f.stages[stage].ID}
	if f.stages[stage].Kind == crm.StageLost {
		in.LostReason = ptrTo("Zu teuer")
	}
	if amount != "" {
		a := crm.DecimalText(amount)
		in.Amount = &a
	}
	d, err := f.svc.CreateDeal(context.Background(), p, in, auth.LoginMeta{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

type moveAnswer struct {
	OK          bool   `json:"ok"`
	Message     string `json:"message"`
	NeedsReason bool   `json:"needs_reason"`
	Deal        *struct {
		ID      uuid.UUID `json:"id"`
		Version int       `json:"version"`
		StageID uuid.UUID `json:"stage_id"`
		Status  string    `json:"status"`
	} `json:"deal"`
	Columns []struct {
		StageID uuid.UUID `json:"stage_id"`
		Count   int       `json:"count"`
		Total   string    `json:"total"`
	} `json:"columns"`
}

func (a moveAnswer) column(id uuid.UUID) (int, string) {
	for _, c := range a.Columns {
		if c.StageID == id {
			return c.Count, c.Total
		}
	}
	return -1, ""
}

func TestDealBoard(t *testing.T) {
	f, b := newDealFixture(t)
	f.deal(t, f.anna, "Websanierung Muster AG", "Neu", "12500")
	f.deal(t, f.anna, "Beratung", "Angebot", "1234.5")
	page := b.get("/deals", 200)
	assertNoInlineCode(t, page)
	wantContains(t, "board", page, "Websanierung Muster AG", "12&#39;500.00 CHF", `data-kind="lost"`, `id="board"`,
		"Sortable.min.js", "board.js", `class="move-form"`, `name="stage_id"`, `aria-current="page"`, "1&#39;234.50 CHF", `<dialog id="lost-dialog"`)
	// A boosted htmx navigation gets a real page load, so that board.js runs.
	req, _ := http.NewRequest("GET", b.site.srv.URL+"/deals", nil)
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
	if resp.Header.Get("HX-Redirect") != "/deals" {
		t.Errorf("boosted board: HX-Redirect %q", resp.Header.Get("HX-Redirect"))
	}

	// Read-only users see the board without move forms; without
	// deals:read it is refused.
	ro := f.userBrowser(t, "alpha.test", "alpha", "rita@alpha.test", "readonly")
	page = ro.get("/deals", 200)
	if strings.Contains(page, "move-form") || !strings.Contains(page, `data-readonly="true"`) || !strings.Contains(page, "Beratung") {
		t.Error("read-only board offers moves")
	}
	ro.get("/deals/new", 403)
	if _, err := f.Auth.CreateRole(context.Background(), f.System(t, "alpha"), auth.RoleInput{Name: "Nur Kontakte", Permissions: []string{"contacts:read"}}, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}
	kurt := f.userBrowser(t, "alpha.test", "alpha", "kurt@alpha.test", "Nur Kontakte")
	for _, path := range []string{"/deals", "/deals/list", "/deals/new", "/deals/trash"} {
		kurt.get(path, 403)
	}
}

func TestDealMoveFromBoard(t *testing.T) {
	f, b := newDealFixture(t)
	ctx := context.Background()
	d := f.deal(t, f.anna, "Umzug", "Neu", "1000")
	f.deal(t, f.anna, "Andere", "Angebot", "250.50")
	path := "/deals/" + d.ID.String() + "/move"

	var ans moveAnswer
	status := b.postJSON(path, url.Values{"stage_id": {f.stages["Angebot"].ID.String()}, "version": {strconv.Itoa(d.Version)}}, &ans)
	if status != 200 || !ans.OK || ans.Deal.Version != d.Version+1 || ans.Deal.StageID != f.stages["Angebot"].ID {
		t.Fatalf("move: %d %+v", status, ans)
	}
	if n, total := ans.column(f.stages["Angebot"].ID); n != 2 || total != "1'250.50 CHF" {
		t.Errorf("Angebot column after the move: %d %q", n, total)
	}
	if n, total := ans.column(f.stages["Neu"].ID); n != 0 || total != "0.00 CHF" {
		t.Errorf("Neu column after the move: %d %q", n, total)
	}
	got, _ := f.svc.Deal(ctx, f.anna, d.ID)
	if got.StageID != f.stages["Angebot"].ID {
		t.Fatal("the move was not saved")
	}

	// A second board still holding the old version: refused, and told
	// where the deal is now and its version.
	ans = moveAnswer{}
	status = b.postJSON(path, url.Values{"stage_id": {f.stages["Verhandlung"].ID.String()}, "version": {strconv.Itoa(d.Version)}}, &ans)
	if status != http.StatusPreconditionFailed || ans.OK || !strings.Contains(ans.Message, "inzwischen geändert") ||
		ans.Deal == nil || ans.Deal.StageID != f.stages["Angebot"].ID || ans.Deal.Version != got.Version {
		t.Fatalf("stale move: %d %+v", status, ans)
	}
	if again, _ := f.svc.Deal(ctx, f.anna, d.ID); again.StageID != f.stages["Angebot"].ID || again.Version != got.Version {
		t.Fatal("a stale move changed the deal")
	}

	// Into a lost stage: without a reason the board is asked for one.
	ans = moveAnswer{}
	lost := f.stages["Verloren"].ID.String()
	status = b.postJSON(path, url.Values{"stage_id": {lost}, "version": {strconv.Itoa(got.Version)}}, &ans)
	if status != http.StatusUnprocessableEntity || !ans.NeedsReason || ans.OK {
		t.Fatalf("lost without reason: %d %+v", status, ans)
	}
	ans = moveAnswer{}
	status = b.postJSON(path, url.Values{"stage_id": {lost}, "version": {strconv.Itoa(got.Version)}, "lost_reason": {"Budget gestrichen"}}, &ans)
	if status != 200 || ans.Deal.Status != "lost" {
		t.Fatalf("lost with reason: %d %+v", status, ans)
	}
	if got, _ = f.svc.Deal(ctx, f.anna, d.ID); got.LostReason != "Budget gestrichen" {
		t.Errorf("lost reason %q", got.LostReason)
	}

	// Without the token the move is refused.
	resp, _ := b.do("POST", path, url.Values{"stage_id": {lost}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("move without CSRF token: %d", resp.StatusCode)
	}
	// A stage of nowhere is a clear error.
	ans = moveAnswer{}
	if status := b.postJSON(path, url.Values{"stage_id": {uuid.NewString()}, "version": {strconv.Itoa(got.Version)}}, &ans); status != 422 || ans.Message == "" {
		t.Errorf("unknown stage: %d %+v", status, ans)
	}
}

func TestDealMoveWithoutJavaScript(t *testing.T) {
	f, b := newDealFixture(t)
	ctx := context.Background()
	d := f.deal(t, f.anna, "Offerte Bäckerei", "Neu", "")
	path := "/deals/" + d.ID.String() + "/move"
	next := "/deals?pipeline=" + f.pl.ID.String()

	resp, _ := b.post(path, url.Values{"stage_id": {f.stages["Qualifiziert"].ID.String()}, "version": {"1"}, "next": {next}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != next {
		t.Fatalf("form move: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	page := b.get(next, 200)
	wantContains(t, "board after the move", page, "«Offerte Bäckerei» ist verschoben.")

	// Stale form: the flash says so, nothing changes.
	resp, _ = b.post(path, url.Values{"stage_id": {f.stages["Angebot"].ID.String()}, "version": {"1"}, "next": {next}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("stale form move: %d", resp.StatusCode)
	}
	wantContains(t, "board after a stale move", b.get(next, 200), "inzwischen geändert")

	// Lost without a reason: a page asks for it.
	lost := f.stages["Verloren"].ID.String()
	resp, _ = b.post(path, url.Values{"stage_id": {lost}, "version": {"2"}, "next": {next}})
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/deals/"+d.ID.String()+"/lost?") {
		t.Fatalf("lost without reason: %d %s", resp.StatusCode, loc)
	}
	page = b.get(loc, 200)
	assertNoInlineCode(t, page)
	wantContains(t, "lost page", page, `id="deal-lost-form"`, `name="lost_reason"`, "Offerte Bäckerei", "Verloren")
	resp, page = b.post(path, url.Values{"stage_id": {lost}, "version": {"2"}, "next": {next}, "lost_form": {"1"}, "lost_reason": {"  "}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `id="f-lost_reason-error"`) {
		t.Fatalf("lost page without reason: %d\n%s", resp.StatusCode, page)
	}
	resp, _ = b.post(path, url.Values{"stage_id": {lost}, "version": {"2"}, "next": {next}, "lost_form": {"1"}, "lost_reason": {"Zu teuer"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("lost page: %d", resp.StatusCode)
	}
	if got, _ := f.svc.Deal(ctx, f.anna, d.ID); got.Status != "lost" || got.LostReason != "Zu teuer" {
		t.Errorf("after the lost page: %+v", got)
	}
	// The lost page of an open stage makes no sense.
	b.get("/deals/"+d.ID.String()+"/lost?stage="+f.stages["Neu"].ID.String(), 404)
}

func TestDealScopesAndTenants(t *testing.T) {
	f, _ := newDealFixture(t)
	annas := f.deal(t, f.anna, "Annas Deal", "Neu", "")
	sales := f.userBrowser(t, "alpha.test", "alpha", "sven@alpha.test", "sales")
	id := annas.ID.String()

	// Sales read every deal but change only their own: a colleague's deal
	// cannot be moved, from the board or the form.
	page := sales.get("/deals/"+id, 200)
	if strings.Contains(page, `id="deal-move-form"`) || strings.Contains(page, `id="edit-deal"`) {
		t.Error("a colleague's deal offers changes")
	}
	if page = sales.get("/deals", 200); strings.Contains(page, "move-"+id) || !strings.Contains(page, "Annas Deal") {
		t.Error("the board offers to move a colleague's deal")
	}
	var ans moveAnswer
	if status := sales.postJSON("/deals/"+id+"/move", url.Values{"stage_id": {f.stages["Angebot"].ID.String()}}, &ans); status != 404 || ans.OK {
		t.Errorf("sales moves anna's deal: %d %+v", status, ans)
	}
	if resp, _ := sales.post("/deals/"+id+"/move", url.Values{"stage_id": {f.stages["Angebot"].ID.String()}}); resp.StatusCode != 404 {
		t.Errorf("sales moves anna's deal by form: %d", resp.StatusCode)
	}
	if resp, _ := sales.post("/deals/"+id, url.Values{"title": {"x"}, "stage_id": {f.stages["Neu"].ID.String()}, "currency": {"CHF"}}); resp.StatusCode != 404 {
		t.Errorf("sales edits anna's deal: %d", resp.StatusCode)
	}
	sales.get("/deals/"+id+"/edit", 404)
	if got, _ := f.svc.Deal(context.Background(), f.anna, annas.ID); got.Version != 1 {
		t.Error("anna's deal changed")
	}
	// The sales user's own deal moves.
	own := f.deal(t, f.principal(t, "alpha", "sven@alpha.test"), "Svens Deal", "Neu", "")
	ans = moveAnswer{}
	if status := sales.postJSON("/deals/"+own.ID.String()+"/move", url.Values{"stage_id": {f.stages["Angebot"].ID.String()}, "version": {"1"}}, &ans); status != 200 {
		t.Errorf("sales moves own deal: %d %+v", status, ans)
	}

	// Another tenant's deal does not exist here.
	beta := f.System(t, "beta")
	bpl, _ := f.svc.ListPipelines(context.Background(), beta)
	bd, err := f.svc.CreateDeal(context.Background(), beta, crm.DealInput{Title: ptrTo("Beta-Deal"), StageID: &bpl[0].Stages[0].ID}, auth.LoginMeta{})
	if err != nil {
		t.Fatal(err)
	}
	anna := f.browser(t, "alpha.test")
	anna.login("anna@alpha.test", testfix.Password)
	for _, path := range []string{"/deals/" + bd.ID.String(), "/deals/" + bd.ID.String() + "/edit", "/deals/not-a-uuid"} {
		anna.get(path, 404)
	}
	ans = moveAnswer{}
	if status := anna.postJSON("/deals/"+bd.ID.String()+"/move", url.Values{"stage_id": {bpl[0].Stages[1].ID.String()}}, &ans); status != 404 {
		t.Errorf("move of beta's deal from alpha: %d", status)
	}
	if resp, _ := anna.post("/deals/"+bd.ID.String()+"/delete", nil); resp.StatusCode != 404 {
		t.Errorf("delete of beta's deal from alpha: %d", resp.StatusCode)
	}
}

func ptrTo[T any](v T) *T { return &v }

func regexpFind(t *testing.T, s, expr string) string {
	t.Helper()
	m := regexp.MustCompile(expr).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("%s not found", expr)
	}
	return m[1]
}

func TestDealForms(t *testing.T) {
	f, b := newDealFixture(t)
	ctx := context.Background()
	company, err := f.svc.CreateCompany(ctx, f.anna, crm.CompanyInput{Name: ptrTo("Muster AG")}, auth.LoginMeta{})
	if err != nil {
		t.Fatal(err)
	}
	page := b.get("/deals/new", 200)
	assertNoInlineCode(t, page)
	wantContains(t, "new form", page, `id="deal-form"`, `for="f-title"`, `for="f-amount"`, `for="f-stage_id"`, `for="f-company"`,
		`hx-get="/deals/options/company"`, `<option value="CHF" selected>`, `for="f-expected_close"`, `for="f-probability"`)

	// Suggestions for the company field.
	opts := b.get("/deals/options/company?company=Must", 200)
	wantContains(t, "company options", opts, `<option value="Muster AG">`)

	// Bad input: the messages stand next to their fields, the input stays.
	resp, page := b.post("/deals", url.Values{"title": {""}, "amount": {"1'23.4"}, "currency": {"CHF"}, "stage_id": {f.stages["Neu"].ID.String()},
		"probability": {"viel"}, "company": {"Niemand GmbH"}, "expected_close": {"2026-13-45"}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad deal: %d", resp.StatusCode)
	}
	wantContains(t, "bad deal form", page, `id="f-probability-error"`, `id="f-company-error"`, "Keine Firma heisst «Niemand GmbH».", `value="1&#39;23.4"`)
	resp, page = b.post("/deals", url.Values{"title": {""}, "amount": {"1'23.4"}, "currency": {"CHF"}, "stage_id": {f.stages["Neu"].ID.String()},
		"expected_close": {"2026-13-45"}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad deal: %d", resp.StatusCode)
	}
	wantContains(t, "bad deal form (service)", page, `id="f-title-error"`, `id="f-amount-error"`, `id="f-expected_close-error"`, "Bitte korrigieren Sie")

	// A good deal, amount typed the Swiss way, company by its name.
	resp, _ = b.post("/deals", url.Values{"title": {"Neue Website"}, "amount": {"1'234.50"}, "currency": {"EUR"}, "stage_id": {f.stages["Angebot"].ID.String()},
		"company": {"muster ag"}, "expected_close": {"2026-12-31"}, "probability": {"40"}, "tags": {"Web, Priorität"}, "owner_id": {f.anna.UserID.String()}})
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/deals/") {
		t.Fatalf("create: %d %s", resp.StatusCode, loc)
	}
	id, _ := uuid.Parse(strings.TrimPrefix(loc, "/deals/"))
	d, err := f.svc.Deal(ctx, f.anna, id)
	if err != nil || *d.Amount != "1234.50" || d.Currency != "EUR" || d.CompanyID == nil || *d.CompanyID != company.ID ||
		*d.ExpectedClose != "2026-12-31" || d.Probability != 40 || len(d.Tags) != 2 {
		t.Fatalf("created %+v %v", d, err)
	}

	// Its page shows every field and links the company.
	page = b.get(loc, 200)
	assertNoInlineCode(t, page)
	wantContains(t, "deal page", page, "Neue Website", "1&#39;234.50 EUR", "31.12.2026", "40 %", `href="/companies/`+company.ID.String()+`"`,
		"Muster AG", "Gespeichert.", `id="timeline"`, "Erstellt", "Priorität", `id="deal-move-form"`, `id="delete-deal"`)

	// Edit: the form shows the Swiss amount; a stale version is refused.
	page = b.get(loc+"/edit", 200)
	wantContains(t, "edit form", page, `value="1&#39;234.50"`, `name="version" value="1"`, `value="Muster AG"`)
	form := url.Values{"title": {"Neue Website 2"}, "amount": {"2'000"}, "currency": {"EUR"}, "stage_id": {f.stages["Angebot"].ID.String()},
		"company": {"Muster AG"}, "company_id": {company.ID.String()}, "version": {"1"}, "owner_id": {f.anna.UserID.String()}}
	resp, _ = b.post(loc, form)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit: %d", resp.StatusCode)
	}
	resp, page = b.post(loc, form)
	if resp.StatusCode != http.StatusPreconditionFailed || !strings.Contains(page, "inzwischen geändert") || !strings.Contains(page, `value="Neue Website 2"`) {
		t.Fatalf("stale edit: %d", resp.StatusCode)
	}
	if d, _ = f.svc.Deal(ctx, f.anna, id); d.Title != "Neue Website 2" || *d.Amount != "2000.00" || d.Version != 2 {
		t.Errorf("after edit %+v", d)
	}
	// Moving to a lost stage through the form needs the reason.
	form.Set("version", "2")
	form.Set("stage_id", f.stages["Verloren"].ID.String())
	resp, page = b.post(loc, form)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `id="f-lost_reason-error"`) {
		t.Errorf("lost without reason in the form: %d", resp.StatusCode)
	}
	// CSRF.
	if resp, _ := b.do("POST", "/deals", url.Values{"title": {"x"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("create without token: %d", resp.StatusCode)
	}
}

func TestDealListTrashAndUndo(t *testing.T) {
	f, b := newDealFixture(t)
	ctx := context.Background()
	for i := range 52 {
		f.deal(t, f.anna, "Serie "+strconv.Itoa(100+i), "Neu", strconv.Itoa(i))
	}
	d := f.deal(t, f.anna, "Einzelstück", "Angebot", "99")

	page := b.get("/deals/list", 200)
	assertNoInlineCode(t, page)
	wantContains(t, "list", page, `id="deal-filters"`, `<th scope="col">`, "Einzelstück", `id="deal-more"`, `for="f-stage"`, `for="f-owner"`)
	if n := strings.Count(page, `<td><a href="/deals/`); n != 50 {
		t.Errorf("first page has %d deals, want 50", n)
	}
	// The next page, as htmx asks for it: rows only.
	more := regexpFind(t, page, `id="deal-more"[^>]*>.*?hx-get="([^"]+)"`)
	more = strings.ReplaceAll(more, "&amp;", "&")
	req, _ := http.NewRequest("GET", b.site.srv.URL+more, nil)
	req.Host = b.host
	req.Header.Set("HX-Request", "true")
	req.Header.Set("HX-Target", "deal-more")
	for _, c := range b.jar.Cookies(req.URL) {
		req.AddCookie(c)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if n := strings.Count(string(rows), "<tr>"); resp.StatusCode != 200 || n != 3 || strings.Contains(string(rows), "<html") || strings.Contains(string(rows), "deal-more") {
		t.Errorf("more rows: %d, %d rows\n%s", resp.StatusCode, n, rows)
	}
	// Without JavaScript the same link is a whole page.
	wantContains(t, "second page", b.get(more, 200), "<html", "deal-table")

	// Filters and sort.
	page = b.get("/deals/list?stage="+f.stages["Angebot"].ID.String(), 200)
	if !strings.Contains(page, "Einzelstück") || strings.Contains(page, "Serie 100") {
		t.Error("stage filter")
	}
	page = b.get("/deals/list?sort=-amount&q=Serie", 200)
	if i, j := strings.Index(page, "Serie 151"), strings.Index(page, "Serie 150"); i < 0 || j < 0 || i > j {
		t.Error("sort by amount descending")
	}
	if resp, page := b.do("GET", "/deals/list?sort=nonsense", nil); resp.StatusCode != 422 || !strings.Contains(page, `class="error"`) {
		t.Errorf("bad sort: %d", resp.StatusCode)
	}

	// Delete to the trash, with an undo in the flash.
	resp2, _ := b.post("/deals/"+d.ID.String()+"/delete", nil)
	if resp2.StatusCode != http.StatusSeeOther || resp2.Header.Get("Location") != "/deals/list" {
		t.Fatalf("delete: %d", resp2.StatusCode)
	}
	page = b.get("/deals/list", 200)
	wantContains(t, "flash after delete", page, "liegt im Papierkorb", `action="/deals/`+d.ID.String()+`/restore"`, "Rückgängig")
	b.get("/deals/"+d.ID.String(), 404)
	page = b.get("/deals/trash", 200)
	assertNoInlineCode(t, page)
	wantContains(t, "trash", page, "Einzelstück", "Wiederherstellen")
	resp2, _ = b.post("/deals/"+d.ID.String()+"/restore", nil)
	if resp2.StatusCode != http.StatusSeeOther {
		t.Fatalf("restore: %d", resp2.StatusCode)
	}
	if _, err := f.svc.Deal(ctx, f.anna, d.ID); err != nil {
		t.Errorf("restored deal: %v", err)
	}
	if resp, _ := b.do("POST", "/deals/"+d.ID.String()+"/delete", url.Values{}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("delete without token: %d", resp.StatusCode)
	}
	// Sales users may not see the trash of everybody's deals? They may
	// (own scope); read-only users may not.
	ro := f.userBrowser(t, "alpha.test", "alpha", "rita@alpha.test", "readonly")
	ro.get("/deals/trash", 403)
	if resp, _ := ro.post("/deals/"+d.ID.String()+"/delete", nil); resp.StatusCode != 403 {
		t.Errorf("read-only delete: %d", resp.StatusCode)
	}
}

// TestDealFormCustomFields checks that the deal form offers the tenant's
// custom fields of deals, shows a bad value next to its field and saves a
// good one.
func TestDealFormCustomFields(t *testing.T) {
	f, b := newDealFixture(t)
	ctx := context.Background()
	var in crm.CustomFieldInput
	if err := json.Unmarshal([]byte(`{"entity":"deal","key":"laufzeit","label":"Laufzeit (Monate)","type":"number"}`), &in); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CreateCustomField(ctx, f.anna, in, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}
	page := b.get("/deals/new", 200)
	wantContains(t, "new deal form", page, `name="custom_fields.laufzeit"`, "Laufzeit (Monate)")
	form := url.Values{"title": {"Wartung 2027"}, "currency": {"CHF"}, "stage_id": {f.stages["Neu"].ID.String()},
		"owner_id": {f.anna.UserID.String()}, "custom_fields.laufzeit": {"zwölf"}}
	resp, page := b.post("/deals", form)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad custom value: %d", resp.StatusCode)
	}
	wantContains(t, "refused form", page, `id="f-custom_fields.laufzeit-error"`, `value="zwölf"`)
	form.Set("custom_fields.laufzeit", "12")
	resp, _ = b.post("/deals", form)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("good custom value: %d", resp.StatusCode)
	}
	id, err := uuid.Parse(strings.TrimPrefix(resp.Header.Get("Location"), "/deals/"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := f.svc.Deal(ctx, f.anna, id)
	if err != nil || d.Custom["laufzeit"] != float64(12) {
		t.Fatalf("stored custom fields %v (%v)", d.Custom, err)
	}
	wantContains(t, "edit form", b.get("/deals/"+id.String()+"/edit", 200), `name="custom_fields.laufzeit"`, `value="12"`)
}

// TestDealPurge checks that a trashed deal can be deleted for good from the
// trash view, and only from there.
func TestDealPurge(t *testing.T) {
	f, b := newDealFixture(t)
	d := f.deal(t, f.anna, "Alte Offerte", "Neu", "100")
	if resp, _ := b.post("/deals/"+d.ID.String()+"/purge", nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("purge of a live deal: %d, want 404", resp.StatusCode)
	}
	if resp, _ := b.post("/deals/"+d.ID.String()+"/delete", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	wantContains(t, "trash", b.get("/deals/trash", 200), `action="/deals/`+d.ID.String()+`/purge"`)
	resp, _ := b.post("/deals/"+d.ID.String()+"/purge", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/deals/trash" {
		t.Fatalf("purge: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := b.post("/deals/"+d.ID.String()+"/restore", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("restore after purge: %d, want 404", resp.StatusCode)
	}
}
