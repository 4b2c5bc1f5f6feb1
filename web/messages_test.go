package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/rpcrm/rpcrm/crm"
	"github.com/rpcrm/rpcrm/internal/testfix"
)

// TestServiceMessagesFollowLanguage: the messages of the services (German
// where they are raised) appear in the user's language next to the fields,
// on the form and in the import's row errors.
func TestServiceMessagesFollowLanguage(t *testing.T) {
	s := newSite(t, false)
	de := s.loggedIn(t, "alpha.test", "anna@alpha.test", "admin")
	en := s.loggedIn(t, "alpha.test", "emma@alpha.test", "admin")
	if resp, page := en.post("/profile/language", url.Values{"locale": {"en"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("choose English: %d\n%s", resp.StatusCode, page)
	}

	for _, tt := range []struct {
		b             *browser
		want, wantNot []string
	}{
		{de, []string{`id="f-last_name-error">Vor- oder Nachname fehlt.`, `id="f-emails-error">Zeile 2: Die E-Mail-Adresse ist ungültig.`},
			[]string{"is missing", "is invalid"}},
		{en, []string{`id="f-last_name-error">First or last name is missing.`, `id="f-emails-error">Line 2: The e-mail address is invalid.`},
			[]string{"fehlt", "ungültig"}},
	} {
		resp, page := tt.b.post("/contacts", url.Values{"first_name": {""}, "last_name": {""}, "emails": {"a@b.ch\nkein-mail"},
			"language": {"de"}, "address.country": {"CH"}})
		wantStatus(t, "contact without a name", resp, page, http.StatusUnprocessableEntity, tt.want...)
		for _, no := range tt.wantNot {
			if strings.Contains(page, no) {
				t.Errorf("contact form shows %q:\n%s", no, page)
			}
		}
	}

	// A post without the form token, or with another one (a page left open
	// across a new login): refused on the error page in the user's language,
	// which carries a fresh token; nothing is saved.
	for _, tt := range []struct {
		b    *browser
		want string
	}{{de, "Das Formular ist abgelaufen. Bitte versuchen Sie es noch einmal."}, {en, "The form has expired. Please try again."}} {
		for _, token := range []string{"", strings.Repeat("x", 43)} {
			form := url.Values{"name": {"Ohne Token AG"}}
			if token != "" {
				form.Set("csrf_token", token)
			}
			resp, page := tt.b.do("POST", "/companies", form)
			wantStatus(t, "company without the form token", resp, page, http.StatusForbidden, tt.want, `role="alert"`, `name="csrf-token"`)
		}
	}
	if page := de.page("/companies?q=Ohne+Token", http.StatusOK); strings.Contains(page, "Ohne Token AG") {
		t.Error("a post without the form token created a company")
	}

	// A message built from a format: the minimum length of a password.
	short := url.Values{"current_password": {testfix.Password}, "password": {"kurz12"}, "password_repeat": {"kurz12"}}
	resp, page := de.post("/profile/password", short)
	wantStatus(t, "short password (de)", resp, page, http.StatusUnprocessableEntity,
		`id="f-password-error">Das Passwort muss mindestens 10 Zeichen lang sein.`)
	resp, page = en.post("/profile/password", short)
	wantStatus(t, "short password (en)", resp, page, http.StatusUnprocessableEntity,
		`id="f-password-error">The password must be at least 10 characters long.`)

	// The import: the file's refusal and the rows' errors.
	resp, page = en.upload("/import", map[string]string{"entity": "company"}, "file", "mappe.xlsx", []byte("PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00"))
	wantStatus(t, "a workbook (en)", resp, page, http.StatusUnprocessableEntity,
		`id="f-file-error">The file is not a CSV file. It is an Excel workbook;`)
	path := startImport(t, en, crm.EntityCompany, companiesCSV)
	resp, page = en.post(path+"/check", url.Values{"map.0": {"name"}, "map.1": {"address.city"}, "map.2": {"email"}, "map.3": {""},
		"mode": {crm.ImportSkipBadRows}, "duplicates": {crm.DuplicatesSkip}})
	wantStatus(t, "dry run (en)", resp, page, http.StatusOK, `id="import-errors"`, "<td>The e-mail address is invalid.</td>")
}
