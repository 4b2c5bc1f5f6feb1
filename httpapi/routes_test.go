package httpapi_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/httpapi"
	"github.com/rpcrm/rpcrm/internal/testfix"
)

// TestRouteList checks the route table itself: it is the one place that says
// what each endpoint requires, so it must be consistent.
func TestRouteList(t *testing.T) {
	routes := (&httpapi.API{}).Routes()
	if len(routes) == 0 {
		t.Fatal("no routes")
	}
	seen := map[string]bool{}
	var public []string
	for _, rt := range routes {
		key := rt.Method + " " + rt.Path
		if seen[key] {
			t.Errorf("%s is listed twice", key)
		}
		seen[key] = true
		if !strings.HasPrefix(rt.Path, "/api/v1/") {
			t.Errorf("%s is outside /api/v1/", key)
		}
		switch rt.Access {
		case httpapi.Public:
			public = append(public, key)
			if rt.Permission != "" {
				t.Errorf("public route %s names permission %q", key, rt.Permission)
			}
		case httpapi.Authenticated:
			if rt.Permission != "" {
				t.Errorf("authenticated route %s names permission %q but does not check it", key, rt.Permission)
			}
		case httpapi.Permitted:
			if _, ok := auth.LookupPermission(string(rt.Permission)); !ok {
				t.Errorf("%s requires %q, which is not in the permission catalogue", key, rt.Permission)
			}
		default:
			t.Errorf("%s has unknown access level %d", key, rt.Access)
		}
	}
	// Adding a public endpoint must be a conscious decision: update this list.
	wantPublic := []string{"GET /api/v1/openapi.json", "POST /api/v1/auth/login", "POST /api/v1/auth/refresh"}
	slices.Sort(public)
	if !slices.Equal(public, wantPublic) {
		t.Errorf("public routes = %v, want %v", public, wantPublic)
	}
}

// TestRouteWalker sends every non-public route requests without valid
// credentials, and every permission-guarded route a request by a user
// without any permission: none of them may get past the guard.
func TestRouteWalker(t *testing.T) {
	t.Parallel()
	e := testfix.New(t)
	t.Run("guards", func(t *testing.T) { testRouteWalker(t, e) })
	t.Run("unknown API paths", func(t *testing.T) { testUnknownAPIPaths(t, e) })
}

func testRouteWalker(t *testing.T, e *testfix.Env) {
	s := newServer(t, e, serverOptions{})
	ctx := context.Background()

	none := customRole(t, e, "alpha", "Ohne Rechte")
	nobody := userWithRoles(t, e, "alpha", "nobody@alpha.test", none.ID)
	noPerm := e.Login(t, "alpha", "nobody@alpha.test")

	// A second session of the same user, ended by logout.
	ended := e.Login(t, "alpha", "nobody@alpha.test")
	p, err := e.Auth.Authenticate(ctx, e.Ref(t, "alpha"), ended.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Auth.Logout(ctx, p, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}

	e.CreateUser(t, "beta", "admin@beta.test", "admin")
	betaAdmin := e.Login(t, "beta", "admin@beta.test")

	// Tokens with valid claims for a live alpha session, but signed with
	// another key or for another issuer.
	alpha := e.Ref(t, "alpha")
	live, err := e.Auth.Authenticate(ctx, alpha, noPerm.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	claims := auth.AccessClaims{UserID: nobody.ID, TenantID: alpha.ID, Tenant: alpha.Slug, SessionID: live.SessionID}
	otherKey, err := auth.NewTokens([]byte("a completely different signing key, 32+ bytes"), "rpcrm-test", 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	forged, _, err := otherKey.Issue(claims)
	if err != nil {
		t.Fatal(err)
	}
	otherIssuer, err := auth.NewTokens(testfix.JWTKey, "rpcrm-prod", 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	wrongIssuer, _, err := otherIssuer.Issue(claims)
	if err != nil {
		t.Fatal(err)
	}
	// Sanity: the same claims signed properly are accepted, so the refusals
	// below are about the signature and issuer and nothing else.
	genuine, _, err := e.Tokens.Issue(claims)
	if err != nil {
		t.Fatal(err)
	}
	if res := s.do(t, request{Path: "/api/v1/me", Token: genuine}); res.Status != http.StatusOK {
		t.Fatalf("genuine token refused: %d %s", res.Status, res.Body)
	}

	unauthenticated := []struct {
		name          string
		authorization string
	}{
		{"no Authorization header", ""},
		{"garbage token", "Bearer garbage"},
		{"empty bearer", "Bearer "},
		{"basic scheme", "Basic " + base64.StdEncoding.EncodeToString([]byte("nobody@alpha.test:"+testfix.Password))},
		{"token without scheme", noPerm.AccessToken},
		{"refresh token as access token", "Bearer " + noPerm.RefreshToken},
		{"signed with another key", "Bearer " + forged},
		{"another issuer", "Bearer " + wrongIssuer},
		{"truncated signature", "Bearer " + noPerm.AccessToken[:len(noPerm.AccessToken)-4]},
		{"token of another tenant", "Bearer " + betaAdmin.AccessToken},
		{"session ended by logout", "Bearer " + ended.AccessToken},
	}

	var walked, permitted int
	for _, rt := range (&httpapi.API{}).Routes() {
		path := strings.ReplaceAll(rt.Path, "{id}", uuid.NewString())
		path = strings.ReplaceAll(path, "{stage_id}", uuid.NewString())
		if strings.ContainsAny(path, "{}") {
			t.Fatalf("%s %s: the walker only knows {id}; teach it the new path parameter", rt.Method, rt.Path)
		}
		t.Run(rt.Method+" "+rt.Path, func(t *testing.T) {
			if rt.Access == httpapi.Public {
				// Public routes must not ask for a token; an empty object is bad input.
				res := s.do(t, request{Method: rt.Method, Path: path, Body: "{}"})
				if res.Status == http.StatusUnauthorized || res.Status == http.StatusForbidden {
					t.Errorf("public route answers %d without a token: %s", res.Status, res.Body)
				}
				return
			}
			walked++
			for _, c := range unauthenticated {
				t.Run(c.name, func(t *testing.T) {
					res := s.do(t, request{Method: rt.Method, Path: path, Body: "{}",
						Header: map[string]string{"Authorization": c.authorization}})
					if res.Status != http.StatusUnauthorized {
						t.Fatalf("status %d, want 401; body: %s", res.Status, res.Body)
					}
					if p := res.problem(t); p.Code != "unauthorized" {
						t.Errorf("problem code %q, want unauthorized", p.Code)
					}
					if h := res.Header.Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer") {
						t.Errorf("WWW-Authenticate = %q, want a Bearer challenge", h)
					}
				})
			}
			if rt.Access != httpapi.Permitted {
				return
			}
			permitted++
			t.Run("user without permissions", func(t *testing.T) {
				res := s.do(t, request{Method: rt.Method, Path: path, Token: noPerm.AccessToken, Body: "{}"})
				if res.Status != http.StatusForbidden {
					t.Fatalf("status %d, want 403; body: %s", res.Status, res.Body)
				}
				p := res.problem(t)
				if p.Code != "forbidden" {
					t.Errorf("problem code %q, want forbidden", p.Code)
				}
				if !strings.Contains(p.Detail, string(rt.Permission)) {
					t.Errorf("detail %q does not name the missing permission %s", p.Detail, rt.Permission)
				}
			})
		})
	}
	if walked < 10 || permitted < 8 {
		t.Errorf("walked only %d guarded routes (%d permission-guarded)", walked, permitted)
	}

	// The user without permissions is still a user: the routes that need no
	// permission work for them.
	runScenarios(t, s, []scenario{
		{Name: "me without permissions", request: request{Path: "/api/v1/me", Token: noPerm.AccessToken},
			ExpectedStatus: 200, ExpectedContent: []string{`"permissions":[]`, `"nobody@alpha.test"`, `"Ohne Rechte"`}},
		{Name: "permission catalogue", request: request{Path: "/api/v1/permissions", Token: noPerm.AccessToken},
			ExpectedStatus: 200, ExpectedContent: []string{`"users:manage"`, `"label_de"`, `"scoped":true`}},
	})

	// Nothing the refused requests asked for happened.
	users, err := e.Auth.ListUsers(ctx, e.System(t, "alpha"))
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 1 || users[0].Disabled || users[0].Version != nobody.Version {
		t.Errorf("users changed by refused requests: %+v", users)
	}
}
