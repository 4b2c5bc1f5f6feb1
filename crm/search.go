package crm

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm/auth"
)

// Search limits: results per record type.
const (
	SearchDefaultLimit = 10
	SearchMaxLimit     = 50
	// SearchMaxQuery is the longest query in characters, as for lists.
	SearchMaxQuery = 200
)

// SearchTypes are the record types the search covers, in answer order.
var SearchTypes = []string{EntityCompany, EntityContact, EntityDeal}

// SearchParams ask the search for records matching Q.
type SearchParams struct {
	// Q is the text to find (German-aware, typo-tolerant, phone numbers in
	// any format).
	Q string
	// Types restricts the search to some of SearchTypes; empty means all.
	Types []string
	// Limit caps the hits per type, 1..SearchMaxLimit (default SearchDefaultLimit).
	Limit int
}

// Normalize trims the query, defaults the types and the limit and checks them.
func (sp *SearchParams) Normalize() error {
	v := validation{map[string]string{}}
	sp.Q = strings.TrimSpace(sp.Q)
	switch {
	case sp.Q == "":
		v.add("q", "Der Suchbegriff fehlt.")
	case utf8.RuneCountInString(sp.Q) > SearchMaxQuery:
		v.add("q", "Der Suchbegriff ist zu lang (höchstens "+itoa(SearchMaxQuery)+" Zeichen).")
	}
	if sp.Limit == 0 {
		sp.Limit = SearchDefaultLimit
	}
	if sp.Limit < 1 || sp.Limit > SearchMaxLimit {
		v.add("limit", "Erwartet eine Zahl von 1 bis "+itoa(SearchMaxLimit)+".")
	}
	var types []string
	for _, t := range sp.Types {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "" {
			continue
		}
		if !contains(SearchTypes, t) {
			v.add("types", "Unbekannter Typ "+`"`+t+`"`+"; möglich: "+strings.Join(SearchTypes, ", ")+".")
			continue
		}
		if !contains(types, t) {
			types = append(types, t)
		}
	}
	if len(types) == 0 {
		types = SearchTypes
	}
	sp.Types = types
	return v.Err()
}

// Wants reports whether the search covers record type t.
func (sp *SearchParams) Wants(t string) bool { return contains(sp.Types, t) }

// SearchHit is one record found, ready to show in a result list.
type SearchHit struct {
	ID   uuid.UUID `json:"id"`
	Type string    `json:"type"`
	// Title is the company's name, the contact's "First Last" or the deal's title.
	Title string `json:"title"`
	// Subtitle tells records with the same title apart: the company's city;
	// the contact's company (if the user may see it) or e-mail address; the
	// deal's amount and stage.
	Subtitle string `json:"subtitle"`
	// Score orders the hits of a type, higher first: 4 for the exact name,
	// 3 for a whole word, 1 to 2 for the start of a word, below 1 for a
	// match inside a word or with a typo (the trigram word similarity).
	Score float64 `json:"score"`
}

// SearchResults are the hits per record type, best first. A type that was
// not searched — not asked for, or not readable by the user — is nil and
// left out of the JSON; a searched type without hits is an empty list.
type SearchResults struct {
	Companies []SearchHit `json:"companies,omitzero"`
	Contacts  []SearchHit `json:"contacts,omitzero"`
	Deals     []SearchHit `json:"deals,omitzero"`
}

// SearchService finds records across the record types. Each type is
// searched only if the principal may read it, within their scope (with
// "own", only their own records); the others are left out, which is no error.
type SearchService interface {
	Search(ctx context.Context, p *auth.Principal, sp SearchParams) (*SearchResults, error)
}
