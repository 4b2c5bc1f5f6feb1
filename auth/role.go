package auth

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm"
)

// Role bundles grants. Built-in roles (Key set) are kept in step with the code
// and cannot be changed; custom roles belong to the tenant's administrators.
type Role struct {
	ID          uuid.UUID `json:"id"`
	Key         string    `json:"key,omitempty"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Builtin     bool      `json:"builtin"`
	Permissions []string  `json:"permissions"`
	Users       int       `json:"users"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	Version     int       `json:"version"`
}

// RoleInput is the input for creating a custom role.
type RoleInput struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Permissions []string `json:"permissions"`
}

// Validate checks the input and returns the parsed grants.
func (in *RoleInput) Validate() ([]Grant, error) {
	in.Name = strings.TrimSpace(in.Name)
	in.Description = strings.TrimSpace(in.Description)
	v := rpcrm.Validation{}
	validateRoleName(v, in.Name)
	if utf8.RuneCountInString(in.Description) > 1000 {
		v.Add("description", "Die Beschreibung darf höchstens 1000 Zeichen lang sein.")
	}
	grants := parseGrants(v, in.Permissions)
	return grants, v.Err()
}

// RolePatch is a partial update of a custom role.
type RolePatch struct {
	Name        *string   `json:"name"`
	Description *string   `json:"description"`
	Permissions *[]string `json:"permissions"`
	Version     int       `json:"version"`
}

// Validate checks the fields that are set and returns the parsed grants (nil if
// Permissions is unset).
func (p *RolePatch) Validate() ([]Grant, error) {
	v := rpcrm.Validation{}
	if p.Name != nil {
		s := strings.TrimSpace(*p.Name)
		p.Name = &s
		validateRoleName(v, s)
	}
	if p.Description != nil {
		s := strings.TrimSpace(*p.Description)
		p.Description = &s
		if utf8.RuneCountInString(s) > 1000 {
			v.Add("description", "Die Beschreibung darf höchstens 1000 Zeichen lang sein.")
		}
	}
	var grants []Grant
	if p.Permissions != nil {
		grants = parseGrants(v, *p.Permissions)
	}
	return grants, v.Err()
}

func validateRoleName(v rpcrm.Validation, name string) {
	switch {
	case name == "":
		v.Add("name", "Der Name fehlt.")
	case utf8.RuneCountInString(name) > 100:
		v.Add("name", "Der Name darf höchstens 100 Zeichen lang sein.")
	}
}

func parseGrants(v rpcrm.Validation, list []string) []Grant {
	seen := map[Permission]bool{}
	var out []Grant
	for _, s := range list {
		g, err := ParseGrant(s)
		if err != nil {
			v.Add("permissions", "Unbekannte Berechtigung: "+s)
			continue
		}
		if seen[g.Permission] {
			v.Add("permissions", "Berechtigung doppelt angegeben: "+string(g.Permission))
			continue
		}
		seen[g.Permission] = true
		out = append(out, g)
	}
	return out
}
