package config

import (
	"os"
	"strings"
	"testing"
)

// TestDocsMentionEverySetting fails when a setting is added without a row in
// docs/configuration.md, or when a documented default drifts from Settings.
func TestDocsMentionEverySetting(t *testing.T) {
	data, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for line := range strings.Lines(string(data)) {
		if name, ok := strings.CutPrefix(line, "| `"); ok {
			if i := strings.Index(name, "`"); i > 0 {
				rows[name[:i]] = line
			}
		}
	}
	for _, s := range Settings() {
		row, ok := rows[s.Name]
		if !ok {
			t.Errorf("docs/configuration.md has no table row for %s", s.Name)
			continue
		}
		for _, e := range []Env{EnvProd, EnvTest, EnvDev} {
			if d := s.DefaultFor(e); d != "" && !strings.Contains(row, "`"+d+"`") {
				t.Errorf("docs/configuration.md: row of %s does not show its %s default `%s`", s.Name, e, d)
			}
		}
	}
}
