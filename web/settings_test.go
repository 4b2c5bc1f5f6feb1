package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
)

func TestSettingsPagesNeedTheirPermission(t *testing.T) {
	s := newSite(t, false)
	admin := s.loggedIn(t, "alpha.test", "admin@alpha.test", "admin")
	sales := s.loggedIn(t, "alpha.test", "sales@alpha.test", "sales")
	manager := s.loggedIn(t, "alpha.test", "boss@alpha.test", "manager")
	pages := map[string]auth.Permission{
		"/settings/users": auth.PermUsersManage, "/settings/users/new": auth.PermUsersManage,
		"/settings/roles": auth.PermRolesManage, "/settings/roles/new": auth.PermRolesManage,
		"/settings/pipelines": auth.PermPipelinesManage, "/settings/fields": auth.PermSettingsManage,
		"/settings/fields/new": auth.PermSettingsManage, "/settings/tags": auth.PermTagsManage,
		"/settings/profile": auth.PermSettingsManage,
	}
	page := admin.page("/settings", 200)
	for path := range pages {
		if !strings.Contains(page, `href="`+path+`"`) && !strings.HasSuffix(path, "/new") {
			t.Errorf("settings index lacks %s", path)
		}
		admin.page(path, 200)
		sales.page(path, http.StatusForbidden)
	}
	sales.page("/settings", http.StatusForbidden)
	if page := sales.page("/", 200); strings.Contains(page, `href="/settings"`) {
		t.Error("the navigation offers settings to a user without any settings permission")
	}
	// The manager may manage pipelines and tags, not users.
	manager.page("/settings", 200)
	manager.page("/settings/pipelines", 200)
	manager.page("/settings/tags", 200)
	manager.page("/settings/users", http.StatusForbidden)
	manager.page("/settings/roles", http.StatusForbidden)
	// Posts are refused the same way, and without the form token.
	resp, _ := sales.post("/settings/users", url.Values{"name": {"X"}, "email": {"x@alpha.test"}})
	wantStatus(t, "invite without users:manage", resp, "", http.StatusForbidden)
	resp, _ = admin.do("POST", "/settings/tags", url.Values{"name": {"VIP"}})
	wantStatus(t, "tag without CSRF token", resp, "", http.StatusForbidden)
}

func TestSettingsUsers(t *testing.T) {
	s := newSite(t, false)
	admin := s.loggedIn(t, "alpha.test", "admin@alpha.test", "admin")
	s.CreateUser(t, "alpha", "bob@alpha.test", "sales")
	bobID := s.userID(t, "alpha", "bob@alpha.test")
	adminID := s.userID(t, "alpha", "admin@alpha.test")
	roles := map[string]string{}
	for _, r := range mustRoles(t, s, "alpha") {
		roles[r.Key] = r.ID.String()
	}

	page := admin.page("/settings/users", 200)
	if !strings.Contains(page, `id="users-table"`) || !strings.Contains(page, "bob@alpha.test") || !strings.Contains(page, `scope="col"`) {
		t.Fatalf("user list:\n%s", page)
	}
	page = admin.page("/settings/users/"+bobID, 200)
	if !strings.Contains(page, `value="bob@alpha.test"`) || !strings.Contains(page, `name="version" value="1"`) {
		t.Fatalf("edit form:\n%s", page)
	}
	resp, page := admin.post("/settings/users/"+bobID, url.Values{"name": {""}, "email": {"bob@alpha.test"}, "role_ids": {roles["sales"]}, "version": {"1"}})
	wantStatus(t, "empty name", resp, page, http.StatusUnprocessableEntity, `id="f-name-error"`, "Der Name fehlt.")
	resp, _ = admin.post("/settings/users/"+bobID, url.Values{"name": {"Bob Keller"}, "email": {"bob@alpha.test"},
		"role_ids": {roles["sales"], roles["readonly"]}, "version": {"1"}})
	wantStatus(t, "update", resp, "", http.StatusSeeOther)
	resp, page = admin.post("/settings/users/"+bobID, url.Values{"name": {"Bob K."}, "email": {"bob@alpha.test"}, "role_ids": {roles["sales"]}, "version": {"1"}})
	wantStatus(t, "stale update", resp, page, http.StatusPreconditionFailed, "inzwischen geändert")

	resp, _ = admin.post("/settings/users/"+bobID+"/disable", url.Values{"version": {"2"}})
	wantStatus(t, "disable", resp, "", http.StatusSeeOther)
	if page := admin.page("/settings/users", 200); !strings.Contains(page, "Benutzer deaktiviert.") || !strings.Contains(page, "deaktiviert</span>") {
		t.Errorf("list after disabling:\n%s", page)
	}
	resp, _ = admin.post("/settings/users/"+bobID+"/enable", url.Values{"version": {"3"}})
	wantStatus(t, "enable", resp, "", http.StatusSeeOther)
	// Refusals show on the form: disabling oneself.
	resp, page = admin.post("/settings/users/"+adminID+"/disable", nil)
	wantStatus(t, "disable oneself", resp, page, http.StatusUnprocessableEntity, "nicht selbst deaktivieren")

	// Another tenant's user is not found; a malformed ID neither.
	beta := s.CreateUser(t, "beta", "b@beta.test", "sales")
	admin.page("/settings/users/"+beta.ID.String(), http.StatusNotFound)
	admin.page("/settings/users/nope", http.StatusNotFound)
	resp, _ = admin.post("/settings/users/"+beta.ID.String()+"/link", nil)
	wantStatus(t, "reset link for beta's user", resp, "", http.StatusNotFound)
}

func TestRolesCannotBeEscalatedThroughTheUI(t *testing.T) {
	s := newSite(t, false)
	admin := s.loggedIn(t, "alpha.test", "admin@alpha.test", "admin")
	ctx := context.Background()
	keeper, err := s.Auth.CreateRole(ctx, s.System(t, "alpha"), auth.RoleInput{Name: "Benutzerpflege",
		Permissions: []string{"users:manage", "roles:manage", "contacts:read:own"}}, auth.LoginMeta{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Auth.CreateUser(ctx, s.System(t, "alpha"), auth.NewUser{Email: "m@alpha.test", Name: "Mia", Password: "Kappelerhof-Brücke-17",
		RoleIDs: []uuid.UUID{keeper.ID}}, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}
	m := s.browser(t, "alpha.test")
	m.login("m@alpha.test", "Kappelerhof-Brücke-17")
	var adminRole, salesRole string
	for _, r := range mustRoles(t, s, "alpha") {
		switch r.Key {
		case "admin":
			adminRole = r.ID.String()
		case "sales":
			salesRole = r.ID.String()
		}
	}

	// A role with a right Mia lacks, or a wider scope than hers: refused next to the permissions.
	resp, page := m.post("/settings/roles", url.Values{"name": {"Mehr"}, "perm.audit:read": {"all"}})
	wantStatus(t, "role with audit:read", resp, page, http.StatusForbidden, `id="f-permissions-error"`, "audit:read")
	resp, page = m.post("/settings/roles", url.Values{"name": {"Breiter"}, "perm.contacts:read": {"all"}})
	wantStatus(t, "role with a wider scope", resp, page, http.StatusForbidden, `id="f-permissions-error"`)
	if !strings.Contains(page, `value="Breiter"`) {
		t.Error("the refused form lost its input")
	}
	// Giving herself or others a role with more rights: refused next to the roles.
	resp, page = m.post("/settings/users", url.Values{"name": {"X"}, "email": {"x@alpha.test"}, "role_ids": {adminRole}})
	wantStatus(t, "invite as administrator", resp, page, http.StatusForbidden, `id="f-role_ids-error"`)
	resp, page = m.post("/settings/users/"+s.userID(t, "alpha", "m@alpha.test"), url.Values{"name": {"Mia"}, "email": {"m@alpha.test"},
		"role_ids": {keeper.ID.String(), salesRole}})
	wantStatus(t, "take the sales role", resp, page, http.StatusForbidden, `id="f-role_ids-error"`)
	// Nor can she touch the administrator.
	resp, page = m.post("/settings/users/"+s.userID(t, "alpha", "admin@alpha.test")+"/link", nil)
	wantStatus(t, "reset link for the administrator", resp, page, http.StatusForbidden, "mehr Rechte hat als Sie")
	if _, err := s.Auth.Login(ctx, s.Ref(t, "alpha"), "admin@alpha.test", "Kappelerhof-Brücke-17", auth.LoginMeta{}); err != nil {
		t.Fatal("the administrator's password changed")
	}

	// Built-in roles are read-only.
	page = admin.page("/settings/roles/"+adminRole, 200)
	if !strings.Contains(page, `<fieldset class="plain" disabled>`) || strings.Contains(page, "role-delete-form") {
		t.Fatalf("built-in role page:\n%s", page)
	}
	resp, page = admin.post("/settings/roles/"+adminRole, url.Values{"name": {"Chef"}, "perm.audit:read": {"all"}, "version": {"1"}})
	wantStatus(t, "change a built-in role", resp, page, http.StatusUnprocessableEntity, "Eingebaute Rollen")

	// The administrator creates, edits and deletes a custom role.
	resp, page = admin.post("/settings/roles", url.Values{"name": {""}})
	wantStatus(t, "nameless role", resp, page, http.StatusUnprocessableEntity, `id="f-name-error"`)
	resp, _ = admin.post("/settings/roles", url.Values{"name": {"Aussendienst"}, "description": {"unterwegs"},
		"perm.contacts:read": {"all"}, "perm.contacts:write": {"own"}, "perm.export:run": {"all"}})
	wantStatus(t, "create role", resp, "", http.StatusSeeOther)
	var field *auth.Role
	for _, r := range mustRoles(t, s, "alpha") {
		if r.Name == "Aussendienst" {
			field = r
		}
	}
	if field == nil || strings.Join(field.Permissions, ",") != "contacts:read,contacts:write:own,export:run" {
		t.Fatalf("created role: %+v", field)
	}
	page = admin.page("/settings/roles/"+field.ID.String(), 200)
	if !strings.Contains(page, `<option value="own" selected>`) || !strings.Contains(page, `name="perm.export:run" value="all" checked`) {
		t.Fatalf("role form does not show the grants:\n%s", page)
	}
	resp, _ = admin.post("/settings/roles/"+field.ID.String(), url.Values{"name": {"Aussendienst"}, "perm.contacts:read": {"own"}, "version": {"1"}})
	wantStatus(t, "update role", resp, "", http.StatusSeeOther)
	resp, _ = admin.post("/settings/roles/"+field.ID.String()+"/delete", nil)
	wantStatus(t, "delete role", resp, "", http.StatusSeeOther)
	resp, page = admin.post("/settings/roles/"+keeper.ID.String()+"/delete", nil)
	wantStatus(t, "delete a role in use", resp, page, http.StatusUnprocessableEntity, "noch Benutzern zugewiesen")
}

func TestPipelineSettings(t *testing.T) {
	s := newSite(t, false)
	admin := s.loggedIn(t, "alpha.test", "admin@alpha.test", "admin")
	ctx := context.Background()
	sys := s.System(t, "alpha")

	resp, page := admin.post("/settings/pipelines", url.Values{"name": {""}})
	wantStatus(t, "nameless pipeline", resp, page, http.StatusUnprocessableEntity, `id="f-name-error"`)
	resp, _ = admin.post("/settings/pipelines", url.Values{"name": {"Projekte"}})
	wantStatus(t, "create pipeline", resp, "", http.StatusSeeOther)
	plPath := resp.Header.Get("Location")
	plID := uuid.MustParse(strings.TrimPrefix(plPath, "/settings/pipelines/"))
	page = admin.page(plPath, 200)
	if !strings.Contains(page, `id="stages-table"`) || !strings.Contains(page, "Qualifiziert") {
		t.Fatalf("pipeline page:\n%s", page)
	}
	pl, _ := s.crm().Pipeline(ctx, sys, plID)

	resp, _ = admin.post(plPath, url.Values{"name": {"Projekte 2026"}, "version": {strconv.Itoa(pl.Version)}})
	wantStatus(t, "rename", resp, "", http.StatusSeeOther)
	resp, page = admin.post(plPath+"/stages", url.Values{"stage_name": {"Abnahme"}, "kind": {"open"}, "probability": {"viel"}})
	wantStatus(t, "bad probability", resp, page, http.StatusUnprocessableEntity, `id="f-probability-error"`)
	resp, page = admin.post(plPath+"/stages", url.Values{"stage_name": {""}, "kind": {"open"}, "probability": {"150"}})
	wantStatus(t, "bad stage", resp, page, http.StatusUnprocessableEntity, `id="f-stage_name-error"`, `id="f-probability-error"`)
	resp, _ = admin.post(plPath+"/stages", url.Values{"stage_name": {"Abnahme"}, "kind": {"open"}, "probability": {"90"}})
	wantStatus(t, "add stage", resp, "", http.StatusSeeOther)

	pl, _ = s.crm().Pipeline(ctx, sys, plID)
	last := pl.Stages[len(pl.Stages)-1]
	if pl.Name != "Projekte 2026" || last.Name != "Abnahme" || last.Probability != 90 {
		t.Fatalf("pipeline after the changes: %s, last stage %+v", pl.Name, last)
	}
	// Up one place.
	resp, _ = admin.post(plPath+"/stages/"+last.ID.String()+"/move", url.Values{"direction": {"up"}, "version": {strconv.Itoa(last.Version)}})
	wantStatus(t, "move up", resp, "", http.StatusSeeOther)
	pl, _ = s.crm().Pipeline(ctx, sys, plID)
	if pl.Stages[len(pl.Stages)-2].Name != "Abnahme" {
		t.Fatalf("order after moving up: %v", stageNames(pl))
	}
	// Edit a stage: type and probability.
	st := pl.Stages[0]
	stPath := plPath + "/stages/" + st.ID.String()
	page = admin.page(stPath, 200)
	if !strings.Contains(page, `id="stage-form"`) || !strings.Contains(page, `id="stage-delete-form"`) {
		t.Fatalf("stage page:\n%s", page)
	}
	resp, page = admin.post(stPath, url.Values{"name": {"Neu"}, "kind": {"gewonnen"}, "probability": {"10"}, "version": {strconv.Itoa(st.Version)}})
	wantStatus(t, "bad kind", resp, page, http.StatusUnprocessableEntity, `id="f-kind-error"`)
	resp, _ = admin.post(stPath, url.Values{"name": {"Anfrage"}, "kind": {"open"}, "probability": {"5"}, "version": {strconv.Itoa(st.Version)}})
	wantStatus(t, "update stage", resp, "", http.StatusSeeOther)

	// A stage with deals is deleted only with a stage to move them to.
	title := "Website"
	if _, err := s.crm().CreateDeal(ctx, sys, crm.DealInput{Title: &title, PipelineID: &plID, StageID: &st.ID}, auth.LoginMeta{}); err != nil {
		t.Fatal(err)
	}
	resp, page = admin.post(stPath+"/delete", nil)
	wantStatus(t, "delete a stage with deals", resp, page, http.StatusUnprocessableEntity, `id="f-move_to-error"`)
	resp, _ = admin.post(stPath+"/delete", url.Values{"move_to": {pl.Stages[1].ID.String()}})
	wantStatus(t, "delete with move_to", resp, "", http.StatusSeeOther)
	// The pipeline holds a deal: not deletable.
	resp, page = admin.post(plPath+"/delete", nil)
	wantStatus(t, "delete a pipeline with deals", resp, page, http.StatusUnprocessableEntity, "Verkaufschance")

	// Another tenant's pipeline is not found.
	betaPls, _ := s.crm().ListPipelines(ctx, s.System(t, "beta"))
	admin.page("/settings/pipelines/"+betaPls[0].ID.String(), http.StatusNotFound)
}

func stageNames(pl *crm.Pipeline) []string {
	var out []string
	for _, s := range pl.Stages {
		out = append(out, s.Name)
	}
	return out
}

func TestCustomFieldAndTagSettings(t *testing.T) {
	s := newSite(t, false)
	admin := s.loggedIn(t, "alpha.test", "admin@alpha.test", "admin")
	ctx := context.Background()

	resp, page := admin.post("/settings/fields", url.Values{"entity": {"contact"}, "key": {"Grösse"}, "label": {""}, "type": {"choice"}})
	wantStatus(t, "bad field", resp, page, http.StatusUnprocessableEntity, `id="f-key-error"`, `id="f-label-error"`, `id="f-options-error"`)
	resp, _ = admin.post("/settings/fields", url.Values{"entity": {"contact"}, "key": {"segment"}, "label": {"Segment"}, "type": {"choice"},
		"options": {"A\r\nB\r\n\r\nC"}, "required": {"true"}})
	wantStatus(t, "create field", resp, "", http.StatusSeeOther)
	fields, _ := s.crm().CustomFields(ctx, s.System(t, "alpha"), "contact")
	if len(fields) != 1 || strings.Join(fields[0].Options, ",") != "A,B,C" || !fields[0].Required {
		t.Fatalf("created field: %+v", fields)
	}
	f := fields[0]
	page = admin.page("/settings/fields", 200)
	if !strings.Contains(page, "Segment") || !strings.Contains(page, "Auswahl") {
		t.Fatalf("field list:\n%s", page)
	}
	page = admin.page("/settings/fields/"+f.ID.String(), 200)
	if !strings.Contains(page, "A\nB\nC</textarea>") || !strings.Contains(page, `name="required" type="checkbox" value="true" checked`) {
		t.Fatalf("field form:\n%s", page)
	}
	resp, _ = admin.post("/settings/fields/"+f.ID.String(), url.Values{"label": {"Kundensegment"}, "options": {"A\nB"}, "version": {strconv.Itoa(f.Version)}})
	wantStatus(t, "update field", resp, "", http.StatusSeeOther)
	fields, _ = s.crm().CustomFields(ctx, s.System(t, "alpha"), "contact")
	if fields[0].Label != "Kundensegment" || fields[0].Required || len(fields[0].Options) != 2 {
		t.Fatalf("updated field: %+v", fields[0])
	}
	resp, _ = admin.post("/settings/fields/"+f.ID.String()+"/delete", nil)
	wantStatus(t, "delete field", resp, "", http.StatusSeeOther)
	admin.page("/settings/fields/"+f.ID.String(), http.StatusNotFound)

	// Tags.
	resp, page = admin.post("/settings/tags", url.Values{"name": {"VIP"}, "color": {"rot"}})
	wantStatus(t, "bad colour", resp, page, http.StatusUnprocessableEntity, `id="f-color-error"`)
	resp, _ = admin.post("/settings/tags", url.Values{"name": {"VIP"}, "color": {"#c62828"}})
	wantStatus(t, "create tag", resp, "", http.StatusSeeOther)
	tags, _ := s.crm().Tags(ctx, s.System(t, "alpha"))
	if len(tags) != 1 || tags[0].Color != "#c62828" {
		t.Fatalf("tags: %+v", tags)
	}
	tagPath := "/settings/tags/" + tags[0].ID.String()
	if page := admin.page(tagPath, 200); !strings.Contains(page, `value="#c62828"`) {
		t.Fatalf("tag form:\n%s", page)
	}
	resp, _ = admin.post(tagPath, url.Values{"name": {"Premium"}, "color": {"#2e7d32"}, "version": {strconv.Itoa(tags[0].Version)}})
	wantStatus(t, "rename tag", resp, "", http.StatusSeeOther)
	resp, page = admin.post(tagPath, url.Values{"name": {"Alt"}, "color": {"#2e7d32"}, "version": {strconv.Itoa(tags[0].Version)}})
	wantStatus(t, "stale tag", resp, page, http.StatusPreconditionFailed)
	if page := admin.page("/settings/tags", 200); !strings.Contains(page, "Premium") {
		t.Fatalf("tag list:\n%s", page)
	}
	resp, _ = admin.post(tagPath+"/delete", nil)
	wantStatus(t, "delete tag", resp, "", http.StatusSeeOther)
	admin.page(tagPath, http.StatusNotFound)
}

func TestTenantProfileSettings(t *testing.T) {
	s := newSite(t, false)
	admin := s.loggedIn(t, "alpha.test", "admin@alpha.test", "admin")
	page := admin.page("/settings/profile", 200)
	if !strings.Contains(page, `id="profile-form"`) || !strings.Contains(page, "Leer: Alpha AG") || !strings.Contains(page, `enctype="multipart/form-data"`) {
		t.Fatalf("profile page:\n%s", page)
	}
	resp, page := admin.upload("/settings/profile", map[string]string{"name": "Alpha", "version": "0"}, "logo", "logo.svg",
		[]byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`))
	wantStatus(t, "SVG logo", resp, page, http.StatusUnprocessableEntity, `id="f-logo-error"`, "PNG oder JPEG")
	resp, page = admin.upload("/settings/profile", map[string]string{"currency": "DOGE", "version": "0"}, "", "", nil)
	wantStatus(t, "bad currency", resp, page, http.StatusUnprocessableEntity, `id="f-currency-error"`)
	resp, _ = admin.upload("/settings/profile", map[string]string{"name": "Alpha Treuhand AG", "locale": "de-CH", "currency": "EUR", "version": "0"},
		"logo", "logo.png", pngBytes(t))
	wantStatus(t, "save profile", resp, "", http.StatusSeeOther)
	page = admin.page("/settings/profile", 200)
	if !strings.Contains(page, "Alpha Treuhand AG · RP CRM") || !strings.Contains(page, `src="/logo?v=1"`) || !strings.Contains(page, `<option value="EUR" selected>`) {
		t.Fatalf("profile after saving:\n%s", page)
	}
	// Every page shows the effective name; new deals get the currency.
	if page := admin.page("/", 200); !strings.Contains(page, `<span class="tenant">Alpha Treuhand AG</span>`) {
		t.Errorf("start page after the profile change:\n%s", page)
	}
	resp, _ = admin.upload("/settings/profile", map[string]string{"remove_logo": "true", "version": "1"}, "", "", nil)
	wantStatus(t, "remove logo", resp, "", http.StatusSeeOther)
	if resp, _ := admin.do("GET", "/logo", nil); resp.StatusCode != 404 {
		t.Errorf("logo after removal: %d", resp.StatusCode)
	}
	if page := admin.page("/", 200); !strings.Contains(page, `<span class="tenant">Alpha AG</span>`) {
		t.Errorf("empty profile fields should fall back to tenants.json:\n%s", page)
	}
	s.loggedIn(t, "alpha.test", "boss@alpha.test", "manager").page("/settings/profile", http.StatusForbidden)
}
