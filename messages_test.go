package rpcrm

import (
	"fmt"
	"strings"
	"testing"
)

func TestTranslate(t *testing.T) {
	tests := []struct {
		lang, msg, want string
	}{
		// Exact messages.
		{"en", "Der Name fehlt.", "The name is missing."},
		{"en", "Die Eingabe ist ungültig.", "The input is invalid."},
		{"en-GB", "Der Name fehlt.", "The name is missing."},
		// German and every other language: unchanged.
		{"de", "Der Name fehlt.", "Der Name fehlt."},
		{"fr", "Der Name fehlt.", "Der Name fehlt."},
		{"", "Der Name fehlt.", "Der Name fehlt."},
		// Formats, with arguments that hold spaces and punctuation.
		{"en", fmt.Sprintf("Das Passwort muss mindestens %d Zeichen lang sein.", 10),
			"The password must be at least 10 characters long."},
		{"en", fmt.Sprintf("Die Spalte „%s“ gibt es in der Datei nicht.", "Firma, Name (neu)."),
			"The file has no column “Firma, Name (neu).”."},
		{"en", fmt.Sprintf("Unbekanntes Feld „%s“ für die Spalte „%s“.", "x.y", "PLZ / Ort"),
			"Unknown field “x.y” for the column “PLZ / Ort”."},
		{"en", fmt.Sprintf("Die Phase «%s» enthält %d Verkaufschance(n) (auch im Papierkorb). "+
			"Geben Sie mit move_to an, in welche Phase sie verschoben werden sollen.", "Offerte: 2. Runde", 3),
			"The stage “Offerte: 2. Runde” holds 3 deal(s) (also in the trash). Give the stage to move them to with move_to."},
		{"en", fmt.Sprintf("Dafür fehlt Ihnen die Berechtigung %q.", "deals.write"),
			`You do not have the permission "deals.write".`},
		// Values joined with + are matched like %s.
		{"en", "Höchstens " + "5" + " E-Mail-Adressen.", "At most 5 e-mail addresses."},
		// An argument that is a message itself is translated as well.
		{"en", fmt.Sprintf("Zeile %d: %s", 7, "Anführungszeichen \" nicht geschlossen oder falsch verdoppelt"),
			"Line 7: quotation mark \" not closed or wrongly doubled"},
		{"en", fmt.Sprintf("Ungültiger Betrag „%s“: %s.", "1.234", "mehrdeutig (Tausendertrennzeichen oder Dezimaltrennzeichen?), bitte 1'234 oder 1.2340 schreiben"),
			"Invalid amount “1.234”: ambiguous (thousands or decimal separator?), please write 1'234 or 1.2340."},
		{"en", "Die Datei ist keine CSV-Datei. Sie enthält Binärdaten.", "The file is not a CSV file. It contains binary data."},
		// Lists of reasons and of numbers.
		{"en", "Ungültige Kopfzeile: leerer Spaltenname in Spalte 2; Spaltenname „PLZ“ mehrfach (Spalten 3, 5 und 9).",
			"Invalid header line: empty column name in column 2; column name “PLZ” more than once (columns 3, 5 and 9)."},
		// Unknown messages stay German, never empty.
		{"en", "Diese Meldung kennt niemand.", "Diese Meldung kennt niemand."},
		{"en", "Zeile", "Zeile"},
		{"en", "", ""},
	}
	for _, tt := range tests {
		if got := Translate(tt.lang, tt.msg); got != tt.want {
			t.Errorf("Translate(%q, %q)\n got %q\nwant %q", tt.lang, tt.msg, got, tt.want)
		}
	}
}

func TestTranslatedError(t *testing.T) {
	e := &Error{Code: EINVALID, Message: "Die Eingabe ist ungültig.", Fields: map[string]string{
		"name": "Der Name fehlt.", "x": "Unbekannt und unübersetzt."}}
	en := e.Translated("en")
	if en.Code != EINVALID || en.Message != "The input is invalid." || en.Fields["name"] != "The name is missing." ||
		en.Fields["x"] != "Unbekannt und unübersetzt." {
		t.Errorf("Translated(en) = %+v", en)
	}
	if e.Message != "Die Eingabe ist ungültig." || e.Fields["name"] != "Der Name fehlt." {
		t.Errorf("Translated changed the original: %+v", e)
	}
	if de := e.Translated("de"); de != e {
		t.Errorf("Translated(de) = %+v, want the error itself", de)
	}
	var nilErr *Error
	if nilErr.Translated("en") != nil {
		t.Error("Translated of nil is not nil")
	}
}

// TestFormats checks the catalogue itself: every English format refers to
// arguments the German has, and every German format matches a message
// built from it, with the arguments back in the English.
func TestFormats(t *testing.T) {
	for _, f := range formatsEN() {
		args := make([]any, len(f.verbs))
		want := make([]string, len(f.verbs))
		for i, v := range f.verbs {
			switch v {
			case 'd':
				args[i], want[i] = 40+i, fmt.Sprint(40+i)
			case 'q':
				args[i], want[i] = fmt.Sprintf("wert %d", i), fmt.Sprintf("%q", fmt.Sprintf("wert %d", i))
			case 'w':
				args[i], want[i] = fmt.Errorf("Ursache %d", i), fmt.Sprintf("Ursache %d", i)
			default:
				args[i], want[i] = fmt.Sprintf("Wert Nr. %d", i), fmt.Sprintf("Wert Nr. %d", i)
			}
		}
		var msg string
		if strings.Contains(f.de, "%w") {
			msg = fmt.Errorf(f.de, args...).Error()
		} else {
			msg = fmt.Sprintf(f.de, args...)
		}
		got := Translate("en", msg)
		if got == msg {
			t.Errorf("%q: %q is not translated", f.de, msg)
			continue
		}
		if strings.Contains(got, "%!") {
			t.Errorf("%q: bad English %q", f.de, got)
		}
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("%q: %q lacks the argument %q", f.de, got, w)
			}
		}
	}
}

func TestCompileFormatRejects(t *testing.T) {
	for _, p := range [][2]string{
		{"Kein Verb.", "No verb."},
		{"%s", "%s"},
		{"Wert %s.", "Value %s and %s."},
		{"Wert %[1]s.", "Value %s."},
	} {
		if _, err := compileFormat(p[0], p[1]); err == nil {
			t.Errorf("compileFormat(%q, %q) succeeded", p[0], p[1])
		}
	}
	f, err := compileFormat("Spalte %s in Zeile %d.", "Line %[2]s, column %[1]s.")
	if err != nil {
		t.Fatal(err)
	}
	if got := expand(f.en, []string{"PLZ", "3"}); got != "Line 3, column PLZ." {
		t.Errorf("reordered: %q", got)
	}
}

func BenchmarkTranslate(b *testing.B) {
	b.Run("exact", func(b *testing.B) {
		for b.Loop() {
			Translate("en", "Der Name fehlt.")
		}
	})
	b.Run("format", func(b *testing.B) {
		for b.Loop() {
			Translate("en", "Die Zeile hat 3 statt 4 Spalten.")
		}
	})
	b.Run("unknown", func(b *testing.B) {
		for b.Loop() {
			Translate("en", "Diese Meldung kennt niemand.")
		}
	})
}
