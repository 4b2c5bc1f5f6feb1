package scripts_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The operator's documents: every relative link leads to a file of the
// repository and, with a #fragment, to a heading of it (GitHub's anchors);
// every deploy/ path they name exists.
func TestOperationsDocsLinks(t *testing.T) {
	root := filepath.Join("..", "..")
	docs := []string{"operations.md", "betrieb.de.md", "backups.md", "nginx.md", "tenant-export.md"}
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	deployPath := regexp.MustCompile("`((?:deploy|marketing)/[A-Za-z0-9_./@-]*[A-Za-z0-9_/@-])")
	for _, doc := range docs {
		path := filepath.Join(root, "docs", doc)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		for _, m := range link.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, frag, _ := strings.Cut(target, "#")
			dest := path
			if file != "" {
				dest = filepath.Join(filepath.Dir(path), file)
				if _, err := os.Stat(dest); err != nil {
					t.Errorf("%s: link %s: %v", doc, target, err)
					continue
				}
			}
			if frag != "" && !anchors(t, dest)[frag] {
				t.Errorf("%s: link %s: no heading with that anchor in %s", doc, target, filepath.Base(dest))
			}
		}
		for _, m := range deployPath.FindAllStringSubmatch(text, -1) {
			p := strings.SplitN(m[1], "@", 2)[0] // rpcrm@ENV.service.d → the directory's prefix
			if strings.Contains(m[1], "@") {
				if matches, _ := filepath.Glob(filepath.Join(root, p) + "@*"); len(matches) > 0 {
					continue
				}
			}
			if strings.Contains(p, "ENV") || strings.Contains(p, "…") {
				continue
			}
			if _, err := os.Stat(filepath.Join(root, p)); err != nil {
				t.Errorf("%s names %s, which does not exist", doc, m[1])
			}
		}
	}
}

// anchors returns the GitHub anchors of the Markdown headings in path.
func anchors(t *testing.T, path string) map[string]bool {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	inCode := false
	for line := range strings.Lines(string(b)) {
		if strings.HasPrefix(line, "```") {
			inCode = !inCode
		}
		if inCode || !strings.HasPrefix(line, "#") {
			continue
		}
		h := strings.ToLower(strings.TrimSpace(strings.TrimLeft(line, "#")))
		var a strings.Builder
		for _, r := range h {
			switch {
			case r == ' ':
				a.WriteRune('-')
			case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
				a.WriteRune(r)
			}
		}
		out[a.String()] = true
	}
	return out
}
