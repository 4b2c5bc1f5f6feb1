// Package csvfile reads and writes CSV files the way Swiss Excel users
// produce and expect them: semicolon or comma separated, UTF-8 with or
// without BOM or Windows-1252, Swiss dates and numbers, and exports that
// cannot smuggle formulas into a spreadsheet.
package csvfile

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// Encoding names reported by Reader.Encoding.
const (
	EncodingUTF8        = "utf-8"
	EncodingUTF8BOM     = "utf-8-bom"
	EncodingWindows1252 = "windows-1252"
)

// sniffSize bounds how much of the input is inspected before parsing starts;
// it is the only part of the file that is ever held in memory at once
// (apart from a single record), so large imports stream.
const sniffSize = 64 << 10

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// ErrEmpty is returned by NewReader for a file without a header line.
var ErrEmpty = errors.New("Die Datei ist leer.")

// ErrNotCSV is returned by NewReader when the bytes are evidently not a
// text file: the most common cause is an uploaded Excel workbook.
var ErrNotCSV = errors.New("Die Datei ist keine CSV-Datei.")

// HeaderError reports column names that make a header unusable for
// mapping columns to fields. Columns are numbered from 1 as in Excel.
type HeaderError struct {
	// Empty lists the columns whose name is empty.
	Empty []int
	// Duplicates maps a column name (as first written) to all columns that
	// carry it, compared case-insensitively.
	Duplicates map[string][]int
	// order keeps Duplicates in header order so the message is stable.
	order []string
}

// Error lists every problem at once so the user can fix the file in one go.
func (e *HeaderError) Error() string {
	var parts []string
	switch len(e.Empty) {
	case 0:
	case 1:
		parts = append(parts, fmt.Sprintf("leerer Spaltenname in Spalte %d", e.Empty[0]))
	default:
		parts = append(parts, fmt.Sprintf("leere Spaltennamen in Spalten %s", joinInts(e.Empty)))
	}
	for _, name := range e.order {
		parts = append(parts, fmt.Sprintf("Spaltenname „%s“ mehrfach (Spalten %s)", name, joinInts(e.Duplicates[name])))
	}
	return "Ungültige Kopfzeile: " + strings.Join(parts, "; ") + "."
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = fmt.Sprint(n)
	}
	switch len(s) {
	case 1:
		return s[0]
	default:
		return strings.Join(s[:len(s)-1], ", ") + " und " + s[len(s)-1]
	}
}

// LineError is a malformed record (typically a stray quote). It wraps the
// encoding/csv error, so errors.Is(err, csv.ErrQuote) still works, but its
// message is German because it is shown to the user who has to fix the file.
type LineError struct {
	// Line is where the record starts: an unclosed quote is only noticed
	// lines later, but the user has to look where it was opened.
	Line int
	Err  error
}

// Error names the physical line so the user can find it in an editor.
func (e *LineError) Error() string {
	msg := e.Err.Error()
	switch {
	case errors.Is(e.Err, csv.ErrBareQuote):
		msg = "Anführungszeichen \" mitten in einem Feld ohne Anführungszeichen"
	case errors.Is(e.Err, csv.ErrQuote):
		msg = "Anführungszeichen \" nicht geschlossen oder falsch verdoppelt"
	}
	return fmt.Sprintf("Zeile %d: %s", e.Line, msg)
}

// Unwrap exposes the encoding/csv error.
func (e *LineError) Unwrap() error { return e.Err }

// Row is one record. Line is the 1-based physical line where the record
// starts, which is what a user sees in a text editor; it differs from the
// record number after blank lines or fields with embedded newlines.
type Row struct {
	Line   int
	Fields []string
}

// Reader reads a CSV file record by record. Create it with NewReader.
type Reader struct {
	csv      *csv.Reader
	header   []string
	delim    rune
	encoding string
	// recode is set when the file was sniffed as UTF-8: a field that is
	// nonetheless invalid UTF-8 is decoded as Windows-1252. That rescues
	// files whose first 64 KB happen to be pure ASCII and files glued
	// together from differently encoded parts, and it keeps invalid UTF-8
	// away from PostgreSQL, which would reject the whole import.
	recode bool
}

// NewReader sniffs the encoding and the delimiter from the start of r and
// reads the header line. Only the first 64 KB are inspected; the rest is
// streamed record by record by Next.
//
// The encoding is UTF-8 (with or without BOM) unless the sniffed bytes are
// not valid UTF-8, in which case the file is taken to be Windows-1252, the
// encoding of Excel's plain "CSV (Trennzeichen-getrennt)" on Swiss Windows.
// The delimiter is whichever of ';', ',' and tab occurs most often outside
// quotes in the header line; ties and single-column files favour ';',
// Swiss Excel's choice.
//
// Errors: ErrEmpty for a file without a header line, ErrNotCSV (wrapped,
// with a hint) for workbooks and UTF-16 files, *HeaderError for empty or
// duplicate column names, *LineError for a malformed header line, and
// read errors of r as they are.
func NewReader(r io.Reader) (*Reader, error) {
	br := bufio.NewReaderSize(r, sniffSize)
	peek, err := br.Peek(sniffSize)
	complete := false
	switch {
	case err == nil:
	case errors.Is(err, io.EOF):
		complete = true
	case errors.Is(err, bufio.ErrBufferFull):
	default:
		return nil, err
	}

	enc := EncodingUTF8
	if bytes.HasPrefix(peek, utf8BOM) {
		enc = EncodingUTF8BOM
		peek = peek[len(utf8BOM):]
		if _, err := br.Discard(len(utf8BOM)); err != nil {
			return nil, err
		}
	}
	if len(peek) == 0 {
		return nil, ErrEmpty
	}
	if err := checkText(peek); err != nil {
		return nil, err
	}
	if enc == EncodingUTF8 && !validUTF8Prefix(peek, complete) {
		enc = EncodingWindows1252
	}

	var src io.Reader = br
	if enc == EncodingWindows1252 {
		src = charmap.Windows1252.NewDecoder().Reader(br)
	}
	delim := sniffDelimiter(peek)

	cr := csv.NewReader(src)
	cr.Comma = delim
	// Strict quotes: with LazyQuotes a stray '"' silently swallows the
	// following lines into one field; an error names the line instead.
	cr.LazyQuotes = false
	cr.FieldsPerRecord = -1

	rd := &Reader{csv: cr, delim: delim, encoding: enc, recode: enc != EncodingWindows1252}
	rec, err := cr.Read()
	if errors.Is(err, io.EOF) {
		// Only blank lines: encoding/csv skips them, so there is no header.
		return nil, ErrEmpty
	}
	if err != nil {
		return nil, rd.lineError(err)
	}
	header := make([]string, len(rec))
	for i, name := range rec {
		name = rd.fix(name)
		if i == 0 {
			// A second BOM (files concatenated by hand) would otherwise
			// make the first column unmatchable.
			name = strings.TrimPrefix(name, "\uFEFF")
		}
		header[i] = strings.TrimSpace(name)
	}
	if err := checkHeader(header); err != nil {
		return nil, err
	}
	rd.header = header
	return rd, nil
}

// Header returns the column names, trimmed. The slice is shared; do not modify it.
func (r *Reader) Header() []string { return r.header }

// Delimiter returns the detected field delimiter: ';', ',' or '\t'.
func (r *Reader) Delimiter() rune { return r.delim }

// Encoding returns EncodingUTF8, EncodingUTF8BOM or EncodingWindows1252 as
// sniffed from the first 64 KB.
func (r *Reader) Encoding() string { return r.encoding }

// Next returns the next record, or io.EOF after the last one. Records may
// have more or fewer fields than the header; judging that is left to the
// caller, which knows which columns matter. Data fields are returned as
// written, untrimmed.
//
// A malformed record yields a *LineError; Next may be called again to
// continue with the following record. Any other error is from the
// underlying reader and is final.
func (r *Reader) Next() (Row, error) {
	rec, err := r.csv.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return Row{}, io.EOF
		}
		return Row{}, r.lineError(err)
	}
	line, _ := r.csv.FieldPos(0)
	for i, f := range rec {
		rec[i] = r.fix(f)
	}
	return Row{Line: line, Fields: rec}, nil
}

func (r *Reader) fix(s string) string {
	if r.recode && !utf8.ValidString(s) {
		if d, err := charmap.Windows1252.NewDecoder().String(s); err == nil {
			return d
		}
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}

func (r *Reader) lineError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &LineError{Line: pe.StartLine, Err: pe.Err}
	}
	return err
}

// validUTF8Prefix reports whether b is valid UTF-8. When b is only a prefix
// of the input, a multi-byte sequence cut off at its end is not held against it.
func validUTF8Prefix(b []byte, complete bool) bool {
	if !complete {
		for i := 1; i <= utf8.UTFMax-1 && i <= len(b); i++ {
			if utf8.RuneStart(b[len(b)-i]) {
				if !utf8.FullRune(b[len(b)-i:]) {
					b = b[:len(b)-i]
				}
				break
			}
		}
	}
	return utf8.Valid(b)
}

// checkText rejects the binary files users upload by mistake, with a hint
// that tells them what to do instead of a cascade of parse errors.
func checkText(b []byte) error {
	switch {
	case bytes.HasPrefix(b, []byte("PK\x03\x04")), bytes.HasPrefix(b, []byte{0xD0, 0xCF, 0x11, 0xE0}):
		return fmt.Errorf("%w Es ist eine Excel-Arbeitsmappe; bitte in Excel „Speichern unter“ → „CSV UTF-8 (durch Trennzeichen getrennt)“ wählen.", ErrNotCSV)
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}), bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		return fmt.Errorf("%w Sie ist in UTF-16 („Unicode-Text“) gespeichert; bitte in Excel „CSV UTF-8 (durch Trennzeichen getrennt)“ wählen.", ErrNotCSV)
	case bytes.IndexByte(b, 0) >= 0:
		return fmt.Errorf("%w Sie enthält Binärdaten.", ErrNotCSV)
	}
	return nil
}

// sniffDelimiter counts candidate delimiters outside quotes in the first
// record. Working on raw bytes is safe for both supported encodings because
// none of the bytes involved can be part of a multi-byte character.
func sniffDelimiter(b []byte) rune {
	var semi, comma, tab int
	inQuotes, content := false, false
scan:
	for _, c := range b {
		if c != '\r' && c != '\n' {
			content = true
		}
		switch c {
		case '"':
			inQuotes = !inQuotes
		case '\n':
			// encoding/csv skips empty lines, so the header is the first
			// line with content; stopping there keeps a comma inside the
			// data of a one-column file from deciding the delimiter.
			if !inQuotes && content {
				break scan
			}
		case ';':
			if !inQuotes {
				semi++
			}
		case ',':
			if !inQuotes {
				comma++
			}
		case '\t':
			if !inQuotes {
				tab++
			}
		}
	}
	switch {
	case comma > semi && comma >= tab:
		return ','
	case tab > semi && tab > comma:
		return '\t'
	default:
		return ';'
	}
}

func checkHeader(header []string) error {
	e := &HeaderError{}
	seen := make(map[string]int, len(header)) // folded name → index into header
	for i, name := range header {
		if name == "" {
			e.Empty = append(e.Empty, i+1)
			continue
		}
		key := strings.ToLower(name)
		first, dup := seen[key]
		if !dup {
			seen[key] = i
			continue
		}
		orig := header[first]
		if e.Duplicates == nil {
			e.Duplicates = make(map[string][]int)
		}
		if _, ok := e.Duplicates[orig]; !ok {
			e.Duplicates[orig] = []int{first + 1}
			e.order = append(e.order, orig)
		}
		e.Duplicates[orig] = append(e.Duplicates[orig], i+1)
	}
	if len(e.Empty) > 0 || len(e.Duplicates) > 0 {
		// Report duplicates in the order the user sees the columns, not
		// in the order the second occurrences happen to come.
		sort.Slice(e.order, func(i, j int) bool {
			return e.Duplicates[e.order[i]][0] < e.Duplicates[e.order[j]][0]
		})
		return e
	}
	return nil
}
