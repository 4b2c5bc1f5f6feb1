package demo

import (
	"reflect"
	"testing"

	"github.com/rpcrm/rpcrm/crm"
)

func TestDeterministic(t *testing.T) {
	a, b := New(42), New(42)
	for i := 0; i < 100; i++ {
		if pa, pb := a.Person(), b.Person(); !reflect.DeepEqual(pa, pb) {
			t.Fatalf("person %d differs: %+v vs %+v", i, pa, pb)
		}
		if ca, cb := a.Company(), b.Company(); ca != cb {
			t.Fatalf("company %d differs", i)
		}
	}
	if New(1).Person() == New(2).Person() {
		t.Fatal("different seeds gave the same person")
	}
}

// The invented data must pass the application's own validation.
func TestDataIsValid(t *testing.T) {
	g := New(7)
	for i := 0; i < 500; i++ {
		c := g.Company()
		if _, err := crm.NormalizeUID(c.UID); err != nil {
			t.Fatalf("UID %s: %v", c.UID, err)
		}
		if _, err := crm.NormalizePhone(c.Phone); err != nil {
			t.Fatalf("phone %s: %v", c.Phone, err)
		}
		name, uid, web, email, phone := c.Name, c.UID, c.Website, c.Email, c.Phone
		in := crm.CompanyInput{Name: &name, UID: &uid, Website: &web, Email: &email, Phone: &phone,
			Address: &crm.Address{Street: c.Street, PostalCode: c.PostalCode, City: c.City, Canton: c.Canton}}
		if err := in.Apply(&crm.Company{}); err != nil {
			t.Fatalf("company %+v: %v", c, err)
		}
		p := g.Person()
		for _, n := range []string{p.Phone, p.Mobile} {
			if _, err := crm.NormalizePhone(n); err != nil {
				t.Fatalf("phone %s: %v", n, err)
			}
		}
		if p.FirstName == "" || p.LastName == "" || p.City == "" {
			t.Fatalf("incomplete person %+v", p)
		}
	}
}
