package rpcrm

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Messages are written in German (de-CH) where an error is raised, because
// German is the first language of the UI. Translate turns such a message
// into the user's language; today that is English (messages_en.go). A
// message that is not in the catalogue stays German: a German sentence is
// better than none. TestCatalogueComplete finds every German message in the
// sources and fails for those without an English entry.

// Translate returns msg in the language lang ("de", "en", …). Only English
// has a catalogue; for every other language, and for messages the catalogue
// does not know, msg is returned unchanged.
func Translate(lang, msg string) string {
	if !isEnglish(lang) || msg == "" {
		return msg
	}
	if s, ok := translateEN(msg, 0); ok {
		return s
	}
	return msg
}

// Translated returns a copy of e with its message and field messages in
// the language lang (see Translate). A nil e stays nil.
func (e *Error) Translated(lang string) *Error {
	if e == nil || !isEnglish(lang) {
		return e
	}
	out := &Error{Code: e.Code, Message: Translate(lang, e.Message)}
	if e.Fields != nil {
		out.Fields = make(map[string]string, len(e.Fields))
		for f, m := range e.Fields {
			out.Fields[f] = Translate(lang, m)
		}
	}
	return out
}

func isEnglish(lang string) bool {
	return lang == "en" || strings.HasPrefix(lang, "en-")
}

// format is a German format string compiled for matching messages built
// from it, with the English format to rebuild them in.
type format struct {
	de, en string
	re     *regexp.Regexp
	// prefix is the literal text before the first verb: a cheap test
	// before the regexp.
	prefix string
	// verbs are the German verbs in order (s, d, q, v, w). %d matches
	// an integer, %q a quoted string, the others any text.
	verbs []byte
	// literal counts the characters outside verbs, to try the most
	// specific formats first.
	literal int
}

// verbRe matches the verbs the catalogue supports: %s %d %q %v %w, in the
// English text optionally with an explicit argument index (%[2]s), and %%.
var verbRe = regexp.MustCompile(`%(?:\[(\d+)\])?([sdqvw%])`)

// formatsEN returns the compiled formatsDEtoEN, most specific first. They
// are compiled on the first English message that is not a constant one,
// not when every command of the binary starts.
var formatsEN = sync.OnceValue(func() []*format { return compileFormats(formatsDEtoEN) })

func compileFormats(list [][2]string) []*format {
	out := make([]*format, 0, len(list))
	for _, p := range list {
		f, err := compileFormat(p[0], p[1])
		if err != nil {
			panic("rpcrm: message catalogue: " + err.Error())
		}
		out = append(out, f)
	}
	slices.SortStableFunc(out, func(a, b *format) int { return b.literal - a.literal })
	return out
}

func compileFormat(de, en string) (*format, error) {
	f := &format{de: de, en: en}
	var re strings.Builder
	re.WriteString(`(?s)^`)
	last := 0
	first := true
	for _, m := range verbRe.FindAllStringSubmatchIndex(de, -1) {
		lit := de[last:m[0]]
		if de[m[4]] == '%' {
			lit += "%"
		}
		re.WriteString(regexp.QuoteMeta(lit))
		f.literal += len(lit)
		last = m[1]
		if de[m[4]] == '%' {
			continue
		}
		if m[2] >= 0 {
			return nil, fmt.Errorf("%q: explicit argument indexes belong in the English text only", de)
		}
		if first {
			f.prefix = strings.ReplaceAll(de[:m[0]], "%%", "%")
			first = false
		}
		f.verbs = append(f.verbs, de[m[4]])
		switch de[m[4]] {
		case 'd':
			re.WriteString(`(-?\d+)`)
		case 'q':
			re.WriteString(`("(?:[^"\\]|\\.)*")`)
		default:
			re.WriteString(`(.*?)`)
		}
	}
	lit := de[last:]
	re.WriteString(regexp.QuoteMeta(lit))
	f.literal += len(lit)
	re.WriteString(`$`)
	if len(f.verbs) == 0 {
		return nil, fmt.Errorf("%q has no verb: put it into messagesDEtoEN", de)
	}
	if f.literal < 3 {
		return nil, fmt.Errorf("%q is too unspecific to be matched", de)
	}
	if n := countArgs(en); n > len(f.verbs) {
		return nil, fmt.Errorf("%q uses argument %d, the German has %d", en, n, len(f.verbs))
	}
	var err error
	if f.re, err = regexp.Compile(re.String()); err != nil {
		return nil, err
	}
	return f, nil
}

// countArgs returns the highest argument the English format refers to.
func countArgs(en string) int {
	n, next := 0, 0
	for _, m := range verbRe.FindAllStringSubmatch(en, -1) {
		if m[2] == "%" {
			continue
		}
		i := next
		if m[1] != "" {
			i, _ = strconv.Atoi(m[1])
			i--
		}
		next = i + 1
		n = max(n, next)
	}
	return n
}

// translateEN translates one message: exactly, else by a format. Depth
// bounds the translation of arguments that are messages themselves (such
// as the reason in "Zeile %d: %s").
func translateEN(msg string, depth int) (string, bool) {
	if s, ok := messagesDEtoEN[msg]; ok {
		return s, true
	}
	if depth > 3 {
		return "", false
	}
	for _, f := range formatsEN() {
		if !strings.HasPrefix(msg, f.prefix) {
			continue
		}
		m := f.re.FindStringSubmatch(msg)
		if m == nil {
			continue
		}
		args := m[1:]
		for i, a := range args {
			if f.verbs[i] == 's' || f.verbs[i] == 'v' || f.verbs[i] == 'w' {
				args[i] = translateArg(a, depth+1)
			}
		}
		return expand(f.en, args), true
	}
	return "", false
}

// translateArg translates an argument of a format if it is a message
// itself, or a list of messages joined by "; ", or a list of numbers
// ("1, 2 und 3"); anything else (names, values) stays as it is.
func translateArg(a string, depth int) string {
	if strings.Contains(a, "; ") {
		parts := strings.Split(a, "; ")
		all := true
		for i, p := range parts {
			s, ok := translateEN(p, depth)
			if ok {
				parts[i] = s
			}
			all = all && ok
		}
		if all {
			return strings.Join(parts, "; ")
		}
	}
	if s, ok := translateEN(a, depth); ok {
		return s
	}
	if numberList.MatchString(a) {
		i := strings.LastIndex(a, " und ")
		return a[:i] + " and " + a[i+len(" und "):]
	}
	return a
}

var numberList = regexp.MustCompile(`^\d+(, \d+)* und \d+$`)

// expand fills the English format with the captured (German) arguments.
func expand(en string, args []string) string {
	var b strings.Builder
	last, next := 0, 0
	for _, m := range verbRe.FindAllStringSubmatchIndex(en, -1) {
		b.WriteString(en[last:m[0]])
		last = m[1]
		if en[m[4]] == '%' {
			b.WriteByte('%')
			continue
		}
		i := next
		if m[2] >= 0 {
			i, _ = strconv.Atoi(en[m[2]:m[3]])
			i--
		}
		next = i + 1
		if i >= 0 && i < len(args) {
			b.WriteString(args[i])
		}
	}
	b.WriteString(en[last:])
	return b.String()
}
