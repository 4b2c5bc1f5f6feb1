package crm

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm/auth"
)

// Contact is a person (Person) the tenant deals with, usually at a company.
type Contact struct {
	Meta
	Salutation string `json:"salutation"`
	FirstName  string `json:"first_name"`
	LastName   string `json:"last_name"`
	// Name is "First Last", computed for lists and labels.
	Name string `json:"name"`
	// Emails are lower-case; the first is the primary address.
	Emails    []string   `json:"emails"`
	Phones    []string   `json:"phones"` // E.164
	JobTitle  string     `json:"job_title"`
	CompanyID *uuid.UUID `json:"company_id"`
	Address   Address    `json:"address"`
	// Language is the language to correspond in: de, fr, it or en.
	Language string `json:"language"`
	// Birthday is a date (YYYY-MM-DD) or nil.
	Birthday         *string `json:"birthday"`
	MarketingConsent Consent `json:"marketing_consent"`
}

// Consent records whether and when a person agreed to marketing mail, and
// how (for the data protection record).
type Consent struct {
	Given  bool       `json:"given"`
	At     *time.Time `json:"at"`
	Source string     `json:"source"`
}

// ContactLanguages are the languages a contact can be addressed in.
var ContactLanguages = []string{"de", "fr", "it", "en"}

// ContactSortable are the fields a contact list can be sorted by.
var ContactSortable = []string{"last_name", "first_name", "created_at", "updated_at", "birthday"}

// Limits of a contact's lists.
const (
	maxContactEmails = 20
	maxContactPhones = 20
)

// NullID is an ID in a partial update that can also be removed: absent
// leaves the stored value, null clears it, a UUID string sets it. A string
// that is no UUID is kept as Invalid, so that Apply reports it as a field
// error rather than the decoder as broken JSON.
type NullID struct {
	Set     bool
	ID      *uuid.UUID
	Invalid bool
}

// UnmarshalJSON implements json.Unmarshaler; it is also called for null.
func (n *NullID) UnmarshalJSON(b []byte) error {
	n.Set, n.ID, n.Invalid = true, nil, false
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		n.Invalid = true
		return nil
	}
	if strings.TrimSpace(s) == "" {
		return nil
	}
	id, err := uuid.Parse(strings.TrimSpace(s))
	if err != nil {
		n.Invalid = true
		return nil
	}
	n.ID = &id
	return nil
}

// MarshalJSON implements json.Marshaler (null when unset).
func (n NullID) MarshalJSON() ([]byte, error) {
	if n.ID == nil {
		return []byte("null"), nil
	}
	return json.Marshal(n.ID.String())
}

// ConsentInput changes the marketing consent; nil fields stay as they are.
type ConsentInput struct {
	Given *bool `json:"given"`
	// At is an RFC 3339 time; when consent is given without it, now is taken.
	At     *string `json:"at"`
	Source *string `json:"source"`
}

// ContactInput creates or changes a contact; nil fields stay as they are.
type ContactInput struct {
	Salutation       *string       `json:"salutation"`
	FirstName        *string       `json:"first_name"`
	LastName         *string       `json:"last_name"`
	Emails           *[]string     `json:"emails"`
	Phones           *[]string     `json:"phones"`
	JobTitle         *string       `json:"job_title"`
	CompanyID        NullID        `json:"company_id"`
	Address          *Address      `json:"address"`
	Language         *string       `json:"language"`
	Birthday         *string       `json:"birthday"`
	Tags             *[]string     `json:"tags"`
	OwnerID          *uuid.UUID    `json:"owner_id"`
	MarketingConsent *ConsentInput `json:"marketing_consent"`
	Custom           Custom        `json:"custom_fields"`
	// Version is the version the client last read; 0 means "don't check".
	Version int `json:"version"`
}

// Apply sets the input's fields on c, normalises them and validates the
// whole result, so that a record never holds an invalid combination. The
// company's existence is the store's to check (it needs the database).
func (in *ContactInput) Apply(c *Contact) error {
	return in.apply(c, time.Now())
}

func (in *ContactInput) apply(c *Contact, now time.Time) error {
	v := validation{map[string]string{}}
	if in.Salutation != nil {
		c.Salutation = strings.TrimSpace(*in.Salutation)
	}
	if in.FirstName != nil {
		c.FirstName = strings.TrimSpace(*in.FirstName)
	}
	if in.LastName != nil {
		c.LastName = strings.TrimSpace(*in.LastName)
	}
	c.Name = strings.TrimSpace(c.FirstName + " " + c.LastName)
	if in.Emails != nil {
		c.Emails = normalizeEmails(v, *in.Emails)
	}
	if c.Emails == nil {
		c.Emails = []string{}
	}
	if in.Phones != nil {
		c.Phones = normalizePhones(v, *in.Phones)
	}
	if c.Phones == nil {
		c.Phones = []string{}
	}
	if in.JobTitle != nil {
		c.JobTitle = strings.TrimSpace(*in.JobTitle)
	}
	if in.CompanyID.Invalid {
		v.add("company_id", "Keine gültige ID.")
	} else if in.CompanyID.Set {
		c.CompanyID = in.CompanyID.ID
	}
	if in.Address != nil {
		c.Address = *in.Address
	}
	c.Address.normalize()
	if in.Language != nil {
		c.Language = strings.ToLower(strings.TrimSpace(*in.Language))
	}
	if c.Language == "" {
		c.Language = "de"
	}
	if !contains(ContactLanguages, c.Language) {
		v.add("language", "Erwartet de, fr, it oder en.")
	}
	if in.Birthday != nil {
		c.Birthday = normalizeBirthday(v, *in.Birthday, now)
	}
	if in.Tags != nil {
		c.Tags = normalizeTags(v, *in.Tags)
	}
	if c.Tags == nil {
		c.Tags = []string{}
	}
	if in.OwnerID != nil {
		id := *in.OwnerID
		c.OwnerID = &id
	}
	if in.MarketingConsent != nil {
		in.MarketingConsent.apply(v, &c.MarketingConsent, now)
	}
	if c.FirstName == "" && c.LastName == "" {
		v.add("last_name", "Vor- oder Nachname fehlt.")
	}
	v.maxLen("salutation", c.Salutation, 50)
	v.maxLen("first_name", c.FirstName, 100)
	v.maxLen("last_name", c.LastName, 100)
	v.maxLen("job_title", c.JobTitle, 200)
	c.Address.validate(v, "address.")
	return v.Err()
}

// normalizeEmails lower-cases and checks each address, dropping empty ones
// and duplicates; field names carry the index the client sent.
func normalizeEmails(v validation, in []string) []string {
	out := []string{}
	for i, s := range in {
		e := normalizeEmail(v, "emails."+strconv.Itoa(i), s)
		if e != "" && !contains(out, e) {
			out = append(out, e)
		}
	}
	if len(out) > maxContactEmails {
		v.add("emails", "Höchstens "+itoa(maxContactEmails)+" E-Mail-Adressen.")
	}
	return out
}

// normalizePhones brings each number into E.164 form, dropping empty ones
// and duplicates (the same number typed two ways).
func normalizePhones(v validation, in []string) []string {
	out := []string{}
	for i, s := range in {
		p, err := NormalizePhone(s)
		if err != nil {
			v.add("phones."+strconv.Itoa(i), err.Error())
			continue
		}
		if p != "" && !contains(out, p) {
			out = append(out, p)
		}
	}
	if len(out) > maxContactPhones {
		v.add("phones", "Höchstens "+itoa(maxContactPhones)+" Telefonnummern.")
	}
	return out
}

// normalizeBirthday checks a YYYY-MM-DD date; "" removes the birthday.
func normalizeBirthday(v validation, s string, now time.Time) *string {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		v.add("birthday", "Erwartet ein Datum (JJJJ-MM-TT).")
		return &s
	}
	// "Today" is taken in the zone furthest ahead (UTC+14), so that nobody
	// born today anywhere is refused.
	today := now.UTC().Add(14 * time.Hour).Format(time.DateOnly)
	switch {
	case d.Year() < 1900:
		v.add("birthday", "Das Geburtsdatum liegt vor 1900.")
	case s > today:
		v.add("birthday", "Das Geburtsdatum liegt in der Zukunft.")
	}
	return &s
}

// apply changes the consent: given without a time means now; withdrawing
// it clears time and source, so that no stale proof remains.
func (in *ConsentInput) apply(v validation, c *Consent, now time.Time) {
	wasGiven := c.Given
	if in.Given != nil {
		c.Given = *in.Given
	}
	if in.Source != nil {
		c.Source = strings.TrimSpace(*in.Source)
	}
	if in.At != nil {
		if s := strings.TrimSpace(*in.At); s == "" {
			c.At = nil
		} else if t, err := time.Parse(time.RFC3339, s); err != nil {
			v.add("marketing_consent.at", "Erwartet einen Zeitpunkt nach RFC 3339, z. B. 2026-01-31T09:00:00Z.")
		} else if t.After(now.Add(5 * time.Minute)) {
			v.add("marketing_consent.at", "Der Zeitpunkt der Einwilligung liegt in der Zukunft.")
		} else {
			t = t.UTC()
			c.At = &t
		}
	}
	if !c.Given {
		c.At, c.Source = nil, ""
		return
	}
	if c.At == nil || !wasGiven && in.At == nil {
		t := now.UTC()
		c.At = &t
	}
	v.maxLen("marketing_consent.source", c.Source, 200)
}

// ContactFilter narrows a contact list beyond the common options.
type ContactFilter struct {
	ListParams
	CompanyID *uuid.UUID
	Language  string
}

// ContactService manages contacts. Every method checks the principal's
// permission scope in its query: with "own" only the user's records exist.
type ContactService interface {
	ListContacts(ctx context.Context, p *auth.Principal, f ContactFilter) (*Page[*Contact], error)
	Contact(ctx context.Context, p *auth.Principal, id uuid.UUID) (*Contact, error)
	CreateContact(ctx context.Context, p *auth.Principal, in ContactInput, m auth.LoginMeta) (*Contact, error)
	UpdateContact(ctx context.Context, p *auth.Principal, id uuid.UUID, in ContactInput, m auth.LoginMeta) (*Contact, error)
	DeleteContact(ctx context.Context, p *auth.Principal, id uuid.UUID, m auth.LoginMeta) error
	RestoreContact(ctx context.Context, p *auth.Principal, id uuid.UUID, m auth.LoginMeta) (*Contact, error)
	PurgeContact(ctx context.Context, p *auth.Principal, id uuid.UUID, m auth.LoginMeta) error
}
