package auth

import (
	"slices"
	"strings"
	"testing"

	"github.com/rpcrm/rpcrm"
)

func TestCatalogueWellFormed(t *testing.T) {
	all := AllPermissions()
	seen := map[Permission]PermissionInfo{}
	for _, p := range all {
		if _, dup := seen[p.Name]; dup {
			t.Errorf("duplicate permission %q", p.Name)
		}
		seen[p.Name] = p
		res, action, ok := strings.Cut(string(p.Name), ":")
		if !ok || res == "" || action == "" || strings.Contains(action, ":") {
			t.Errorf("permission %q is not <resource>:<action>", p.Name)
		}
		if p.LabelDE == "" || p.LabelEN == "" {
			t.Errorf("permission %q lacks a label", p.Name)
		}
		if strings.Contains(p.LabelDE, "ß") {
			t.Errorf("permission %q: de-CH has no ß: %q", p.Name, p.LabelDE)
		}
		info, ok := LookupPermission(string(p.Name))
		if !ok || info != p {
			t.Errorf("LookupPermission(%q) = %v, %v", p.Name, info, ok)
		}
	}

	// Every scoped permission belongs to a complete read/write/delete triplet
	// of a CRM resource, and every CRM resource has one.
	for _, p := range all {
		if !p.Scoped {
			continue
		}
		res, _, _ := strings.Cut(string(p.Name), ":")
		if !slices.Contains(crmResources, res) {
			t.Errorf("scoped permission %q is not a CRM resource", p.Name)
		}
	}
	for _, res := range []string{"companies", "contacts", "deals", "activities", "documents"} {
		for _, action := range []string{"read", "write", "delete"} {
			p, ok := seen[Permission(res+":"+action)]
			if !ok || !p.Scoped {
				t.Errorf("%s:%s missing or not scoped", res, action)
			}
		}
	}
	var unscoped []string
	for _, p := range all {
		if !p.Scoped {
			unscoped = append(unscoped, string(p.Name))
		}
	}
	slices.Sort(unscoped)
	want := []string{"audit:read", "export:run", "import:run", "pipelines:manage", "roles:manage", "settings:manage", "tags:manage", "users:manage"}
	if !slices.Equal(unscoped, want) {
		t.Errorf("unscoped permissions = %v, want %v", unscoped, want)
	}
	if len(all) != 15+8 {
		t.Errorf("catalogue has %d entries, want 23", len(all))
	}

	for _, name := range []string{"", "contacts", "contacts:read:own", "Contacts:read", "contacts:manage", "users:read"} {
		if _, ok := LookupPermission(name); ok {
			t.Errorf("LookupPermission(%q) succeeded", name)
		}
	}

	all[0].Name = "hacked:read"
	if AllPermissions()[0].Name == "hacked:read" {
		t.Error("AllPermissions exposes the catalogue")
	}
}

func TestParseGrantRoundTrip(t *testing.T) {
	for _, p := range AllPermissions() {
		scopes := []Scope{ScopeAll}
		if p.Scoped {
			scopes = append(scopes, ScopeOwn)
		}
		for _, s := range scopes {
			g := Grant{Permission: p.Name, Scope: s}
			str := g.String()
			back, err := ParseGrant(str)
			if err != nil {
				t.Errorf("ParseGrant(%q): %v", str, err)
				continue
			}
			if back != g {
				t.Errorf("ParseGrant(%q) = %v, want %v", str, back, g)
			}
		}
	}
	for in, want := range map[string]Grant{
		"contacts:read":     {PermContactsRead, ScopeAll},
		"contacts:read:own": {PermContactsRead, ScopeOwn},
		"contacts:read:all": {PermContactsRead, ScopeAll},
		"users:manage":      {PermUsersManage, ScopeAll},
		"users:manage:all":  {PermUsersManage, ScopeAll},
	} {
		got, err := ParseGrant(in)
		if err != nil || got != want {
			t.Errorf("ParseGrant(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if s := (Grant{PermContactsRead, ScopeAll}).String(); s != "contacts:read" {
		t.Errorf("String() = %q", s)
	}
	if s := (Grant{PermContactsRead, ScopeOwn}).String(); s != "contacts:read:own" {
		t.Errorf("String() = %q", s)
	}
}

func TestParseGrantInvalid(t *testing.T) {
	for _, in := range []string{
		"",
		"contacts",
		"contacts:",
		"contacts:fly",
		"invoices:read",
		"Contacts:Read",
		" contacts:read",
		"contacts:read:",
		"contacts:read:mine",
		"contacts:read:OWN",
		"contacts:read:own:all",
		"users:manage:own",
		"audit:read:own",
		"export:run:own",
	} {
		g, err := ParseGrant(in)
		if err == nil {
			t.Errorf("ParseGrant(%q) = %v, want error", in, g)
			continue
		}
		if rpcrm.ErrorCode(err) != rpcrm.EINVALID {
			t.Errorf("ParseGrant(%q) error code %q", in, rpcrm.ErrorCode(err))
		}
	}
	if err := (Grant{PermContactsRead, ""}).Validate(); err == nil {
		t.Error("empty scope accepted")
	}
}

func TestMergeGrants(t *testing.T) {
	own := []Grant{{PermContactsRead, ScopeOwn}, {PermDealsWrite, ScopeOwn}}
	all := []Grant{{PermContactsRead, ScopeAll}, {PermUsersManage, ScopeAll}}

	for _, g := range []Grants{MergeGrants(own, all), MergeGrants(all, own)} {
		if s, ok := g.Allows(PermContactsRead); !ok || s != ScopeAll {
			t.Errorf("contacts:read = %v, %v; want all", s, ok)
		}
		if s, ok := g.Allows(PermDealsWrite); !ok || s != ScopeOwn {
			t.Errorf("deals:write = %v, %v; want own", s, ok)
		}
		if !g.Has(PermUsersManage) {
			t.Error("users:manage missing")
		}
		if g.Has(PermDealsDelete) {
			t.Error("deals:delete granted from nowhere")
		}
		if s, ok := g.Allows(PermDealsDelete); ok || s != "" {
			t.Errorf("Allows(deals:delete) = %q, %v", s, ok)
		}
	}

	// Invalid stored grants take rights away, never add them.
	g := MergeGrants([]Grant{
		{"invoices:read", ScopeAll},
		{PermUsersManage, ScopeOwn},
		{PermContactsRead, "everything"},
		{PermContactsWrite, ScopeOwn},
	})
	if len(g) != 1 || g[PermContactsWrite] != ScopeOwn {
		t.Errorf("MergeGrants with invalid input = %v", g)
	}

	if g := MergeGrants(); g == nil || len(g) != 0 {
		t.Errorf("MergeGrants() = %#v, want empty non-nil", g)
	}
	var none Grants
	if none.Has(PermContactsRead) || len(none.List()) != 0 {
		t.Error("nil Grants allows something")
	}

	list := MergeGrants(own, all).List()
	want := []Grant{{PermContactsRead, ScopeAll}, {PermDealsWrite, ScopeOwn}, {PermUsersManage, ScopeAll}}
	if !slices.Equal(list, want) {
		t.Errorf("List() = %v, want %v", list, want)
	}
}

func TestBuiltinRoles(t *testing.T) {
	roles := BuiltinRoles()
	byKey := map[string]BuiltinRole{}
	for _, r := range roles {
		if _, dup := byKey[r.Key]; dup {
			t.Errorf("duplicate role key %q", r.Key)
		}
		byKey[r.Key] = r
		if r.Name == "" || r.Description == "" {
			t.Errorf("role %q lacks name or description", r.Key)
		}
		if strings.Contains(r.Description, "ß") {
			t.Errorf("role %q: de-CH has no ß", r.Key)
		}
		seen := map[Permission]bool{}
		for _, g := range r.Grants {
			if err := g.Validate(); err != nil {
				t.Errorf("role %q: grant %v: %v", r.Key, g, err)
			}
			if seen[g.Permission] {
				t.Errorf("role %q: %q granted twice", r.Key, g.Permission)
			}
			seen[g.Permission] = true
		}
	}
	names := map[string]string{"admin": "Administrator", "manager": "Manager", "sales": "Vertrieb", "readonly": "Lesezugriff"}
	if len(byKey) != len(names) {
		t.Errorf("got %d roles, want %d", len(byKey), len(names))
	}
	for k, n := range names {
		if byKey[k].Name != n {
			t.Errorf("role %q name = %q, want %q", k, byKey[k].Name, n)
		}
	}

	grantsOf := func(key string) Grants { return MergeGrants(byKey[key].Grants) }

	admin := grantsOf(RoleKeyAdmin)
	if len(admin) != len(AllPermissions()) {
		t.Errorf("admin has %d permissions, want %d", len(admin), len(AllPermissions()))
	}
	for _, p := range AllPermissions() {
		if s, ok := admin.Allows(p.Name); !ok || s != ScopeAll {
			t.Errorf("admin: %q = %q, %v", p.Name, s, ok)
		}
	}

	crm := func(action string) []Permission {
		var out []Permission
		for _, res := range []string{"companies", "contacts", "deals", "activities", "documents"} {
			out = append(out, Permission(res+":"+action))
		}
		return out
	}
	expect := func(key string, want map[Permission]Scope) {
		t.Helper()
		got := grantsOf(key)
		if len(got) != len(want) {
			t.Errorf("%s: %d grants, want %d: %v", key, len(got), len(want), got.List())
		}
		for p, s := range want {
			if got[p] != s {
				t.Errorf("%s: %q = %q, want %q", key, p, got[p], s)
			}
		}
	}

	manager := map[Permission]Scope{}
	for _, a := range []string{"read", "write", "delete"} {
		for _, p := range crm(a) {
			manager[p] = ScopeAll
		}
	}
	for _, p := range []Permission{PermPipelinesManage, PermTagsManage, PermAuditRead, PermImportRun, PermExportRun} {
		manager[p] = ScopeAll
	}
	expect(RoleKeyManager, manager)

	sales := map[Permission]Scope{PermExportRun: ScopeAll}
	for _, p := range crm("read") {
		sales[p] = ScopeAll
	}
	for _, p := range append(crm("write"), crm("delete")...) {
		sales[p] = ScopeOwn
	}
	expect(RoleKeySales, sales)

	readonly := map[Permission]Scope{}
	for _, p := range crm("read") {
		readonly[p] = ScopeAll
	}
	expect(RoleKeyReadonly, readonly)

	for _, key := range []string{RoleKeyManager, RoleKeySales, RoleKeyReadonly} {
		g := grantsOf(key)
		for _, p := range []Permission{PermUsersManage, PermRolesManage, PermSettingsManage} {
			if g.Has(p) {
				t.Errorf("%s must not have %q", key, p)
			}
		}
	}

	roles[0].Grants[0].Scope = ScopeOwn
	if BuiltinRoles()[0].Grants[0].Scope != ScopeAll {
		t.Error("BuiltinRoles shares slices between calls")
	}
}
