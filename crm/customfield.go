package crm

import (
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Entities that can have custom fields.
const (
	EntityCompany = "company"
	EntityContact = "contact"
	EntityDeal    = "deal"
)

// Custom field types.
const (
	FieldText   = "text"
	FieldNumber = "number"
	FieldDate   = "date"
	FieldBool   = "bool"
	FieldChoice = "choice"
	FieldMulti  = "multi"
)

// CustomField defines an extra field of one record type in one tenant.
type CustomField struct {
	ID        uuid.UUID `json:"id"`
	Entity    string    `json:"entity"`
	Key       string    `json:"key"`
	Label     string    `json:"label"`
	Type      string    `json:"type"`
	Required  bool      `json:"required"`
	Options   []string  `json:"options"`
	Position  int       `json:"position"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Version   int       `json:"version"`
}

var fieldKeyRe = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// CustomFieldInput creates or changes a custom field definition.
type CustomFieldInput struct {
	Entity   *string   `json:"entity"`
	Key      *string   `json:"key"`
	Label    *string   `json:"label"`
	Type     *string   `json:"type"`
	Required *bool     `json:"required"`
	Options  *[]string `json:"options"`
	Position *int      `json:"position"`
	Version  int       `json:"version"`
}

// Apply sets the given fields on f and validates the result. Entity, key
// and type cannot change once the field exists (values are stored under them).
func (in *CustomFieldInput) Apply(f *CustomField, create bool) error {
	v := validation{map[string]string{}}
	if !create && (in.Entity != nil && *in.Entity != f.Entity || in.Key != nil && *in.Key != f.Key || in.Type != nil && *in.Type != f.Type) {
		v.add("key", "Objekt, Schlüssel und Typ eines Feldes lassen sich nicht mehr ändern.")
	}
	if in.Entity != nil {
		f.Entity = *in.Entity
	}
	if in.Key != nil {
		f.Key = strings.TrimSpace(*in.Key)
	}
	if in.Label != nil {
		f.Label = strings.TrimSpace(*in.Label)
	}
	if in.Type != nil {
		f.Type = *in.Type
	}
	if in.Required != nil {
		f.Required = *in.Required
	}
	if in.Options != nil {
		f.Options = nil
		seen := map[string]bool{}
		for _, o := range *in.Options {
			o = strings.TrimSpace(o)
			if o != "" && !seen[o] {
				seen[o] = true
				f.Options = append(f.Options, o)
			}
		}
	}
	if in.Position != nil {
		f.Position = *in.Position
	}
	if f.Options == nil {
		f.Options = []string{}
	}
	switch f.Entity {
	case EntityCompany, EntityContact, EntityDeal:
	default:
		v.add("entity", "Erwartet company, contact oder deal.")
	}
	if !fieldKeyRe.MatchString(f.Key) {
		v.add("key", "Kleinbuchstaben, Ziffern und _, beginnend mit einem Buchstaben, höchstens 40 Zeichen.")
	}
	v.required("label", f.Label, "Die Bezeichnung fehlt.")
	v.maxLen("label", f.Label, 100)
	switch f.Type {
	case FieldText, FieldNumber, FieldDate, FieldBool:
		if len(f.Options) > 0 {
			v.add("options", "Nur Auswahlfelder haben Optionen.")
		}
	case FieldChoice, FieldMulti:
		if len(f.Options) == 0 {
			v.add("options", "Ein Auswahlfeld braucht mindestens eine Option.")
		}
		for _, o := range f.Options {
			if utf8.RuneCountInString(o) > 100 {
				v.add("options", "Eine Option hat höchstens 100 Zeichen.")
			}
		}
	default:
		v.add("type", "Erwartet text, number, date, bool, choice oder multi.")
	}
	return v.Err()
}

// ValidateCustom checks the custom field values of a record against the
// tenant's definitions for its type. patch holds the values the client sent
// (a null value clears a field); current are the stored values. It returns
// the values to store.
func ValidateCustom(defs []CustomField, current Custom, patch Custom) (Custom, error) {
	v := validation{map[string]string{}}
	byKey := map[string]CustomField{}
	for _, d := range defs {
		byKey[d.Key] = d
	}
	out := Custom{}
	for k, val := range current {
		if _, ok := byKey[k]; ok {
			out[k] = val
		}
	}
	for k, val := range patch {
		d, ok := byKey[k]
		field := "custom_fields." + k
		if !ok {
			v.add(field, "Unbekanntes Feld.")
			continue
		}
		if val == nil || val == "" {
			delete(out, k)
			continue
		}
		norm, msg := checkValue(d, val)
		if msg != "" {
			v.add(field, msg)
			continue
		}
		out[k] = norm
	}
	for _, d := range defs {
		if _, ok := out[d.Key]; d.Required && !ok {
			v.add("custom_fields."+d.Key, "Pflichtfeld: "+d.Label+".")
		}
	}
	return out, v.Err()
}

func checkValue(d CustomField, val any) (any, string) {
	switch d.Type {
	case FieldText:
		s, ok := val.(string)
		if !ok {
			return nil, "Erwartet einen Text."
		}
		if utf8.RuneCountInString(s) > 2000 {
			return nil, "Höchstens 2000 Zeichen."
		}
		return strings.TrimSpace(s), ""
	case FieldNumber:
		switch n := val.(type) {
		case float64:
			return n, ""
		case int:
			return float64(n), ""
		}
		return nil, "Erwartet eine Zahl."
	case FieldDate:
		s, ok := val.(string)
		if !ok {
			return nil, "Erwartet ein Datum (JJJJ-MM-TT)."
		}
		if _, err := time.Parse("2006-01-02", s); err != nil {
			return nil, "Erwartet ein Datum (JJJJ-MM-TT)."
		}
		return s, ""
	case FieldBool:
		b, ok := val.(bool)
		if !ok {
			return nil, "Erwartet ja oder nein (true/false)."
		}
		return b, ""
	case FieldChoice:
		s, ok := val.(string)
		if !ok || !contains(d.Options, s) {
			return nil, "Erwartet eine der Optionen: " + strings.Join(d.Options, ", ") + "."
		}
		return s, ""
	case FieldMulti:
		list, ok := val.([]any)
		if !ok {
			if ss, ok2 := val.([]string); ok2 {
				for _, s := range ss {
					list = append(list, s)
				}
				ok = true
			}
		}
		if !ok {
			return nil, "Erwartet eine Liste von Optionen."
		}
		out := []string{}
		for _, x := range list {
			s, ok := x.(string)
			if !ok || !contains(d.Options, s) {
				return nil, "Erwartet Optionen aus: " + strings.Join(d.Options, ", ") + "."
			}
			if !contains(out, s) {
				out = append(out, s)
			}
		}
		return out, ""
	}
	return nil, "Unbekannter Feldtyp."
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
