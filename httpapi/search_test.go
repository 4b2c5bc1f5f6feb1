package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rpcrm/rpcrm/internal/testfix"
)

// searchInsert runs one insert as the application role in a tenant.
func searchInsert(t *testing.T, e *testfix.Env, slug, sql string, args ...any) {
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

type searchAnswer map[string][]struct {
	ID       uuid.UUID `json:"id"`
	Type     string    `json:"type"`
	Title    string    `json:"title"`
	Subtitle string    `json:"subtitle"`
	Score    float64   `json:"score"`
}

func TestSearchAPI(t *testing.T) {
	t.Parallel()
	e := testfix.New(t)
	s := newServer(t, e, serverOptions{})

	e.CreateUser(t, "alpha", "admin@alpha.test", "admin")
	admin := e.Login(t, "alpha", "admin@alpha.test").AccessToken
	ownRole := customRole(t, e, "alpha", "Eigene Kontakte", "contacts:read:own")
	owner := userWithRoles(t, e, "alpha", "own@alpha.test", ownRole.ID)
	own := e.Login(t, "alpha", "own@alpha.test").AccessToken
	none := customRole(t, e, "alpha", "Keine Rechte")
	userWithRoles(t, e, "alpha", "none@alpha.test", none.ID)
	noPerm := e.Login(t, "alpha", "none@alpha.test").AccessToken
	e.CreateUser(t, "beta", "admin@beta.test", "admin")
	betaAdmin := e.Login(t, "beta", "admin@beta.test").AccessToken

	company, hans, eva, deal := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	pipeline, stage := uuid.New(), uuid.New()
	searchInsert(t, e, "alpha", `INSERT INTO companies (tenant_id, id, name, city) VALUES ($1, $2, 'Müller Holzbau AG', 'Zürich')`,
		e.Tenant(t, "alpha").UUID(), company)
	searchInsert(t, e, "alpha", `INSERT INTO contacts (tenant_id, id, first_name, last_name, emails, phones, company_id)
		VALUES ($1, $2, 'Hans', 'Müller', '{hans@example.ch}', '{+41441234567}', $3)`, e.Tenant(t, "alpha").UUID(), hans, company)
	searchInsert(t, e, "alpha", `INSERT INTO contacts (tenant_id, id, first_name, last_name, owner_id)
		VALUES ($1, $2, 'Eva', 'Mueller', $3)`, e.Tenant(t, "alpha").UUID(), eva, owner.ID)
	searchInsert(t, e, "alpha", `INSERT INTO pipelines (tenant_id, id, name) VALUES ($1, $2, 'Test-Pipeline')`, e.Tenant(t, "alpha").UUID(), pipeline)
	searchInsert(t, e, "alpha", `INSERT INTO stages (tenant_id, id, pipeline_id, name, position) VALUES ($1, $2, $3, 'Offerte', 1)`,
		e.Tenant(t, "alpha").UUID(), stage, pipeline)
	searchInsert(t, e, "alpha", `INSERT INTO deals (tenant_id, id, title, amount, pipeline_id, stage_id)
		VALUES ($1, $2, 'Dachstock Müller', 12500, $3, $4)`, e.Tenant(t, "alpha").UUID(), deal, pipeline, stage)
	searchInsert(t, e, "beta", `INSERT INTO contacts (tenant_id, id, first_name, last_name) VALUES ($1, $2, 'Beta', 'Müller')`,
		e.Tenant(t, "beta").UUID(), uuid.New())

	answer := func(t *testing.T, res *response) searchAnswer {
		var a searchAnswer
		res.decode(t, &a)
		return a
	}
	long := strings.Repeat("x", 201)
	runScenarios(t, s, []scenario{
		{Name: "all types, German spelling", request: request{Path: "/api/v1/search?q=mueller", Token: admin},
			ExpectedStatus: 200,
			ExpectedContent: []string{`"companies":[`, `"contacts":[`, `"deals":[`, `"title":"Hans Müller"`,
				`"subtitle":"Müller Holzbau AG"`, `"subtitle":"CHF 12500.00 · Offerte"`, `"type":"deal"`},
			NotExpectedContent: []string{"Beta"},
			After: func(t *testing.T, res *response) {
				a := answer(t, res)
				if len(a["contacts"]) != 2 || len(a["companies"]) != 1 || len(a["deals"]) != 1 {
					t.Fatalf("hits: %s", res.Body)
				}
				c := a["companies"][0]
				if c.ID != company || c.Type != "company" || c.Title != "Müller Holzbau AG" || c.Subtitle != "Zürich" || c.Score < 1 {
					t.Errorf("company hit %+v", c)
				}
			}},
		{Name: "phone number", request: request{Path: "/api/v1/search?q=%2B41%2044%20123%2045%2067&types=contact", Token: admin},
			ExpectedStatus: 200, ExpectedContent: []string{hans.String()}, NotExpectedContent: []string{eva.String(), `"companies"`}},
		{Name: "types and limit", request: request{Path: "/api/v1/search?q=Müller&types=contact&types=deal&limit=1", Token: admin},
			ExpectedStatus: 200, NotExpectedContent: []string{`"companies"`},
			After: func(t *testing.T, res *response) {
				a := answer(t, res)
				if len(a["contacts"]) != 1 || len(a["deals"]) != 1 {
					t.Errorf("limit 1: %s", res.Body)
				}
			}},
		{Name: "no hits is an empty list", request: request{Path: "/api/v1/search?q=Schwarzenbach&types=company", Token: admin},
			ExpectedStatus: 200, ExpectedContent: []string{`{"companies":[]}`}},
		{Name: "own scope", request: request{Path: "/api/v1/search?q=Müller", Token: own},
			ExpectedStatus: 200, ExpectedContent: []string{eva.String()},
			NotExpectedContent: []string{hans.String(), `"companies"`, `"deals"`}},
		{Name: "no read permission: nothing searched", request: request{Path: "/api/v1/search?q=Müller", Token: noPerm},
			ExpectedStatus: 200, ExpectedContent: []string{`{}`}},
		{Name: "other tenant", request: request{Path: "/api/v1/search?q=Müller", Host: "beta.test", Token: betaAdmin},
			ExpectedStatus: 200, ExpectedContent: []string{`"title":"Beta Müller"`, `"companies":[]`, `"deals":[]`},
			NotExpectedContent: []string{hans.String(), company.String(), deal.String()}},
		{Name: "q missing", request: request{Path: "/api/v1/search", Token: admin},
			ExpectedStatus: 422, ExpectedCode: "invalid", ExpectedFields: []string{"q"}},
		{Name: "q blank", request: request{Path: "/api/v1/search?q=%20%20", Token: admin},
			ExpectedStatus: 422, ExpectedCode: "invalid", ExpectedFields: []string{"q"}},
		{Name: "q too long", request: request{Path: "/api/v1/search?q=" + long, Token: admin},
			ExpectedStatus: 422, ExpectedCode: "invalid", ExpectedFields: []string{"q"}},
		{Name: "bad limit and types", request: request{Path: "/api/v1/search?q=Müller&limit=zehn&types=company,invoice", Token: admin},
			ExpectedStatus: 422, ExpectedCode: "invalid", ExpectedFields: []string{"limit", "types"}},
		{Name: "limit too large", request: request{Path: "/api/v1/search?q=Müller&limit=51", Token: admin},
			ExpectedStatus: 422, ExpectedCode: "invalid", ExpectedFields: []string{"limit"}},
		{Name: "not logged in", request: request{Path: "/api/v1/search?q=Müller"},
			ExpectedStatus: http.StatusUnauthorized, ExpectedCode: "unauthorized"},
	})
}
