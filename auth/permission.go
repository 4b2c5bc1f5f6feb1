package auth

import (
	"slices"
	"strings"

	"github.com/rpcrm/rpcrm"
)

// Permission names one right in the fixed catalogue, e.g. "contacts:read".
// The catalogue lives in code rather than in the database so that a release
// and the checks in its handlers always agree on what exists.
type Permission string

// Scope limits a scoped permission to the records a user owns or extends it to
// all records of the tenant.
type Scope string

// The two scopes. ScopeAll is the wider one and wins when roles are merged.
const (
	ScopeOwn Scope = "own"
	ScopeAll Scope = "all"
)

// CRM record permissions; all of them are scoped.
const (
	PermCompaniesRead    Permission = "companies:read"
	PermCompaniesWrite   Permission = "companies:write"
	PermCompaniesDelete  Permission = "companies:delete"
	PermContactsRead     Permission = "contacts:read"
	PermContactsWrite    Permission = "contacts:write"
	PermContactsDelete   Permission = "contacts:delete"
	PermDealsRead        Permission = "deals:read"
	PermDealsWrite       Permission = "deals:write"
	PermDealsDelete      Permission = "deals:delete"
	PermActivitiesRead   Permission = "activities:read"
	PermActivitiesWrite  Permission = "activities:write"
	PermActivitiesDelete Permission = "activities:delete"
	PermDocumentsRead    Permission = "documents:read"
	PermDocumentsWrite   Permission = "documents:write"
	PermDocumentsDelete  Permission = "documents:delete"
)

// Administrative permissions; they are unscoped because they do not concern
// records with an owner, so their scope is always ScopeAll.
const (
	PermPipelinesManage Permission = "pipelines:manage"
	PermTagsManage      Permission = "tags:manage"
	PermUsersManage     Permission = "users:manage"
	PermRolesManage     Permission = "roles:manage"
	PermSettingsManage  Permission = "settings:manage"
	PermAuditRead       Permission = "audit:read"
	PermImportRun       Permission = "import:run"
	PermExportRun       Permission = "export:run"
)

// PermissionInfo describes a catalogue entry for role editors and the API.
type PermissionInfo struct {
	Name    Permission `json:"name"`
	LabelDE string     `json:"label_de"`
	LabelEN string     `json:"label_en"`
	// Scoped permissions may be granted for own records only.
	Scoped bool `json:"scoped"`
}

// catalogue is in display order: CRM resources first, administration last.
var catalogue = []PermissionInfo{
	{PermCompaniesRead, "Firmen anzeigen", "View companies", true},
	{PermCompaniesWrite, "Firmen erfassen und bearbeiten", "Create and edit companies", true},
	{PermCompaniesDelete, "Firmen löschen", "Delete companies", true},
	{PermContactsRead, "Kontakte anzeigen", "View contacts", true},
	{PermContactsWrite, "Kontakte erfassen und bearbeiten", "Create and edit contacts", true},
	{PermContactsDelete, "Kontakte löschen", "Delete contacts", true},
	{PermDealsRead, "Verkaufschancen anzeigen", "View deals", true},
	{PermDealsWrite, "Verkaufschancen erfassen und bearbeiten", "Create and edit deals", true},
	{PermDealsDelete, "Verkaufschancen löschen", "Delete deals", true},
	{PermActivitiesRead, "Aktivitäten anzeigen", "View activities", true},
	{PermActivitiesWrite, "Aktivitäten erfassen und bearbeiten", "Create and edit activities", true},
	{PermActivitiesDelete, "Aktivitäten löschen", "Delete activities", true},
	{PermDocumentsRead, "Dokumente anzeigen", "View documents", true},
	{PermDocumentsWrite, "Dokumente hochladen und bearbeiten", "Upload and edit documents", true},
	{PermDocumentsDelete, "Dokumente löschen", "Delete documents", true},
	{PermPipelinesManage, "Pipelines verwalten", "Manage pipelines", false},
	{PermTagsManage, "Tags verwalten", "Manage tags", false},
	{PermUsersManage, "Benutzer verwalten", "Manage users", false},
	{PermRolesManage, "Rollen verwalten", "Manage roles", false},
	{PermSettingsManage, "Einstellungen verwalten", "Manage settings", false},
	{PermAuditRead, "Audit-Protokoll einsehen", "View audit log", false},
	{PermImportRun, "Daten importieren", "Import data", false},
	{PermExportRun, "Daten exportieren", "Export data", false},
}

// crmResources are the record types that carry an owner; each has a
// read/write/delete triplet of scoped permissions.
var crmResources = []string{"companies", "contacts", "deals", "activities", "documents"}

var catalogueIndex = func() map[Permission]int {
	m := make(map[Permission]int, len(catalogue))
	for i, p := range catalogue {
		m[p.Name] = i
	}
	return m
}()

// AllPermissions returns the catalogue in display order. The slice is a copy.
func AllPermissions() []PermissionInfo {
	return slices.Clone(catalogue)
}

// LookupPermission returns the catalogue entry for name.
func LookupPermission(name string) (PermissionInfo, bool) {
	i, ok := catalogueIndex[Permission(name)]
	if !ok {
		return PermissionInfo{}, false
	}
	return catalogue[i], true
}

// Valid reports whether s is one of the two scopes.
func (s Scope) Valid() bool {
	return s == ScopeOwn || s == ScopeAll
}

func scopeRank(s Scope) int {
	switch s {
	case ScopeAll:
		return 2
	case ScopeOwn:
		return 1
	}
	return 0
}

// Grant is one permission held by a role, with its scope.
type Grant struct {
	Permission Permission `json:"permission"`
	Scope      Scope      `json:"scope"`
}

// ParseGrant parses "contacts:read" (scope all), "contacts:read:own" or
// "contacts:read:all". Unknown permissions, unknown scopes and "own" on an
// unscoped permission are EINVALID errors.
func ParseGrant(s string) (Grant, error) {
	parts := strings.Split(s, ":")
	var g Grant
	switch len(parts) {
	case 2:
		g = Grant{Permission: Permission(s), Scope: ScopeAll}
	case 3:
		g = Grant{Permission: Permission(parts[0] + ":" + parts[1]), Scope: Scope(parts[2])}
	default:
		return Grant{}, rpcrm.Errorf(rpcrm.EINVALID, "Unbekannte Berechtigung «%s».", s)
	}
	if err := g.Validate(); err != nil {
		return Grant{}, err
	}
	return g, nil
}

// Validate checks that the permission is in the catalogue and the scope fits
// it. Use it for grants that were not built by ParseGrant, e.g. database rows.
func (g Grant) Validate() error {
	info, ok := LookupPermission(string(g.Permission))
	if !ok {
		return rpcrm.Errorf(rpcrm.EINVALID, "Unbekannte Berechtigung «%s».", g.Permission)
	}
	if !g.Scope.Valid() {
		return rpcrm.Errorf(rpcrm.EINVALID, "Unbekannter Geltungsbereich «%s»; erlaubt sind «own» und «all».", g.Scope)
	}
	if g.Scope == ScopeOwn && !info.Scoped {
		return rpcrm.Errorf(rpcrm.EINVALID, "Die Berechtigung «%s» lässt sich nicht auf eigene Datensätze beschränken.", g.Permission)
	}
	return nil
}

// String returns the canonical form accepted by ParseGrant: the bare
// permission for ScopeAll, "<permission>:own" for ScopeOwn.
func (g Grant) String() string {
	if g.Scope == ScopeOwn {
		return string(g.Permission) + ":" + string(ScopeOwn)
	}
	return string(g.Permission)
}

// Grants is the effective set of permissions of a user, merged from all their
// roles. A nil Grants allows nothing.
type Grants map[Permission]Scope

// MergeGrants merges the grants of several roles; where roles disagree the
// wider scope wins. Invalid grants (e.g. a permission dropped from the
// catalogue but still stored) are skipped so that stale data can only take
// rights away, never add them.
func MergeGrants(lists ...[]Grant) Grants {
	out := Grants{}
	for _, list := range lists {
		for _, g := range list {
			if g.Validate() != nil {
				continue
			}
			if scopeRank(g.Scope) > scopeRank(out[g.Permission]) {
				out[g.Permission] = g.Scope
			}
		}
	}
	return out
}

// Allows returns the scope with which p is granted, and false if it is not
// granted at all.
func (g Grants) Allows(p Permission) (Scope, bool) {
	s, ok := g[p]
	return s, ok
}

// Has reports whether p is granted with any scope.
func (g Grants) Has(p Permission) bool {
	_, ok := g[p]
	return ok
}

// List returns the grants sorted by permission name, for stable output.
func (g Grants) List() []Grant {
	out := make([]Grant, 0, len(g))
	for p, s := range g {
		out = append(out, Grant{Permission: p, Scope: s})
	}
	slices.SortFunc(out, func(a, b Grant) int { return strings.Compare(string(a.Permission), string(b.Permission)) })
	return out
}

// Keys of the built-in roles, stable across releases and stored in roles.key.
const (
	RoleKeyAdmin    = "admin"
	RoleKeyManager  = "manager"
	RoleKeySales    = "sales"
	RoleKeyReadonly = "readonly"
)

// BuiltinRole is a role every tenant gets. Its grants are defined here so that
// a release can adjust them for all tenants at once.
type BuiltinRole struct {
	Key         string
	Name        string
	Description string
	Grants      []Grant
}

// BuiltinRoles returns the built-in roles. Each call returns fresh slices, so
// callers may modify the result.
func BuiltinRoles() []BuiltinRole {
	var admin, manager, sales, readonly []Grant
	for _, p := range catalogue {
		admin = append(admin, Grant{p.Name, ScopeAll})
	}
	for _, res := range crmResources {
		read, write, del := Permission(res+":read"), Permission(res+":write"), Permission(res+":delete")
		manager = append(manager, Grant{read, ScopeAll}, Grant{write, ScopeAll}, Grant{del, ScopeAll})
		sales = append(sales, Grant{read, ScopeAll}, Grant{write, ScopeOwn}, Grant{del, ScopeOwn})
		readonly = append(readonly, Grant{read, ScopeAll})
	}
	manager = append(manager,
		Grant{PermPipelinesManage, ScopeAll},
		Grant{PermTagsManage, ScopeAll},
		Grant{PermAuditRead, ScopeAll},
		Grant{PermImportRun, ScopeAll},
		Grant{PermExportRun, ScopeAll},
	)
	sales = append(sales, Grant{PermExportRun, ScopeAll})

	return []BuiltinRole{
		{
			Key:         RoleKeyAdmin,
			Name:        "Administrator",
			Description: "Voller Zugriff auf alle Daten und Einstellungen, einschliesslich Benutzer und Rollen.",
			Grants:      admin,
		},
		{
			Key:  RoleKeyManager,
			Name: "Manager",
			Description: "Sieht, bearbeitet und löscht alle CRM-Daten, verwaltet Pipelines und Tags, " +
				"sieht das Audit-Protokoll und darf importieren und exportieren. " +
				"Verwaltet keine Benutzer, Rollen oder Einstellungen.",
			Grants: manager,
		},
		{
			Key:         RoleKeySales,
			Name:        "Vertrieb",
			Description: "Sieht alle CRM-Daten, bearbeitet und löscht aber nur eigene Datensätze. Darf exportieren.",
			Grants:      sales,
		},
		{
			Key:         RoleKeyReadonly,
			Name:        "Lesezugriff",
			Description: "Sieht alle CRM-Daten, kann aber nichts ändern.",
			Grants:      readonly,
		},
	}
}
