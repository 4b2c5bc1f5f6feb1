package web

import (
	"runtime"
	"testing"
)

// TestPagesParseOnlyWhatTheyUse: each page's template set holds the layout,
// the page and the partials it calls, directly or through another partial,
// and no others; the fragments set holds every partial.
func TestPagesParseOnlyWhatTheyUse(t *testing.T) {
	pages := parsePages()
	for _, tt := range []struct {
		page      string
		have, not []string
	}{
		// The contact list calls the list partials; the login page none of them.
		{"contacts", []string{"layout", "content", "record-list-head", "record-list-more", "flash"}, []string{"timeline-items", "settings-form-actions"}},
		{"login", []string{"layout", "content", "flash"}, []string{"record-list-head", "timeline-items", "settings-form-actions"}},
		// The contact page reaches the timeline's items through the timeline.
		{"contact", []string{"timeline-items", "record-facts-end"}, []string{"settings-delete-form"}},
		{"settings_tag", []string{"settings-form-actions", "settings-delete-form"}, []string{"record-list-head", "timeline-items"}},
		{fragmentsPage, []string{"layout", "timeline-items", "record-list-head", "settings-form-actions"}, nil},
	} {
		set, ok := pages[tt.page]
		if !ok {
			t.Fatalf("no template set %q", tt.page)
		}
		for _, name := range tt.have {
			if set.Lookup(name) == nil {
				t.Errorf("%s lacks template %q", tt.page, name)
			}
		}
		for _, name := range tt.not {
			if set.Lookup(name) != nil {
				t.Errorf("%s holds template %q, which it never calls", tt.page, name)
			}
		}
	}
}

// BenchmarkParsePages reports the memory the parsed pages keep (heap-MB).
func BenchmarkParsePages(b *testing.B) {
	var before, after runtime.MemStats
	for b.Loop() {
		runtime.GC()
		runtime.ReadMemStats(&before)
		pages := parsePages()
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(pages)
	}
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "heap-MB")
}
