// Package crm holds the CRM records — companies, contacts, pipelines and
// deals, activities, documents, tags and custom fields — with their
// validation rules and the service interfaces the API and UI call. It knows
// nothing of HTTP or SQL.
package crm

import (
	"encoding/base64"
	"encoding/json"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm"
)

// MaxLimit is the largest page a list returns.
const MaxLimit = 200

// ListParams are the options every list takes.
type ListParams struct {
	// Q searches the record's text (German-aware, typo-tolerant).
	Q string
	// Sort is a whitelisted field name; Desc reverses it.
	Sort string
	Desc bool
	// Limit is the page size, 1..MaxLimit (default 50).
	Limit int
	// Cursor continues a previous page (the NextCursor it returned).
	Cursor string
	// OwnerID, Tag and UpdatedSince filter; nil/empty means no filter.
	OwnerID      *uuid.UUID
	Tag          string
	UpdatedSince *time.Time
	// Deleted lists the trash instead of the live records.
	Deleted bool
}

// Page is one page of a list.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// Cursor is the position after the last row of a page: the sort key of that
// row and its ID (the tie-breaker).
type Cursor struct {
	Key string    `json:"k"`
	ID  uuid.UUID `json:"i"`
	// Sort is the order the cursor belongs to (ListParams.SortKey): a
	// cursor continues only the list it came from, since its key means
	// nothing in another order (and may not even parse as its type).
	// Empty means unchecked.
	Sort string `json:"s"`
}

// SortKey names the list order: the sort field, with "-" for descending.
func (p *ListParams) SortKey() string {
	if p.Desc {
		return "-" + p.Sort
	}
	return p.Sort
}

// EncodeCursor turns a cursor into an opaque string.
func EncodeCursor(c Cursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor parses a string made by EncodeCursor.
func DecodeCursor(s string) (Cursor, error) {
	var c Cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.ID == uuid.Nil {
		return Cursor{}, rpcrm.FieldError("cursor", "Ungültiger Cursor.")
	}
	return c, nil
}

// Normalize checks the common list options.
func (p *ListParams) Normalize(sortable []string, defaultSort string) error {
	v := validation{map[string]string{}}
	p.Q = strings.TrimSpace(p.Q)
	if utf8.RuneCountInString(p.Q) > 200 {
		v.add("q", "Der Suchbegriff ist zu lang.")
	}
	if p.Limit == 0 {
		p.Limit = 50
	}
	if p.Limit < 1 || p.Limit > MaxLimit {
		v.add("limit", "Erwartet eine Zahl von 1 bis 200.")
	}
	if p.Sort == "" {
		p.Sort = defaultSort
	}
	ok := false
	for _, s := range sortable {
		if s == p.Sort {
			ok = true
		}
	}
	if !ok {
		v.add("sort", "Nach diesem Feld kann nicht sortiert werden; möglich: "+strings.Join(sortable, ", ")+".")
	}
	if p.Cursor != "" {
		if c, err := DecodeCursor(p.Cursor); err != nil {
			v.add("cursor", "Ungültiger Cursor.")
		} else if c.Sort != "" && c.Sort != p.SortKey() {
			v.add("cursor", "Der Cursor gehört zu einer anderen Sortierung; bitte die Liste neu laden.")
		}
	}
	p.Tag = strings.TrimSpace(p.Tag)
	return v.Err()
}

// Meta is what every record carries besides its own fields.
type Meta struct {
	ID        uuid.UUID  `json:"id"`
	OwnerID   *uuid.UUID `json:"owner_id"`
	Tags      []string   `json:"tags"`
	Custom    Custom     `json:"custom_fields"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	DeletedAt *time.Time `json:"deleted_at,omitempty"`
	Version   int        `json:"version"`
}

// RecordVersion returns the record's version, for ETags.
func (m Meta) RecordVersion() int { return m.Version }

// Custom holds custom field values by field key.
type Custom map[string]any

// validation is rpcrm.Validation with helpers for common checks.
type validation struct{ rpcrm.Validation }

func (v validation) add(field, msg string) { v.Add(field, msg) }

func (v validation) maxLen(field, s string, n int) {
	if utf8.RuneCountInString(s) > n {
		v.add(field, "Höchstens "+itoa(n)+" Zeichen.")
	}
}

func (v validation) required(field, s, msg string) {
	if strings.TrimSpace(s) == "" {
		v.add(field, msg)
	}
}

// normalizeEmail trims and lower-cases an address and checks its form.
func normalizeEmail(v validation, field, s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return ""
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || !strings.Contains(s[strings.LastIndexByte(s, '@'):], ".") || len(s) > 254 {
		v.add(field, "Die E-Mail-Adresse ist ungültig.")
	}
	return s
}

// normalizeTags trims tag names, drops empty ones and duplicates (ignoring
// case) and checks their length.
func normalizeTags(v validation, tags []string) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, t := range tags {
		t = strings.TrimSpace(t)
		if t == "" || seen[strings.ToLower(t)] {
			continue
		}
		if utf8.RuneCountInString(t) > 50 {
			v.add("tags", "Ein Schlagwort hat höchstens 50 Zeichen.")
		}
		seen[strings.ToLower(t)] = true
		out = append(out, t)
	}
	if len(out) > 50 {
		v.add("tags", "Höchstens 50 Schlagwörter.")
	}
	return out
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

// str returns *p or "" and reports whether p was set.
func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
