package web

import (
	"strconv"
	"strings"
)

// texts holds the UI strings: German (de-CH) first, English second. French
// and Italian users see German until their translations exist.
var texts = map[string]map[string]string{
	"de": {
		"login.title":            "Anmelden",
		"login.email":            "E-Mail-Adresse",
		"login.password":         "Passwort",
		"login.submit":           "Anmelden",
		"login.email.missing":    "Bitte geben Sie Ihre E-Mail-Adresse ein.",
		"login.password.missing": "Bitte geben Sie Ihr Passwort ein.",
		"login.failed":           "E-Mail-Adresse oder Passwort ist falsch.",
		"login.limited":          "Zu viele Anmeldeversuche. Bitte warten Sie einen Moment.",
		"logout":                 "Abmelden",
		"home.title":             "Übersicht",
		"home.welcome":           "Willkommen",
		"home.email":             "E-Mail",
		"home.roles":             "Rollen",
		"home.tenant":            "Mandant",
		"error.csrf":             "Das Formular ist abgelaufen. Bitte versuchen Sie es noch einmal.",
		"error.internal":         "Ein interner Fehler ist aufgetreten. Bitte versuchen Sie es später noch einmal.",
		"error.title":            "Fehler",
		"error.home":             "Zur Übersicht",
		"error.not_found":        "Diese Seite oder dieser Datensatz existiert nicht (oder Sie dürfen ihn nicht sehen).",
		"error.forbidden":        "Dafür fehlt Ihnen die Berechtigung.",
		"error.stale":            "Jemand anderes hat diesen Datensatz inzwischen geändert. Bitte laden Sie ihn neu und versuchen Sie es noch einmal.",
		"error.too_large":        "Die Datei ist zu gross.",
		"error.bad_form":         "Das Formular konnte nicht gelesen werden.",
		"form.invalid":           "Bitte korrigieren Sie die markierten Felder.",
		"form.save":              "Speichern",
		"form.cancel":            "Abbrechen",
		"flash.saved":            "Gespeichert.",
		"flash.undo":             "Rückgängig",
		"nav.label":              "Hauptnavigation",
		"nav.skip":               "Zum Inhalt springen",
		"nav.home":               "Übersicht",
		"nav.contacts":           "Personen",
		"nav.companies":          "Firmen",
		"nav.deals":              "Verkaufschancen",
		"nav.tasks":              "Aufgaben",
		"nav.import":             "Import",
		"nav.audit":              "Protokoll",
		"nav.settings":           "Einstellungen",
		"search.label":           "Suche",
		"search.placeholder":     "Suchen … (Taste /)",
	},
	"en": {
		"login.title":            "Log in",
		"login.email":            "E-mail address",
		"login.password":         "Password",
		"login.submit":           "Log in",
		"login.email.missing":    "Please enter your e-mail address.",
		"login.password.missing": "Please enter your password.",
		"login.failed":           "Wrong e-mail address or password.",
		"login.limited":          "Too many login attempts. Please wait a moment.",
		"logout":                 "Log out",
		"home.title":             "Overview",
		"home.welcome":           "Welcome",
		"home.email":             "E-mail",
		"home.roles":             "Roles",
		"home.tenant":            "Tenant",
		"error.csrf":             "The form has expired. Please try again.",
		"error.internal":         "An internal error occurred. Please try again later.",
		"error.title":            "Error",
		"error.home":             "To the overview",
		"error.not_found":        "This page or record does not exist (or you may not see it).",
		"error.forbidden":        "You do not have the permission for this.",
		"error.stale":            "Someone else has changed this record in the meantime. Please reload it and try again.",
		"error.too_large":        "The file is too large.",
		"error.bad_form":         "The form could not be read.",
		"form.invalid":           "Please correct the marked fields.",
		"form.save":              "Save",
		"form.cancel":            "Cancel",
		"flash.saved":            "Saved.",
		"flash.undo":             "Undo",
		"nav.label":              "Main navigation",
		"nav.skip":               "Skip to content",
		"nav.home":               "Overview",
		"nav.contacts":           "Contacts",
		"nav.companies":          "Companies",
		"nav.deals":              "Deals",
		"nav.tasks":              "Tasks",
		"nav.import":             "Import",
		"nav.audit":              "Audit log",
		"nav.settings":           "Settings",
		"search.label":           "Search",
		"search.placeholder":     "Search … (key /)",
	},
}

// addTexts merges an area's UI strings into texts; each area of the UI
// (contacts, deals, settings, …) keeps its strings next to its handlers and
// calls this from an init function. A key defined twice is a defect.
func addTexts(de, en map[string]string) {
	for l, m := range map[string]map[string]string{"de": de, "en": en} {
		for k, v := range m {
			if _, dup := texts[l][k]; dup {
				panic("web: UI text defined twice: " + l + " " + k)
			}
			texts[l][k] = v
		}
	}
}

// lang maps a locale (de-CH, en-GB, …) to the language of its texts.
func lang(locale string) string {
	l, _, _ := strings.Cut(locale, "-")
	if _, ok := texts[l]; ok {
		return l
	}
	return "de"
}

func translate(lang, key string) string {
	if s, ok := texts[lang][key]; ok {
		return s
	}
	if s, ok := texts["de"][key]; ok {
		return s
	}
	return key
}

func itoa(n int) string { return strconv.Itoa(n) }

// option is one choice of a select field.
type option struct{ Value, Label string }
