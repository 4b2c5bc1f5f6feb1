package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/rpcrm/rpcrm/crm"
	"github.com/rpcrm/rpcrm/demo"
	"github.com/rpcrm/rpcrm/postgres"
)

// The bulk seeder of the CRM scenario. `rpcrm seed` inserts through the
// application role (row-level security forbids COPY to it) and needs about
// a minute per 100 000 contacts; the benchmark needs millions of rows, so it
// writes them with COPY as the database owner instead, in one transaction
// per tenant and table group, with app.tenant_id set as the application
// would. The rows are drawn from package demo and pass the same crm.*Input
// rules as the API's (normalised phone numbers, e-mail addresses, UIDs,
// amounts, stage rules), refer only to records of their own tenant (owners
// among the tenant's users, stages of its default pipeline), and carry
// version 1. PostgreSQL computes the generated columns (search) itself.

// crmSizes is how much a tenant gets.
type crmSizes struct {
	contacts, companies, deals, activities int
}

func (s crmSizes) String() string {
	return fmt.Sprintf("%d contacts, %d companies, %d deals, %d activities", s.contacts, s.companies, s.deals, s.activities)
}

// sizesFor is the mix for a number of contacts: a company per five
// contacts, a deal per two, three activities per contact.
func sizesFor(contacts int) crmSizes {
	return crmSizes{contacts: contacts, companies: contacts / 5, deals: contacts / 2, activities: 3 * contacts}
}

// seededTenant is what the load needs to know about a seeded tenant.
type seededTenant struct {
	id         uuid.UUID
	contacts   int         // rows in contacts (after growth too)
	sample     []uuid.UUID // contacts spread over the whole table, for get and update
	companyIDs []uuid.UUID // a sample of companies, for links of created contacts
}

// seeder writes one tenant's rows. It keeps only what later tables refer
// to (ids, owners, times), never whole records.
type seeder struct {
	tenantID uuid.UUID
	g        *demo.Generator
	r        *rand.Rand // the bench's own draws (links, times), apart from demo's
	now      time.Time
	users    []uuid.UUID
	pipeline uuid.UUID
	open     []*crm.Stage
	won      []*crm.Stage
	lost     []*crm.Stage
	tags     []string

	companies []seedRef
	contacts  []seedRef
	deals     []seedDeal
	byCompany map[int32][]int32 // company index → contact indices
}

// seedRef is a company or contact as later rows see it.
type seedRef struct {
	id      uuid.UUID
	company int32 // index into companies, -1 for none
	owner   int16 // index into users
	created time.Time
	name    string // for deal titles
}

type seedDeal struct {
	seedRef
	contact int32 // index into contacts, -1 for none
}

var seedTags = postgres.SeedTags

// newSeeder reads the tenant's users, its default pipeline and adds the demo tags.
func newSeeder(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, seed uint64, now time.Time) (*seeder, error) {
	s := &seeder{tenantID: tenantID, g: demo.New(seed), r: rand.New(rand.NewPCG(seed, 0x5eed)), now: now.UTC().Truncate(time.Microsecond),
		byCompany: map[int32][]int32{}}
	rows, err := tx.Query(ctx, `SELECT id FROM users WHERE tenant_id = $1 AND disabled_at IS NULL ORDER BY email`, tenantID)
	if err != nil {
		return nil, err
	}
	if s.users, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID]); err != nil {
		return nil, err
	}
	if len(s.users) == 0 {
		return nil, fmt.Errorf("tenant %s has no user to own the records", tenantID)
	}
	rows, err = tx.Query(ctx, `SELECT s.id, s.pipeline_id, s.name, s.kind, s.probability FROM stages s
		JOIN pipelines p ON p.tenant_id = s.tenant_id AND p.id = s.pipeline_id
		WHERE s.tenant_id = $1 AND p.name = $2 ORDER BY s.position`, tenantID, crm.DefaultPipelineName)
	if err != nil {
		return nil, err
	}
	stages, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*crm.Stage, error) {
		st := &crm.Stage{}
		return st, r.Scan(&st.ID, &st.PipelineID, &st.Name, &st.Kind, &st.Probability)
	})
	if err != nil {
		return nil, err
	}
	for _, st := range stages {
		s.pipeline = st.PipelineID
		switch st.Kind {
		case crm.StageWon:
			s.won = append(s.won, st)
		case crm.StageLost:
			s.lost = append(s.lost, st)
		default:
			s.open = append(s.open, st)
		}
	}
	if len(s.open) == 0 || len(s.won) == 0 || len(s.lost) == 0 {
		return nil, fmt.Errorf("tenant %s: the default pipeline %q lacks open, won or lost stages", tenantID, crm.DefaultPipelineName)
	}
	for _, name := range seedTags {
		if _, err := tx.Exec(ctx, `INSERT INTO tags (tenant_id, id, name) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
			tenantID, uuid.Must(uuid.NewV7()), name); err != nil {
			return nil, err
		}
	}
	s.tags = seedTags
	return s, nil
}

func (s *seeder) owner() int16 { return int16(s.r.IntN(len(s.users))) }

// past is a moment up to maxDays before now, at office hours.
func (s *seeder) past(maxDays int) time.Time {
	d := s.now.AddDate(0, 0, -1-s.r.IntN(maxDays))
	return time.Date(d.Year(), d.Month(), d.Day(), 7+s.r.IntN(11), s.r.IntN(60), s.r.IntN(60), 0, time.UTC)
}

// future is a moment 1 to maxDays days after now, at office hours.
func (s *seeder) future(maxDays int) time.Time {
	d := s.now.AddDate(0, 0, 1+s.r.IntN(maxDays))
	return time.Date(d.Year(), d.Month(), d.Day(), 7+s.r.IntN(11), 15*s.r.IntN(4), 0, 0, time.UTC)
}

// pickTags gives half of the records no tag, the rest one or two.
func (s *seeder) pickTags() []string {
	switch n := s.r.IntN(10); {
	case n < 5:
		return []string{}
	case n < 8:
		return []string{s.tags[s.r.IntN(len(s.tags))]}
	default:
		a, b := s.r.IntN(len(s.tags)), s.r.IntN(len(s.tags))
		if a == b {
			return []string{s.tags[a]}
		}
		return []string{s.tags[a], s.tags[b]}
	}
}

func newUUID() uuid.UUID { return uuid.Must(uuid.NewV7()) }

func pgUUID(id uuid.UUID) pgtype.UUID { return pgtype.UUID{Bytes: id, Valid: true} }

func optPGUUID(id *uuid.UUID) pgtype.UUID {
	if id == nil {
		return pgtype.UUID{}
	}
	return pgUUID(*id)
}

func optTimestamp(t *time.Time) pgtype.Timestamptz {
	if t == nil {
		return pgtype.Timestamptz{}
	}
	return pgtype.Timestamptz{Time: *t, Valid: true}
}

// copyRows streams n rows made by next into table.
func copyRows(ctx context.Context, tx pgx.Tx, table string, cols []string, n int, next func(i int) ([]any, error)) error {
	i := 0
	src := pgx.CopyFromFunc(func() ([]any, error) {
		if i >= n {
			return nil, nil
		}
		row, err := next(i)
		i++
		return row, err
	})
	got, err := tx.CopyFrom(ctx, pgx.Identifier{table}, cols, src)
	if err != nil {
		return fmt.Errorf("copy %s: %w", table, err)
	}
	if int(got) != n {
		return fmt.Errorf("copy %s: %d rows written, want %d", table, got, n)
	}
	return nil
}

var companyCols = []string{"tenant_id", "id", "name", "uid", "website", "email", "phone", "street", "postal_code", "city",
	"canton", "country", "industry", "tags", "owner_id", "created_at", "updated_at"}

func (s *seeder) copyCompanies(ctx context.Context, tx pgx.Tx, n int) error {
	used := map[string]bool{}
	tenant := pgUUID(s.tenantID)
	return copyRows(ctx, tx, "companies", companyCols, n, func(int) ([]any, error) {
		dc := s.g.Company()
		uid := dc.UID
		for used[uid] {
			uid = s.g.UID()
		}
		used[uid] = true
		owner := s.owner()
		in := crm.CompanyInput{Name: &dc.Name, UID: &uid, Website: &dc.Website, Email: &dc.Email, Phone: &dc.Phone,
			Address:  &crm.Address{Street: dc.Street, PostalCode: dc.PostalCode, City: dc.City, Canton: dc.Canton},
			Industry: &dc.Industry, Tags: new(s.pickTags()), OwnerID: &s.users[owner]}
		c := &crm.Company{}
		if err := in.Apply(c); err != nil {
			return nil, fmt.Errorf("demo company %q is invalid: %w", dc.Name, err)
		}
		ref := seedRef{id: newUUID(), company: -1, owner: owner, created: s.past(730), name: c.Name}
		s.companies = append(s.companies, ref)
		return []any{tenant, pgUUID(ref.id), c.Name, c.UID, c.Website, c.Email, c.Phone, c.Address.Street,
			c.Address.PostalCode, c.Address.City, c.Address.Canton, c.Address.Country, c.Industry, c.Tags,
			pgUUID(*c.OwnerID), ref.created, ref.created}, nil
	})
}

var contactCols = []string{"tenant_id", "id", "salutation", "first_name", "last_name", "emails", "phones", "job_title",
	"company_id", "street", "postal_code", "city", "canton", "country", "language", "birthday", "tags", "owner_id",
	"marketing_consent", "consent_at", "consent_source", "created_at", "updated_at"}

// copyContacts writes n contacts; keep says whether later tables of this
// run refer to them (deals, activities), so that a growth run of a million
// rows keeps nothing.
func (s *seeder) copyContacts(ctx context.Context, tx pgx.Tx, n int, keep bool, sample func(uuid.UUID)) error {
	tenant := pgUUID(s.tenantID)
	return copyRows(ctx, tx, "contacts", contactCols, n, func(int) ([]any, error) {
		dp := s.g.Person()
		phones := []string{dp.Phone}
		if s.r.IntN(100) < 60 {
			phones = append(phones, dp.Mobile)
		}
		owner := s.owner()
		in := crm.ContactInput{Salutation: &dp.Salutation, FirstName: &dp.FirstName, LastName: &dp.LastName,
			Emails: &[]string{dp.Email}, Phones: &phones, JobTitle: &dp.JobTitle,
			Address:  &crm.Address{Street: dp.Street, PostalCode: dp.PostalCode, City: dp.City, Canton: dp.Canton},
			Language: &dp.Language, Tags: new(s.pickTags()), OwnerID: &s.users[owner]}
		ref := seedRef{id: newUUID(), company: -1, owner: owner, created: s.past(730)}
		if len(s.companies) > 0 && s.r.IntN(100) < 80 {
			ref.company = int32(s.r.IntN(len(s.companies)))
			co := s.companies[ref.company]
			in.CompanyID = crm.NullID{Set: true, ID: &co.id}
			if ref.created.Before(co.created) {
				ref.created = co.created
			}
		}
		birthday := pgtype.Date{}
		if s.r.IntN(100) < 60 {
			birthday = pgtype.Date{Time: dp.Birthday, Valid: true}
		}
		c := &crm.Contact{}
		if err := in.Apply(c); err != nil {
			return nil, fmt.Errorf("demo contact %q is invalid: %w", dp.FirstName+" "+dp.LastName, err)
		}
		consent, consentAt, source := false, pgtype.Timestamptz{}, ""
		for _, t := range c.Tags {
			if t == "Newsletter" {
				consent, consentAt, source = true, pgtype.Timestamptz{Time: ref.created, Valid: true}, "Anmeldung Website"
			}
		}
		if keep {
			ref.name = c.Name
			if ref.company >= 0 {
				s.byCompany[ref.company] = append(s.byCompany[ref.company], int32(len(s.contacts)))
			}
			s.contacts = append(s.contacts, ref)
		}
		if sample != nil {
			sample(ref.id)
		}
		return []any{tenant, pgUUID(ref.id), c.Salutation, c.FirstName, c.LastName, c.Emails, c.Phones, c.JobTitle,
			optPGUUID(c.CompanyID), c.Address.Street, c.Address.PostalCode, c.Address.City, c.Address.Canton,
			c.Address.Country, c.Language, birthday, c.Tags, pgUUID(*c.OwnerID), consent, consentAt, source,
			ref.created, ref.created}, nil
	})
}

var dealCols = []string{"tenant_id", "id", "title", "amount", "currency", "pipeline_id", "stage_id", "company_id",
	"contact_id", "owner_id", "expected_close", "probability", "won_at", "lost_at", "lost_reason", "stage_changed_at",
	"tags", "created_at", "updated_at"}

var lostReasons = []string{"Preis zu hoch", "Konkurrenz hat den Zuschlag erhalten", "Projekt verschoben", "Kein Budget"}

func (s *seeder) copyDeals(ctx context.Context, tx pgx.Tx, n int) error {
	tenant := pgUUID(s.tenantID)
	return copyRows(ctx, tx, "deals", dealCols, n, func(int) ([]any, error) {
		// About 60 % open, 25 % won, 15 % lost.
		var st *crm.Stage
		switch r := s.r.IntN(100); {
		case r < 25:
			st = s.won[s.r.IntN(len(s.won))]
		case r < 40:
			st = s.lost[s.r.IntN(len(s.lost))]
		default:
			st = s.open[s.r.IntN(len(s.open))]
		}
		in := crm.DealInput{PipelineID: &s.pipeline, StageID: &st.ID, Tags: new(s.pickTags())}
		ref := seedDeal{seedRef: seedRef{id: newUUID(), company: -1, owner: -1}, contact: -1}
		var title string
		if len(s.companies) > 0 && s.r.IntN(100) < 90 {
			ref.company = int32(s.r.IntN(len(s.companies)))
			co := s.companies[ref.company]
			in.CompanyID = crm.OptionalID{Set: true, ID: &co.id}
			title, ref.created, ref.owner = s.g.DealTitle(co.name), co.created, co.owner
			if people := s.byCompany[ref.company]; len(people) > 0 {
				ref.contact = people[s.r.IntN(len(people))]
			}
		} else {
			ref.contact = int32(s.r.IntN(len(s.contacts)))
			ct := s.contacts[ref.contact]
			title, ref.created, ref.owner = s.g.DealTitle(ct.name), ct.created, ct.owner
		}
		if ref.contact >= 0 {
			ct := s.contacts[ref.contact]
			in.ContactID = crm.OptionalID{Set: true, ID: &ct.id}
			ref.owner = ct.owner
			ref.created = later(ref.created, ct.created)
		}
		in.OwnerID = &s.users[ref.owner]
		in.Title = &title
		in.Amount = new(crm.DecimalText(s.g.Amount()))
		d := &crm.Deal{}
		if err := in.Apply(d); err != nil {
			return nil, fmt.Errorf("demo deal %q is invalid: %w", title, err)
		}
		ref.created = later(ref.created, s.past(540))
		changed := ref.created.Add(time.Duration(s.r.IntN(60*24)) * time.Hour)
		if changed.After(s.now) {
			changed = s.now
		}
		if st.Kind == crm.StageLost {
			d.LostReason = lostReasons[s.r.IntN(len(lostReasons))]
		}
		if err := d.EnterStage(st, true, false, changed); err != nil {
			return nil, fmt.Errorf("demo deal %q: %w", title, err)
		}
		closeDate := changed
		if st.Kind == crm.StageOpen {
			closeDate = s.future(180)
		}
		var amount pgtype.Numeric
		if err := amount.Scan(*d.Amount); err != nil {
			return nil, fmt.Errorf("demo deal amount %q: %w", *d.Amount, err)
		}
		s.deals = append(s.deals, ref)
		return []any{tenant, pgUUID(ref.id), d.Title, amount, d.Currency, pgUUID(d.PipelineID), pgUUID(d.StageID),
			optPGUUID(d.CompanyID), optPGUUID(d.ContactID), pgUUID(*d.OwnerID),
			pgtype.Date{Time: closeDate, Valid: true}, int32(d.Probability), optTimestamp(d.WonAt), optTimestamp(d.LostAt),
			d.LostReason, d.StageChangedAt, d.Tags, ref.created, changed}, nil
	})
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

var activityCols = []string{"tenant_id", "id", "kind", "subject", "body", "body_format", "due_at", "done_at",
	"assignee_id", "company_id", "contact_id", "deal_id", "owner_id", "created_at", "updated_at"}

var noteBodies = []string{"Kunde ist mit der bisherigen Zusammenarbeit zufrieden.", "Budget für nächstes Jahr wird im Herbst festgelegt.",
	"Entscheid liegt bei der Geschäftsleitung.", "Wünscht Unterlagen per Post."}

func (s *seeder) copyActivities(ctx context.Context, tx pgx.Tx, n int) error {
	tenant := pgUUID(s.tenantID)
	kinds := []string{crm.KindNote, crm.KindCall, crm.KindMeeting, crm.KindTask}
	return copyRows(ctx, tx, "activities", activityCols, n, func(int) ([]any, error) {
		kind := kinds[s.r.IntN(len(kinds))]
		subject := s.g.Subject(kind)
		in := crm.ActivityInput{Kind: &kind, Subject: &subject}
		a := &crm.Activity{}
		// What it belongs to: a deal (with its company and contact), a
		// company alone, or a contact (with its company).
		var created time.Time
		var owner int16
		var company, contact, deal *uuid.UUID
		switch r := s.r.IntN(100); {
		case r < 25 && len(s.deals) > 0:
			d := s.deals[s.r.IntN(len(s.deals))]
			deal, created, owner = &d.id, d.created, d.owner
			if d.company >= 0 {
				company = &s.companies[d.company].id
			}
			if d.contact >= 0 {
				contact = &s.contacts[d.contact].id
			}
		case r < 40 && len(s.companies) > 0:
			c := s.companies[s.r.IntN(len(s.companies))]
			company, created, owner = &c.id, c.created, c.owner
		default:
			c := s.contacts[s.r.IntN(len(s.contacts))]
			contact, created, owner = &c.id, c.created, c.owner
			if c.company >= 0 {
				company = &s.companies[c.company].id
			}
		}
		created = later(created, s.past(365))
		if s.r.IntN(100) < 25 {
			owner = s.owner() // a colleague's
		}
		if kind == crm.KindNote {
			in.Body = &noteBodies[s.r.IntN(len(noteBodies))]
		}
		if err := in.Apply(a); err != nil {
			return nil, fmt.Errorf("demo activity %q is invalid: %w", subject, err)
		}
		var due, done *time.Time
		switch kind {
		case crm.KindNote:
			done = &created
		case crm.KindTask:
			switch r := s.r.IntN(100); {
			case r < 40: // done
				due = new(created.AddDate(0, 0, 1+s.r.IntN(14)))
				done = new(created.Add(time.Duration(1+s.r.IntN(14*24)) * time.Hour))
				if done.After(s.now) {
					done = &s.now
				}
			case r < 75: // open, due soon
				due = new(s.future(30))
			default: // overdue
				due = new(s.now.AddDate(0, 0, -1-s.r.IntN(30)))
				if !created.Before(*due) {
					created = due.AddDate(0, 0, -1-s.r.IntN(14))
				}
			}
		default: // calls and meetings: held, or scheduled
			if s.r.IntN(100) < 70 {
				due, done = &created, &created
			} else {
				due = new(s.future(30))
			}
		}
		updated := created
		if done != nil {
			updated = *done
		}
		user := pgUUID(s.users[owner])
		return []any{tenant, pgUUID(newUUID()), a.Kind, a.Subject, a.Body, a.BodyFormat, optTimestamp(due), optTimestamp(done),
			user, optPGUUID(company), optPGUUID(contact), optPGUUID(deal), user, created, updated}, nil
	})
}

// seedOwnerTx runs f in a transaction of the owner with app.tenant_id set,
// as every tenant-scoped transaction of the application. The owner bypasses
// row-level security only if it is a superuser or has BYPASSRLS (COPY FROM
// refuses tables whose policies apply to the caller); otherwise FORCE ROW
// LEVEL SECURITY is lifted for the transaction's tables and restored
// before the commit, so that nobody ever sees the tables without it.
func seedOwnerTx(ctx context.Context, conn *pgx.Conn, tenantID uuid.UUID, f func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT set_config('app.tenant_id', $1, true)`, tenantID.String()); err != nil {
			return err
		}
		var bypass bool
		if err := tx.QueryRow(ctx, `SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user`).Scan(&bypass); err != nil {
			return err
		}
		if bypass {
			return f(tx)
		}
		tables := []string{"tags", "companies", "contacts", "deals", "activities"}
		for _, t := range tables {
			if _, err := tx.Exec(ctx, "ALTER TABLE "+quote(t)+" NO FORCE ROW LEVEL SECURITY"); err != nil {
				return err
			}
		}
		if err := f(tx); err != nil {
			return err
		}
		for _, t := range tables {
			if _, err := tx.Exec(ctx, "ALTER TABLE "+quote(t)+" FORCE ROW LEVEL SECURITY"); err != nil {
				return err
			}
		}
		return nil
	})
}

// sampleSize is how many contacts (and companies) of a tenant the load
// draws from: enough that 16 clients never update the same contact at once
// and reads spread over the whole table.
const sampleSize = 20000

// reservoir keeps a uniform sample of up to n of the ids it is offered.
type reservoir struct {
	n    int
	seen int
	ids  []uuid.UUID
	r    *rand.Rand
}

func (rv *reservoir) add(id uuid.UUID) {
	rv.seen++
	if len(rv.ids) < rv.n {
		rv.ids = append(rv.ids, id)
		return
	}
	if j := rv.r.IntN(rv.seen); j < rv.n {
		rv.ids[j] = id
	}
}

// seedTenant fills an empty tenant with sz rows: companies, contacts, deals
// and activities, each table in one COPY, all in one transaction.
func seedTenant(ctx context.Context, ownerURL string, tenantID uuid.UUID, sz crmSizes, seed uint64) (*seededTenant, error) {
	conn, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	st := &seededTenant{id: tenantID, contacts: sz.contacts}
	rv := &reservoir{n: sampleSize, r: rand.New(rand.NewPCG(seed, 1))}
	err = seedOwnerTx(ctx, conn, tenantID, func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM contacts WHERE tenant_id = $1 LIMIT 1) x`, tenantID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("tenant %s already has contacts: the benchmark seeds only empty tenants", tenantID)
		}
		s, err := newSeeder(ctx, tx, tenantID, seed, time.Now())
		if err != nil {
			return err
		}
		if err := s.copyCompanies(ctx, tx, sz.companies); err != nil {
			return err
		}
		if err := s.copyContacts(ctx, tx, sz.contacts, true, rv.add); err != nil {
			return err
		}
		if sz.deals > 0 && len(s.contacts) > 0 {
			if err := s.copyDeals(ctx, tx, sz.deals); err != nil {
				return err
			}
		}
		if sz.activities > 0 && len(s.contacts) > 0 {
			if err := s.copyActivities(ctx, tx, sz.activities); err != nil {
				return err
			}
		}
		for i, c := range s.companies {
			if i >= sampleSize {
				break
			}
			st.companyIDs = append(st.companyIDs, c.id)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	st.sample = rv.ids
	return st, nil
}

// growTenant adds contacts to a seeded tenant until it has total, linked to
// its companies like the first ones, and draws a new sample over all of
// them. The transactions hold growBatch contacts each.
func growTenant(ctx context.Context, ownerURL string, st *seededTenant, total int, seed uint64) error {
	if total <= st.contacts {
		return nil
	}
	conn, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rv := &reservoir{n: sampleSize, r: rand.New(rand.NewPCG(seed, 2))}
	err = seedOwnerTx(ctx, conn, st.id, func(tx pgx.Tx) error {
		s, err := newSeeder(ctx, tx, st.id, seed, time.Now())
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT id, created_at, name FROM companies WHERE tenant_id = $1 AND deleted_at IS NULL`, st.id)
		if err != nil {
			return err
		}
		for rows.Next() {
			var ref seedRef
			if err := rows.Scan(&ref.id, &ref.created, &ref.name); err != nil {
				return err
			}
			s.companies = append(s.companies, ref)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		// The existing contacts count for the sample as much as the new.
		rows, err = tx.Query(ctx, `SELECT id FROM contacts WHERE tenant_id = $1 AND deleted_at IS NULL`, st.id)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id uuid.UUID
			if err := rows.Scan(&id); err != nil {
				return err
			}
			rv.add(id)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		return s.copyContacts(ctx, tx, total-st.contacts, false, rv.add)
	})
	if err != nil {
		return err
	}
	st.contacts = total
	st.sample = rv.ids
	return nil
}

// analyze brings the planner's statistics and the visibility map up to
// date after the bulk load, as autovacuum would (soon) do: the load must
// not measure autovacuum at work, nor plans made for empty tables.
func analyze(ctx context.Context, ownerURL string) error {
	conn, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var errs []error
	for _, t := range []string{"tags", "companies", "contacts", "deals", "activities"} {
		if _, err := conn.Exec(ctx, "VACUUM (ANALYZE) "+quote(t)); err != nil {
			errs = append(errs, fmt.Errorf("vacuum analyze %s: %w", t, err))
		}
	}
	return errors.Join(errs...)
}
