package crm

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm"
)

func TestActivityInputJSON(t *testing.T) {
	var in ActivityInput
	id := uuid.NewString()
	if err := json.Unmarshal([]byte(`{"due_at": null, "company_id": "`+id+`", "deal_id": ""}`), &in); err != nil {
		t.Fatal(err)
	}
	if !in.DueAt.Set || !in.DueAt.Null || !in.CompanyID.Set || in.CompanyID.Value != id || in.ContactID.Set || !in.DealID.Set {
		t.Errorf("decoded %+v", in)
	}
	var typeErr *json.UnmarshalTypeError
	err := json.Unmarshal([]byte(`{"due_at": 5}`), &in)
	if !errors.As(err, &typeErr) || typeErr.Field != "due_at" {
		t.Errorf("number for due_at: %v", err)
	}
}

func TestActivityApply(t *testing.T) {
	company, other := uuid.New(), uuid.New()
	due := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	a := &Activity{Kind: KindTask, Subject: "Alt", BodyFormat: FormatText, CompanyID: &company, DueAt: &due}

	// Absent fields stay, null clears, values set.
	now := time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)
	in := ActivityInput{Subject: actPtr(" Neu "), DueAt: Clearable{Set: true, Null: true},
		DealID: Clearable{Set: true, Value: other.String()}, Done: actPtr(true), Now: now}
	if err := in.Apply(a); err != nil {
		t.Fatal(err)
	}
	if a.Subject != "Neu" || a.DueAt != nil || a.CompanyID == nil || *a.CompanyID != company || a.DealID == nil || *a.DealID != other ||
		a.DoneAt == nil || !a.DoneAt.Equal(now) {
		t.Errorf("applied: %+v", a)
	}
	// Done again keeps the first time; done=false reopens.
	in = ActivityInput{Done: actPtr(true), Now: now.Add(time.Hour)}
	if err := in.Apply(a); err != nil || !a.DoneAt.Equal(now) {
		t.Errorf("done again: %v %v", err, a.DoneAt)
	}
	in = ActivityInput{Done: actPtr(false)}
	if err := in.Apply(a); err != nil || a.DoneAt != nil {
		t.Errorf("undone: %v %v", err, a.DoneAt)
	}

	// The whole record is validated, and every bad field is named.
	in = ActivityInput{Kind: actPtr("Fax"), Subject: actPtr(""), BodyFormat: actPtr("rtf"), DueAt: Clearable{Set: true, Value: "1.5.2026"},
		AssigneeID: Clearable{Set: true, Value: "x"}, ContactID: Clearable{Set: true, Value: uuid.Nil.String()}}
	err := in.Apply(&Activity{})
	e, ok := err.(*rpcrm.Error)
	if !ok {
		t.Fatalf("error %v", err)
	}
	for _, f := range []string{"kind", "subject", "body_format", "due_at", "assignee_id", "contact_id"} {
		if _, ok := e.Fields[f]; !ok {
			t.Errorf("%s not named in %v", f, e.Fields)
		}
	}
	if err := (&ActivityInput{Kind: actPtr("note"), Subject: actPtr("x")}).Apply(&Activity{}); err != nil {
		t.Errorf("minimal note: %v", err)
	}
}

func actPtr[T any](v T) *T { return &v }
