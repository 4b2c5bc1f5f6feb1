package csvfile

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"strings"
)

// WriterOptions configures a Writer. The zero value writes plain RFC 4180
// CSV (comma, no BOM); exports meant to be opened in Excel should use
// ExcelOptions.
type WriterOptions struct {
	// Delimiter is ',' (the default when zero), ';' or '\t'.
	Delimiter rune
	// BOM writes a UTF-8 byte order mark first. Excel needs it to read the
	// file as UTF-8; without it umlauts turn into mojibake.
	BOM bool
}

// ExcelOptions is what a Swiss Excel opens by double-click without the
// import wizard: ';' separated (Excel takes the list separator from the
// regional settings, which is ';' in Switzerland) and UTF-8 with BOM.
var ExcelOptions = WriterOptions{Delimiter: ';', BOM: true}

// Writer writes CSV records with CRLF line endings, quoting as needed and
// neutralising formulas. Create it with NewWriter; call Flush at the end.
type Writer struct {
	csv *csv.Writer
	err error
}

// NewWriter returns a Writer for w. An unsupported delimiter is reported
// by the first Write or Flush.
func NewWriter(w io.Writer, opts WriterOptions) *Writer {
	d := opts.Delimiter
	if d == 0 {
		d = ','
	}
	// csv.NewWriter reuses a *bufio.Writer, so the BOM sits in the same
	// buffer ahead of the first record and its write error surfaces in Flush.
	bw := bufio.NewWriter(w)
	if opts.BOM {
		_, _ = bw.Write(utf8BOM) // cannot fail before Flush, which reports errors
	}
	cw := csv.NewWriter(bw)
	cw.Comma = d
	cw.UseCRLF = true
	wr := &Writer{csv: cw}
	if d != ',' && d != ';' && d != '\t' {
		wr.err = fmt.Errorf("csvfile: unsupported delimiter %q", d)
	}
	return wr
}

// Write writes one record. Every cell is passed through NeutraliseFormula
// first, so the record may contain data typed by anyone.
func (w *Writer) Write(record []string) error {
	if w.err != nil {
		return w.err
	}
	out := make([]string, len(record))
	for i, c := range record {
		if strings.IndexByte(c, '\r') >= 0 {
			// With CRLF output encoding/csv drops every '\r' in a field, which
			// would glue together lines that old Mac data separates by a
			// lone CR; turning them into '\n' keeps the break. This comes
			// first so that the guard sees what will be written.
			c = strings.ReplaceAll(strings.ReplaceAll(c, "\r\n", "\n"), "\r", "\n")
		}
		out[i] = NeutraliseFormula(c)
	}
	return w.csv.Write(out)
}

// Flush writes any buffered data to the underlying writer and reports the
// first error of any earlier Write.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	w.csv.Flush()
	return w.csv.Error()
}

// NeutraliseFormula prefixes a single quote to a cell that a spreadsheet
// would evaluate: one beginning with '=', '+', '-', '@', tab or carriage
// return (OWASP "CSV Injection"), and line feed, which Writer makes of a
// carriage return. A contact named "=HYPERLINK(...)" or
// "+41 44 …" then shows as text instead of running or mangling anything.
//
// Following OWASP, this applies to negative numbers too: "-12.50" is
// written as "'-12.50" and Excel shows it as text. Exempting numbers would
// mean deciding, for every spreadsheet program, which strings it reads as
// a plain number rather than a formula ("-1+1" is a formula); getting that
// wrong reopens the hole, while the cost of prefixing is only cosmetic.
//
// A cell that already looks guarded ("'=x") gets another quote, so that
// RemoveFormulaGuard can undo this exactly instead of eating a quote the
// user typed.
func NeutraliseFormula(cell string) string {
	if guardable(cell) {
		return "'" + cell
	}
	return cell
}

// RemoveFormulaGuard undoes NeutraliseFormula, so that exporting and
// re-importing a file gives back "+41 44 123 45 67", not
// "'+41 44 123 45 67". It drops a leading single quote only where
// NeutraliseFormula would have added one; other quotes stay.
func RemoveFormulaGuard(cell string) string {
	if strings.HasPrefix(cell, "'") && guardable(cell[1:]) {
		return cell[1:]
	}
	return cell
}

// guardable reports whether cell, after any leading single quotes, starts
// with a character that makes a spreadsheet evaluate it.
func guardable(cell string) bool {
	rest := strings.TrimLeft(cell, "'")
	return rest != "" && strings.IndexByte("=+-@\t\r\n", rest[0]) >= 0
}
