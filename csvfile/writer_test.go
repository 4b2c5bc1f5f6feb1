package csvfile

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func writeAll(t *testing.T, opts WriterOptions, records ...[]string) string {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf, opts)
	for _, rec := range records {
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestWriterFormat(t *testing.T) {
	got := writeAll(t, ExcelOptions,
		[]string{"Name", "Notiz"},
		[]string{"Müller; Hans", "Zeile 1\nZeile 2"},
		[]string{`Sag "Grüezi"`, ""},
	)
	want := "\uFEFFName;Notiz\r\n" +
		"\"Müller; Hans\";\"Zeile 1\r\nZeile 2\"\r\n" +
		"\"Sag \"\"Grüezi\"\"\";\r\n"
	if got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}

	if got := writeAll(t, WriterOptions{}, []string{"a;b", "c"}); got != "a;b,c\r\n" {
		t.Errorf("zero options: got %q, want comma separated without BOM", got)
	}
	// An export with no rows is still recognisable as UTF-8 by Excel.
	if got := writeAll(t, ExcelOptions); got != "\uFEFF" {
		t.Errorf("empty export = %q, want just the BOM", got)
	}
}

func TestWriterRejectsDelimiter(t *testing.T) {
	w := NewWriter(io.Discard, WriterOptions{Delimiter: '"'})
	if err := w.Write([]string{"a"}); err == nil {
		t.Error("Write with delimiter '\"' succeeded")
	}
	if err := w.Flush(); err == nil {
		t.Error("Flush with delimiter '\"' succeeded")
	}
}

type brokenWriter struct{}

func (brokenWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriterReportsWriteError(t *testing.T) {
	w := NewWriter(brokenWriter{}, ExcelOptions)
	_ = w.Write([]string{"a"})
	if err := w.Flush(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Flush = %v, want the write error", err)
	}
}

func TestWriterNeutralisesFormulas(t *testing.T) {
	cells := []string{
		"=HYPERLINK(\"http://evil\",\"klick\")",
		"+41 44 123 45 67",
		"-12.50", // OWASP: every leading '-', numbers included
		"@SUM(A1:A2)",
		"\t=1+1",
		"\r=1+1",
		"alt\rMac",
		"harmlos = gut",
		"'schon zitiert",
		"'=schon geschützt",
		"",
	}
	got := writeAll(t, WriterOptions{Delimiter: ';'}, cells)
	want := "\"'=HYPERLINK(\"\"http://evil\"\",\"\"klick\"\")\";'+41 44 123 45 67;'-12.50;'@SUM(A1:A2);'\t=1+1;\"'\r\n=1+1\";\"alt\r\nMac\";harmlos = gut;'schon zitiert;''=schon geschützt;\r\n"
	if got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}

func TestRemoveFormulaGuard(t *testing.T) {
	for in, want := range map[string]string{
		"'=1+1":       "=1+1",
		"'+41 44":     "+41 44",
		"'-12.50":     "-12.50",
		"'@x":         "@x",
		"'\tx":        "\tx",
		"'\nx":        "\nx",
		"'schon":      "'schon", // not ours: a quote the user typed
		"'":           "'",
		"''=1":        "'=1",
		"'''-1":       "''-1",
		"Rock'n'Roll": "Rock'n'Roll",
	} {
		if got := RemoveFormulaGuard(in); got != want {
			t.Errorf("RemoveFormulaGuard(%q) = %q, want %q", in, got, want)
		}
	}
}

// What RP CRM exports, RP CRM imports again unchanged, whichever
// delimiter the export used.
func TestRoundTrip(t *testing.T) {
	records := [][]string{
		{"Name", "Telefon", "Betrag", "Notiz", "Zürich"},
		{"Müller, Hans", "+41 44 123 45 67", "-1'234.50", "zwei\nZeilen", "ja"},
		{"=1+1", "@x", "a;b", `"zitiert"`, ""},
		{"'=1+1", "'", "'Tach'", " Leerzeichen ", "\t"},
		{"Élise", "", "0.00", "€ ½ ß ç", "x"},
	}
	for _, opts := range []WriterOptions{ExcelOptions, {Delimiter: ','}, {Delimiter: '\t', BOM: true}} {
		data := writeAll(t, opts, records...)
		r := mustReader(t, data)
		if r.Delimiter() != opts.Delimiter {
			t.Errorf("%q: Delimiter = %q", opts.Delimiter, r.Delimiter())
		}
		got := [][]string{r.Header()}
		for _, row := range readAll(t, r) {
			fields := make([]string, len(row.Fields))
			for i, f := range row.Fields {
				fields[i] = RemoveFormulaGuard(f)
			}
			got = append(got, fields)
		}
		if !reflect.DeepEqual(got, records) {
			t.Errorf("%q: round trip\n%q\nwant\n%q", opts.Delimiter, got, records)
		}
	}
}

// Whatever a field holds, exporting and re-importing gives it back, apart
// from line breaks, which come back as "\n" as the reader delivers them.
func FuzzRoundTrip(f *testing.F) {
	f.Add("Müller, Hans", "=1+1")
	f.Add("'-12.50", "zwei\r\nZeilen\rMac")
	f.Add("\"", "';\t")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, a, b string) {
		for _, s := range []string{a, b} {
			// PostgreSQL text holds neither, so no export contains them.
			if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
				t.Skip()
			}
		}
		var buf bytes.Buffer
		w := NewWriter(&buf, ExcelOptions)
		if err := w.Write([]string{"a", "b"}); err != nil {
			t.Fatal(err)
		}
		if err := w.Write([]string{a, b}); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		r, err := NewReader(&buf)
		if err != nil {
			t.Fatal(err)
		}
		row, err := r.Next()
		if err != nil {
			t.Fatalf("Next: %v\n%q", err, buf.String())
		}
		nl := strings.NewReplacer("\r\n", "\n", "\r", "\n")
		want := []string{nl.Replace(a), nl.Replace(b)}
		got := make([]string, len(row.Fields))
		for i, f := range row.Fields {
			got[i] = RemoveFormulaGuard(f)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
}
