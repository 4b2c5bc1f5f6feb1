package postgres_test

import (
	"context"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/audit"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/internal/testfix"
)

func roleKeys(u *auth.User) []string {
	var keys []string
	for _, r := range u.Roles {
		keys = append(keys, r.Key)
	}
	slices.Sort(keys)
	return keys
}

func TestLastAdministrator(t *testing.T) {
	t.Parallel()
	e := testfix.New(t)
	ctx := context.Background()
	beta := e.Ref(t, "beta")
	sys := e.System(t, "beta")
	sales := roleID(t, e, "beta", "sales")
	bob := e.CreateUser(t, "beta", "bob@beta.test", "admin")
	bobPair := e.Login(t, "beta", "bob@beta.test")

	_, err := e.Auth.UpdateUser(ctx, sys, bob.ID, auth.UserPatch{Disabled: ptr(true)}, auth.LoginMeta{})
	wantCode(t, err, rpcrm.ECONFLICT, "disable the last admin")
	_, err = e.Auth.UpdateUser(ctx, sys, bob.ID, auth.UserPatch{RoleIDs: &[]uuid.UUID{sales}}, auth.LoginMeta{})
	wantCode(t, err, rpcrm.ECONFLICT, "take the admin role from the last admin")
	u, err := e.Auth.User(ctx, sys, bob.ID)
	if err != nil {
		t.Fatal(err)
	}
	if u.Disabled || !slices.Equal(roleKeys(u), []string{"admin"}) || u.Version != bob.Version {
		t.Errorf("refused changes left traces: %+v", u)
	}
	if _, err := e.Auth.Authenticate(ctx, beta, bobPair.AccessToken); err != nil {
		t.Errorf("refused disable ended bob's session: %v", err)
	}
	if l := auditList(t, e, "beta", audit.Filter{EntityID: &bob.ID, Action: audit.UserDisable}); len(l) != 0 {
		t.Errorf("refused disable was audited: %+v", l)
	}

	// With a second administrator both changes become possible.
	bert := e.CreateUser(t, "beta", "bert@beta.test", "admin")
	_, bertP := loginAs(t, e, "beta", "bert@beta.test")

	_, err = e.Auth.UpdateUser(ctx, bertP, bert.ID, auth.UserPatch{Disabled: ptr(true)}, auth.LoginMeta{})
	wantCode(t, err, rpcrm.EINVALID, "disable oneself")
	if rerr, ok := err.(*rpcrm.Error); ok && rerr.Fields["disabled"] == "" {
		t.Errorf("self-disable error names no field disabled: %v", err)
	}

	if _, err := e.Auth.UpdateUser(ctx, bertP, bob.ID, auth.UserPatch{RoleIDs: &[]uuid.UUID{sales}}, auth.LoginMeta{}); err != nil {
		t.Fatalf("take admin from bob with a second admin present: %v", err)
	}
	if _, err := e.Auth.UpdateUser(ctx, bertP, bob.ID, auth.UserPatch{RoleIDs: &[]uuid.UUID{roleID(t, e, "beta", "admin")}}, auth.LoginMeta{}); err != nil {
		t.Fatalf("give admin back: %v", err)
	}
	if _, err := e.Auth.UpdateUser(ctx, bertP, bob.ID, auth.UserPatch{Disabled: ptr(true)}, auth.LoginMeta{}); err != nil {
		t.Fatalf("disable bob with a second admin present: %v", err)
	}
	// Now bert is the last one.
	_, err = e.Auth.UpdateUser(ctx, bertP, bert.ID, auth.UserPatch{RoleIDs: &[]uuid.UUID{sales}}, auth.LoginMeta{})
	wantCode(t, err, rpcrm.ECONFLICT, "last admin removes own admin role")

	// Two administrators disabled at the same time: one must lose.
	if _, err := e.Auth.UpdateUser(ctx, sys, bob.ID, auth.UserPatch{Disabled: ptr(false)}, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}
	for round := range 3 {
		var wg sync.WaitGroup
		errs := make([]error, 2)
		start := make(chan struct{})
		for i, id := range []uuid.UUID{bob.ID, bert.ID} {
			wg.Go(func() {
				<-start
				_, errs[i] = e.Auth.UpdateUser(ctx, sys, id, auth.UserPatch{Disabled: ptr(true)}, auth.LoginMeta{})
			})
		}
		close(start)
		wg.Wait()
		failed := 0
		for _, err := range errs {
			if err != nil {
				failed++
				wantCode(t, err, rpcrm.ECONFLICT, "concurrent disable")
			}
		}
		if failed != 1 {
			t.Errorf("round %d: %d of two concurrent admin disables failed, want exactly 1 (%v)", round, failed, errs)
		}
		users, err := e.Auth.ListUsers(ctx, sys)
		if err != nil {
			t.Fatal(err)
		}
		enabled := 0
		for _, u := range users {
			if !u.Disabled && slices.Contains(roleKeys(u), "admin") {
				enabled++
			}
		}
		if enabled != 1 {
			t.Fatalf("round %d: %d enabled admins, want 1", round, enabled)
		}
		// Re-enable both for the next round.
		for _, id := range []uuid.UUID{bob.ID, bert.ID} {
			if _, err := e.Auth.UpdateUser(ctx, sys, id, auth.UserPatch{Disabled: ptr(false)}, auth.LoginMeta{}); err != nil {
				t.Fatal(err)
			}
		}
	}

	// ensureAnAdmin is documented as "A tenant that never had one (fresh from
	// tenants.json) is not blocked by this."
	t.Run("tenant that never had an administrator", func(t *testing.T) {
		gsys := e.System(t, "gamma")
		sam := e.CreateUser(t, "gamma", "sam@gamma.test", "sales")
		_, err := e.Auth.UpdateUser(ctx, gsys, sam.ID, auth.UserPatch{Name: ptr("Sam Neu")}, auth.LoginMeta{})
		if err != nil {
			t.Errorf("BUG: renaming a user in a tenant that never had an administrator fails: %v "+
				"(postgres/users.go ensureAnAdmin refuses whenever no enabled admin remains after the change, also when "+
				"there was none before; so no user of such a tenant can be edited or disabled via UpdateUser)", err)
		}
		// Promoting the first administrator works (there is one afterwards).
		if _, err := e.Auth.UpdateUser(ctx, gsys, sam.ID, auth.UserPatch{RoleIDs: &[]uuid.UUID{roleID(t, e, "gamma", "admin")}}, auth.LoginMeta{}); err != nil {
			t.Errorf("promote the first administrator: %v", err)
		}
	})
}

// usersManager sets up alpha with an admin (anna) and mia, whose only role is
// a custom one holding users:manage; it returns mia's principal.
func usersManager(t *testing.T, e *testfix.Env) (anna *auth.User, um *auth.Role, mia *auth.User, pm *auth.Principal) {
	t.Helper()
	ctx := context.Background()
	sys := e.System(t, "alpha")
	anna = e.CreateUser(t, "alpha", "anna@alpha.test", "admin")
	um, err := e.Auth.CreateRole(ctx, sys, auth.RoleInput{Name: "Benutzerverwaltung", Permissions: []string{"users:manage"}}, auth.LoginMeta{})
	if err != nil {
		t.Fatal(err)
	}
	mia, err = e.Auth.CreateUser(ctx, sys, auth.NewUser{Email: "mia@alpha.test", Name: "Mia", Password: testfix.Password, RoleIDs: []uuid.UUID{um.ID}}, auth.LoginMeta{})
	if err != nil {
		t.Fatal(err)
	}
	_, pm = loginAs(t, e, "alpha", "mia@alpha.test")
	if !reflect.DeepEqual(pm.Grants, auth.Grants{auth.PermUsersManage: auth.ScopeAll}) {
		t.Fatalf("mia's grants: %v", pm.Grants)
	}
	return anna, um, mia, pm
}

func TestPrivilegeEscalationRefused(t *testing.T) {
	t.Parallel()
	e := testfix.New(t)
	ctx := context.Background()
	sys := e.System(t, "alpha")
	anna, um, mia, pm := usersManager(t, e)
	admin, sales := roleID(t, e, "alpha", "admin"), roleID(t, e, "alpha", "sales")
	m := auth.LoginMeta{}

	_, err := e.Auth.CreateUser(ctx, pm, auth.NewUser{Email: "eve@alpha.test", Name: "Eve", Password: testfix.Password, RoleIDs: []uuid.UUID{admin}}, m)
	wantCode(t, err, rpcrm.EFORBIDDEN, "create an admin")
	_, err = e.Auth.CreateUser(ctx, pm, auth.NewUser{Email: "eve@alpha.test", Name: "Eve", Password: testfix.Password, RoleKeys: []string{"admin"}}, m)
	wantCode(t, err, rpcrm.EFORBIDDEN, "create an admin by key")
	_, err = e.Auth.CreateUser(ctx, pm, auth.NewUser{Email: "eve@alpha.test", Name: "Eve", Password: testfix.Password, RoleIDs: []uuid.UUID{sales}}, m)
	wantCode(t, err, rpcrm.EFORBIDDEN, "create a sales user")
	_, err = e.Auth.UserByEmail(ctx, sys, "eve@alpha.test")
	wantCode(t, err, rpcrm.ENOTFOUND, "eve after refused creation")

	_, err = e.Auth.UpdateUser(ctx, pm, mia.ID, auth.UserPatch{RoleIDs: &[]uuid.UUID{um.ID, admin}}, m)
	wantCode(t, err, rpcrm.EFORBIDDEN, "give oneself the admin role")
	if u, err := e.Auth.User(ctx, sys, mia.ID); err != nil || len(u.Roles) != 1 || u.Roles[0].ID != um.ID {
		t.Errorf("mia after refused self-promotion: %+v, %v", u, err)
	}

	_, err = e.Auth.CreateRole(ctx, pm, auth.RoleInput{Name: "Mehr", Permissions: []string{"users:manage", "contacts:read:own"}}, m)
	wantCode(t, err, rpcrm.EFORBIDDEN, "create a role with a permission one lacks")
	_, err = e.Auth.UpdateRole(ctx, pm, um.ID, auth.RolePatch{Permissions: &[]string{"users:manage", "roles:manage"}}, m)
	wantCode(t, err, rpcrm.EFORBIDDEN, "widen one's own role")
	roles, err := e.Auth.ListRoles(ctx, sys)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range roles {
		if r.Name == "Mehr" {
			t.Error("refused role was created")
		}
		if r.ID == um.ID && !slices.Equal(r.Permissions, []string{"users:manage"}) {
			t.Errorf("refused update changed the role: %v", r.Permissions)
		}
	}

	// Control: what mia holds she may hand out.
	r2, err := e.Auth.CreateRole(ctx, pm, auth.RoleInput{Name: "Nur Benutzer", Permissions: []string{"users:manage"}}, m)
	if err != nil {
		t.Fatalf("create a role within one's grants: %v", err)
	}
	if _, err := e.Auth.CreateUser(ctx, pm, auth.NewUser{Email: "eve@alpha.test", Name: "Eve", Password: testfix.Password, RoleIDs: []uuid.UUID{r2.ID}}, m); err != nil {
		t.Errorf("create a user with a role within one's grants: %v", err)
	}

	// Mia may not hand out the admin role, but setting the administrator's
	// password and logging in as her gets her the same.
	t.Run("users manager cannot take over an administrator", func(t *testing.T) {
		err := e.Auth.SetPassword(ctx, pm, anna.ID, newPassword, m)
		if err == nil {
			_, lerr := e.Auth.Login(ctx, e.Ref(t, "alpha"), "anna@alpha.test", newPassword, m)
			t.Errorf("BUG: a principal holding only users:manage set the password of an administrator "+
				"(logging in as the admin with it: err=%v) — privilege escalation around the rule that nobody "+
				"gets more rights than they have. SetPassword (and UpdateUser) in postgres/users.go should refuse "+
				"with EFORBIDDEN when the target user holds a grant the principal does not cover", lerr)
			return
		}
		wantCode(t, err, rpcrm.EFORBIDDEN, "users manager sets admin password")
	})
}

func TestUserAndRoleRules(t *testing.T) {
	t.Parallel()
	e := testfix.New(t)
	ctx := context.Background()
	sys := e.System(t, "alpha")
	m := auth.LoginMeta{IP: "192.0.2.50"}
	e.CreateUser(t, "alpha", "anna@alpha.test", "admin")
	alex := e.CreateUser(t, "alpha", "alex@alpha.test", "sales")
	bea := e.CreateUser(t, "beta", "bea@beta.test", "admin")

	t.Run("e-mail unique per tenant, case-insensitive", func(t *testing.T) {
		_, err := e.Auth.CreateUser(ctx, sys, auth.NewUser{Email: "Anna@Alpha.test", Name: "Anna 2", Password: testfix.Password, RoleKeys: []string{"sales"}}, m)
		wantCode(t, err, rpcrm.ECONFLICT, "duplicate e-mail in other case")
		if rerr, ok := err.(*rpcrm.Error); !ok || rerr.Fields["email"] == "" {
			t.Errorf("conflict names no field email: %#v", err)
		}
		_, err = e.Auth.UpdateUser(ctx, sys, alex.ID, auth.UserPatch{Email: ptr("ANNA@alpha.test")}, m)
		wantCode(t, err, rpcrm.ECONFLICT, "change e-mail to a taken one")
		if rerr, ok := err.(*rpcrm.Error); !ok || rerr.Fields["email"] == "" {
			t.Errorf("conflict names no field email: %#v", err)
		}
		if u, _ := e.Auth.User(ctx, sys, alex.ID); u.Email != "alex@alpha.test" || u.Version != alex.Version {
			t.Errorf("alex after refused change: %+v", u)
		}
		u, err := e.Auth.CreateUser(ctx, e.System(t, "beta"), auth.NewUser{Email: "Anna@Alpha.test", Name: "Anna in Beta", Password: testfix.Password, RoleKeys: []string{"sales"}}, m)
		if err != nil || u.Email != "anna@alpha.test" {
			t.Errorf("same e-mail in beta: %+v, %v", u, err)
		}
	})

	t.Run("other tenants' records are not found", func(t *testing.T) {
		_, err := e.Auth.User(ctx, sys, bea.ID)
		wantCode(t, err, rpcrm.ENOTFOUND, "alpha reads beta user")
		_, err = e.Auth.UpdateUser(ctx, sys, bea.ID, auth.UserPatch{Name: ptr("pwned")}, m)
		wantCode(t, err, rpcrm.ENOTFOUND, "alpha updates beta user")
		err = e.Auth.SetPassword(ctx, sys, bea.ID, newPassword, m)
		wantCode(t, err, rpcrm.ENOTFOUND, "alpha sets beta user's password")
		_, err = e.Auth.UpdateUser(ctx, sys, alex.ID, auth.UserPatch{RoleIDs: &[]uuid.UUID{roleID(t, e, "beta", "admin")}}, m)
		wantCode(t, err, rpcrm.EINVALID, "alpha user gets beta's role")
		_, err = e.Auth.Role(ctx, sys, roleID(t, e, "beta", "admin"))
		wantCode(t, err, rpcrm.ENOTFOUND, "alpha reads beta role")
		if u, err := e.Auth.User(ctx, e.System(t, "beta"), bea.ID); err != nil || u.Name != bea.Name {
			t.Errorf("bea: %+v, %v", u, err)
		}
		users, err := e.Auth.ListUsers(ctx, sys)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range users {
			if u.ID == bea.ID {
				t.Error("beta user listed in alpha")
			}
		}
	})

	t.Run("optimistic concurrency", func(t *testing.T) {
		cur, err := e.Auth.User(ctx, sys, alex.ID)
		if err != nil {
			t.Fatal(err)
		}
		u1, err := e.Auth.UpdateUser(ctx, sys, alex.ID, auth.UserPatch{Name: ptr("Alex Eins"), Version: cur.Version}, m)
		if err != nil {
			t.Fatal(err)
		}
		if u1.Version != cur.Version+1 {
			t.Errorf("version %d -> %d", cur.Version, u1.Version)
		}
		_, err = e.Auth.UpdateUser(ctx, sys, alex.ID, auth.UserPatch{Name: ptr("Alex Zwei"), Version: cur.Version}, m)
		wantCode(t, err, rpcrm.EPRECONDITION, "stale user version")
		if u, _ := e.Auth.User(ctx, sys, alex.ID); u.Name != "Alex Eins" || u.Version != u1.Version {
			t.Errorf("stale update changed the user: %+v", u)
		}

		r, err := e.Auth.CreateRole(ctx, sys, auth.RoleInput{Name: "Leser", Permissions: []string{"contacts:read"}}, m)
		if err != nil {
			t.Fatal(err)
		}
		r1, err := e.Auth.UpdateRole(ctx, sys, r.ID, auth.RolePatch{Description: ptr("eins"), Version: r.Version}, m)
		if err != nil || r1.Version != r.Version+1 {
			t.Fatalf("update role: %+v, %v", r1, err)
		}
		_, err = e.Auth.UpdateRole(ctx, sys, r.ID, auth.RolePatch{Description: ptr("zwei"), Permissions: &[]string{"deals:read"}, Version: r.Version}, m)
		wantCode(t, err, rpcrm.EPRECONDITION, "stale role version")
		if got, _ := e.Auth.Role(ctx, sys, r.ID); got.Description != "eins" || !slices.Equal(got.Permissions, []string{"contacts:read"}) {
			t.Errorf("stale update changed the role: %+v", got)
		}
	})

	t.Run("role rules", func(t *testing.T) {
		admin := roleID(t, e, "alpha", "admin")
		_, err := e.Auth.UpdateRole(ctx, sys, admin, auth.RolePatch{Description: ptr("x")}, m)
		wantCode(t, err, rpcrm.ECONFLICT, "update built-in role")
		err = e.Auth.DeleteRole(ctx, sys, admin, m)
		wantCode(t, err, rpcrm.ECONFLICT, "delete built-in role")
		if r, err := e.Auth.Role(ctx, sys, admin); err != nil || r.Description == "x" {
			t.Errorf("built-in role after refused changes: %+v, %v", r, err)
		}

		_, err = e.Auth.CreateRole(ctx, sys, auth.RoleInput{Name: "vertrieb", Permissions: []string{"contacts:read"}}, m)
		wantCode(t, err, rpcrm.ECONFLICT, "role name taken (case-insensitive)")
		if rerr, ok := err.(*rpcrm.Error); !ok || rerr.Fields["name"] == "" {
			t.Errorf("conflict names no field name: %#v", err)
		}

		held, err := e.Auth.CreateRole(ctx, sys, auth.RoleInput{Name: "Gehalten", Permissions: []string{"contacts:read"}}, m)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Auth.UpdateUser(ctx, sys, alex.ID, auth.UserPatch{RoleIDs: &[]uuid.UUID{held.ID}}, m); err != nil {
			t.Fatal(err)
		}
		err = e.Auth.DeleteRole(ctx, sys, held.ID, m)
		wantCode(t, err, rpcrm.ECONFLICT, "delete a role someone holds")
		if _, err := e.Auth.Role(ctx, sys, held.ID); err != nil {
			t.Errorf("held role gone: %v", err)
		}
	})

	t.Run("audit entries carry the changes", func(t *testing.T) {
		find := func(t *testing.T, action string, id uuid.UUID) audit.Entry {
			t.Helper()
			l := auditList(t, e, "alpha", audit.Filter{Action: action, EntityID: &id})
			if len(l) == 0 {
				t.Fatalf("no %s entry for %s", action, id)
			}
			return l[0] // newest
		}
		wantChange := func(t *testing.T, en audit.Entry, field string, before, after any) {
			t.Helper()
			c, ok := en.Changes[field]
			if !ok {
				t.Errorf("%s: no change of %s in %+v", en.Action, field, en.Changes)
				return
			}
			if !reflect.DeepEqual(c.Before, before) || !reflect.DeepEqual(c.After, after) {
				t.Errorf("%s: %s changed %#v -> %#v, want %#v -> %#v", en.Action, field, c.Before, c.After, before, after)
			}
		}

		dora, err := e.Auth.CreateUser(ctx, sys, auth.NewUser{Email: "dora@alpha.test", Name: "Dora", Password: testfix.Password, RoleKeys: []string{"readonly"}}, m)
		if err != nil {
			t.Fatal(err)
		}
		en := find(t, audit.UserCreate, dora.ID)
		wantChange(t, en, "email", nil, "dora@alpha.test")
		wantChange(t, en, "name", nil, "Dora")
		wantChange(t, en, "roles", nil, []any{"Lesezugriff"})
		if en.Actor != "test" || en.IP != "192.0.2.50" {
			t.Errorf("user.create actor/ip: %+v", en)
		}

		if _, err := e.Auth.UpdateUser(ctx, sys, dora.ID, auth.UserPatch{Name: ptr("Dora D.")}, m); err != nil {
			t.Fatal(err)
		}
		en = find(t, audit.UserUpdate, dora.ID)
		wantChange(t, en, "name", "Dora", "Dora D.")
		if len(en.Changes) != 1 {
			t.Errorf("user.update records unchanged fields: %+v", en.Changes)
		}

		if _, err := e.Auth.UpdateUser(ctx, sys, dora.ID, auth.UserPatch{Disabled: ptr(true)}, m); err != nil {
			t.Fatal(err)
		}
		en = find(t, audit.UserDisable, dora.ID)
		wantChange(t, en, "disabled", false, true)

		r, err := e.Auth.CreateRole(ctx, sys, auth.RoleInput{Name: "Eigene Kontakte", Permissions: []string{"contacts:read:own", "deals:read"}}, m)
		if err != nil {
			t.Fatal(err)
		}
		en = find(t, audit.RoleCreate, r.ID)
		wantChange(t, en, "name", nil, "Eigene Kontakte")
		wantChange(t, en, "permissions", nil, []any{"contacts:read:own", "deals:read"})

		if _, err := e.Auth.UpdateRole(ctx, sys, r.ID, auth.RolePatch{Name: ptr("Kontakte (eigene)"), Permissions: &[]string{"contacts:read:own"}}, m); err != nil {
			t.Fatal(err)
		}
		en = find(t, audit.RoleUpdate, r.ID)
		wantChange(t, en, "name", "Eigene Kontakte", "Kontakte (eigene)")
		wantChange(t, en, "permissions", []any{"contacts:read:own", "deals:read"}, []any{"contacts:read:own"})
		if _, ok := en.Changes["description"]; ok {
			t.Errorf("role.update records unchanged description: %+v", en.Changes)
		}

		if err := e.Auth.DeleteRole(ctx, sys, r.ID, m); err != nil {
			t.Fatal(err)
		}
		_, err = e.Auth.Role(ctx, sys, r.ID)
		wantCode(t, err, rpcrm.ENOTFOUND, "deleted role")
		en = find(t, audit.RoleDelete, r.ID)
		wantChange(t, en, "name", "Kontakte (eigene)", nil)

		// None of it is visible to beta.
		if l := auditList(t, e, "beta", audit.Filter{EntityID: &dora.ID}); len(l) != 0 {
			t.Errorf("beta sees alpha's entries for dora: %+v", l)
		}
		alphaIDs := map[uuid.UUID]bool{}
		for _, en := range auditList(t, e, "alpha", audit.Filter{Limit: 200}) {
			alphaIDs[en.ID] = true
		}
		betaList := auditList(t, e, "beta", audit.Filter{Limit: 200})
		if len(betaList) == 0 {
			t.Fatal("beta has no audit entries at all; fixture broken?")
		}
		for _, en := range betaList {
			if alphaIDs[en.ID] {
				t.Errorf("alpha entry visible in beta: %+v", en)
			}
		}
	})
}
