package csvfile

import (
	"fmt"
	"strings"
	"time"
)

// ParseSwissDate parses a calendar date as Swiss users write it: 31.12.2024,
// 1.2.2024, 31.12.24, or ISO 2024-12-31. Surrounding spaces are ignored.
// The result is midnight UTC of that day, so that it never shifts to a
// neighbouring day when stored as a date.
//
// Two-digit years 00–29 mean 2000–2029 and 30–99 mean 1930–1999, the same
// cut-off as Excel, so a value reads the same here as in the user's sheet.
func ParseSwissDate(s string) (time.Time, error) {
	t := strings.TrimSpace(s)
	bad := func() (time.Time, error) {
		return time.Time{}, fmt.Errorf("Ungültiges Datum „%s“ (erwartet TT.MM.JJJJ oder JJJJ-MM-TT).", s)
	}
	var day, month, year int
	if parts := strings.Split(t, "."); len(parts) == 3 {
		var ok bool
		if day, ok = digits(parts[0], 1, 2); !ok {
			return bad()
		}
		if month, ok = digits(parts[1], 1, 2); !ok {
			return bad()
		}
		if year, ok = digits(parts[2], 2, 4); !ok || len(parts[2]) == 3 {
			return bad()
		}
		if len(parts[2]) == 2 {
			if year < 30 {
				year += 2000
			} else {
				year += 1900
			}
		}
	} else if parts := strings.Split(t, "-"); len(parts) == 3 {
		var ok1, ok2, ok3 bool
		year, ok1 = digits(parts[0], 4, 4)
		month, ok2 = digits(parts[1], 2, 2)
		day, ok3 = digits(parts[2], 2, 2)
		if !ok1 || !ok2 || !ok3 {
			return bad()
		}
	} else {
		return bad()
	}
	if year < 1 || month < 1 || month > 12 || day < 1 {
		return bad()
	}
	d := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	if d.Day() != day {
		// time.Date normalises 31.02. to 3.3.; a typo must not become a
		// different valid date.
		return bad()
	}
	return d, nil
}

// digits parses an unsigned decimal of min..max ASCII digits.
func digits(s string, min, max int) (int, bool) {
	if len(s) < min || len(s) > max {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// FormatSwissDate formats the calendar date of t as 31.12.2024.
func FormatSwissDate(t time.Time) string { return t.Format("02.01.2006") }

// ParseSwissDecimal parses an amount as written in Swiss, German, French
// and English spreadsheets and returns it canonically: an optional '-',
// the integer digits without leading zeros, and '.' followed by the
// fraction digits exactly as given (the scale is kept, so "12.50" stays
// "12.50"). It works on the digits only and never goes through float64,
// so no amount is ever rounded.
//
// Accepted: 1'234.50, 1’234.50, 1 234,50 (also with non-breaking spaces),
// 1.234,50, 1,234.50, 1234,50, 1234.5, -12.00, .5, CHF 1'234.50,
// 1'234.50 CHF, and the Swiss "12.–" for whole francs.
//
// Rejected: anything with letters or other currencies (an amount in EUR must
// not silently become CHF), misplaced group separators, several decimal
// separators, and a single '.' or ',' followed by exactly three digits
// after one to three digits, such as 1.234 or 12,500: German files write
// 1.234 for one thousand two hundred thirty-four, Swiss and English ones
// for one point two three four, and guessing wrong is off by a factor of
// 1000. Write 1'234 or 1.2340 instead.
func ParseSwissDecimal(s string) (string, error) {
	out, msg := parseDecimal(s)
	if msg != "" {
		return "", fmt.Errorf("Ungültiger Betrag „%s“: %s.", s, msg)
	}
	return out, nil
}

func parseDecimal(s string) (string, string) {
	t := strings.TrimSpace(s)
	neg := false
	sign := func() {
		if neg {
			return
		}
		for _, m := range []string{"-", "−"} { // hyphen-minus, U+2212 minus sign
			if strings.HasPrefix(t, m) {
				neg = true
				t = strings.TrimSpace(t[len(m):])
				return
			}
		}
	}
	sign()
	if len(t) >= 3 && strings.EqualFold(t[:3], "CHF") {
		t = strings.TrimSpace(t[3:])
		sign()
	}
	if len(t) >= 3 && strings.EqualFold(t[len(t)-3:], "CHF") {
		t = strings.TrimSpace(t[:len(t)-3])
	}
	// "12.–" and "12.-" are how Swiss price tags write whole francs.
	wholeFrancs := false
	for _, suffix := range []string{".–", ".-", ",–", ",-"} {
		if strings.HasSuffix(t, suffix) {
			t = t[:len(t)-len(suffix)]
			wholeFrancs = true
			break
		}
	}
	if t == "" {
		return "", "keine Ziffern"
	}

	// Split into digit runs and the separators between them, with the
	// typographic variants folded: '\'' for apostrophes, ' ' for spaces.
	var runs []string
	var seps []byte
	cur := strings.Builder{}
	for _, r := range t {
		var k byte
		switch r {
		case '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			cur.WriteRune(r)
			continue
		case '.', ',':
			k = byte(r)
		case '\'', '’':
			k = '\''
		case ' ', '\u00A0', '\u202F':
			k = ' '
		default:
			return "", "unerlaubtes Zeichen"
		}
		runs = append(runs, cur.String())
		cur.Reset()
		seps = append(seps, k)
	}
	runs = append(runs, cur.String())

	// Decide which separator, if any, is the decimal one.
	decimal := byte(0)
	var last byte
	if len(seps) > 0 {
		last = seps[len(seps)-1]
	}
	count := func(k byte) int {
		n := 0
		for _, c := range seps {
			if c == k {
				n++
			}
		}
		return n
	}
	dots, commas := count('.'), count(',')
	switch {
	case dots > 0 && commas > 0:
		// Both present: the last one is the decimal separator and must be
		// unique; the other one groups thousands.
		if last != '.' && last != ',' || count(last) != 1 {
			return "", "mehrdeutige Dezimal- und Tausendertrennzeichen"
		}
		decimal = last
	case dots == 1 || commas == 1:
		k := byte('.')
		if commas == 1 {
			k = ','
		}
		if last != k {
			return "", "Dezimaltrennzeichen an falscher Stelle"
		}
		decimal = k
	case dots > 1 || commas > 1:
		// 1.234.567 or 1,234,567: only grouping, no fraction.
	}

	intRuns, frac := runs, ""
	if decimal != 0 {
		intRuns, frac = runs[:len(runs)-1], runs[len(runs)-1]
		if frac == "" {
			return "", "keine Ziffern nach dem Dezimaltrennzeichen"
		}
		if wholeFrancs {
			return "", "„.–“ nach Nachkommastellen"
		}
	}
	group := byte(0)
	for _, k := range seps[:len(intRuns)-1] {
		if group != 0 && k != group {
			return "", "gemischte Tausendertrennzeichen"
		}
		group = k
	}
	if group != 0 {
		if len(intRuns[0]) < 1 || len(intRuns[0]) > 3 || intRuns[0][0] == '0' {
			return "", "Tausendertrennzeichen an falscher Stelle"
		}
		for _, g := range intRuns[1:] {
			if len(g) != 3 {
				return "", "Tausendertrennzeichen an falscher Stelle"
			}
		}
	}
	intDigits := strings.Join(intRuns, "")
	if intDigits == "" && (decimal == 0 || len(intRuns) > 1) {
		return "", "keine Ziffern"
	}
	intDigits = strings.TrimLeft(intDigits, "0")
	if group == 0 && decimal != 0 && len(frac) == 3 && len(intDigits) >= 1 && len(intDigits) <= 3 {
		return "", "mehrdeutig (Tausendertrennzeichen oder Dezimaltrennzeichen?), bitte 1'234 oder 1.2340 schreiben"
	}
	if intDigits == "" {
		intDigits = "0"
	}
	out := intDigits
	if frac != "" {
		out += "." + frac
	}
	if neg && strings.Trim(out, "0.") != "" {
		out = "-" + out
	}
	return out, ""
}

// FormatSwissDecimal inserts apostrophes between thousands of a canonical
// decimal such as ParseSwissDecimal returns or PostgreSQL prints for
// numeric: "-1234567.50" becomes "-1'234'567.50". The ASCII apostrophe is
// used because it is what every Swiss keyboard types and what
// ParseSwissDecimal reads back. Anything that is not a plain decimal is
// returned unchanged, so a caller can pass through whatever it has.
func FormatSwissDecimal(s string) string {
	body, sign := s, ""
	if strings.HasPrefix(body, "-") {
		body, sign = body[1:], "-"
	}
	intPart, frac, hasFrac := strings.Cut(body, ".")
	if _, ok := digits(intPart, 1, len(intPart)); !ok {
		return s
	}
	if hasFrac {
		if _, ok := digits(frac, 1, len(frac)); !ok {
			return s
		}
		frac = "." + frac
	}
	var b strings.Builder
	b.WriteString(sign)
	for i := 0; i < len(intPart); i++ {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte('\'')
		}
		b.WriteByte(intPart[i])
	}
	b.WriteString(frac)
	return b.String()
}

// ParseBool accepts the yes/no spellings found in Swiss files: ja/nein,
// yes/no, oui/non, sì/si/no, true/false, 1/0, x/empty (a ticked column),
// and the words Excel itself writes for boolean cells in German, French
// and Italian: WAHR/FALSCH, VRAI/FAUX, VERO/FALSO. Case and surrounding
// spaces are ignored.
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "ja", "yes", "oui", "sì", "si", "true", "1", "x", "wahr", "vrai", "vero":
		return true, nil
	case "nein", "no", "non", "false", "0", "", "falsch", "faux", "falso":
		return false, nil
	}
	return false, fmt.Errorf("Ungültiger Ja/Nein-Wert „%s“ (erwartet ja oder nein).", s)
}
