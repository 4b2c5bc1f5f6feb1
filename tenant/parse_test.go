package tenant

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tenantA and tenantB are valid tenants; cases change one thing at a time.
const (
	tenantA = `{"id": "a", "name": "A AG", "hosts": ["a.example.ch"]}`
	tenantB = `{"id": "b", "name": "B GmbH", "hosts": ["b.example.ch"]}`
)

// doc wraps tenant objects into a tenants.json document.
func doc(tenants ...string) string {
	return `{"tenants": [` + strings.Join(tenants, ", ") + `]}`
}

// withHost is tenantA with a single host h (JSON-quoted here).
func withHost(h string) string {
	return doc(fmt.Sprintf(`{"id": "a", "name": "A", "hosts": [%q]}`, h))
}

// withField is tenantA with one more member, written as raw JSON.
func withField(member string) string {
	return doc(`{"id": "a", "name": "A", "hosts": ["a.example.ch"], ` + member + `}`)
}

type wantProblem struct {
	path string
	msg  string // substring of Message
}

func TestParseProblems(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		name string
		in   string
		want []wantProblem
	}{
		// File level.
		{"empty file", "", []wantProblem{{"", "the file is empty"}}},
		{"whitespace only", " \n\t", []wantProblem{{"", "the file is empty"}}},
		{"syntax error", `{"tenants": [` + tenantA + `,]}`, []wantProblem{{"", "invalid JSON: invalid character ']'"}}},
		{"truncated", `{"tenants": [`, []wantProblem{{"", "unexpected end of JSON input"}}},
		{"trailing object", doc(tenantA) + ` {}`, []wantProblem{{"", "after top-level value"}}},
		{"trailing garbage", doc(tenantA) + `x`, []wantProblem{{"", "after top-level value"}}},
		{"top level array", `[` + tenantA + `]`, []wantProblem{{"", "must contain a JSON object"}}},
		{"top level null", `null`, []wantProblem{{"", "must contain a JSON object"}}},
		{"empty object", `{}`, []wantProblem{{"tenants", "no tenants defined"}}},
		{"empty list", `{"tenants": []}`, []wantProblem{{"tenants", "no tenants defined"}}},
		{"null list", `{"tenants": null}`, []wantProblem{{"tenants", "no tenants defined"}}},
		{"tenants not array", `{"tenants": {}}`, []wantProblem{{"tenants", "must be an array of tenant objects, not an object"}}},
		{"unknown top-level field", `{"version": 2, "tenants": [` + tenantA + `]}`, []wantProblem{{"version", `unknown field "version"`}}},
		{"duplicate top-level field", `{"tenants": [` + tenantA + `], "tenants": []}`, []wantProblem{{"tenants", `duplicate field "tenants"`}}},
		{"tenant not object", doc(tenantA, `"b"`), []wantProblem{{"tenants[1]", "must be a tenant object, not a string"}}},
		{"tenant null", doc(`null`, tenantA), []wantProblem{{"tenants[0]", "must be a tenant object, not null"}}},
		{"unknown tenant field", withField(`"hostname": "x"`), []wantProblem{{"tenants[0].hostname", `unknown field "hostname"`}}},
		{"field name case", withField(`"Locale": "de-CH"`), []wantProblem{{"tenants[0].Locale", `did you mean "locale"?`}}},
		{"duplicate tenant field", withField(`"id": "c"`), []wantProblem{{"tenants[0].id", `duplicate field "id"`}}},

		// id
		{"id missing", doc(`{"name": "A", "hosts": ["a.ch"]}`), []wantProblem{{"tenants[0].id", "required"}}},
		{"id empty", doc(`{"id": "", "name": "A", "hosts": ["a.ch"]}`), []wantProblem{{"tenants[0].id", "required"}}},
		{"id null", doc(`{"id": null, "name": "A", "hosts": ["a.ch"]}`), []wantProblem{{"tenants[0].id", "required"}}},
		{"id number", doc(`{"id": 1, "name": "A", "hosts": ["a.ch"]}`), []wantProblem{{"tenants[0].id", "must be a string, not a number"}}},
		{"id upper case", doc(`{"id": "Mandant1", "name": "A", "hosts": ["a.ch"]}`), []wantProblem{{"tenants[0].id", "lower-case letters a-z, digits and hyphens"}}},
		{"id underscore", doc(`{"id": "man_dant", "name": "A", "hosts": ["a.ch"]}`), []wantProblem{{"tenants[0].id", "not a valid id"}}},
		{"id leading hyphen", doc(`{"id": "-a", "name": "A", "hosts": ["a.ch"]}`), []wantProblem{{"tenants[0].id", "not a valid id"}}},
		{"id trailing hyphen", doc(`{"id": "a-", "name": "A", "hosts": ["a.ch"]}`), []wantProblem{{"tenants[0].id", "not a valid id"}}},
		{"id space", doc(`{"id": " a", "name": "A", "hosts": ["a.ch"]}`), []wantProblem{{"tenants[0].id", "not a valid id"}}},
		{"id too long", doc(`{"id": "` + long(64) + `", "name": "A", "hosts": ["a.ch"]}`), []wantProblem{{"tenants[0].id", "1 to 63"}}},
		{"duplicate id", doc(tenantA, tenantB, `{"id": "a", "name": "C", "hosts": ["c.ch"]}`), []wantProblem{{"tenants[2].id", `duplicate id "a" (already used by tenants[0])`}}},

		// name
		{"name missing", doc(`{"id": "a", "hosts": ["a.ch"]}`), []wantProblem{{"tenants[0].name", "required"}}},
		{"name blank", doc(`{"id": "a", "name": "  ", "hosts": ["a.ch"]}`), []wantProblem{{"tenants[0].name", "required"}}},
		{"name array", doc(`{"id": "a", "name": ["A"], "hosts": ["a.ch"]}`), []wantProblem{{"tenants[0].name", "must be a string, not an array"}}},
		{"name too long", doc(`{"id": "a", "name": "` + strings.Repeat("ä", 201) + `", "hosts": ["a.ch"]}`), []wantProblem{{"tenants[0].name", "too long: 201 characters, at most 200"}}},
		{"name line break", doc(`{"id": "a", "name": "A\nB", "hosts": ["a.ch"]}`), []wantProblem{{"tenants[0].name", "control characters"}}},

		// hosts
		{"hosts missing", doc(`{"id": "a", "name": "A"}`), []wantProblem{{"tenants[0].hosts", "at least one host name is required"}}},
		{"hosts empty", doc(`{"id": "a", "name": "A", "hosts": []}`), []wantProblem{{"tenants[0].hosts", "at least one host name is required"}}},
		{"hosts null", doc(`{"id": "a", "name": "A", "hosts": null}`), []wantProblem{{"tenants[0].hosts", "at least one host name is required"}}},
		{"hosts string", doc(`{"id": "a", "name": "A", "hosts": "a.ch"}`), []wantProblem{{"tenants[0].hosts", "must be an array of host names, not a string"}}},
		{"host number", doc(`{"id": "a", "name": "A", "hosts": ["a.ch", 1]}`), []wantProblem{{"tenants[0].hosts[1]", "must be a string, not a number"}}},
		{"host null", doc(`{"id": "a", "name": "A", "hosts": [null]}`), []wantProblem{{"tenants[0].hosts[0]", "must be a string, not null"}}},
		{"host empty", withHost(""), []wantProblem{{"tenants[0].hosts[0]", "must not be empty"}}},
		{"host with scheme", withHost("https://a.ch"), []wantProblem{{"tenants[0].hosts[0]", "without scheme"}}},
		{"host with path", withHost("a.ch/crm"), []wantProblem{{"tenants[0].hosts[0]", "without path"}}},
		{"host with port", withHost("a.ch:8443"), []wantProblem{{"tenants[0].hosts[0]", "without port"}}},
		{"host wildcard", withHost("*.a.ch"), []wantProblem{{"tenants[0].hosts[0]", "wildcards are not supported"}}},
		{"host IPv4", withHost("192.0.2.1"), []wantProblem{{"tenants[0].hosts[0]", "IP addresses are not allowed"}}},
		{"host IPv6", withHost("2001:db8::1"), []wantProblem{{"tenants[0].hosts[0]", "IP addresses are not allowed"}}},
		{"host bracketed IPv6", withHost("[::1]"), []wantProblem{{"tenants[0].hosts[0]", "IP addresses are not allowed"}}},
		{"host non-ASCII", withHost("müller.ch"), []wantProblem{{"tenants[0].hosts[0]", "punycode"}}},
		{"host empty label", withHost("a..ch"), []wantProblem{{"tenants[0].hosts[0]", "empty label"}}},
		{"host leading dot", withHost(".a.ch"), []wantProblem{{"tenants[0].hosts[0]", "empty label"}}},
		{"host two trailing dots", withHost("a.ch.."), []wantProblem{{"tenants[0].hosts[0]", "empty label"}}},
		{"host only dot", withHost("."), []wantProblem{{"tenants[0].hosts[0]", "empty label"}}},
		{"host label too long", withHost(long(64) + ".ch"), []wantProblem{{"tenants[0].hosts[0]", "is 64 characters long, at most 63"}}},
		{"host too long", withHost(strings.Repeat(long(62)+".", 4) + "ch"), []wantProblem{{"tenants[0].hosts[0]", "too long: 254 characters, at most 253"}}},
		{"host label hyphen start", withHost("-a.ch"), []wantProblem{{"tenants[0].hosts[0]", `label "-a" must not start or end with a hyphen`}}},
		{"host label hyphen end", withHost("a-.ch"), []wantProblem{{"tenants[0].hosts[0]", `label "a-" must not start or end with a hyphen`}}},
		{"host underscore", withHost("a_b.ch"), []wantProblem{{"tenants[0].hosts[0]", `invalid character '_'`}}},
		{"host space", withHost("a.ch "), []wantProblem{{"tenants[0].hosts[0]", `invalid character ' '`}}},
		{"host numeric TLD", withHost("a.123"), []wantProblem{{"tenants[0].hosts[0]", "must not be all digits"}}},
		{"host duplicate in tenant", doc(`{"id": "a", "name": "A", "hosts": ["a.ch", "A.CH."]}`), []wantProblem{{"tenants[0].hosts[1]", `duplicate host "a.ch" (already listed at tenants[0].hosts[0])`}}},
		{"host duplicate across tenants", doc(tenantA, tenantB, `{"id": "c", "name": "C", "hosts": ["c.ch", "B.example.ch"]}`), []wantProblem{{"tenants[2].hosts[1]", `host "b.example.ch" of tenant "c" is already used by tenant "b" (tenants[1].hosts[0])`}}},

		// locale, currency, timezone, active
		{"locale unsupported", withField(`"locale": "de-LI"`), []wantProblem{{"tenants[0].locale", `unsupported locale "de-LI": must be one of de-CH, de-DE, de-AT, fr-CH, it-CH, en-GB, en-US`}}},
		{"locale empty", withField(`"locale": ""`), []wantProblem{{"tenants[0].locale", `unsupported locale ""`}}},
		{"locale underscore", withField(`"locale": "de_CH"`), []wantProblem{{"tenants[0].locale", `unsupported locale "de_CH"`}}},
		{"locale bool", withField(`"locale": true`), []wantProblem{{"tenants[0].locale", "must be a string, not a boolean"}}},
		{"currency lower case", withField(`"currency": "chf"`), []wantProblem{{"tenants[0].currency", "three upper-case letters"}}},
		{"currency too long", withField(`"currency": "CHFX"`), []wantProblem{{"tenants[0].currency", "three upper-case letters"}}},
		{"currency empty", withField(`"currency": ""`), []wantProblem{{"tenants[0].currency", "three upper-case letters"}}},
		{"currency unsupported", withField(`"currency": "JPY"`), []wantProblem{{"tenants[0].currency", `unsupported currency "JPY": must be one of CHF, EUR, USD, GBP`}}},
		{"timezone unknown", withField(`"timezone": "Europe/Zurch"`), []wantProblem{{"tenants[0].timezone", `unknown time zone "Europe/Zurch"`}}},
		{"timezone empty", withField(`"timezone": ""`), []wantProblem{{"tenants[0].timezone", `"" is not a time zone`}}},
		{"timezone Local", withField(`"timezone": "Local"`), []wantProblem{{"tenants[0].timezone", `"Local" is not a time zone`}}},
		{"timezone path", withField(`"timezone": "../etc/passwd"`), []wantProblem{{"tenants[0].timezone", "unknown time zone"}}},
		{"timezone number", withField(`"timezone": 1`), []wantProblem{{"tenants[0].timezone", "must be a string, not a number"}}},
		{"active string", withField(`"active": "yes"`), []wantProblem{{"tenants[0].active", "must be true or false, not a string"}}},

		// All problems are collected, in file order.
		{"several problems", doc(
			`{"id": "A", "name": "A", "hosts": ["a.ch"], "currency": "EURO"}`,
			`{"id": "b", "name": "", "hosts": ["https://b.ch"], "extra": 1}`,
		), []wantProblem{
			{"tenants[0].id", "not a valid id"},
			{"tenants[0].currency", "three upper-case letters"},
			{"tenants[1].name", "required"},
			{"tenants[1].hosts[0]", "without scheme"},
			{"tenants[1].extra", "unknown field"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse([]byte(tt.in))
			if err == nil {
				t.Fatalf("Parse succeeded with %d tenants, want problems %v", len(s.All()), tt.want)
			}
			if s != nil {
				t.Errorf("Parse returned a set along with an error")
			}
			ve, ok := errors.AsType[*ValidationError](err)
			if !ok {
				t.Fatalf("error is %T, want *ValidationError: %v", err, err)
			}
			if len(ve.Problems) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(ve.Problems), len(tt.want), err)
			}
			for i, w := range tt.want {
				got := ve.Problems[i]
				if got.Path != w.path || !strings.Contains(got.Message, w.msg) {
					t.Errorf("problem %d = %q: %q, want %q: ...%q...", i, got.Path, got.Message, w.path, w.msg)
				}
			}
		})
	}
}

func TestParseProblemPositions(t *testing.T) {
	in := "{\"tenants\": [\n" +
		"  {\"id\": \"a\", \"name\": \"Zürich AG\", \"hosts\": [\"a.ch\", \"b_c.ch\"]},\n" +
		"  {\"name\": \"B\", \"hosts\": [\"b.ch\"], \"active\": 1}\n" +
		"]}"
	_, err := Parse([]byte(in))
	ve, ok := errors.AsType[*ValidationError](err)
	if !ok {
		t.Fatalf("Parse error = %v, want *ValidationError", err)
	}
	want := []Problem{
		{Path: "tenants[0].hosts[1]", Line: 2, Column: 54},
		{Path: "tenants[1].id", Line: 3, Column: 3}, // missing: points at the object
		{Path: "tenants[1].active", Line: 3, Column: 46},
	}
	if len(ve.Problems) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(ve.Problems), len(want), err)
	}
	for i, w := range want {
		g := ve.Problems[i]
		if g.Path != w.Path || g.Line != w.Line || g.Column != w.Column {
			t.Errorf("problem %d at %s line %d column %d, want %s line %d column %d", i, g.Path, g.Line, g.Column, w.Path, w.Line, w.Column)
		}
	}
}

func TestParseSyntaxErrorPosition(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		line, col int
	}{
		{"trailing comma", "{\"tenants\": [\n  {\"id\": \"a\",}\n]}", 2, 14},
		{"truncated", "{\"tenants\": [\n", 2, 1},
		{"after value", "{\"tenants\": []}\n\n  x", 3, 3},
		{"column counts characters", "{\"tenants\": [{\"name\": \"ä\" \"id\"", 1, 27},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in))
			ve, ok := errors.AsType[*ValidationError](err)
			if !ok || len(ve.Problems) != 1 {
				t.Fatalf("Parse error = %v, want one problem", err)
			}
			p := ve.Problems[0]
			if p.Line != tt.line || p.Column != tt.col {
				t.Errorf("at line %d column %d, want line %d column %d (%s)", p.Line, p.Column, tt.line, tt.col, p.Message)
			}
		})
	}
}

func TestParseDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Tenant
	}{
		{"omitted", doc(`{"id": "a", "name": " A AG ", "hosts": ["A.Example.CH."]}`),
			Tenant{ID: "a", Name: "A AG", Hosts: []string{"a.example.ch"}, Locale: "de-CH", Currency: "CHF", Timezone: "Europe/Zurich", Active: true}},
		{"null", doc(`{"id": "a", "name": "A AG", "hosts": ["a.example.ch"], "locale": null, "currency": null, "timezone": null, "active": null}`),
			Tenant{ID: "a", Name: "A AG", Hosts: []string{"a.example.ch"}, Locale: "de-CH", Currency: "CHF", Timezone: "Europe/Zurich", Active: true}},
		{"explicit", doc(`{"id": "x-1", "name": "X", "hosts": ["x.example.com", "www.x.example.com"], "locale": "en-gb", "currency": "GBP", "timezone": "Europe/London", "active": false}`),
			Tenant{ID: "x-1", Name: "X", Hosts: []string{"x.example.com", "www.x.example.com"}, Locale: "en-GB", Currency: "GBP", Timezone: "Europe/London", Active: false}},
		{"byte order mark", "\xef\xbb\xbf" + doc(tenantA),
			Tenant{ID: "a", Name: "A AG", Hosts: []string{"a.example.ch"}, Locale: "de-CH", Currency: "CHF", Timezone: "Europe/Zurich", Active: true}},
		{"limits", doc(`{"id": "` + strings.Repeat("a", 63) + `", "name": "` + strings.Repeat("n", 200) + `", "hosts": ["` + strings.Repeat(strings.Repeat("b", 63)+".", 3) + strings.Repeat("c", 61) + `"]}`),
			Tenant{ID: strings.Repeat("a", 63), Name: strings.Repeat("n", 200), Hosts: []string{strings.Repeat(strings.Repeat("b", 63)+".", 3) + strings.Repeat("c", 61)}, Locale: "de-CH", Currency: "CHF", Timezone: "Europe/Zurich", Active: true}},
		{"single letter labels", doc(`{"id": "0", "name": "N", "hosts": ["localhost", "a.b.c", "xn--mller-kva.ch", "1.example.ch"]}`),
			Tenant{ID: "0", Name: "N", Hosts: []string{"localhost", "a.b.c", "xn--mller-kva.ch", "1.example.ch"}, Locale: "de-CH", Currency: "CHF", Timezone: "Europe/Zurich", Active: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			all := s.All()
			if len(all) != 1 {
				t.Fatalf("got %d tenants, want 1", len(all))
			}
			got := all[0]
			if got.ID != tt.want.ID || got.Name != tt.want.Name || strings.Join(got.Hosts, " ") != strings.Join(tt.want.Hosts, " ") ||
				got.Locale != tt.want.Locale || got.Currency != tt.want.Currency || got.Timezone != tt.want.Timezone || got.Active != tt.want.Active {
				t.Errorf("got  %+v\nwant %+v", *got, tt.want)
			}
			if loc := got.Location(); loc.String() != tt.want.Timezone {
				t.Errorf("Location() = %v, want %s", loc, tt.want.Timezone)
			}
		})
	}
}

func TestValidationErrorMessage(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tenants.json")
	if err := os.WriteFile(path, []byte(doc(`{"id": "A", "hosts": ["a.ch"]}`)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadFile(path)
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 3 {
		t.Fatalf("Error() has %d lines, want summary plus one per problem:\n%v", len(lines), err)
	}
	if lines[0] != "invalid tenant configuration in "+path+" (2 problems):" {
		t.Errorf("summary line = %q", lines[0])
	}
	// The missing name points at the tenant object, which comes first.
	if lines[1] != "  tenants[0].name (line 1, column 14): required" || !strings.HasPrefix(lines[2], `  tenants[0].id (line 1, column 21): "A" is not a valid id`) {
		t.Errorf("problem lines = %q", lines[1:])
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	if err := os.WriteFile(good, []byte(doc(tenantA, tenantB)), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := LoadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s.All()); n != 2 {
		t.Errorf("got %d tenants, want 2", n)
	}

	_, err = LoadFile(filepath.Join(dir, "missing.json"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: error = %v, want fs.ErrNotExist", err)
	}
	if _, ok := errors.AsType[*ValidationError](err); ok {
		t.Errorf("missing file reported as *ValidationError")
	}

	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = LoadFile(bad)
	if ve, ok := errors.AsType[*ValidationError](err); !ok || ve.File != bad {
		t.Errorf("bad file: error = %#v, want *ValidationError with File %q", err, bad)
	}
}
