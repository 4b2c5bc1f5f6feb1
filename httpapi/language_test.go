package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/internal/testfix"
)

// TestProblemLanguage: a problem's texts are German unless Accept-Language
// prefers English to German.
func TestProblemLanguage(t *testing.T) {
	t.Parallel()
	e := testfix.New(t)
	s := newServer(t, e, serverOptions{})
	e.CreateUser(t, "alpha", "admin@alpha.test", auth.RoleKeyAdmin)
	token := e.Login(t, "alpha", "admin@alpha.test").AccessToken
	for _, tt := range []struct {
		accept                     string
		title, detail, fieldDetail string
	}{
		{"", "Ungültige Eingabe", "Die Eingabe ist ungültig.", "Vor- oder Nachname fehlt."},
		{"de-CH, en;q=0.8", "Ungültige Eingabe", "Die Eingabe ist ungültig.", "Vor- oder Nachname fehlt."},
		{"fr-CH, fr;q=0.9", "Ungültige Eingabe", "Die Eingabe ist ungültig.", "Vor- oder Nachname fehlt."},
		{"en-GB,en;q=0.9,de;q=0.8", "Invalid input", "The input is invalid.", "First or last name is missing."},
		{"fr, de;q=0.5, en;q=0.7", "Invalid input", "The input is invalid.", "First or last name is missing."},
	} {
		res := s.do(t, request{Method: "POST", Path: "/api/v1/contacts", Token: token, Body: map[string]any{"first_name": ""},
			Header: map[string]string{"Accept-Language": tt.accept}})
		if res.Status != http.StatusUnprocessableEntity {
			t.Fatalf("Accept-Language %q: %d %s", tt.accept, res.Status, res.Body)
		}
		p := res.problem(t)
		if p.Title != tt.title || p.Detail != tt.detail {
			t.Errorf("Accept-Language %q: title %q, detail %q", tt.accept, p.Title, p.Detail)
		}
		found := false
		for _, f := range p.Errors {
			if f.Field == "last_name" {
				found = f.Detail == tt.fieldDetail
			}
		}
		if !found {
			t.Errorf("Accept-Language %q: errors %+v, want last_name %q", tt.accept, p.Errors, tt.fieldDetail)
		}
	}
	// A refusal before any handler: an unknown API path.
	res := s.do(t, request{Method: "GET", Path: "/api/v1/nichts", Token: token, Header: map[string]string{"Accept-Language": "en"}})
	if p := res.problem(t); p.Detail != "This API address does not exist." {
		t.Errorf("unknown path in English: %+v", p)
	}
}
