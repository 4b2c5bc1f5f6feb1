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
	},
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
