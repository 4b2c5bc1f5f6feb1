package crm

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rpcrm/rpcrm"
)

func TestParseAmount(t *testing.T) {
	ok := map[string]string{
		"12500":              "12500.00",
		"12500.5":            "12500.50",
		"12500.50":           "12500.50",
		"12'500.50":          "12500.50",
		"12’500.50":          "12500.50",
		"1'234'567":          "1234567.00",
		"0.10":               "0.10",
		"0.2":                "0.20",
		".5x":                "",
		"007":                "7.00",
		"0":                  "0.00",
		" 42 ":               "42.00",
		"999999999999.99":    "999999999999.99",
		"999'999'999'999.99": "999999999999.99",
	}
	for in, want := range ok {
		got, err := ParseAmount(in)
		if want == "" {
			if err == nil {
				t.Errorf("ParseAmount(%q) = %q, want error", in, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("ParseAmount(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "1.234", "1.", ".5", "-5", "+5", "1e3", "12,50", "1'25", "12''500", "'500",
		"1234'567", "1000000000000", "1'000'000'000'000", "12 500", "NaN", "0x10", "١٢"} {
		if got, err := ParseAmount(in); err == nil {
			t.Errorf("ParseAmount(%q) = %q, want error", in, got)
		}
	}
	if _, err := ParseAmount("1.234"); err == nil || !strings.Contains(err.Error(), "zwei Nachkommastellen") {
		t.Errorf("three decimals: %v", err)
	}
}

// TestDealInputJSON checks that amounts keep their text whether sent as a
// JSON string or number, and that references distinguish absent from null.
func TestDealInputJSON(t *testing.T) {
	var in DealInput
	id := uuid.New()
	if err := json.Unmarshal([]byte(`{"amount": 0.10, "company_id": null, "contact_id": "`+id.String()+`"}`), &in); err != nil {
		t.Fatal(err)
	}
	if in.Amount == nil || *in.Amount != "0.10" {
		t.Errorf("amount = %v, want the literal 0.10", in.Amount)
	}
	if !in.CompanyID.Set || in.CompanyID.ID != nil {
		t.Errorf("company_id null: %+v", in.CompanyID)
	}
	if !in.ContactID.Set || in.ContactID.ID == nil || *in.ContactID.ID != id {
		t.Errorf("contact_id: %+v", in.ContactID)
	}
	var in2 DealInput
	if err := json.Unmarshal([]byte(`{"amount": "12'500.50"}`), &in2); err != nil {
		t.Fatal(err)
	}
	if in2.CompanyID.Set || in2.ContactID.Set {
		t.Errorf("absent references count as set: %+v %+v", in2.CompanyID, in2.ContactID)
	}
	for _, bad := range []string{`{"amount": true}`, `{"amount": {}}`, `{"company_id": "nope"}`, `{"company_id": 5}`} {
		var x DealInput
		err := json.Unmarshal([]byte(bad), &x)
		var te *json.UnmarshalTypeError
		if err == nil || !asTypeErr(err, &te) {
			t.Errorf("%s: err = %v, want a type error", bad, err)
		}
	}
}

func asTypeErr(err error, te **json.UnmarshalTypeError) bool {
	e, ok := err.(*json.UnmarshalTypeError)
	*te = e
	return ok
}

func fields(err error) map[string]string {
	if e, ok := err.(*rpcrm.Error); ok {
		return e.Fields
	}
	return nil
}

func TestDealInputApply(t *testing.T) {
	s := func(v string) *string { return &v }
	n := func(v int) *int { return &v }
	amt := func(v string) *DecimalText { d := DecimalText(v); return &d }
	long := strings.Repeat("x", 201)
	cases := []struct {
		name  string
		in    DealInput
		field string
	}{
		{"title missing", DealInput{}, "title"},
		{"title blank", DealInput{Title: s("   ")}, "title"},
		{"title too long", DealInput{Title: &long}, "title"},
		{"amount three decimals", DealInput{Title: s("x"), Amount: amt("1.234")}, "amount"},
		{"amount negative", DealInput{Title: s("x"), Amount: amt("-1")}, "amount"},
		{"amount too big", DealInput{Title: s("x"), Amount: amt("1234567890123")}, "amount"},
		{"currency", DealInput{Title: s("x"), Currency: s("Franken")}, "currency"},
		{"currency digits", DealInput{Title: s("x"), Currency: s("C1F")}, "currency"},
		{"expected_close", DealInput{Title: s("x"), ExpectedClose: s("31.12.2026")}, "expected_close"},
		{"expected_close impossible", DealInput{Title: s("x"), ExpectedClose: s("2026-02-30")}, "expected_close"},
		{"probability high", DealInput{Title: s("x"), Probability: n(101)}, "probability"},
		{"probability negative", DealInput{Title: s("x"), Probability: n(-1)}, "probability"},
		{"lost_reason", DealInput{Title: s("x"), LostReason: s(strings.Repeat("y", 501))}, "lost_reason"},
		{"tags", DealInput{Title: s("x"), Tags: &[]string{strings.Repeat("t", 51)}}, "tags"},
	}
	for _, c := range cases {
		d := &Deal{}
		err := c.in.Apply(d)
		if _, ok := fields(err)[c.field]; !ok {
			t.Errorf("%s: err = %v, want field %s", c.name, err, c.field)
		}
	}

	d := &Deal{}
	in := DealInput{Title: s("  Offerte Zürich "), Amount: amt("12'500.5"), Currency: s("eur"),
		ExpectedClose: s("2026-12-31"), Probability: n(40), Tags: &[]string{"A", "a", " b "}}
	if err := in.Apply(d); err != nil {
		t.Fatal(err)
	}
	if d.Title != "Offerte Zürich" || *d.Amount != "12500.50" || d.Currency != "EUR" || *d.ExpectedClose != "2026-12-31" ||
		d.Probability != 40 || strings.Join(d.Tags, ",") != "A,b" {
		t.Errorf("applied: %+v", d)
	}
	// Clearing: empty amount and date remove them; the currency defaults to CHF.
	clear := DealInput{Amount: amt(""), ExpectedClose: s(""), Currency: s("")}
	if err := clear.Apply(d); err != nil {
		t.Fatal(err)
	}
	if d.Amount != nil || d.ExpectedClose != nil || d.Currency != "CHF" {
		t.Errorf("cleared: amount %v, close %v, currency %q", d.Amount, d.ExpectedClose, d.Currency)
	}
}

func TestEnterStage(t *testing.T) {
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	later := now.Add(time.Hour)
	open := &Stage{Kind: StageOpen, Probability: 50}
	won := &Stage{Kind: StageWon, Probability: 100}
	lost := &Stage{Kind: StageLost, Probability: 0}

	d := &Deal{Probability: 10}
	if err := d.EnterStage(won, true, false, now); err != nil {
		t.Fatal(err)
	}
	if d.WonAt == nil || !d.WonAt.Equal(now) || d.LostAt != nil || d.Probability != 100 || !d.StageChangedAt.Equal(now) || d.Status != StageWon {
		t.Errorf("won: %+v", d)
	}
	// Staying won keeps the original time.
	if err := d.EnterStage(won, false, false, later); err != nil || !d.WonAt.Equal(now) || !d.StageChangedAt.Equal(now) {
		t.Errorf("still won: %+v %v", d, err)
	}
	// Lost needs a reason.
	err := d.EnterStage(lost, true, false, later)
	if _, ok := fields(err)["lost_reason"]; !ok {
		t.Fatalf("lost without reason: %v", err)
	}
	d.LostReason = "Zu teuer"
	if err := d.EnterStage(lost, true, false, later); err != nil {
		t.Fatal(err)
	}
	if d.WonAt != nil || d.LostAt == nil || !d.LostAt.Equal(later) || d.LostReason != "Zu teuer" || d.Probability != 0 {
		t.Errorf("lost: %+v", d)
	}
	// Back to open clears both; an explicit probability wins over the stage's.
	d.Probability = 65
	if err := d.EnterStage(open, true, true, later); err != nil {
		t.Fatal(err)
	}
	if d.WonAt != nil || d.LostAt != nil || d.LostReason != "" || d.Probability != 65 || d.Status != StageOpen {
		t.Errorf("reopened: %+v", d)
	}
}

func TestPipelineInputApply(t *testing.T) {
	s := func(v string) *string { return &v }
	n := func(v int) *int { return &v }
	cases := []struct {
		in     PipelineInput
		create bool
		field  string
	}{
		{PipelineInput{}, true, "name"},
		{PipelineInput{Name: s(strings.Repeat("p", 101))}, true, "name"},
		{PipelineInput{Name: s("P"), Stages: []StageInput{}}, true, "stages"},
		{PipelineInput{Name: s("P"), Stages: []StageInput{{Name: s("A")}, {Name: s("a")}}}, true, "stages[1].name"},
		{PipelineInput{Name: s("P"), Stages: []StageInput{{Name: s("A"), Kind: s("done")}}}, true, "stages[0].kind"},
		{PipelineInput{Name: s("P"), Stages: []StageInput{{Name: s("A"), Probability: n(120)}}}, true, "stages[0].probability"},
		{PipelineInput{Name: s("P"), Stages: []StageInput{{Name: s("A")}}}, false, "stages"},
		{PipelineInput{Name: s("P"), Position: n(-1)}, true, "position"},
	}
	for i, c := range cases {
		pl := &Pipeline{}
		err := c.in.Apply(pl, c.create)
		if _, ok := fields(err)[c.field]; !ok {
			t.Errorf("case %d: err = %v, want field %s", i, err, c.field)
		}
	}
	st := &Stage{}
	if err := (&StageInput{Name: s("Abschluss"), Kind: s("won")}).Apply(st); err != nil || st.Probability != 100 {
		t.Errorf("won stage default probability: %+v %v", st, err)
	}
	st = &Stage{}
	if err := (&StageInput{Name: s("Neu")}).Apply(st); err != nil || st.Kind != StageOpen || st.Probability != 0 {
		t.Errorf("open stage defaults: %+v %v", st, err)
	}
}
