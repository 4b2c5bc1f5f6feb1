package crm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/auth"
)

// Deal is a sales opportunity (Verkaufschance) in a stage of a pipeline.
type Deal struct {
	Meta
	Title string `json:"title"`
	// Amount is an exact decimal with two places ("12500.50"), or nil.
	Amount     *string    `json:"amount"`
	Currency   string     `json:"currency"`
	PipelineID uuid.UUID  `json:"pipeline_id"`
	StageID    uuid.UUID  `json:"stage_id"`
	CompanyID  *uuid.UUID `json:"company_id"`
	ContactID  *uuid.UUID `json:"contact_id"`
	// ExpectedClose is a date, YYYY-MM-DD.
	ExpectedClose *string `json:"expected_close"`
	Probability   int     `json:"probability"`
	// Status follows the stage's kind: open, won or lost.
	Status         string     `json:"status"`
	WonAt          *time.Time `json:"won_at"`
	LostAt         *time.Time `json:"lost_at"`
	LostReason     string     `json:"lost_reason"`
	StageChangedAt time.Time  `json:"stage_changed_at"`
}

// DealSortable are the fields a deal list can be sorted by.
var DealSortable = []string{"title", "amount", "expected_close", "created_at", "updated_at"}

// DecimalText is a number in JSON input kept as its text, so that amounts
// never pass through a float. Both "12500.50" and 12500.50 are accepted.
type DecimalText string

// UnmarshalJSON keeps the literal text of a string or number.
func (d *DecimalText) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*d = DecimalText(s)
		return nil
	}
	if len(b) > 0 && (b[0] == '-' || b[0] >= '0' && b[0] <= '9') {
		*d = DecimalText(b)
		return nil
	}
	return &json.UnmarshalTypeError{Value: string(b), Type: reflect.TypeFor[string]()}
}

// OptionalID is a reference in an input that can be left out (unchanged),
// null (cleared) or set.
type OptionalID struct {
	Set bool
	ID  *uuid.UUID
}

// UnmarshalJSON reads null or an ID.
func (o *OptionalID) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(bytes.TrimSpace(b)) == "null" {
		o.ID = nil
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return &json.UnmarshalTypeError{Value: string(b), Type: reflect.TypeFor[uuid.UUID]()}
	}
	id, err := uuid.Parse(s)
	if err != nil {
		return &json.UnmarshalTypeError{Value: "string", Type: reflect.TypeFor[uuid.UUID]()}
	}
	o.ID = &id
	return nil
}

// MarshalJSON writes null or the ID.
func (o OptionalID) MarshalJSON() ([]byte, error) {
	if o.ID == nil {
		return []byte("null"), nil
	}
	return json.Marshal(o.ID)
}

// ParseAmount parses an amount of money as people type it — "12500",
// "12500.5", "12'500.50" (Swiss grouping) — into its exact canonical form
// with two decimals ("12500.50"). At most 12 integer digits and 2 decimals;
// no sign, no exponent.
func ParseAmount(s string) (string, error) {
	s = strings.TrimSpace(s)
	bad := func(msg string) (string, error) { return "", errors.New(msg) }
	if s == "" {
		return bad("Der Betrag fehlt.")
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if hasDot && (frac == "" || !allDigitsAny(frac)) {
		return bad("Ungültiger Betrag, z. B. 12'500.50.")
	}
	if len(frac) > 2 {
		return bad("Höchstens zwei Nachkommastellen.")
	}
	// Grouping with ' (or the typographic ’) must be in threes: 12'500, not 1'25.
	intPart = strings.ReplaceAll(intPart, "’", "'")
	if strings.Contains(intPart, "'") {
		groups := strings.Split(intPart, "'")
		for i, g := range groups {
			if !allDigitsAny(g) || g == "" || i > 0 && len(g) != 3 || i == 0 && len(g) > 3 {
				return bad("Ungültiger Betrag, z. B. 12'500.50.")
			}
		}
		intPart = strings.Join(groups, "")
	}
	if intPart == "" || !allDigitsAny(intPart) {
		return bad("Ungültiger Betrag, z. B. 12'500.50.")
	}
	intPart = strings.TrimLeft(intPart, "0")
	if intPart == "" {
		intPart = "0"
	}
	if len(intPart) > 12 {
		return bad("Höchstens 12 Stellen vor dem Komma.")
	}
	for len(frac) < 2 {
		frac += "0"
	}
	return intPart + "." + frac, nil
}

func allDigitsAny(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// DealInput creates or changes a deal; nil fields stay as they are.
type DealInput struct {
	Title *string `json:"title"`
	// Amount: "" or null clears it.
	Amount *DecimalText `json:"amount"`
	// Currency defaults to the tenant's currency on create (set by the caller).
	Currency   *string    `json:"currency"`
	PipelineID *uuid.UUID `json:"pipeline_id"`
	StageID    *uuid.UUID `json:"stage_id"`
	CompanyID  OptionalID `json:"company_id"`
	ContactID  OptionalID `json:"contact_id"`
	OwnerID    *uuid.UUID `json:"owner_id"`
	// ExpectedClose is YYYY-MM-DD; "" clears it.
	ExpectedClose *string `json:"expected_close"`
	// Probability 0..100; when left out it follows the (new) stage.
	Probability *int `json:"probability"`
	// LostReason is required when the deal moves to a lost stage.
	LostReason *string   `json:"lost_reason"`
	Tags       *[]string `json:"tags"`
	Custom     Custom    `json:"custom_fields"`
	// Version is the version the client last read; 0 means "don't check".
	Version int `json:"version"`
}

// Apply sets the input's fields on d, normalises them and validates the
// whole result. Pipeline and stage IDs are set as given; that they exist
// and belong together, and the status rules that follow from the stage,
// need the database and are checked by the store (see EnterStage).
func (in *DealInput) Apply(d *Deal) error {
	v := validation{map[string]string{}}
	if in.Title != nil {
		d.Title = strings.TrimSpace(*in.Title)
	}
	if in.Amount != nil {
		if a := strings.TrimSpace(string(*in.Amount)); a == "" {
			d.Amount = nil
		} else if norm, err := ParseAmount(a); err != nil {
			v.add("amount", err.Error())
		} else {
			d.Amount = &norm
		}
	}
	if in.Currency != nil {
		d.Currency = strings.ToUpper(strings.TrimSpace(*in.Currency))
	}
	if d.Currency == "" {
		d.Currency = "CHF"
	}
	if len(d.Currency) != 3 || !isUpperAlpha(d.Currency) {
		v.add("currency", "Erwartet einen Währungscode mit drei Buchstaben, z. B. CHF.")
	}
	if in.PipelineID != nil {
		d.PipelineID = *in.PipelineID
	}
	if in.StageID != nil {
		d.StageID = *in.StageID
	}
	if in.CompanyID.Set {
		d.CompanyID = in.CompanyID.ID
	}
	if in.ContactID.Set {
		d.ContactID = in.ContactID.ID
	}
	if in.OwnerID != nil {
		id := *in.OwnerID
		d.OwnerID = &id
	}
	if in.ExpectedClose != nil {
		if s := strings.TrimSpace(*in.ExpectedClose); s == "" {
			d.ExpectedClose = nil
		} else if t, err := time.Parse("2006-01-02", s); err != nil || t.Year() < 1900 || t.Year() > 2999 {
			v.add("expected_close", "Erwartet ein Datum (JJJJ-MM-TT).")
		} else {
			d.ExpectedClose = &s
		}
	}
	if in.Probability != nil {
		d.Probability = *in.Probability
		if d.Probability < 0 || d.Probability > 100 {
			v.add("probability", "Erwartet eine Zahl von 0 bis 100.")
		}
	}
	if in.LostReason != nil {
		d.LostReason = strings.TrimSpace(*in.LostReason)
	}
	if in.Tags != nil {
		d.Tags = normalizeTags(v, *in.Tags)
	}
	if d.Tags == nil {
		d.Tags = []string{}
	}
	v.required("title", d.Title, "Der Titel fehlt.")
	v.maxLen("title", d.Title, 200)
	v.maxLen("lost_reason", d.LostReason, 500)
	return v.Err()
}

func isUpperAlpha(s string) bool {
	for _, r := range s {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return utf8.RuneCountInString(s) == len(s)
}

// EnterStage applies the rules of the deal's (possibly new) stage: a won
// stage sets WonAt and clears the loss, a lost stage sets LostAt and needs a
// reason, an open stage clears both. changed says whether the stage is new,
// probabilitySet whether the input named a probability (otherwise a new
// stage brings its own). now is the time of the change.
func (d *Deal) EnterStage(st *Stage, changed, probabilitySet bool, now time.Time) error {
	if changed {
		d.StageChangedAt = now
		if !probabilitySet {
			d.Probability = st.Probability
		}
	}
	d.Status = st.Kind
	switch st.Kind {
	case StageWon:
		if d.WonAt == nil {
			d.WonAt = &now
		}
		d.LostAt, d.LostReason = nil, ""
	case StageLost:
		if d.LostReason == "" {
			return fieldErr("lost_reason", "Bitte geben Sie an, warum die Verkaufschance verloren ging.")
		}
		if d.LostAt == nil {
			d.LostAt = &now
		}
		d.WonAt = nil
	default:
		d.WonAt, d.LostAt, d.LostReason = nil, nil, ""
	}
	return nil
}

func fieldErr(field, msg string) error {
	v := validation{map[string]string{}}
	v.add(field, msg)
	return v.Err()
}

// DealFilter narrows a deal list beyond the common options.
type DealFilter struct {
	ListParams
	PipelineID, StageID, CompanyID, ContactID *uuid.UUID
	// Status is open, won or lost (the kind of the deal's stage).
	Status                             string
	ExpectedCloseFrom, ExpectedCloseTo *time.Time
}

// Normalize checks the filter.
func (f *DealFilter) Normalize() error {
	err := f.ListParams.Normalize(DealSortable, "updated_at")
	if f.Status != "" && f.Status != StageOpen && f.Status != StageWon && f.Status != StageLost {
		err = mergeFieldErr(err, "status", "Erwartet open, won oder lost.")
	}
	return err
}

func mergeFieldErr(err error, field, msg string) error {
	v := validation{map[string]string{}}
	var re *rpcrm.Error
	if errors.As(err, &re) {
		for k, m := range re.Fields {
			v.add(k, m)
		}
	}
	v.add(field, msg)
	return v.Err()
}

// DealService manages deals and the pipelines they move through. Every
// deal method checks the principal's permission scope in its query: with
// "own" only the user's deals exist.
type DealService interface {
	PipelineService
	ListDeals(ctx context.Context, p *auth.Principal, f DealFilter) (*Page[*Deal], error)
	Deal(ctx context.Context, p *auth.Principal, id uuid.UUID) (*Deal, error)
	CreateDeal(ctx context.Context, p *auth.Principal, in DealInput, m auth.LoginMeta) (*Deal, error)
	UpdateDeal(ctx context.Context, p *auth.Principal, id uuid.UUID, in DealInput, m auth.LoginMeta) (*Deal, error)
	DeleteDeal(ctx context.Context, p *auth.Principal, id uuid.UUID, m auth.LoginMeta) error
	RestoreDeal(ctx context.Context, p *auth.Principal, id uuid.UUID, m auth.LoginMeta) (*Deal, error)
	PurgeDeal(ctx context.Context, p *auth.Principal, id uuid.UUID, m auth.LoginMeta) error
}
