package crm

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestRenderMarkdown(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"paragraphs and breaks", "Erste Zeile\nzweite Zeile\n\nNeuer Absatz",
			"<p>Erste Zeile<br>\nzweite Zeile</p>\n<p>Neuer Absatz</p>\n"},
		{"windows line ends", "a\r\nb\r\n\r\nc", "<p>a<br>\nb</p>\n<p>c</p>\n"},
		{"bold italic code", "**fett** und *kursiv* und `x < y`",
			"<p><strong>fett</strong> und <em>kursiv</em> und <code>x &lt; y</code></p>\n"},
		{"nested spans", "**fett *und kursiv* dazu**", "<p><strong>fett <em>und kursiv</em> dazu</strong></p>\n"},
		{"code is literal", "`**nicht fett**`", "<p><code>**nicht fett**</code></p>\n"},
		{"unmatched delimiters", "2 * 3 = 6, **offen, `offen, *offen",
			"<p>2 * 3 = 6, **offen, `offen, *offen</p>\n"},
		{"list", "Einkauf:\n- Milch\n- **Brot**\n\nEnde",
			"<p>Einkauf:</p>\n<ul>\n<li>Milch</li>\n<li><strong>Brot</strong></li>\n</ul>\n<p>Ende</p>\n"},
		{"list then text", "- a\nText", "<ul>\n<li>a</li>\n</ul>\n<p>Text</p>\n"},
		{"link", "Siehe [die Website](https://www.beispiel.ch/a?b=1&c=2).",
			`<p>Siehe <a href="https://www.beispiel.ch/a?b=1&amp;c=2" rel="nofollow noopener noreferrer">die Website</a>.</p>` + "\n"},
		{"mailto", "[Mail](mailto:info@beispiel.ch)",
			`<p><a href="mailto:info@beispiel.ch" rel="nofollow noopener noreferrer">Mail</a></p>` + "\n"},
		{"formatted link text", "[**fett**](https://x.ch)",
			`<p><a href="https://x.ch" rel="nofollow noopener noreferrer"><strong>fett</strong></a></p>` + "\n"},
		{"nested brackets", "[a [b] c](https://x.ch)",
			`<p><a href="https://x.ch" rel="nofollow noopener noreferrer">a [b] c</a></p>` + "\n"},
		{"no link in link", "[[inner](https://a.ch)](https://b.ch)",
			`<p><a href="https://b.ch" rel="nofollow noopener noreferrer">[inner](https://a.ch)</a></p>` + "\n"},
		{"unbalanced brackets", "[a [b](https://x.ch)", `<p>[a <a href="https://x.ch" rel="nofollow noopener noreferrer">b</a></p>` + "\n"},

		// Attacks: everything the user typed comes out as text.
		{"script tag", "<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n"},
		{"html attributes", `<img src=x onerror="alert(1)">`, "<p>&lt;img src=x onerror=&#34;alert(1)&#34;&gt;</p>\n"},
		{"javascript link", "[klick](javascript:alert(1))", "<p>[klick](javascript&#58;alert(1))</p>\n"},
		{"javascript link mixed case", "[klick](JaVaScRiPt:alert(1))", "<p>[klick](JaVaScRiPt&#58;alert(1))</p>\n"},
		{"javascript with tab", "[klick](java\tscript:alert(1))", "<p>[klick](java\tscript:alert(1))</p>\n"},
		{"data link", "[x](data:text/html;base64,PHNjcmlwdD4=)", "<p>[x](data:text/html;base64,PHNjcmlwdD4=)</p>\n"},
		{"relative link", "[x](/admin)", "<p>[x](/admin)</p>\n"},
		{"protocol-relative link", "[x](//evil.example)", "<p>[x](//evil.example)</p>\n"},
		{"quote breaks out of href", `[x](https://a.ch/"onmouseover="alert(1))`,
			"<p>[x](https://a.ch/&#34;onmouseover=&#34;alert(1))</p>\n"},
		{"script in link text", "[<script>](https://a.ch)",
			`<p><a href="https://a.ch" rel="nofollow noopener noreferrer">&lt;script&gt;</a></p>` + "\n"},
		{"script in code", "`<script>`", "<p><code>&lt;script&gt;</code></p>\n"},
		{"entity stays text", "&lt;script&gt;", "<p>&amp;lt;script&amp;gt;</p>\n"},
		{"javascript in plain text", "javascript:alert(1)", "<p>javascript&#58;alert(1)</p>\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := RenderMarkdown(c.in)
			if got != c.want {
				t.Errorf("RenderMarkdown(%q)\n got %q\nwant %q", c.in, got, c.want)
			}
			checkSafeHTML(t, c.in, got)
		})
	}
}

func TestRenderBodyText(t *testing.T) {
	got := RenderBody("**nicht fett** <b>\n[x](https://a.ch)\n\nzwei", FormatText)
	want := "<p>**nicht fett** &lt;b&gt;<br>\n[x](https://a.ch)</p>\n<p>zwei</p>\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if RenderBody("", FormatMarkdown) != "" || RenderBody("  \n", FormatText) != "" {
		t.Error("empty body renders to something")
	}
}

// TestRenderMarkdownHostile makes sure pathological input renders quickly:
// the body may be 20,000 characters of anything.
func TestRenderMarkdownHostile(t *testing.T) {
	for _, s := range []string{
		strings.Repeat("[", 20000),
		strings.Repeat("[a](", 5000),
		strings.Repeat("**a ", 5000),
		strings.Repeat("*a", 10000),
		strings.Repeat("*[**`", 4000),
		strings.Repeat("- ", 10000),
	} {
		start := time.Now()
		out := RenderMarkdown(s)
		if d := time.Since(start); d > time.Second {
			t.Errorf("%q...: %v", s[:10], d)
		}
		checkSafeHTML(t, s[:10]+"...", out)
	}
}

// FuzzRenderMarkdown: whatever the input, the output holds no script, no
// javascript: and only the renderer's own, balanced elements.
// Run longer with: go test -run '^$' -fuzz FuzzRenderMarkdown -fuzztime 60s ./crm/
func FuzzRenderMarkdown(f *testing.F) {
	for _, s := range []string{
		"**a** *b* `c`\n- d\n- [e](https://e.ch)",
		"<script>alert(1)</script>",
		"[x](javascript:alert(1))",
		"[x](https://a.ch/\"onclick=\"x)",
		"[[a](https://a.ch)](https://b.ch)",
		"***a***", "`*`*", "[`](https://a.ch)`", "<scr<script>ipt>",
		"JAVASCRIPT:", "java\x00script:", "*<*>*", "[a]\n(https://a.ch)",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkSafeHTML(t, s, RenderMarkdown(s))
		checkSafeHTML(t, s, RenderBody(s, FormatText))
	})
}

var (
	mdTagRe  = regexp.MustCompile(`<(/?)([a-z]+)((?: [a-z]+="[^"<>]*")*)>`)
	mdHrefRe = regexp.MustCompile(`^ href="(https?://|mailto:)[^"]*" rel="nofollow noopener noreferrer"$`)
)

// checkSafeHTML fails unless out consists of text without '<' and the
// renderer's own elements, properly nested, with attributes only on links.
func checkSafeHTML(t *testing.T, in, out string) {
	t.Helper()
	lower := strings.ToLower(out)
	if strings.Contains(lower, "<script") || strings.Contains(lower, "javascript:") {
		t.Fatalf("input %q: output %q contains <script or javascript:", in, out)
	}
	var stack []string
	rest := out
	for {
		i := strings.IndexByte(rest, '<')
		if i < 0 {
			break
		}
		if strings.IndexByte(rest[:i], '>') >= 0 {
			t.Fatalf("input %q: stray '>' in output %q", in, out)
		}
		m := mdTagRe.FindStringSubmatchIndex(rest[i:])
		if m == nil || m[0] != 0 {
			t.Fatalf("input %q: '<' that is not an allowed tag in %q", in, out)
		}
		closing, name, attrs := rest[i+m[2]:i+m[3]] == "/", rest[i+m[4]:i+m[5]], rest[i+m[6]:i+m[7]]
		switch name {
		case "p", "strong", "em", "code", "ul", "li", "br", "a":
		default:
			t.Fatalf("input %q: unexpected element <%s> in %q", in, name, out)
		}
		if name == "a" && !closing {
			if !mdHrefRe.MatchString(attrs) {
				t.Fatalf("input %q: bad link attributes %q in %q", in, attrs, out)
			}
		} else if attrs != "" {
			t.Fatalf("input %q: attributes on <%s> in %q", in, name, out)
		}
		switch {
		case name == "br":
		case closing:
			if len(stack) == 0 || stack[len(stack)-1] != name {
				t.Fatalf("input %q: unbalanced </%s> in %q", in, name, out)
			}
			stack = stack[:len(stack)-1]
		default:
			stack = append(stack, name)
		}
		rest = rest[i+m[1]:]
	}
	if strings.IndexByte(rest, '>') >= 0 {
		t.Fatalf("input %q: stray '>' in output %q", in, out)
	}
	if len(stack) != 0 {
		t.Fatalf("input %q: unclosed %v in %q", in, stack, out)
	}
}
