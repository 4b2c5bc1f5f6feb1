package crm

import (
	"fmt"
	"strings"
	"unicode"
)

// NormalizeUID checks a Swiss company identification number (UID,
// "CHE-123.456.789", also written "CHE123456789" or with " MWST"/"TVA"/"IVA"
// suffixes) and returns it in its canonical form. The ninth digit is a
// check digit (modulo 11 with weights 5 4 3 2 7 6 5 4).
func NormalizeUID(s string) (string, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	for _, suffix := range []string{"MWST", "TVA", "IVA", "HR", "RC", "RI"} {
		u = strings.TrimSpace(strings.TrimSuffix(u, suffix))
	}
	if !strings.HasPrefix(u, "CHE") {
		return "", fmt.Errorf("Die UID beginnt mit CHE, z. B. CHE-123.456.788.")
	}
	var digits []int
	for _, r := range u[3:] {
		switch {
		case r >= '0' && r <= '9':
			digits = append(digits, int(r-'0'))
		case r == '-' || r == '.' || r == ' ':
		default:
			return "", fmt.Errorf("Die UID darf nur Ziffern enthalten, z. B. CHE-123.456.788.")
		}
	}
	if len(digits) != 9 {
		return "", fmt.Errorf("Die UID hat 9 Ziffern, z. B. CHE-123.456.788.")
	}
	weights := []int{5, 4, 3, 2, 7, 6, 5, 4}
	sum := 0
	for i, w := range weights {
		sum += digits[i] * w
	}
	check := 11 - sum%11
	if check == 11 {
		check = 0
	}
	if check == 10 || check != digits[8] {
		return "", fmt.Errorf("Die Prüfziffer der UID stimmt nicht.")
	}
	d := digits
	return fmt.Sprintf("CHE-%d%d%d.%d%d%d.%d%d%d", d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8]), nil
}

// NormalizePhone returns a phone number in E.164 form (+41441234567).
// National Swiss numbers (044 123 45 67) get +41; "00" is read as "+".
// Letters, or too few or too many digits, are an error.
func NormalizePhone(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '/' || r == '.' || r == '(' || r == ')' || r == '\u00a0':
		default:
			return "", fmt.Errorf("Die Telefonnummer darf nur Ziffern, Leerzeichen und + ( ) - / enthalten.")
		}
	}
	n := b.String()
	// "+41 (0)44 …" carries a national trunk zero that does not belong in E.164.
	n = strings.Replace(n, "+410", "+41", 1)
	switch {
	case strings.HasPrefix(n, "+"):
	case strings.HasPrefix(n, "00"):
		n = "+" + n[2:]
	case strings.HasPrefix(n, "0"):
		n = "+41" + n[1:]
	default:
		return "", fmt.Errorf("Bitte die Nummer mit Vorwahl angeben, z. B. 044 123 45 67 oder +41 44 123 45 67.")
	}
	digits := len(n) - 1
	if strings.HasPrefix(n, "+41") && digits != 11 {
		return "", fmt.Errorf("Eine Schweizer Nummer hat 10 Ziffern, z. B. 044 123 45 67.")
	}
	if digits < 7 || digits > 15 {
		return "", fmt.Errorf("Die Telefonnummer hat zu wenige oder zu viele Ziffern.")
	}
	return n, nil
}

// FormatPhone renders an E.164 number the Swiss way: +41 44 123 45 67.
func FormatPhone(e164 string) string {
	if strings.HasPrefix(e164, "+41") && len(e164) == 12 {
		n := e164[3:]
		return "+41 " + n[0:2] + " " + n[2:5] + " " + n[5:7] + " " + n[7:9]
	}
	return e164
}

// Cantons are the 26 Swiss cantons by their official abbreviations.
var Cantons = []string{"AG", "AI", "AR", "BE", "BL", "BS", "FR", "GE", "GL", "GR", "JU", "LU", "NE", "NW", "OW",
	"SG", "SH", "SO", "SZ", "TG", "TI", "UR", "VD", "VS", "ZG", "ZH"}

func validCanton(c string) bool {
	for _, x := range Cantons {
		if x == c {
			return true
		}
	}
	return false
}

// countries are the ISO 3166-1 alpha-2 codes.
var countries = strings.Fields(`AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF
GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW
KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL
NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST
SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW`)

func validCountry(c string) bool {
	for _, x := range countries {
		if x == c {
			return true
		}
	}
	return false
}

// Address is a postal address; Swiss postal codes have four digits.
type Address struct {
	Street     string `json:"street"`
	PostalCode string `json:"postal_code"`
	City       string `json:"city"`
	Canton     string `json:"canton"`
	Country    string `json:"country"`
}

// normalize trims the fields, upper-cases codes and defaults the country to CH.
func (a *Address) normalize() {
	a.Street = strings.TrimSpace(a.Street)
	a.PostalCode = strings.TrimSpace(a.PostalCode)
	a.City = strings.TrimSpace(a.City)
	a.Canton = strings.ToUpper(strings.TrimSpace(a.Canton))
	a.Country = strings.ToUpper(strings.TrimSpace(a.Country))
	if a.Country == "" {
		a.Country = "CH"
	}
}

func (a *Address) validate(v validation, prefix string) {
	v.maxLen(prefix+"street", a.Street, 200)
	v.maxLen(prefix+"city", a.City, 100)
	if !validCountry(a.Country) {
		v.add(prefix+"country", "Unbekannter Ländercode; erwartet ISO 3166, z. B. CH, DE, AT.")
	}
	if a.Country == "CH" || a.Country == "LI" {
		if a.PostalCode != "" && !allDigits(a.PostalCode, 4) {
			v.add(prefix+"postal_code", "Eine Schweizer Postleitzahl hat vier Ziffern.")
		}
		if a.Canton != "" && !validCanton(a.Canton) {
			v.add(prefix+"canton", "Unbekannter Kanton; erwartet die Abkürzung, z. B. ZH, BE, VD.")
		}
	} else {
		v.maxLen(prefix+"postal_code", a.PostalCode, 12)
		if a.Canton != "" {
			v.maxLen(prefix+"canton", a.Canton, 50)
		}
	}
}

func allDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, r := range s {
		if !unicode.IsDigit(r) {
			return false
		}
	}
	return true
}
