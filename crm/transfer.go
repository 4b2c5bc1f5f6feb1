package crm

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/csvfile"
)

// Import modes and duplicate policies.
const (
	ImportAllOrNothing = "all_or_nothing"
	ImportSkipBadRows  = "skip_bad_rows"

	DuplicatesSkip   = "skip"
	DuplicatesUpdate = "update"
	DuplicatesCreate = "create"
)

// MaxImportErrors caps the row errors an import reports; the rest are
// counted only (Truncated).
const MaxImportErrors = 1000

// ImportOptions configure one CSV import.
type ImportOptions struct {
	// Mapping maps CSV column names to record fields; nil maps by the
	// built-in table of common column names.
	Mapping map[string]string
	// DryRun validates and counts but changes nothing.
	DryRun bool
	// Mode is ImportAllOrNothing (default) or ImportSkipBadRows.
	Mode string
	// Duplicates is DuplicatesSkip (default), DuplicatesUpdate or DuplicatesCreate.
	Duplicates string
	// FileName and SHA256 describe the uploaded file for the audit log.
	FileName, SHA256 string
}

// Normalize fills in defaults and checks the values.
func (o *ImportOptions) Normalize() error {
	v := validation{map[string]string{}}
	if o.Mode == "" {
		o.Mode = ImportAllOrNothing
	}
	if o.Duplicates == "" {
		o.Duplicates = DuplicatesSkip
	}
	if o.Mode != ImportAllOrNothing && o.Mode != ImportSkipBadRows {
		v.add("mode", "Erwartet all_or_nothing oder skip_bad_rows.")
	}
	if o.Duplicates != DuplicatesSkip && o.Duplicates != DuplicatesUpdate && o.Duplicates != DuplicatesCreate {
		v.add("duplicates", "Erwartet skip, update oder create.")
	}
	return v.Err()
}

// ImportError is one bad row: its physical line in the file (1 is the
// header), the record field (as the API names it) or "" for the whole row,
// the CSV column if known, and the message.
type ImportError struct {
	Line    int    `json:"line"`
	Field   string `json:"field"`
	Column  string `json:"column,omitempty"`
	Message string `json:"message"`
}

// ImportResult reports an import or a dry run.
type ImportResult struct {
	DryRun  bool          `json:"dry_run"`
	Created int           `json:"created"`
	Updated int           `json:"updated"`
	Skipped int           `json:"skipped"`
	Errors  []ImportError `json:"errors"`
	// Truncated says that more than MaxImportErrors errors occurred.
	Truncated bool `json:"truncated"`
	// BadRows counts the rows with at least one error.
	BadRows   int    `json:"bad_rows"`
	Encoding  string `json:"encoding"`
	Delimiter string `json:"delimiter"`
	// RolledBack is set when an all-or-nothing import imported nothing
	// because of bad rows.
	RolledBack bool `json:"rolled_back,omitempty"`
}

// AddError records a row error, up to MaxImportErrors.
func (r *ImportResult) AddError(e ImportError) {
	if len(r.Errors) >= MaxImportErrors {
		r.Truncated = true
		return
	}
	r.Errors = append(r.Errors, e)
}

// ImportService imports records from CSV files. The reader is consumed as
// a stream; records are written in chunks.
type ImportService interface {
	ImportCompanies(ctx context.Context, p *auth.Principal, r io.Reader, o ImportOptions, m auth.LoginMeta) (*ImportResult, error)
	ImportContacts(ctx context.Context, p *auth.Principal, r io.Reader, o ImportOptions, m auth.LoginMeta) (*ImportResult, error)
	// LogExport writes the audit entry of an export ("export.<kind>").
	LogExport(ctx context.Context, p *auth.Principal, kind string, details map[string]any, m auth.LoginMeta) error
}

// Importable fields, as the mapping names them.
const (
	FieldName         = "name"
	FieldUID          = "uid"
	FieldWebsite      = "website"
	FieldEmail        = "email"
	FieldPhone        = "phone"
	FieldMobile       = "mobile"
	FieldStreet       = "address.street"
	FieldPostalCode   = "address.postal_code"
	FieldCity         = "address.city"
	FieldCanton       = "address.canton"
	FieldCountry      = "address.country"
	FieldIndustry     = "industry"
	FieldTags         = "tags"
	FieldSalutation   = "salutation"
	FieldFirstName    = "first_name"
	FieldLastName     = "last_name"
	FieldJobTitle     = "job_title"
	FieldCompany      = "company"
	FieldLanguage     = "language"
	FieldBirthday     = "birthday"
	FieldConsent      = "marketing_consent"
	customFieldPrefix = "custom_fields."
)

var companyImportFields = []string{FieldName, FieldUID, FieldWebsite, FieldEmail, FieldPhone, FieldStreet, FieldPostalCode,
	FieldCity, FieldCanton, FieldCountry, FieldIndustry, FieldTags}

var contactImportFields = []string{FieldSalutation, FieldFirstName, FieldLastName, FieldEmail, FieldPhone, FieldMobile,
	FieldJobTitle, FieldCompany, FieldStreet, FieldPostalCode, FieldCity, FieldCanton, FieldCountry, FieldLanguage,
	FieldBirthday, FieldTags, FieldConsent}

// Built-in column names (lower-case) → field. Entity-specific tables come
// first: "Name" is a company's name but a person's last name, and "Firma"
// is a company's name but a person's employer.
var (
	commonColumns = map[string]string{
		"e-mail": FieldEmail, "email": FieldEmail, "mail": FieldEmail, "e-mail-adresse": FieldEmail, "courriel": FieldEmail,
		"telefon": FieldPhone, "phone": FieldPhone, "tel.": FieldPhone, "tel": FieldPhone, "téléphone": FieldPhone, "telephone": FieldPhone,
		"strasse": FieldStreet, "straße": FieldStreet, "adresse": FieldStreet, "street": FieldStreet, "address": FieldStreet, "rue": FieldStreet,
		"plz": FieldPostalCode, "postleitzahl": FieldPostalCode, "zip": FieldPostalCode, "npa": FieldPostalCode, "postal code": FieldPostalCode,
		"ort": FieldCity, "city": FieldCity, "localité": FieldCity, "localite": FieldCity, "stadt": FieldCity,
		"kanton": FieldCanton, "canton": FieldCanton,
		"land": FieldCountry, "country": FieldCountry, "pays": FieldCountry,
		"tags": FieldTags, "schlagwörter": FieldTags, "schlagworte": FieldTags,
	}
	companyColumns = map[string]string{
		"name": FieldName, "firma": FieldName, "company": FieldName, "firmenname": FieldName, "entreprise": FieldName,
		"uid": FieldUID, "website": FieldWebsite, "webseite": FieldWebsite, "homepage": FieldWebsite,
		"branche": FieldIndustry, "industry": FieldIndustry,
	}
	contactColumns = map[string]string{
		"anrede": FieldSalutation, "salutation": FieldSalutation,
		"vorname": FieldFirstName, "first name": FieldFirstName, "firstname": FieldFirstName, "prénom": FieldFirstName, "prenom": FieldFirstName,
		"nachname": FieldLastName, "name": FieldLastName, "last name": FieldLastName, "lastname": FieldLastName, "nom": FieldLastName,
		"mobile": FieldMobile, "natel": FieldMobile, "handy": FieldMobile, "mobil": FieldMobile,
		"funktion": FieldJobTitle, "position": FieldJobTitle, "job title": FieldJobTitle, "fonction": FieldJobTitle,
		"firma": FieldCompany, "company": FieldCompany, "unternehmen": FieldCompany, "entreprise": FieldCompany,
		"sprache": FieldLanguage, "language": FieldLanguage, "langue": FieldLanguage,
		"geburtstag": FieldBirthday, "geburtsdatum": FieldBirthday, "birthday": FieldBirthday,
		"marketing-einwilligung": FieldConsent,
	}
)

// ColumnMap says which CSV column feeds which field.
type ColumnMap struct {
	Entity string
	// Fields maps a field to its column index.
	Fields map[string]int
	// Header is the file's header, for error messages.
	Header []string
}

// NewColumnMap maps a header for an entity (EntityCompany or
// EntityContact), by mapping if given, else by the built-in names.
// Custom fields are mapped by "custom_fields.<key>" or by their label.
func NewColumnMap(entity string, header []string, mapping map[string]string, custom []CustomField) (*ColumnMap, error) {
	cm := &ColumnMap{Entity: entity, Fields: map[string]int{}, Header: header}
	allowed := companyImportFields
	if entity == EntityContact {
		allowed = contactImportFields
	}
	isField := func(f string) bool {
		if strings.HasPrefix(f, customFieldPrefix) {
			for _, d := range custom {
				if d.Key == f[len(customFieldPrefix):] {
					return true
				}
			}
			return false
		}
		return contains(allowed, f)
	}
	index := map[string]int{}
	for i, h := range header {
		index[strings.ToLower(h)] = i
	}
	v := validation{map[string]string{}}
	if mapping != nil {
		cols := make([]string, 0, len(mapping))
		for c := range mapping {
			cols = append(cols, c)
		}
		sort.Strings(cols)
		for _, col := range cols {
			f := strings.TrimSpace(mapping[col])
			i, ok := index[strings.ToLower(strings.TrimSpace(col))]
			switch {
			case !ok:
				v.add("mapping", fmt.Sprintf("Die Spalte „%s“ gibt es in der Datei nicht.", col))
			case f == "":
				// An empty target leaves the column out.
			case !isField(f):
				v.add("mapping", fmt.Sprintf("Unbekanntes Feld „%s“ für die Spalte „%s“.", f, col))
			default:
				if _, dup := cm.Fields[f]; dup {
					v.add("mapping", fmt.Sprintf("Das Feld „%s“ ist mehreren Spalten zugeordnet.", f))
				}
				cm.Fields[f] = i
			}
		}
	} else {
		cm.Fields = autoMap(entity, header, custom)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	switch entity {
	case EntityCompany:
		if _, ok := cm.Fields[FieldName]; !ok {
			return nil, rpcrm.FieldError("mapping", "Keine Spalte für den Namen der Firma (z. B. „Firma“ oder „Name“).")
		}
	case EntityContact:
		_, first := cm.Fields[FieldFirstName]
		_, last := cm.Fields[FieldLastName]
		if !first && !last {
			return nil, rpcrm.FieldError("mapping", "Keine Spalte für Vor- oder Nachname (z. B. „Vorname“, „Nachname“).")
		}
	}
	return cm, nil
}

// RowValues is one CSV row seen through a ColumnMap.
type RowValues struct {
	cm     *ColumnMap
	fields []string
}

// Row wraps a record's fields; it reports a row with the wrong number
// of columns, which usually means a shifted row whose values would land
// in the wrong fields.
func (cm *ColumnMap) Row(fields []string) (RowValues, error) {
	if len(fields) != len(cm.Header) {
		return RowValues{}, fmt.Errorf("Die Zeile hat %d statt %d Spalten.", len(fields), len(cm.Header))
	}
	return RowValues{cm: cm, fields: fields}, nil
}

// Empty reports whether every cell of the row is blank.
func (r RowValues) Empty() bool {
	for _, f := range r.fields {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// Get returns the cell of a field, trimmed, with an export's formula guard
// removed, and whether the field is mapped at all.
func (r RowValues) Get(field string) (string, bool) {
	i, ok := r.cm.Fields[field]
	if !ok {
		return "", false
	}
	return strings.TrimSpace(csvfile.RemoveFormulaGuard(r.fields[i])), true
}

// Column names the CSV column of an error field ("emails.0" → "E-Mail").
func (cm *ColumnMap) Column(field string) string {
	f := field
	switch {
	case strings.HasPrefix(f, "emails"):
		f = FieldEmail
	case strings.HasPrefix(f, "phones"):
		f = FieldPhone
		if _, ok := cm.Fields[f]; !ok {
			f = FieldMobile
		}
	case f == "company_id":
		f = FieldCompany
	}
	if i, ok := cm.Fields[f]; ok {
		return cm.Header[i]
	}
	return ""
}

// splitList splits a cell holding several values (tags, e-mail addresses,
// phone numbers) at commas and semicolons.
func splitList(s string) []string {
	var out []string
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' }) {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// set copies a mapped cell into an input field; unmapped fields stay nil
// so that an update leaves them as they are.
func (r RowValues) set(field string, dst **string) {
	if s, ok := r.Get(field); ok {
		*dst = &s
	}
}

func (r RowValues) address(cur *Address) *Address {
	a := Address{}
	if cur != nil {
		a = *cur
	}
	any := false
	for f, dst := range map[string]*string{FieldStreet: &a.Street, FieldPostalCode: &a.PostalCode, FieldCity: &a.City,
		FieldCanton: &a.Canton, FieldCountry: &a.Country} {
		if s, ok := r.Get(f); ok {
			*dst, any = s, true
		}
	}
	if !any {
		return nil
	}
	if code, ok := countryNames[strings.ToLower(a.Country)]; ok {
		a.Country = code
	}
	return &a
}

// countryNames are the country names Swiss files spell out instead of
// the ISO code the record stores.
var countryNames = map[string]string{
	"schweiz": "CH", "suisse": "CH", "svizzera": "CH", "switzerland": "CH",
	"liechtenstein": "LI", "deutschland": "DE", "allemagne": "DE", "germany": "DE",
	"österreich": "AT", "autriche": "AT", "austria": "AT", "frankreich": "FR", "france": "FR",
	"italien": "IT", "italie": "IT", "italia": "IT", "italy": "IT",
}

// custom converts the mapped custom field cells to the types that
// ValidateCustom expects, with Swiss dates and numbers.
func (r RowValues) custom(defs []CustomField, v validation) Custom {
	out := Custom{}
	for _, d := range defs {
		s, ok := r.Get(customFieldPrefix + d.Key)
		if !ok {
			continue
		}
		field := customFieldPrefix + d.Key
		if s == "" {
			out[d.Key] = nil
			continue
		}
		switch d.Type {
		case FieldNumber:
			dec, err := csvfile.ParseSwissDecimal(s)
			if err != nil {
				v.add(field, err.Error())
				continue
			}
			n, err := strconv.ParseFloat(dec, 64)
			if err != nil {
				v.add(field, "Erwartet eine Zahl.")
				continue
			}
			out[d.Key] = n
		case FieldDate:
			t, err := csvfile.ParseSwissDate(s)
			if err != nil {
				v.add(field, err.Error())
				continue
			}
			out[d.Key] = t.Format(time.DateOnly)
		case FieldBool:
			b, err := csvfile.ParseBool(s)
			if err != nil {
				v.add(field, err.Error())
				continue
			}
			out[d.Key] = b
		case FieldMulti:
			out[d.Key] = splitList(s)
		default:
			out[d.Key] = s
		}
	}
	return out
}

// CompanyInput builds the input of one row. Only mapped fields are set.
func (r RowValues) CompanyInput(defs []CustomField) (CompanyInput, error) {
	v := validation{map[string]string{}}
	var in CompanyInput
	r.set(FieldName, &in.Name)
	r.set(FieldUID, &in.UID)
	r.set(FieldWebsite, &in.Website)
	r.set(FieldEmail, &in.Email)
	r.set(FieldPhone, &in.Phone)
	r.set(FieldIndustry, &in.Industry)
	in.Address = r.address(nil)
	if s, ok := r.Get(FieldTags); ok {
		tags := splitList(s)
		in.Tags = &tags
	}
	in.Custom = r.custom(defs, v)
	return in, v.Err()
}

// ContactInput builds the input of one row; the company is returned by
// name for the store to resolve. Only mapped fields are set.
func (r RowValues) ContactInput(defs []CustomField) (ContactInput, string, error) {
	v := validation{map[string]string{}}
	var in ContactInput
	r.set(FieldSalutation, &in.Salutation)
	r.set(FieldFirstName, &in.FirstName)
	r.set(FieldLastName, &in.LastName)
	r.set(FieldJobTitle, &in.JobTitle)
	r.set(FieldLanguage, &in.Language)
	if s, ok := r.Get(FieldEmail); ok {
		emails := splitList(s)
		if emails == nil {
			emails = []string{}
		}
		in.Emails = &emails
	}
	phone, okP := r.Get(FieldPhone)
	mobile, okM := r.Get(FieldMobile)
	if okP || okM {
		phones := append(splitList(phone), splitList(mobile)...)
		if phones == nil {
			phones = []string{}
		}
		in.Phones = &phones
	}
	if s, ok := r.Get(FieldBirthday); ok {
		if s == "" {
			in.Birthday = &s
		} else if t, err := ParseImportDate(s); err != nil {
			v.add("birthday", err.Error())
		} else {
			d := t.Format(time.DateOnly)
			in.Birthday = &d
		}
	}
	if s, ok := r.Get(FieldConsent); ok {
		b, err := csvfile.ParseBool(s)
		if err != nil {
			v.add(FieldConsent, err.Error())
		} else {
			src := "Import"
			in.MarketingConsent = &ConsentInput{Given: &b, Source: &src}
		}
	}
	in.Address = r.address(nil)
	if s, ok := r.Get(FieldTags); ok {
		tags := splitList(s)
		in.Tags = &tags
	}
	in.Custom = r.custom(defs, v)
	company, _ := r.Get(FieldCompany)
	return in, company, v.Err()
}

// ParseImportDate reads a date as csvfile.ParseSwissDate does.
func ParseImportDate(s string) (time.Time, error) { return csvfile.ParseSwissDate(s) }

// CompanyCSVHeader and ContactCSVHeader are the export columns; their
// names are in the import's built-in table, so an export imports again
// without a mapping.
var (
	CompanyCSVHeader = []string{"Firma", "UID", "E-Mail", "Telefon", "Website", "Strasse", "PLZ", "Ort", "Kanton", "Land",
		"Branche", "Tags", "Erstellt am", "Geändert am", "ID"}
	ContactCSVHeader = []string{"Anrede", "Vorname", "Nachname", "E-Mail", "Telefon", "Funktion", "Firma", "Strasse", "PLZ",
		"Ort", "Kanton", "Land", "Sprache", "Geburtstag", "Tags", "Erstellt am", "Geändert am", "ID"}
	DealCSVHeader = []string{"Titel", "Betrag", "Währung", "Pipeline", "Phase", "Status", "Wahrscheinlichkeit",
		"Abschluss erwartet", "Firma", "Person", "Tags", "Erstellt am", "Geändert am", "ID"}
)

// swissDate formats a YYYY-MM-DD date as 31.12.2024; anything else is kept.
func swissDate(s *string) string {
	if s == nil {
		return ""
	}
	t, err := time.Parse(time.DateOnly, *s)
	if err != nil {
		return *s
	}
	return csvfile.FormatSwissDate(t)
}

// swissTime formats an instant as the Swiss date of its day in Zurich.
func swissTime(t time.Time) string {
	return csvfile.FormatSwissDate(t.In(zurich))
}

var zurich = func() *time.Location {
	if l, err := time.LoadLocation("Europe/Zurich"); err == nil {
		return l
	}
	return time.UTC
}()

// CompanyCSVRow is a company as an export row (CompanyCSVHeader).
func CompanyCSVRow(c *Company) []string {
	uid := ""
	if c.UID != nil {
		uid = *c.UID
	}
	return []string{c.Name, uid, c.Email, c.Phone, c.Website, c.Address.Street, c.Address.PostalCode, c.Address.City,
		c.Address.Canton, c.Address.Country, c.Industry, strings.Join(c.Tags, ", "), swissTime(c.CreatedAt),
		swissTime(c.UpdatedAt), c.ID.String()}
}

// ContactCSVRow is a contact as an export row (ContactCSVHeader);
// company is the name of its company.
func ContactCSVRow(c *Contact, company string) []string {
	return []string{c.Salutation, c.FirstName, c.LastName, strings.Join(c.Emails, "; "), strings.Join(c.Phones, "; "),
		c.JobTitle, company, c.Address.Street, c.Address.PostalCode, c.Address.City, c.Address.Canton, c.Address.Country,
		c.Language, swissDate(c.Birthday), strings.Join(c.Tags, ", "), swissTime(c.CreatedAt), swissTime(c.UpdatedAt),
		c.ID.String()}
}

// DealCSVRow is a deal as an export row (DealCSVHeader).
func DealCSVRow(d *Deal, pipeline, stage, company, contact string) []string {
	amount := ""
	if d.Amount != nil {
		amount = *d.Amount
	}
	return []string{d.Title, amount, d.Currency, pipeline, stage, d.Status, strconv.Itoa(d.Probability),
		swissDate(d.ExpectedClose), company, contact, strings.Join(d.Tags, ", "), swissTime(d.CreatedAt),
		swissTime(d.UpdatedAt), d.ID.String()}
}
