package csvfile

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"unicode/utf8"
)

func mustReader(t *testing.T, data string) *Reader {
	t.Helper()
	r, err := NewReader(strings.NewReader(data))
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	return r
}

// readAll returns every row, failing the test on any error.
func readAll(t *testing.T, r *Reader) []Row {
	t.Helper()
	var rows []Row
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			return rows
		}
		if err != nil {
			t.Fatalf("Next after %d rows: %v", len(rows), err)
		}
		rows = append(rows, row)
	}
}

func TestReaderEncoding(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		enc     string
		header  []string
		wantRow []string
	}{
		{
			name:    "utf-8 without BOM",
			data:    "Name;Ort\r\nMüller;Zürich\r\n",
			enc:     EncodingUTF8,
			header:  []string{"Name", "Ort"},
			wantRow: []string{"Müller", "Zürich"},
		},
		{
			// The BOM must not end up in the first column name, or the
			// importer could never match the "Name" column.
			name:    "utf-8 with BOM",
			data:    "\uFEFFName;Ort\r\nMüller;Zürich\r\n",
			enc:     EncodingUTF8BOM,
			header:  []string{"Name", "Ort"},
			wantRow: []string{"Müller", "Zürich"},
		},
		{
			// What Excel's plain "CSV (Trennzeichen-getrennt)" writes on
			// Swiss Windows. 0x80 is € only in Windows-1252, not Latin-1.
			name:    "windows-1252",
			data:    "Name;Ort;Betrag\r\nM\xfcller;Z\xfcrich;\x80 5\r\nB\xe9atrice;Neuch\xe2tel;\r\n",
			enc:     EncodingWindows1252,
			header:  []string{"Name", "Ort", "Betrag"},
			wantRow: []string{"Müller", "Zürich", "€ 5"},
		},
		{
			name:    "windows-1252 umlaut in header",
			data:    "Gr\xfcndung;Stra\xdfe\nx;y\n",
			enc:     EncodingWindows1252,
			header:  []string{"Gründung", "Straße"},
			wantRow: []string{"x", "y"},
		},
		{
			name:    "header names trimmed",
			data:    " Name ;\tOrt \nx;y\n",
			enc:     EncodingUTF8,
			header:  []string{"Name", "Ort"},
			wantRow: []string{"x", "y"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustReader(t, tt.data)
			if r.Encoding() != tt.enc {
				t.Errorf("Encoding = %q, want %q", r.Encoding(), tt.enc)
			}
			if !reflect.DeepEqual(r.Header(), tt.header) {
				t.Errorf("Header = %q, want %q", r.Header(), tt.header)
			}
			rows := readAll(t, r)
			if len(rows) == 0 || !reflect.DeepEqual(rows[0].Fields, tt.wantRow) {
				t.Errorf("first row = %+v, want %q", rows, tt.wantRow)
			}
		})
	}
}

// A Windows-1252 file whose first 64 KB are plain ASCII is sniffed as
// UTF-8; its later umlauts must still come out right, not as invalid UTF-8.
func TestReaderWindows1252AfterASCIIPrefix(t *testing.T) {
	var b strings.Builder
	b.WriteString("Name;Ort\r\n")
	for b.Len() < 2*sniffSize {
		b.WriteString("Meier;Bern\r\n")
	}
	b.WriteString("M\xfcller;Z\xfcrich\r\n")
	r := mustReader(t, b.String())
	if r.Encoding() != EncodingUTF8 {
		t.Fatalf("Encoding = %q, want %q (only ASCII was sniffed)", r.Encoding(), EncodingUTF8)
	}
	rows := readAll(t, r)
	last := rows[len(rows)-1].Fields
	if !reflect.DeepEqual(last, []string{"Müller", "Zürich"}) {
		t.Errorf("last row = %q, want Müller, Zürich", last)
	}
}

// A UTF-8 character cut in two by the end of the sniffed prefix must not
// make the whole file look like Windows-1252.
func TestReaderUTF8RuneAcrossSniffBoundary(t *testing.T) {
	head := "Name;Ort\n"
	pad := strings.Repeat("a", sniffSize-len(head)-len("x;")-1)
	data := head + "x;" + pad + "ü\n" // 'ü' is 0xC3 0xBC; 0xC3 is the last sniffed byte
	if data[sniffSize-1] != 0xC3 {
		t.Fatalf("test setup: byte at boundary is %#x", data[sniffSize-1])
	}
	r := mustReader(t, data)
	if r.Encoding() != EncodingUTF8 {
		t.Fatalf("Encoding = %q, want %q", r.Encoding(), EncodingUTF8)
	}
	rows := readAll(t, r)
	if got := rows[0].Fields[1]; got != pad+"ü" {
		t.Errorf("field ends with %q, want ...aü", got[len(got)-4:])
	}
}

func TestReaderDelimiter(t *testing.T) {
	tests := []struct {
		name   string
		data   string
		delim  rune
		header []string
		row    []string
	}{
		{"semicolon", "Name;Ort;PLZ\nMüller;Zürich;8000\n", ';', []string{"Name", "Ort", "PLZ"}, []string{"Müller", "Zürich", "8000"}},
		{"comma", "Name,Ort,PLZ\nMüller,Zürich,8000\n", ',', []string{"Name", "Ort", "PLZ"}, []string{"Müller", "Zürich", "8000"}},
		{"tab", "Name\tOrt\nMüller\tZürich\n", '\t', []string{"Name", "Ort"}, []string{"Müller", "Zürich"}},
		{
			// Three commas inside quotes outnumber the two semicolons
			// outside; only the latter count.
			name:   "commas inside quotes of a semicolon file",
			data:   "\"Name, Vorname\";\"Strasse, Nr, Zusatz\";Ort\n\"Müller, Hans\";\"Bahnhofstrasse, 1\";Zürich\n",
			delim:  ';',
			header: []string{"Name, Vorname", "Strasse, Nr, Zusatz", "Ort"},
			row:    []string{"Müller, Hans", "Bahnhofstrasse, 1", "Zürich"},
		},
		{
			name:   "semicolons inside quotes of a comma file",
			data:   "\"a;b;c\",d\n1,2\n",
			delim:  ',',
			header: []string{"a;b;c", "d"},
			row:    []string{"1", "2"},
		},
		{
			// Only the header decides: a comma in the data of a
			// one-column file must not split the column.
			name:   "single column",
			data:   "Name\nMüller, Hans\n",
			delim:  ';',
			header: []string{"Name"},
			row:    []string{"Müller, Hans"},
		},
		{
			name:   "leading blank lines",
			data:   "\n\r\nName;Ort\nMüller, Hans;Zürich\n",
			delim:  ';',
			header: []string{"Name", "Ort"},
			row:    []string{"Müller, Hans", "Zürich"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustReader(t, tt.data)
			if r.Delimiter() != tt.delim {
				t.Errorf("Delimiter = %q, want %q", r.Delimiter(), tt.delim)
			}
			if !reflect.DeepEqual(r.Header(), tt.header) {
				t.Errorf("Header = %q, want %q", r.Header(), tt.header)
			}
			rows := readAll(t, r)
			if len(rows) != 1 || !reflect.DeepEqual(rows[0].Fields, tt.row) {
				t.Errorf("rows = %+v, want one row %q", rows, tt.row)
			}
		})
	}
}

func TestReaderLineNumbers(t *testing.T) {
	data := "Name;Notiz\r\n" + // line 1
		"A;\"erste Zeile\r\nzweite Zeile\r\ndritte\"\r\n" + // lines 2–4
		"B;kurz\r\n" + // line 5
		"\r\n" + // line 6, blank, skipped
		"\"C\nmit Umbruch\";\"x\"\r\n" + // lines 7–8
		"D;y\r\n" // line 9
	rows := readAll(t, mustReader(t, data))
	want := []Row{
		{2, []string{"A", "erste Zeile\nzweite Zeile\ndritte"}},
		{5, []string{"B", "kurz"}},
		{7, []string{"C\nmit Umbruch", "x"}},
		{9, []string{"D", "y"}},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("rows =\n%+v\nwant\n%+v", rows, want)
	}
}

func TestReaderRaggedRows(t *testing.T) {
	rows := readAll(t, mustReader(t, "a;b;c\n1;2\n1;2;3;4\n1\n"))
	want := [][]string{{"1", "2"}, {"1", "2", "3", "4"}, {"1"}}
	for i, row := range rows {
		if !reflect.DeepEqual(row.Fields, want[i]) {
			t.Errorf("row %d = %q, want %q", i, row.Fields, want[i])
		}
	}
	if len(rows) != len(want) {
		t.Errorf("got %d rows, want %d", len(rows), len(want))
	}
}

func TestReaderEmpty(t *testing.T) {
	for name, data := range map[string]string{
		"no bytes":    "",
		"only BOM":    "\uFEFF",
		"blank lines": "\r\n\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := NewReader(strings.NewReader(data))
			if !errors.Is(err, ErrEmpty) {
				t.Fatalf("err = %v, want ErrEmpty", err)
			}
			if err.Error() != "Die Datei ist leer." {
				t.Errorf("message = %q", err)
			}
		})
	}
}

func TestReaderHeaderOnly(t *testing.T) {
	for _, data := range []string{"Name;Ort", "Name;Ort\r\n", "Name;Ort\r\n\r\n"} {
		r := mustReader(t, data)
		if !reflect.DeepEqual(r.Header(), []string{"Name", "Ort"}) {
			t.Errorf("%q: Header = %q", data, r.Header())
		}
		if row, err := r.Next(); !errors.Is(err, io.EOF) {
			t.Errorf("%q: Next = %+v, %v; want io.EOF", data, row, err)
		}
	}
}

func TestReaderBadHeader(t *testing.T) {
	_, err := NewReader(strings.NewReader("Name;E-Mail;;Ort;e-mail;Name\nx\n"))
	var he *HeaderError
	if !errors.As(err, &he) {
		t.Fatalf("err = %v, want *HeaderError", err)
	}
	if !reflect.DeepEqual(he.Empty, []int{3}) {
		t.Errorf("Empty = %v, want [3]", he.Empty)
	}
	wantDup := map[string][]int{"Name": {1, 6}, "E-Mail": {2, 5}}
	if !reflect.DeepEqual(he.Duplicates, wantDup) {
		t.Errorf("Duplicates = %v, want %v", he.Duplicates, wantDup)
	}
	want := "Ungültige Kopfzeile: leerer Spaltenname in Spalte 3; " +
		"Spaltenname „Name“ mehrfach (Spalten 1 und 6); " +
		"Spaltenname „E-Mail“ mehrfach (Spalten 2 und 5)."
	if err.Error() != want {
		t.Errorf("message =\n%s\nwant\n%s", err, want)
	}

	// Excel leaves trailing separators behind when columns were cleared.
	_, err = NewReader(strings.NewReader("Name;Ort;;\n"))
	if want := "Ungültige Kopfzeile: leere Spaltennamen in Spalten 3 und 4."; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}

func TestReaderRejectsSpreadsheetFiles(t *testing.T) {
	for name, data := range map[string]string{
		"xlsx":     "PK\x03\x04\x14\x00\x06\x00",
		"xls":      "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
		"utf-16le": "\xff\xfeN\x00a\x00m\x00e\x00",
	} {
		_, err := NewReader(strings.NewReader(data))
		if !errors.Is(err, ErrNotCSV) {
			t.Errorf("%s: err = %v, want ErrNotCSV", name, err)
		}
	}
}

// A stray quote spoils one record, not the import: the caller learns the
// line and can go on with the next record.
func TestReaderMalformedRecordContinues(t *testing.T) {
	r := mustReader(t, "Name;Ort\nA;Bern\nB \"der Zweite\";Thun\nC;Biel\n")
	var got []string
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var le *LineError
		if errors.As(err, &le) {
			if le.Line != 3 || !errors.Is(err, csv.ErrBareQuote) {
				t.Errorf("LineError = %+v", le)
			}
			if !strings.HasPrefix(err.Error(), "Zeile 3: Anführungszeichen") {
				t.Errorf("message = %q", err)
			}
			got = append(got, "error")
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, row.Fields[0])
	}
	if want := []string{"A", "error", "C"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// failingReader returns its data, then an I/O error instead of io.EOF.
type failingReader struct{ data *strings.Reader }

func (f failingReader) Read(p []byte) (int, error) {
	if f.data.Len() == 0 {
		return 0, errors.New("connection reset")
	}
	return f.data.Read(p)
}

func TestReaderPropagatesReadError(t *testing.T) {
	_, err := NewReader(failingReader{strings.NewReader("Name;Ort\nA;B\n")})
	if err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Errorf("err = %v, want the read error", err)
	}
}

// The reader must work through a 10 MB upload while holding only a
// bounded window of it. io.Pipe hands bytes over only as fast as the reader
// takes them, so how much the writer has got rid of at any moment is how
// far the reader has read ahead.
func TestReaderStreams(t *testing.T) {
	const rowLen = 100
	const rows = 10 << 20 / rowLen
	header := "Nr;Name;Ort;Notiz\r\n"
	row := func(i int) string {
		s := fmt.Sprintf("%08d;Müller;Zürich;", i)
		return s + strings.Repeat("x", rowLen-len(s)-2) + "\r\n"
	}
	if len(row(0)) != rowLen {
		t.Fatalf("row length %d", len(row(0)))
	}

	pr, pw := io.Pipe()
	var written atomic.Int64
	go func() {
		if _, err := pw.Write([]byte(header)); err != nil {
			return
		}
		written.Add(int64(len(header)))
		var chunk []byte
		for i := 0; i < rows; i++ {
			chunk = append(chunk, row(i)...)
			if len(chunk) >= 1000 || i == rows-1 {
				if _, err := pw.Write(chunk); err != nil {
					return
				}
				written.Add(int64(len(chunk)))
				chunk = chunk[:0]
			}
		}
		pw.Close()
	}()
	defer pr.Close()

	r, err := NewReader(pr)
	if err != nil {
		t.Fatal(err)
	}
	const maxAhead = 2 * sniffSize
	for i := 0; ; i++ {
		got, err := r.Next()
		if errors.Is(err, io.EOF) {
			if i != rows {
				t.Fatalf("read %d rows, want %d", i, rows)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if i%5000 == 0 {
			consumed := int64(len(header) + (i+1)*rowLen)
			if ahead := written.Load() - consumed; ahead > maxAhead {
				t.Fatalf("at row %d the reader had taken %d bytes more than it returned", i, ahead)
			}
			if got.Line != i+2 || got.Fields[0] != fmt.Sprintf("%08d", i) || got.Fields[2] != "Zürich" {
				t.Fatalf("row %d = line %d %q", i, got.Line, got.Fields[:3])
			}
		}
	}
}

func FuzzReader(f *testing.F) {
	for _, seed := range []string{
		"",
		"Name;Ort\r\nMüller;Zürich\r\n",
		"\uFEFFa,b\n1,\"2\n3\"\n\n4,5\n",
		"a;b\nM\xfcller;\"x\"\"y\"\n",
		"a\tb\n\"unclosed\n",
		"a;b\nx \"y\";z\n\"p\";q\n",
		"\r\r\n\"\"\n",
		"a;a\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data))
		if err != nil {
			if r != nil {
				t.Fatal("non-nil Reader with error")
			}
			return
		}
		for _, h := range r.Header() {
			if !utf8.ValidString(h) {
				t.Fatalf("header %q is not valid UTF-8", h)
			}
		}
		last := 0
		for i := 0; i <= len(data)+1; i++ {
			row, err := r.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			line := row.Line
			var le *LineError
			if errors.As(err, &le) {
				line = le.Line
			} else if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if line < 1 || line <= last {
				t.Fatalf("line %d after line %d", line, last)
			}
			last = line
			for _, f := range row.Fields {
				if !utf8.ValidString(f) {
					t.Fatalf("field %q is not valid UTF-8", f)
				}
			}
		}
		t.Fatal("Next never returned io.EOF")
	})
}
