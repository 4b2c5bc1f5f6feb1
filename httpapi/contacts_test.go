package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/internal/testfix"
)

// contactAPI is a test server with an admin and a sales user in alpha and an
// admin in beta, all logged in.
type contactAPI struct {
	s                        *testServer
	admin, sales, betaAdmin  string // access tokens
	adminID, salesID, betaID string
}

func newContactAPI(t *testing.T) *contactAPI {
	t.Helper()
	e := testfix.New(t)
	s := newServer(t, e, serverOptions{})
	a := e.CreateUser(t, "alpha", "admin@alpha.test", auth.RoleKeyAdmin)
	sa := e.CreateUser(t, "alpha", "sales@alpha.test", auth.RoleKeySales)
	b := e.CreateUser(t, "beta", "admin@beta.test", auth.RoleKeyAdmin)
	return &contactAPI{s: s,
		admin:     e.Login(t, "alpha", "admin@alpha.test").AccessToken,
		sales:     e.Login(t, "alpha", "sales@alpha.test").AccessToken,
		betaAdmin: e.Login(t, "beta", "admin@beta.test").AccessToken,
		adminID:   a.ID.String(), salesID: sa.ID.String(), betaID: b.ID.String()}
}

// post creates a record and returns its JSON object.
func (ca *contactAPI) post(t *testing.T, host, token, path string, body any) map[string]any {
	t.Helper()
	res := ca.s.do(t, request{Method: "POST", Path: path, Host: host, Token: token, Body: body})
	if res.Status != http.StatusCreated {
		t.Fatalf("POST %s: %d %s", path, res.Status, res.Body)
	}
	return res.object(t)
}

func TestContactAPI(t *testing.T) {
	t.Parallel()
	ca := newContactAPI(t)
	s := ca.s
	firm := ca.post(t, "", ca.admin, "/api/v1/companies", map[string]any{"name": "Muster AG"})
	betaFirm := ca.post(t, "beta.test", ca.betaAdmin, "/api/v1/companies", map[string]any{"name": "Beta AG"})

	var id string
	res := scenario{
		Name: "create",
		request: request{Method: "POST", Path: "/api/v1/contacts", Token: ca.admin, Body: map[string]any{
			"salutation": "Herr", "first_name": "Hans", "last_name": "Müller",
			"emails":    []string{"Hans.Mueller@Beispiel.CH", "hans.mueller@beispiel.ch", "hm@privat.ch"},
			"phones":    []string{"044 123 45 67", "0041 79 555 66 77"},
			"job_title": "Geschäftsführer", "company_id": firm["id"],
			"address":  map[string]any{"street": "Bahnhofstrasse 1", "postal_code": "8001", "city": "Zürich", "canton": "zh"},
			"language": "de", "birthday": "1970-05-31", "tags": []string{"VIP"},
			"marketing_consent": map[string]any{"given": true, "source": "Website"},
		}},
		ExpectedStatus:  http.StatusCreated,
		ExpectedHeaders: map[string]string{"ETag": `"1"`, "Location": "*"},
		ExpectedContent: []string{`"name":"Hans Müller"`, `"emails":["hans.mueller@beispiel.ch","hm@privat.ch"]`,
			`"phones":["+41441234567","+41795556677"]`, `"canton":"ZH"`, `"birthday":"1970-05-31"`, `"owner_id":"` + ca.adminID + `"`},
	}.run(t, s)
	c := res.object(t)
	id = c["id"].(string)
	if res.Header.Get("Location") != "/api/v1/contacts/"+id {
		t.Errorf("Location %q", res.Header.Get("Location"))
	}
	for _, k := range []string{"id", "salutation", "first_name", "last_name", "name", "emails", "phones", "job_title", "company_id",
		"address", "language", "birthday", "tags", "owner_id", "marketing_consent", "custom_fields", "created_at", "updated_at", "version"} {
		if _, ok := c[k]; !ok {
			t.Errorf("contact JSON lacks %q: %s", k, res.Body)
		}
	}
	mc, _ := c["marketing_consent"].(map[string]any)
	if mc["given"] != true || mc["source"] != "Website" || mc["at"] == nil {
		t.Errorf("marketing_consent %v", mc)
	}

	path := "/api/v1/contacts/" + id
	runScenarios(t, s, []scenario{
		{Name: "get", request: request{Path: path, Token: ca.admin}, ExpectedStatus: 200,
			ExpectedHeaders: map[string]string{"ETag": `"1"`}, ExpectedContent: []string{`"job_title":"Geschäftsführer"`}},
		{Name: "no name", request: request{Method: "POST", Path: "/api/v1/contacts", Token: ca.admin, Body: map[string]any{"salutation": "Dr."}},
			ExpectedStatus: 422, ExpectedCode: "invalid", ExpectedFields: []string{"last_name"}},
		{Name: "several bad fields", request: request{Method: "POST", Path: "/api/v1/contacts", Token: ca.admin, Body: map[string]any{
			"last_name": "X", "emails": []string{"x@y.ch", "kaputt"}, "phones": []string{"abc"}, "language": "rm",
			"birthday": "2999-01-01", "address": map[string]any{"postal_code": "12", "country": "XX"},
			"marketing_consent": map[string]any{"given": true, "at": "gestern"}}},
			ExpectedStatus: 422, ExpectedCode: "invalid",
			ExpectedFields: []string{"emails.1", "phones.0", "language", "birthday", "address.country", "marketing_consent.at"}},
		{Name: "company of another tenant", request: request{Method: "POST", Path: "/api/v1/contacts", Token: ca.admin,
			Body: map[string]any{"last_name": "X", "company_id": betaFirm["id"]}},
			ExpectedStatus: 422, ExpectedFields: []string{"company_id"}},
		{Name: "company id no uuid", request: request{Method: "POST", Path: "/api/v1/contacts", Token: ca.admin,
			Body: map[string]any{"last_name": "X", "company_id": "123"}},
			ExpectedStatus: 422, ExpectedFields: []string{"company_id"}},
		{Name: "computed name is read-only", request: request{Method: "POST", Path: "/api/v1/contacts", Token: ca.admin,
			Body: map[string]any{"last_name": "X", "name": "Y"}},
			ExpectedStatus: 422, ExpectedFields: []string{"name"}},
		{Name: "stale If-Match", request: request{Method: "PATCH", Path: path, Token: ca.admin, Header: map[string]string{"If-Match": `"7"`},
			Body: map[string]any{"job_title": "Neu"}}, ExpectedStatus: 412, ExpectedCode: "precondition"},
		{Name: "stale body version", request: request{Method: "PATCH", Path: path, Token: ca.admin,
			Body: map[string]any{"job_title": "Neu", "version": 3}}, ExpectedStatus: 412},
		{Name: "invalid patch", request: request{Method: "PATCH", Path: path, Token: ca.admin,
			Body: map[string]any{"first_name": "", "last_name": " "}}, ExpectedStatus: 422, ExpectedFields: []string{"last_name"}},
		{Name: "unchanged", request: request{Path: path, Token: ca.admin}, ExpectedStatus: 200,
			ExpectedHeaders: map[string]string{"ETag": `"1"`}, ExpectedContent: []string{`"job_title":"Geschäftsführer"`}},
		{Name: "patch", request: request{Method: "PATCH", Path: path, Token: ca.admin, Header: map[string]string{"If-Match": `"1"`},
			Body: map[string]any{"job_title": "Inhaber", "company_id": nil, "marketing_consent": map[string]any{"given": false}}},
			ExpectedStatus: 200, ExpectedHeaders: map[string]string{"ETag": `"2"`},
			ExpectedContent:    []string{`"job_title":"Inhaber"`, `"company_id":null`, `"marketing_consent":{"given":false,"at":null,"source":""}`, `"first_name":"Hans"`},
			NotExpectedContent: []string{"Website"}},
		{Name: "sales may not change another's contact", request: request{Method: "PATCH", Path: path, Token: ca.sales,
			Body: map[string]any{"job_title": "X"}}, ExpectedStatus: 404},
		{Name: "sales may not delete another's contact", request: request{Method: "DELETE", Path: path, Token: ca.sales},
			ExpectedStatus: 404},
		{Name: "sales reads it", request: request{Path: path, Token: ca.sales}, ExpectedStatus: 200},
	})

	// The audit log has the change with before and after.
	entries := s.auditEntries(t, "alpha.test", ca.admin, "entity_type=contact&action=contact.update&entity_id="+id)
	if len(entries) != 1 {
		t.Fatalf("audit entries: %v", entries)
	}
	changes, _ := entries[0]["changes"].(map[string]any)
	jt, _ := changes["job_title"].(map[string]any)
	if jt["before"] != "Geschäftsführer" || jt["after"] != "Inhaber" {
		t.Errorf("audit job_title change: %v", changes)
	}
	if _, ok := changes["company_id"]; !ok {
		t.Errorf("audit lacks company_id: %v", changes)
	}

	// Search and filters.
	own := ca.post(t, "", ca.sales, "/api/v1/contacts", map[string]any{"first_name": "Sara", "last_name": "Verkauf", "language": "fr",
		"phones": []string{"+41 31 987 65 43"}})
	listIDs := func(query string) []string {
		t.Helper()
		res := s.do(t, request{Path: "/api/v1/contacts?" + query, Token: ca.admin})
		if res.Status != 200 {
			t.Fatalf("list %s: %d %s", query, res.Status, res.Body)
		}
		var pg struct {
			Items []map[string]any `json:"items"`
		}
		res.decode(t, &pg)
		var out []string
		for _, it := range pg.Items {
			out = append(out, it["id"].(string))
		}
		return out
	}
	for q, want := range map[string][]string{
		"q=mueller": {id}, "q=muller": {id}, "q=" + url.QueryEscape("Müller"): {id}, "q=" + url.QueryEscape("Hans Mülker"): {id},
		"q=hm%40privat.ch": {id}, "q=" + url.QueryEscape("+41 44 123 45 67"): {id}, "q=0441234567": {id},
		"q=" + url.QueryEscape("031 987 65 43"): {own["id"].(string)},
		"language=fr":                           {own["id"].(string)}, "owner_id=" + ca.salesID: {own["id"].(string)},
		"tag=VIP": {id}, "company_id=" + firm["id"].(string): nil,
	} {
		if got := listIDs(q); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", q, got, want)
		}
	}
	runScenarios(t, s, []scenario{
		{Name: "bad sort", request: request{Path: "/api/v1/contacts?sort=email", Token: ca.admin}, ExpectedStatus: 422, ExpectedFields: []string{"sort"}},
		{Name: "bad company filter", request: request{Path: "/api/v1/contacts?company_id=x", Token: ca.admin}, ExpectedStatus: 422, ExpectedFields: []string{"company_id"}},
		{Name: "bad language filter", request: request{Path: "/api/v1/contacts?language=es", Token: ca.admin}, ExpectedStatus: 422, ExpectedFields: []string{"language"}},
		{Name: "bad limit", request: request{Path: "/api/v1/contacts?limit=500", Token: ca.admin}, ExpectedStatus: 422, ExpectedFields: []string{"limit"}},
		{Name: "bad cursor", request: request{Path: "/api/v1/contacts?cursor=abc", Token: ca.admin}, ExpectedStatus: 422, ExpectedFields: []string{"cursor"}},
	})

	// Trash, restore, purge.
	runScenarios(t, s, []scenario{
		{Name: "purge of a live contact", request: request{Method: "DELETE", Path: "/api/v1/contacts/trash/" + id, Token: ca.admin}, ExpectedStatus: 404},
		{Name: "delete", request: request{Method: "DELETE", Path: path, Token: ca.admin}, ExpectedStatus: 204},
		{Name: "gone", request: request{Path: path, Token: ca.admin}, ExpectedStatus: 404},
		{Name: "patch in trash", request: request{Method: "PATCH", Path: path, Token: ca.admin, Body: map[string]any{"job_title": "X"}}, ExpectedStatus: 404},
		{Name: "trash", request: request{Path: "/api/v1/contacts/trash", Token: ca.admin}, ExpectedStatus: 200, ExpectedContent: []string{id, `"deleted_at"`}},
		{Name: "restore", request: request{Method: "POST", Path: path + "/restore", Token: ca.admin}, ExpectedStatus: 200,
			ExpectedHeaders: map[string]string{"ETag": `"4"`}},
		{Name: "back", request: request{Path: path, Token: ca.admin}, ExpectedStatus: 200},
		{Name: "delete again", request: request{Method: "DELETE", Path: path, Token: ca.admin}, ExpectedStatus: 204},
		{Name: "purge", request: request{Method: "DELETE", Path: "/api/v1/contacts/trash/" + id, Token: ca.admin}, ExpectedStatus: 204},
		{Name: "purged", request: request{Method: "POST", Path: path + "/restore", Token: ca.admin}, ExpectedStatus: 404},
		{Name: "empty trash", request: request{Path: "/api/v1/contacts/trash", Token: ca.admin}, ExpectedStatus: 200, NotExpectedContent: []string{id}},
	})
	var actions []string
	for _, en := range s.auditEntries(t, "alpha.test", ca.admin, "entity_type=contact&entity_id="+id) {
		actions = append(actions, en["action"].(string))
	}
	slices.Sort(actions)
	if want := []string{"contact.create", "contact.delete", "contact.delete", "contact.purge", "contact.restore", "contact.update"}; !slices.Equal(actions, want) {
		t.Errorf("audit actions %v, want %v", actions, want)
	}
}

// TestContactAPICrossTenant: a contact of beta is not found from alpha by
// any verb, live or in the trash, and stays unchanged.
func TestContactAPICrossTenant(t *testing.T) {
	t.Parallel()
	ca := newContactAPI(t)
	s := ca.s
	live := ca.post(t, "beta.test", ca.betaAdmin, "/api/v1/contacts", map[string]any{"last_name": "Beta"})["id"].(string)
	trashed := ca.post(t, "beta.test", ca.betaAdmin, "/api/v1/contacts", map[string]any{"last_name": "Weg"})["id"].(string)
	if res := s.do(t, request{Method: "DELETE", Path: "/api/v1/contacts/" + trashed, Host: "beta.test", Token: ca.betaAdmin}); res.Status != 204 {
		t.Fatalf("beta delete: %d %s", res.Status, res.Body)
	}
	var scs []scenario
	for _, id := range []string{live, trashed} {
		scs = append(scs,
			scenario{request: request{Path: "/api/v1/contacts/" + id, Token: ca.admin}, ExpectedStatus: 404},
			scenario{request: request{Method: "PATCH", Path: "/api/v1/contacts/" + id, Token: ca.admin, Body: map[string]any{"last_name": "X"}}, ExpectedStatus: 404},
			scenario{request: request{Method: "DELETE", Path: "/api/v1/contacts/" + id, Token: ca.admin}, ExpectedStatus: 404},
			scenario{request: request{Method: "POST", Path: "/api/v1/contacts/" + id + "/restore", Token: ca.admin}, ExpectedStatus: 404},
			scenario{request: request{Method: "DELETE", Path: "/api/v1/contacts/trash/" + id, Token: ca.admin}, ExpectedStatus: 404},
		)
	}
	scs = append(scs,
		scenario{Name: "alpha list", request: request{Path: "/api/v1/contacts", Token: ca.admin}, ExpectedStatus: 200, NotExpectedContent: []string{live}},
		scenario{Name: "alpha trash", request: request{Path: "/api/v1/contacts/trash", Token: ca.admin}, ExpectedStatus: 200, NotExpectedContent: []string{trashed}},
		// A beta token on alpha's host is no credential there.
		scenario{Name: "beta token on alpha", request: request{Path: "/api/v1/contacts/" + live, Token: ca.betaAdmin}, ExpectedStatus: 401},
		scenario{Name: "still there", request: request{Path: "/api/v1/contacts/" + live, Host: "beta.test", Token: ca.betaAdmin}, ExpectedStatus: 200,
			ExpectedHeaders: map[string]string{"ETag": `"1"`}, ExpectedContent: []string{`"last_name":"Beta"`}},
		scenario{Name: "still in the trash", request: request{Path: "/api/v1/contacts/trash", Host: "beta.test", Token: ca.betaAdmin}, ExpectedStatus: 200,
			ExpectedContent: []string{trashed}},
	)
	runScenarios(t, s, scs)
}

// TestContactAPIPaging walks a sorted list page by page over HTTP: every
// contact appears exactly once, with names that sort alike on many rows.
func TestContactAPIPaging(t *testing.T) {
	t.Parallel()
	ca := newContactAPI(t)
	s := ca.s
	want := map[string]bool{}
	for i := range 11 {
		body := map[string]any{"first_name": fmt.Sprintf("Vorname %d", i%3), "last_name": []string{"Graf", "Frey", "Graf"}[i%3]}
		if i%2 == 0 {
			body["birthday"] = fmt.Sprintf("198%d-01-01", i%4)
		}
		want[ca.post(t, "", ca.sales, "/api/v1/contacts", body)["id"].(string)] = true
	}
	for _, sort := range []string{"last_name", "-last_name", "first_name", "birthday", "-birthday", "-created_at", "updated_at"} {
		seen := map[string]int{}
		cursor := ""
		var names []string
		for pages := 0; pages < 10; pages++ {
			res := s.do(t, request{Path: "/api/v1/contacts?limit=3&sort=" + sort + "&cursor=" + url.QueryEscape(cursor), Token: ca.admin})
			if res.Status != 200 {
				t.Fatalf("%s: %d %s", sort, res.Status, res.Body)
			}
			var pg struct {
				Items []struct {
					ID   string `json:"id"`
					Name string `json:"name"`
				} `json:"items"`
				NextCursor string `json:"next_cursor"`
			}
			if err := json.Unmarshal(res.Body, &pg); err != nil {
				t.Fatal(err)
			}
			for _, it := range pg.Items {
				seen[it.ID]++
				names = append(names, it.Name)
			}
			if cursor = pg.NextCursor; cursor == "" {
				break
			}
		}
		for id := range want {
			if seen[id] != 1 {
				t.Errorf("sort %s: contact %s seen %d times", sort, id, seen[id])
			}
		}
		if len(seen) != len(want) {
			t.Errorf("sort %s: %d contacts, want %d", sort, len(seen), len(want))
		}
		if sort == "last_name" && (!strings.HasSuffix(names[0], "Frey") || !strings.HasSuffix(names[len(names)-1], "Graf")) {
			t.Errorf("last_name order: %v", names)
		}
	}
}
