// Package tenant reads the operator's tenants.json, validates it, and maps
// request host names to tenants ("Mandanten").
//
// A tenant's slug (Tenant.ID) is its identity: the database key is derived
// from it (see Tenant.UUID), so renaming a slug orphans the tenant's data.
// Everything else about a tenant (name, hosts, locale, ...) may change freely
// between reloads.
//
// The package deliberately knows nothing about HTTP or the database; callers
// pass in the host name they trust (see package proxy) and get a *Tenant back.
package tenant

import (
	"strings"
	"time"

	"github.com/google/uuid"

	// Embedded so that timezone validation and Tenant.Location work in
	// minimal containers without /usr/share/zoneinfo.
	_ "time/tzdata"
)

// Defaults applied when a field is omitted (or null) in tenants.json.
const (
	// DefaultLocale is the locale of a tenant that names none.
	DefaultLocale = "de-CH"
	// DefaultCurrency is the currency of a tenant that names none.
	DefaultCurrency = "CHF"
	// DefaultTimezone is the time zone of a tenant that names none.
	DefaultTimezone = "Europe/Zurich"
)

// UUIDNamespace is the namespace for Tenant.UUID. It must never change: every
// tenant row in the database is keyed by a UUID derived from it. It is
// exported so that tools outside Go (e.g. SQL seeds using uuid_generate_v5)
// can compute the same keys.
var UUIDNamespace = uuid.MustParse("d3e48927-2009-45f2-bc39-bba02ae20388")

// Tenant is one customer company. Values returned by a Set are shared between
// goroutines and must be treated as read-only.
type Tenant struct {
	// ID is the slug, e.g. "mandant1". It is the tenant's identity: the
	// database key is derived from it, so it must never be renamed.
	ID   string `json:"id"`
	Name string `json:"name"`
	// Hosts are normalized: lower case, no trailing dot.
	Hosts    []string `json:"hosts"`
	Locale   string   `json:"locale"`
	Currency string   `json:"currency"`
	Timezone string   `json:"timezone"`
	// Active is false for suspended tenants. Lookups still find them so that
	// the caller can answer "suspended" instead of "unknown host".
	Active bool `json:"active"`

	loc *time.Location // resolved Timezone; set by Parse
	key uuid.UUID      // UUIDOf(ID); set by Parse
}

// UUID returns the tenant's database key, a name-based (SHA-1) UUID over
// "tenant:"+ID in UUIDNamespace. It depends on nothing but the slug, so the
// same tenants.json yields the same keys on every machine and every run.
func (t *Tenant) UUID() uuid.UUID {
	if t.key != uuid.Nil {
		return t.key
	}
	return UUIDOf(t.ID)
}

// UUIDOf returns the database key for the tenant slug id, the same value
// as Tenant.UUID; useful where only the slug is at hand.
func UUIDOf(id string) uuid.UUID {
	return uuid.NewSHA1(UUIDNamespace, []byte("tenant:"+id))
}

// Location returns the tenant's time zone. For tenants built by hand rather
// than by Parse it loads Timezone on demand and falls back to UTC if that
// fails, because a wrong zone in a rendered date beats a panic.
func (t *Tenant) Location() *time.Location {
	if t.loc != nil {
		return t.loc
	}
	if loc, err := time.LoadLocation(t.Timezone); err == nil && t.Timezone != "" {
		return loc
	}
	return time.UTC
}

// Set is a validated, immutable collection of tenants. A nil *Set is valid
// and contains no tenants.
type Set struct {
	tenants []*Tenant
	byID    map[string]*Tenant
	byUUID  map[uuid.UUID]*Tenant
	byHost  map[string]*Tenant
}

// Lookup returns the tenant serving host, which may be a raw Host header
// (port, upper case and trailing dot are ignored). Inactive tenants are
// returned too; the caller must check Active.
func (s *Set) Lookup(host string) (*Tenant, bool) {
	if s == nil {
		return nil, false
	}
	t, ok := s.byHost[NormalizeHost(host)]
	return t, ok
}

// ByID returns the tenant with the given slug (exact match).
func (s *Set) ByID(id string) (*Tenant, bool) {
	if s == nil {
		return nil, false
	}
	t, ok := s.byID[id]
	return t, ok
}

// ByUUID returns the tenant whose database key is id.
func (s *Set) ByUUID(id uuid.UUID) (*Tenant, bool) {
	if s == nil {
		return nil, false
	}
	t, ok := s.byUUID[id]
	return t, ok
}

// All returns the tenants in file order. The slice is a copy; the tenants
// are shared and must not be modified.
func (s *Set) All() []*Tenant {
	if s == nil {
		return nil
	}
	out := make([]*Tenant, len(s.tenants))
	copy(out, s.tenants)
	return out
}

// NormalizeHost turns a Host header value (or a configured host) into the
// form used as lookup key: surrounding space trimmed, lower case, port
// removed (also from "[::1]:8080", which yields "::1"), and one trailing dot
// removed. It does not validate.
func NormalizeHost(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	if strings.HasPrefix(h, "[") {
		// Bracketed IPv6 literal, with or without port.
		if end := strings.IndexByte(h, ']'); end > 0 {
			h = h[1:end]
		}
	} else if strings.Count(h, ":") == 1 {
		// Exactly one colon means host:port. A bare IPv6 address has
		// several and is left alone, since its last group is no port.
		h = h[:strings.IndexByte(h, ':')]
	}
	return strings.TrimSuffix(h, ".")
}
