package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
	"github.com/rpcrm/rpcrm/csvfile"
)

var _ crm.ImportService = (*CRMService)(nil)

// importChunk is how many rows are validated against the database and
// inserted with one statement. Only one chunk is held in memory.
const importChunk = 500

// errRollback ends a dry run or a failed all-or-nothing import: the
// transaction is rolled back, the report stands.
var errRollback = errors.New("import: roll back")

// ImportCompanies imports companies from a CSV file; duplicates are found
// by UID, then by name.
func (s *CRMService) ImportCompanies(ctx context.Context, p *auth.Principal, r io.Reader, o crm.ImportOptions, m auth.LoginMeta) (*crm.ImportResult, error) {
	return s.runImport(ctx, p, r, o, m, companies, func(tx pgx.Tx, res *crm.ImportResult, cm *crm.ColumnMap, defs []crm.CustomField) rowSink {
		return &companyImport{importBase: newImportBase(tx, p, res, cm, defs, o, m)}
	})
}

// ImportContacts imports contacts from a CSV file; duplicates are found by
// e-mail address, the company is linked by its name.
func (s *CRMService) ImportContacts(ctx context.Context, p *auth.Principal, r io.Reader, o crm.ImportOptions, m auth.LoginMeta) (*crm.ImportResult, error) {
	return s.runImport(ctx, p, r, o, m, contacts, func(tx pgx.Tx, res *crm.ImportResult, cm *crm.ColumnMap, defs []crm.CustomField) rowSink {
		return &contactImport{importBase: newImportBase(tx, p, res, cm, defs, o, m),
			companyIDs: map[string]*uuid.UUID{}, ambiguous: map[string]bool{}, seenEmails: map[string]bool{}}
	})
}

// rowSink takes the rows of one import. prepare builds and validates a
// row's record without the database; it runs on the goroutine reading the
// file, so that parsing the next chunk overlaps the database's work on the
// current one. queue, rowError and flush run on the transaction's goroutine.
type rowSink interface {
	prepare(line int, row crm.RowValues) (any, error)
	queue(line int, rec any)
	rowError(line int, err error)
	flush(ctx context.Context) error
}

// importItem is one row as the reader goroutine hands it over.
type importItem struct {
	line int
	msg  string // a malformed row or one with the wrong number of columns
	err  error  // the record's validation error
	rec  any
}

func (s *CRMService) runImport(ctx context.Context, p *auth.Principal, r io.Reader, o crm.ImportOptions, m auth.LoginMeta,
	rt recordTable, sink func(pgx.Tx, *crm.ImportResult, *crm.ColumnMap, []crm.CustomField) rowSink) (*crm.ImportResult, error) {
	if err := o.Normalize(); err != nil {
		return nil, err
	}
	if _, err := scope(p, auth.PermImportRun); err != nil {
		return nil, err
	}
	if _, err := scope(p, rt.write); err != nil {
		return nil, err
	}
	rd, err := csvfile.NewReader(r)
	if err != nil {
		return nil, fileError(err)
	}
	res := &crm.ImportResult{DryRun: o.DryRun, Errors: []crm.ImportError{}, Encoding: rd.Encoding(), Delimiter: string(rd.Delimiter())}
	err = s.DB.InTenant(ctx, p.TenantID, func(tx pgx.Tx) error {
		defs, err := customFieldDefs(ctx, tx, p.TenantID, rt.entity)
		if err != nil {
			return err
		}
		cm, err := crm.NewColumnMap(rt.entity, rd.Header(), o.Mapping, defs)
		if err != nil {
			return err
		}
		sk := sink(tx, res, cm, defs)
		batches := make(chan []importItem, 2)
		readErr := make(chan error, 1)
		stop := make(chan struct{})
		go readRows(rd, cm, sk, batches, readErr, stop)
		defer func() {
			// On an early return the reader stops at its next hand-over.
			close(stop)
			for range batches {
			}
		}()
		for batch := range batches {
			for _, it := range batch {
				switch {
				case it.msg != "":
					res.BadRows++
					res.AddError(crm.ImportError{Line: it.line, Message: it.msg})
				case it.err != nil:
					sk.rowError(it.line, it.err)
				default:
					sk.queue(it.line, it.rec)
				}
			}
			if err := sk.flush(ctx); err != nil {
				return err
			}
		}
		if err := <-readErr; err != nil {
			return err
		}
		if res.BadRows > 0 && o.Mode == crm.ImportAllOrNothing {
			res.RolledBack = !o.DryRun
			return errRollback
		}
		if o.DryRun {
			return errRollback
		}
		e := actorEntry(p, m, "import."+rt.table, rt.entity, uuid.Nil)
		e.Details = map[string]any{"created": res.Created, "updated": res.Updated, "skipped": res.Skipped,
			"bad_rows": res.BadRows, "sha256": o.SHA256, "file_name": o.FileName, "mode": o.Mode,
			"duplicates": o.Duplicates, "encoding": res.Encoding}
		return writeAudit(ctx, tx, p.TenantID, e)
	})
	if errors.Is(err, errRollback) {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	if res.RolledBack {
		res.Created, res.Updated, res.Skipped = 0, 0, 0
	}
	return res, nil
}

// readRows reads the file and hands the prepared rows over in chunks.
func readRows(rd *csvfile.Reader, cm *crm.ColumnMap, sk rowSink, batches chan<- []importItem, readErr chan<- error, stop <-chan struct{}) {
	defer close(batches)
	batch := make([]importItem, 0, importChunk)
	send := func() bool {
		select {
		case batches <- batch:
			batch = make([]importItem, 0, importChunk)
			return true
		case <-stop:
			return false
		}
	}
	for {
		row, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var le *csvfile.LineError
		switch {
		case errors.As(err, &le):
			batch = append(batch, importItem{line: le.Line, msg: le.Error()})
		case err != nil:
			readErr <- fileError(err)
			return
		default:
			rv, err := cm.Row(row.Fields)
			switch {
			case err != nil:
				batch = append(batch, importItem{line: row.Line, msg: err.Error()})
			case rv.Empty():
			default:
				rec, err := sk.prepare(row.Line, rv)
				batch = append(batch, importItem{line: row.Line, err: err, rec: rec})
			}
		}
		if len(batch) >= importChunk && !send() {
			readErr <- nil
			return
		}
	}
	if len(batch) > 0 && !send() {
		readErr <- nil
		return
	}
	readErr <- nil
}

// fileError turns what the CSV reader found wrong with the file into a
// validation error of the field "file"; read errors stay as they are.
func fileError(err error) error {
	var he *csvfile.HeaderError
	var le *csvfile.LineError
	switch {
	case errors.Is(err, csvfile.ErrEmpty), errors.Is(err, csvfile.ErrNotCSV), errors.As(err, &he), errors.As(err, &le):
		return &rpcrm.Error{Code: rpcrm.EINVALID, Message: err.Error(), Fields: map[string]string{"file": err.Error()}}
	}
	return err
}

// importBase is what both record types' imports share.
type importBase struct {
	tx   pgx.Tx
	p    *auth.Principal
	res  *crm.ImportResult
	cm   *crm.ColumnMap
	defs []crm.CustomField
	o    crm.ImportOptions
	m    auth.LoginMeta
	// tags maps lower-case tag names to their stored spelling, so that
	// each tag is looked up once per import, not once per row.
	tags map[string]string
}

func newImportBase(tx pgx.Tx, p *auth.Principal, res *crm.ImportResult, cm *crm.ColumnMap, defs []crm.CustomField, o crm.ImportOptions, m auth.LoginMeta) importBase {
	return importBase{tx: tx, p: p, res: res, cm: cm, defs: defs, o: o, m: m, tags: map[string]string{}}
}

// rowError reports a row's validation error, one entry per field.
func (b *importBase) rowError(line int, err error) {
	b.res.BadRows++
	var e *rpcrm.Error
	if errors.As(err, &e) && len(e.Fields) > 0 {
		fields := make([]string, 0, len(e.Fields))
		for f := range e.Fields {
			fields = append(fields, f)
		}
		slices.Sort(fields)
		for _, f := range fields {
			b.res.AddError(crm.ImportError{Line: line, Field: f, Column: b.cm.Column(f), Message: e.Fields[f]})
		}
		return
	}
	msg := err.Error()
	if errors.As(err, &e) {
		msg = e.Message
	}
	b.res.AddError(crm.ImportError{Line: line, Message: msg})
}

func (b *importBase) fieldError(line int, field, msg string) {
	b.rowError(line, rpcrm.FieldError(field, msg))
}

// validateCustom ends the validation of a row's new record, err so far:
// its custom fields, set on rec when all is valid.
func (b *importBase) validateCustom(rec *crm.Meta, patch crm.Custom, err error) error {
	custom, cerr := crm.ValidateCustom(b.defs, nil, patch)
	if err = mergeValidation(err, cerr); err != nil {
		return err
	}
	rec.Custom = custom
	return nil
}

// updated counts a row that updated the record it duplicates, given the
// update's error: one that concerns the row is reported for the row
// instead, any other returned.
func (b *importBase) updated(line int, err error) error {
	switch {
	case err == nil:
		b.res.Updated++
	case isRowError(err):
		b.rowError(line, err)
	default:
		return err
	}
	return nil
}

// created counts the n records of a chunk as created unless inserting
// them failed with err, which it returns.
func (b *importBase) created(n int, err error) error {
	if err == nil {
		b.res.Created += n
	}
	return err
}

// newRecord readies a record to insert: its tags in their stored spelling,
// and a new ID.
func (b *importBase) newRecord(ctx context.Context, m *crm.Meta) error {
	tags, err := b.storedTags(ctx, m.Tags)
	if err != nil {
		return err
	}
	m.Tags = tags
	m.ID = newID()
	return nil
}

// storedTags returns tags in their stored spelling, creating new ones.
func (b *importBase) storedTags(ctx context.Context, names []string) ([]string, error) {
	var missing []string
	for _, n := range names {
		if _, ok := b.tags[strings.ToLower(n)]; !ok {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		stored, err := ensureTags(ctx, b.tx, b.p.TenantID, missing)
		if err != nil {
			return nil, err
		}
		for i, n := range missing {
			b.tags[strings.ToLower(n)] = stored[i]
		}
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = b.tags[strings.ToLower(n)]
	}
	return out, nil
}

// existing is a live record found as a duplicate.
type existing struct {
	id uuid.UUID
}

// --- contacts ---

type contactRow struct {
	line    int
	in      crm.ContactInput
	c       *crm.Contact
	company string
}

type contactImport struct {
	importBase
	rows []contactRow
	// companyIDs caches the lookup by lower-case name; nil means not
	// found, or not unique when ambiguous has the name.
	companyIDs map[string]*uuid.UUID
	ambiguous  map[string]bool
	// seenEmails are the addresses of earlier rows of the file.
	seenEmails map[string]bool
}

func (ci *contactImport) prepare(line int, row crm.RowValues) (any, error) {
	in, company, err := row.ContactInput(ci.defs)
	c := &crm.Contact{}
	c.OwnerID = actorID(ci.p)
	err = mergeValidation(err, in.Apply(c))
	if err := ci.validateCustom(&c.Meta, in.Custom, err); err != nil {
		return nil, err
	}
	return contactRow{line: line, in: in, c: c, company: company}, nil
}

func (ci *contactImport) queue(_ int, rec any) { ci.rows = append(ci.rows, rec.(contactRow)) }

func (ci *contactImport) flush(ctx context.Context) error {
	if len(ci.rows) == 0 {
		return nil
	}
	defer func() { ci.rows = ci.rows[:0] }()
	if err := ci.lookupCompanies(ctx); err != nil {
		return err
	}
	dups, err := ci.lookupEmails(ctx)
	if err != nil {
		return err
	}
	var inserts []*crm.Contact
	for _, r := range ci.rows {
		if _, mapped := ci.cm.Fields[crm.FieldCompany]; mapped {
			r.in.CompanyID = crm.NullID{Set: true}
			if r.company != "" {
				id := ci.companyIDs[strings.ToLower(r.company)]
				if id == nil {
					msg := "Firma nicht gefunden."
					if ci.ambiguous[strings.ToLower(r.company)] {
						msg = "Mehrere Firmen heissen so; bitte die Person von Hand zuordnen."
					}
					ci.fieldError(r.line, "company", msg)
					continue
				}
				r.in.CompanyID.ID = id
				r.c.CompanyID = id
			}
		}
		var dup *existing
		inFile := false
		for _, e := range r.c.Emails {
			if d, ok := dups[e]; ok && dup == nil {
				dup = &d
			}
			if ci.seenEmails[e] {
				inFile = true
			}
		}
		if ci.o.Duplicates != crm.DuplicatesCreate && (dup != nil || inFile) {
			if ci.o.Duplicates == crm.DuplicatesSkip {
				ci.res.Skipped++
				continue
			}
			// A record this import created is not updated by a later row
			// of the same file: the file contradicts itself.
			if inFile {
				ci.fieldError(r.line, "emails", "Die E-Mail-Adresse kommt in der Datei mehrfach vor.")
				continue
			}
			_, err := updateContact(ctx, ci.tx, ci.p, dup.id, r.in, ci.m)
			if err := ci.updated(r.line, err); err != nil {
				return err
			}
			continue
		}
		for _, e := range r.c.Emails {
			ci.seenEmails[e] = true
		}
		if err := ci.newRecord(ctx, &r.c.Meta); err != nil {
			return err
		}
		inserts = append(inserts, r.c)
	}
	return ci.created(len(inserts), insertContacts(ctx, ci.tx, ci.p, inserts))
}

// isRowError reports whether err concerns the row (bad value, record gone
// or out of scope) rather than the database.
func isRowError(err error) bool {
	var e *rpcrm.Error
	return errors.As(err, &e) && (e.Code == rpcrm.EINVALID || e.Code == rpcrm.ENOTFOUND || e.Code == rpcrm.ECONFLICT ||
		e.Code == rpcrm.EFORBIDDEN)
}

// lookupCompanies resolves the company names of the chunk: live companies
// of the tenant the principal can see, by exact name ignoring case. A
// name shared by several companies is not linked (nil). The rows are
// key-share locked so that none is purged before the import commits.
func (ci *contactImport) lookupCompanies(ctx context.Context) error {
	if _, mapped := ci.cm.Fields[crm.FieldCompany]; !mapped {
		return nil
	}
	var names []string
	seen := map[string]bool{}
	for _, r := range ci.rows {
		n := strings.ToLower(r.company)
		if _, known := ci.companyIDs[n]; n != "" && !known && !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return nil
	}
	q := &query{}
	q.add("SELECT lower(name), id FROM companies WHERE tenant_id = " + q.arg(ci.p.TenantID) +
		" AND deleted_at IS NULL AND lower(name) = ANY(" + q.arg(names) + "::text[])")
	if err := ownerFilter(q, ci.p, companies.read, "owner_id"); err != nil {
		if errors.Is(err, errForbidden) {
			for _, n := range names {
				ci.companyIDs[n] = nil
			}
			return nil
		}
		return err
	}
	q.add(" FOR KEY SHARE")
	rows, err := ci.tx.Query(ctx, q.String(), q.args...)
	if err != nil {
		return err
	}
	found := map[string][]uuid.UUID{}
	var name string
	var id uuid.UUID
	_, err = pgx.ForEachRow(rows, []any{&name, &id}, func() error {
		found[name] = append(found[name], id)
		return nil
	})
	if err != nil {
		return err
	}
	for _, n := range names {
		switch ids := found[n]; len(ids) {
		case 1:
			id := ids[0]
			ci.companyIDs[n] = &id
		case 0:
			ci.companyIDs[n] = nil
		default:
			ci.companyIDs[n] = nil
			ci.ambiguous[n] = true
		}
	}
	return nil
}

// lookupEmails finds live contacts of the tenant sharing an address with
// the chunk's rows.
func (ci *contactImport) lookupEmails(ctx context.Context) (map[string]existing, error) {
	out := map[string]existing{}
	if ci.o.Duplicates == crm.DuplicatesCreate {
		return out, nil
	}
	var emails []string
	for _, r := range ci.rows {
		emails = append(emails, r.c.Emails...)
	}
	if len(emails) == 0 {
		return out, nil
	}
	rows, err := ci.tx.Query(ctx, `SELECT id, emails FROM contacts
		WHERE tenant_id = $1 AND deleted_at IS NULL AND emails && $2::text[] ORDER BY created_at, id`, ci.p.TenantID, emails)
	if err != nil {
		return nil, err
	}
	var e existing
	var list []string
	_, err = pgx.ForEachRow(rows, []any{&e.id, &list}, func() error {
		for _, a := range list {
			if _, ok := out[a]; !ok {
				out[a] = e
			}
		}
		return nil
	})
	return out, err
}

// insertContacts writes new contacts with one statement: the rows travel
// as one JSON document (COPY is not allowed on tables with row-level security).
func insertContacts(ctx context.Context, tx pgx.Tx, p *auth.Principal, cs []*crm.Contact) error {
	if len(cs) == 0 {
		return nil
	}
	type row struct {
		ID         uuid.UUID  `json:"id"`
		Salutation string     `json:"salutation"`
		FirstName  string     `json:"first_name"`
		LastName   string     `json:"last_name"`
		Emails     []string   `json:"emails"`
		Phones     []string   `json:"phones"`
		JobTitle   string     `json:"job_title"`
		CompanyID  *uuid.UUID `json:"company_id"`
		Street     string     `json:"street"`
		PostalCode string     `json:"postal_code"`
		City       string     `json:"city"`
		Canton     string     `json:"canton"`
		Country    string     `json:"country"`
		Language   string     `json:"language"`
		Birthday   *string    `json:"birthday"`
		Tags       []string   `json:"tags"`
		OwnerID    *uuid.UUID `json:"owner_id"`
		Consent    bool       `json:"marketing_consent"`
		ConsentAt  *time.Time `json:"consent_at"`
		Source     string     `json:"consent_source"`
		Custom     crm.Custom `json:"custom"`
	}
	rows := make([]row, len(cs))
	for i, c := range cs {
		a := c.Address
		rows[i] = row{c.ID, c.Salutation, c.FirstName, c.LastName, c.Emails, c.Phones, c.JobTitle, c.CompanyID,
			a.Street, a.PostalCode, a.City, a.Canton, a.Country, c.Language, c.Birthday, c.Tags, c.OwnerID,
			c.MarketingConsent.Given, c.MarketingConsent.At, c.MarketingConsent.Source, c.Custom}
	}
	doc, err := json.Marshal(rows)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO contacts (tenant_id, id, salutation, first_name, last_name, emails, phones, job_title,
		company_id, street, postal_code, city, canton, country, language, birthday, tags, owner_id, marketing_consent,
		consent_at, consent_source, custom, created_by, updated_by)
		SELECT $1, r.id, r.salutation, r.first_name, r.last_name, r.emails, r.phones, r.job_title, r.company_id, r.street,
			r.postal_code, r.city, r.canton, r.country, r.language, r.birthday, r.tags, r.owner_id, r.marketing_consent,
			r.consent_at, r.consent_source, coalesce(r.custom, '{}'), $3, $3
		FROM jsonb_to_recordset($2::jsonb) AS r(id uuid, salutation text, first_name text, last_name text, emails text[],
			phones text[], job_title text, company_id uuid, street text, postal_code text, city text, canton text,
			country text, language text, birthday date, tags text[], owner_id uuid, marketing_consent boolean,
			consent_at timestamptz, consent_source text, custom jsonb)`, p.TenantID, doc, actorID(p))
	if err != nil {
		return fmt.Errorf("insert contacts: %w", mapError(err))
	}
	return nil
}

// --- companies ---

type companyRow struct {
	line int
	in   crm.CompanyInput
	c    *crm.Company
}

type companyImport struct {
	importBase
	rows []companyRow
	// seenUIDs and seenNames are those of earlier rows of the file.
	seenUIDs, seenNames map[string]bool
}

func (ci *companyImport) prepare(line int, row crm.RowValues) (any, error) {
	in, err := row.CompanyInput(ci.defs)
	c := &crm.Company{}
	c.OwnerID = actorID(ci.p)
	err = mergeValidation(err, in.Apply(c))
	if err := ci.validateCustom(&c.Meta, in.Custom, err); err != nil {
		return nil, err
	}
	return companyRow{line: line, in: in, c: c}, nil
}

func (ci *companyImport) queue(_ int, rec any) { ci.rows = append(ci.rows, rec.(companyRow)) }

func (ci *companyImport) flush(ctx context.Context) error {
	if len(ci.rows) == 0 {
		return nil
	}
	if ci.seenUIDs == nil {
		ci.seenUIDs, ci.seenNames = map[string]bool{}, map[string]bool{}
	}
	defer func() { ci.rows = ci.rows[:0] }()
	byUID, byName, err := ci.lookup(ctx)
	if err != nil {
		return err
	}
	var inserts []*crm.Company
	for _, r := range ci.rows {
		name := strings.ToLower(r.c.Name)
		var dup *existing
		inFile := false
		if r.c.UID != nil {
			if d, ok := byUID[*r.c.UID]; ok {
				dup = &d
			}
			inFile = ci.seenUIDs[*r.c.UID]
		}
		if dup == nil && !inFile {
			if d, ok := byName[name]; ok {
				dup = &d
			}
			inFile = ci.seenNames[name]
		}
		switch {
		case ci.o.Duplicates == crm.DuplicatesCreate:
			// A UID stays unique even when duplicates are wanted.
			if r.c.UID != nil {
				if _, taken := byUID[*r.c.UID]; taken || ci.seenUIDs[*r.c.UID] {
					ci.fieldError(r.line, "uid", "Dieser Wert ist bereits vergeben.")
					continue
				}
			}
		case dup == nil && !inFile:
		case ci.o.Duplicates == crm.DuplicatesSkip:
			ci.res.Skipped++
			continue
		case inFile:
			ci.fieldError(r.line, "name", "Die Firma kommt in der Datei mehrfach vor.")
			continue
		default:
			_, err := updateCompany(ctx, ci.tx, ci.p, dup.id, r.in, ci.m)
			if err := ci.updated(r.line, err); err != nil {
				return err
			}
			continue
		}
		if r.c.UID != nil {
			ci.seenUIDs[*r.c.UID] = true
		}
		ci.seenNames[name] = true
		if err := ci.newRecord(ctx, &r.c.Meta); err != nil {
			return err
		}
		inserts = append(inserts, r.c)
	}
	return ci.created(len(inserts), insertCompanies(ctx, ci.tx, ci.p, inserts))
}

// lookup finds live companies of the tenant with the chunk's UIDs or names.
func (ci *companyImport) lookup(ctx context.Context) (byUID, byName map[string]existing, err error) {
	byUID, byName = map[string]existing{}, map[string]existing{}
	var uids, names []string
	for _, r := range ci.rows {
		if r.c.UID != nil {
			uids = append(uids, *r.c.UID)
		}
		names = append(names, strings.ToLower(r.c.Name))
	}
	rows, err := ci.tx.Query(ctx, `SELECT id, uid, lower(name) FROM companies
		WHERE tenant_id = $1 AND deleted_at IS NULL AND (uid = ANY($2::text[]) OR lower(name) = ANY($3::text[]))
		ORDER BY created_at, id`, ci.p.TenantID, uids, names)
	if err != nil {
		return nil, nil, err
	}
	var e existing
	var uid *string
	var name string
	_, err = pgx.ForEachRow(rows, []any{&e.id, &uid, &name}, func() error {
		if uid != nil {
			if _, ok := byUID[*uid]; !ok {
				byUID[*uid] = e
			}
		}
		if _, ok := byName[name]; !ok {
			byName[name] = e
		}
		return nil
	})
	return byUID, byName, err
}

func insertCompanies(ctx context.Context, tx pgx.Tx, p *auth.Principal, cs []*crm.Company) error {
	if len(cs) == 0 {
		return nil
	}
	type row struct {
		ID         uuid.UUID  `json:"id"`
		Name       string     `json:"name"`
		UID        *string    `json:"uid"`
		Website    string     `json:"website"`
		Email      string     `json:"email"`
		Phone      string     `json:"phone"`
		Street     string     `json:"street"`
		PostalCode string     `json:"postal_code"`
		City       string     `json:"city"`
		Canton     string     `json:"canton"`
		Country    string     `json:"country"`
		Industry   string     `json:"industry"`
		Tags       []string   `json:"tags"`
		OwnerID    *uuid.UUID `json:"owner_id"`
		Custom     crm.Custom `json:"custom"`
	}
	rows := make([]row, len(cs))
	for i, c := range cs {
		a := c.Address
		rows[i] = row{c.ID, c.Name, c.UID, c.Website, c.Email, c.Phone, a.Street, a.PostalCode, a.City, a.Canton, a.Country,
			c.Industry, c.Tags, c.OwnerID, c.Custom}
	}
	doc, err := json.Marshal(rows)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO companies (tenant_id, id, name, uid, website, email, phone, street, postal_code, city,
		canton, country, industry, tags, owner_id, custom, created_by, updated_by)
		SELECT $1, r.id, r.name, r.uid, r.website, r.email, r.phone, r.street, r.postal_code, r.city, r.canton, r.country,
			r.industry, r.tags, r.owner_id, coalesce(r.custom, '{}'), $3, $3
		FROM jsonb_to_recordset($2::jsonb) AS r(id uuid, name text, uid text, website text, email text, phone text,
			street text, postal_code text, city text, canton text, country text, industry text, tags text[], owner_id uuid,
			custom jsonb)`, p.TenantID, doc, actorID(p))
	if err != nil {
		return fmt.Errorf("insert companies: %w", mapError(err))
	}
	return nil
}

// LogExport writes the audit entry of an export.
func (s *CRMService) LogExport(ctx context.Context, p *auth.Principal, kind string, details map[string]any, m auth.LoginMeta) error {
	return s.DB.InTenant(ctx, p.TenantID, func(tx pgx.Tx) error {
		e := actorEntry(p, m, "export."+kind, "", uuid.Nil)
		e.Details = details
		return writeAudit(ctx, tx, p.TenantID, e)
	})
}
