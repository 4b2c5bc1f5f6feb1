package csvfile

import (
	"strings"
	"testing"
	"time"
)

func TestParseSwissDate(t *testing.T) {
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	good := map[string]time.Time{
		"31.12.2024":   day(2024, 12, 31),
		"1.2.2024":     day(2024, 2, 1),
		"01.02.2024":   day(2024, 2, 1),
		" 29.02.2024 ": day(2024, 2, 29),
		"31.12.24":     day(2024, 12, 31),
		"1.1.29":       day(2029, 1, 1), // Excel's cut-off: 00–29 → 20xx
		"1.1.30":       day(1930, 1, 1), // 30–99 → 19xx
		"15.6.85":      day(1985, 6, 15),
		"2024-12-31":   day(2024, 12, 31),
	}
	for in, want := range good {
		got, err := ParseSwissDate(in)
		if err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("ParseSwissDate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{
		"", "31.02.2024", "29.02.2023", "32.1.2024", "1.13.2024", "0.1.2024",
		"31.12.", "31.12.202", "31.12.20245", "31.12.ab", "31/12/2024", "12/31/2024",
		"2024-1-5", "2024-12-31T10:00", "31.12.2024 10:00", "+1.2.2024", "1.2.0000",
	} {
		if got, err := ParseSwissDate(in); err == nil {
			t.Errorf("ParseSwissDate(%q) = %v, want error", in, got)
		} else if !strings.Contains(err.Error(), "Ungültiges Datum") {
			t.Errorf("ParseSwissDate(%q) error %q is not the German message", in, err)
		}
	}
}

func TestFormatSwissDate(t *testing.T) {
	if got := FormatSwissDate(time.Date(2024, 2, 1, 23, 59, 0, 0, time.UTC)); got != "01.02.2024" {
		t.Errorf("got %q", got)
	}
}

func TestParseSwissDecimal(t *testing.T) {
	good := map[string]string{
		"1'234.50":      "1234.50",
		"1’234.50":      "1234.50",
		"1 234,50":      "1234.50",
		"1\u00a0234,50": "1234.50",
		"1\u202f234,50": "1234.50",
		"1234,50":       "1234.50",
		"1234.5":        "1234.5",
		"-12.00":        "-12.00",
		"−12.00":        "-12.00",
		"CHF 1'234.50":  "1234.50",
		"chf1'234.50":   "1234.50",
		"1'234.50 CHF":  "1234.50",
		"CHF -5":        "-5",
		"-CHF 5":        "-5",
		"1.234,50":      "1234.50",
		"1,234.50":      "1234.50",
		"1.234.567":     "1234567",
		"1,234,567.891": "1234567.891",
		"1'234'567":     "1234567",
		"1'234.567":     "1234.567", // the apostrophe settles what the dot is
		"0.125":         "0.125",    // no thousands group starts with 0
		"0,5":           "0.5",
		".5":            "0.5",
		"007":           "7",
		"1000,500":      "1000.500",
		"-0.00":         "0.00",
		"12.–":          "12",
		"1'250.-":       "1250",
		" 42 ":          "42",
		"123456789012345678901234567890.123456789": "123456789012345678901234567890.123456789",
	}
	for in, want := range good {
		got, err := ParseSwissDecimal(in)
		if err != nil || got != want {
			t.Errorf("ParseSwissDecimal(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{
		"", "CHF", "-", "abc", "12a", "1e5", "EUR 12.50", "12.50 €", "$12",
		"1.234,5.6", "1,234,5", "1.2.3", "1'23.50", "12'34", "0'123", "'5",
		"1'234 567", "1.234'567", "5.", "5,", "1..5", "--12", "+-1", "1-",
		"1.5.–", "١٢",
		// Ambiguous: one thousand or one point something?
		"1.234", "1,234", "12,500", "999.999", "-1.234", "0123.456",
	} {
		if got, err := ParseSwissDecimal(in); err == nil {
			t.Errorf("ParseSwissDecimal(%q) = %q, want error", in, got)
		} else if !strings.HasPrefix(err.Error(), "Ungültiger Betrag") {
			t.Errorf("ParseSwissDecimal(%q) error %q is not the German message", in, err)
		}
	}
}

func TestFormatSwissDecimal(t *testing.T) {
	for in, want := range map[string]string{
		"0":           "0",
		"999":         "999",
		"1234.50":     "1'234.50",
		"-1234567.5":  "-1'234'567.5",
		"100000":      "100'000",
		"12.3456":     "12.3456",
		"":            "",
		"n/a":         "n/a",
		"1e5":         "1e5",
		"-":           "-",
		"1.":          "1.",
		"1'234.50":    "1'234.50",
		"12345678.00": "12'345'678.00",
	} {
		if got := FormatSwissDecimal(in); got != want {
			t.Errorf("FormatSwissDecimal(%q) = %q, want %q", in, got, want)
		}
	}
	// What is formatted for people must read back as the same amount.
	for _, canon := range []string{"1234.50", "-1000000", "0.01", "999999.999"} {
		if got, err := ParseSwissDecimal(FormatSwissDecimal(canon)); err != nil || got != canon {
			t.Errorf("round trip of %q = %q, %v", canon, got, err)
		}
	}
}

func TestParseBool(t *testing.T) {
	for _, in := range []string{"ja", "Ja", "JA", "yes", "oui", "sì", "SÌ", "si", "true", "TRUE", "1", "x", "X", " ja ", "WAHR", "VRAI", "VERO"} {
		if got, err := ParseBool(in); err != nil || !got {
			t.Errorf("ParseBool(%q) = %v, %v; want true", in, got, err)
		}
	}
	for _, in := range []string{"nein", "Nein", "no", "non", "false", "0", "", "  ", "FALSCH", "FAUX", "FALSO"} {
		if got, err := ParseBool(in); err != nil || got {
			t.Errorf("ParseBool(%q) = %v, %v; want false", in, got, err)
		}
	}
	for _, in := range []string{"vielleicht", "2", "-", "jein", "y"} {
		if _, err := ParseBool(in); err == nil || !strings.Contains(err.Error(), "Ja/Nein") {
			t.Errorf("ParseBool(%q) err = %v, want German error", in, err)
		}
	}
}

func FuzzParseSwissDecimal(f *testing.F) {
	for _, seed := range []string{
		"1'234.50", "1’234.50", "1 234,50", "1234,50", "1234.5", "-12.00",
		"CHF 1'234.50", "1'234.50 CHF", "1.234,5.6", "1.234", "0123.456", ".5", "12.–", "-0",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := ParseSwissDecimal(s)
		if err != nil {
			return
		}
		again, err := ParseSwissDecimal(out)
		if err != nil || again != out {
			t.Fatalf("%q → %q → %q, %v", s, out, again, err)
		}
		if strings.Trim(out, "-0123456789.") != "" || strings.Count(out, ".") > 1 {
			t.Fatalf("%q → %q is not a plain decimal", s, out)
		}
		if f := FormatSwissDecimal(out); f == out && len(strings.Split(strings.TrimPrefix(out, "-"), ".")[0]) > 3 {
			t.Fatalf("FormatSwissDecimal(%q) did not group", out)
		}
		if back, err := ParseSwissDecimal(FormatSwissDecimal(out)); err != nil || back != out {
			t.Fatalf("format round trip %q → %q → %q, %v", out, FormatSwissDecimal(out), back, err)
		}
	})
}
