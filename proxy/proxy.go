// Package proxy decides how much of a request's X-Forwarded-* headers to
// believe. Anyone can send those headers; they only mean something when the
// TCP peer is one of our own reverse proxies, which the operator lists
// explicitly. Everything else falls back to what the connection itself says.
package proxy

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"unicode"
)

// Trust is the set of addresses whose X-Forwarded-* headers are believed.
// The zero value trusts nobody. A Trust is immutable and safe for concurrent
// use.
type Trust struct {
	prefixes []netip.Prefix
}

// ParseTrust parses a list of IP addresses and CIDR prefixes separated by
// commas and/or white space, e.g. "127.0.0.1, 10.0.0.0/8, ::1". An empty list
// trusts nobody. IPv4-mapped IPv6 forms are stored as IPv4 and zones are
// ignored, matching how Contains normalizes addresses.
//
// A prefix with host bits set (e.g. "10.1.2.3/8") is rejected rather than
// masked: in a security setting it is more likely a typo for a single
// address than a wish to trust the whole network.
func ParseTrust(list string) (Trust, error) {
	var t Trust
	entries := strings.FieldsFunc(list, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
	for _, e := range entries {
		p, err := parseEntry(e)
		if err != nil {
			return Trust{}, fmt.Errorf("proxy: %q %w", e, err)
		}
		t.prefixes = append(t.prefixes, p)
	}
	return t, nil
}

// errNotIP completes a message that starts with the quoted entry.
var errNotIP = errors.New("is not an IP address or CIDR prefix (e.g. 10.0.0.1 or 10.0.0.0/8)")

func parseEntry(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, errNotIP
		}
		a = normalize(a)
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, errNotIP
	}
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	if m := p.Masked(); m != p {
		return netip.Prefix{}, fmt.Errorf("has host bits set; write %s for the network or %s for the single address", m, p.Addr())
	}
	return p, nil
}

// normalize makes addresses comparable: IPv4-mapped IPv6 (as seen on dual-
// stack listeners) becomes plain IPv4, and zones are dropped because
// netip.Prefix.Contains never matches a zoned address.
func normalize(a netip.Addr) netip.Addr {
	return a.Unmap().WithZone("")
}

// Contains reports whether a is a trusted proxy address.
func (t Trust) Contains(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	a = normalize(a)
	for _, p := range t.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// String lists the trusted prefixes in the form ParseTrust accepts, for
// logging the effective configuration at startup.
func (t Trust) String() string {
	parts := make([]string, len(t.prefixes))
	for i, p := range t.prefixes {
		if p.IsSingleIP() {
			parts[i] = p.Addr().String()
		} else {
			parts[i] = p.String()
		}
	}
	return strings.Join(parts, ", ")
}

// ClientIP returns the address of the client that made the request.
//
// Without a trusted peer it is the peer address from r.RemoteAddr. With one,
// X-Forwarded-For is read from the right (newest hop first), skipping
// trusted proxies, and the first untrusted address is the client: that entry
// was appended by our outermost proxy, whereas everything left of it came
// from the client and may be forged. If an entry is malformed (including
// "unknown" and empty ones) the walk stops and the last address that could
// be believed is returned; if every entry is trusted, the leftmost one is.
// Several X-Forwarded-For header lines count as one comma-separated list.
//
// The result is unmapped from IPv4-mapped IPv6 and has no zone. It is the
// zero Addr if r.RemoteAddr is not an IP address (e.g. a Unix socket).
//
// Every address in a trusted range is assumed to be a proxy that appends
// honestly, so the trusted ranges must not contain clients.
func (t Trust) ClientIP(r *http.Request) netip.Addr {
	client := peer(r)
	if !t.Contains(client) {
		return client
	}
	values := r.Header.Values("X-Forwarded-For")
	for i := len(values) - 1; i >= 0; i-- {
		rest := values[i]
		for more := true; more; {
			var entry string
			if j := strings.LastIndexByte(rest, ','); j >= 0 {
				entry, rest = rest[j+1:], rest[:j]
			} else {
				entry, more = rest, false
			}
			a, ok := parseHop(strings.TrimSpace(entry))
			if !ok {
				return client
			}
			if !t.Contains(a) {
				return a
			}
			client = a
		}
	}
	return client
}

// Host returns the host name the client asked for: the last
// X-Forwarded-Host value (the one our nearest proxy set) if the peer is
// trusted and sent a non-empty one, else r.Host. The value is returned as
// sent, port included; pass it to tenant.NormalizeHost or tenant lookup.
func (t Trust) Host(r *http.Request) string {
	if t.Contains(peer(r)) {
		if h := lastValue(r.Header.Values("X-Forwarded-Host")); h != "" {
			return h
		}
	}
	return r.Host
}

// Scheme returns "https" if the connection to us is TLS, or if a trusted
// peer says with X-Forwarded-Proto (last value, case-insensitive) that the
// client used https; otherwise "http".
func (t Trust) Scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	if t.Contains(peer(r)) && strings.EqualFold(lastValue(r.Header.Values("X-Forwarded-Proto")), "https") {
		return "https"
	}
	return "http"
}

// peer returns the TCP peer address, or the zero Addr if there is none.
func peer(r *http.Request) netip.Addr {
	a, _ := parseHop(r.RemoteAddr)
	return a
}

// parseHop parses an address as found in RemoteAddr or X-Forwarded-For:
// "192.0.2.1", "192.0.2.1:1234", "2001:db8::1", "[2001:db8::1]" or
// "[2001:db8::1]:1234". Some proxies add the port, so it is tolerated.
func parseHop(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return normalize(a), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return normalize(ap.Addr()), true
	}
	if inner, ok := strings.CutPrefix(s, "["); ok {
		if inner, ok := strings.CutSuffix(inner, "]"); ok {
			if a, err := netip.ParseAddr(inner); err == nil && a.Is6() {
				return normalize(a), true
			}
		}
	}
	return netip.Addr{}, false
}

// lastValue returns the last comma-separated element of the last header
// line, trimmed. Proxies append, so the last element is the nearest one's.
func lastValue(values []string) string {
	if len(values) == 0 {
		return ""
	}
	v := values[len(values)-1]
	if i := strings.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return strings.TrimSpace(v)
}
