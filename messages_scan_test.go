package rpcrm

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestCatalogueComplete finds the German user-facing messages in the
// sources (string literals, and concatenations of literals with values)
// and fails for each that the English catalogue cannot translate. To fix
// a failure, add the message to messagesDEtoEN, or its format to
// formatsDEtoEN, in messages_en.go.
func TestCatalogueComplete(t *testing.T) {
	msgs, err := scanGermanMessages(".")
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) < 200 {
		t.Fatalf("found only %d German messages; is the scan still looking in the right places?", len(msgs))
	}
	var missing []string
	for _, m := range msgs {
		if !catalogueCovers(m) {
			missing = append(missing, m.pos+": "+strconv.Quote(m.text))
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d German messages have no English translation in messages_en.go "+
			"(add them to messagesDEtoEN, or to formatsDEtoEN if built with fmt; %%s marks a value joined with +):\n%s",
			len(missing), strings.Join(missing, "\n"))
	}
}

// TestCatalogueNoStale fails for catalogue entries no source has any more,
// so the catalogue does not collect dead texts.
func TestCatalogueNoStale(t *testing.T) {
	msgs, err := scanSources(".")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, m := range msgs {
		seen[m.text] = true
		seen[normalizeVerbs(m.text)] = true
	}
	for de := range messagesDEtoEN {
		if !seen[de] {
			t.Errorf("messagesDEtoEN has %q, which no source contains", de)
		}
	}
	for _, p := range formatsDEtoEN {
		if !seen[p[0]] && !seen[normalizeVerbs(p[0])] {
			t.Errorf("formatsDEtoEN has %q, which no source contains", p[0])
		}
	}
}

// sourceMessage is a German message found in the sources.
type sourceMessage struct {
	pos  string
	text string
	// dynamic: text is a concatenation whose values are marked %s.
	dynamic bool
	// german: the text looks like a German message (looksLikeMessage).
	german bool
}

// catalogueCovers reports whether the catalogue has an entry for m: the
// exact message, or the format string it is (or is built like).
func catalogueCovers(m sourceMessage) bool {
	if _, ok := messagesDEtoEN[m.text]; ok && !m.dynamic {
		return true
	}
	n := normalizeVerbs(m.text)
	for _, p := range formatsDEtoEN {
		if p[0] == m.text || normalizeVerbs(p[0]) == n {
			return true
		}
	}
	return false
}

// normalizeVerbs makes "%d" and "%s" alike: a value joined with + is
// written %s by the scan, and the same message may come from fmt.
func normalizeVerbs(s string) string {
	return verbRe.ReplaceAllStringFunc(s, func(v string) string {
		if v == "%%" {
			return v
		}
		return "%v"
	})
}

// germanWord marks a text as German: an umlaut, ß, German quotes, or one
// of the common words of the messages.
var germanWord = regexp.MustCompile(`[äöüÄÖÜß„«]|\b(?:[Bb]itte|[Nn]icht|[Mm]uss|[Uu]ngültig\w*|[Dd]arf|gibt es|Zeile|Feld|Wert|Eingabe|[Kk]ein\w*|[Uu]nbekannt\w*|[Ee]rwartet|fehlt|[Mm]indestens|[Nn]ur|ist|sind|wird|wurde|werden|kann|oder|und|[Dd]er|[Dd]ie|[Dd]as|[Dd]em|[Dd]en|[Ee]ine?n?|Sie|zu|nach|mit|von|Datei|Spalte\w*|[Ff]alsche?r?|gefunden|gemischte?|Ziffern|Zeichen|\w*trennzeichen|Interne[rs]?|Zu|gesperrt|Veraltete)\b`)

// looksLikeMessage: a sentence (ends with . ? !), a format (has a verb),
// or a phrase of at least two words that becomes part of one.
func looksLikeMessage(s string, dynamic bool) bool {
	s = strings.TrimSpace(s)
	if !germanWord.MatchString(s) {
		return false
	}
	if dynamic || verbRe.MatchString(strings.ReplaceAll(s, "%%", "")) {
		return true
	}
	if strings.HasSuffix(s, ".") || strings.HasSuffix(s, "?") || strings.HasSuffix(s, "!") {
		return strings.Contains(s, " ") || strings.HasPrefix(s, "Ungültig")
	}
	return len(strings.Fields(s)) >= 2
}

// notMessages are German literals that are not messages of the services:
// they are in the allowlist so the catalogue does not carry nonsense.
var notMessages = map[string]bool{
	// csvfile joins column numbers: "1, 2 und 3"; Translate handles such
	// lists in arguments.
	"%s und %s": true,
	// The reason a deal is lost, stored with the deal like one typed by a
	// user, when its stage becomes a lost one or is deleted.
	"Phase «%s» als verloren markiert": true,
	"Phase «%s» gelöscht":              true,
}

// notMessageVars are variables with German texts that are not messages:
// the column names of the CSV exports, German so that an export imports
// again without a mapping.
var notMessageVars = map[string]bool{"CompanyCSVHeader": true, "ContactCSVHeader": true, "DealCSVHeader": true}

// bilingualCalls and bilingualTypes hold texts in German and English side
// by side: the UI's text catalogues (addTexts) and the permission labels.
var (
	bilingualCalls = map[string]bool{"addTexts": true}
	bilingualTypes = map[string]bool{"PermissionInfo": true}
)

// skipFile: the UI catalogues are bilingual already; demo, seed and
// anonymisation data are content, not messages.
func skipFile(path string) bool {
	slash := filepath.ToSlash(path)
	switch slash {
	case "web/i18n.go", "postgres/seed.go", "backup/anonymise.go", "messages.go", "messages_en.go":
		return true
	}
	if strings.HasPrefix(slash, "web/") && strings.Contains(filepath.Base(slash), "texts") {
		return true
	}
	return strings.HasPrefix(slash, "demo/") || strings.HasPrefix(slash, "cmd/rpcrm-bench/") ||
		strings.HasPrefix(slash, "e2e/")
}

// logFuncs are the calls whose text goes to the log or the terminal, not to
// a user of the UI or the API.
var logFuncs = map[string]bool{
	"Debug": true, "Info": true, "Warn": true, "Error": true,
	"DebugContext": true, "InfoContext": true, "WarnContext": true, "ErrorContext": true,
	"Print": true, "Printf": true, "Println": true, "Fatal": true, "Fatalf": true, "Panic": true, "Panicf": true,
	"Fprint": true, "Fprintf": true, "Fprintln": true, "Log": true, "Logf": true,
}

// isLogCall reports whether call logs or prints: a log function called on
// the log or slog package, on a logger (u.Log, a.Log, logger), or fmt's
// printing to a writer or standard output.
func isLogCall(call *ast.CallExpr) bool {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || !logFuncs[sel.Sel.Name] {
		return false
	}
	var recv string
	switch x := sel.X.(type) {
	case *ast.Ident:
		recv = x.Name
	case *ast.SelectorExpr:
		recv = x.Sel.Name
	}
	switch recv {
	case "fmt":
		return strings.HasPrefix(sel.Sel.Name, "F") || strings.HasPrefix(sel.Sel.Name, "P")
	case "log", "slog", "Log", "logger", "Logger", "l":
		return true
	}
	return false
}

// scanGermanMessages returns the German messages of the sources.
func scanGermanMessages(root string) ([]sourceMessage, error) {
	all, err := scanSources(root)
	var out []sourceMessage
	for _, m := range all {
		if m.german {
			out = append(out, m)
		}
	}
	return out, err
}

// scanSources returns the string literals and concatenations of the
// sources outside logging, catalogues and data.
func scanSources(root string) ([]sourceMessage, error) {
	var out []sourceMessage
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || skipFile(path) {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		if f.Name.Name == "demo" {
			return nil
		}
		add := func(n ast.Node, text string, dynamic bool) {
			pos := fset.Position(n.Pos())
			out = append(out, sourceMessage{pos: filepath.ToSlash(pos.Filename) + ":" + strconv.Itoa(pos.Line), text: text,
				dynamic: dynamic, german: !notMessages[text] && looksLikeMessage(text, dynamic)})
		}
		tags := map[*ast.BasicLit]bool{}
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.ImportSpec:
				return false
			case *ast.Field:
				if x.Tag != nil {
					tags[x.Tag] = true // struct tags are not messages
				}
			case *ast.CallExpr:
				if isLogCall(x) {
					return false
				}
				if id, ok := x.Fun.(*ast.Ident); ok && bilingualCalls[id.Name] {
					return false
				}
			case *ast.ValueSpec:
				for _, name := range x.Names {
					if notMessageVars[name.Name] {
						return false
					}
				}
			case *ast.CompositeLit:
				if elt, ok := x.Type.(*ast.ArrayType); ok {
					if id, ok := elt.Elt.(*ast.Ident); ok && bilingualTypes[id.Name] {
						return false
					}
				}
				if id, ok := x.Type.(*ast.Ident); ok && bilingualTypes[id.Name] {
					return false
				}
			case *ast.BinaryExpr:
				if x.Op != token.ADD {
					return true
				}
				if text, dynamic, ok := concat(x); ok {
					add(x, text, dynamic)
					return false
				}
			case *ast.BasicLit:
				if x.Kind == token.STRING && !tags[x] {
					if s, err := strconv.Unquote(x.Value); err == nil {
						add(x, s, false)
					}
				}
			}
			return true
		})
		return nil
	})
	slices.SortFunc(out, func(a, b sourceMessage) int { return strings.Compare(a.pos, b.pos) })
	return out, err
}

// concat folds a chain of + with at least one string literal into one
// text, writing %s for every operand that is not a literal.
func concat(e *ast.BinaryExpr) (string, bool, bool) {
	var parts []ast.Expr
	var flatten func(ast.Expr)
	flatten = func(e ast.Expr) {
		if b, ok := e.(*ast.BinaryExpr); ok && b.Op == token.ADD {
			flatten(b.X)
			flatten(b.Y)
			return
		}
		if p, ok := e.(*ast.ParenExpr); ok {
			flatten(p.X)
			return
		}
		parts = append(parts, e)
	}
	flatten(e)
	var b strings.Builder
	lit, dynamic := false, false
	for _, p := range parts {
		if l, ok := p.(*ast.BasicLit); ok && l.Kind == token.STRING {
			s, err := strconv.Unquote(l.Value)
			if err != nil {
				return "", false, false
			}
			b.WriteString(strings.ReplaceAll(s, "%", "%%"))
			lit = true
			continue
		}
		b.WriteString("%s")
		dynamic = true
	}
	if !lit {
		return "", false, false
	}
	text := b.String()
	if !dynamic {
		text = strings.ReplaceAll(text, "%%", "%")
	}
	return text, dynamic, true
}
