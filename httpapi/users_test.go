package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/internal/testfix"
)

type userJSON struct {
	ID       string `json:"id"`
	Email    string `json:"email"`
	Name     string `json:"name"`
	Locale   string `json:"locale"`
	Disabled bool   `json:"disabled"`
	Version  int    `json:"version"`
	Roles    []struct {
		ID, Key, Name string
	} `json:"roles"`
}

func roleIDByKey(t *testing.T, e *testfix.Env, slug, key string) uuid.UUID {
	t.Helper()
	roles, err := e.Auth.ListRoles(context.Background(), e.System(t, slug))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range roles {
		if r.Key == key {
			return r.ID
		}
	}
	t.Fatalf("no role %q in %s", key, slug)
	return uuid.Nil
}

// userEmails lists the e-mail addresses of a tenant's users over the API.
func (s *testServer) userEmails(t *testing.T, host, token string) []string {
	t.Helper()
	res := s.do(t, request{Path: "/api/v1/users", Host: host, Token: token})
	if res.Status != http.StatusOK {
		t.Fatalf("list users: %d %s", res.Status, res.Body)
	}
	var out struct{ Items []userJSON }
	res.decode(t, &out)
	var emails []string
	for _, u := range out.Items {
		emails = append(emails, u.Email)
	}
	slices.Sort(emails)
	return emails
}

func TestUsersAPI(t *testing.T) {
	t.Parallel()
	e := testfix.New(t)
	t.Run("lifecycle", func(t *testing.T) { testUsersAPI(t, e) })
	t.Run("user manager cannot take over an administrator", func(t *testing.T) { testUserManagerCannotTakeOverAnAdministrator(t, e) })
}

func TestRolesAPI(t *testing.T) {
	t.Parallel()
	e := testfix.New(t)
	t.Run("lifecycle", func(t *testing.T) { testRolesAPI(t, e) })
	t.Run("audit log paging", func(t *testing.T) { testAuditLogPaging(t, e) })
}

func testUsersAPI(t *testing.T, e *testfix.Env) {
	s := newServer(t, e, serverOptions{})
	adminUser := e.CreateUser(t, "alpha", "admin@alpha.test", "admin")
	admin := e.Login(t, "alpha", "admin@alpha.test").AccessToken
	sales := roleIDByKey(t, e, "alpha", "sales")
	adminRole := roleIDByKey(t, e, "alpha", "admin")

	// Create.
	res := s.do(t, request{Method: "POST", Path: "/api/v1/users", Token: admin, Body: map[string]any{
		"email": " Carla@Alpha.test ", "name": "Carla Muster", "password": "Limmatquai-Tram-4", "locale": "fr-CH",
		"role_ids": []uuid.UUID{sales}}})
	if res.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	var carla userJSON
	res.decode(t, &carla)
	if carla.Email != "carla@alpha.test" || carla.Name != "Carla Muster" || carla.Locale != "fr-CH" || carla.Disabled ||
		len(carla.Roles) != 1 || carla.Roles[0].Key != "sales" {
		t.Errorf("created user = %+v", carla)
	}
	if loc := res.Header.Get("Location"); loc != "/api/v1/users/"+carla.ID {
		t.Errorf("Location = %q", loc)
	}
	if et := res.Header.Get("ETag"); et != fmt.Sprintf("%q", fmt.Sprint(carla.Version)) {
		t.Errorf("ETag = %q, version %d", et, carla.Version)
	}
	if strings.Contains(string(res.Body), "password") || strings.Contains(string(res.Body), "argon2") {
		t.Errorf("the answer shows the password or its hash: %s", res.Body)
	}
	before := s.userEmails(t, "alpha.test", admin)

	create := func(body map[string]any) request {
		return request{Method: "POST", Path: "/api/v1/users", Token: admin, Body: body}
	}
	valid := func(change map[string]any) map[string]any {
		b := map[string]any{"email": "dora@alpha.test", "name": "Dora", "password": "Limmatquai-Tram-4", "role_ids": []uuid.UUID{sales}}
		for k, v := range change {
			if v == nil {
				delete(b, k)
			} else {
				b[k] = v
			}
		}
		return b
	}
	runScenarios(t, s, []scenario{
		{Name: "bad e-mail", request: create(valid(map[string]any{"email": "dora-at-alpha"})), ExpectedStatus: 422, ExpectedFields: []string{"email"}},
		{Name: "e-mail without domain dot", request: create(valid(map[string]any{"email": "dora@localhost"})), ExpectedStatus: 422, ExpectedFields: []string{"email"}},
		{Name: "short password", request: create(valid(map[string]any{"password": "kurz"})), ExpectedStatus: 422, ExpectedFields: []string{"password"}},
		{Name: "common password", request: create(valid(map[string]any{"password": "passwort1234"})), ExpectedStatus: 422, ExpectedFields: []string{"password"}},
		{Name: "password is the e-mail", request: create(valid(map[string]any{"password": "dora@alpha.test"})), ExpectedStatus: 422, ExpectedFields: []string{"password"}},
		{Name: "several errors at once", request: create(map[string]any{"email": "x", "password": "x"}), ExpectedStatus: 422,
			ExpectedFields: []string{"email", "name", "password", "role_ids"}},
		{Name: "unknown locale", request: create(valid(map[string]any{"locale": "xx"})), ExpectedStatus: 422, ExpectedFields: []string{"locale"}},
		{Name: "unknown role", request: create(valid(map[string]any{"role_ids": []string{uuid.NewString()}})), ExpectedStatus: 422, ExpectedFields: []string{"role_ids"}},
		{Name: "role id not a UUID", request: create(valid(map[string]any{"role_ids": []string{"admin"}})), ExpectedStatus: 422, ExpectedCode: "invalid"},
		{Name: "unknown field", request: create(valid(map[string]any{"is_admin": true})), ExpectedStatus: 422, ExpectedFields: []string{"is_admin"}},
		{Name: "duplicate e-mail", request: create(valid(map[string]any{"email": "carla@alpha.test"})), ExpectedStatus: 409,
			ExpectedCode: "conflict", ExpectedFields: []string{"email"}},
		{Name: "duplicate e-mail in other case", request: create(valid(map[string]any{"email": "CARLA@alpha.test"})), ExpectedStatus: 409,
			ExpectedFields: []string{"email"}},
	})
	if after := s.userEmails(t, "alpha.test", admin); !slices.Equal(after, before) {
		t.Fatalf("refused creates changed the users: %v → %v", before, after)
	}

	// Read and optimistic concurrency.
	userPath := "/api/v1/users/" + carla.ID
	runScenarios(t, s, []scenario{
		{Name: "get", request: request{Path: userPath, Token: admin}, ExpectedStatus: 200,
			ExpectedHeaders: map[string]string{"ETag": `"1"`}, ExpectedContent: []string{`"carla@alpha.test"`}},
		{Name: "get unknown id", request: request{Path: "/api/v1/users/" + uuid.NewString(), Token: admin}, ExpectedStatus: 404, ExpectedCode: "not_found"},
		{Name: "get malformed id", request: request{Path: "/api/v1/users/42", Token: admin}, ExpectedStatus: 404, ExpectedCode: "not_found"},
		{Name: "patch with stale If-Match", ExpectedStatus: 412, ExpectedCode: "precondition",
			request: request{Method: "PATCH", Path: userPath, Token: admin, Body: map[string]any{"name": "Carla Stale"},
				Header: map[string]string{"If-Match": `"7"`}}},
		{Name: "patch with stale body version", ExpectedStatus: 412, ExpectedCode: "precondition",
			request: request{Method: "PATCH", Path: userPath, Token: admin, Body: map[string]any{"name": "Carla Stale", "version": 9}}},
		{Name: "patch with bad If-Match", ExpectedStatus: 422, ExpectedFields: []string{"If-Match"},
			request: request{Method: "PATCH", Path: userPath, Token: admin, Body: map[string]any{"name": "Carla Stale"},
				Header: map[string]string{"If-Match": "yesterday"}}},
		{Name: "unchanged after refused patches", request: request{Path: userPath, Token: admin}, ExpectedStatus: 200,
			ExpectedHeaders: map[string]string{"ETag": `"1"`}, ExpectedContent: []string{`"Carla Muster"`}, NotExpectedContent: []string{"Stale"}},
		{Name: "patch with current weak If-Match", ExpectedStatus: 200, ExpectedHeaders: map[string]string{"ETag": `"2"`},
			request: request{Method: "PATCH", Path: userPath, Token: admin, Body: map[string]any{"name": "Carla Meier"},
				Header: map[string]string{"If-Match": `W/"1"`}},
			ExpectedContent: []string{`"Carla Meier"`, `"version":2`}},
		{Name: "patch e-mail to a taken one", ExpectedStatus: 409, ExpectedFields: []string{"email"},
			request: request{Method: "PATCH", Path: userPath, Token: admin, Body: map[string]any{"email": "admin@alpha.test"}}},
		{Name: "patch invalid e-mail", ExpectedStatus: 422, ExpectedFields: []string{"email"},
			request: request{Method: "PATCH", Path: userPath, Token: admin, Body: map[string]any{"email": "nope"}}},
		{Name: "patch to no roles", ExpectedStatus: 422, ExpectedFields: []string{"role_ids"},
			request: request{Method: "PATCH", Path: userPath, Token: admin, Body: map[string]any{"role_ids": []string{}}}},
	})

	// Disabling ends the user's sessions at once.
	carlaToken := s.login(t, "alpha.test", "carla@alpha.test", "Limmatquai-Tram-4").AccessToken
	if res := s.do(t, request{Path: "/api/v1/me", Token: carlaToken}); res.Status != http.StatusOK {
		t.Fatalf("carla's token: %d", res.Status)
	}
	runScenarios(t, s, []scenario{
		{Name: "disable", request: request{Method: "POST", Path: userPath + "/disable", Token: admin}, ExpectedStatus: 200,
			ExpectedContent: []string{`"disabled":true`}, ExpectedHeaders: map[string]string{"ETag": `"3"`}},
		{Name: "disabled user's token", request: request{Path: "/api/v1/me", Token: carlaToken}, ExpectedStatus: 401, ExpectedCode: "unauthorized"},
		{Name: "disabled user's login", request: loginRequest("carla@alpha.test", "Limmatquai-Tram-4", nil), ExpectedStatus: 401},
		{Name: "disable with stale If-Match", ExpectedStatus: 412,
			request: request{Method: "POST", Path: userPath + "/enable", Token: admin, Header: map[string]string{"If-Match": `"1"`}}},
		{Name: "enable", request: request{Method: "POST", Path: userPath + "/enable", Token: admin}, ExpectedStatus: 200,
			ExpectedContent: []string{`"disabled":false`}},
		{Name: "old token stays dead after enabling", request: request{Path: "/api/v1/me", Token: carlaToken}, ExpectedStatus: 401},
		{Name: "admin cannot disable themself", request: request{Method: "POST", Path: "/api/v1/users/" + adminUser.ID.String() + "/disable", Token: admin},
			ExpectedStatus: 422, ExpectedFields: []string{"disabled"}},
		{Name: "last admin cannot drop the admin role", ExpectedStatus: 409, ExpectedCode: "conflict",
			request: request{Method: "PATCH", Path: "/api/v1/users/" + adminUser.ID.String(), Token: admin,
				Body: map[string]any{"role_ids": []uuid.UUID{sales}}}},
		{Name: "admin still admin", request: request{Path: "/api/v1/me", Token: admin}, ExpectedStatus: 200,
			ExpectedContent: []string{`"users:manage"`}},
	})

	// Setting a password ends the user's sessions; the new one works.
	carlaToken = s.login(t, "alpha.test", "carla@alpha.test", "Limmatquai-Tram-4").AccessToken
	runScenarios(t, s, []scenario{
		{Name: "set common password", ExpectedStatus: 422, ExpectedFields: []string{"password"},
			request: request{Method: "PUT", Path: userPath + "/password", Token: admin, Body: map[string]string{"password": "Sommer2024!"}}},
		{Name: "set empty password", ExpectedStatus: 422, ExpectedFields: []string{"password"},
			request: request{Method: "PUT", Path: userPath + "/password", Token: admin, Body: map[string]string{}}},
		{Name: "set password of unknown user", ExpectedStatus: 404,
			request: request{Method: "PUT", Path: "/api/v1/users/" + uuid.NewString() + "/password", Token: admin, Body: map[string]string{"password": "Bahnhofstrasse-99"}}},
		{Name: "set password", ExpectedStatus: 204,
			request: request{Method: "PUT", Path: userPath + "/password", Token: admin, Body: map[string]string{"password": "Bahnhofstrasse-99"}}},
		{Name: "session ended by new password", request: request{Path: "/api/v1/me", Token: carlaToken}, ExpectedStatus: 401},
		{Name: "old password refused", request: loginRequest("carla@alpha.test", "Limmatquai-Tram-4", nil), ExpectedStatus: 401},
		{Name: "new password works", request: loginRequest("carla@alpha.test", "Bahnhofstrasse-99", nil), ExpectedStatus: 200,
			ExpectedContent: []string{`"access_token"`}},
	})

	// A user manager who is not an administrator: may disable the last
	// administrator neither, nor hand out rights they lack.
	managerRole := customRole(t, e, "alpha", "Benutzerverwaltung", "users:manage")
	userWithRoles(t, e, "alpha", "uma@alpha.test", managerRole.ID)
	uma := e.Login(t, "alpha", "uma@alpha.test").AccessToken
	ute := userWithRoles(t, e, "alpha", "ute@alpha.test", managerRole.ID)
	runScenarios(t, s, []scenario{
		{Name: "user manager cannot disable an administrator", ExpectedStatus: 403, ExpectedCode: "forbidden",
			request: request{Method: "POST", Path: "/api/v1/users/" + adminUser.ID.String() + "/disable", Token: uma}},
		{Name: "user manager cannot set an administrator's password", ExpectedStatus: 403, ExpectedCode: "forbidden",
			request: request{Method: "PUT", Path: "/api/v1/users/" + adminUser.ID.String() + "/password", Token: uma,
				Body: map[string]string{"password": "Uebernommen-Passwort-1"}}},
		{Name: "user manager cannot disable a user with other rights", ExpectedStatus: 403,
			request: request{Method: "POST", Path: userPath + "/disable", Token: uma}},
		{Name: "user manager may disable a peer", ExpectedStatus: 200, ExpectedContent: []string{`"disabled":true`},
			request: request{Method: "POST", Path: "/api/v1/users/" + ute.ID.String() + "/disable", Token: uma}},
		{Name: "admin still works", request: request{Path: "/api/v1/me", Token: admin}, ExpectedStatus: 200},
		{Name: "user manager creates an administrator", ExpectedStatus: 403, ExpectedCode: "forbidden", ExpectedFields: []string{"role_ids"},
			request: request{Method: "POST", Path: "/api/v1/users", Token: uma, Body: valid(map[string]any{"email": "evil@alpha.test", "role_ids": []uuid.UUID{adminRole}})}},
		{Name: "user manager promotes a user to administrator", ExpectedStatus: 403, ExpectedCode: "forbidden",
			request: request{Method: "PATCH", Path: userPath, Token: uma, Body: map[string]any{"role_ids": []uuid.UUID{adminRole}}}},
		{Name: "user manager may not manage roles", request: request{Path: "/api/v1/roles", Token: uma}, ExpectedStatus: 403},
	})
	// Someone with every right but without the Administrator role may change
	// the administrator, but not disable the last one.
	var all []string
	for _, p := range auth.AllPermissions() {
		all = append(all, string(p.Name))
	}
	everything := customRole(t, e, "alpha", "Alle Rechte", all...)
	userWithRoles(t, e, "alpha", "sue@alpha.test", everything.ID)
	sue := e.Login(t, "alpha", "sue@alpha.test").AccessToken
	runScenarios(t, s, []scenario{
		{Name: "disabling the last administrator", ExpectedStatus: 409, ExpectedCode: "conflict",
			request: request{Method: "POST", Path: "/api/v1/users/" + adminUser.ID.String() + "/disable", Token: sue}},
		{Name: "taking the last administrator's role", ExpectedStatus: 409, ExpectedCode: "conflict",
			request: request{Method: "PATCH", Path: "/api/v1/users/" + adminUser.ID.String(), Token: sue,
				Body: map[string]any{"role_ids": []uuid.UUID{everything.ID}}}},
		{Name: "last administrator unchanged", request: request{Path: "/api/v1/me", Token: admin}, ExpectedStatus: 200,
			ExpectedContent: []string{`"key":"admin"`}},
	})
	if emails := s.userEmails(t, "alpha.test", admin); slices.Contains(emails, "evil@alpha.test") {
		t.Error("refused administrator was created")
	}
	if res := s.do(t, request{Path: userPath, Token: admin}); strings.Contains(string(res.Body), `"admin"`) {
		t.Errorf("refused promotion happened: %s", res.Body)
	}

	// Tenants are separate: alpha's token does nothing on beta, and beta's
	// administrator does not find alpha's users.
	e.CreateUser(t, "beta", "admin@beta.test", "admin")
	betaAdmin := e.Login(t, "beta", "admin@beta.test").AccessToken
	betaSales := roleIDByKey(t, e, "beta", "sales")
	runScenarios(t, s, []scenario{
		{Name: "alpha token on beta", request: request{Path: "/api/v1/users", Host: "beta.test", Token: admin},
			ExpectedStatus: 401, NotExpectedContent: []string{"alpha.test"}},
		{Name: "beta lists only beta", request: request{Path: "/api/v1/users", Host: "beta.test", Token: betaAdmin},
			ExpectedStatus: 200, ExpectedContent: []string{"admin@beta.test"}, NotExpectedContent: []string{"alpha.test"}},
		{Name: "beta gets alpha's user", request: request{Path: userPath, Host: "beta.test", Token: betaAdmin}, ExpectedStatus: 404,
			NotExpectedContent: []string{"carla"}},
		{Name: "beta patches alpha's user", ExpectedStatus: 404,
			request: request{Method: "PATCH", Path: userPath, Host: "beta.test", Token: betaAdmin, Body: map[string]any{"name": "Hijacked"}}},
		{Name: "beta disables alpha's user", ExpectedStatus: 404,
			request: request{Method: "POST", Path: userPath + "/disable", Host: "beta.test", Token: betaAdmin}},
		{Name: "beta sets alpha's user's password", ExpectedStatus: 404,
			request: request{Method: "PUT", Path: userPath + "/password", Host: "beta.test", Token: betaAdmin, Body: map[string]string{"password": "Hijacked-Password-1"}}},
		{Name: "beta gives alpha's role", ExpectedStatus: 422, ExpectedFields: []string{"role_ids"},
			request: request{Method: "POST", Path: "/api/v1/users", Host: "beta.test", Token: betaAdmin,
				Body: valid(map[string]any{"email": "x@beta.test", "role_ids": []uuid.UUID{adminRole}})}},
		{Name: "beta may reuse alpha's e-mail address", ExpectedStatus: 201,
			request: request{Method: "POST", Path: "/api/v1/users", Host: "beta.test", Token: betaAdmin,
				Body: valid(map[string]any{"email": "carla@alpha.test", "role_ids": []uuid.UUID{betaSales}})}},
		{Name: "alpha's user unchanged", request: request{Path: userPath, Token: admin}, ExpectedStatus: 200,
			ExpectedContent: []string{`"Carla Meier"`, `"disabled":false`}},
	})
}

// A user manager must not set the password of a user who holds more rights
// (e.g. an administrator) and then log in as them: users:manage alone would
// escalate to every permission. (Found by these tests; fixed in
// postgres.checkCanManage.)
func testUserManagerCannotTakeOverAnAdministrator(t *testing.T, e *testfix.Env) {
	s := newServer(t, e, serverOptions{})
	adminUser := e.CreateUser(t, "alpha", "root@alpha.test", "admin")
	managerRole := customRole(t, e, "alpha", "Nur Benutzer", "users:manage")
	userWithRoles(t, e, "alpha", "ulla@alpha.test", managerRole.ID)
	uma := e.Login(t, "alpha", "ulla@alpha.test").AccessToken

	res := s.do(t, request{Method: "PUT", Path: "/api/v1/users/" + adminUser.ID.String() + "/password", Token: uma,
		Body: map[string]string{"password": "Uebernommen-Passwort-1"}})
	if res.Status == http.StatusForbidden {
		return
	}
	res = s.do(t, loginRequest("root@alpha.test", "Uebernommen-Passwort-1", nil))
	t.Errorf("a user with only users:manage set the administrator's password and logged in as them (login: %d); want 403", res.Status)
}

func testRolesAPI(t *testing.T, e *testfix.Env) {
	s := newServer(t, e, serverOptions{})
	e.CreateUser(t, "alpha", "admin@alpha.test", "admin")
	admin := e.Login(t, "alpha", "admin@alpha.test").AccessToken
	builtinAdmin := roleIDByKey(t, e, "alpha", "admin")

	// The list: built-in roles first, with their keys.
	res := s.do(t, request{Path: "/api/v1/roles", Token: admin})
	if res.Status != http.StatusOK {
		t.Fatalf("list roles: %d %s", res.Status, res.Body)
	}
	var list struct{ Items []auth.Role }
	res.decode(t, &list)
	var keys []string
	for _, r := range list.Items {
		keys = append(keys, r.Key)
		if !r.Builtin {
			t.Errorf("role %s not built in", r.Name)
		}
	}
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"admin", "manager", "readonly", "sales"}) {
		t.Errorf("built-in role keys = %v", keys)
	}

	res = s.do(t, request{Method: "POST", Path: "/api/v1/roles", Token: admin, Body: map[string]any{
		"name": "Assistenz", "description": "Kontakte pflegen", "permissions": []string{"contacts:read", "contacts:write:own"}}})
	if res.Status != http.StatusCreated {
		t.Fatalf("create role: %d %s", res.Status, res.Body)
	}
	var role auth.Role
	res.decode(t, &role)
	if role.Builtin || role.Key != "" || !slices.Equal(role.Permissions, []string{"contacts:read", "contacts:write:own"}) {
		t.Errorf("created role = %+v", role)
	}
	if loc := res.Header.Get("Location"); loc != "/api/v1/roles/"+role.ID.String() {
		t.Errorf("Location = %q", loc)
	}
	if res.Header.Get("ETag") != `"1"` {
		t.Errorf("ETag = %q", res.Header.Get("ETag"))
	}
	rolePath := "/api/v1/roles/" + role.ID.String()
	builtinPath := "/api/v1/roles/" + builtinAdmin.String()
	createRole := func(body map[string]any) request {
		return request{Method: "POST", Path: "/api/v1/roles", Token: admin, Body: body}
	}
	runScenarios(t, s, []scenario{
		{Name: "unknown permission", request: createRole(map[string]any{"name": "X", "permissions": []string{"contacts:fly"}}),
			ExpectedStatus: 422, ExpectedCode: "invalid", ExpectedFields: []string{"permissions"}},
		{Name: "own scope on an unscoped permission", request: createRole(map[string]any{"name": "X", "permissions": []string{"users:manage:own"}}),
			ExpectedStatus: 422, ExpectedFields: []string{"permissions"}},
		{Name: "duplicate permission", request: createRole(map[string]any{"name": "X", "permissions": []string{"deals:read", "deals:read:own"}}),
			ExpectedStatus: 422, ExpectedFields: []string{"permissions"}},
		{Name: "missing name", request: createRole(map[string]any{"permissions": []string{}}), ExpectedStatus: 422, ExpectedFields: []string{"name"}},
		{Name: "duplicate name in other case", request: createRole(map[string]any{"name": "ASSISTENZ", "permissions": []string{}}),
			ExpectedStatus: 409, ExpectedCode: "conflict", ExpectedFields: []string{"name"}},
		{Name: "get", request: request{Path: rolePath, Token: admin}, ExpectedStatus: 200, ExpectedHeaders: map[string]string{"ETag": `"1"`}},
		{Name: "get unknown", request: request{Path: "/api/v1/roles/" + uuid.NewString(), Token: admin}, ExpectedStatus: 404, ExpectedCode: "not_found"},
		{Name: "patch built-in role", ExpectedStatus: 409, ExpectedCode: "conflict",
			request: request{Method: "PATCH", Path: builtinPath, Token: admin, Body: map[string]any{"permissions": []string{"contacts:read"}}}},
		{Name: "delete built-in role", request: request{Method: "DELETE", Path: builtinPath, Token: admin}, ExpectedStatus: 409, ExpectedCode: "conflict"},
		{Name: "built-in role unchanged", request: request{Path: builtinPath, Token: admin}, ExpectedStatus: 200,
			ExpectedContent: []string{`"users:manage"`, `"roles:manage"`}},
		{Name: "patch with stale If-Match", ExpectedStatus: 412, ExpectedCode: "precondition",
			request: request{Method: "PATCH", Path: rolePath, Token: admin, Body: map[string]any{"name": "Stale"}, Header: map[string]string{"If-Match": `"5"`}}},
		{Name: "patch with unknown permission", ExpectedStatus: 422, ExpectedFields: []string{"permissions"},
			request: request{Method: "PATCH", Path: rolePath, Token: admin, Body: map[string]any{"permissions": []string{"nope"}}}},
		{Name: "unchanged after refused patches", request: request{Path: rolePath, Token: admin}, ExpectedStatus: 200,
			ExpectedHeaders: map[string]string{"ETag": `"1"`}, ExpectedContent: []string{`"Assistenz"`, `"contacts:write:own"`}},
		{Name: "patch", ExpectedStatus: 200, ExpectedHeaders: map[string]string{"ETag": `"2"`},
			request: request{Method: "PATCH", Path: rolePath, Token: admin, Header: map[string]string{"If-Match": `"1"`},
				Body: map[string]any{"name": "Assistenz Verkauf", "permissions": []string{"contacts:read", "deals:read"}}},
			ExpectedContent: []string{`"Assistenz Verkauf"`, `"deals:read"`}, NotExpectedContent: []string{"contacts:write"}},
	})

	// A role in use cannot be deleted; an unused one can.
	userWithRoles(t, e, "alpha", "assi@alpha.test", role.ID)
	spare := customRole(t, e, "alpha", "Leer")
	runScenarios(t, s, []scenario{
		{Name: "delete role in use", request: request{Method: "DELETE", Path: rolePath, Token: admin}, ExpectedStatus: 409, ExpectedCode: "conflict"},
		{Name: "delete unused role", request: request{Method: "DELETE", Path: "/api/v1/roles/" + spare.ID.String(), Token: admin}, ExpectedStatus: 204},
		{Name: "deleted role is gone", request: request{Path: "/api/v1/roles/" + spare.ID.String(), Token: admin}, ExpectedStatus: 404},
	})

	// A role manager cannot create a role with rights they lack.
	rm := customRole(t, e, "alpha", "Rollenverwaltung", "roles:manage", "contacts:read:own")
	userWithRoles(t, e, "alpha", "rolf@alpha.test", rm.ID)
	rolf := e.Login(t, "alpha", "rolf@alpha.test").AccessToken
	runScenarios(t, s, []scenario{
		{Name: "role manager grants users:manage", ExpectedStatus: 403, ExpectedCode: "forbidden",
			request: request{Method: "POST", Path: "/api/v1/roles", Token: rolf, Body: map[string]any{"name": "Hintertür", "permissions": []string{"users:manage"}}}},
		{Name: "role manager widens a scope", ExpectedStatus: 403,
			request: request{Method: "PATCH", Path: "/api/v1/roles/" + rm.ID.String(), Token: rolf, Body: map[string]any{"permissions": []string{"roles:manage", "contacts:read"}}}},
		{Name: "role manager grants what they hold", ExpectedStatus: 201,
			request: request{Method: "POST", Path: "/api/v1/roles", Token: rolf, Body: map[string]any{"name": "Eigene Kontakte", "permissions": []string{"contacts:read:own"}}}},
		{Name: "beta does not see alpha's role", request: request{Path: rolePath, Host: "beta.test", Token: rolf}, ExpectedStatus: 401},
	})

	// Every change above is in the audit log.
	entries := s.auditEntries(t, "alpha.test", admin, "entity_type=role&limit=200")
	actions := map[string]int{}
	for _, en := range entries {
		actions[fmt.Sprint(en["action"])]++
	}
	if actions["role.update"] != 1 || actions["role.delete"] != 1 || actions["role.create"] < 4 {
		t.Errorf("role audit actions = %v", actions)
	}
}

func testAuditLogPaging(t *testing.T, e *testfix.Env) {
	s := newServer(t, e, serverOptions{})
	e.CreateUser(t, "alpha", "auditor@alpha.test", "admin")
	admin := e.Login(t, "alpha", "auditor@alpha.test").AccessToken
	for i := range 3 {
		customRole(t, e, "alpha", fmt.Sprintf("Rolle %d", i))
	}
	type page struct {
		Items []struct {
			ID, Action string
		}
		NextCursor string `json:"next_cursor"`
	}
	get := func(query string) page {
		t.Helper()
		res := s.do(t, request{Path: "/api/v1/audit-log?" + query, Token: admin})
		if res.Status != http.StatusOK {
			t.Fatalf("audit log ?%s: %d %s", query, res.Status, res.Body)
		}
		var p page
		res.decode(t, &p)
		return p
	}
	var all []string
	for _, it := range get("entity_type=role&limit=200").Items {
		all = append(all, it.ID)
	}
	if len(all) < 3 {
		t.Fatalf("only %d role entries", len(all))
	}
	// Pages of two, following next_cursor, give the same entries in the same order.
	var paged []string
	cursor := ""
	for range len(all) + 2 {
		q := "entity_type=role&limit=2"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		p := get(q)
		if len(p.Items) > 2 {
			t.Fatalf("page of %d entries, limit 2", len(p.Items))
		}
		for _, it := range p.Items {
			paged = append(paged, it.ID)
		}
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	if !slices.Equal(paged, all) {
		t.Errorf("paged entries differ from the full list:\n paged %v\n  full %v", paged, all)
	}
	runScenarios(t, s, []scenario{
		{Name: "bad limit", request: request{Path: "/api/v1/audit-log?limit=0", Token: admin}, ExpectedStatus: 422, ExpectedFields: []string{"limit"}},
		{Name: "limit too large", request: request{Path: "/api/v1/audit-log?limit=201", Token: admin}, ExpectedStatus: 422, ExpectedFields: []string{"limit"}},
		{Name: "bad cursor", request: request{Path: "/api/v1/audit-log?cursor=yesterday", Token: admin}, ExpectedStatus: 422, ExpectedFields: []string{"cursor"}},
		{Name: "bad entity id", request: request{Path: "/api/v1/audit-log?entity_id=42", Token: admin}, ExpectedStatus: 422, ExpectedFields: []string{"entity_id"}},
		{Name: "no match", request: request{Path: "/api/v1/audit-log?action=nothing.ever", Token: admin}, ExpectedStatus: 200,
			ExpectedContent: []string{`"items":[]`}, NotExpectedContent: []string{"next_cursor"}},
	})
}

func testUnknownAPIPaths(t *testing.T, e *testfix.Env) {
	s := newServer(t, e, serverOptions{})
	paths := []request{
		{Path: "/api/v1/nope"},
		{Path: "/api/v2/me"},
		{Path: "/api/"},
		{Path: "/api/v1/me/"},
		{Path: "/api/v1/users/" + uuid.NewString() + "/roles"},
		{Method: "POST", Path: "/api/v1/nope", Body: "{}"},
	}
	var scenarios []scenario
	for _, r := range paths {
		scenarios = append(scenarios, scenario{Name: r.Method + " " + r.Path, request: r, ExpectedStatus: 404, ExpectedCode: "not_found"})
	}
	runScenarios(t, s, scenarios)
	// A known path with a method it does not have is not served by another route.
	for _, r := range []request{{Method: "DELETE", Path: "/api/v1/me"}, {Method: "PUT", Path: "/api/v1/auth/login", Body: "{}"}} {
		res := s.do(t, r)
		if res.Status != http.StatusNotFound && res.Status != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: %d, want 404 or 405", r.Method, r.Path, res.Status)
		}
		res.problem(t)
	}
}
