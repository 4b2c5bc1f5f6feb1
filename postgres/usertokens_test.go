package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/audit"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/internal/testfix"
)

const linkPassword = "Rheinfall-Schaffhausen-42"

func TestInviteCreatesPendingUserUntilTheLinkIsUsed(t *testing.T) {
	t.Parallel()
	e := testfix.New(t)
	ctx := context.Background()
	alpha := e.Ref(t, "alpha")
	e.CreateUser(t, "alpha", "admin@alpha.test", "admin")
	_, admin := loginAs(t, e, "alpha", "admin@alpha.test")
	sales := roleID(t, e, "alpha", "sales")

	u, link, err := e.Auth.InviteUser(ctx, admin, auth.NewInvite{Email: " Nina@Alpha.test ", Name: "Nina Frei", RoleIDs: []uuid.UUID{sales}}, auth.LoginMeta{})
	if err != nil {
		t.Fatal(err)
	}
	if !u.Pending || !u.Disabled || u.Email != "nina@alpha.test" || link.Purpose != auth.LinkInvite {
		t.Fatalf("invited user: %+v link %+v", u, link)
	}
	if d := time.Until(link.ExpiresAt); d < auth.InviteTTL-time.Minute || d > auth.InviteTTL {
		t.Errorf("invitation expires in %v", d)
	}
	// The token is stored only as its hash.
	if n := ownerInt(t, ownerConn(t, e), `SELECT count(*) FROM user_tokens WHERE token_hash = convert_to($1, 'UTF8')`, link.Token); n != 0 {
		t.Error("the link token is stored in clear")
	}
	// No password works before the invitation is accepted.
	if _, err := e.Auth.Login(ctx, alpha, "nina@alpha.test", "", auth.LoginMeta{}); rpcrm.ErrorCode(err) != rpcrm.EUNAUTHORIZED {
		t.Fatalf("login of a pending user: %v", err)
	}
	// The link belongs to alpha: on beta it is unknown.
	if _, err := e.Auth.UserLinkInfo(ctx, e.Ref(t, "beta"), link.Token); rpcrm.ErrorCode(err) != rpcrm.ENOTFOUND {
		t.Fatalf("alpha's link on beta: %v", err)
	}
	info, err := e.Auth.UserLinkInfo(ctx, alpha, link.Token)
	if err != nil || info.Email != "nina@alpha.test" || info.Purpose != auth.LinkInvite {
		t.Fatalf("link info: %+v %v", info, err)
	}
	// The password policy applies; a refused password leaves the link usable.
	err = e.Auth.RedeemUserLink(ctx, alpha, link.Token, "kurz", auth.LoginMeta{})
	if e, ok := err.(*rpcrm.Error); !ok || e.Fields["password"] == "" {
		t.Fatalf("short password: %v", err)
	}
	if err := e.Auth.RedeemUserLink(ctx, alpha, link.Token, linkPassword, auth.LoginMeta{IP: "192.0.2.9"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Auth.Login(ctx, alpha, "nina@alpha.test", linkPassword, auth.LoginMeta{}); err != nil {
		t.Fatalf("login after accepting the invitation: %v", err)
	}
	got, _ := e.Auth.User(ctx, admin, u.ID)
	if got.Pending || got.Disabled {
		t.Errorf("after accepting: %+v", got)
	}
	// Once only.
	err = e.Auth.RedeemUserLink(ctx, alpha, link.Token, "Another-Password-2026", auth.LoginMeta{})
	wantCode(t, err, rpcrm.ENOTFOUND, "second use of the invitation")
	if l := auditList(t, e, "alpha", audit.Filter{EntityID: &u.ID, Action: audit.UserInviteAccept}); len(l) != 1 || l[0].IP != "192.0.2.9" {
		t.Errorf("audit of the acceptance: %+v", l)
	}
	if l := auditList(t, e, "alpha", audit.Filter{EntityID: &u.ID, Action: audit.UserInvite}); len(l) != 1 || l[0].Actor != "admin@alpha.test" {
		t.Errorf("audit of the invitation: %+v", l)
	}
	// A second invitation for an active user is refused.
	_, err = e.Auth.IssueUserLink(ctx, admin, u.ID, auth.LinkInvite, auth.LoginMeta{})
	wantCode(t, err, rpcrm.ECONFLICT, "invitation for an active user")
}

func TestResetLinkIsSingleUseExpiresAndEndsSessions(t *testing.T) {
	t.Parallel()
	e := testfix.New(t)
	ctx := context.Background()
	alpha := e.Ref(t, "alpha")
	e.CreateUser(t, "alpha", "admin@alpha.test", "admin")
	_, admin := loginAs(t, e, "alpha", "admin@alpha.test")
	bob := e.CreateUser(t, "alpha", "bob@alpha.test", "sales")
	bobPair := e.Login(t, "alpha", "bob@alpha.test")

	first, err := e.Auth.IssueUserLink(ctx, admin, bob.ID, auth.LinkReset, auth.LoginMeta{})
	if err != nil {
		t.Fatal(err)
	}
	second, err := e.Auth.IssueUserLink(ctx, admin, bob.ID, auth.LinkReset, auth.LoginMeta{})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(second.ExpiresAt); d < auth.ResetTTL-time.Minute || d > auth.ResetTTL {
		t.Errorf("reset link expires in %v", d)
	}
	// A new link replaces the earlier one.
	wantCode(t, e.Auth.RedeemUserLink(ctx, alpha, first.Token, linkPassword, auth.LoginMeta{}), rpcrm.ENOTFOUND, "replaced link")

	// Two uses at once: exactly one wins.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = e.Auth.RedeemUserLink(ctx, alpha, second.Token, linkPassword, auth.LoginMeta{})
		}()
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Fatalf("concurrent uses: %v / %v", errs[0], errs[1])
	}
	if _, err := e.Auth.Authenticate(ctx, alpha, bobPair.AccessToken); err == nil {
		t.Error("bob's session survived the password reset")
	}
	if _, err := e.Auth.Login(ctx, alpha, "bob@alpha.test", linkPassword, auth.LoginMeta{}); err != nil {
		t.Fatalf("login with the new password: %v", err)
	}
	if l := auditList(t, e, "alpha", audit.Filter{EntityID: &bob.ID, Action: audit.UserPasswordReset}); len(l) != 1 || l[0].Actor != "bob@alpha.test" {
		t.Errorf("audit of the reset: %+v", l)
	}

	// Expiry, by the service's clock.
	third, err := e.Auth.IssueUserLink(ctx, admin, bob.ID, auth.LinkReset, auth.LoginMeta{})
	if err != nil {
		t.Fatal(err)
	}
	late := *e.Auth
	late.Now = func() time.Time { return time.Now().Add(auth.ResetTTL + time.Minute) }
	wantCode(t, late.RedeemUserLink(ctx, alpha, third.Token, "Noch-ein-Passwort-1", auth.LoginMeta{}), rpcrm.ENOTFOUND, "expired link")
	if _, err := late.UserLinkInfo(ctx, alpha, third.Token); rpcrm.ErrorCode(err) != rpcrm.ENOTFOUND {
		t.Errorf("expired link info: %v", err)
	}
	// Garbage never reaches the database.
	wantCode(t, e.Auth.RedeemUserLink(ctx, alpha, "ul_x", linkPassword, auth.LoginMeta{}), rpcrm.ENOTFOUND, "malformed token")
}

func TestUserLinksRespectRights(t *testing.T) {
	t.Parallel()
	e := testfix.New(t)
	ctx := context.Background()
	e.CreateUser(t, "alpha", "admin@alpha.test", "admin")
	_, admin := loginAs(t, e, "alpha", "admin@alpha.test")
	sys := e.System(t, "alpha")
	// A role that may manage users but holds little else.
	mgr, err := e.Auth.CreateRole(ctx, sys, auth.RoleInput{Name: "Benutzerpflege", Permissions: []string{"users:manage", "contacts:read"}}, auth.LoginMeta{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Auth.CreateUser(ctx, sys, auth.NewUser{Email: "m@alpha.test", Name: "M", Password: testfix.Password, RoleIDs: []uuid.UUID{mgr.ID}}, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}
	_, m := loginAs(t, e, "alpha", "m@alpha.test")
	adminUser, _ := e.Auth.UserByEmail(ctx, sys, "admin@alpha.test")

	_, err = e.Auth.IssueUserLink(ctx, m, adminUser.ID, auth.LinkReset, auth.LoginMeta{})
	wantCode(t, err, rpcrm.EFORBIDDEN, "reset link for a user with more rights")
	_, _, err = e.Auth.InviteUser(ctx, m, auth.NewInvite{Email: "x@alpha.test", Name: "X", RoleIDs: []uuid.UUID{roleID(t, e, "alpha", "admin")}}, auth.LoginMeta{})
	wantCode(t, err, rpcrm.EFORBIDDEN, "invite with a role of more rights")
	_, _, err = e.Auth.InviteUser(ctx, admin, auth.NewInvite{Email: "admin@alpha.test", Name: "Dup", RoleIDs: []uuid.UUID{mgr.ID}}, auth.LoginMeta{})
	wantCode(t, err, rpcrm.ECONFLICT, "invite an existing e-mail")
	// Another tenant's user is not found.
	betaUser := e.CreateUser(t, "beta", "b@beta.test", "sales")
	_, err = e.Auth.IssueUserLink(ctx, admin, betaUser.ID, auth.LinkReset, auth.LoginMeta{})
	wantCode(t, err, rpcrm.ENOTFOUND, "reset link for beta's user")
}

func TestChangeOwnPasswordAndLocale(t *testing.T) {
	t.Parallel()
	e := testfix.New(t)
	ctx := context.Background()
	alpha := e.Ref(t, "alpha")
	e.CreateUser(t, "alpha", "anna@alpha.test", "sales")
	other := e.Login(t, "alpha", "anna@alpha.test")
	pair, anna := loginAs(t, e, "alpha", "anna@alpha.test")

	err := e.Auth.ChangeOwnPassword(ctx, anna, "wrong", "kurz", auth.LoginMeta{})
	if e, ok := err.(*rpcrm.Error); !ok || e.Fields["current_password"] == "" || e.Fields["password"] == "" {
		t.Fatalf("wrong current and short new password: %v", err)
	}
	err = e.Auth.ChangeOwnPassword(ctx, anna, testfix.Password, testfix.Password, auth.LoginMeta{})
	if e, ok := err.(*rpcrm.Error); !ok || e.Fields["password"] == "" {
		t.Fatalf("same password: %v", err)
	}
	if err := e.Auth.ChangeOwnPassword(ctx, anna, testfix.Password, linkPassword, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Auth.Authenticate(ctx, alpha, pair.AccessToken); err != nil {
		t.Errorf("the current session ended: %v", err)
	}
	if _, err := e.Auth.Authenticate(ctx, alpha, other.AccessToken); err == nil {
		t.Error("the other session survived the password change")
	}
	if _, err := e.Auth.Login(ctx, alpha, "anna@alpha.test", linkPassword, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}
	if l := auditList(t, e, "alpha", audit.Filter{Action: audit.UserChangePassword}); len(l) != 1 {
		t.Errorf("audit: %+v", l)
	}

	wantCode(t, e.Auth.SetOwnLocale(ctx, anna, "xx", auth.LoginMeta{}), rpcrm.EINVALID, "unknown locale")
	if err := e.Auth.SetOwnLocale(ctx, anna, "en", auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}
	p, err := e.Auth.Authenticate(ctx, alpha, pair.AccessToken)
	if err != nil || p.Locale != "en" {
		t.Fatalf("locale after change: %+v %v", p, err)
	}
	if l := auditList(t, e, "alpha", audit.Filter{Action: audit.UserUpdate, EntityID: &p.UserID}); len(l) != 1 || l[0].Changes["locale"].After != "en" {
		t.Errorf("audit of the locale: %+v", l)
	}
}
