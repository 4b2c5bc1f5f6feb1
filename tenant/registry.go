package tenant

import "sync/atomic"

// Registry holds the current tenant Set. Readers never lock: a reload swaps
// in a complete new Set, so a request sees either the old or the new
// configuration, never a mix, and is never blocked or dropped by a reload.
type Registry struct {
	cur atomic.Pointer[Set]
}

// NewRegistry returns a Registry serving s. A nil s serves no tenants.
func NewRegistry(s *Set) *Registry {
	r := &Registry{}
	r.cur.Store(s)
	return r
}

// Current returns the Set in effect now. Callers handling one request should
// call it once and use that Set throughout, so that a concurrent reload
// cannot give them two different views.
func (r *Registry) Current() *Set {
	return r.cur.Load()
}

// Replace makes s the current Set for all later calls.
func (r *Registry) Replace(s *Set) {
	r.cur.Store(s)
}

// Lookup is shorthand for r.Current().Lookup(host).
func (r *Registry) Lookup(host string) (*Tenant, bool) {
	return r.Current().Lookup(host)
}

// ReloadFile loads path and, only if it is valid, makes it the current Set.
// On error the previous Set stays in effect, so a typo in tenants.json during
// a reload (e.g. on SIGHUP) cannot take the service down.
func (r *Registry) ReloadFile(path string) error {
	s, err := LoadFile(path)
	if err != nil {
		return err
	}
	r.Replace(s)
	return nil
}
