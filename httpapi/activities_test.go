package httpapi_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rpcrm/rpcrm/internal/testfix"
)

// actPost creates a record over the API and returns its id.
func actPost(t *testing.T, s *testServer, token, path string, body any) string {
	t.Helper()
	res := s.do(t, request{Method: "POST", Path: path, Token: token, Body: body})
	if res.Status != http.StatusCreated {
		t.Fatalf("POST %s: %d %s", path, res.Status, res.Body)
	}
	return res.object(t)["id"].(string)
}

// actSQL runs raw SQL as the application role in a tenant's transaction.
func actSQL(t *testing.T, e *testfix.Env, slug, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	err := e.DB.InTenant(ctx, e.Tenant(t, slug).UUID(), func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, sql, args...)
		return err
	})
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func TestActivitiesAPI(t *testing.T) {
	t.Parallel()
	e := testfix.New(t)
	s := newServer(t, e, serverOptions{})
	e.CreateUser(t, "alpha", "admin@alpha.test", "admin")
	admin := e.Login(t, "alpha", "admin@alpha.test").AccessToken
	e.CreateUser(t, "alpha", "leser@alpha.test", "readonly")
	reader := e.Login(t, "alpha", "leser@alpha.test").AccessToken
	e.CreateUser(t, "beta", "admin@beta.test", "admin")
	beta := e.Login(t, "beta", "admin@beta.test").AccessToken

	company := actPost(t, s, admin, "/api/v1/companies", map[string]any{"name": "Muster AG"})
	contact, deal, pipeline, stage := uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()
	actSQL(t, e, "alpha", `INSERT INTO contacts (tenant_id, id, first_name, last_name) VALUES (app_tenant_id(), $1, 'Heidi', 'Muster')`, contact)
	actSQL(t, e, "alpha", `INSERT INTO pipelines (tenant_id, id, name) VALUES (app_tenant_id(), $1, 'Aktivitäten-Test')`, pipeline)
	actSQL(t, e, "alpha", `INSERT INTO stages (tenant_id, id, pipeline_id, name, position) VALUES (app_tenant_id(), $1, $2, 'Neu', 1)`, stage, pipeline)
	actSQL(t, e, "alpha", `INSERT INTO deals (tenant_id, id, title, pipeline_id, stage_id) VALUES (app_tenant_id(), $1, 'Auftrag', $2, $3)`,
		deal, pipeline, stage)

	xss := "**Achtung** <script>alert(1)</script> [klick](javascript:alert(1)) <img src=x onerror=alert(1)>\n- [ok](https://beispiel.ch)"
	task := actPost(t, s, admin, "/api/v1/activities", map[string]any{"kind": "task", "subject": "Offerte nachfassen",
		"body": xss, "body_format": "markdown", "due_at": "2020-01-31T10:00:00+01:00",
		"company_id": company, "contact_id": contact, "deal_id": deal})
	act := "/api/v1/activities/" + task

	runScenarios(t, s, []scenario{
		{Name: "validation", request: request{Method: "POST", Path: "/api/v1/activities", Token: admin,
			Body: map[string]any{"kind": "fax", "subject": "", "due_at": "morgen", "company_id": "x", "contact_id": uuid.NewString(),
				"body_format": "html"}},
			ExpectedStatus: 422, ExpectedCode: "invalid",
			ExpectedFields: []string{"kind", "subject", "due_at", "company_id", "contact_id", "body_format"}},
		{Name: "wrong type", request: request{Method: "POST", Path: "/api/v1/activities", Token: admin,
			Body: `{"kind": "note", "subject": "x", "due_at": 20260131}`},
			ExpectedStatus: 422, ExpectedFields: []string{"due_at"}},
		{Name: "owner is not an input", request: request{Method: "POST", Path: "/api/v1/activities", Token: admin,
			Body: map[string]any{"kind": "note", "subject": "x", "owner_id": uuid.NewString()}},
			ExpectedStatus: 422, ExpectedFields: []string{"owner_id"}},
		{Name: "readonly may not create", request: request{Method: "POST", Path: "/api/v1/activities", Token: reader,
			Body: map[string]any{"kind": "note", "subject": "x"}}, ExpectedStatus: 403},
		{Name: "sanitised body", request: request{Path: act, Token: admin}, ExpectedStatus: 200,
			ExpectedHeaders: map[string]string{"ETag": `"1"`},
			ExpectedContent: []string{`"body_html":"\u003cp\u003e\u003cstrong\u003eAchtung\u003c/strong\u003e \u0026lt;script\u0026gt;`,
				`\u003ca href=\"https://beispiel.ch\" rel=\"nofollow noopener noreferrer\"\u003eok\u003c/a\u003e`,
				`"overdue":true`, `"done":false`, `"kind":"task"`},
			After: func(t *testing.T, res *response) {
				html := res.object(t)["body_html"].(string)
				for _, bad := range []string{"<script", "javascript:", "<img", "onerror=\"", "href=\"javascript"} {
					if strings.Contains(html, bad) {
						t.Errorf("body_html contains %q: %s", bad, html)
					}
				}
				if res.object(t)["body"] != xss {
					t.Errorf("body not stored as written: %v", res.object(t)["body"])
				}
			}},
		{Name: "stale If-Match", request: request{Method: "PATCH", Path: act, Token: admin, Header: map[string]string{"If-Match": `"7"`},
			Body: map[string]any{"subject": "Neu"}}, ExpectedStatus: 412, ExpectedCode: "precondition"},
		{Name: "stale version in body", request: request{Method: "PATCH", Path: act, Token: admin,
			Body: map[string]any{"subject": "Neu", "version": 3}}, ExpectedStatus: 412},
		{Name: "patch", request: request{Method: "PATCH", Path: act, Token: admin, Header: map[string]string{"If-Match": `"1"`},
			Body: map[string]any{"subject": "Offerte senden", "deal_id": nil}}, ExpectedStatus: 200,
			ExpectedHeaders: map[string]string{"ETag": `"2"`},
			ExpectedContent: []string{`"subject":"Offerte senden"`, `"deal_id":null`, `"company_id":"` + company + `"`}},
		{Name: "done", request: request{Method: "POST", Path: act + "/done", Token: admin, Header: map[string]string{"If-Match": `"2"`}},
			ExpectedStatus: 200, ExpectedContent: []string{`"done":true`, `"overdue":false`}, NotExpectedContent: []string{`"done_at":null`}},
		{Name: "done with stale version", request: request{Method: "POST", Path: act + "/undone", Token: admin, Header: map[string]string{"If-Match": `"2"`}},
			ExpectedStatus: 412},
		{Name: "undone", request: request{Method: "POST", Path: act + "/undone", Token: admin},
			ExpectedStatus: 200, ExpectedContent: []string{`"done":false`, `"done_at":null`, `"version":4`}},
		{Name: "list filters", request: request{Path: "/api/v1/activities?kind=task&open=true&company_id=" + company +
			"&due_before=2021-01-01T00:00:00Z&sort=-due_at", Token: admin}, ExpectedStatus: 200, ExpectedContent: []string{task}},
		{Name: "list filters exclude", request: request{Path: "/api/v1/activities?open=false", Token: admin},
			ExpectedStatus: 200, NotExpectedContent: []string{task}},
		{Name: "bad filters", request: request{Path: "/api/v1/activities?open=vielleicht&due_after=gestern&contact_id=x&kind=fax", Token: admin},
			ExpectedStatus: 422, ExpectedFields: []string{"open", "due_after", "contact_id"}},
		{Name: "bad kind filter", request: request{Path: "/api/v1/activities?kind=fax", Token: admin},
			ExpectedStatus: 422, ExpectedFields: []string{"kind"}},
		{Name: "my tasks", request: request{Path: "/api/v1/tasks/mine?limit=10", Token: admin},
			ExpectedStatus: 200, ExpectedContent: []string{task, `"overdue":true`}},
		{Name: "my tasks of someone else", request: request{Path: "/api/v1/tasks/mine", Token: reader},
			ExpectedStatus: 200, ExpectedContent: []string{`"items":[]`}},
		{Name: "company timeline", request: request{Path: "/api/v1/companies/" + company + "/timeline", Token: admin},
			ExpectedStatus: 200, ExpectedContent: []string{`"type":"activity"`, `"type":"change"`, `"action":"company.create"`, task},
			NotExpectedContent: []string{"<script"}},
		{Name: "contact timeline", request: request{Path: "/api/v1/contacts/" + contact + "/timeline", Token: reader},
			ExpectedStatus: 200, ExpectedContent: []string{task}},
		{Name: "deal timeline after unlinking", request: request{Path: "/api/v1/deals/" + deal + "/timeline", Token: admin},
			ExpectedStatus: 200, ExpectedContent: []string{`"items":[]`}},
		{Name: "timeline of a missing contact", request: request{Path: "/api/v1/contacts/" + uuid.NewString() + "/timeline", Token: admin},
			ExpectedStatus: 404},
		{Name: "timeline paging", request: request{Path: "/api/v1/companies/" + company + "/timeline?limit=1", Token: admin},
			ExpectedStatus: 200, ExpectedContent: []string{`"next_cursor":"`}},
		{Name: "timeline bad cursor", request: request{Path: "/api/v1/companies/" + company + "/timeline?cursor=x", Token: admin},
			ExpectedStatus: 422, ExpectedFields: []string{"cursor"}},
	})

	// Another tenant gets 404 for every verb, and nothing changes.
	betaVerbs := []request{
		{Path: act}, {Method: "PATCH", Path: act, Body: map[string]any{"subject": "x"}},
		{Method: "POST", Path: act + "/done"}, {Method: "POST", Path: act + "/undone"},
		{Method: "DELETE", Path: act}, {Method: "POST", Path: act + "/restore"},
		{Method: "DELETE", Path: "/api/v1/activities/trash/" + task},
		{Path: "/api/v1/companies/" + company + "/timeline"}, {Path: "/api/v1/contacts/" + contact + "/timeline"},
		{Path: "/api/v1/deals/" + deal + "/timeline"},
	}
	for _, r := range betaVerbs {
		r.Host, r.Token = "beta.test", beta
		scenario{Name: "beta " + r.Method + " " + r.Path, request: r, ExpectedStatus: 404, ExpectedCode: "not_found"}.run(t, s)
	}
	res := s.do(t, request{Path: "/api/v1/activities", Host: "beta.test", Token: beta})
	if res.Status != 200 || strings.Contains(string(res.Body), task) {
		t.Errorf("beta list: %d %s", res.Status, res.Body)
	}

	// Trash: delete, list, restore, delete, purge.
	runScenarios(t, s, []scenario{
		{Name: "purge live", request: request{Method: "DELETE", Path: "/api/v1/activities/trash/" + task, Token: admin}, ExpectedStatus: 404},
		{Name: "delete", request: request{Method: "DELETE", Path: act, Token: admin}, ExpectedStatus: 204},
		{Name: "get trashed", request: request{Path: act, Token: admin}, ExpectedStatus: 404},
		{Name: "trash list", request: request{Path: "/api/v1/activities/trash", Token: admin}, ExpectedStatus: 200,
			ExpectedContent: []string{task, `"deleted_at":"`}},
		{Name: "restore", request: request{Method: "POST", Path: act + "/restore", Token: admin}, ExpectedStatus: 200,
			NotExpectedContent: []string{`"deleted_at"`}},
		{Name: "delete again", request: request{Method: "DELETE", Path: act, Token: admin}, ExpectedStatus: 204},
		{Name: "purge", request: request{Method: "DELETE", Path: "/api/v1/activities/trash/" + task, Token: admin}, ExpectedStatus: 204},
		{Name: "gone", request: request{Method: "POST", Path: act + "/restore", Token: admin}, ExpectedStatus: 404},
	})

	var actions []string
	for _, en := range s.auditEntries(t, "alpha.test", admin, "entity_type=activity&entity_id="+task) {
		actions = append(actions, en["action"].(string))
	}
	want := []string{"activity.purge", "activity.delete", "activity.restore", "activity.delete",
		"activity.update", "activity.update", "activity.update", "activity.create"}
	if !slices.Equal(actions, want) {
		t.Errorf("audit %v, want %v", actions, want)
	}
}
