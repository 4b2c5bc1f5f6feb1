package vcard

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// prop is one unfolded content line as a client would see it.
type prop struct {
	name   string
	params string
	value  string // raw, still escaped
}

// parse is a deliberately small vCard reader: it checks the physical
// layout (CRLF only, at most 75 octets, valid UTF-8), unfolds, and splits
// each content line into name, parameters and raw value.
func parse(t testing.TB, data string) [][]prop {
	t.Helper()
	if data == "" {
		return nil
	}
	if !strings.HasSuffix(data, "\r\n") {
		t.Fatalf("output does not end in CRLF: %q", data)
	}
	physical := strings.Split(strings.TrimSuffix(data, "\r\n"), "\r\n")
	var logical []string
	for i, l := range physical {
		if strings.ContainsAny(l, "\r\n") {
			t.Fatalf("line %d contains a bare line break: %q", i+1, l)
		}
		if len(l) > maxLine {
			t.Fatalf("line %d has %d octets: %q", i+1, len(l), l)
		}
		if !utf8.ValidString(l) {
			t.Fatalf("line %d is not valid UTF-8 (split sequence?): %q", i+1, l)
		}
		if strings.HasPrefix(l, " ") {
			if len(logical) == 0 {
				t.Fatalf("output starts with a continuation line")
			}
			logical[len(logical)-1] += l[1:]
			continue
		}
		logical = append(logical, l)
	}
	var cards [][]prop
	var cur []prop
	in := false
	for _, l := range logical {
		head, value, ok := strings.Cut(l, ":")
		if !ok {
			t.Fatalf("content line without ':': %q", l)
		}
		name, params, _ := strings.Cut(head, ";")
		switch {
		case l == "BEGIN:VCARD":
			if in {
				t.Fatalf("nested BEGIN")
			}
			in, cur = true, nil
		case l == "END:VCARD":
			if !in {
				t.Fatalf("END without BEGIN")
			}
			in = false
			cards = append(cards, cur)
		default:
			if !in {
				t.Fatalf("property outside a card: %q", l)
			}
			cur = append(cur, prop{name, params, value})
		}
	}
	if in {
		t.Fatalf("card not closed")
	}
	return cards
}

// unescape decodes a text value.
func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
			switch s[i] {
			case 'n', 'N':
				b.WriteByte('\n')
			default:
				b.WriteByte(s[i])
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// split divides a structured or list value at unescaped separators.
func split(s string, sep byte) []string {
	var parts []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case sep:
			parts = append(parts, unescape(s[start:i]))
			start = i + 1
		}
	}
	return append(parts, unescape(s[start:]))
}

func get(card []prop, name string) []prop {
	var out []prop
	for _, p := range card {
		if p.name == name {
			out = append(out, p)
		}
	}
	return out
}

func encode(t testing.TB, cards ...Card) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Encode(&buf, cards...); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestEncodeGolden(t *testing.T) {
	bday := time.Date(1970, 4, 12, 0, 0, 0, 0, time.UTC)
	zurich := time.FixedZone("CET", 3600)
	card := Card{
		Kind:          "individual",
		FormattedName: "Dr. Hans Müller",
		FamilyName:    "Müller",
		GivenName:     "Hans",
		Prefix:        "Dr.",
		Emails:        []string{"hans@mueller.ch", "h.mueller@example.com"},
		Phones: []Phone{
			{Number: "+41441234567", Type: "work"},
			{Number: "+41791234567", Type: "cell"},
			{Number: "044 123 45 67", Type: "home"},
		},
		Org:        "Müller & Söhne AG",
		Title:      "Geschäftsführer",
		Address:    &Address{Street: "Bahnhofstrasse 1", Locality: "Zürich", Region: "ZH", PostalCode: "8001", Country: "CH"},
		Birthday:   &bday,
		Language:   "de",
		Note:       "Kunde seit 2010; bevorzugt Anrufe, keine E-Mails.",
		UID:        "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
		Rev:        time.Date(2024, 1, 31, 12, 0, 0, 0, zurich),
		Categories: []string{"Kunde", "VIP"},
	}
	want := "BEGIN:VCARD\r\n" +
		"VERSION:4.0\r\n" +
		"KIND:individual\r\n" +
		"FN:Dr. Hans Müller\r\n" +
		"N:Müller;Hans;;Dr.;\r\n" +
		"BDAY:19700412\r\n" +
		"ADR:;;Bahnhofstrasse 1;Zürich;ZH;8001;CH\r\n" +
		"TEL;VALUE=uri;TYPE=work:tel:+41441234567\r\n" +
		"TEL;VALUE=uri;TYPE=cell:tel:+41791234567\r\n" +
		"TEL;TYPE=home:044 123 45 67\r\n" +
		"EMAIL;PREF=1:hans@mueller.ch\r\n" +
		"EMAIL:h.mueller@example.com\r\n" +
		"LANG:de\r\n" +
		"TITLE:Geschäftsführer\r\n" +
		"ORG:Müller & Söhne AG\r\n" +
		"CATEGORIES:Kunde,VIP\r\n" +
		"NOTE:Kunde seit 2010\\; bevorzugt Anrufe\\, keine E-Mails.\r\n" +
		"REV:20240131T110000Z\r\n" +
		"UID:urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6\r\n" +
		"END:VCARD\r\n"
	if got := encode(t, card); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestEncodeMinimal(t *testing.T) {
	got := encode(t, Card{GivenName: "Anna"})
	want := "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Anna\r\nN:;Anna;;;\r\nEND:VCARD\r\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestEscaping(t *testing.T) {
	card := Card{
		FormattedName: `Meier, Anna; "Annie" C:\Daten`,
		FamilyName:    "Meier; von",
		GivenName:     "Anna, Maria",
		Org:           "A; B AG",
		Address:       &Address{Street: "c/o Muster\r\nHauptstrasse 5", Locality: "Biel/Bienne"},
		Categories:    []string{"Kunde, aktiv", "Lieferant;neu"},
		// A raw line break here would end the card and start a forged one.
		Note: "Zeile 1\r\nEND:VCARD\r\nBEGIN:VCARD\nFN:Böse\rletzte\x00\x1b Zeile\tmit Tab",
	}
	out := encode(t, card)
	cards := parse(t, out)
	if len(cards) != 1 {
		t.Fatalf("got %d cards, want 1:\n%s", len(cards), out)
	}
	c := cards[0]
	if !strings.Contains(out, "FN:Meier\\, Anna\\; \"Annie\" C:\\\\Daten\r\n") {
		t.Errorf("FN not escaped as expected:\n%s", out)
	}
	if got := unescape(get(c, "FN")[0].value); got != card.FormattedName {
		t.Errorf("FN = %q", got)
	}
	if got, want := split(get(c, "N")[0].value, ';'), []string{"Meier; von", "Anna, Maria", "", "", ""}; !reflect.DeepEqual(got, want) {
		t.Errorf("N = %q, want %q", got, want)
	}
	if got, want := split(get(c, "ORG")[0].value, ';'), []string{"A; B AG"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ORG = %q, want %q", got, want)
	}
	if got, want := split(get(c, "ADR")[0].value, ';'), []string{"", "", "c/o Muster\nHauptstrasse 5", "Biel/Bienne", "", "", ""}; !reflect.DeepEqual(got, want) {
		t.Errorf("ADR = %q, want %q", got, want)
	}
	if got, want := split(get(c, "CATEGORIES")[0].value, ','), card.Categories; !reflect.DeepEqual(got, want) {
		t.Errorf("CATEGORIES = %q, want %q", got, want)
	}
	wantNote := "Zeile 1\nEND:VCARD\nBEGIN:VCARD\nFN:Böse\nletzte Zeile\tmit Tab"
	if got := unescape(get(c, "NOTE")[0].value); got != wantNote {
		t.Errorf("NOTE = %q, want %q", got, wantNote)
	}
}

func TestFolding(t *testing.T) {
	note := strings.Repeat("Grüezi Frau Müller, schöne Grüsse aus Zürich – Ihr Team. ", 12) + "€✓"
	out := encode(t, Card{FormattedName: "Müller", Note: note})
	lines := strings.Split(out, "\r\n")
	continued := 0
	for _, l := range lines {
		if strings.HasPrefix(l, " ") {
			continued++
		}
	}
	if continued < 10 {
		t.Fatalf("only %d continuation lines for a %d-octet note", continued, len(note))
	}
	cards := parse(t, out) // checks ≤ 75 octets and no split UTF-8 per line
	if got := unescape(get(cards[0], "NOTE")[0].value); got != note {
		t.Errorf("unfolded note differs:\n%q\n%q", got, note)
	}

	// Slide umlauts and escapes across every fold position.
	for pad := 0; pad < 8; pad++ {
		note := strings.Repeat("x", pad) + strings.Repeat("ü,ä\\ö;€", 30)
		out := encode(t, Card{FormattedName: "A", Note: note})
		for _, l := range strings.Split(out, "\r\n") {
			if escapeOpensAt(l, len(l)-1) {
				t.Errorf("pad %d: fold splits an escape after %q", pad, l)
			}
		}
		cards := parse(t, out)
		if got := unescape(get(cards[0], "NOTE")[0].value); got != note {
			t.Errorf("pad %d: unfolded note differs", pad)
		}
	}
}

func TestSeveralCards(t *testing.T) {
	if out := encode(t); out != "" {
		t.Errorf("no cards gave %q", out)
	}
	out := encode(t,
		Card{FormattedName: "Anna Meier"},
		Card{Kind: "org", Org: "Muster AG"},
		Card{Emails: []string{"", "info@example.ch"}},
		Card{},
	)
	cards := parse(t, out)
	var names []string
	for _, c := range cards {
		if get(c, "VERSION")[0].value != "4.0" {
			t.Errorf("card without VERSION:4.0: %v", c)
		}
		if c[0].name != "VERSION" {
			t.Errorf("VERSION is not right after BEGIN: %v", c)
		}
		names = append(names, unescape(get(c, "FN")[0].value))
	}
	// FN is mandatory in vCard 4.0, so it falls back on what there is.
	if want := []string{"Anna Meier", "Muster AG", "info@example.ch", ""}; !reflect.DeepEqual(names, want) {
		t.Errorf("FN values = %q, want %q", names, want)
	}
}

func TestPhones(t *testing.T) {
	out := encode(t, Card{FormattedName: "A", Phones: []Phone{
		{Number: "+41791234567", Type: "CELL"},
		{Number: "+41 79 123 45 67"}, // not E.164: kept as text
		{Number: "079 123 45 67; intern 12", Type: "work"},
		{Number: "", Type: "home"}, // nothing to write
	}})
	want := []prop{
		{"TEL", "VALUE=uri;TYPE=cell", "tel:+41791234567"},
		{"TEL", "", "+41 79 123 45 67"},
		{"TEL", "TYPE=work", "079 123 45 67\\; intern 12"},
	}
	if got := get(parse(t, out)[0], "TEL"); !reflect.DeepEqual(got, want) {
		t.Errorf("TEL = %q, want %q", got, want)
	}
}

func TestUID(t *testing.T) {
	for uid, want := range map[string]prop{
		"F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6":          {"UID", "", "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6"},
		"urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6": {"UID", "", "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6"},
		"https://crm.example.ch/contacts/42":            {"UID", "", "https://crm.example.ch/contacts/42"},
		"kontakt 42, alt":                               {"UID", "VALUE=text", "kontakt 42\\, alt"},
	} {
		got := get(parse(t, encode(t, Card{FormattedName: "A", UID: uid}))[0], "UID")
		if len(got) != 1 || got[0] != want {
			t.Errorf("UID %q: got %q, want %q", uid, got, want)
		}
	}
}

// An invalid card anywhere aborts the export before a single byte is
// written, so a caller streaming to an HTTP response can still send an error.
func TestEncodeRejectsInvalidCards(t *testing.T) {
	for name, bad := range map[string]Card{
		"phone type": {Phones: []Phone{{Number: "+41791234567", Type: "mobile"}}},
		"language":   {Language: "de\r\nFN:x"},
		"kind":       {Kind: "person"},
	} {
		var buf bytes.Buffer
		err := Encode(&buf, Card{FormattedName: "gut"}, bad)
		if err == nil || !strings.Contains(err.Error(), "card 2") {
			t.Errorf("%s: err = %v, want an error naming card 2", name, err)
		}
		if buf.Len() != 0 {
			t.Errorf("%s: %d bytes written despite the error", name, buf.Len())
		}
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestEncodeReportsWriteError(t *testing.T) {
	if err := Encode(failWriter{}, Card{FormattedName: "A"}); err == nil {
		t.Error("write error was swallowed")
	}
}

// expectText is what a text value must decode to: valid UTF-8, every kind
// of line break as "\n", other control characters gone.
func expectText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(s)
	return strings.Map(func(r rune) rune {
		if (r < 0x20 && r != '\t' && r != '\n') || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

func FuzzEncode(f *testing.F) {
	f.Add("Müller", "Note\r\nEND:VCARD", "A;B", "Strasse\n1", "a,b", "+41791234567", "x@y.ch", "uid")
	f.Add(strings.Repeat("ü", 40), strings.Repeat("\\,", 50), "", "", "", "", "", "")
	f.Add("\xff\xfe", "\r", "\x00", "€", "\\", "tel:1", "", "urn:uuid:x")
	f.Fuzz(func(t *testing.T, fn, note, org, street, cat, phone, email, uid string) {
		card := Card{
			FormattedName: fn, GivenName: fn, Note: note, Org: org, Title: org,
			Address:    &Address{Street: street, Locality: cat},
			Categories: []string{cat, note},
			Phones:     []Phone{{Number: phone, Type: "work"}},
			Emails:     []string{email},
			UID:        uid,
		}
		var buf bytes.Buffer
		if err := Encode(&buf, card, Card{FormattedName: note}); err != nil {
			t.Fatal(err)
		}
		cards := parse(t, buf.String()) // layout checks: CRLF only, ≤ 75 octets, UTF-8
		if len(cards) != 2 {
			t.Fatalf("got %d cards, want 2", len(cards))
		}
		if fn != "" {
			if got, want := unescape(get(cards[0], "FN")[0].value), expectText(fn); got != want {
				t.Fatalf("FN = %q, want %q", got, want)
			}
		}
		if note != "" {
			if got, want := unescape(get(cards[0], "NOTE")[0].value), expectText(note); got != want {
				t.Fatalf("NOTE = %q, want %q", got, want)
			}
		}
		if org != "" {
			if got, want := split(get(cards[0], "ORG")[0].value, ';'), []string{expectText(org)}; !reflect.DeepEqual(got, want) {
				t.Fatalf("ORG = %q, want %q", got, want)
			}
		}
		if got := unescape(get(cards[1], "FN")[0].value); got != expectText(note) {
			t.Fatalf("second card FN = %q, want %q", got, expectText(note))
		}
	})
}
