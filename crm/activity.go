package crm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/audit"
	"github.com/rpcrm/rpcrm/auth"
)

// Activity kinds.
const (
	KindNote    = "note"
	KindCall    = "call"
	KindMeeting = "meeting"
	KindTask    = "task"
	KindEmail   = "email" // an e-mail logged by hand
)

// ActivityKinds are the kinds an activity can have.
var ActivityKinds = []string{KindNote, KindCall, KindMeeting, KindTask, KindEmail}

// Activity is a note, call, meeting, task or logged e-mail, optionally
// linked to a company, a contact and a deal.
type Activity struct {
	ID         uuid.UUID `json:"id"`
	Kind       string    `json:"kind"`
	Subject    string    `json:"subject"`
	Body       string    `json:"body"`
	BodyFormat string    `json:"body_format"`
	// BodyHTML is Body rendered for display: always escaped, whatever the format.
	BodyHTML   string     `json:"body_html"`
	DueAt      *time.Time `json:"due_at"`
	DoneAt     *time.Time `json:"done_at"`
	Done       bool       `json:"done"`
	Overdue    bool       `json:"overdue"` // open and due in the past
	AssigneeID *uuid.UUID `json:"assignee_id"`
	CompanyID  *uuid.UUID `json:"company_id"`
	ContactID  *uuid.UUID `json:"contact_id"`
	DealID     *uuid.UUID `json:"deal_id"`
	OwnerID    *uuid.UUID `json:"owner_id"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	DeletedAt  *time.Time `json:"deleted_at,omitempty"`
	Version    int        `json:"version"`
}

// Render fills the fields derived from stored ones.
func (a *Activity) Render() {
	a.BodyHTML = RenderBody(a.Body, a.BodyFormat)
	a.Done = a.DoneAt != nil
}

// ActivitySortable are the fields an activity list can be sorted by.
var ActivitySortable = []string{"created_at", "updated_at", "due_at", "subject", "done_at"}

// Clearable is an optional JSON field that can also be cleared: absent
// leaves the value as it is, null clears it, a string sets it. The string is
// parsed by Apply, so that a bad value is reported with its field name.
type Clearable struct {
	Set   bool   // the field was sent
	Null  bool   // it was sent as null
	Value string // the value sent, unless Null
}

// UnmarshalJSON implements json.Unmarshaler.
func (c *Clearable) UnmarshalJSON(b []byte) error {
	c.Set = true
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		c.Null, c.Value = true, ""
		return nil
	}
	if err := json.Unmarshal(b, &c.Value); err != nil {
		// The decoder adds the field name to a type error.
		return &json.UnmarshalTypeError{Value: "value", Type: reflect.TypeFor[string]()}
	}
	return nil
}

// MarshalJSON implements json.Marshaler.
func (c Clearable) MarshalJSON() ([]byte, error) {
	if !c.Set || c.Null {
		return []byte("null"), nil
	}
	return json.Marshal(c.Value)
}

// ActivityInput creates or changes an activity; absent fields stay as they are.
type ActivityInput struct {
	Kind       *string `json:"kind"`
	Subject    *string `json:"subject"`
	Body       *string `json:"body"`
	BodyFormat *string `json:"body_format"`
	// DueAt is an RFC 3339 time.
	DueAt Clearable `json:"due_at"`
	// Done marks the activity done (now) or open again.
	Done       *bool     `json:"done"`
	AssigneeID Clearable `json:"assignee_id"`
	CompanyID  Clearable `json:"company_id"`
	ContactID  Clearable `json:"contact_id"`
	DealID     Clearable `json:"deal_id"`
	// Version is the version the client last read; 0 means "don't check".
	Version int `json:"version"`
	// Now is the time "done" means; zero means the current time.
	Now time.Time `json:"-"`
}

// Apply sets the input's fields on a, normalises them and validates the
// whole result. The references (assignee, company, contact, deal) are only
// checked for form here; whether they exist is the store's business.
func (in *ActivityInput) Apply(a *Activity) error {
	v := validation{map[string]string{}}
	if in.Kind != nil {
		a.Kind = strings.ToLower(strings.TrimSpace(*in.Kind))
	}
	if in.Subject != nil {
		a.Subject = strings.TrimSpace(*in.Subject)
	}
	if in.Body != nil {
		a.Body = *in.Body // stored as written; rendering escapes it
	}
	if in.BodyFormat != nil {
		a.BodyFormat = strings.ToLower(strings.TrimSpace(*in.BodyFormat))
	}
	if a.BodyFormat == "" {
		a.BodyFormat = FormatText
	}
	if in.DueAt.Set {
		if in.DueAt.Null || strings.TrimSpace(in.DueAt.Value) == "" {
			a.DueAt = nil
		} else if t, err := time.Parse(time.RFC3339, strings.TrimSpace(in.DueAt.Value)); err != nil {
			v.add("due_at", "Erwartet einen Zeitpunkt nach RFC 3339, z. B. 2026-01-31T14:00:00+01:00.")
		} else {
			a.DueAt = &t
		}
	}
	if in.Done != nil {
		switch {
		case !*in.Done:
			a.DoneAt = nil
		case a.DoneAt == nil: // done stays done at the time it was first done
			now := in.Now
			if now.IsZero() {
				now = time.Now()
			}
			now = now.UTC().Truncate(time.Microsecond)
			a.DoneAt = &now
		}
	}
	a.AssigneeID = applyActivityRef(v, "assignee_id", in.AssigneeID, a.AssigneeID)
	a.CompanyID = applyActivityRef(v, "company_id", in.CompanyID, a.CompanyID)
	a.ContactID = applyActivityRef(v, "contact_id", in.ContactID, a.ContactID)
	a.DealID = applyActivityRef(v, "deal_id", in.DealID, a.DealID)

	switch {
	case a.Kind == "":
		v.add("kind", "Die Art fehlt (note, call, meeting, task oder email).")
	case !validActivityKind(a.Kind):
		v.add("kind", "Unbekannte Art; möglich: note, call, meeting, task, email.")
	}
	v.required("subject", a.Subject, "Der Betreff fehlt.")
	v.maxLen("subject", a.Subject, 200)
	v.maxLen("body", a.Body, 20000)
	if a.BodyFormat != FormatText && a.BodyFormat != FormatMarkdown {
		v.add("body_format", "Erwartet text oder markdown.")
	}
	return v.Err()
}

func validActivityKind(k string) bool {
	for _, x := range ActivityKinds {
		if x == k {
			return true
		}
	}
	return false
}

// applyActivityRef applies a clearable ID field.
func applyActivityRef(v validation, field string, c Clearable, cur *uuid.UUID) *uuid.UUID {
	if !c.Set {
		return cur
	}
	s := strings.TrimSpace(c.Value)
	if c.Null || s == "" {
		return nil
	}
	id, err := uuid.Parse(s)
	if err != nil || id == uuid.Nil {
		v.add(field, "Keine gültige ID.")
		return cur
	}
	return &id
}

// ActivityFilter narrows an activity list beyond the common options.
type ActivityFilter struct {
	ListParams
	Kind       string
	AssigneeID *uuid.UUID
	CompanyID  *uuid.UUID
	ContactID  *uuid.UUID
	DealID     *uuid.UUID
	// Open: true lists open activities, false done ones, nil both.
	Open      *bool
	DueBefore *time.Time
	DueAfter  *time.Time
	// Overdue: true lists the open activities due before now, false all
	// others (done, due later or without a due date), nil both.
	Overdue *bool
}

// Normalize checks the filter and sets the defaults (newest first).
func (f *ActivityFilter) Normalize() error {
	if f.Sort == "" {
		f.Sort, f.Desc = "created_at", true
	}
	err := f.ListParams.Normalize(ActivitySortable, "created_at")
	v := validation{map[string]string{}}
	f.Kind = strings.ToLower(strings.TrimSpace(f.Kind))
	if f.Kind != "" && !validActivityKind(f.Kind) {
		v.add("kind", "Unbekannte Art; möglich: note, call, meeting, task, email.")
	}
	if f.Tag != "" {
		v.add("tag", "Aktivitäten haben keine Schlagwörter.")
	}
	return activityMergeErrors(err, v.Err())
}

// activityMergeErrors combines two validation errors into one.
func activityMergeErrors(a, b error) error {
	var ea, eb *rpcrm.Error
	if a == nil || !errors.As(a, &ea) {
		if a == nil {
			return b
		}
		return a
	}
	if b == nil || !errors.As(b, &eb) {
		return a
	}
	for k, m := range eb.Fields {
		if _, ok := ea.Fields[k]; !ok {
			ea.Fields[k] = m
		}
	}
	return ea
}

// Timeline entry types.
const (
	TimelineActivity = "activity"
	TimelineDocument = "document"
	TimelineChange   = "change"
)

// TimelineItem is one entry of a record's timeline: an activity linked to
// it, a document attached to it or a change to the record itself.
type TimelineItem struct {
	Type string    `json:"type"`
	At   time.Time `json:"at"`
	ID   uuid.UUID `json:"id"`
	// Activity fields.
	Kind       string     `json:"kind,omitempty"`
	Subject    string     `json:"subject,omitempty"`
	BodyHTML   string     `json:"body_html,omitempty"`
	DueAt      *time.Time `json:"due_at,omitempty"`
	DoneAt     *time.Time `json:"done_at,omitempty"`
	AssigneeID *uuid.UUID `json:"assignee_id,omitempty"`
	OwnerID    *uuid.UUID `json:"owner_id,omitempty"`
	// Document fields.
	FileName  string     `json:"file_name,omitempty"`
	Size      *int64     `json:"size,omitempty"`
	CreatedBy *uuid.UUID `json:"created_by,omitempty"`
	// Change fields.
	Action  string                  `json:"action,omitempty"`
	Actor   string                  `json:"actor,omitempty"`
	ActorID *uuid.UUID              `json:"actor_id,omitempty"`
	Changes map[string]audit.Change `json:"changes,omitempty"`
}

// ActivityService manages activities and the views built on them. With
// scope "own" a user sees the activities they own, are assigned to or that
// are linked to a company, contact or deal they own; they change those they
// own or are assigned to, and delete only those they own.
type ActivityService interface {
	ListActivities(ctx context.Context, p *auth.Principal, f ActivityFilter) (*Page[*Activity], error)
	Activity(ctx context.Context, p *auth.Principal, id uuid.UUID) (*Activity, error)
	CreateActivity(ctx context.Context, p *auth.Principal, in ActivityInput, m auth.LoginMeta) (*Activity, error)
	UpdateActivity(ctx context.Context, p *auth.Principal, id uuid.UUID, in ActivityInput, m auth.LoginMeta) (*Activity, error)
	DeleteActivity(ctx context.Context, p *auth.Principal, id uuid.UUID, m auth.LoginMeta) error
	RestoreActivity(ctx context.Context, p *auth.Principal, id uuid.UUID, m auth.LoginMeta) (*Activity, error)
	PurgeActivity(ctx context.Context, p *auth.Principal, id uuid.UUID, m auth.LoginMeta) error
	// MyOpenTasks lists the caller's open tasks: overdue first, then
	// upcoming, each by due date, then those without a due date.
	MyOpenTasks(ctx context.Context, p *auth.Principal, lp ListParams) (*Page[*Activity], error)
	// Timeline lists what happened to a company, contact or deal (entity
	// EntityCompany, EntityContact, EntityDeal), newest first.
	Timeline(ctx context.Context, p *auth.Principal, entity string, id uuid.UUID, lp ListParams) (*Page[*TimelineItem], error)
}

// RecordVersion returns the activity's version, for ETags.
func (a Activity) RecordVersion() int { return a.Version }
