package tenant

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// MaxNameLength is the longest tenant name allowed, in characters after
// trimming; longer names break layouts of letters and invoices.
const MaxNameLength = 200

// DNS limits: a whole name without its trailing dot, and one label.
const (
	maxHostLength = 253
	maxLabel      = 63
)

var slugRE = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)

var currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)

// SupportedLocales lists the locales a tenant may use, in the form they are
// stored in Tenant.Locale. The application only has translations and number
// formats for these.
var SupportedLocales = []string{"de-CH", "de-DE", "de-AT", "fr-CH", "it-CH", "en-GB", "en-US"}

// SupportedCurrencies lists the currencies a tenant may use.
var SupportedCurrencies = []string{"CHF", "EUR", "USD", "GBP"}

// validate applies defaults and checks every tenant, recording problems in
// d. The returned set is only meaningful if no problems were recorded.
func (d *decoder) validate(raws []*rawTenant) *Set {
	s := &Set{
		byID:   map[string]*Tenant{},
		byUUID: map[uuid.UUID]*Tenant{},
		byHost: map[string]*Tenant{},
	}
	type hostUse struct {
		tenant int    // index in raws
		label  string // how to name the tenant in a message
		path   string
	}
	idAt := map[string]string{}    // slug -> path of its first use
	hostAt := map[string]hostUse{} // normalized host -> first use

	for i, rt := range raws {
		if rt == nil {
			continue // not an object; already reported
		}
		p := fmt.Sprintf("tenants[%d]", i)
		t := &Tenant{}
		label := p
		if rt.id.set && rt.id.val != "" {
			label = fmt.Sprintf("%q", rt.id.val)
		}

		// id
		switch {
		case rt.id.bad:
		case !rt.id.set || rt.id.val == "":
			d.add(p+".id", rt.off, "required")
		case !slugRE.MatchString(rt.id.val):
			d.add(p+".id", rt.id.off, "%q is not a valid id: use 1 to 63 lower-case letters a-z, digits and hyphens, starting and ending with a letter or digit", rt.id.val)
		case idAt[rt.id.val] != "":
			d.add(p+".id", rt.id.off, "duplicate id %q (already used by %s)", rt.id.val, idAt[rt.id.val])
		default:
			idAt[rt.id.val] = p
			t.ID = rt.id.val
		}

		// name
		if !rt.name.bad {
			name := strings.TrimSpace(rt.name.val)
			switch n := utf8.RuneCountInString(name); {
			case n == 0:
				d.add(p+".name", fieldOff(rt.name, rt.off), "required")
			case n > MaxNameLength:
				d.add(p+".name", rt.name.off, "too long: %d characters, at most %d allowed", n, MaxNameLength)
			case strings.IndexFunc(name, unicode.IsControl) >= 0:
				// Names end up in e-mail headers and PDFs, where a line
				// break would do damage.
				d.add(p+".name", rt.name.off, "must not contain control characters such as line breaks or tabs")
			default:
				t.Name = name
			}
		}

		// hosts
		if !rt.hosts.bad && len(rt.hosts.val) == 0 {
			d.add(p+".hosts", fieldOff(rt.hosts, rt.off), "at least one host name is required")
		}
		for j, hf := range rt.hosts.val {
			if hf.bad {
				continue
			}
			hp := fmt.Sprintf("%s.hosts[%d]", p, j)
			h, msg := checkHost(hf.val)
			if msg != "" {
				d.add(hp, hf.off, "%s", msg)
				continue
			}
			if prev, dup := hostAt[h]; dup {
				if prev.tenant == i {
					d.add(hp, hf.off, "duplicate host %q (already listed at %s)", h, prev.path)
				} else {
					d.add(hp, hf.off, "host %q of tenant %s is already used by tenant %s (%s)", h, label, prev.label, prev.path)
				}
				continue
			}
			hostAt[h] = hostUse{tenant: i, label: label, path: hp}
			t.Hosts = append(t.Hosts, h)
		}

		// locale
		t.Locale = DefaultLocale
		if rt.locale.set {
			t.Locale = ""
			for _, l := range SupportedLocales {
				// Language tags are case-insensitive (BCP 47); store the
				// canonical spelling so that callers can compare with ==.
				if strings.EqualFold(l, rt.locale.val) {
					t.Locale = l
				}
			}
			if t.Locale == "" {
				d.add(p+".locale", rt.locale.off, "unsupported locale %q: must be one of %s (default %s)", rt.locale.val, strings.Join(SupportedLocales, ", "), DefaultLocale)
			}
		}

		// currency
		t.Currency = DefaultCurrency
		if rt.currency.set {
			c := rt.currency.val
			switch {
			case !currencyRE.MatchString(c):
				d.add(p+".currency", rt.currency.off, "%q is not a currency code: use three upper-case letters (ISO 4217), one of %s", c, strings.Join(SupportedCurrencies, ", "))
			case !contains(SupportedCurrencies, c):
				d.add(p+".currency", rt.currency.off, "unsupported currency %q: must be one of %s", c, strings.Join(SupportedCurrencies, ", "))
			default:
				t.Currency = c
			}
		}

		// timezone
		t.Timezone = DefaultTimezone
		if rt.tzName.set {
			t.Timezone = rt.tzName.val
		}
		if !rt.tzName.bad {
			loc, msg := loadLocation(t.Timezone)
			if msg != "" {
				d.add(p+".timezone", rt.tzName.off, "%s", msg)
			}
			t.loc = loc
		}

		// active
		t.Active = !rt.active.set || rt.active.val

		t.key = UUIDOf(t.ID) // computed once: every request needs it
		s.tenants = append(s.tenants, t)
		s.byID[t.ID] = t
		s.byUUID[t.key] = t
		for _, h := range t.Hosts {
			s.byHost[h] = t
		}
	}
	return s
}

// fieldOff points a "required" problem at the field if it was written (as
// null or empty), else at the tenant object.
func fieldOff[T any](f field[T], objOff int) int {
	if f.set || f.off > 0 {
		return f.off
	}
	return objOff
}

func loadLocation(name string) (*time.Location, string) {
	// LoadLocation maps "" to UTC and "Local" to the machine's zone; both
	// would make a tenant's dates depend on where the server runs.
	if name == "" || name == "Local" {
		return nil, fmt.Sprintf("%q is not a time zone: use an IANA name such as %s", name, DefaultTimezone)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Sprintf("unknown time zone %q: use an IANA name such as %s", name, DefaultTimezone)
	}
	return loc, ""
}

// checkHost validates a configured host name and returns its normalized
// form, or a message saying what is wrong. Hosts are matched against the
// Host header literally, so anything that cannot appear there as a plain
// DNS name (URLs, ports, wildcards, IP literals) is rejected with a hint.
func checkHost(raw string) (host, problem string) {
	bad := func(format string, args ...any) (string, string) {
		return "", fmt.Sprintf("%q: ", raw) + fmt.Sprintf(format, args...)
	}
	switch {
	case raw == "":
		return "", "must not be empty"
	case strings.Contains(raw, "://"):
		return bad("write the bare host name without scheme, e.g. %q", "mandant1.meinecrm.ch")
	case strings.ContainsAny(raw, "/?#"):
		return bad("write the bare host name without path")
	case strings.Contains(raw, "*"):
		return bad("wildcards are not supported; list every host name")
	case strings.ContainsAny(raw, "[]") || isIP(strings.TrimSuffix(raw, ".")):
		return bad("IP addresses are not allowed; use a DNS host name")
	case strings.Contains(raw, ":"):
		return bad("write the host name without port; ports are ignored when matching")
	}
	for _, r := range raw {
		if r >= utf8.RuneSelf {
			return bad("non-ASCII host names must be written in punycode (xn--...)")
		}
	}

	host = strings.TrimSuffix(strings.ToLower(raw), ".")
	if len(host) > maxHostLength {
		return bad("too long: %d characters, at most %d allowed", len(host), maxHostLength)
	}
	labels := strings.Split(host, ".")
	for _, l := range labels {
		switch {
		case l == "":
			return bad("empty label (leading dot or two dots in a row)")
		case len(l) > maxLabel:
			return bad("label %q is %d characters long, at most %d allowed", l, len(l), maxLabel)
		case l[0] == '-' || l[len(l)-1] == '-':
			return bad("label %q must not start or end with a hyphen", l)
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return bad("invalid character %q: only letters, digits, hyphens and dots are allowed", c)
			}
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return bad("the last label must not be all digits")
	}
	return host, ""
}

func isIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}
