// Package audit describes the append-only record of who changed what and when.
package audit

import (
	"encoding/json"
	"reflect"
	"time"

	"github.com/google/uuid"
)

// Actions written by the platform core. Later record types add their own
// ("company.create", ...), always "<entity>.<verb>".
const (
	LoginSucceeded = "auth.login"
	LoginFailed    = "auth.login_failed"
	Logout         = "auth.logout"
	RefreshReuse   = "auth.refresh_reuse"
	UserCreate     = "user.create"
	UserUpdate     = "user.update"
	UserDisable    = "user.disable"
	UserEnable     = "user.enable"
	UserPassword   = "user.set_password"
	RoleCreate     = "role.create"
	RoleUpdate     = "role.update"
	RoleDelete     = "role.delete"
)

// Change is one field's value before and after a change.
type Change struct {
	Before any `json:"before"`
	After  any `json:"after"`
}

// Entry is one line of the audit log.
type Entry struct {
	ID         uuid.UUID         `json:"id"`
	At         time.Time         `json:"at"`
	ActorID    *uuid.UUID        `json:"actor_id,omitempty"`
	Actor      string            `json:"actor"`
	Action     string            `json:"action"`
	EntityType string            `json:"entity_type,omitempty"`
	EntityID   *uuid.UUID        `json:"entity_id,omitempty"`
	Changes    map[string]Change `json:"changes,omitempty"`
	Details    map[string]any    `json:"details,omitempty"`
	IP         string            `json:"ip,omitempty"`
	RequestID  string            `json:"request_id,omitempty"`
}

// Diff returns the fields whose values differ between before and after, both
// given as field → value maps. Values are compared by their JSON form, so a
// []string and a []any holding the same strings are equal.
func Diff(before, after map[string]any) map[string]Change {
	out := map[string]Change{}
	for k, a := range after {
		b := before[k]
		if !sameJSON(a, b) {
			out[k] = Change{Before: b, After: a}
		}
	}
	for k, b := range before {
		if _, ok := after[k]; !ok {
			out[k] = Change{Before: b, After: nil}
		}
	}
	return out
}

func sameJSON(a, b any) bool {
	if reflect.DeepEqual(a, b) {
		return true
	}
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}

// Filter selects audit entries.
type Filter struct {
	Action     string
	EntityType string
	EntityID   *uuid.UUID
	ActorID    *uuid.UUID
	Before     *time.Time // entries strictly older (for paging)
	BeforeID   *uuid.UUID
	Limit      int
	// Since and Until bound the time of the entries (Since inclusive,
	// Until exclusive); nil means open.
	Since, Until *time.Time
}
