package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/rpcrm/rpcrm/internal/testfix"
)

type stageJSON struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Position    int    `json:"position"`
	Kind        string `json:"kind"`
	Probability int    `json:"probability"`
	Version     int    `json:"version"`
}

type pipelineJSON struct {
	ID      string      `json:"id"`
	Name    string      `json:"name"`
	Version int         `json:"version"`
	Stages  []stageJSON `json:"stages"`
}

func (pl pipelineJSON) stage(t *testing.T, name string) stageJSON {
	t.Helper()
	for _, s := range pl.Stages {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no stage %q", name)
	return stageJSON{}
}

func (pl pipelineJSON) names() string {
	var out []string
	for i, s := range pl.Stages {
		if s.Position != i {
			out = append(out, "!position")
		}
		out = append(out, s.Name)
	}
	return strings.Join(out, ",")
}

// The decoded deal keeps the amount as raw JSON, to see its exact form.
type dealJSON struct {
	ID         string  `json:"id"`
	Title      string  `json:"title"`
	Currency   string  `json:"currency"`
	StageID    string  `json:"stage_id"`
	PipelineID string  `json:"pipeline_id"`
	Status     string  `json:"status"`
	WonAt      *string `json:"won_at"`
	LostAt     *string `json:"lost_at"`
	Version    int     `json:"version"`
}

func TestDealsAPI(t *testing.T) {
	t.Parallel()
	e := testfix.New(t)
	s := newServer(t, e, serverOptions{})
	e.CreateUser(t, "alpha", "admin@alpha.test", "admin")
	e.CreateUser(t, "alpha", "sales@alpha.test", "sales")
	e.CreateUser(t, "alpha", "viewer@alpha.test", "readonly")
	e.CreateUser(t, "beta", "admin@beta.test", "admin")
	admin := e.Login(t, "alpha", "admin@alpha.test").AccessToken
	sales := e.Login(t, "alpha", "sales@alpha.test").AccessToken
	viewer := e.Login(t, "alpha", "viewer@alpha.test").AccessToken
	betaAdmin := e.Login(t, "beta", "admin@beta.test").AccessToken

	var pls struct{ Items []pipelineJSON }
	s.do(t, request{Path: "/api/v1/pipelines", Token: viewer}).decode(t, &pls)
	if len(pls.Items) != 1 || pls.Items[0].names() != "Neu,Qualifiziert,Angebot,Verhandlung,Gewonnen,Verloren" {
		t.Fatalf("pipelines: %+v", pls.Items)
	}
	pl := pls.Items[0]
	plPath := "/api/v1/pipelines/" + pl.ID
	gewonnen, verloren := pl.stage(t, "Gewonnen"), pl.stage(t, "Verloren")

	var created dealJSON
	runScenarios(t, s, []scenario{
		{Name: "create with tenant currency and exact amount",
			request: request{Method: "POST", Path: "/api/v1/deals", Token: admin,
				Body: `{"title": "Relaunch", "amount": "12'500.5", "expected_close": "2026-12-31", "tags": ["Web"]}`},
			ExpectedStatus: 201, ExpectedHeaders: map[string]string{"ETag": `"1"`, "Location": "*"},
			ExpectedContent: []string{`"amount":"12500.50"`, `"currency":"CHF"`, `"status":"open"`, `"probability":10`,
				`"expected_close":"2026-12-31"`, `"stage_id":"` + pl.Stages[0].ID + `"`},
			After: func(t *testing.T, res *response) { res.decode(t, &created) }},
		{Name: "amount as JSON number keeps its digits",
			request: request{Method: "POST", Path: "/api/v1/deals", Token: admin,
				Body: `{"title": "Klein", "amount": 0.10, "currency": "eur"}`},
			ExpectedStatus: 201, ExpectedContent: []string{`"amount":"0.10"`, `"currency":"EUR"`}},
		{Name: "three decimals refused",
			request:        request{Method: "POST", Path: "/api/v1/deals", Token: admin, Body: `{"title": "x", "amount": "1.234"}`},
			ExpectedStatus: 422, ExpectedFields: []string{"amount"}},
		{Name: "many fields at once",
			request: request{Method: "POST", Path: "/api/v1/deals", Token: admin,
				Body: `{"title": "", "currency": "Franken", "probability": 120, "expected_close": "morgen"}`},
			ExpectedStatus: 422, ExpectedFields: []string{"title", "currency", "probability", "expected_close"}},
		{Name: "amount of wrong type",
			request:        request{Method: "POST", Path: "/api/v1/deals", Token: admin, Body: `{"title": "x", "amount": true}`},
			ExpectedStatus: 422, ExpectedFields: []string{"amount"}},
		{Name: "bad company id",
			request:        request{Method: "POST", Path: "/api/v1/deals", Token: admin, Body: `{"title": "x", "company_id": "nope"}`},
			ExpectedStatus: 422, ExpectedFields: []string{"company_id"}},
		{Name: "lost without reason",
			request:        request{Method: "POST", Path: "/api/v1/deals", Token: admin, Body: map[string]any{"title": "x", "stage_id": verloren.ID}},
			ExpectedStatus: 422, ExpectedFields: []string{"lost_reason"}},
		{Name: "readonly cannot create",
			request:        request{Method: "POST", Path: "/api/v1/deals", Token: viewer, Body: `{"title": "x"}`},
			ExpectedStatus: 403},
		{Name: "sales cannot manage pipelines",
			request:        request{Method: "POST", Path: "/api/v1/pipelines", Token: sales, Body: `{"name": "Meins"}`},
			ExpectedStatus: 403},
	})
	dealPath := "/api/v1/deals/" + created.ID

	runScenarios(t, s, []scenario{
		{Name: "stale If-Match", request: request{Method: "PATCH", Path: dealPath, Token: admin, Body: `{"title": "y"}`,
			Header: map[string]string{"If-Match": `"7"`}}, ExpectedStatus: 412, ExpectedCode: "precondition"},
		{Name: "won", request: request{Method: "PATCH", Path: dealPath, Token: admin, Body: map[string]any{"stage_id": gewonnen.ID},
			Header: map[string]string{"If-Match": `"1"`}},
			ExpectedStatus: 200, ExpectedContent: []string{`"status":"won"`, `"probability":100`, `"lost_at":null`, `"title":"Relaunch"`},
			NotExpectedContent: []string{`"won_at":null`}, ExpectedHeaders: map[string]string{"ETag": `"2"`}},
		{Name: "sales cannot change the admin's deal", request: request{Method: "PATCH", Path: dealPath, Token: sales, Body: `{"title": "z"}`},
			ExpectedStatus: 404},
		{Name: "sales sees it", request: request{Path: dealPath, Token: sales}, ExpectedStatus: 200},
		{Name: "filter won", request: request{Path: "/api/v1/deals?status=won", Token: viewer}, ExpectedStatus: 200,
			ExpectedContent: []string{created.ID}, NotExpectedContent: []string{`"Klein"`}},
		{Name: "sort by amount", request: request{Path: "/api/v1/deals?sort=-amount&limit=1", Token: viewer}, ExpectedStatus: 200,
			ExpectedContent: []string{`"Relaunch"`, `"next_cursor"`}},
		{Name: "bad filters", request: request{Path: "/api/v1/deals?status=x&stage_id=1&expected_close_from=gestern", Token: viewer},
			ExpectedStatus: 422, ExpectedFields: []string{"stage_id", "expected_close_from"}},
		{Name: "bad status", request: request{Path: "/api/v1/deals?status=x", Token: viewer},
			ExpectedStatus: 422, ExpectedFields: []string{"status"}},
		{Name: "board", request: request{Path: plPath + "/board?limit=5", Token: viewer}, ExpectedStatus: 200,
			ExpectedContent: []string{`"totals":[{"currency":"CHF","amount":"12500.50"}]`, `"count":1`, `{"currency":"EUR","amount":"0.10"}`}},
		{Name: "board limit", request: request{Path: plPath + "/board?limit=500", Token: viewer}, ExpectedStatus: 422,
			ExpectedFields: []string{"limit"}},
	})

	// Stages: removal needs move_to while deals are in it; reorder needs a permutation.
	runScenarios(t, s, []scenario{
		{Name: "remove stage with deals", request: request{Method: "DELETE", Path: plPath + "/stages/" + gewonnen.ID, Token: admin},
			ExpectedStatus: 409, ExpectedContent: []string{"move_to"}},
		{Name: "move_to not a stage of the pipeline", request: request{Method: "DELETE",
			Path: plPath + "/stages/" + gewonnen.ID + "?move_to=" + created.ID, Token: admin},
			ExpectedStatus: 422, ExpectedFields: []string{"move_to"}},
		{Name: "reorder not a permutation", request: request{Method: "PUT", Path: plPath + "/stages/order", Token: admin,
			Body: map[string]any{"stage_ids": []string{gewonnen.ID}}}, ExpectedStatus: 422, ExpectedFields: []string{"stage_ids"}},
		{Name: "add stage", request: request{Method: "POST", Path: plPath + "/stages", Token: admin,
			Body: `{"name": "Abgeschlossen", "kind": "won", "position": 0}`}, ExpectedStatus: 201,
			ExpectedContent: []string{`"name":"Abgeschlossen","position":0,"kind":"won","probability":100`}},
	})
	var now pipelineJSON
	s.do(t, request{Path: plPath, Token: admin}).decode(t, &now)
	abgeschlossen := now.stage(t, "Abgeschlossen")
	res := s.do(t, request{Method: "DELETE", Path: plPath + "/stages/" + gewonnen.ID + "?move_to=" + abgeschlossen.ID, Token: admin})
	if res.Status != 200 {
		t.Fatalf("delete with move_to: %d %s", res.Status, res.Body)
	}
	res.decode(t, &now)
	if now.names() != "Abgeschlossen,Neu,Qualifiziert,Angebot,Verhandlung,Verloren" {
		t.Errorf("stages after delete: %s", now.names())
	}
	var d dealJSON
	s.do(t, request{Path: dealPath, Token: admin}).decode(t, &d)
	if d.StageID != abgeschlossen.ID || d.Status != "won" || d.WonAt == nil {
		t.Errorf("deal after its stage was removed: %+v", d)
	}
	ids := make([]string, len(now.Stages))
	for i, st := range now.Stages {
		ids[len(ids)-1-i] = st.ID
	}
	runScenarios(t, s, []scenario{
		{Name: "reorder stale", request: request{Method: "PUT", Path: plPath + "/stages/order", Token: admin,
			Body: map[string]any{"stage_ids": ids}, Header: map[string]string{"If-Match": `"1"`}}, ExpectedStatus: 412},
		{Name: "reorder", request: request{Method: "PUT", Path: plPath + "/stages/order", Token: admin,
			Body: map[string]any{"stage_ids": ids, "version": now.Version}}, ExpectedStatus: 200,
			After: func(t *testing.T, res *response) {
				var got pipelineJSON
				res.decode(t, &got)
				if got.names() != "Verloren,Verhandlung,Angebot,Qualifiziert,Neu,Abgeschlossen" {
					t.Errorf("reordered: %s", got.names())
				}
			}},
		{Name: "rename stage", request: request{Method: "PATCH", Path: plPath + "/stages/" + abgeschlossen.ID, Token: admin,
			Body: `{"name": "Gewonnen"}`, Header: map[string]string{"If-Match": `"99"`}}, ExpectedStatus: 412},
		{Name: "delete pipeline with deals", request: request{Method: "DELETE", Path: plPath, Token: admin}, ExpectedStatus: 409},
		{Name: "duplicate pipeline name", request: request{Method: "POST", Path: "/api/v1/pipelines", Token: admin,
			Body: `{"name": "verkauf"}`}, ExpectedStatus: 409, ExpectedFields: []string{"name"}},
	})

	// Another tenant: every verb on alpha's IDs answers 404, and changes nothing.
	stagePath := plPath + "/stages/" + abgeschlossen.ID
	for _, r := range []request{
		{Path: dealPath}, {Method: "PATCH", Path: dealPath, Body: `{"title": "x"}`}, {Method: "DELETE", Path: dealPath},
		{Method: "POST", Path: dealPath + "/restore"}, {Method: "DELETE", Path: "/api/v1/deals/trash/" + created.ID},
		{Path: plPath}, {Method: "PATCH", Path: plPath, Body: `{"name": "x"}`}, {Method: "DELETE", Path: plPath},
		{Path: plPath + "/board"}, {Method: "POST", Path: plPath + "/stages", Body: `{"name": "x"}`},
		{Method: "PATCH", Path: stagePath, Body: `{"name": "x"}`}, {Method: "DELETE", Path: stagePath},
		{Method: "PUT", Path: plPath + "/stages/order", Body: `{"stage_ids": []}`},
	} {
		r.Host, r.Token = "beta.test", betaAdmin
		scenario{Name: r.Method + " " + r.Path, request: r, ExpectedStatus: 404}.run(t, s)
	}
	s.do(t, request{Path: dealPath, Token: admin}).decode(t, &d)
	if d.Version != 3 || d.Title != "Relaunch" {
		t.Errorf("deal changed by another tenant: %+v", d)
	}

	// Trash over the API.
	runScenarios(t, s, []scenario{
		{Name: "delete", request: request{Method: "DELETE", Path: dealPath, Token: admin}, ExpectedStatus: 204},
		{Name: "gone", request: request{Path: dealPath, Token: admin}, ExpectedStatus: 404},
		{Name: "trash lists it", request: request{Path: "/api/v1/deals/trash", Token: admin}, ExpectedStatus: 200,
			ExpectedContent: []string{created.ID}},
		{Name: "restore", request: request{Method: "POST", Path: dealPath + "/restore", Token: admin}, ExpectedStatus: 200},
		{Name: "delete again", request: request{Method: "DELETE", Path: dealPath, Token: admin}, ExpectedStatus: 204},
		{Name: "purge", request: request{Method: "DELETE", Path: "/api/v1/deals/trash/" + created.ID, Token: admin}, ExpectedStatus: 204},
		{Name: "purged", request: request{Method: "POST", Path: dealPath + "/restore", Token: admin}, ExpectedStatus: 404},
	})
	var actions []string
	for _, en := range s.auditEntries(t, "alpha.test", admin, "entity_id="+created.ID) {
		actions = append(actions, en["action"].(string))
	}
	got := strings.Join(actions, " ")
	for _, want := range []string{"deal.create", "deal.update", "deal.delete", "deal.restore", "deal.purge"} {
		if !strings.Contains(got, want) {
			t.Errorf("audit of the deal lacks %s: %s", want, got)
		}
	}
	if res := s.do(t, request{Path: "/api/v1/deals", Token: admin}); res.Status != http.StatusOK || strings.Contains(string(res.Body), created.ID) {
		t.Errorf("purged deal still listed: %d", res.Status)
	}
}
