package httpapi_test

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rpcrm/rpcrm/internal/testfix"
	"github.com/rpcrm/rpcrm/postgres"
)

func TestAuthFlow(t *testing.T) {
	t.Parallel()
	e := testfix.New(t)
	t.Run("session lifecycle", func(t *testing.T) { testSessionLifecycle(t, e) })
	t.Run("refresh token reuse ends the session", func(t *testing.T) { testRefreshReuseEndsSession(t, e) })
}

func TestLoginErrors(t *testing.T) {
	t.Parallel()
	e := testfix.New(t)
	t.Run("bad credentials and bad input", func(t *testing.T) { testLoginErrors(t, e) })
	t.Run("every 401 carries WWW-Authenticate", func(t *testing.T) { testEvery401CarriesWWWAuthenticate(t, e) })
}

func testSessionLifecycle(t *testing.T, e *testfix.Env) {
	s := newServer(t, e, serverOptions{})
	anna := e.CreateUser(t, "alpha", "anna@alpha.test", "admin")

	// Login: the e-mail address is matched case-insensitively.
	pair := s.login(t, "alpha.test", "  Anna@Alpha.TEST ", testfix.Password)
	if pair.AccessToken == "" || !strings.HasPrefix(pair.RefreshToken, "rt_") {
		t.Fatalf("token pair = %+v", pair)
	}
	if pair.TokenType != "Bearer" {
		t.Errorf("token_type = %q, want Bearer", pair.TokenType)
	}
	if pair.ExpiresIn <= 0 || pair.ExpiresIn > 900 {
		t.Errorf("expires_in = %d, want 1..900", pair.ExpiresIn)
	}

	var me struct {
		ID     string `json:"id"`
		Email  string `json:"email"`
		Name   string `json:"name"`
		Locale string `json:"locale"`
		Tenant struct {
			ID, Name, Locale, Currency, Timezone string
		} `json:"tenant"`
		Roles []struct {
			ID, Key, Name string
		} `json:"roles"`
		Permissions []string `json:"permissions"`
	}
	res := s.do(t, request{Path: "/api/v1/me", Token: pair.AccessToken})
	if res.Status != http.StatusOK {
		t.Fatalf("me: %d %s", res.Status, res.Body)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	res.decode(t, &me)
	if me.ID != anna.ID.String() || me.Email != "anna@alpha.test" || me.Name != "Test anna@alpha.test" {
		t.Errorf("me = %+v", me)
	}
	if me.Tenant.ID != "alpha" || me.Tenant.Name != "Alpha AG" || me.Tenant.Locale != "de-CH" ||
		me.Tenant.Currency != "CHF" || me.Tenant.Timezone != "Europe/Zurich" || me.Locale != "de-CH" {
		t.Errorf("me.tenant = %+v, locale %q", me.Tenant, me.Locale)
	}
	if len(me.Roles) != 1 || me.Roles[0].Key != "admin" {
		t.Errorf("me.roles = %+v", me.Roles)
	}
	for _, want := range []string{"users:manage", "roles:manage", "audit:read", "contacts:read"} {
		if !strings.Contains(strings.Join(me.Permissions, " "), want) {
			t.Errorf("me.permissions %v lack %s", me.Permissions, want)
		}
	}

	runScenarios(t, s, []scenario{
		{Name: "token works on the tenant's other host", ExpectedStatus: 200,
			request: request{Path: "/api/v1/me", Host: "www.alpha.test", Token: pair.AccessToken}, ExpectedContent: []string{anna.ID.String()}},
		{Name: "token is refused on another tenant's host", ExpectedStatus: 401, ExpectedCode: "unauthorized",
			request:            request{Path: "/api/v1/me", Host: "beta.test", Token: pair.AccessToken},
			NotExpectedContent: []string{"anna", "Alpha"}, ExpectedHeaders: map[string]string{"WWW-Authenticate": "*"}},
		{Name: "alpha's refresh token is refused on beta", ExpectedStatus: 401, ExpectedCode: "unauthorized",
			request: request{Method: "POST", Path: "/api/v1/auth/refresh", Host: "beta.test", Body: map[string]string{"refresh_token": pair.RefreshToken}}},
		{Name: "lower-case bearer scheme is accepted", ExpectedStatus: 200,
			request: request{Path: "/api/v1/me", Header: map[string]string{"Authorization": "bearer " + pair.AccessToken}}},
		{Name: "refresh without token", ExpectedStatus: 422, ExpectedCode: "invalid", ExpectedFields: []string{"refresh_token"},
			request: request{Method: "POST", Path: "/api/v1/auth/refresh", Body: "{}"}},
		{Name: "refresh with garbage", ExpectedStatus: 401, ExpectedCode: "unauthorized",
			request: request{Method: "POST", Path: "/api/v1/auth/refresh", Body: map[string]string{"refresh_token": "rt_garbage"}}},
	})

	// Refresh gives a new pair; the old refresh token stays usable for the
	// grace period (two tabs refreshing at once).
	res = s.do(t, request{Method: "POST", Path: "/api/v1/auth/refresh", Body: map[string]string{"refresh_token": pair.RefreshToken}})
	if res.Status != http.StatusOK {
		t.Fatalf("refresh: %d %s", res.Status, res.Body)
	}
	var pair2 tokenPair
	res.decode(t, &pair2)
	if pair2.AccessToken == "" || pair2.RefreshToken == "" || pair2.RefreshToken == pair.RefreshToken || pair2.TokenType != "Bearer" {
		t.Fatalf("refreshed pair = %+v", pair2)
	}
	if res := s.do(t, request{Path: "/api/v1/me", Token: pair2.AccessToken}); res.Status != http.StatusOK {
		t.Fatalf("me with refreshed token: %d %s", res.Status, res.Body)
	}

	// Logout ends the session: both access tokens of it and its refresh tokens.
	res = s.do(t, request{Method: "POST", Path: "/api/v1/auth/logout", Token: pair2.AccessToken})
	if res.Status != http.StatusNoContent || len(res.Body) != 0 {
		t.Fatalf("logout: %d %q", res.Status, res.Body)
	}
	runScenarios(t, s, []scenario{
		{Name: "me after logout", request: request{Path: "/api/v1/me", Token: pair2.AccessToken}, ExpectedStatus: 401, ExpectedCode: "unauthorized"},
		{Name: "first access token after logout", request: request{Path: "/api/v1/me", Token: pair.AccessToken}, ExpectedStatus: 401},
		{Name: "refresh after logout", ExpectedStatus: 401, ExpectedCode: "unauthorized",
			request: request{Method: "POST", Path: "/api/v1/auth/refresh", Body: map[string]string{"refresh_token": pair2.RefreshToken}}},
		{Name: "logout again", request: request{Method: "POST", Path: "/api/v1/auth/logout", Token: pair2.AccessToken}, ExpectedStatus: 401},
	})

	// The audit log saw the login and the logout, with the client's address.
	admin := e.Login(t, "alpha", "anna@alpha.test")
	for _, action := range []string{"auth.login", "auth.logout"} {
		entries := s.auditEntries(t, "alpha.test", admin.AccessToken, "action="+action)
		if len(entries) == 0 {
			t.Errorf("no %s entry in the audit log", action)
			continue
		}
		last := entries[len(entries)-1] // oldest: the one made over HTTP
		if rid, _ := last["request_id"].(string); last["actor"] != "anna@alpha.test" || last["ip"] != "127.0.0.1" || rid == "" {
			t.Errorf("%s entry = %v", action, last)
		}
	}
}

// A refresh token presented again after the grace period is treated as
// stolen: the whole session ends, including the tokens the thief obtained.
func testRefreshReuseEndsSession(t *testing.T, e *testfix.Env) {
	strict := &postgres.AuthService{DB: e.DB, Tokens: e.Tokens, RefreshTTL: time.Hour, ReuseGrace: 0}
	s := newServer(t, e, serverOptions{Auth: strict})
	e.CreateUser(t, "alpha", "rita@alpha.test", "admin")
	pair := s.login(t, "alpha.test", "rita@alpha.test", testfix.Password)

	refresh := func(token string) *response {
		return s.do(t, request{Method: "POST", Path: "/api/v1/auth/refresh", Body: map[string]string{"refresh_token": token}})
	}
	res := refresh(pair.RefreshToken)
	if res.Status != http.StatusOK {
		t.Fatalf("first refresh: %d %s", res.Status, res.Body)
	}
	var next tokenPair
	res.decode(t, &next)
	time.Sleep(10 * time.Millisecond)
	if res := refresh(pair.RefreshToken); res.Status != http.StatusUnauthorized {
		t.Fatalf("reused refresh token: %d %s", res.Status, res.Body)
	}
	if res := refresh(next.RefreshToken); res.Status != http.StatusUnauthorized {
		t.Errorf("refresh token of the revoked session still works: %d %s", res.Status, res.Body)
	}
	if res := s.do(t, request{Path: "/api/v1/me", Token: next.AccessToken}); res.Status != http.StatusUnauthorized {
		t.Errorf("access token of the revoked session still works: %d %s", res.Status, res.Body)
	}
	admin := e.Login(t, "alpha", "rita@alpha.test")
	if len(s.auditEntries(t, "alpha.test", admin.AccessToken, "action=auth.refresh_reuse")) != 1 {
		t.Error("no auth.refresh_reuse entry in the audit log")
	}
}

// withoutRequestMeta drops the members that differ on every request.
func withoutRequestMeta(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("not JSON: %s", body)
	}
	delete(m, "request_id")
	delete(m, "instance")
	return m
}

func testLoginErrors(t *testing.T, e *testfix.Env) {
	s := newServer(t, e, serverOptions{MaxBodyBytes: 1024})
	e.CreateUser(t, "alpha", "anna@alpha.test", "admin")
	e.CreateUser(t, "alpha", "admin@alpha.test", "admin")
	carl := e.CreateUser(t, "alpha", "carl@alpha.test", "sales")
	admin := e.Login(t, "alpha", "admin@alpha.test")
	if res := s.do(t, request{Method: "POST", Path: "/api/v1/users/" + carl.ID.String() + "/disable", Token: admin.AccessToken}); res.Status != 200 {
		t.Fatalf("disable carl: %d %s", res.Status, res.Body)
	}

	// Wrong password, unknown e-mail, disabled account and an account of
	// another tenant must be indistinguishable.
	attempts := []struct {
		name, host, email, password string
	}{
		{"wrong password", "alpha.test", "anna@alpha.test", "falsches-Passwort-99"},
		{"unknown e-mail", "alpha.test", "niemand@alpha.test", "falsches-Passwort-99"},
		{"disabled account, right password", "alpha.test", "carl@alpha.test", testfix.Password},
		{"user of another tenant", "beta.test", "anna@alpha.test", testfix.Password},
	}
	var first *response
	for _, a := range attempts {
		t.Run(a.name, func(t *testing.T) {
			res := s.do(t, request{Method: "POST", Path: "/api/v1/auth/login", Host: a.host,
				Body: map[string]string{"email": a.email, "password": a.password}})
			if res.Status != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401: %s", res.Status, res.Body)
			}
			res.problem(t)
			if bytes.Contains(res.Body, []byte("access_token")) {
				t.Fatalf("tokens in a failed login: %s", res.Body)
			}
			if first == nil {
				first = res
				return
			}
			if got, want := withoutRequestMeta(t, res.Body), withoutRequestMeta(t, first.Body); !reflect.DeepEqual(got, want) {
				t.Errorf("body differs from the wrong-password answer:\n got %v\nwant %v", got, want)
			}
			for _, h := range []string{"Content-Type", "WWW-Authenticate", "Retry-After", "Cache-Control"} {
				if res.Header.Get(h) != first.Header.Get(h) {
					t.Errorf("header %s = %q, wrong-password answer has %q", h, res.Header.Get(h), first.Header.Get(h))
				}
			}
		})
	}

	login := func(body any) request {
		return request{Method: "POST", Path: "/api/v1/auth/login", Body: body}
	}
	big := `{"email":"anna@alpha.test","password":"` + strings.Repeat("x", 4096) + `"}`
	runScenarios(t, s, []scenario{
		{Name: "missing fields", request: login("{}"), ExpectedStatus: 422, ExpectedCode: "invalid", ExpectedFields: []string{"email", "password"}},
		{Name: "JSON null", request: login("null"), ExpectedStatus: 422, ExpectedCode: "invalid", ExpectedFields: []string{"email", "password"}},
		{Name: "blank e-mail", request: login(map[string]string{"email": "   ", "password": "x"}), ExpectedStatus: 422, ExpectedFields: []string{"email"}},
		{Name: "missing password", request: login(map[string]string{"email": "anna@alpha.test"}), ExpectedStatus: 422, ExpectedFields: []string{"password"}},
		{Name: "empty body", request: request{Method: "POST", Path: "/api/v1/auth/login", Body: ""}, ExpectedStatus: 422, ExpectedCode: "invalid"},
		{Name: "form-encoded body", request: request{Method: "POST", Path: "/api/v1/auth/login", Body: "email=anna%40alpha.test&password=x"},
			ExpectedStatus: 422, ExpectedCode: "invalid"},
		{Name: "truncated JSON", request: login(`{"email": "anna@alpha.test", "pass`), ExpectedStatus: 422, ExpectedCode: "invalid"},
		{Name: "array instead of object", request: login(`[]`), ExpectedStatus: 422, ExpectedCode: "invalid"},
		{Name: "wrong type", request: login(`{"email": 17, "password": "x"}`), ExpectedStatus: 422, ExpectedFields: []string{"email"}},
		{Name: "unknown field", request: login(`{"email": "anna@alpha.test", "password": "x", "remember_me": true}`),
			ExpectedStatus: 422, ExpectedCode: "invalid", ExpectedFields: []string{"remember_me"}},
		{Name: "trailing data", request: login(`{"email": "anna@alpha.test", "password": "x"} {}`), ExpectedStatus: 422, ExpectedCode: "invalid"},
		{Name: "text/plain", request: request{Method: "POST", Path: "/api/v1/auth/login", ContentType: "text/plain",
			Body: `{"email": "anna@alpha.test", "password": "` + testfix.Password + `"}`},
			ExpectedStatus: 422, ExpectedCode: "invalid", NotExpectedContent: []string{"access_token"}},
		{Name: "form content type", request: request{Method: "POST", Path: "/api/v1/auth/login", ContentType: "application/x-www-form-urlencoded",
			Body: `{"email": "anna@alpha.test", "password": "` + testfix.Password + `"}`},
			ExpectedStatus: 422, NotExpectedContent: []string{"access_token"}},
		{Name: "JSON with charset", request: request{Method: "POST", Path: "/api/v1/auth/login", ContentType: "application/json; charset=utf-8",
			Body: `{"email": "anna@alpha.test", "password": "falsch-falsch-falsch"}`}, ExpectedStatus: 401},
		{Name: "long password within the limit", request: login(map[string]string{"email": "anna@alpha.test", "password": strings.Repeat("x", 900)}),
			ExpectedStatus: 401},
	})

	t.Run("body over MaxBodyBytes", func(t *testing.T) {
		res := s.do(t, login(big))
		if res.Status < 400 || res.Status >= 500 {
			t.Fatalf("status %d, want a 4xx: %s", res.Status, res.Body)
		}
		if p := res.problem(t); !strings.Contains(p.Detail, "1024") {
			t.Errorf("detail %q does not state the limit", p.Detail)
		}
	})
	t.Run("login with an exactly fitting body still works", func(t *testing.T) {
		body := `{"email":"anna@alpha.test","password":"` + testfix.Password + `"}`
		body += strings.Repeat(" ", 1024-len(body))
		if res := s.do(t, login(body)); res.Status != http.StatusOK {
			t.Fatalf("status %d: %s", res.Status, res.Body)
		}
	})

	// None of the malformed requests was counted as a login attempt.
	got := counterValue(t, s.Metrics, "rpcrm_logins_total", map[string]string{"tenant": "alpha", "outcome": "failure"})
	if got != 5 { // wrong password, unknown, disabled, charset, long
		t.Errorf("rpcrm_logins_total{outcome=failure} = %v, want 5", got)
	}
	if got := counterValue(t, s.Metrics, "rpcrm_logins_total", map[string]string{"tenant": "beta", "outcome": "failure"}); got != 1 {
		t.Errorf("rpcrm_logins_total{tenant=beta,outcome=failure} = %v, want 1", got)
	}

	// The audit log tells the reasons apart, though the client cannot.
	reasons := map[string]bool{}
	for _, en := range s.auditEntries(t, "alpha.test", admin.AccessToken, "action=auth.login_failed") {
		if d, ok := en["details"].(map[string]any); ok {
			reasons[d["reason"].(string)] = true
		}
	}
	if want := map[string]bool{"wrong_password": true, "unknown_email": true, "disabled": true}; !maps.Equal(reasons, want) {
		t.Errorf("audit reasons = %v, want %v", reasons, want)
	}
}

// RFC 9110 §15.5.2 and docs/api.md: every 401 carries a WWW-Authenticate
// challenge. The guard sets it, but login and refresh answer 401 without one.
func testEvery401CarriesWWWAuthenticate(t *testing.T, e *testfix.Env) {
	s := newServer(t, e, serverOptions{})
	for _, r := range []request{
		{Method: "POST", Path: "/api/v1/auth/login", Body: map[string]string{"email": "x@alpha.test", "password": "falsch-falsch"}},
		{Method: "POST", Path: "/api/v1/auth/refresh", Body: map[string]string{"refresh_token": "rt_nope"}},
		{Path: "/api/v1/me"},
	} {
		t.Run(r.Path, func(t *testing.T) {
			res := s.do(t, r)
			if res.Status != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", res.Status)
			}
			if res.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("401 without WWW-Authenticate")
			}
		})
	}
}
