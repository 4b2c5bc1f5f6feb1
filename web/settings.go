package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/httpserver"
	"github.com/rpcrm/rpcrm/tenant"
)

// settingsRoutes are settings → users and roles; each needs its own
// permission (the index page any of the settings permissions).
func (u *UI) settingsRoutes() []route {
	user := settingsRecordPages(u, u.loadUser, "settings.user_edit")
	role := settingsRecordPages(u, u.loadRole, "settings.role_edit")
	return []route{
		page("GET /settings", "", u.settingsIndex),
		page("GET /settings/users", auth.PermUsersManage, u.userList),
		page("GET /settings/users/new", auth.PermUsersManage, u.userNew),
		page("POST /settings/users", auth.PermUsersManage, u.userInvite),
		page("GET /settings/users/{id}", auth.PermUsersManage, user(u.userEdit)),
		page("POST /settings/users/{id}", auth.PermUsersManage, user(u.userUpdate)),
		page("POST /settings/users/{id}/disable", auth.PermUsersManage, user(u.userSetDisabled(true))),
		page("POST /settings/users/{id}/enable", auth.PermUsersManage, user(u.userSetDisabled(false))),
		page("POST /settings/users/{id}/link", auth.PermUsersManage, u.userLink),
		page("GET /settings/roles", auth.PermRolesManage, u.roleList),
		page("GET /settings/roles/new", auth.PermRolesManage, u.roleNew),
		page("POST /settings/roles", auth.PermRolesManage, u.roleCreate),
		page("GET /settings/roles/{id}", auth.PermRolesManage, role(u.roleEdit)),
		page("POST /settings/roles/{id}", auth.PermRolesManage, role(u.roleUpdate)),
		page("POST /settings/roles/{id}/delete", auth.PermRolesManage, role(u.roleDelete)),
	}
}

// settingsSection is one entry of the settings navigation.
type settingsSection struct {
	Key, Path string
	Perm      auth.Permission
}

var settingsSections = []settingsSection{
	{"users", "/settings/users", auth.PermUsersManage},
	{"roles", "/settings/roles", auth.PermRolesManage},
	{"pipelines", "/settings/pipelines", auth.PermPipelinesManage},
	{"fields", "/settings/fields", auth.PermSettingsManage},
	{"tags", "/settings/tags", auth.PermTagsManage},
	{"profile", "/settings/profile", auth.PermSettingsManage},
}

// settingsLink is a settings section as the navigation shows it.
type settingsLink struct {
	Key, Path, Label string
	Current          bool
}

// settingsView starts a settings page: the view with the sub-navigation of
// the sections the user may open.
func (u *UI) settingsView(w http.ResponseWriter, r *http.Request, p *auth.Principal, title string) *view {
	v := u.newView(w, r, p, title)
	v.Nav = "settings"
	return v
}

// SettingsNav lists the settings sections the user may open.
func (v *view) SettingsNav(current string) []settingsLink {
	var out []settingsLink
	for _, s := range settingsSections {
		if _, ok := v.User.Can(s.Perm); ok {
			out = append(out, settingsLink{Key: s.Key, Path: s.Path, Label: v.T("settings." + s.Key), Current: s.Key == current})
		}
	}
	return out
}

func (u *UI) settingsIndex(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	v := u.settingsView(w, r, p, "settings.title")
	if len(v.SettingsNav("")) == 0 {
		u.errorPage(w, r, p, http.StatusForbidden, "error.forbidden")
		return
	}
	u.render(w, r, http.StatusOK, "settings", v)
}

// pathValueID parses the {name} path value as a UUID; a malformed one is a 404.
func (u *UI) pathValueID(w http.ResponseWriter, r *http.Request, p *auth.Principal, name string) (uuid.UUID, bool) {
	id, err := uuid.Parse(r.PathValue(name))
	if err != nil {
		u.errorPage(w, r, p, http.StatusNotFound, "error.not_found")
		return uuid.Nil, false
	}
	return id, true
}

// ---- users ----

type userListView struct {
	Users []*auth.User
}

func (u *UI) userList(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	settingsList(u, w, r, p, "settings.users", "settings_users", u.Auth.ListUsers,
		func(users []*auth.User) any { return userListView{Users: users} })
}

// userFormView is the invitation and the edit form of a user.
type userFormView struct {
	User    *auth.User // nil for an invitation
	Roles   []*auth.Role
	Checked map[string]bool
	Locales []option
}

func (u *UI) renderUserForm(w http.ResponseWriter, r *http.Request, p *auth.Principal, v *view, status int, user *auth.User) {
	roles, err := u.Auth.ListRoles(r.Context(), p)
	if err != nil {
		u.fail(w, r, p, err)
		return
	}
	checked := map[string]bool{}
	for _, id := range v.Form["role_ids"] {
		checked[id] = true
	}
	v.Data = userFormView{User: user, Roles: roles, Checked: checked, Locales: userLocales(v)}
	u.render(w, r, status, "settings_user", v)
}

func (u *UI) userNew(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	v := u.settingsView(w, r, p, "settings.user_invite")
	u.renderUserForm(w, r, p, v, http.StatusOK, nil)
}

func roleIDs(vals []string) []uuid.UUID {
	var out []uuid.UUID
	for _, s := range vals {
		if id, err := uuid.Parse(s); err == nil {
			out = append(out, id)
		}
	}
	return out
}

func (u *UI) userInvite(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	v := u.settingsView(w, r, p, "settings.user_invite")
	v.Form = r.PostForm
	in := auth.NewInvite{Email: r.PostFormValue("email"), Name: r.PostFormValue("name"), Locale: r.PostFormValue("locale"),
		RoleIDs: roleIDs(r.PostForm["role_ids"])}
	user, link, err := u.Auth.InviteUser(r.Context(), p, in, meta(r))
	if err != nil {
		u.formError(w, r, p, v, err, func(status int) { u.renderUserForm(w, r, p, v, status, nil) })
		return
	}
	u.showUserLink(w, r, p, user, link)
}

// userLinkView shows a freshly issued one-time link, once.
type userLinkView struct {
	User *auth.User
	URL  string
	Link *auth.UserLink
}

func (u *UI) showUserLink(w http.ResponseWriter, r *http.Request, p *auth.Principal, user *auth.User, link *auth.UserLink) {
	v := u.settingsView(w, r, p, "settings.link_"+link.Purpose)
	v.Data = userLinkView{User: user, URL: linkURL(r, link.Token), Link: link}
	u.render(w, r, http.StatusOK, "settings_link", v)
}

// linkURL is the address of a one-time link on the host the administrator
// uses, if it is one of the tenant's, else on the tenant's first host.
func linkURL(r *http.Request, token string) string {
	info := httpserver.RequestInfo(r.Context())
	t := info.Tenant
	host := r.Host
	name := tenant.NormalizeHost(host)
	ok := false
	for _, h := range t.Hosts {
		ok = ok || h == name
	}
	if !ok && len(t.Hosts) > 0 {
		host = t.Hosts[0]
	}
	scheme := info.Scheme
	if scheme == "" {
		scheme = "https"
	}
	return (&url.URL{Scheme: scheme, Host: host, Path: "/set-password/" + token}).String()
}

func (u *UI) loadUser(w http.ResponseWriter, r *http.Request, p *auth.Principal) (*auth.User, bool) {
	return settingsRecord(u, w, r, p, u.Auth.User)
}

func userForm(user *auth.User) url.Values {
	f := url.Values{"email": {user.Email}, "name": {user.Name}, "locale": {user.Locale}, "version": {strconv.Itoa(user.Version)}}
	for _, r := range user.Roles {
		f.Add("role_ids", r.ID.String())
	}
	return f
}

func (u *UI) userEdit(w http.ResponseWriter, r *http.Request, p *auth.Principal, v *view, user *auth.User) {
	v.Form = userForm(user)
	u.renderUserForm(w, r, p, v, http.StatusOK, user)
}

func formVersion(r *http.Request) int {
	n, _ := strconv.Atoi(r.PostFormValue("version"))
	return n
}

func (u *UI) userUpdate(w http.ResponseWriter, r *http.Request, p *auth.Principal, v *view, user *auth.User) {
	v.Form = r.PostForm
	email, name, locale := r.PostFormValue("email"), r.PostFormValue("name"), r.PostFormValue("locale")
	ids := roleIDs(r.PostForm["role_ids"])
	if ids == nil {
		ids = []uuid.UUID{}
	}
	_, err := u.Auth.UpdateUser(r.Context(), p, user.ID, auth.UserPatch{Email: &email, Name: &name, Locale: &locale, RoleIDs: &ids,
		Version: formVersion(r)}, meta(r))
	u.settingsDone(w, r, p, v, err, func(status int) { u.renderUserForm(w, r, p, v, status, user) }, "flash.saved", "/settings/users")
}

func (u *UI) userSetDisabled(disabled bool) settingsRecordHandler[*auth.User] {
	return func(w http.ResponseWriter, r *http.Request, p *auth.Principal, v *view, user *auth.User) {
		_, err := u.Auth.UpdateUser(r.Context(), p, user.ID, auth.UserPatch{Disabled: &disabled, Version: formVersion(r)}, meta(r))
		key := "settings.user_enabled"
		if disabled {
			key = "settings.user_disabled"
		}
		// Refusals (the last administrator, oneself) show on the form.
		u.settingsDone(w, r, p, v, err, func(status int) {
			v.Form = userForm(user)
			if msg := v.Fields["disabled"]; msg != "" {
				v.Error = msg
			}
			u.renderUserForm(w, r, p, v, status, user)
		}, key, "/settings/users")
	}
}

// userLink issues a password reset link, or a new invitation for a user
// who has not accepted theirs yet.
func (u *UI) userLink(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	user, ok := u.loadUser(w, r, p)
	if !ok {
		return
	}
	purpose := auth.LinkReset
	if user.Pending {
		purpose = auth.LinkInvite
	}
	link, err := u.Auth.IssueUserLink(r.Context(), p, user.ID, purpose, meta(r))
	if err != nil {
		v := u.settingsView(w, r, p, "settings.user_edit")
		v.Form = userForm(user)
		u.formError(w, r, p, v, err, func(status int) { u.renderUserForm(w, r, p, v, status, user) })
		return
	}
	u.showUserLink(w, r, p, user, link)
}

// ---- roles ----

type roleListView struct {
	Roles []*auth.Role
}

func (u *UI) roleList(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	settingsList(u, w, r, p, "settings.roles", "settings_roles", u.Auth.ListRoles,
		func(roles []*auth.Role) any { return roleListView{Roles: roles} })
}

// permRow is one permission of the role editor with its current setting:
// "" (not granted), "own" or "all".
type permRow struct {
	Name   string
	Label  string
	Scoped bool
	Value  string
}

type roleFormView struct {
	Role  *auth.Role // nil for a new role
	Perms []permRow
}

// rolePerms turns the form's perm.<name> fields into grants as the auth
// service takes them ("contacts:read", "contacts:read:own").
func rolePerms(form url.Values) []string {
	out := []string{}
	for _, info := range auth.AllPermissions() {
		switch form.Get("perm." + string(info.Name)) {
		case "all", "on", "true":
			out = append(out, string(info.Name))
		case "own":
			if info.Scoped {
				out = append(out, string(info.Name)+":own")
			}
		}
	}
	return out
}

func roleForm(role *auth.Role) url.Values {
	f := url.Values{"name": {role.Name}, "description": {role.Description}, "version": {strconv.Itoa(role.Version)}}
	for _, g := range role.Permissions {
		if name, ok := strings.CutSuffix(g, ":own"); ok {
			f.Set("perm."+name, "own")
		} else {
			f.Set("perm."+g, "all")
		}
	}
	return f
}

func (u *UI) renderRoleForm(w http.ResponseWriter, r *http.Request, v *view, status int, role *auth.Role) {
	var rows []permRow
	for _, info := range auth.AllPermissions() {
		label := info.LabelDE
		if v.Lang == "en" {
			label = info.LabelEN
		}
		val := v.Form.Get("perm." + string(info.Name))
		if val == "on" || val == "true" {
			val = "all"
		}
		rows = append(rows, permRow{Name: string(info.Name), Label: label, Scoped: info.Scoped, Value: val})
	}
	v.Data = roleFormView{Role: role, Perms: rows}
	u.render(w, r, status, "settings_role", v)
}

func (u *UI) roleNew(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	v := u.settingsView(w, r, p, "settings.role_new")
	u.renderRoleForm(w, r, v, http.StatusOK, nil)
}

func (u *UI) roleCreate(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	v := u.settingsView(w, r, p, "settings.role_new")
	v.Form = r.PostForm
	_, err := u.Auth.CreateRole(r.Context(), p, auth.RoleInput{Name: r.PostFormValue("name"), Description: r.PostFormValue("description"),
		Permissions: rolePerms(r.PostForm)}, meta(r))
	u.settingsDone(w, r, p, v, err, func(status int) { u.renderRoleForm(w, r, v, status, nil) }, "flash.saved", "/settings/roles")
}

func (u *UI) loadRole(w http.ResponseWriter, r *http.Request, p *auth.Principal) (*auth.Role, bool) {
	return settingsRecord(u, w, r, p, u.Auth.Role)
}

func (u *UI) roleEdit(w http.ResponseWriter, r *http.Request, p *auth.Principal, v *view, role *auth.Role) {
	v.Form = roleForm(role)
	u.renderRoleForm(w, r, v, http.StatusOK, role)
}

func (u *UI) roleUpdate(w http.ResponseWriter, r *http.Request, p *auth.Principal, v *view, role *auth.Role) {
	v.Form = r.PostForm
	name, desc, perms := r.PostFormValue("name"), r.PostFormValue("description"), rolePerms(r.PostForm)
	_, err := u.Auth.UpdateRole(r.Context(), p, role.ID, auth.RolePatch{Name: &name, Description: &desc, Permissions: &perms,
		Version: formVersion(r)}, meta(r))
	u.settingsDone(w, r, p, v, err, func(status int) { u.renderRoleForm(w, r, v, status, role) }, "flash.saved", "/settings/roles")
}

func (u *UI) roleDelete(w http.ResponseWriter, r *http.Request, p *auth.Principal, v *view, role *auth.Role) {
	err := u.Auth.DeleteRole(r.Context(), p, role.ID, meta(r))
	u.settingsDone(w, r, p, v, err, func(status int) {
		v.Form = roleForm(role)
		u.renderRoleForm(w, r, v, status, role)
	}, "settings.deleted", "/settings/roles")
}
