package httpserver

import (
	"net/http/httptest"
	"testing"
)

func TestProblemLanguage(t *testing.T) {
	for accept, want := range map[string]string{
		"":                          "de",
		"de-CH":                     "de",
		"en":                        "en",
		"en-US,en;q=0.9":            "en",
		"de-CH, en;q=0.8":           "de",
		"en;q=0.8, de-CH":           "de",
		"en, de":                    "en",
		"fr-CH, fr;q=0.9":           "de",
		"fr, en;q=0.5":              "en",
		"en;q=0":                    "de",
		"en;q=x, de;q=0.1":          "de",
		"EN-gb ; q=0.9 , de;q=0.85": "en",
		"*":                         "de",
	} {
		r := httptest.NewRequest("GET", "/api/v1/contacts", nil)
		if accept != "" {
			r.Header.Set("Accept-Language", accept)
		}
		if got := ProblemLanguage(r); got != want {
			t.Errorf("ProblemLanguage(%q) = %q, want %q", accept, got, want)
		}
	}
}
