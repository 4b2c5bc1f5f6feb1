package config

import (
	"math"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// parseBool accepts the spellings operators actually write in env files.
func parseBool(s string) (v, ok bool) {
	switch strings.ToLower(s) {
	case "true", "1", "yes":
		return true, true
	case "false", "0", "no":
		return false, true
	}
	return false, false
}

// parseSize reads a byte count, either plain or with a KB, MB, KiB or MiB
// suffix. KB and MB are decimal and KiB and MiB binary, as their names say,
// so "1MB" is 1000000 and "1MiB" is 1048576.
func parseSize(s string) (int64, bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return 0, false
	}
	var mult int64
	switch strings.ToLower(strings.TrimLeft(s[i:], " ")) {
	case "", "b":
		mult = 1
	case "kb":
		mult = 1000
	case "mb":
		mult = 1000 * 1000
	case "kib":
		mult = 1 << 10
	case "mib":
		mult = 1 << 20
	default:
		return 0, false
	}
	if n > math.MaxInt64/mult {
		return 0, false
	}
	return n * mult, true
}

// formatSize prints n with the largest binary suffix that divides it, which
// keeps range messages short ("1KiB to 100MiB").
func formatSize(n int64) string {
	switch {
	case n != 0 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + "MiB"
	case n != 0 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + "KiB"
	}
	return strconv.FormatInt(n, 10)
}

// formatDuration prints d the way people write it: "15m" rather than
// time.Duration's "15m0s", so Redacted matches the documented defaults.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// checkListen returns why s is not a usable listen address, or "".
// Named ports (":http") are refused because a numeric port is what the
// environments table and the firewall rules refer to.
func checkListen(s string) string {
	bad := strconv.Quote(s) + " is not host:port (e.g. 127.0.0.1:5000 or :5000)"
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return bad
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return bad
	}
	if host == "" {
		return ""
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return ""
	}
	if !validHostname(host) {
		return bad
	}
	return ""
}

// validHostname is a loose RFC 1123 check: enough to catch spaces, slashes
// and schemes pasted into a host, not a full DNS validator.
func validHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				return false
			}
		}
	}
	return true
}

// normalizeIPList checks a comma-separated list of addresses and prefixes
// and returns it with blanks removed, so the package that parses it later
// does not have to be lenient too.
func normalizeIPList(s string) (string, string) {
	var out []string
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if _, err := netip.ParseAddr(item); err != nil {
			if _, err := netip.ParsePrefix(item); err != nil {
				return "", strconv.Quote(item) + " is not an IP address or CIDR prefix (e.g. 10.0.0.1 or 10.0.0.0/8)"
			}
		}
		out = append(out, item)
	}
	return strings.Join(out, ","), ""
}

// checkPostgres returns why s is not a PostgreSQL connection string, or "".
// The messages never quote s: it may hold a password, and url.Parse errors
// can echo part of it (a '/' in an unencoded password ends the host).
func checkPostgres(s string) string {
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return "is not a valid URL (percent-encode special characters in the user name and password)"
		}
		if scheme := strings.ToLower(u.Scheme); scheme != "postgres" && scheme != "postgresql" {
			return "scheme " + strconv.Quote(u.Scheme) + " is not postgres:// or postgresql://"
		}
		if p := u.Port(); p != "" {
			if _, err := strconv.ParseUint(p, 10, 16); err != nil {
				return "has an invalid port"
			}
		}
		q := u.Query()
		if u.Host == "" && q.Get("host") == "" {
			return "has no host (e.g. postgres://user:password@127.0.0.1:5432/dbname)"
		}
		if (u.User == nil || u.User.Username() == "") && q.Get("user") == "" {
			return "has no user name (e.g. postgres://user:password@127.0.0.1:5432/dbname)"
		}
		return ""
	}
	kv, ok := parseKeywordValue(s)
	if !ok {
		return "is neither a postgres:// URL nor a key=value connection string"
	}
	has := func(k string) bool {
		for _, p := range kv {
			if p.key == k && p.value != "" {
				return true
			}
		}
		return false
	}
	if !has("host") {
		return "has no host (e.g. host=127.0.0.1 user=rpcrm_app dbname=rp_crm_prod)"
	}
	if !has("user") {
		return "has no user (e.g. host=127.0.0.1 user=rpcrm_app dbname=rp_crm_prod)"
	}
	return ""
}

type keyValue struct{ key, value string }

// parseKeywordValue splits a libpq keyword/value string ("host=h user=u
// password='a b'") the way pgx does, enough to check and redact it.
func parseKeywordValue(s string) ([]keyValue, bool) {
	var out []keyValue
	for {
		s = strings.TrimLeft(s, " \t\n\r")
		if s == "" {
			return out, len(out) > 0
		}
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			return nil, false
		}
		key := strings.TrimRight(s[:eq], " \t\n\r")
		if key == "" || strings.ContainsAny(key, " \t\n\r'\\") {
			return nil, false
		}
		s = strings.TrimLeft(s[eq+1:], " \t\n\r")
		var b strings.Builder
		if strings.HasPrefix(s, "'") {
			s = s[1:]
			closed := false
			for len(s) > 0 {
				c := s[0]
				s = s[1:]
				if c == '\\' && len(s) > 0 {
					b.WriteByte(s[0])
					s = s[1:]
					continue
				}
				if c == '\'' {
					closed = true
					break
				}
				b.WriteByte(c)
			}
			if !closed {
				return nil, false
			}
		} else {
			for len(s) > 0 && !strings.ContainsRune(" \t\n\r", rune(s[0])) {
				c := s[0]
				s = s[1:]
				if c == '\\' && len(s) > 0 {
					c = s[0]
					s = s[1:]
				}
				b.WriteByte(c)
			}
		}
		out = append(out, keyValue{key, b.String()})
	}
}

// redacted stands in for every secret, matching what url.URL.Redacted uses.
const redacted = "xxxxx"

// redactPostgres masks every password in a connection string, whether in the
// URL's user info, in its query (pgx reads password=... there too) or in a
// key=value string. A value it cannot parse is masked whole, because it
// cannot tell where the password is.
func redactPostgres(s string) string {
	if s == "" {
		return ""
	}
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return redacted
		}
		q := u.Query()
		masked := false
		for k := range q {
			if strings.Contains(strings.ToLower(k), "password") {
				q.Set(k, redacted)
				masked = true
			}
		}
		if masked {
			u.RawQuery = q.Encode()
		}
		return u.Redacted()
	}
	kv, ok := parseKeywordValue(s)
	if !ok {
		return redacted
	}
	parts := make([]string, len(kv))
	for i, p := range kv {
		v := p.value
		if strings.Contains(strings.ToLower(p.key), "password") {
			v = redacted
		}
		parts[i] = p.key + "=" + quoteKeywordValue(v)
	}
	return strings.Join(parts, " ")
}

// quoteKeywordValue quotes v for a key=value string when it needs it.
func quoteKeywordValue(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t\n\r'\\") {
		return v
	}
	v = strings.ReplaceAll(v, `\`, `\\`)
	v = strings.ReplaceAll(v, `'`, `\'`)
	return "'" + v + "'"
}
