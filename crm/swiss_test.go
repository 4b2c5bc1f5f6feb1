package crm

import (
	"errors"
	"testing"

	"github.com/rpcrm/rpcrm"
)

func TestNormalizeUID(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"CHE-109.322.551", "CHE-109.322.551"},
		{"che109322551", "CHE-109.322.551"},
		{"CHE-109.322.551 MWST", "CHE-109.322.551"},
		{"CHE 116.281.710", "CHE-116.281.710"},
	} {
		got, err := NormalizeUID(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("NormalizeUID(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "CHE-109.322.552", "CHE-109.322.55", "DE-109.322.551", "CHE-1O9.322.551", "CHE-109.322.5510"} {
		if got, err := NormalizeUID(bad); err == nil {
			t.Errorf("NormalizeUID(%q) = %q, want an error", bad, got)
		}
	}
}

func TestNormalizePhone(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"044 123 45 67", "+41441234567"},
		{"+41 44 123 45 67", "+41441234567"},
		{"+41 (0)44 123 45 67", "+41441234567"},
		{"0041441234567", "+41441234567"},
		{"079/123.45.67", "+41791234567"},
		{"+49 30 1234567", "+49301234567"},
		{"", ""},
	} {
		got, err := NormalizePhone(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"044 123 45", "abc", "1234567", "+41 44 123 45 678", "+1 2"} {
		if got, err := NormalizePhone(bad); err == nil {
			t.Errorf("NormalizePhone(%q) = %q, want an error", bad, got)
		}
	}
	if got := FormatPhone("+41441234567"); got != "+41 44 123 45 67" {
		t.Errorf("FormatPhone = %q", got)
	}
}

func TestCompanyInputApply(t *testing.T) {
	name, uid, web, phone := " Muster AG ", "che109322551", "muster.ch", "044 123 45 67"
	c := &Company{}
	in := CompanyInput{Name: &name, UID: &uid, Website: &web, Phone: &phone, Address: &Address{PostalCode: "8001", City: "Zürich", Canton: "zh"}}
	if err := in.Apply(c); err != nil {
		t.Fatal(err)
	}
	if c.Name != "Muster AG" || *c.UID != "CHE-109.322.551" || c.Website != "https://muster.ch" || c.Phone != "+41441234567" ||
		c.Address.Country != "CH" || c.Address.Canton != "ZH" {
		t.Fatalf("normalised company = %+v", c)
	}
	empty, badUID, badPLZ := "", "CHE-109.322.552", "80011"
	err := (&CompanyInput{Name: &empty, UID: &badUID, Address: &Address{PostalCode: badPLZ, Canton: "XX"}}).Apply(&Company{})
	var e *rpcrm.Error
	if !errors.As(err, &e) {
		t.Fatalf("invalid company: %v", err)
	}
	for _, f := range []string{"name", "uid", "address.postal_code", "address.canton"} {
		if e.Fields[f] == "" {
			t.Errorf("no error for %s: %v", f, e.Fields)
		}
	}
}
