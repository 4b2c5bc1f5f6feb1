package tenant

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

func mustParse(t *testing.T, in string) *Set {
	t.Helper()
	s, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNormalizeHost(t *testing.T) {
	tests := []struct{ in, want string }{
		{"mandant1.meinecrm.ch", "mandant1.meinecrm.ch"},
		{"Mandant1.MeineCRM.CH", "mandant1.meinecrm.ch"},
		{"mandant1.meinecrm.ch:8443", "mandant1.meinecrm.ch"},
		{"mandant1.meinecrm.ch.", "mandant1.meinecrm.ch"},
		{"mandant1.meinecrm.ch.:443", "mandant1.meinecrm.ch"},
		{"mandant1.meinecrm.ch..", "mandant1.meinecrm.ch."}, // only one dot
		{"mandant1.meinecrm.ch:", "mandant1.meinecrm.ch"},
		{" mandant1.meinecrm.ch ", "mandant1.meinecrm.ch"},
		{"[::1]:8080", "::1"},
		{"[::1]", "::1"},
		{"[2001:DB8::1]:443", "2001:db8::1"},
		{"2001:db8::1", "2001:db8::1"}, // no brackets: no port to strip
		{"127.0.0.1:80", "127.0.0.1"},
		{"", ""},
		{".", ""},
	}
	for _, tt := range tests {
		if got := NormalizeHost(tt.in); got != tt.want {
			t.Errorf("NormalizeHost(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

const lookupDoc = `{"tenants": [
	{"id": "mandant1", "name": "Mandant 1 AG", "hosts": ["mandant1.meinecrm.ch", "crm.mandant1.ch"]},
	{"id": "mandant2", "name": "Mandant 2 GmbH", "hosts": ["Mandant2.MeineCRM.ch."], "active": false}
]}`

func TestLookup(t *testing.T) {
	s := mustParse(t, lookupDoc)
	tests := []struct {
		host   string
		wantID string // "" = not found
	}{
		{"mandant1.meinecrm.ch", "mandant1"},
		{"crm.mandant1.ch", "mandant1"},
		{"MANDANT1.MeineCRM.ch", "mandant1"},
		{"mandant1.meinecrm.ch:8443", "mandant1"},
		{"mandant1.meinecrm.ch.", "mandant1"},
		{"mandant1.meinecrm.ch.:443", "mandant1"},
		{"mandant2.meinecrm.ch", "mandant2"}, // inactive tenants are found too
		{"meinecrm.ch", ""},
		{"x.mandant1.meinecrm.ch", ""},
		{"mandant1.meinecrm.ch.evil.com", ""},
		{"", ""},
		{"[::1]:8080", ""},
	}
	for _, tt := range tests {
		got, ok := s.Lookup(tt.host)
		switch {
		case tt.wantID == "" && ok:
			t.Errorf("Lookup(%q) found %q, want nothing", tt.host, got.ID)
		case tt.wantID != "" && (!ok || got.ID != tt.wantID):
			t.Errorf("Lookup(%q) = %v, %v; want %q", tt.host, got, ok, tt.wantID)
		}
	}
	if t2, _ := s.Lookup("mandant2.meinecrm.ch"); t2.Active {
		t.Errorf("mandant2 is active, want inactive")
	}
}

func TestSetAccessors(t *testing.T) {
	s := mustParse(t, lookupDoc)

	all := s.All()
	if len(all) != 2 || all[0].ID != "mandant1" || all[1].ID != "mandant2" {
		t.Fatalf("All() = %v, want mandant1, mandant2 in file order", all)
	}
	all[0] = nil // must not affect the set
	if s.All()[0] == nil {
		t.Errorf("All() exposes the set's own slice")
	}

	for _, id := range []string{"mandant1", "mandant2"} {
		byID, ok := s.ByID(id)
		if !ok || byID.ID != id {
			t.Errorf("ByID(%q) = %v, %v", id, byID, ok)
			continue
		}
		byUUID, ok := s.ByUUID(byID.UUID())
		if !ok || byUUID != byID {
			t.Errorf("ByUUID(%v) = %v, %v; want %q", byID.UUID(), byUUID, ok, id)
		}
	}
	for _, id := range []string{"", "Mandant1", "mandant3"} {
		if _, ok := s.ByID(id); ok {
			t.Errorf("ByID(%q) found a tenant", id)
		}
	}
	if _, ok := s.ByUUID(uuid.Nil); ok {
		t.Errorf("ByUUID(Nil) found a tenant")
	}

	var nilSet *Set
	if _, ok := nilSet.Lookup("mandant1.meinecrm.ch"); ok {
		t.Errorf("nil Set found a tenant")
	}
	if _, ok := nilSet.ByID("mandant1"); ok {
		t.Errorf("nil Set found a tenant by id")
	}
	if nilSet.All() != nil {
		t.Errorf("nil Set has tenants")
	}
}

func TestUUID(t *testing.T) {
	// Pinned: these keys are stored in the database, so a change to the
	// namespace or the name format would orphan every tenant's data.
	// Cross-checked with Python: uuid.uuid5(UUIDNamespace, "tenant:mandant1").
	want := uuid.MustParse("35713a02-efd8-5ae3-b5d4-080ef6b62660")
	tn := &Tenant{ID: "mandant1", Name: "whatever"}
	if got := tn.UUID(); got != want {
		t.Errorf("UUID() = %v, want %v", got, want)
	}
	if got := (&Tenant{ID: "mandant1", Name: "renamed", Hosts: []string{"x.ch"}}).UUID(); got != want {
		t.Errorf("UUID() depends on more than the slug: %v", got)
	}
	if got := UUIDOf("mandant1"); got != want {
		t.Errorf("UUIDOf() = %v, want %v", got, want)
	}
	if v := want.Version(); v != 5 {
		t.Errorf("version %d, want 5 (SHA-1 name-based)", v)
	}

	seen := map[uuid.UUID]string{}
	for _, id := range []string{"mandant1", "mandant2", "mandant10", "a", "b", "a-b"} {
		u := UUIDOf(id)
		if prev, dup := seen[u]; dup {
			t.Errorf("UUIDOf(%q) == UUIDOf(%q)", id, prev)
		}
		seen[u] = id
	}
}

func TestLocationFallback(t *testing.T) {
	if loc := (&Tenant{Timezone: "America/New_York"}).Location(); loc.String() != "America/New_York" {
		t.Errorf("hand-built tenant: Location() = %v", loc)
	}
	if loc := (&Tenant{Timezone: "Nowhere/Nothing"}).Location(); loc != time.UTC {
		t.Errorf("bad zone: Location() = %v, want UTC", loc)
	}
}

func TestRegistryConcurrentReplace(t *testing.T) {
	s1 := mustParse(t, `{"tenants": [{"id": "one", "name": "One", "hosts": ["a.example.ch"]}]}`)
	s2 := mustParse(t, `{"tenants": [{"id": "two", "name": "Two", "hosts": ["a.example.ch"]}]}`)
	r := NewRegistry(s1)

	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				// Every lookup must see one complete configuration.
				tn, ok := r.Lookup("A.example.ch:443")
				if !ok || (tn.ID != "one" && tn.ID != "two") {
					t.Errorf("Lookup during reload = %v, %v", tn, ok)
					return
				}
			}
		})
	}
	for i := range 2000 {
		if i%2 == 0 {
			r.Replace(s2)
		} else {
			r.Replace(s1)
		}
	}
	close(stop)
	wg.Wait()

	r.Replace(s2)
	if r.Current() != s2 {
		t.Errorf("Current() is not the last replaced set")
	}
}

func TestRegistryReloadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tenants.json")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	r := NewRegistry(nil)
	if _, ok := r.Lookup("a.example.ch"); ok {
		t.Fatalf("empty registry found a tenant")
	}

	write(doc(tenantA))
	if err := r.ReloadFile(path); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Lookup("a.example.ch"); !ok {
		t.Fatalf("tenant a not found after reload")
	}

	write(`{"tenants": [` + tenantA + `,`) // broken
	if err := r.ReloadFile(path); err == nil {
		t.Fatalf("reload of a broken file succeeded")
	}
	if _, ok := r.Lookup("a.example.ch"); !ok {
		t.Errorf("failed reload dropped the previous configuration")
	}

	write(doc(tenantB))
	if err := r.ReloadFile(path); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Lookup("a.example.ch"); ok {
		t.Errorf("tenant a still served after it was removed")
	}
	if _, ok := r.Lookup("b.example.ch"); !ok {
		t.Errorf("tenant b not found after reload")
	}
}
