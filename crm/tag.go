package crm

import (
	"context"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm/auth"
)

// Tag is a keyword (Schlagwort) of a tenant. Records hold tags by name, so
// renaming or deleting a tag changes every record that carries it.
type Tag struct {
	ID    uuid.UUID `json:"id"`
	Name  string    `json:"name"`
	Color string    `json:"color"`
	// Usage counts the live companies, contacts and deals carrying the tag.
	Usage     int       `json:"usage"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Version   int       `json:"version"`
}

var colorRe = regexp.MustCompile(`^#[0-9a-f]{6}$`)

// TagInput creates or changes a tag; nil fields stay as they are.
type TagInput struct {
	Name  *string `json:"name"`
	Color *string `json:"color"`
	// Version is the version the client last read; 0 means "don't check".
	Version int `json:"version"`
}

// Apply sets the input's fields on t and validates the result.
func (in *TagInput) Apply(t *Tag) error {
	v := validation{map[string]string{}}
	if in.Name != nil {
		t.Name = strings.TrimSpace(*in.Name)
	}
	if in.Color != nil {
		t.Color = strings.ToLower(strings.TrimSpace(*in.Color))
	}
	v.required("name", t.Name, "Der Name fehlt.")
	if utf8.RuneCountInString(t.Name) > 50 {
		v.add("name", "Ein Schlagwort hat höchstens 50 Zeichen.")
	}
	if t.Color != "" && !colorRe.MatchString(t.Color) {
		v.add("color", "Erwartet eine Farbe wie #1e88e5.")
	}
	return v.Err()
}

// TagService manages a tenant's tags. Everyone logged in may read them;
// changing them needs tags:manage.
type TagService interface {
	// Tags lists the tags with their usage (how many live records carry
	// them): one pass over the tenant's records.
	Tags(ctx context.Context, p *auth.Principal) ([]*Tag, error)
	// (Forms and list filters read the tags without their usage through
	// NameService.ListChoices.)
	CreateTag(ctx context.Context, p *auth.Principal, in TagInput, m auth.LoginMeta) (*Tag, error)
	UpdateTag(ctx context.Context, p *auth.Principal, id uuid.UUID, in TagInput, m auth.LoginMeta) (*Tag, error)
	DeleteTag(ctx context.Context, p *auth.Principal, id uuid.UUID, m auth.LoginMeta) error
}
