// Package demo makes realistic, deterministic fake Swiss CRM data: people
// with names common in the German-, French- and Italian-speaking parts,
// companies with valid UIDs, addresses in real towns with their postal codes
// and cantons. The same seed always gives the same data. It never touches
// real data: everything here is invented.
package demo

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Town is a real Swiss town with one of its postal codes.
type Town struct {
	PostalCode, City, Canton, Area string // Area: phone area code without 0
	Language                       string // de, fr or it
}

// Towns are real places; the postal codes and area codes are real too.
var Towns = []Town{
	{"8001", "Zürich", "ZH", "44", "de"}, {"8004", "Zürich", "ZH", "44", "de"}, {"8400", "Winterthur", "ZH", "52", "de"},
	{"8610", "Uster", "ZH", "44", "de"}, {"8600", "Dübendorf", "ZH", "44", "de"}, {"8953", "Dietikon", "ZH", "44", "de"},
	{"8820", "Wädenswil", "ZH", "44", "de"}, {"8302", "Kloten", "ZH", "44", "de"}, {"8810", "Horgen", "ZH", "44", "de"},
	{"8706", "Meilen", "ZH", "44", "de"}, {"8180", "Bülach", "ZH", "44", "de"}, {"3011", "Bern", "BE", "31", "de"},
	{"3600", "Thun", "BE", "33", "de"}, {"3098", "Köniz", "BE", "31", "de"}, {"2502", "Biel/Bienne", "BE", "32", "de"},
	{"3400", "Burgdorf", "BE", "34", "de"}, {"4900", "Langenthal", "BE", "62", "de"}, {"4051", "Basel", "BS", "61", "de"},
	{"4410", "Liestal", "BL", "61", "de"}, {"4123", "Allschwil", "BL", "61", "de"}, {"6003", "Luzern", "LU", "41", "de"},
	{"6032", "Emmen", "LU", "41", "de"}, {"9000", "St. Gallen", "SG", "71", "de"}, {"9500", "Wil", "SG", "71", "de"},
	{"8640", "Rapperswil", "SG", "55", "de"}, {"5000", "Aarau", "AG", "62", "de"}, {"5400", "Baden", "AG", "56", "de"},
	{"5430", "Wettingen", "AG", "56", "de"}, {"4500", "Solothurn", "SO", "32", "de"}, {"4600", "Olten", "SO", "62", "de"},
	{"8500", "Frauenfeld", "TG", "52", "de"}, {"8280", "Kreuzlingen", "TG", "71", "de"}, {"8200", "Schaffhausen", "SH", "52", "de"},
	{"7000", "Chur", "GR", "81", "de"}, {"7270", "Davos", "GR", "81", "de"}, {"6300", "Zug", "ZG", "41", "de"},
	{"6430", "Schwyz", "SZ", "41", "de"}, {"6460", "Altdorf", "UR", "41", "de"}, {"6060", "Sarnen", "OW", "41", "de"},
	{"6370", "Stans", "NW", "41", "de"}, {"8750", "Glarus", "GL", "55", "de"}, {"9100", "Herisau", "AR", "71", "de"},
	{"9050", "Appenzell", "AI", "71", "de"}, {"1201", "Genève", "GE", "22", "fr"}, {"1003", "Lausanne", "VD", "21", "fr"},
	{"1820", "Montreux", "VD", "21", "fr"}, {"1400", "Yverdon-les-Bains", "VD", "24", "fr"}, {"1260", "Nyon", "VD", "22", "fr"},
	{"1800", "Vevey", "VD", "21", "fr"}, {"1700", "Fribourg", "FR", "26", "fr"}, {"2000", "Neuchâtel", "NE", "32", "fr"},
	{"2300", "La Chaux-de-Fonds", "NE", "32", "fr"}, {"2800", "Delémont", "JU", "32", "fr"}, {"1950", "Sion", "VS", "27", "fr"},
	{"1920", "Martigny", "VS", "27", "fr"}, {"3900", "Brig", "VS", "27", "de"}, {"6900", "Lugano", "TI", "91", "it"},
	{"6500", "Bellinzona", "TI", "91", "it"}, {"6600", "Locarno", "TI", "91", "it"}, {"6850", "Mendrisio", "TI", "91", "it"},
}

var firstNames = map[string][2][]string{ // language → {female, male}
	"de": {{"Anna", "Laura", "Sarah", "Julia", "Lea", "Sandra", "Nicole", "Andrea", "Claudia", "Barbara", "Monika", "Ursula", "Ruth",
		"Daniela", "Karin", "Simone", "Corinne", "Fabienne", "Lena", "Mia", "Nina", "Jana", "Franziska", "Regula", "Verena"},
		{"Daniel", "Peter", "Thomas", "Martin", "Hans", "Andreas", "Christian", "Markus", "Stefan", "Michael", "Urs", "Beat",
			"Reto", "Lukas", "Simon", "Jonas", "Marco", "Patrick", "Roger", "Bruno", "Walter", "Kurt", "Matthias", "Adrian", "Fabian"}},
	"fr": {{"Marie", "Sophie", "Camille", "Chloé", "Léa", "Nathalie", "Isabelle", "Valérie", "Céline", "Aurélie", "Émilie", "Justine"},
		{"Jean", "Pierre", "Nicolas", "Olivier", "Philippe", "Laurent", "Julien", "Mathieu", "François", "Alain", "Yves", "Sébastien"}},
	"it": {{"Giulia", "Francesca", "Chiara", "Sara", "Elena", "Martina", "Paola", "Silvia", "Valentina", "Alessia"},
		{"Marco", "Luca", "Andrea", "Matteo", "Paolo", "Giorgio", "Davide", "Stefano", "Alessandro", "Fabio"}},
}

var lastNames = map[string][]string{
	"de": {"Müller", "Meier", "Schmid", "Keller", "Weber", "Huber", "Schneider", "Meyer", "Steiner", "Fischer", "Gerber",
		"Brunner", "Baumann", "Frei", "Zimmermann", "Moser", "Widmer", "Wyss", "Graf", "Roth", "Suter", "Baumgartner",
		"Bachmann", "Studer", "Kälin", "Bühler", "Lehmann", "Hofmann", "Küng", "Lüthi", "Zürcher", "Aebischer", "Ammann",
		"Egli", "Hess", "Kaufmann", "Marti", "Schär", "Stucki", "Vogel", "Wüthrich", "Zbinden", "Hürlimann", "Gisler", "Sutter"},
	"fr": {"Favre", "Rochat", "Bonvin", "Berset", "Clément", "Morel", "Perrin", "Dubois", "Rey", "Girard", "Jaquet",
		"Mercier", "Fontaine", "Pittet", "Cuendet", "Chappuis", "Rossier", "Vuilleumier"},
	"it": {"Rossi", "Bernasconi", "Fontana", "Ferrari", "Gallo", "Bianchi", "Colombo", "Lurati", "Pedrazzini", "Keller",
		"Moretti", "Galli", "Sciaroni", "Crivelli"},
}

var streets = map[string][]string{
	"de": {"Bahnhofstrasse", "Hauptstrasse", "Dorfstrasse", "Kirchweg", "Seestrasse", "Industriestrasse", "Schulstrasse",
		"Gartenstrasse", "Bergstrasse", "Poststrasse", "Rosenweg", "Lindenstrasse", "Feldstrasse", "Mühleweg", "Sonnenbergstrasse"},
	"fr": {"Rue de la Gare", "Avenue de la Gare", "Rue du Lac", "Chemin des Vignes", "Rue du Marché", "Route de Lausanne",
		"Rue de l'Industrie", "Avenue des Alpes", "Chemin du Moulin"},
	"it": {"Via Cantonale", "Via Stazione", "Via Nassa", "Piazza Grande", "Via San Gottardo", "Via Lugano", "Via al Lago"},
}

var jobTitles = []string{"Geschäftsführer/in", "Inhaber/in", "Leiter/in Einkauf", "Leiter/in Verkauf", "Buchhalter/in",
	"Projektleiter/in", "Assistent/in der Geschäftsleitung", "Leiter/in Marketing", "Technische/r Leiter/in", "CFO", "HR-Fachfrau/-mann"}

// Industries are the branches companies are drawn from, with words for their names.
var Industries = []struct{ Name, Word string }{
	{"Bau", "Bau"}, {"Holzbau", "Holzbau"}, {"Elektro", "Elektro"}, {"Sanitär", "Sanitär"}, {"Treuhand", "Treuhand"},
	{"Informatik", "Informatik"}, {"Gastronomie", "Gastro"}, {"Immobilien", "Immobilien"}, {"Transport", "Transporte"},
	{"Maschinenbau", "Maschinenbau"}, {"Beratung", "Consulting"}, {"Druck", "Druck"}, {"Garage", "Garage"},
	{"Gartenbau", "Gartenbau"}, {"Architektur", "Architekten"}, {"Reinigung", "Reinigung"}, {"Metallbau", "Metallbau"},
}

var legalForms = []string{"AG", "GmbH", "AG", "GmbH", "& Co.", "SA", "Sàrl"}

// Person is an invented contact.
type Person struct {
	Salutation, FirstName, LastName string
	Email, Phone, Mobile            string
	JobTitle, Language              string
	Birthday                        time.Time
	Street, PostalCode, City        string
	Canton                          string
}

// Company is an invented company.
type Company struct {
	Name, UID, Website, Email, Phone string
	Street, PostalCode, City, Canton string
	Industry                         string
	Language                         string
}

// Generator draws demo data from a seeded source: the same seed gives the
// same sequence.
type Generator struct {
	r *rand.Rand
}

// New returns a generator for seed.
func New(seed uint64) *Generator {
	return &Generator{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func pick[T any](r *rand.Rand, list []T) T { return list[r.IntN(len(list))] }

// Intn returns a number in [0, n).
func (g *Generator) Intn(n int) int { return g.r.IntN(n) }

// Town returns a random town.
func (g *Generator) Town() Town { return pick(g.r, Towns) }

func (g *Generator) street(lang string) string {
	return fmt.Sprintf("%s %d", pick(g.r, streets[lang]), 1+g.r.IntN(120))
}

func (g *Generator) phone(area string) string {
	return fmt.Sprintf("+41 %s %03d %02d %02d", area, g.r.IntN(1000), g.r.IntN(100), g.r.IntN(100))
}

// Person invents a contact living in a random town.
func (g *Generator) Person() Person {
	t := g.Town()
	female := g.r.IntN(2) == 0
	names := firstNames[t.Language]
	first := pick(g.r, names[1])
	sal := map[string][2]string{"de": {"Herr", "Frau"}, "fr": {"Monsieur", "Madame"}, "it": {"Signor", "Signora"}}[t.Language][0]
	if female {
		first = pick(g.r, names[0])
		sal = map[string][2]string{"de": {"Herr", "Frau"}, "fr": {"Monsieur", "Madame"}, "it": {"Signor", "Signora"}}[t.Language][1]
	}
	last := pick(g.r, lastNames[t.Language])
	birthday := time.Date(1950+g.r.IntN(55), time.Month(1+g.r.IntN(12)), 1+g.r.IntN(28), 0, 0, 0, 0, time.UTC)
	return Person{
		Salutation: sal, FirstName: first, LastName: last,
		Email:    fmt.Sprintf("%s.%s@%s", ascii(first), ascii(last), pick(g.r, []string{"bluewin.ch", "gmx.ch", "sunrise.ch", "hispeed.ch", "proton.me"})),
		Phone:    g.phone(t.Area),
		Mobile:   fmt.Sprintf("+41 %s %03d %02d %02d", pick(g.r, []string{"76", "77", "78", "79"}), g.r.IntN(1000), g.r.IntN(100), g.r.IntN(100)),
		JobTitle: pick(g.r, jobTitles), Language: t.Language, Birthday: birthday,
		Street: g.street(t.Language), PostalCode: t.PostalCode, City: t.City, Canton: t.Canton,
	}
}

// Company invents a company in a random town, with a valid UID.
func (g *Generator) Company() Company {
	t := g.Town()
	ind := pick(g.r, Industries)
	last := pick(g.r, lastNames[t.Language])
	form := pick(g.r, legalForms)
	if t.Language != "de" && (form == "AG" || form == "GmbH") {
		form = map[bool]string{true: "SA", false: "Sàrl"}[g.r.IntN(2) == 0]
	}
	var name string
	switch g.r.IntN(3) {
	case 0:
		name = fmt.Sprintf("%s %s %s", last, ind.Word, form)
	case 1:
		name = fmt.Sprintf("%s %s %s", ind.Word, t.City, form)
	default:
		name = fmt.Sprintf("%s + %s %s", last, pick(g.r, lastNames[t.Language]), form)
	}
	domain := ascii(last) + "-" + strings.ToLower(ascii(ind.Word)) + ".ch"
	return Company{
		Name: name, UID: g.UID(), Website: "https://www." + domain, Email: "info@" + domain,
		Phone: g.phone(t.Area), Street: g.street(t.Language), PostalCode: t.PostalCode, City: t.City, Canton: t.Canton,
		Industry: ind.Name, Language: t.Language,
	}
}

// UID invents a Swiss UID with a correct check digit.
func (g *Generator) UID() string {
	weights := []int{5, 4, 3, 2, 7, 6, 5, 4}
	for {
		d := make([]int, 9)
		sum := 0
		for i := 0; i < 8; i++ {
			d[i] = g.r.IntN(10)
			sum += d[i] * weights[i]
		}
		check := 11 - sum%11
		if check == 11 {
			check = 0
		}
		if check == 10 {
			continue // no valid UID with these digits
		}
		d[8] = check
		return fmt.Sprintf("CHE-%d%d%d.%d%d%d.%d%d%d", d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8])
	}
}

// Amount invents a deal amount in whole francs, as a decimal string.
func (g *Generator) Amount() string {
	steps := []int{500, 1000, 2500, 5000}
	return fmt.Sprintf("%d.00", (1+g.r.IntN(60))*pick(g.r, steps))
}

// DealTitle invents a deal title.
func (g *Generator) DealTitle(company string) string {
	what := pick(g.r, []string{"Neubau", "Sanierung", "Wartungsvertrag", "Beratungsmandat", "Software-Einführung", "Umbau",
		"Rahmenvertrag", "Jahresabschluss", "Erweiterung", "Ersatzbeschaffung", "Pilotprojekt"})
	return what + " " + company
}

// Subject invents an activity subject for a kind.
func (g *Generator) Subject(kind string) string {
	m := map[string][]string{
		"call":    {"Rückruf wegen Offerte", "Telefonat Bedarfsabklärung", "Nachfassen Angebot", "Terminvereinbarung"},
		"meeting": {"Besprechung vor Ort", "Projekt-Kickoff", "Präsentation Lösung", "Jahresgespräch"},
		"task":    {"Offerte erstellen", "Vertrag senden", "Unterlagen nachreichen", "Rechnung prüfen", "Referenzen zusammenstellen"},
		"note":    {"Notiz zum Gespräch", "Wichtige Hinweise", "Zusammenfassung"},
		"email":   {"E-Mail: Offerte", "E-Mail: Terminbestätigung", "E-Mail: Rückfrage"},
	}
	return pick(g.r, m[kind])
}

// ascii folds a name for e-mail addresses and domains (Müller → mueller).
func ascii(s string) string {
	r := strings.NewReplacer("ä", "ae", "ö", "oe", "ü", "ue", "Ä", "Ae", "Ö", "Oe", "Ü", "Ue", "é", "e", "è", "e", "ê", "e",
		"à", "a", "â", "a", "ç", "c", "ô", "o", "î", "i", "É", "E", " ", "", "'", "", "+", "", "/", "", ".", "")
	return strings.ToLower(r.Replace(s))
}
