package audit

import (
	"reflect"
	"testing"
)

func TestDiff(t *testing.T) {
	before := map[string]any{"name": "Anna", "roles": []string{"Administrator"}, "locale": "de-CH", "gone": 1}
	after := map[string]any{"name": "Anna Muster", "roles": []any{"Administrator"}, "locale": "de-CH", "new": true}
	got := Diff(before, after)
	want := map[string]Change{
		"name": {Before: "Anna", After: "Anna Muster"},
		"gone": {Before: 1, After: nil},
		"new":  {Before: nil, After: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Diff = %#v\nwant %#v", got, want)
	}
	if d := Diff(nil, map[string]any{"a": 1}); len(d) != 1 || d["a"].After != 1 {
		t.Fatalf("Diff from nothing = %#v", d)
	}
	if d := Diff(map[string]any{"a": 1}, nil); len(d) != 1 || d["a"].Before != 1 || d["a"].After != nil {
		t.Fatalf("Diff to nothing = %#v", d)
	}
}
