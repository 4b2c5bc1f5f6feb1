package crm

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm"
)

func contactStr(s string) *string { return &s }

func contactErrFields(err error) []string {
	var e *rpcrm.Error
	if !errors.As(err, &e) {
		return nil
	}
	var out []string
	for f := range e.Fields {
		out = append(out, f)
	}
	slices.Sort(out)
	return out
}

func TestContactApplyValidation(t *testing.T) {
	now := time.Date(2026, 3, 15, 10, 0, 0, 0, time.UTC)
	long := func(n int) *string {
		b := make([]rune, n)
		for i := range b {
			b[i] = 'ä'
		}
		s := string(b)
		return &s
	}
	cases := []struct {
		name string
		in   ContactInput
		want []string // field errors; nil means valid
	}{
		{"last name only", ContactInput{LastName: contactStr("Müller")}, nil},
		{"first name only", ContactInput{FirstName: contactStr("Hans")}, nil},
		{"no name", ContactInput{FirstName: contactStr("  "), LastName: contactStr("")}, []string{"last_name"}},
		{"salutation 50", ContactInput{LastName: contactStr("M"), Salutation: long(50)}, nil},
		{"salutation 51", ContactInput{LastName: contactStr("M"), Salutation: long(51)}, []string{"salutation"}},
		{"first name too long", ContactInput{FirstName: long(101)}, []string{"first_name"}},
		{"last name too long", ContactInput{LastName: long(101)}, []string{"last_name"}},
		{"job title too long", ContactInput{LastName: contactStr("M"), JobTitle: long(201)}, []string{"job_title"}},
		{"bad second email", ContactInput{LastName: contactStr("M"), Emails: &[]string{"a@b.ch", "kein-at.ch"}}, []string{"emails.1"}},
		{"too many emails", ContactInput{LastName: contactStr("M"), Emails: func() *[]string {
			var l []string
			for i := range 21 {
				l = append(l, "p"+itoa(i+1)+"@b.ch")
			}
			return &l
		}()}, []string{"emails"}},
		{"bad phone", ContactInput{LastName: contactStr("M"), Phones: &[]string{"044 123 45 67", "abc"}}, []string{"phones.1"}},
		{"short swiss phone", ContactInput{LastName: contactStr("M"), Phones: &[]string{"044 123 45"}}, []string{"phones.0"}},
		{"language fr", ContactInput{LastName: contactStr("M"), Language: contactStr("FR")}, nil},
		{"language es", ContactInput{LastName: contactStr("M"), Language: contactStr("es")}, []string{"language"}},
		{"birthday", ContactInput{LastName: contactStr("M"), Birthday: contactStr("1980-02-29")}, nil},
		{"birthday today", ContactInput{LastName: contactStr("M"), Birthday: contactStr("2026-03-15")}, nil},
		{"birthday bad date", ContactInput{LastName: contactStr("M"), Birthday: contactStr("1981-02-29")}, []string{"birthday"}},
		{"birthday swiss format", ContactInput{LastName: contactStr("M"), Birthday: contactStr("15.03.1980")}, []string{"birthday"}},
		{"birthday future", ContactInput{LastName: contactStr("M"), Birthday: contactStr("2026-03-17")}, []string{"birthday"}},
		{"birthday before 1900", ContactInput{LastName: contactStr("M"), Birthday: contactStr("1899-12-31")}, []string{"birthday"}},
		{"address", ContactInput{LastName: contactStr("M"), Address: &Address{PostalCode: "80", Canton: "XY"}},
			[]string{"address.canton", "address.postal_code"}},
		{"bad company id", ContactInput{LastName: contactStr("M"), CompanyID: NullID{Set: true, Invalid: true}}, []string{"company_id"}},
		{"consent at not RFC 3339", ContactInput{LastName: contactStr("M"),
			MarketingConsent: &ConsentInput{Given: contactPtr(true), At: contactStr("15.03.2026")}}, []string{"marketing_consent.at"}},
		{"consent at in the future", ContactInput{LastName: contactStr("M"),
			MarketingConsent: &ConsentInput{Given: contactPtr(true), At: contactStr("2026-04-01T00:00:00Z")}}, []string{"marketing_consent.at"}},
		{"consent source too long", ContactInput{LastName: contactStr("M"),
			MarketingConsent: &ConsentInput{Given: contactPtr(true), Source: long(201)}}, []string{"marketing_consent.source"}},
		{"several at once", ContactInput{Language: contactStr("xx"), Birthday: contactStr("morgen")}, []string{"birthday", "language", "last_name"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &Contact{}
			err := tc.in.apply(c, now)
			if got := contactErrFields(err); !slices.Equal(got, tc.want) {
				t.Errorf("fields %v, want %v (err %v)", got, tc.want, err)
			}
		})
	}
}

func contactPtr[T any](v T) *T { return &v }

func TestContactApplyNormalizes(t *testing.T) {
	now := time.Date(2026, 3, 15, 10, 0, 0, 0, time.UTC)
	in := ContactInput{
		Salutation: contactStr(" Frau "), FirstName: contactStr(" Anna "), LastName: contactStr(" Meier "),
		Emails: &[]string{" Anna.Meier@Example.CH ", "", "anna.meier@example.ch", "anna@privat.ch"},
		Phones: &[]string{"044 123 45 67", "+41 (0)44 123 45 67", "0041 79 555 66 77", ""},
		Tags:   &[]string{"VIP", "vip", " Kunde "},
	}
	c := &Contact{}
	if err := in.apply(c, now); err != nil {
		t.Fatal(err)
	}
	if c.Salutation != "Frau" || c.FirstName != "Anna" || c.LastName != "Meier" || c.Name != "Anna Meier" {
		t.Errorf("names: %+v", c)
	}
	if want := []string{"anna.meier@example.ch", "anna@privat.ch"}; !slices.Equal(c.Emails, want) {
		t.Errorf("emails %v, want %v (primary first, lower-case, no duplicates)", c.Emails, want)
	}
	if want := []string{"+41441234567", "+41795556677"}; !slices.Equal(c.Phones, want) {
		t.Errorf("phones %v, want %v", c.Phones, want)
	}
	if want := []string{"VIP", "Kunde"}; !slices.Equal(c.Tags, want) {
		t.Errorf("tags %v, want %v", c.Tags, want)
	}
	if c.Language != "de" || c.Address.Country != "CH" {
		t.Errorf("defaults: language %q, country %q", c.Language, c.Address.Country)
	}
	// A later change leaves what it does not name.
	if err := (&ContactInput{FirstName: contactStr("")}).apply(c, now); err != nil {
		t.Fatal(err)
	}
	if c.Name != "Meier" || len(c.Emails) != 2 {
		t.Errorf("after clearing the first name: name %q, emails %v", c.Name, c.Emails)
	}
	if err := (&ContactInput{LastName: contactStr("")}).apply(c, now); err == nil {
		t.Error("clearing the last name too: want an error")
	}
}

func TestContactConsent(t *testing.T) {
	now := time.Date(2026, 3, 15, 10, 0, 0, 0, time.UTC)
	c := &Contact{LastName: "M"}
	// Given without a time: now.
	if err := (&ContactInput{MarketingConsent: &ConsentInput{Given: contactPtr(true), Source: contactStr("Messe Bern")}}).apply(c, now); err != nil {
		t.Fatal(err)
	}
	if mc := c.MarketingConsent; !mc.Given || mc.At == nil || !mc.At.Equal(now) || mc.Source != "Messe Bern" {
		t.Fatalf("consent given: %+v", mc)
	}
	// Still given later: the original time stays.
	later := now.Add(48 * time.Hour)
	if err := (&ContactInput{MarketingConsent: &ConsentInput{Given: contactPtr(true)}}).apply(c, later); err != nil {
		t.Fatal(err)
	}
	if !c.MarketingConsent.At.Equal(now) {
		t.Errorf("repeated consent moved the time to %v", c.MarketingConsent.At)
	}
	// Withdrawn: time and source go.
	if err := (&ContactInput{MarketingConsent: &ConsentInput{Given: contactPtr(false), Source: contactStr("x")}}).apply(c, later); err != nil {
		t.Fatal(err)
	}
	if mc := c.MarketingConsent; mc.Given || mc.At != nil || mc.Source != "" {
		t.Errorf("withdrawn consent keeps %+v", mc)
	}
	// Given with an explicit time (in another zone): that time, in UTC.
	if err := (&ContactInput{MarketingConsent: &ConsentInput{Given: contactPtr(true), At: contactStr("2026-01-10T09:30:00+01:00")}}).apply(c, later); err != nil {
		t.Fatal(err)
	}
	if at := c.MarketingConsent.At; at == nil || !at.Equal(time.Date(2026, 1, 10, 8, 30, 0, 0, time.UTC)) {
		t.Errorf("explicit consent time: %v", at)
	}
}

func TestNullID(t *testing.T) {
	id := uuid.New()
	cases := []struct {
		body string
		want NullID
	}{
		{`{}`, NullID{}},
		{`{"company_id": null}`, NullID{Set: true}},
		{`{"company_id": ""}`, NullID{Set: true}},
		{`{"company_id": "` + id.String() + `"}`, NullID{Set: true, ID: &id}},
		{`{"company_id": "nope"}`, NullID{Set: true, Invalid: true}},
		{`{"company_id": 17}`, NullID{Set: true, Invalid: true}},
	}
	for _, tc := range cases {
		var in ContactInput
		if err := json.Unmarshal([]byte(tc.body), &in); err != nil {
			t.Fatalf("%s: %v", tc.body, err)
		}
		got := in.CompanyID
		if got.Set != tc.want.Set || got.Invalid != tc.want.Invalid || (got.ID == nil) != (tc.want.ID == nil) ||
			got.ID != nil && *got.ID != *tc.want.ID {
			t.Errorf("%s: got %+v, want %+v", tc.body, got, tc.want)
		}
	}
}
