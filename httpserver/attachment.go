package httpserver

import (
	"fmt"
	"strings"
)

// ContentDisposition builds an attachment header after RFC 6266: an ASCII
// fallback for old clients and the exact name as RFC 8187 UTF-8 in
// filename*. The name should be sanitised first (crm.SanitizeFileName);
// quotes, backslashes and non-ASCII characters are replaced in the fallback
// and percent-encoded in filename* either way. The JSON API and the web UI
// both send downloads with it.
func ContentDisposition(name string) string {
	var fallback, ext strings.Builder
	for _, r := range name {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' || r == '%' {
			fallback.WriteByte('_')
		} else {
			fallback.WriteRune(r)
		}
	}
	for _, b := range []byte(name) {
		if isAttrChar(b) {
			ext.WriteByte(b)
		} else {
			fmt.Fprintf(&ext, "%%%02X", b)
		}
	}
	return `attachment; filename="` + fallback.String() + `"; filename*=UTF-8''` + ext.String()
}

// isAttrChar reports whether b may appear unencoded in an RFC 8187 value.
func isAttrChar(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || strings.IndexByte("!#$&+-.^_`|~", b) >= 0
}
