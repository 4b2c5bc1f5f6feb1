package crm

import (
	"errors"
	"strings"
	"testing"

	"github.com/rpcrm/rpcrm"
)

func TestTagInputApply(t *testing.T) {
	s := func(v string) *string { return &v }
	tg := &Tag{}
	if err := (&TagInput{Name: s("  Messe "), Color: s(" #A1B2C3 ")}).Apply(tg); err != nil || tg.Name != "Messe" || tg.Color != "#a1b2c3" {
		t.Errorf("apply: %+v, %v", tg, err)
	}
	// A patch keeps what it does not name; "" removes the colour.
	if err := (&TagInput{Color: s("")}).Apply(tg); err != nil || tg.Name != "Messe" || tg.Color != "" {
		t.Errorf("patch: %+v, %v", tg, err)
	}
	for _, tc := range []struct {
		in    TagInput
		field string
	}{
		{TagInput{Name: s(" ")}, "name"},
		{TagInput{Name: s(strings.Repeat("x", 51))}, "name"},
		{TagInput{Name: s("x"), Color: s("red")}, "color"},
		{TagInput{Name: s("x"), Color: s("#12345")}, "color"},
		{TagInput{Name: s("x"), Color: s("#12345g")}, "color"},
	} {
		err := tc.in.Apply(&Tag{})
		var re *rpcrm.Error
		if !errors.As(err, &re) || re.Fields[tc.field] == "" {
			t.Errorf("%+v: want an error on %s, got %v", tc.in, tc.field, err)
		}
	}
}
