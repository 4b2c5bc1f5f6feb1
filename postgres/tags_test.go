package postgres_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/audit"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
)

// recordTags reads the tags of one row of table, trashed or not.
func recordTags(t *testing.T, ce *companyEnv, table string, id uuid.UUID) ([]string, int) {
	t.Helper()
	ctx := context.Background()
	var tags []string
	var version int
	err := ce.e.DB.InTenant(ctx, ce.admin.TenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT tags, version FROM `+table+` WHERE id = $1`, id).Scan(&tags, &version)
	})
	if err != nil {
		t.Fatalf("tags of %s %s: %v", table, id, err)
	}
	return tags, version
}

func tagByName(t *testing.T, ce *companyEnv, p *auth.Principal, name string) *crm.Tag {
	t.Helper()
	tags, err := ce.s.Tags(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range tags {
		if tg.Name == name {
			return tg
		}
	}
	return nil
}

func wantConflictOn(t *testing.T, err error, field, what string) {
	t.Helper()
	var re *rpcrm.Error
	if !errors.As(err, &re) || re.Code != rpcrm.ECONFLICT || re.Fields[field] == "" {
		t.Errorf("%s: want ECONFLICT on %s, got %v", what, field, err)
	}
}

func testTags(t *testing.T, ce *companyEnv) {
	ctx := context.Background()
	alpha := ce.admin.TenantID
	m := auth.LoginMeta{}

	_, err := ce.s.CreateTag(ctx, ce.sales, crm.TagInput{Name: ptr("Verboten")}, m)
	wantCode(t, err, rpcrm.EFORBIDDEN, "sales creates a tag")
	tg, err := ce.s.CreateTag(ctx, ce.admin, crm.TagInput{Name: ptr(" Partner "), Color: ptr("#1E88E5")}, m)
	if err != nil || tg.Name != "Partner" || tg.Color != "#1e88e5" || tg.Version != 1 {
		t.Fatalf("create tag: %+v, %v", tg, err)
	}
	_, err = ce.s.CreateTag(ctx, ce.admin, crm.TagInput{Name: ptr("PARTNER")}, m)
	wantConflictOn(t, err, "name", "tag name taken, other case")
	_, err = ce.s.CreateTag(ctx, ce.admin, crm.TagInput{Name: ptr(""), Color: ptr("blau")}, m)
	coWantFields(t, err, "bad tag", "name", "color")
	if _, err := ce.s.CreateTag(ctx, ce.admin, crm.TagInput{Name: ptr("Ohne Farbe")}, m); err != nil {
		t.Errorf("tag without colour: %v", err)
	}

	// Records carry the tag in its stored spelling: a company, a trashed
	// company, a contact and a deal.
	live := ce.create(t, ce.admin, crm.CompanyInput{Name: ptr("Getaggt AG"), Tags: &[]string{"partner", "Nebenbei"}})
	if !slices.Equal(live.Tags, []string{"Partner", "Nebenbei"}) {
		t.Errorf("tags of a new company = %v", live.Tags)
	}
	trashed := ce.create(t, ce.admin, crm.CompanyInput{Name: ptr("Papierkorb AG"), Tags: &[]string{"Partner"}})
	if err := ce.s.DeleteCompany(ctx, ce.admin, trashed.ID, m); err != nil {
		t.Fatal(err)
	}
	contactID, dealID, pipeline, stage := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO contacts (tenant_id, id, last_name, tags) VALUES ($1, $2, 'Tag', '{Nebenbei,Partner}')`, []any{alpha, contactID}},
		{`INSERT INTO pipelines (tenant_id, id, name) VALUES ($1, $2, 'Tag-Pipeline')`, []any{alpha, pipeline}},
		{`INSERT INTO stages (tenant_id, id, pipeline_id, name, position) VALUES ($1, $2, $3, 'Neu', 1)`, []any{alpha, stage, pipeline}},
		{`INSERT INTO deals (tenant_id, id, title, pipeline_id, stage_id, tags) VALUES ($1, $2, 'Tag-Deal', $3, $4, '{Partner}')`,
			[]any{alpha, dealID, pipeline, stage}},
	} {
		if _, err := execIn(ce.e, alpha, q.sql, q.args...); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	if got := tagByName(t, ce, ce.sales, "Partner"); got == nil || got.Usage != 3 {
		t.Errorf("Partner as sales sees it (usage counts live company, contact, deal): %+v", got)
	}

	// Rename: every record follows, trashed ones too, with a new version.
	_, v0 := recordTags(t, ce, "companies", live.ID)
	_, err = ce.s.UpdateTag(ctx, ce.sales, tg.ID, crm.TagInput{Name: ptr("X")}, m)
	wantCode(t, err, rpcrm.EFORBIDDEN, "sales renames a tag")
	_, err = ce.s.UpdateTag(ctx, ce.admin, tg.ID, crm.TagInput{Name: ptr("nebenbei")}, m)
	wantConflictOn(t, err, "name", "rename to a taken name")
	_, err = ce.s.UpdateTag(ctx, ce.admin, tg.ID, crm.TagInput{Name: ptr("Y"), Version: 7}, m)
	wantCode(t, err, rpcrm.EPRECONDITION, "rename with a stale version")
	renamed, err := ce.s.UpdateTag(ctx, ce.admin, tg.ID, crm.TagInput{Name: ptr("Geschäftspartner"), Version: 1}, m)
	if err != nil || renamed.Name != "Geschäftspartner" || renamed.Color != "#1e88e5" || renamed.Version != 2 || renamed.Usage != 3 {
		t.Fatalf("rename: %+v, %v", renamed, err)
	}
	for _, r := range []struct {
		table string
		id    uuid.UUID
		want  []string
	}{
		{"companies", live.ID, []string{"Geschäftspartner", "Nebenbei"}},
		{"companies", trashed.ID, []string{"Geschäftspartner"}},
		{"contacts", contactID, []string{"Nebenbei", "Geschäftspartner"}},
		{"deals", dealID, []string{"Geschäftspartner"}},
	} {
		if got, _ := recordTags(t, ce, r.table, r.id); !slices.Equal(got, r.want) {
			t.Errorf("%s after rename: tags %v, want %v", r.table, got, r.want)
		}
	}
	if _, v1 := recordTags(t, ce, "companies", live.ID); v1 != v0+1 {
		t.Errorf("renaming a tag left the company's version at %d (was %d)", v1, v0)
	}
	l := auditList(t, ce.e, "alpha", audit.Filter{Action: "tag.update", EntityID: &tg.ID})
	if len(l) != 1 || l[0].Changes["name"].Before != "Partner" || l[0].Changes["name"].After != "Geschäftspartner" ||
		l[0].Details["records"] != float64(4) {
		t.Errorf("rename audit = %+v", l)
	}
	// Lists filter by the new name.
	pg, err := ce.s.ListCompanies(ctx, ce.admin, crm.CompanyFilter{ListParams: crm.ListParams{Tag: "Geschäftspartner"}})
	if err != nil || !slices.Equal(companyNames(pg.Items), []string{"Getaggt AG"}) {
		t.Errorf("list by the renamed tag: %v, %v", companyNames(pg.Items), err)
	}
	// A colour-only change touches no record.
	if _, err := ce.s.UpdateTag(ctx, ce.admin, tg.ID, crm.TagInput{Color: ptr("")}, m); err != nil {
		t.Fatal(err)
	}
	if _, v2 := recordTags(t, ce, "companies", live.ID); v2 != v0+1 {
		t.Errorf("a colour change bumped the company's version")
	}

	// Another tenant neither sees nor changes the tag.
	if got := tagByName(t, ce, ce.betaAdmin, "Geschäftspartner"); got != nil {
		t.Errorf("beta sees alpha's tag")
	}
	_, err = ce.s.UpdateTag(ctx, ce.betaAdmin, tg.ID, crm.TagInput{Name: ptr("Gekapert")}, m)
	wantCode(t, err, rpcrm.ENOTFOUND, "beta renames alpha's tag")
	wantCode(t, ce.s.DeleteTag(ctx, ce.betaAdmin, tg.ID, m), rpcrm.ENOTFOUND, "beta deletes alpha's tag")

	// Delete: gone from the list and from every record.
	wantCode(t, ce.s.DeleteTag(ctx, ce.sales, tg.ID, m), rpcrm.EFORBIDDEN, "sales deletes a tag")
	if err := ce.s.DeleteTag(ctx, ce.admin, tg.ID, m); err != nil {
		t.Fatal(err)
	}
	if tagByName(t, ce, ce.admin, "Geschäftspartner") != nil {
		t.Errorf("deleted tag still listed")
	}
	for _, r := range []struct {
		table string
		id    uuid.UUID
		want  []string
	}{
		{"companies", live.ID, []string{"Nebenbei"}},
		{"companies", trashed.ID, []string{}},
		{"contacts", contactID, []string{"Nebenbei"}},
		{"deals", dealID, []string{}},
	} {
		if got, _ := recordTags(t, ce, r.table, r.id); !slices.Equal(got, r.want) {
			t.Errorf("%s after delete: tags %v, want %v", r.table, got, r.want)
		}
	}
	if l := auditList(t, ce.e, "alpha", audit.Filter{Action: "tag.delete", EntityID: &tg.ID}); len(l) != 1 ||
		l[0].Changes["name"].Before != "Geschäftspartner" {
		t.Errorf("delete audit = %+v", l)
	}
	if l := auditList(t, ce.e, "alpha", audit.Filter{Action: "tag.create", EntityID: &tg.ID}); len(l) != 1 {
		t.Errorf("create audit = %+v", l)
	}
	wantCode(t, ce.s.DeleteTag(ctx, ce.admin, tg.ID, m), rpcrm.ENOTFOUND, "delete twice")
}

func testCustomFields(t *testing.T, ce *companyEnv) {
	ctx := context.Background()
	m := auth.LoginMeta{}
	def := func(key, typ string, required bool, options ...string) crm.CustomFieldInput {
		in := crm.CustomFieldInput{Entity: ptr(crm.EntityCompany), Key: ptr(key), Label: ptr("Feld " + key), Type: ptr(typ),
			Required: ptr(required)}
		if options != nil {
			in.Options = &options
		}
		return in
	}
	_, err := ce.s.CreateCustomField(ctx, ce.sales, def("x", "text", false), m)
	wantCode(t, err, rpcrm.EFORBIDDEN, "sales defines a field")
	ids := map[string]uuid.UUID{}
	for _, in := range []crm.CustomFieldInput{
		def("note", "text", true), def("size", "number", false), def("founded", "date", false), def("active", "bool", false),
		def("segment", "choice", false, "A", "B", "C"), def("regions", "multi", false, "ZH", "BE", "VD"),
	} {
		f, err := ce.s.CreateCustomField(ctx, ce.admin, in, m)
		if err != nil {
			t.Fatalf("define %s: %v", *in.Key, err)
		}
		ids[f.Key] = f.ID
	}
	_, err = ce.s.CreateCustomField(ctx, ce.admin, def("size", "text", false), m)
	wantConflictOn(t, err, "key", "key taken for the entity")
	contactSize := def("size", "number", false)
	contactSize.Entity = ptr(crm.EntityContact)
	cf, err := ce.s.CreateCustomField(ctx, ce.admin, contactSize, m)
	if err != nil {
		t.Errorf("same key for another entity: %v", err)
	}
	bad := def("Bad Key", "color", false)
	bad.Entity = ptr("invoice")
	_, err = ce.s.CreateCustomField(ctx, ce.admin, bad, m)
	coWantFields(t, err, "bad definition", "key", "type", "entity")
	_, err = ce.s.CreateCustomField(ctx, ce.admin, def("pick", "choice", false), m)
	coWantFields(t, err, "choice without options", "options")

	list, err := ce.s.CustomFields(ctx, ce.sales, crm.EntityCompany)
	if err != nil || len(list) != 6 {
		t.Fatalf("company fields: %d, %v", len(list), err)
	}
	if all, _ := ce.s.CustomFields(ctx, ce.sales, ""); len(all) != 7 {
		t.Errorf("all fields: %d, want 7", len(all))
	}
	_, err = ce.s.CustomFields(ctx, ce.sales, "invoice")
	coWantFields(t, err, "list for an unknown entity", "entity")
	if l, _ := ce.s.CustomFields(ctx, ce.betaAdmin, ""); len(l) != 0 {
		t.Errorf("beta sees alpha's fields: %d", len(l))
	}

	// Entity, key and type are fixed; the rest changes with a version check.
	_, err = ce.s.UpdateCustomField(ctx, ce.admin, ids["size"], crm.CustomFieldInput{Type: ptr("text")}, m)
	coWantFields(t, err, "change the type", "key")
	_, err = ce.s.UpdateCustomField(ctx, ce.admin, ids["size"], crm.CustomFieldInput{Label: ptr("Grösse"), Version: 3}, m)
	wantCode(t, err, rpcrm.EPRECONDITION, "stale field version")
	f, err := ce.s.UpdateCustomField(ctx, ce.admin, ids["size"], crm.CustomFieldInput{Label: ptr("Mitarbeitende"), Position: ptr(2), Version: 1}, m)
	if err != nil || f.Label != "Mitarbeitende" || f.Position != 2 || f.Version != 2 || f.Type != "number" {
		t.Errorf("update field: %+v, %v", f, err)
	}
	_, err = ce.s.UpdateCustomField(ctx, ce.betaAdmin, ids["size"], crm.CustomFieldInput{Label: ptr("X")}, m)
	wantCode(t, err, rpcrm.ENOTFOUND, "beta changes alpha's field")
	if l := auditList(t, ce.e, "alpha", audit.Filter{Action: "custom_field.update", EntityID: ptr(ids["size"])}); len(l) != 1 ||
		l[0].Changes["label"].After != "Mitarbeitende" {
		t.Errorf("field update audit = %+v", l)
	}

	// Company writes are checked against the definitions.
	for _, tc := range []struct {
		name   string
		custom crm.Custom
		field  string
	}{
		{"unknown key", crm.Custom{"note": "n", "x": 1.0}, "custom_fields.x"},
		{"required missing", crm.Custom{"size": 3.0}, "custom_fields.note"},
		{"number as text", crm.Custom{"note": "n", "size": "viele"}, "custom_fields.size"},
		{"bad date", crm.Custom{"note": "n", "founded": "31.12.1999"}, "custom_fields.founded"},
		{"bool as text", crm.Custom{"note": "n", "active": "ja"}, "custom_fields.active"},
		{"choice outside options", crm.Custom{"note": "n", "segment": "D"}, "custom_fields.segment"},
		{"multi outside options", crm.Custom{"note": "n", "regions": []any{"ZH", "TI"}}, "custom_fields.regions"},
		{"multi as text", crm.Custom{"note": "n", "regions": "ZH"}, "custom_fields.regions"},
	} {
		_, err := ce.s.CreateCompany(ctx, ce.admin, crm.CompanyInput{Name: ptr("Feld AG"), Custom: tc.custom}, m)
		coWantFields(t, err, tc.name, tc.field)
	}
	c := ce.create(t, ce.admin, crm.CompanyInput{Name: ptr("Feld AG"), Custom: crm.Custom{
		"note": " Notiz ", "size": 42.0, "founded": "1999-12-31", "active": true, "segment": "B", "regions": []any{"ZH", "VD", "ZH"}}})
	want := crm.Custom{"note": "Notiz", "size": 42.0, "founded": "1999-12-31", "active": true, "segment": "B", "regions": []any{"ZH", "VD"}}
	got, err := ce.s.Company(ctx, ce.admin, c.ID)
	if err != nil || !reflect.DeepEqual(got.Custom, want) {
		t.Errorf("custom fields read back: %#v, want %#v (%v)", got.Custom, want, err)
	}
	// A patch changes only the values it names; null clears one.
	u, err := ce.s.UpdateCompany(ctx, ce.admin, c.ID, crm.CompanyInput{Custom: crm.Custom{"size": nil, "segment": "C"}}, m)
	if err != nil || u.Custom["size"] != nil || u.Custom["segment"] != "C" || u.Custom["note"] != "Notiz" {
		t.Errorf("patch custom fields: %#v, %v", u.Custom, err)
	}
	_, err = ce.s.UpdateCompany(ctx, ce.admin, c.ID, crm.CompanyInput{Custom: crm.Custom{"note": nil}}, m)
	coWantFields(t, err, "clear a required field", "custom_fields.note")

	// Deleting a definition removes its values from every company.
	wantCode(t, ce.s.DeleteCustomField(ctx, ce.sales, ids["regions"], m), rpcrm.EFORBIDDEN, "sales deletes a field")
	if err := ce.s.DeleteCustomField(ctx, ce.admin, ids["regions"], m); err != nil {
		t.Fatal(err)
	}
	got, _ = ce.s.Company(ctx, ce.admin, c.ID)
	if _, ok := got.Custom["regions"]; ok || got.Version != u.Version+1 || got.Custom["segment"] != "C" {
		t.Errorf("after deleting the field: %#v, version %d", got.Custom, got.Version)
	}
	if l := auditList(t, ce.e, "alpha", audit.Filter{Action: "custom_field.delete", EntityID: ptr(ids["regions"])}); len(l) != 1 ||
		l[0].Details["records"] != float64(1) {
		t.Errorf("field delete audit = %+v", l)
	}
	// A field defined again under the same key starts empty.
	re, err := ce.s.CreateCustomField(ctx, ce.admin, def("regions", "text", false), m)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := ce.s.Company(ctx, ce.admin, c.ID); got.Custom["regions"] != nil {
		t.Errorf("re-created field inherited a value: %#v", got.Custom)
	}

	// Clean up: later tests create companies without the required field.
	for _, id := range []uuid.UUID{ids["note"], ids["size"], ids["founded"], ids["active"], ids["segment"], re.ID, cf.ID} {
		if err := ce.s.DeleteCustomField(ctx, ce.admin, id, m); err != nil {
			t.Fatal(err)
		}
	}
	if l, _ := ce.s.CustomFields(ctx, ce.admin, ""); len(l) != 0 {
		t.Errorf("fields left after deleting all: %d", len(l))
	}
	wantCode(t, ce.s.DeleteCustomField(ctx, ce.admin, ids["note"], m), rpcrm.ENOTFOUND, "delete a field twice")
}
