package tenant

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"unicode/utf8"
)

// Problem is one thing wrong with a tenants.json file.
type Problem struct {
	// Path locates the value, e.g. "tenants[1].hosts[0]"; empty for the
	// file as a whole (e.g. a syntax error).
	Path string
	// Message says what is wrong and, where possible, what is allowed.
	Message string
	// Line and Column (1-based, column in characters) point into the file;
	// a missing field points at its tenant object. Both are 0 when there
	// is no place to point at (empty file, "no tenants defined").
	Line, Column int
}

// String formats the problem as "path (line L, column C): message",
// leaving out what is unknown.
func (p Problem) String() string {
	switch {
	case p.Path == "" && p.Line == 0:
		return p.Message
	case p.Path == "":
		return fmt.Sprintf("line %d, column %d: %s", p.Line, p.Column, p.Message)
	case p.Line == 0:
		return p.Path + ": " + p.Message
	}
	return fmt.Sprintf("%s (line %d, column %d): %s", p.Path, p.Line, p.Column, p.Message)
}

// ValidationError reports every problem found in a tenants.json file, so that
// the operator can fix them all in one go.
type ValidationError struct {
	// File is the path given to LoadFile; empty for Parse.
	File     string
	Problems []Problem
}

// Error lists the problems one per line after a summary line.
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("invalid tenant configuration")
	if e.File != "" {
		fmt.Fprintf(&b, " in %s", e.File)
	}
	if n := len(e.Problems); n == 1 {
		b.WriteString(" (1 problem):")
	} else {
		fmt.Fprintf(&b, " (%d problems):", n)
	}
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// LoadFile reads and parses a tenants.json file. A *ValidationError it
// returns has File set; I/O errors are returned as they are (wrapped).
func LoadFile(path string) (*Set, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tenant: %w", err)
	}
	s, err := Parse(data)
	if ve, ok := errors.AsType[*ValidationError](err); ok {
		ve.File = path
	}
	return s, err
}

// Parse parses and validates the contents of a tenants.json file. Any error
// is a *ValidationError listing all problems found.
func Parse(data []byte) (*Set, error) {
	// Editors on Windows like to write one; it is not JSON but harmless.
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))

	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &ValidationError{Problems: []Problem{{Message: "the file is empty"}}}
	}

	// Check the syntax up front over the whole input: the scanner in
	// json.Unmarshal reports exact offsets (also for trailing data), which
	// the streaming decoder below does not.
	if err := json.Unmarshal(data, new(json.RawMessage)); err != nil {
		p := Problem{Message: "invalid JSON: " + err.Error()}
		if se, ok := errors.AsType[*json.SyntaxError](err); ok {
			p.Message = "invalid JSON: " + se.Error()
			off := int(se.Offset) - 1 // Offset counts the offending byte
			if se.Error() == "unexpected end of JSON input" {
				off = len(data)
			}
			p.Line, p.Column = position(data, max(off, 0))
		}
		return nil, &ValidationError{Problems: []Problem{p}}
	}

	d := &decoder{data: data, dec: json.NewDecoder(bytes.NewReader(data))}
	raws, ok := d.file()
	if !ok {
		// Only reachable on an internal decoder failure, since the syntax
		// was checked above; d.problems says what happened.
		return nil, &ValidationError{Problems: d.problems}
	}
	set := d.validate(raws)
	if len(d.problems) > 0 {
		// Structural and semantic problems were found in separate passes;
		// present them in file order, the ones without a place last.
		slices.SortStableFunc(d.problems, func(a, b Problem) int {
			if (a.Line == 0) != (b.Line == 0) {
				return cmp.Compare(b.Line, a.Line)
			}
			return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
		})
		return nil, &ValidationError{Problems: d.problems}
	}
	return set, nil
}

// position converts a byte offset into a 1-based line and character column.
func position(data []byte, off int) (line, col int) {
	off = min(off, len(data))
	before := data[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	lineStart := bytes.LastIndexByte(before, '\n') + 1
	return line, utf8.RuneCount(before[lineStart:]) + 1
}

// field is one decoded scalar field of a tenant object.
type field[T any] struct {
	set bool // present with the right type (null counts as absent)
	bad bool // present with the wrong type; already reported
	val T
	off int // byte offset of the value
}

// rawTenant is a tenant object as written, before defaults and validation.
type rawTenant struct {
	off                                int
	id, name, locale, currency, tzName field[string]
	active                             field[bool]
	hosts                              field[[]field[string]]
}

// decoder walks the JSON token stream itself instead of unmarshaling into a
// struct, because encoding/json stops at the first unknown field or type
// mismatch and does not say where in the file it was; the operator should get
// every problem, each with its path and position.
type decoder struct {
	data     []byte
	dec      *json.Decoder
	problems []Problem
}

func (d *decoder) add(path string, off int, format string, args ...any) {
	p := Problem{Path: path, Message: fmt.Sprintf(format, args...)}
	if off >= 0 {
		p.Line, p.Column = position(d.data, off)
	}
	d.problems = append(d.problems, p)
}

// next reads one token and returns it with the offset where it starts.
func (d *decoder) next() (json.Token, int, error) {
	off := int(d.dec.InputOffset())
	// InputOffset is the end of the previous token; step over the
	// separators in between to point at the token itself.
	for off < len(d.data) && strings.IndexByte(" \t\r\n,:", d.data[off]) >= 0 {
		off++
	}
	tok, err := d.dec.Token()
	if err != nil {
		d.add("", off, "invalid JSON: %v", err)
	}
	return tok, off, err
}

// skip consumes the rest of a value whose first token was tok.
func (d *decoder) skip(tok json.Token) error {
	if delim, ok := tok.(json.Delim); !ok || (delim != '{' && delim != '[') {
		return nil
	}
	for depth := 1; depth > 0; {
		tok, _, err := d.next()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
	return nil
}

// describe names the JSON type of the value starting with tok.
func describe(tok json.Token) string {
	switch v := tok.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case float64, json.Number:
		return "a number"
	case string:
		return "a string"
	case json.Delim:
		if v == '[' {
			return "an array"
		}
		return "an object"
	}
	return fmt.Sprintf("%T", tok)
}

// object reads the members of an object whose '{' was just read, calling
// member for each key. It reports duplicate keys and, via member returning
// false, unknown ones. The value must be fully consumed by member.
func (d *decoder) object(path string, known []string, member func(key, path string) error) error {
	seen := map[string]bool{}
	for d.dec.More() {
		tok, off, err := d.next()
		if err != nil {
			return err
		}
		key := tok.(string) // object keys are always strings
		p := key
		if path != "" {
			p = path + "." + key
		}
		switch {
		case seen[key]:
			d.add(p, off, "duplicate field %q", key)
			if err := d.skipValue(); err != nil {
				return err
			}
		case !contains(known, key):
			msg := fmt.Sprintf("unknown field %q", key)
			for _, k := range known {
				if strings.EqualFold(k, key) {
					msg += fmt.Sprintf(" (did you mean %q? field names are case-sensitive)", k)
				}
			}
			d.add(p, off, "%s; allowed fields: %s", msg, strings.Join(known, ", "))
			if err := d.skipValue(); err != nil {
				return err
			}
		default:
			if err := member(key, p); err != nil {
				return err
			}
		}
		seen[key] = true
	}
	_, _, err := d.next() // '}'
	return err
}

func (d *decoder) skipValue() error {
	tok, _, err := d.next()
	if err != nil {
		return err
	}
	return d.skip(tok)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// file decodes the top-level object. ok is false only if decoding had to
// stop; all other problems are recorded and decoding goes on.
func (d *decoder) file() (raws []*rawTenant, ok bool) {
	tok, off, err := d.next()
	if err != nil {
		return nil, false
	}
	if tok != json.Delim('{') {
		d.add("", off, `the file must contain a JSON object like {"tenants": [...]}, not %s`, describe(tok))
		return nil, true
	}
	wrongType := false
	err = d.object("", []string{"tenants"}, func(_, path string) error {
		tok, off, err := d.next()
		if err != nil {
			return err
		}
		switch tok {
		case nil:
			return nil
		case json.Delim('['):
			raws, err = d.tenants(path)
			return err
		}
		wrongType = true
		d.add(path, off, "must be an array of tenant objects, not %s", describe(tok))
		return d.skip(tok)
	})
	if err != nil {
		return nil, false
	}
	if len(raws) == 0 && !wrongType {
		d.add("tenants", -1, "no tenants defined")
	}
	return raws, true
}

// tenants reads the elements of the tenants array after its '['. Elements
// that are not objects are reported and kept as nil so that indexes in
// later problem paths still match the file.
func (d *decoder) tenants(path string) ([]*rawTenant, error) {
	var raws []*rawTenant
	for i := 0; d.dec.More(); i++ {
		p := fmt.Sprintf("%s[%d]", path, i)
		tok, off, err := d.next()
		if err != nil {
			return nil, err
		}
		if tok != json.Delim('{') {
			d.add(p, off, "must be a tenant object, not %s", describe(tok))
			raws = append(raws, nil)
			if err := d.skip(tok); err != nil {
				return nil, err
			}
			continue
		}
		rt := &rawTenant{off: off}
		if err := d.object(p, tenantFields, func(key, path string) error {
			return d.tenantField(rt, key, path)
		}); err != nil {
			return nil, err
		}
		raws = append(raws, rt)
	}
	_, _, err := d.next() // ']'
	return raws, err
}

var tenantFields = []string{"id", "name", "hosts", "locale", "currency", "timezone", "active"}

func (d *decoder) tenantField(rt *rawTenant, key, path string) error {
	switch key {
	case "id":
		return d.str(&rt.id, path, true)
	case "name":
		return d.str(&rt.name, path, true)
	case "locale":
		return d.str(&rt.locale, path, true)
	case "currency":
		return d.str(&rt.currency, path, true)
	case "timezone":
		return d.str(&rt.tzName, path, true)
	case "active":
		tok, off, err := d.next()
		if err != nil {
			return err
		}
		rt.active.off = off
		switch v := tok.(type) {
		case nil:
		case bool:
			rt.active.set, rt.active.val = true, v
		default:
			rt.active.bad = true
			d.add(path, off, "must be true or false, not %s", describe(tok))
			return d.skip(tok)
		}
		return nil
	case "hosts":
		tok, off, err := d.next()
		if err != nil {
			return err
		}
		rt.hosts.off = off
		switch tok {
		case nil:
			return nil
		case json.Delim('['):
		default:
			rt.hosts.bad = true
			d.add(path, off, "must be an array of host names, not %s", describe(tok))
			return d.skip(tok)
		}
		rt.hosts.set = true
		for i := 0; d.dec.More(); i++ {
			var h field[string]
			if err := d.str(&h, fmt.Sprintf("%s[%d]", path, i), false); err != nil {
				return err
			}
			rt.hosts.val = append(rt.hosts.val, h)
		}
		_, _, err = d.next() // ']'
		return err
	}
	panic("tenant: unhandled field " + key) // tenantFields and this switch disagree
}

// str reads a string value. If nullOK, null leaves f unset so that the
// field's default applies; otherwise null is reported like any wrong type.
func (d *decoder) str(f *field[string], path string, nullOK bool) error {
	tok, off, err := d.next()
	if err != nil {
		return err
	}
	f.off = off
	switch v := tok.(type) {
	case nil:
		if !nullOK {
			f.bad = true
			d.add(path, off, "must be a string, not null")
		}
	case string:
		f.set, f.val = true, v
	default:
		f.bad = true
		d.add(path, off, "must be a string, not %s", describe(tok))
		return d.skip(tok)
	}
	return nil
}
