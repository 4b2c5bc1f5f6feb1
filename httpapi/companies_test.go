package httpapi_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm/internal/testfix"
)

// crmAPI is the fixture of the company, tag and custom field API tests:
// one server, users of every relevant role, their tokens.
type crmAPI struct {
	s                                   *testServer
	admin, sales, other, reader, beta   string // access tokens
	adminID, salesID, otherID, readerID uuid.UUID
}

func newCRMAPI(t *testing.T) *crmAPI {
	t.Helper()
	e := testfix.New(t)
	c := &crmAPI{s: newServer(t, e, serverOptions{})}
	c.adminID = e.CreateUser(t, "alpha", "admin@alpha.test", "admin").ID
	c.salesID = e.CreateUser(t, "alpha", "sales@alpha.test", "sales").ID
	c.otherID = e.CreateUser(t, "alpha", "other@alpha.test", "sales").ID
	own := customRole(t, e, "alpha", "Eigene lesen", "companies:read:own")
	c.readerID = userWithRoles(t, e, "alpha", "reader@alpha.test", own.ID).ID
	e.CreateUser(t, "beta", "admin@beta.test", "admin")
	c.admin = e.Login(t, "alpha", "admin@alpha.test").AccessToken
	c.sales = e.Login(t, "alpha", "sales@alpha.test").AccessToken
	c.other = e.Login(t, "alpha", "other@alpha.test").AccessToken
	c.reader = e.Login(t, "alpha", "reader@alpha.test").AccessToken
	c.beta = e.Login(t, "beta", "admin@beta.test").AccessToken
	return c
}

// create posts a company and fails the test unless it is created.
func (c *crmAPI) create(t *testing.T, token string, body map[string]any) map[string]any {
	t.Helper()
	res := c.s.do(t, request{Method: "POST", Path: "/api/v1/companies", Token: token, Body: body})
	if res.Status != http.StatusCreated {
		t.Fatalf("create company %v: %d %s", body["name"], res.Status, res.Body)
	}
	return res.object(t)
}

// names lists the company names of a list answer.
func (c *crmAPI) names(t *testing.T, token, query string) ([]string, string) {
	t.Helper()
	res := c.s.do(t, request{Path: "/api/v1/companies?" + query, Token: token})
	if res.Status != http.StatusOK {
		t.Fatalf("list ?%s: %d %s", query, res.Status, res.Body)
	}
	var pg struct {
		Items []struct {
			Name string `json:"name"`
		} `json:"items"`
		NextCursor string `json:"next_cursor"`
	}
	res.decode(t, &pg)
	out := []string{}
	for _, it := range pg.Items {
		out = append(out, it.Name)
	}
	return out, pg.NextCursor
}

func TestCRMRecordsAPI(t *testing.T) {
	t.Parallel()
	c := newCRMAPI(t)
	t.Run("companies", func(t *testing.T) { testCompaniesAPI(t, c) })
	t.Run("company list", func(t *testing.T) { testCompanyListAPI(t, c) })
	t.Run("company scopes", func(t *testing.T) { testCompanyScopesAPI(t, c) })
	t.Run("tags", func(t *testing.T) { testTagsAPI(t, c) })
	t.Run("custom fields", func(t *testing.T) { testCustomFieldsAPI(t, c) })
}

func testCompaniesAPI(t *testing.T, c *crmAPI) {
	res := c.s.do(t, request{Method: "POST", Path: "/api/v1/companies", Token: c.admin, Body: map[string]any{
		"name": "Müller AG", "uid": "CHE-109.322.551", "website": "www.mueller.ch", "email": "Info@Mueller.ch",
		"phone": "044 123 45 67", "industry": "Maschinenbau", "tags": []string{"VIP"},
		"address": map[string]any{"street": "Bahnhofstrasse 1", "postal_code": "8001", "city": "Zürich", "canton": "zh"},
	}})
	if res.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	co := res.object(t)
	id := co["id"].(string)
	if res.Header.Get("Location") != "/api/v1/companies/"+id || res.Header.Get("ETag") != `"1"` {
		t.Errorf("Location %q, ETag %q", res.Header.Get("Location"), res.Header.Get("ETag"))
	}
	addr, _ := co["address"].(map[string]any)
	if co["uid"] != "CHE-109.322.551" || co["phone"] != "+41441234567" || co["website"] != "https://www.mueller.ch" ||
		co["email"] != "info@mueller.ch" || co["owner_id"] != c.adminID.String() || co["version"] != float64(1) ||
		addr["canton"] != "ZH" || addr["country"] != "CH" || addr["postal_code"] != "8001" {
		t.Errorf("created company: %s", res.Body)
	}
	for _, k := range []string{"created_at", "updated_at", "custom_fields", "tags"} {
		if _, ok := co[k]; !ok {
			t.Errorf("company lacks %q: %s", k, res.Body)
		}
	}
	path := "/api/v1/companies/" + id

	runScenarios(t, c.s, []scenario{
		{Name: "name missing", request: request{Method: "POST", Path: "/api/v1/companies", Token: c.admin,
			Body: map[string]any{"name": " ", "email": "a@b.ch"}},
			ExpectedStatus: 422, ExpectedCode: "invalid", ExpectedFields: []string{"name"}},
		{Name: "bad UID checksum", request: request{Method: "POST", Path: "/api/v1/companies", Token: c.admin,
			Body: map[string]any{"name": "Ungültig AG", "uid": "CHE-109.322.552"}},
			ExpectedStatus: 422, ExpectedFields: []string{"uid"}},
		{Name: "bad Swiss postal code and canton", request: request{Method: "POST", Path: "/api/v1/companies", Token: c.admin,
			Body: map[string]any{"name": "Ungültig AG", "address": map[string]any{"postal_code": "80011", "canton": "ZX"}}},
			ExpectedStatus: 422, ExpectedFields: []string{"address.postal_code", "address.canton"}},
		{Name: "bad e-mail and phone", request: request{Method: "POST", Path: "/api/v1/companies", Token: c.admin,
			Body: map[string]any{"name": "Ungültig AG", "email": "info(at)x.ch", "phone": "12345"}},
			ExpectedStatus: 422, ExpectedFields: []string{"email", "phone"}},
		{Name: "unknown owner", request: request{Method: "POST", Path: "/api/v1/companies", Token: c.admin,
			Body: map[string]any{"name": "Ungültig AG", "owner_id": uuid.NewString()}},
			ExpectedStatus: 422, ExpectedFields: []string{"owner_id"}},
		{Name: "unknown JSON field", request: request{Method: "POST", Path: "/api/v1/companies", Token: c.admin,
			Body: map[string]any{"name": "Ungültig AG", "revenue": 1}},
			ExpectedStatus: 422, ExpectedFields: []string{"revenue"}},
		{Name: "UID taken", request: request{Method: "POST", Path: "/api/v1/companies", Token: c.admin,
			Body: map[string]any{"name": "Doppelt AG", "uid": "CHE109322551"}},
			ExpectedStatus: 409, ExpectedCode: "conflict", ExpectedFields: []string{"uid"}},
		{Name: "same UID in another tenant", request: request{Method: "POST", Path: "/api/v1/companies", Host: "beta.test",
			Token: c.beta, Body: map[string]any{"name": "Beta-Müller", "uid": "CHE-109.322.551"}},
			ExpectedStatus: 201},
		{Name: "get", request: request{Path: path, Token: c.sales},
			ExpectedStatus: 200, ExpectedContent: []string{`"name":"Müller AG"`}, ExpectedHeaders: map[string]string{"ETag": `"1"`}},
		{Name: "get an unknown id", request: request{Path: "/api/v1/companies/" + uuid.NewString(), Token: c.admin},
			ExpectedStatus: 404, ExpectedCode: "not_found"},
		{Name: "get a malformed id", request: request{Path: "/api/v1/companies/123", Token: c.admin}, ExpectedStatus: 404},
		{Name: "update", request: request{Method: "PATCH", Path: path, Token: c.admin, Header: map[string]string{"If-Match": `"1"`},
			Body: map[string]any{"industry": "Werkzeugbau", "address": map[string]any{"city": "Winterthur", "postal_code": "8400", "canton": "ZH"}}},
			ExpectedStatus: 200, ExpectedContent: []string{`"industry":"Werkzeugbau"`, `"city":"Winterthur"`, `"version":2`, `"name":"Müller AG"`},
			ExpectedHeaders: map[string]string{"ETag": `"2"`}},
		{Name: "stale If-Match", request: request{Method: "PATCH", Path: path, Token: c.admin, Header: map[string]string{"If-Match": `"1"`},
			Body: map[string]any{"industry": "Stale"}},
			ExpectedStatus: 412, ExpectedCode: "precondition"},
		{Name: "stale body version", request: request{Method: "PATCH", Path: path, Token: c.admin,
			Body: map[string]any{"industry": "Stale", "version": 1}},
			ExpectedStatus: 412, ExpectedCode: "precondition"},
		{Name: "bad If-Match", request: request{Method: "PATCH", Path: path, Token: c.admin, Header: map[string]string{"If-Match": "*"},
			Body: map[string]any{"industry": "Stale"}},
			ExpectedStatus: 422, ExpectedFields: []string{"If-Match"}},
		{Name: "update refused as a whole", request: request{Method: "PATCH", Path: path, Token: c.admin,
			Body: map[string]any{"industry": "Stale", "email": "kaputt"}},
			ExpectedStatus: 422, ExpectedFields: []string{"email"}},
		{Name: "unchanged after refusals", request: request{Path: path, Token: c.admin},
			ExpectedStatus: 200, ExpectedContent: []string{`"industry":"Werkzeugbau"`, `"version":2`}, NotExpectedContent: []string{"Stale"}},
	})
	if names, _ := c.names(t, c.admin, "q=Ungültig"); len(names) != 0 {
		t.Errorf("refused creates stored companies: %v", names)
	}

	// Cross-tenant: alpha's company does not exist on beta.test.
	for _, r := range []request{
		{Path: path}, {Method: "PATCH", Path: path, Body: map[string]any{"name": "Gekapert"}}, {Method: "DELETE", Path: path},
		{Method: "POST", Path: path + "/restore"}, {Method: "DELETE", Path: "/api/v1/companies/trash/" + id},
	} {
		r.Host, r.Token = "beta.test", c.beta
		if res := c.s.do(t, r); res.Status != http.StatusNotFound {
			t.Errorf("beta %s %s: %d, want 404: %s", r.Method, r.Path, res.Status, res.Body)
		}
	}
	// With alpha's token on beta.test the token is refused outright.
	if res := c.s.do(t, request{Path: path, Host: "beta.test", Token: c.admin}); res.Status != http.StatusUnauthorized {
		t.Errorf("alpha token on beta.test: %d", res.Status)
	}

	// Trash, restore, purge.
	trashed := func() []string {
		res := c.s.do(t, request{Path: "/api/v1/companies/trash", Token: c.admin})
		if res.Status != http.StatusOK {
			t.Fatalf("trash: %d %s", res.Status, res.Body)
		}
		var pg struct {
			Items []struct {
				ID        string  `json:"id"`
				DeletedAt *string `json:"deleted_at"`
			} `json:"items"`
		}
		res.decode(t, &pg)
		var ids []string
		for _, it := range pg.Items {
			if it.DeletedAt == nil {
				t.Errorf("trash item without deleted_at")
			}
			ids = append(ids, it.ID)
		}
		return ids
	}
	runScenarios(t, c.s, []scenario{
		{Name: "purge a live company", request: request{Method: "DELETE", Path: "/api/v1/companies/trash/" + id, Token: c.admin}, ExpectedStatus: 404},
		{Name: "delete", request: request{Method: "DELETE", Path: path, Token: c.admin}, ExpectedStatus: 204},
		{Name: "get after delete", request: request{Path: path, Token: c.admin}, ExpectedStatus: 404},
		{Name: "delete twice", request: request{Method: "DELETE", Path: path, Token: c.admin}, ExpectedStatus: 404},
	})
	if names, _ := c.names(t, c.admin, "q=Müller"); slices.Contains(names, "Müller AG") {
		t.Errorf("deleted company still listed")
	}
	if !slices.Contains(trashed(), id) {
		t.Errorf("deleted company not in the trash")
	}
	runScenarios(t, c.s, []scenario{
		{Name: "restore", request: request{Method: "POST", Path: path + "/restore", Token: c.admin},
			ExpectedStatus: 200, ExpectedContent: []string{`"name":"Müller AG"`}, NotExpectedContent: []string{`"deleted_at"`}},
		{Name: "get after restore", request: request{Path: path, Token: c.admin}, ExpectedStatus: 200},
		{Name: "restore a live company", request: request{Method: "POST", Path: path + "/restore", Token: c.admin}, ExpectedStatus: 404},
		{Name: "delete again", request: request{Method: "DELETE", Path: path, Token: c.admin}, ExpectedStatus: 204},
		{Name: "purge", request: request{Method: "DELETE", Path: "/api/v1/companies/trash/" + id, Token: c.admin}, ExpectedStatus: 204},
		{Name: "purge twice", request: request{Method: "DELETE", Path: "/api/v1/companies/trash/" + id, Token: c.admin}, ExpectedStatus: 404},
		{Name: "restore after purge", request: request{Method: "POST", Path: path + "/restore", Token: c.admin}, ExpectedStatus: 404},
	})
	if slices.Contains(trashed(), id) {
		t.Errorf("purged company still in the trash")
	}

	// The audit log tells the story, with the changed fields.
	entries := c.s.auditEntries(t, "alpha.test", c.admin, "entity_type=company&entity_id="+id)
	var actions []string
	for _, e := range entries {
		actions = append(actions, e["action"].(string))
		if e["action"] == "company.update" {
			ch, _ := e["changes"].(map[string]any)
			ind, _ := ch["industry"].(map[string]any)
			if ind["before"] != "Maschinenbau" || ind["after"] != "Werkzeugbau" || ch["name"] != nil {
				t.Errorf("update audit changes: %v", ch)
			}
		}
	}
	slices.Reverse(actions)
	want := []string{"company.create", "company.update", "company.delete", "company.restore", "company.delete", "company.purge"}
	if !slices.Equal(actions, want) {
		t.Errorf("audit actions %v, want %v", actions, want)
	}
}

func testCompanyListAPI(t *testing.T, c *crmAPI) {
	// The list runs on beta, which only the previous subtest touched once.
	res := c.s.do(t, request{Path: "/api/v1/companies", Host: "beta.test", Token: c.beta})
	var before struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	res.decode(t, &before)
	for _, it := range before.Items {
		c.s.do(t, request{Method: "DELETE", Path: "/api/v1/companies/" + it.ID, Host: "beta.test", Token: c.beta})
		c.s.do(t, request{Method: "DELETE", Path: "/api/v1/companies/trash/" + it.ID, Host: "beta.test", Token: c.beta})
	}
	create := func(name, city, canton, phone, tag string) {
		body := map[string]any{"name": name, "phone": phone, "address": map[string]any{"city": city, "canton": canton}}
		if tag != "" {
			body["tags"] = []string{tag}
		}
		if res := c.s.do(t, request{Method: "POST", Path: "/api/v1/companies", Host: "beta.test", Token: c.beta, Body: body}); res.Status != 201 {
			t.Fatalf("create %s: %d %s", name, res.Status, res.Body)
		}
	}
	create("Müller AG", "Zürich", "ZH", "+41 44 123 45 67", "VIP")
	create("Bäckerei Beck", "Bern", "BE", "", "")
	create("alpha Consulting", "Basel", "BS", "", "VIP")
	create("Zeta Holding", "", "", "", "")
	create("Strassenbau Meier", "Zug", "ZG", "", "")
	create("Chocolat Genève", "Genève", "GE", "", "")
	create("Omega Uhren", "Biel", "BE", "", "")
	list := func(query string) ([]string, string) {
		t.Helper()
		res := c.s.do(t, request{Path: "/api/v1/companies?" + query, Host: "beta.test", Token: c.beta})
		if res.Status != http.StatusOK {
			t.Fatalf("list ?%s: %d %s", query, res.Status, res.Body)
		}
		var pg struct {
			Items []struct {
				Name string `json:"name"`
			} `json:"items"`
			NextCursor string `json:"next_cursor"`
		}
		res.decode(t, &pg)
		out := []string{}
		for _, it := range pg.Items {
			out = append(out, it.Name)
		}
		return out, pg.NextCursor
	}
	byName := []string{"alpha Consulting", "Bäckerei Beck", "Chocolat Genève", "Müller AG", "Omega Uhren", "Strassenbau Meier", "Zeta Holding"}
	byCityDesc := []string{"Müller AG", "Strassenbau Meier", "Chocolat Genève", "Omega Uhren", "Bäckerei Beck", "alpha Consulting", "Zeta Holding"}
	for _, tc := range []struct {
		sort string
		want []string
	}{{"name", byName}, {"-city", byCityDesc}} {
		var all []string
		var pages int
		cursor := ""
		for pages < 5 {
			names, next := list("limit=3&sort=" + tc.sort + "&cursor=" + url.QueryEscape(cursor))
			all = append(all, names...)
			pages++
			if next == "" {
				break
			}
			cursor = next
		}
		if !slices.Equal(all, tc.want) || pages != 3 {
			t.Errorf("sort=%s in pages of 3: %v in %d pages, want %v", tc.sort, all, pages, tc.want)
		}
	}
	if _, next := list("limit=3&sort=name"); next == "" {
		t.Error("no next cursor")
	} else {
		scenario{Name: "cursor of another sort", request: request{Path: "/api/v1/companies?limit=3&sort=-name&cursor=" + url.QueryEscape(next),
			Host: "beta.test", Token: c.beta}, ExpectedStatus: 422, ExpectedFields: []string{"cursor"}}.run(t, c.s)
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"tag=VIP", []string{"Müller AG", "alpha Consulting"}},
		{"canton=be", []string{"Bäckerei Beck", "Omega Uhren"}},
		{"city=Bern", []string{"Bäckerei Beck"}},
		{"q=mueller", []string{"Müller AG"}},
		{"q=Zurich", []string{"Müller AG"}},
		{"q=Mueler", []string{"Müller AG"}},
		{"q=" + url.QueryEscape("044 123 45 67"), []string{"Müller AG"}},
		{"q=" + url.QueryEscape("+41 44 123 45 67"), []string{"Müller AG"}},
		{"updated_since=2999-01-01T00:00:00Z", []string{}},
		{"owner_id=" + uuid.NewString(), []string{}},
	} {
		got, _ := list(tc.query)
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("?%s: %v, want %v", tc.query, got, tc.want)
		}
	}
	for _, tc := range []struct{ query, field string }{
		{"sort=uid", "sort"}, {"limit=500", "limit"}, {"limit=zwei", "limit"}, {"cursor=nonsense", "cursor"},
		{"owner_id=nobody", "owner_id"}, {"updated_since=gestern", "updated_since"},
	} {
		scenario{Name: tc.query, request: request{Path: "/api/v1/companies?" + tc.query, Host: "beta.test", Token: c.beta},
			ExpectedStatus: 422, ExpectedFields: []string{tc.field}}.run(t, c.s)
	}
}

func testCompanyScopesAPI(t *testing.T, c *crmAPI) {
	mine := c.create(t, c.sales, map[string]any{"name": "Meine GmbH"})["id"].(string)
	theirs := c.create(t, c.other, map[string]any{"name": "Fremde GmbH"})["id"].(string)
	readers := c.create(t, c.admin, map[string]any{"name": "Lesers GmbH", "owner_id": c.readerID})["id"].(string)

	runScenarios(t, c.s, []scenario{
		{Name: "sales reads another's", request: request{Path: "/api/v1/companies/" + theirs, Token: c.sales}, ExpectedStatus: 200},
		{Name: "sales updates another's", request: request{Method: "PATCH", Path: "/api/v1/companies/" + theirs, Token: c.sales,
			Body: map[string]any{"name": "Gekapert"}}, ExpectedStatus: 404},
		{Name: "sales deletes another's", request: request{Method: "DELETE", Path: "/api/v1/companies/" + theirs, Token: c.sales},
			ExpectedStatus: 404},
		{Name: "sales gives own company away", request: request{Method: "PATCH", Path: "/api/v1/companies/" + mine, Token: c.sales,
			Body: map[string]any{"owner_id": c.otherID}}, ExpectedStatus: 422, ExpectedFields: []string{"owner_id"}},
		{Name: "sales updates own", request: request{Method: "PATCH", Path: "/api/v1/companies/" + mine, Token: c.sales,
			Body: map[string]any{"industry": "Handel"}}, ExpectedStatus: 200},
		{Name: "another's unchanged", request: request{Path: "/api/v1/companies/" + theirs, Token: c.admin},
			ExpectedStatus: 200, ExpectedContent: []string{`"name":"Fremde GmbH"`, `"version":1`}},
		{Name: "read:own reads own", request: request{Path: "/api/v1/companies/" + readers, Token: c.reader}, ExpectedStatus: 200},
		{Name: "read:own reads another's", request: request{Path: "/api/v1/companies/" + theirs, Token: c.reader}, ExpectedStatus: 404},
		{Name: "read:own cannot write", request: request{Method: "POST", Path: "/api/v1/companies", Token: c.reader,
			Body: map[string]any{"name": "X"}}, ExpectedStatus: 403},
		{Name: "read:own has no trash", request: request{Path: "/api/v1/companies/trash", Token: c.reader}, ExpectedStatus: 403},
	})
	if names, _ := c.names(t, c.reader, ""); !slices.Equal(names, []string{"Lesers GmbH"}) {
		t.Errorf("read:own list = %v", names)
	}
	if names, _ := c.names(t, c.sales, "q=GmbH"); !slices.Contains(names, "Fremde GmbH") || !slices.Contains(names, "Lesers GmbH") {
		t.Errorf("sales list = %v", names)
	}
}

func testTagsAPI(t *testing.T, c *crmAPI) {
	res := c.s.do(t, request{Method: "POST", Path: "/api/v1/tags", Token: c.admin, Body: map[string]any{"name": "Lieferant", "color": "#FF0000"}})
	if res.Status != http.StatusCreated {
		t.Fatalf("create tag: %d %s", res.Status, res.Body)
	}
	tag := res.object(t)
	id := tag["id"].(string)
	if tag["color"] != "#ff0000" || res.Header.Get("Location") != "/api/v1/tags/"+id {
		t.Errorf("created tag: %s", res.Body)
	}
	co := c.create(t, c.admin, map[string]any{"name": "Lieferant AG", "tags": []string{"lieferant"}})
	coPath := "/api/v1/companies/" + co["id"].(string)
	runScenarios(t, c.s, []scenario{
		{Name: "list as sales", request: request{Path: "/api/v1/tags", Token: c.sales},
			ExpectedStatus: 200, ExpectedContent: []string{`"name":"Lieferant"`, `"usage":1`}},
		{Name: "list as read:own", request: request{Path: "/api/v1/tags", Token: c.reader}, ExpectedStatus: 200},
		{Name: "create as sales", request: request{Method: "POST", Path: "/api/v1/tags", Token: c.sales, Body: map[string]any{"name": "X"}},
			ExpectedStatus: 403},
		{Name: "name taken", request: request{Method: "POST", Path: "/api/v1/tags", Token: c.admin, Body: map[string]any{"name": "LIEFERANT"}},
			ExpectedStatus: 409, ExpectedFields: []string{"name"}},
		{Name: "bad colour", request: request{Method: "POST", Path: "/api/v1/tags", Token: c.admin, Body: map[string]any{"name": "Rot", "color": "red"}},
			ExpectedStatus: 422, ExpectedFields: []string{"color"}},
		{Name: "stale rename", request: request{Method: "PATCH", Path: "/api/v1/tags/" + id, Token: c.admin,
			Header: map[string]string{"If-Match": `"9"`}, Body: map[string]any{"name": "Zulieferer"}}, ExpectedStatus: 412},
		{Name: "rename", request: request{Method: "PATCH", Path: "/api/v1/tags/" + id, Token: c.admin,
			Header: map[string]string{"If-Match": `"1"`}, Body: map[string]any{"name": "Zulieferer"}},
			ExpectedStatus: 200, ExpectedContent: []string{`"name":"Zulieferer"`}, ExpectedHeaders: map[string]string{"ETag": `"2"`}},
		{Name: "company follows the rename", request: request{Path: coPath, Token: c.admin},
			ExpectedStatus: 200, ExpectedContent: []string{`"tags":["Zulieferer"]`}},
		{Name: "beta cannot rename", request: request{Method: "PATCH", Path: "/api/v1/tags/" + id, Host: "beta.test", Token: c.beta,
			Body: map[string]any{"name": "Gekapert"}}, ExpectedStatus: 404},
		{Name: "delete as sales", request: request{Method: "DELETE", Path: "/api/v1/tags/" + id, Token: c.sales}, ExpectedStatus: 403},
		{Name: "delete", request: request{Method: "DELETE", Path: "/api/v1/tags/" + id, Token: c.admin}, ExpectedStatus: 204},
		{Name: "company lost the tag", request: request{Path: coPath, Token: c.admin},
			ExpectedStatus: 200, ExpectedContent: []string{`"tags":[]`}},
		{Name: "list without it", request: request{Path: "/api/v1/tags", Token: c.admin},
			ExpectedStatus: 200, NotExpectedContent: []string{"Zulieferer"}},
		{Name: "delete twice", request: request{Method: "DELETE", Path: "/api/v1/tags/" + id, Token: c.admin}, ExpectedStatus: 404},
	})
	var actions []string
	for _, e := range c.s.auditEntries(t, "alpha.test", c.admin, "entity_type=tag&entity_id="+id) {
		actions = append(actions, e["action"].(string))
	}
	if !slices.Equal(actions, []string{"tag.delete", "tag.update", "tag.create"}) {
		t.Errorf("tag audit = %v", actions)
	}
}

func testCustomFieldsAPI(t *testing.T, c *crmAPI) {
	define := func(body map[string]any) string {
		t.Helper()
		res := c.s.do(t, request{Method: "POST", Path: "/api/v1/custom-fields", Token: c.admin, Body: body})
		if res.Status != http.StatusCreated {
			t.Fatalf("define %v: %d %s", body["key"], res.Status, res.Body)
		}
		return res.object(t)["id"].(string)
	}
	sector := define(map[string]any{"entity": "company", "key": "sector", "label": "Sektor", "type": "choice",
		"options": []string{"öffentlich", "privat"}, "required": true})
	langs := define(map[string]any{"entity": "company", "key": "languages", "label": "Sprachen", "type": "multi",
		"options": []string{"de", "fr", "it"}})
	size := define(map[string]any{"entity": "company", "key": "size", "label": "Grösse", "type": "number"})

	runScenarios(t, c.s, []scenario{
		{Name: "list as sales", request: request{Path: "/api/v1/custom-fields?entity=company", Token: c.sales},
			ExpectedStatus: 200, ExpectedContent: []string{`"key":"sector"`, `"key":"languages"`}},
		{Name: "list for contacts", request: request{Path: "/api/v1/custom-fields?entity=contact", Token: c.sales},
			ExpectedStatus: 200, NotExpectedContent: []string{`"key":"sector"`}},
		{Name: "list for an unknown entity", request: request{Path: "/api/v1/custom-fields?entity=rechnung", Token: c.sales},
			ExpectedStatus: 422, ExpectedFields: []string{"entity"}},
		{Name: "define as sales", request: request{Method: "POST", Path: "/api/v1/custom-fields", Token: c.sales,
			Body: map[string]any{"entity": "company", "key": "x", "label": "X", "type": "text"}}, ExpectedStatus: 403},
		{Name: "key taken", request: request{Method: "POST", Path: "/api/v1/custom-fields", Token: c.admin,
			Body: map[string]any{"entity": "company", "key": "size", "label": "X", "type": "text"}},
			ExpectedStatus: 409, ExpectedFields: []string{"key"}},
		{Name: "type is fixed", request: request{Method: "PATCH", Path: "/api/v1/custom-fields/" + size, Token: c.admin,
			Body: map[string]any{"type": "text"}}, ExpectedStatus: 422, ExpectedFields: []string{"key"}},
		{Name: "relabel", request: request{Method: "PATCH", Path: "/api/v1/custom-fields/" + size, Token: c.admin,
			Header: map[string]string{"If-Match": `"1"`}, Body: map[string]any{"label": "Mitarbeitende"}},
			ExpectedStatus: 200, ExpectedContent: []string{`"label":"Mitarbeitende"`, `"version":2`}},
		{Name: "unknown custom field", request: request{Method: "POST", Path: "/api/v1/companies", Token: c.admin,
			Body: map[string]any{"name": "Feld AG", "custom_fields": map[string]any{"sector": "privat", "x": 1}}},
			ExpectedStatus: 422, ExpectedFields: []string{"custom_fields.x"}},
		{Name: "required field missing", request: request{Method: "POST", Path: "/api/v1/companies", Token: c.admin,
			Body: map[string]any{"name": "Feld AG"}},
			ExpectedStatus: 422, ExpectedFields: []string{"custom_fields.sector"}},
		{Name: "wrong type", request: request{Method: "POST", Path: "/api/v1/companies", Token: c.admin,
			Body: map[string]any{"name": "Feld AG", "custom_fields": map[string]any{"sector": "privat", "size": "gross"}}},
			ExpectedStatus: 422, ExpectedFields: []string{"custom_fields.size"}},
		{Name: "choice outside options", request: request{Method: "POST", Path: "/api/v1/companies", Token: c.admin,
			Body: map[string]any{"name": "Feld AG", "custom_fields": map[string]any{"sector": "halbprivat"}}},
			ExpectedStatus: 422, ExpectedFields: []string{"custom_fields.sector"}},
		{Name: "multi outside options", request: request{Method: "POST", Path: "/api/v1/companies", Token: c.admin,
			Body: map[string]any{"name": "Feld AG", "custom_fields": map[string]any{"sector": "privat", "languages": []string{"de", "rm"}}}},
			ExpectedStatus: 422, ExpectedFields: []string{"custom_fields.languages"}},
	})
	co := c.create(t, c.admin, map[string]any{"name": "Feld AG",
		"custom_fields": map[string]any{"sector": "öffentlich", "languages": []string{"fr", "de"}, "size": 120}})
	coPath := "/api/v1/companies/" + co["id"].(string)
	runScenarios(t, c.s, []scenario{
		{Name: "values round-trip", request: request{Path: coPath, Token: c.admin}, ExpectedStatus: 200,
			ExpectedContent: []string{`"sector":"öffentlich"`, `"languages":["fr","de"]`, `"size":120`}},
		{Name: "delete the definition as sales", request: request{Method: "DELETE", Path: "/api/v1/custom-fields/" + langs, Token: c.sales},
			ExpectedStatus: 403},
		{Name: "delete the definition", request: request{Method: "DELETE", Path: "/api/v1/custom-fields/" + langs, Token: c.admin},
			ExpectedStatus: 204},
		{Name: "values gone", request: request{Path: coPath, Token: c.admin}, ExpectedStatus: 200,
			ExpectedContent: []string{`"sector":"öffentlich"`}, NotExpectedContent: []string{"languages"}},
		{Name: "delete twice", request: request{Method: "DELETE", Path: "/api/v1/custom-fields/" + langs, Token: c.admin}, ExpectedStatus: 404},
		{Name: "beta cannot delete", request: request{Method: "DELETE", Path: "/api/v1/custom-fields/" + sector, Host: "beta.test", Token: c.beta},
			ExpectedStatus: 404},
	})
	for _, id := range []string{sector, size} {
		if res := c.s.do(t, request{Method: "DELETE", Path: "/api/v1/custom-fields/" + id, Token: c.admin}); res.Status != 204 {
			t.Errorf("delete field: %d %s", res.Status, res.Body)
		}
	}
	var actions []string
	for _, e := range c.s.auditEntries(t, "alpha.test", c.admin, "entity_type=custom_field&entity_id="+size) {
		actions = append(actions, e["action"].(string))
	}
	if strings.Join(actions, " ") != "custom_field.delete custom_field.update custom_field.create" {
		t.Errorf("custom field audit = %v", actions)
	}
}
