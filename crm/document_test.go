package crm_test

import (
	"strings"
	"testing"

	"github.com/rpcrm/rpcrm/crm"
)

func TestSanitizeFileName(t *testing.T) {
	long := strings.Repeat("ä", 300) + ".pdf"
	for in, want := range map[string]string{
		"Offerte.pdf":           "Offerte.pdf",
		"../../etc/passwd":      "passwd",
		`C:\Users\x\Brief.docx`: "Brief.docx",
		"..":                    "Dokument",
		"":                      "Dokument",
		" a\x00b\r\nc.txt ":     "abc.txt",
		"rechnung\u202Efdp.exe": "rechnungfdp.exe",
		"Müller & Söhne.pdf":    "Müller & Söhne.pdf",
		"bad\xffutf8.txt":       "badutf8.txt",
		long:                    strings.Repeat("ä", 196) + ".pdf",
	} {
		if got := crm.SanitizeFileName(in); got != want {
			t.Errorf("SanitizeFileName(%q) = %q, want %q", in, got, want)
		}
	}
}
