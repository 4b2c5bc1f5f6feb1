package web_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
)

func (f *dealFixture) task(t *testing.T, p *auth.Principal, subject string, due time.Time, done bool) *crm.Activity {
	t.Helper()
	kind := crm.KindTask
	in := crm.ActivityInput{Kind: &kind, Subject: &subject, Done: &done, DueAt: crm.Clearable{Set: true, Value: due.Format(time.RFC3339)}}
	a, err := f.svc.CreateActivity(context.Background(), p, in, auth.LoginMeta{})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// htmxPost posts a form as htmx does (token in the header).
func (b *browser) htmxPost(path string, form url.Values) (int, string) {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.site.srv.URL+path, strings.NewReader(form.Encode()))
	req.Host = b.host
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("HX-Request", "true")
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
	return resp.StatusCode, string(data)
}

func TestTasks(t *testing.T) {
	f, b := newDealFixture(t)
	ctx := context.Background()
	now := time.Now()
	sales := f.userBrowser(t, "alpha.test", "alpha", "sven@alpha.test", "sales")
	sven := f.principal(t, "alpha", "sven@alpha.test")
	offerte := f.task(t, f.anna, "Offerte nachfassen", now.Add(24*time.Hour), false)
	rueckruf := f.task(t, f.anna, "Rückruf Frau Meier", now.Add(-24*time.Hour), false)
	f.task(t, f.anna, "Vertrag abgelegt", now.Add(-48*time.Hour), true)
	f.task(t, sven, "Svens Besuch", now.Add(48*time.Hour), false)

	page := b.get("/tasks", 200)
	assertNoInlineCode(t, page)
	wantContains(t, "my due tasks", page, "Offerte nachfassen", `id="tab-overdue"`, `id="scope-team"`, `aria-current="page"`, `<th scope="col">`,
		`hx-post="/tasks/`+offerte.ID.String()+`/done"`, "als erledigt markieren")
	if strings.Contains(page, "Rückruf") || strings.Contains(page, "Svens Besuch") || strings.Contains(page, "Vertrag abgelegt") {
		t.Error("my due tasks list other tasks")
	}
	page = b.get("/tasks?tab=overdue", 200)
	if !strings.Contains(page, "Rückruf Frau Meier") || !strings.Contains(page, "überfällig") || strings.Contains(page, "Offerte nachfassen") {
		t.Error("overdue tab")
	}
	page = b.get("/tasks?tab=done", 200)
	if !strings.Contains(page, "Vertrag abgelegt") || strings.Contains(page, "Offerte nachfassen") {
		t.Error("done tab")
	}
	page = b.get("/tasks?scope=team&tab=due", 200)
	wantContains(t, "team tasks", page, "Offerte nachfassen", "Svens Besuch", "Test sven@alpha.test")

	// Checking off in place: htmx gets the row back, done.
	status, row := b.htmxPost("/tasks/"+offerte.ID.String()+"/done", url.Values{"version": {"1"}, "next": {"/tasks"}})
	if status != 200 || !strings.Contains(row, `id="task-`+offerte.ID.String()+`"`) || !strings.Contains(row, "erledigt") ||
		!strings.Contains(row, "/open") || strings.Contains(row, "<html") {
		t.Fatalf("check off: %d\n%s", status, row)
	}
	if a, _ := f.svc.Activity(ctx, f.anna, offerte.ID); !a.Done {
		t.Fatal("the task is not done")
	}
	// The same click from a stale page: refused with a message.
	status, row = b.htmxPost("/tasks/"+offerte.ID.String()+"/done", url.Values{"version": {"1"}})
	if status != http.StatusPreconditionFailed || !strings.Contains(row, "inzwischen geändert") {
		t.Errorf("stale check off: %d %s", status, row)
	}
	// Without JavaScript: a form post and back to the list.
	resp, _ := b.post("/tasks/"+rueckruf.ID.String()+"/done", url.Values{"version": {"1"}, "next": {"/tasks?scope=mine&tab=overdue"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/tasks?scope=mine&tab=overdue" {
		t.Fatalf("check off by form: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	page = b.get("/tasks?scope=mine&tab=overdue", 200)
	if !strings.Contains(page, "«Rückruf Frau Meier» ist erledigt.") || strings.Contains(page, `id="task-`+rueckruf.ID.String()+`"`) {
		t.Error("after the form check off")
	}
	// Open again.
	if resp, _ := b.post("/tasks/"+rueckruf.ID.String()+"/open", url.Values{"version": {"2"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("reopen: %d", resp.StatusCode)
	}
	if a, _ := f.svc.Activity(ctx, f.anna, rueckruf.ID); a.Done {
		t.Error("reopen did not open")
	}
	if resp, _ := b.do("POST", "/tasks/"+rueckruf.ID.String()+"/done", url.Values{"version": {"3"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("check off without token: %d", resp.StatusCode)
	}

	// A sales user sees the team's tasks but checks off only their own.
	page = sales.get("/tasks?scope=team&tab=overdue", 200)
	if !strings.Contains(page, "Rückruf Frau Meier") || strings.Contains(page, `/tasks/`+rueckruf.ID.String()+`/done`) {
		t.Error("sales: team tasks offer to check off a colleague's task")
	}
	if status, _ := sales.htmxPost("/tasks/"+rueckruf.ID.String()+"/done", url.Values{}); status != 404 {
		t.Errorf("sales checks off anna's task: %d", status)
	}
	// Another tenant's task does not exist here.
	beta := f.System(t, "beta")
	kind := crm.KindTask
	ba, err := f.svc.CreateActivity(ctx, beta, crm.ActivityInput{Kind: &kind, Subject: ptrTo("Beta")}, auth.LoginMeta{})
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ := b.post("/tasks/"+ba.ID.String()+"/done", url.Values{}); resp.StatusCode != 404 {
		t.Errorf("beta's task from alpha: %d", resp.StatusCode)
	}
	if _, err := f.Auth.CreateRole(ctx, f.System(t, "alpha"), auth.RoleInput{Name: "Nur Kontakte", Permissions: []string{"contacts:read"}}, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}
	kurt := f.userBrowser(t, "alpha.test", "alpha", "kurt@alpha.test", "Nur Kontakte")
	kurt.get("/tasks", 403)
	kurt.get("/tasks/new", 403)
	ro := f.userBrowser(t, "alpha.test", "alpha", "rita@alpha.test", "readonly")
	if page := ro.get("/tasks?scope=team", 200); strings.Contains(page, "/done") || strings.Contains(page, `id="new-task"`) {
		t.Error("read-only user may check off")
	}
	ro.get("/tasks/new", 403)
}

func TestTaskForm(t *testing.T) {
	f, b := newDealFixture(t)
	d := f.deal(t, f.anna, "Ausbau Filiale", "Neu", "")
	page := b.get("/tasks/new?deal_id="+d.ID.String(), 200)
	assertNoInlineCode(t, page)
	wantContains(t, "task form", page, `id="task-form"`, `for="f-subject"`, `for="f-due_date"`, `for="f-due_time"`, `for="f-assignee_id"`,
		"Ausbau Filiale", `name="deal_id" value="`+d.ID.String()+`"`)

	resp, page := b.post("/tasks", url.Values{"subject": {" "}, "due_date": {"2026-02-30"}, "assignee_id": {f.anna.UserID.String()}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `id="f-due_date-error"`) {
		t.Fatalf("bad date: %d", resp.StatusCode)
	}
	resp, page = b.post("/tasks", url.Values{"subject": {" "}, "due_date": {"2026-12-01"}, "assignee_id": {f.anna.UserID.String()}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `id="f-subject-error"`) || !strings.Contains(page, `value="2026-12-01"`) {
		t.Fatalf("no subject: %d", resp.StatusCode)
	}
	resp, _ = b.post("/tasks", url.Values{"subject": {"Pläne senden"}, "due_date": {"2030-05-04"}, "due_time": {"09:30"},
		"assignee_id": {f.anna.UserID.String()}, "deal_id": {d.ID.String()}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/deals/"+d.ID.String() {
		t.Fatalf("create: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	page = b.get("/deals/"+d.ID.String(), 200)
	wantContains(t, "deal page after the task", page, "Pläne senden", "Die Aufgabe «Pläne senden» ist erfasst.")
	page = b.get("/tasks", 200)
	wantContains(t, "task list", page, "Pläne senden", "04.05.2030 09:30", "Ausbau Filiale")
	if resp, _ := b.do("POST", "/tasks", url.Values{"subject": {"x"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("create without token: %d", resp.StatusCode)
	}
}
