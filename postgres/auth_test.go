package postgres_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/audit"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/internal/testfix"
	"github.com/rpcrm/rpcrm/postgres"
)

func TestLoginAndAuthenticate(t *testing.T) {
	t.Parallel()
	e := testfix.New(t)
	ctx := context.Background()
	alpha, beta := e.Ref(t, "alpha"), e.Ref(t, "beta")
	anna := e.CreateUser(t, "alpha", "anna@alpha.test", "admin")
	sam := e.CreateUser(t, "alpha", "sam@alpha.test", "sales")
	e.CreateUser(t, "beta", "bob@beta.test", "admin")

	pair, err := e.Auth.Login(ctx, alpha, "  Anna@Alpha.TEST ", testfix.Password, auth.LoginMeta{IP: "192.0.2.1", RequestID: "req-1"})
	if err != nil {
		t.Fatalf("login (e-mail with other case and spaces): %v", err)
	}
	if pair.AccessToken == "" || !strings.HasPrefix(pair.RefreshToken, "rt_") || pair.TokenType != "Bearer" ||
		pair.ExpiresIn <= 0 || pair.ExpiresIn > int(e.Tokens.TTL().Seconds()) {
		t.Errorf("token pair: %+v", pair)
	}

	t.Run("authenticate gives the principal", func(t *testing.T) {
		p, err := e.Auth.Authenticate(ctx, alpha, pair.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		if p.UserID != anna.ID || p.TenantID != alpha.ID || p.Tenant != "alpha" || p.Email != "anna@alpha.test" || p.SessionID.String() == "" {
			t.Errorf("principal: %+v", p)
		}
		if len(p.Roles) != 1 || p.Roles[0].Key != "admin" {
			t.Errorf("roles: %+v", p.Roles)
		}
		if s, ok := p.Grants.Allows(auth.PermContactsWrite); !ok || s != auth.ScopeAll || !p.Grants.Has(auth.PermUsersManage) {
			t.Errorf("admin grants: %v", p.Grants)
		}
		if len(p.Grants) != len(auth.AllPermissions()) {
			t.Errorf("admin has %d grants, want all %d", len(p.Grants), len(auth.AllPermissions()))
		}

		_, ps := loginAs(t, e, "alpha", "sam@alpha.test")
		if s, ok := ps.Grants.Allows(auth.PermContactsWrite); !ok || s != auth.ScopeOwn {
			t.Errorf("sales contacts:write = %v, %v; want own", s, ok)
		}
		if ps.Grants.Has(auth.PermUsersManage) || ps.UserID != sam.ID {
			t.Errorf("sales principal: %+v", ps)
		}
	})

	t.Run("tokens of alpha are refused by beta", func(t *testing.T) {
		_, err := e.Auth.Authenticate(ctx, beta, pair.AccessToken)
		wantCode(t, err, rpcrm.EUNAUTHORIZED, "alpha access token at beta")
		_, err = e.Auth.Refresh(ctx, beta, pair.RefreshToken, auth.LoginMeta{})
		wantCode(t, err, rpcrm.EUNAUTHORIZED, "alpha refresh token at beta")
		_, err = e.Auth.Login(ctx, beta, "anna@alpha.test", testfix.Password, auth.LoginMeta{})
		wantCode(t, err, rpcrm.EUNAUTHORIZED, "alpha user logs in at beta")
		// A garbage token is refused without touching the database.
		_, err = e.Auth.Authenticate(ctx, alpha, pair.AccessToken+"x")
		wantCode(t, err, rpcrm.EUNAUTHORIZED, "tampered token")
		// And alpha's token still works at alpha.
		if _, err := e.Auth.Authenticate(ctx, alpha, pair.AccessToken); err != nil {
			t.Errorf("alpha token at alpha: %v", err)
		}
	})

	t.Run("login writes auth.login", func(t *testing.T) {
		p, err := e.Auth.Authenticate(ctx, alpha, pair.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		list := auditList(t, e, "alpha", audit.Filter{Action: audit.LoginSucceeded, EntityID: &anna.ID})
		found := false
		for _, en := range list {
			if en.Details["session_id"] == p.SessionID.String() {
				found = true
				if en.ActorID == nil || *en.ActorID != anna.ID || en.IP != "192.0.2.1" || en.RequestID != "req-1" || en.Actor != "anna@alpha.test" {
					t.Errorf("login entry: %+v", en)
				}
			}
		}
		if !found {
			t.Errorf("no auth.login entry for session %s in %+v", p.SessionID, list)
		}
	})

	t.Run("failed logins look alike and are audited", func(t *testing.T) {
		dis := e.CreateUser(t, "alpha", "dora@alpha.test", "sales")
		if _, err := e.Auth.UpdateUser(ctx, e.System(t, "alpha"), dis.ID, auth.UserPatch{Disabled: ptr(true)}, auth.LoginMeta{}); err != nil {
			t.Fatal(err)
		}
		attempts := []struct{ email, password, reason string }{
			{"anna@alpha.test", "Falsches-Passwort-99", "wrong_password"},
			{"nobody@alpha.test", testfix.Password, "unknown_email"},
			{"dora@alpha.test", testfix.Password, "disabled"},
		}
		var first error
		for _, a := range attempts {
			pair, err := e.Auth.Login(ctx, alpha, a.email, a.password, auth.LoginMeta{IP: "198.51.100.7"})
			if pair != nil || err == nil {
				t.Errorf("%s: login succeeded", a.reason)
				continue
			}
			wantCode(t, err, rpcrm.EUNAUTHORIZED, a.reason)
			if first == nil {
				first = err
			} else if err.Error() != first.Error() || rpcrm.ErrorMessage(err) != rpcrm.ErrorMessage(first) {
				t.Errorf("%s: error %q differs from %q", a.reason, err, first)
			}
		}
		list := auditList(t, e, "alpha", audit.Filter{Action: audit.LoginFailed, Limit: 200})
		for _, a := range attempts {
			found := false
			for _, en := range list {
				if en.Actor == a.email && en.Details["reason"] == a.reason && en.IP == "198.51.100.7" {
					found = true
				}
			}
			if !found {
				t.Errorf("no auth.login_failed entry with reason %s for %s: %+v", a.reason, a.email, list)
			}
		}
		// None of alpha's failures shows up in beta's log.
		for _, en := range auditList(t, e, "beta", audit.Filter{Action: audit.LoginFailed, Limit: 200}) {
			if en.IP == "198.51.100.7" {
				t.Errorf("alpha's failed login visible at beta: %+v", en)
			}
		}
	})
}

// clockedAuth returns a copy of e.Auth whose clock runs offset ahead of real
// time; used_at is written by the database clock, so only forward jumps make sense.
func clockedAuth(e *testfix.Env, grace time.Duration) (*postgres.AuthService, *atomic.Int64) {
	var offset atomic.Int64
	svc := *e.Auth
	svc.ReuseGrace = grace
	svc.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	return &svc, &offset
}

func TestRefresh(t *testing.T) {
	t.Parallel()
	e := testfix.New(t)
	ctx := context.Background()
	alpha := e.Ref(t, "alpha")
	anna := e.CreateUser(t, "alpha", "anna@alpha.test", "admin")

	t.Run("rotation, grace and reuse", func(t *testing.T) {
		svc, offset := clockedAuth(e, 30*time.Second)
		p0 := e.Login(t, "alpha", "anna@alpha.test")
		p1, err := svc.Refresh(ctx, alpha, p0.RefreshToken, auth.LoginMeta{})
		if err != nil {
			t.Fatal(err)
		}
		if p1.RefreshToken == p0.RefreshToken || p1.AccessToken == p0.AccessToken {
			t.Error("refresh did not rotate the tokens")
		}
		// A second tab uses the old token within the grace window.
		p2, err := svc.Refresh(ctx, alpha, p0.RefreshToken, auth.LoginMeta{})
		if err != nil {
			t.Fatalf("reuse within grace: %v", err)
		}
		if p2.RefreshToken == p1.RefreshToken {
			t.Error("grace refresh returned the same refresh token")
		}
		// Normal rotation later on is not mistaken for reuse.
		offset.Store(int64(time.Minute))
		p3, err := svc.Refresh(ctx, alpha, p2.RefreshToken, auth.LoginMeta{})
		if err != nil {
			t.Fatalf("rotating the newest token a minute later: %v", err)
		}
		pr, err := e.Auth.Authenticate(ctx, alpha, p3.AccessToken)
		if err != nil {
			t.Fatalf("new access token: %v", err)
		}

		// p0's token again, now well after the grace window: theft.
		offset.Store(int64(2 * time.Minute))
		_, err = svc.Refresh(ctx, alpha, p0.RefreshToken, auth.LoginMeta{IP: "203.0.113.9"})
		wantCode(t, err, rpcrm.EUNAUTHORIZED, "reuse after grace")
		_, err = svc.Refresh(ctx, alpha, p3.RefreshToken, auth.LoginMeta{})
		wantCode(t, err, rpcrm.EUNAUTHORIZED, "newest refresh token after reuse")
		_, err = svc.Refresh(ctx, alpha, p1.RefreshToken, auth.LoginMeta{})
		wantCode(t, err, rpcrm.EUNAUTHORIZED, "sibling refresh token after reuse")
		_, err = e.Auth.Authenticate(ctx, alpha, p3.AccessToken)
		wantCode(t, err, rpcrm.EUNAUTHORIZED, "access token of the revoked session")

		list := auditList(t, e, "alpha", audit.Filter{Action: audit.RefreshReuse, EntityID: &anna.ID})
		if len(list) != 1 || list[0].Details["session_id"] != pr.SessionID.String() || list[0].IP != "203.0.113.9" {
			t.Errorf("auth.refresh_reuse entries: %+v", list)
		}
		// Other sessions of the user are untouched.
		if _, err := e.Auth.Authenticate(ctx, alpha, e.Login(t, "alpha", "anna@alpha.test").AccessToken); err != nil {
			t.Errorf("new session after reuse: %v", err)
		}
	})

	t.Run("expired and bogus tokens", func(t *testing.T) {
		svc, offset := clockedAuth(e, 30*time.Second)
		p0 := e.Login(t, "alpha", "anna@alpha.test")
		offset.Store(int64(e.Auth.RefreshTTL + time.Minute))
		_, err := svc.Refresh(ctx, alpha, p0.RefreshToken, auth.LoginMeta{})
		wantCode(t, err, rpcrm.EUNAUTHORIZED, "expired refresh token")
		for _, tok := range []string{"", "rt_", "rt_doesnotexist", p0.AccessToken} {
			_, err := e.Auth.Refresh(ctx, alpha, tok, auth.LoginMeta{})
			wantCode(t, err, rpcrm.EUNAUTHORIZED, "bogus refresh token "+tok)
		}
		// The expired attempt did not revoke anything: the token still works now.
		if _, err := e.Auth.Refresh(ctx, alpha, p0.RefreshToken, auth.LoginMeta{}); err != nil {
			t.Errorf("refresh with the real clock: %v", err)
		}
	})

	t.Run("concurrent refresh of one token", func(t *testing.T) {
		p0 := e.Login(t, "alpha", "anna@alpha.test")
		const n = 4
		var wg sync.WaitGroup
		pairs := make([]*auth.TokenPair, n)
		errs := make([]error, n)
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				pairs[i], errs[i] = e.Auth.Refresh(ctx, alpha, p0.RefreshToken, auth.LoginMeta{})
			})
		}
		close(start)
		wg.Wait()
		seen := map[string]bool{}
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("concurrent refresh %d: %v", i, errs[i])
			}
			if seen[pairs[i].RefreshToken] {
				t.Errorf("two refreshes returned the same refresh token")
			}
			seen[pairs[i].RefreshToken] = true
		}
		for i := range n {
			if _, err := e.Auth.Authenticate(ctx, alpha, pairs[i].AccessToken); err != nil {
				t.Errorf("access token %d after concurrent refresh: %v", i, err)
			}
		}
		if _, err := e.Auth.Refresh(ctx, alpha, pairs[0].RefreshToken, auth.LoginMeta{}); err != nil {
			t.Errorf("session after concurrent refresh: %v", err)
		}
	})

	t.Run("logout ends only its session", func(t *testing.T) {
		a := e.Login(t, "alpha", "anna@alpha.test")
		b := e.Login(t, "alpha", "anna@alpha.test")
		p, err := e.Auth.Authenticate(ctx, alpha, a.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Auth.Logout(ctx, p, auth.LoginMeta{}); err != nil {
			t.Fatal(err)
		}
		_, err = e.Auth.Authenticate(ctx, alpha, a.AccessToken)
		wantCode(t, err, rpcrm.EUNAUTHORIZED, "access token after logout")
		_, err = e.Auth.Refresh(ctx, alpha, a.RefreshToken, auth.LoginMeta{})
		wantCode(t, err, rpcrm.EUNAUTHORIZED, "refresh token after logout")
		if _, err := e.Auth.Authenticate(ctx, alpha, b.AccessToken); err != nil {
			t.Errorf("other session after logout: %v", err)
		}
		if l := auditList(t, e, "alpha", audit.Filter{Action: audit.Logout, ActorID: &anna.ID}); len(l) != 1 {
			t.Errorf("auth.logout entries: %+v", l)
		}
	})
}

func TestSessionsEndOnDisableAndPassword(t *testing.T) {
	t.Parallel()
	e := testfix.New(t)
	ctx := context.Background()
	alpha := e.Ref(t, "alpha")
	sys := e.System(t, "alpha")
	e.CreateUser(t, "alpha", "anna@alpha.test", "admin")
	sam := e.CreateUser(t, "alpha", "sam@alpha.test", "sales")
	tom := e.CreateUser(t, "alpha", "tom@alpha.test", "sales")

	t.Run("disable", func(t *testing.T) {
		pair := e.Login(t, "alpha", "sam@alpha.test")
		if _, err := e.Auth.Authenticate(ctx, alpha, pair.AccessToken); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Auth.UpdateUser(ctx, sys, sam.ID, auth.UserPatch{Disabled: ptr(true)}, auth.LoginMeta{}); err != nil {
			t.Fatal(err)
		}
		_, err := e.Auth.Authenticate(ctx, alpha, pair.AccessToken)
		wantCode(t, err, rpcrm.EUNAUTHORIZED, "access token of disabled user")
		_, err = e.Auth.Refresh(ctx, alpha, pair.RefreshToken, auth.LoginMeta{})
		wantCode(t, err, rpcrm.EUNAUTHORIZED, "refresh token of disabled user")
		// Enabling again does not bring the old sessions back.
		if _, err := e.Auth.UpdateUser(ctx, sys, sam.ID, auth.UserPatch{Disabled: ptr(false)}, auth.LoginMeta{}); err != nil {
			t.Fatal(err)
		}
		_, err = e.Auth.Authenticate(ctx, alpha, pair.AccessToken)
		wantCode(t, err, rpcrm.EUNAUTHORIZED, "old access token after re-enable")
		_, err = e.Auth.Refresh(ctx, alpha, pair.RefreshToken, auth.LoginMeta{})
		wantCode(t, err, rpcrm.EUNAUTHORIZED, "old refresh token after re-enable")
		e.Login(t, "alpha", "sam@alpha.test")
	})

	t.Run("set password", func(t *testing.T) {
		pair := e.Login(t, "alpha", "tom@alpha.test")
		if err := e.Auth.SetPassword(ctx, sys, tom.ID, newPassword, auth.LoginMeta{}); err != nil {
			t.Fatal(err)
		}
		_, err := e.Auth.Authenticate(ctx, alpha, pair.AccessToken)
		wantCode(t, err, rpcrm.EUNAUTHORIZED, "access token after password change")
		_, err = e.Auth.Refresh(ctx, alpha, pair.RefreshToken, auth.LoginMeta{})
		wantCode(t, err, rpcrm.EUNAUTHORIZED, "refresh token after password change")
		_, err = e.Auth.Login(ctx, alpha, "tom@alpha.test", testfix.Password, auth.LoginMeta{})
		wantCode(t, err, rpcrm.EUNAUTHORIZED, "old password")
		if _, err := e.Auth.Login(ctx, alpha, "tom@alpha.test", newPassword, auth.LoginMeta{}); err != nil {
			t.Errorf("new password: %v", err)
		}
		err = e.Auth.SetPassword(ctx, sys, tom.ID, "kurz", auth.LoginMeta{})
		wantCode(t, err, rpcrm.EINVALID, "password policy")
		if l := auditList(t, e, "alpha", audit.Filter{Action: audit.UserPassword, EntityID: &tom.ID}); len(l) != 1 {
			t.Errorf("user.set_password entries: %+v", l)
		}
	})
}
