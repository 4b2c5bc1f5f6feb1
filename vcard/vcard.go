// Package vcard writes contacts as vCard 4.0 (RFC 6350), the format that
// Apple Contacts, Outlook, Android and CardDAV servers import.
package vcard

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Card is one contact. Empty fields are left out of the output.
type Card struct {
	// Kind is "individual" (the vCard default when empty), "org", "group"
	// or "location".
	Kind string
	// FormattedName is the name as displayed. vCard requires one, so when
	// it is empty it is made from GivenName and FamilyName, else Org, else
	// the first e-mail address.
	FormattedName string
	FamilyName    string
	GivenName     string
	// Prefix is an honorific such as "Dr." or "Prof.".
	Prefix string
	// Emails are written in order; the first one is marked preferred.
	Emails []string
	Phones []Phone
	Org    string
	Title  string
	// Address is the postal address, if any.
	Address *Address
	// Birthday is written as a date; only its year, month and day (in its
	// own location) are used.
	Birthday *time.Time
	// Language is a language tag such as "de", "fr", "it", "en" or "de-CH",
	// written as LANG so that clients can address the contact in it.
	Language string
	Note     string
	// UID identifies the contact across exports, so that importing a newer
	// export updates contacts instead of duplicating them. A bare UUID is
	// written as urn:uuid:….
	UID string
	// Rev is when the contact last changed; zero leaves it out.
	Rev        time.Time
	Categories []string
}

// Phone is a telephone number. A Number in E.164 form (+41441234567) is
// written as a tel: URI, which clients can dial; anything else is kept as
// free text rather than dropped.
type Phone struct {
	Number string
	// Type is "work", "home", "cell" (mobile) or another RFC 6350 TEL type
	// (voice, fax, video, pager, text, textphone); empty writes none.
	Type string
}

// Address is a postal address. Country is written as given, which for RP
// CRM is the ISO 3166 code (CH), not a country name.
type Address struct {
	Street     string
	Locality   string
	Region     string
	PostalCode string
	Country    string
}

// maxLine is the RFC 6350 limit for a physical line, in octets, without
// the CRLF.
const maxLine = 75

var (
	kinds    = map[string]bool{"individual": true, "org": true, "group": true, "location": true}
	telTypes = map[string]bool{"work": true, "home": true, "cell": true, "voice": true, "fax": true,
		"video": true, "pager": true, "text": true, "textphone": true}
	e164    = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)
	langTag = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$`)
	uuidRE  = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)
	uriRE   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:[^\x00-\x20\x7f]+$`)
)

// Encode writes the cards in order. Every card is checked before anything
// is written, so an invalid card never leaves a truncated export behind
// (or a half-sent HTTP response).
func Encode(w io.Writer, cards ...Card) error {
	for i, c := range cards {
		if err := c.validate(); err != nil {
			return fmt.Errorf("vcard: card %d: %w", i+1, err)
		}
	}
	bw := bufio.NewWriter(w)
	for _, c := range cards {
		c.encode(bw)
	}
	return bw.Flush()
}

func (c Card) validate() error {
	if c.Kind != "" && !kinds[strings.ToLower(c.Kind)] {
		return fmt.Errorf("invalid kind %q", c.Kind)
	}
	for _, p := range c.Phones {
		if p.Type != "" && !telTypes[strings.ToLower(p.Type)] {
			return fmt.Errorf("invalid phone type %q", p.Type)
		}
	}
	// LANG is not a text value and cannot be escaped; anything but a
	// language tag could break out of the property.
	if c.Language != "" && !langTag.MatchString(c.Language) {
		return fmt.Errorf("invalid language tag %q", c.Language)
	}
	return nil
}

func (c Card) encode(w *bufio.Writer) {
	put := func(line string) { writeFolded(w, line) }

	put("BEGIN:VCARD")
	put("VERSION:4.0")
	if c.Kind != "" {
		put("KIND:" + strings.ToLower(c.Kind))
	}
	put("FN:" + escape(c.formattedName()))
	if c.FamilyName != "" || c.GivenName != "" || c.Prefix != "" {
		// family;given;additional;prefixes;suffixes
		put("N:" + structured(c.FamilyName, c.GivenName, "", c.Prefix, ""))
	}
	if c.Birthday != nil {
		put("BDAY:" + c.Birthday.Format("20060102"))
	}
	if a := c.Address; a != nil && (a.Street != "" || a.Locality != "" || a.Region != "" || a.PostalCode != "" || a.Country != "") {
		// post office box;extended address;street;locality;region;postal code;country
		put("ADR:" + structured("", "", a.Street, a.Locality, a.Region, a.PostalCode, a.Country))
	}
	for _, p := range c.Phones {
		if p.Number == "" {
			continue
		}
		params := ""
		if p.Type != "" {
			params = ";TYPE=" + strings.ToLower(p.Type)
		}
		if e164.MatchString(p.Number) {
			put("TEL;VALUE=uri" + params + ":tel:" + p.Number)
		} else {
			put("TEL" + params + ":" + escape(p.Number))
		}
	}
	emails := nonEmpty(c.Emails)
	for i, e := range emails {
		if i == 0 && len(emails) > 1 {
			put("EMAIL;PREF=1:" + escape(e))
		} else {
			put("EMAIL:" + escape(e))
		}
	}
	if c.Language != "" {
		put("LANG:" + c.Language)
	}
	if c.Title != "" {
		put("TITLE:" + escape(c.Title))
	}
	if c.Org != "" {
		// ORG is structured (name;unit;…): a ';' in the name is escaped
		// like any other, so it stays one component.
		put("ORG:" + escape(c.Org))
	}
	if cats := nonEmpty(c.Categories); len(cats) > 0 {
		for i, cat := range cats {
			cats[i] = escape(cat)
		}
		put("CATEGORIES:" + strings.Join(cats, ","))
	}
	if c.Note != "" {
		put("NOTE:" + escape(c.Note))
	}
	if !c.Rev.IsZero() {
		put("REV:" + c.Rev.UTC().Format("20060102T150405Z"))
	}
	if c.UID != "" {
		switch {
		case uuidRE.MatchString(c.UID):
			put("UID:urn:uuid:" + strings.ToLower(c.UID))
		case uriRE.MatchString(c.UID) && utf8.ValidString(c.UID):
			put("UID:" + c.UID)
		default:
			put("UID;VALUE=text:" + escape(c.UID))
		}
	}
	put("END:VCARD")
}

func (c Card) formattedName() string {
	if c.FormattedName != "" {
		return c.FormattedName
	}
	if n := strings.TrimSpace(c.GivenName + " " + c.FamilyName); n != "" {
		return n
	}
	if c.Org != "" {
		return c.Org
	}
	if e := nonEmpty(c.Emails); len(e) > 0 {
		return e[0]
	}
	return ""
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// structured joins the components of a structured value such as N or ADR.
func structured(components ...string) string {
	for i, c := range components {
		components[i] = escape(c)
	}
	return strings.Join(components, ";")
}

// escape encodes a text value (RFC 6350 section 3.4). Commas and
// semicolons are escaped everywhere, not only in list and structured
// values, because that is always valid and clients disagree on where it is
// required. Any line break becomes \n: a raw one would end the property and
// let the rest of the value be read as a property of its own. Other
// control characters are not allowed in vCard and are dropped, invalid
// UTF-8 is replaced, since vCard 4.0 is UTF-8 only.
func escape(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b.WriteString(`\\`)
		case ',':
			b.WriteString(`\,`)
		case ';':
			b.WriteString(`\;`)
		case '\r':
			if i+1 < len(s) && s[i+1] == '\n' {
				continue // the '\n' writes the break
			}
			b.WriteString(`\n`)
		case '\n':
			b.WriteString(`\n`)
		default:
			if (c < 0x20 && c != '\t') || c == 0x7f {
				continue
			}
			b.WriteByte(c)
		}
	}
	return b.String()
}

// writeFolded writes one content line, folded so that no physical line
// exceeds 75 octets. A fold never splits a UTF-8 sequence (which some
// clients turn into two replacement characters) nor a backslash escape
// (which clients that decode escapes before unfolding misread).
func writeFolded(w *bufio.Writer, line string) {
	limit := maxLine
	for len(line) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(line[cut]) {
			cut--
		}
		if escapeOpensAt(line, cut-1) {
			cut--
		}
		w.WriteString(line[:cut])
		w.WriteString("\r\n ")
		line = line[cut:]
		limit = maxLine - 1 // the leading space counts
	}
	w.WriteString(line)
	w.WriteString("\r\n")
}

// escapeOpensAt reports whether line[i] is a backslash that starts an
// escape rather than ends one ("\\" is two characters, the second of
// which opens nothing).
func escapeOpensAt(line string, i int) bool {
	n := 0
	for ; i >= 0 && line[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}
