package web

import (
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
	"github.com/rpcrm/rpcrm/tenant"
)

// BenchmarkRenderContactList renders the contact list page of 50 rows from
// prepared data: the template's share of the page, without the database.
//
//	go test -run '^$' -bench RenderContactList -benchmem ./web/
var rowsN = 50

func BenchmarkRenderContactList(b *testing.B) {
	pages := parsePages()
	static, _ := fs.Sub(staticFiles, "static")
	grants := auth.Grants{}
	for _, pi := range auth.AllPermissions() {
		grants[pi.Name] = auth.ScopeAll
	}
	p := &auth.Principal{UserID: uuid.New(), Name: "Anna Admin", Locale: "de-CH", Grants: grants}
	v := &view{Title: "Kontakte", Lang: "de", Tenant: &tenant.Tenant{ID: "alpha", Name: "Alpha AG"}, User: p, CSRF: "token",
		Nav: "contacts", Fields: map[string]string{}, Form: url.Values{}, assets: newAssets(static), loc: time.UTC}
	lp := &listPage{Query: listQuery{Base: "/contacts", sorts: []string{"last_name", "first_name", "updated_at"}, def: "last_name"}}
	for i := range 5 {
		lp.Owners = append(lp.Owners, option{Value: uuid.NewString(), Label: fmt.Sprintf("User %d", i)})
	}
	for _, t := range []string{"Kunde", "Lieferant", "Partner", "VIP", "Newsletter", "Messe"} {
		lp.Tags = append(lp.Tags, option{Value: t, Label: t})
	}
	d := &contactListData{listPage: lp}
	for i := range rowsN {
		d.Rows = append(d.Rows, contactRow{ID: uuid.NewString(), LastName: fmt.Sprintf("Müller %d", i), FirstName: "Anna",
			CompanyID: uuid.NewString(), Company: "Muster & Söhne AG", Email: "anna.mueller@example.ch",
			Phone: "+41441234567", PhoneText: "+41 44 123 45 67", Owner: "User 1", Tags: []string{"Kunde", "VIP"}, Updated: "31.12.2024"})
	}
	d.Items = make([]*crm.Contact, 50)
	v.Data = d
	t := pages["contacts"]
	for b.Loop() {
		if err := t.ExecuteTemplate(io.Discard, "layout", v); err != nil {
			b.Fatal(err)
		}
	}
}
