package web

import (
	"bytes"
	"compress/gzip"
	"io/fs"
	"os"
	"strings"
	"testing"
)

// TestAssetsBudget checks that the front-end libraries are embedded (in CI,
// where `make assets` ran) and that all JavaScript and CSS shipped stays
// under 150 KB compressed.
func TestAssetsBudget(t *testing.T) {
	static, _ := fs.Sub(staticFiles, "static")
	a := newAssets(static)
	for _, lib := range []string{"vendor/htmx.min.js", "vendor/Sortable.min.js", "vendor/chart.umd.min.js"} {
		if !a.has(lib) {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not embedded: run `make assets` before building", lib)
			}
			t.Skipf("%s missing (no `make assets`)", lib)
		}
	}
	total := 0
	for name := range a.version {
		if !strings.HasSuffix(name, ".js") && !strings.HasSuffix(name, ".css") {
			continue
		}
		b, _ := fs.ReadFile(static, name)
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write(b)
		zw.Close()
		t.Logf("%-28s %7d bytes, %6d compressed", name, len(b), buf.Len())
		total += buf.Len()
	}
	t.Logf("total compressed: %d bytes", total)
	if total > 150_000 {
		t.Errorf("JavaScript and CSS shipped: %d bytes compressed, budget 150000", total)
	}
}

// TestTextsComplete checks that every German UI text has an English one and
// the other way round.
func TestTextsComplete(t *testing.T) {
	for k := range texts["de"] {
		if _, ok := texts["en"][k]; !ok {
			t.Errorf("no English text for %q", k)
		}
	}
	for k := range texts["en"] {
		if _, ok := texts["de"][k]; !ok {
			t.Errorf("no German text for %q", k)
		}
	}
}
