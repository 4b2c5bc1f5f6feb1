package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
	"github.com/rpcrm/rpcrm/demo"
)

// SeedOptions say how much demo data Seed makes and from which seed.
type SeedOptions struct {
	// Contacts is the number of contacts; companies (1/5), deals (1/2) and
	// activities (3×) follow from it.
	Contacts int
	// Seed selects the data: the same seed gives the same records.
	Seed uint64
	// Force adds demo data to a tenant that already has contacts.
	Force bool
	// Now is the reference time for dates (zero: the current time).
	Now time.Time
	// Workers is the number of parallel transactions per table (at most
	// the pool's connections less one; 0 or 1: one).
	Workers int
}

// SeedCounts are the rows Seed inserted.
type SeedCounts struct {
	Companies, Contacts, Deals, Activities int
}

var (
	// ErrSeedNotEmpty refuses to mix demo data into a tenant's own records.
	ErrSeedNotEmpty = errors.New("the tenant already has contacts")
	// ErrSeedNoUsers: demo records need owners and assignees.
	ErrSeedNoUsers = errors.New("the tenant has no active user to own the demo records (create one with rpcrm users create)")
)

// SeedTags are the tags demo records carry.
var SeedTags = []string{"VIP", "Newsletter", "Partner", "Lead", "Bestandskunde"}

// seedBatch is the number of rows per INSERT: large enough that round trips
// do not matter, small enough that the parameter arrays stay modest.
const seedBatch = 1000

// Seed fills p's tenant with invented demo data (package demo) as the
// application role: the rows pass row-level security like any other write.
// The records are normalised and validated by the same crm rules as the
// services' (Apply), so seeded data is valid data. It writes one audit entry
// for the whole run, not one per row.
//
// For speed the tables are filled one after the other, each by up to
// Workers parallel tenant-scoped transactions (a table's rows may refer only
// to tables committed before). The checks (emptiness, users) come first, so
// a refused run writes nothing; a run that fails while inserting keeps the
// tables it has completed.
func (s *CRMService) Seed(ctx context.Context, p *auth.Principal, o SeedOptions) (SeedCounts, error) {
	if o.Contacts < 1 {
		return SeedCounts{}, errors.New("seed: the number of contacts must be at least 1")
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	now = now.UTC().Truncate(time.Microsecond)
	// One seed at a time per tenant, so that the emptiness check holds for
	// the whole run: a session lock on a connection of its own. A pool of
	// one connection cannot spare it (and inserts with that one).
	maxConns := int(s.DB.Pool.Config().MaxConns)
	if maxConns > 1 {
		conn, err := s.DB.Pool.Acquire(ctx)
		if err != nil {
			return SeedCounts{}, err
		}
		defer conn.Release()
		lockKey := "rpcrm.seed:" + p.TenantID.String()
		if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(hashtext($1))`, lockKey); err != nil {
			return SeedCounts{}, err
		}
		defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtext($1))`, lockKey) //nolint:errcheck // the session ends the lock anyway
	}

	var plan *seedPlan
	err := s.DB.InTenant(ctx, p.TenantID, func(tx pgx.Tx) error {
		var hasContacts bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM contacts WHERE tenant_id = $1)`, p.TenantID).Scan(&hasContacts); err != nil {
			return err
		}
		if hasContacts && !o.Force {
			return ErrSeedNotEmpty
		}
		var err error
		plan, err = newSeedPlan(ctx, tx, p.TenantID, o, now)
		return err
	})
	if err != nil {
		return SeedCounts{}, err
	}
	// The pool's other connections, besides the lock's.
	workers := min(max(o.Workers, 1), max(maxConns-1, 1))
	if err := plan.run(ctx, s.DB, workers); err != nil {
		return SeedCounts{}, err
	}
	counts := SeedCounts{Companies: len(plan.companies), Contacts: len(plan.contacts),
		Deals: len(plan.deals), Activities: len(plan.activities)}
	err = s.DB.InTenant(ctx, p.TenantID, func(tx pgx.Tx) error {
		e := actorEntry(p, auth.LoginMeta{}, "seed.run", "tenant", uuid.Nil)
		e.Details = map[string]any{"seed": o.Seed, "force": o.Force, "companies": counts.Companies,
			"contacts": counts.Contacts, "deals": counts.Deals, "activities": counts.Activities}
		return writeAudit(ctx, tx, p.TenantID, e)
	})
	if err != nil {
		return SeedCounts{}, err
	}
	return counts, nil
}

// seedPlan is the generated data of one run, before it is inserted.
type seedPlan struct {
	tenantID uuid.UUID
	o        SeedOptions
	now      time.Time
	g        *demo.Generator
	users    []uuid.UUID
	pipeline *crm.Pipeline
	usedUIDs map[string]bool
	tags     []string // stored spelling of SeedTags

	companies  []*crm.Company
	contacts   []*crm.Contact
	deals      []*crm.Deal
	activities []*crm.Activity

	// sent counts the rows per table handed to the inserter.
	sent map[string]int
	// send hands a batch to the inserter; false: the inserter has failed.
	send func(seedJob) bool
	// done says that a table's last batch has been sent.
	done func(table string)
}

// seedJob is one batch INSERT: sql with $1 the tenant and args the column arrays.
type seedJob struct {
	what, sql string
	args      []any
}

// errSeedStopped ends generating after the inserter failed (it reports why).
var errSeedStopped = errors.New("seed: stopped")

// seedTables are the tables in the order they are filled: each refers only
// to the ones before.
var seedTables = []string{"companies", "contacts", "deals", "activities"}

// run generates the records and inserts them in batches as they come, so
// that generating (client) and inserting (server) overlap. The generator
// alone decides the order of the random draws, so the data stays
// deterministic. Each table is inserted by workers parallel transactions,
// which commit before the next table starts (its foreign keys need them).
func (pl *seedPlan) run(ctx context.Context, db *DB, workers int) error {
	queues := map[string]chan seedJob{}
	for _, t := range seedTables {
		queues[t] = make(chan seedJob, 2*workers)
	}
	stop := make(chan struct{})
	var stopOnce sync.Once
	halt := func() { stopOnce.Do(func() { close(stop) }) }
	pl.sent = map[string]int{}
	closed := map[string]bool{}
	pl.send = func(j seedJob) bool {
		select {
		case queues[j.what] <- j:
			return true
		case <-stop:
			return false
		}
	}
	pl.done = func(table string) {
		if !closed[table] {
			closed[table] = true
			close(queues[table])
		}
	}
	genErr := make(chan error, 1)
	go func() {
		err := pl.generate()
		if err != nil {
			halt() // before the queues close: what was sent must not commit
		}
		for _, t := range seedTables {
			pl.done(t)
		}
		genErr <- err
	}()

	var insErr error
	for _, table := range seedTables {
		errs := make([]error, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				errs[w] = db.InTenant(ctx, pl.tenantID, func(tx pgx.Tx) error {
					stopped := false
					for j := range queues[table] {
						select {
						case <-stop:
							stopped = true
							continue // drain until the generator has seen stop
						default:
						}
						// COPY is no option: it refuses tables with row-level
						// security for a role that does not bypass it.
						if _, err := tx.Exec(ctx, j.sql, append([]any{pl.tenantID}, j.args...)...); err != nil {
							halt()
							return err
						}
					}
					if stopped {
						return errSeedStopped // roll back
					}
					return nil
				})
				if errs[w] != nil {
					halt()
				}
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			insErr = fmt.Errorf("seed %s: %w", table, err)
			break
		}
	}
	if insErr != nil {
		halt()
		// Let the generator finish: it stops at its next batch.
		for _, t := range seedTables {
			for range queues[t] {
			}
		}
	}
	if err := <-genErr; err != nil && !errors.Is(err, errSeedStopped) {
		return err
	}
	return insErr
}

// flush hands the table's generated rows to the inserter in batches of
// seedBatch; final sends the rest too.
func (pl *seedPlan) flush(what string, n int, final bool, sql string, args func(lo, hi int) []any) error {
	for n-pl.sent[what] >= seedBatch || (final && n > pl.sent[what]) {
		lo := pl.sent[what]
		hi := min(lo+seedBatch, n)
		if !pl.send(seedJob{what: what, sql: sql, args: args(lo, hi)}) {
			return errSeedStopped
		}
		pl.sent[what] = hi
	}
	if final {
		pl.done(what)
	}
	return nil
}

func (pl *seedPlan) flushCompanies(final bool) error {
	return pl.flush("companies", len(pl.companies), final, companySeedSQL, func(lo, hi int) []any {
		return companySeedArgs(pl.companies[lo:hi])
	})
}

func (pl *seedPlan) flushContacts(final bool) error {
	return pl.flush("contacts", len(pl.contacts), final, contactSeedSQL, func(lo, hi int) []any {
		return contactSeedArgs(pl.contacts[lo:hi])
	})
}

func (pl *seedPlan) flushDeals(final bool) error {
	return pl.flush("deals", len(pl.deals), final, dealSeedSQL, func(lo, hi int) []any {
		return dealSeedArgs(pl.deals[lo:hi])
	})
}

func (pl *seedPlan) flushActivities(final bool) error {
	return pl.flush("activities", len(pl.activities), final, activitySeedSQL, func(lo, hi int) []any {
		return activitySeedArgs(pl.activities[lo:hi])
	})
}

func newSeedPlan(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, o SeedOptions, now time.Time) (*seedPlan, error) {
	pl := &seedPlan{tenantID: tenantID, o: o, now: now, g: demo.New(o.Seed), usedUIDs: map[string]bool{}}
	// Ordered by e-mail, so that the same seed spreads records over the
	// users in the same way every time.
	rows, err := tx.Query(ctx, `SELECT id FROM users WHERE tenant_id = $1 AND disabled_at IS NULL ORDER BY email`, tenantID)
	if err != nil {
		return nil, err
	}
	if pl.users, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID]); err != nil {
		return nil, err
	}
	if len(pl.users) == 0 {
		return nil, ErrSeedNoUsers
	}
	if err := ensureDefaultPipeline(ctx, tx, tenantID); err != nil {
		return nil, err
	}
	pls, err := loadPipelines(ctx, tx, tenantID, nil)
	if err != nil {
		return nil, err
	}
	if len(pls) > 0 && len(pls[0].Stages) > 0 {
		pl.pipeline = pls[0]
	}
	// A UID is unique among a tenant's live companies; a second run (--force)
	// must not draw one the first has already used.
	rows, err = tx.Query(ctx, `SELECT uid FROM companies WHERE tenant_id = $1 AND uid IS NOT NULL AND deleted_at IS NULL`, tenantID)
	if err != nil {
		return nil, err
	}
	uids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	for _, u := range uids {
		pl.usedUIDs[u] = true
	}
	if pl.tags, err = ensureTags(ctx, tx, tenantID, SeedTags); err != nil {
		return nil, err
	}
	return pl, nil
}

func (pl *seedPlan) user() *uuid.UUID {
	id := pl.users[pl.g.Intn(len(pl.users))]
	return &id
}

// chance is true with probability pct percent.
func (pl *seedPlan) chance(pct int) bool { return pl.g.Intn(100) < pct }

// past is a moment up to maxDays before now, at office hours.
func (pl *seedPlan) past(maxDays int) time.Time {
	d := pl.now.AddDate(0, 0, -1-pl.g.Intn(maxDays))
	return time.Date(d.Year(), d.Month(), d.Day(), 7+pl.g.Intn(11), pl.g.Intn(60), 0, 0, time.UTC)
}

// future is a moment 1 to maxDays days after now, at office hours.
func (pl *seedPlan) future(maxDays int) time.Time {
	d := pl.now.AddDate(0, 0, 1+pl.g.Intn(maxDays))
	return time.Date(d.Year(), d.Month(), d.Day(), 7+pl.g.Intn(11), 15*pl.g.Intn(4), 0, 0, time.UTC)
}

func (pl *seedPlan) pickTags() []string {
	var out []string
	switch n := pl.g.Intn(10); {
	case n < 5: // half of the records carry no tag
	case n < 8:
		out = append(out, pl.tags[pl.g.Intn(len(pl.tags))])
	default:
		a, b := pl.g.Intn(len(pl.tags)), pl.g.Intn(len(pl.tags))
		out = append(out, pl.tags[a])
		if b != a {
			out = append(out, pl.tags[b])
		}
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// generate draws all records. The order of the draws is fixed, so that a
// seed always gives the same data.
func (pl *seedPlan) generate() error {
	g := pl.g
	nCompanies, nDeals, nActivities := pl.o.Contacts/5, pl.o.Contacts/2, 3*pl.o.Contacts

	for range nCompanies {
		dc := g.Company()
		uid := dc.UID
		for pl.usedUIDs[uid] {
			uid = g.UID()
		}
		pl.usedUIDs[uid] = true
		in := crm.CompanyInput{Name: &dc.Name, UID: &uid, Website: &dc.Website, Email: &dc.Email, Phone: &dc.Phone,
			Address:  &crm.Address{Street: dc.Street, PostalCode: dc.PostalCode, City: dc.City, Canton: dc.Canton},
			Industry: &dc.Industry, Tags: ptr(pl.pickTags()), OwnerID: pl.user()}
		c := &crm.Company{}
		if err := in.Apply(c); err != nil {
			return fmt.Errorf("seed: demo company %q is invalid: %w", dc.Name, err)
		}
		c.ID = newID()
		c.CreatedAt = pl.past(730)
		c.UpdatedAt = c.CreatedAt
		pl.companies = append(pl.companies, c)
		if err := pl.flushCompanies(false); err != nil {
			return err
		}
	}
	if err := pl.flushCompanies(true); err != nil {
		return err
	}

	byCompany := map[uuid.UUID][]*crm.Contact{}
	for range pl.o.Contacts {
		dp := g.Person()
		phones := []string{dp.Phone}
		if pl.chance(60) {
			phones = append(phones, dp.Mobile)
		}
		in := crm.ContactInput{Salutation: &dp.Salutation, FirstName: &dp.FirstName, LastName: &dp.LastName,
			Emails: &[]string{dp.Email}, Phones: &phones, JobTitle: &dp.JobTitle,
			Address:  &crm.Address{Street: dp.Street, PostalCode: dp.PostalCode, City: dp.City, Canton: dp.Canton},
			Language: &dp.Language, Tags: ptr(pl.pickTags()), OwnerID: pl.user()}
		var company *crm.Company
		if len(pl.companies) > 0 && pl.chance(80) {
			company = pl.companies[g.Intn(len(pl.companies))]
			in.CompanyID = crm.NullID{Set: true, ID: &company.ID}
		}
		if pl.chance(60) {
			in.Birthday = ptr(dp.Birthday.Format(time.DateOnly))
		}
		c := &crm.Contact{}
		if err := in.Apply(c); err != nil {
			return fmt.Errorf("seed: demo contact %q is invalid: %w", dp.FirstName+" "+dp.LastName, err)
		}
		c.ID = newID()
		c.CreatedAt = pl.past(730)
		if company != nil && c.CreatedAt.Before(company.CreatedAt) {
			c.CreatedAt = company.CreatedAt
		}
		c.UpdatedAt = c.CreatedAt
		for _, t := range c.Tags {
			if t == "Newsletter" {
				c.MarketingConsent = crm.Consent{Given: true, At: ptr(c.CreatedAt), Source: "Anmeldung Website"}
			}
		}
		if company != nil {
			byCompany[company.ID] = append(byCompany[company.ID], c)
		}
		pl.contacts = append(pl.contacts, c)
		if err := pl.flushContacts(false); err != nil {
			return err
		}
	}
	if err := pl.flushContacts(true); err != nil {
		return err
	}

	if pl.pipeline != nil {
		if err := pl.generateDeals(nDeals, byCompany); err != nil {
			return err
		}
	} else {
		pl.done("deals")
	}
	return pl.generateActivities(nActivities)
}

var lostReasons = []string{"Preis zu hoch", "Konkurrenz hat den Zuschlag erhalten", "Projekt verschoben",
	"Kein Budget", "Keine Rückmeldung mehr", "Anforderungen nicht erfüllt"}

func (pl *seedPlan) generateDeals(n int, byCompany map[uuid.UUID][]*crm.Contact) error {
	g := pl.g
	var open, won, lost []*crm.Stage
	for _, st := range pl.pipeline.Stages {
		switch st.Kind {
		case crm.StageWon:
			won = append(won, st)
		case crm.StageLost:
			lost = append(lost, st)
		default:
			open = append(open, st)
		}
	}
	for range n {
		// About 60 % open, 25 % won, 15 % lost, as far as the pipeline has
		// such stages.
		var st *crm.Stage
		switch r := g.Intn(100); {
		case r < 25 && len(won) > 0:
			st = won[g.Intn(len(won))]
		case r >= 25 && r < 40 && len(lost) > 0:
			st = lost[g.Intn(len(lost))]
		case len(open) > 0:
			st = open[g.Intn(len(open))]
		default:
			st = pl.pipeline.Stages[g.Intn(len(pl.pipeline.Stages))]
		}
		in := crm.DealInput{PipelineID: &pl.pipeline.ID, StageID: &st.ID, Tags: ptr(pl.pickTags())}
		var created time.Time
		var title string
		if len(pl.companies) > 0 && pl.chance(90) {
			co := pl.companies[g.Intn(len(pl.companies))]
			in.CompanyID = crm.OptionalID{Set: true, ID: &co.ID}
			title = g.DealTitle(co.Name)
			created = co.CreatedAt
			if people := byCompany[co.ID]; len(people) > 0 {
				ct := people[g.Intn(len(people))]
				in.ContactID = crm.OptionalID{Set: true, ID: &ct.ID}
				in.OwnerID = ct.OwnerID
			}
		} else {
			ct := pl.contacts[g.Intn(len(pl.contacts))]
			in.ContactID = crm.OptionalID{Set: true, ID: &ct.ID}
			in.OwnerID = ct.OwnerID
			title = g.DealTitle(ct.Name)
			created = ct.CreatedAt
		}
		if in.OwnerID == nil {
			in.OwnerID = pl.user()
		}
		in.Title = &title
		in.Amount = ptr(crm.DecimalText(g.Amount()))
		d := &crm.Deal{}
		if err := in.Apply(d); err != nil {
			return fmt.Errorf("seed: demo deal %q is invalid: %w", title, err)
		}
		// Created some time after the company or contact, changed stage later.
		if t := pl.past(540); t.After(created) {
			created = t
		}
		changed := created.Add(time.Duration(g.Intn(60*24)) * time.Hour)
		if changed.After(pl.now) {
			changed = pl.now
		}
		if st.Kind == crm.StageLost {
			d.LostReason = lostReasons[g.Intn(len(lostReasons))]
		}
		if err := d.EnterStage(st, true, false, changed); err != nil {
			return fmt.Errorf("seed: demo deal %q: %w", title, err)
		}
		var closeDate time.Time
		if st.Kind == crm.StageOpen {
			closeDate = pl.future(180)
		} else {
			closeDate = changed
		}
		d.ExpectedClose = ptr(closeDate.Format(time.DateOnly))
		d.ID = newID()
		d.CreatedAt, d.UpdatedAt = created, changed
		pl.deals = append(pl.deals, d)
		if err := pl.flushDeals(false); err != nil {
			return err
		}
	}
	return pl.flushDeals(true)
}

var noteBodies = []string{
	"Kunde ist mit der bisherigen Zusammenarbeit zufrieden.",
	"Budget für nächstes Jahr wird im Herbst festgelegt.",
	"Entscheid liegt bei der Geschäftsleitung.",
	"Wünscht Unterlagen per Post.",
	"Ansprechperson ist ab nächstem Monat in den Ferien.",
}

func (pl *seedPlan) generateActivities(n int) error {
	g := pl.g
	kinds := []string{crm.KindNote, crm.KindCall, crm.KindMeeting, crm.KindTask}
	for range n {
		kind := kinds[g.Intn(len(kinds))]
		subject := g.Subject(kind)
		in := crm.ActivityInput{Kind: &kind, Subject: &subject}
		a := &crm.Activity{}
		// The record it belongs to: a contact (with its company), a deal
		// (with its company and contact) or a company alone.
		var created time.Time
		var owner *uuid.UUID
		switch r := g.Intn(100); {
		case r < 25 && len(pl.deals) > 0:
			d := pl.deals[g.Intn(len(pl.deals))]
			a.DealID, a.CompanyID, a.ContactID = &d.ID, d.CompanyID, d.ContactID
			created, owner = d.CreatedAt, d.OwnerID
		case r < 40 && len(pl.companies) > 0:
			c := pl.companies[g.Intn(len(pl.companies))]
			a.CompanyID = &c.ID
			created, owner = c.CreatedAt, c.OwnerID
		default:
			c := pl.contacts[g.Intn(len(pl.contacts))]
			a.ContactID, a.CompanyID = &c.ID, c.CompanyID
			created, owner = c.CreatedAt, c.OwnerID
		}
		if t := pl.past(365); t.After(created) {
			created = t
		}
		// Mostly the record's owner, sometimes a colleague.
		if pl.chance(25) {
			owner = pl.user()
		}
		if kind == crm.KindNote {
			in.Body = ptr(noteBodies[g.Intn(len(noteBodies))])
		}
		if err := in.Apply(a); err != nil {
			return fmt.Errorf("seed: demo activity %q is invalid: %w", subject, err)
		}
		a.ID = newID()
		a.OwnerID, a.AssigneeID = owner, owner
		switch kind {
		case crm.KindNote:
			a.DoneAt = ptr(created)
		case crm.KindTask:
			switch r := g.Intn(100); {
			case r < 40: // done
				a.DueAt = ptr(created.AddDate(0, 0, 1+g.Intn(14)))
				done := created.Add(time.Duration(1+g.Intn(14*24)) * time.Hour)
				if done.After(pl.now) {
					done = pl.now
				}
				a.DoneAt = &done
			case r < 75: // open, due soon
				a.DueAt = ptr(pl.future(30))
			default: // overdue
				a.DueAt = ptr(pl.now.AddDate(0, 0, -1-g.Intn(30)))
				if !created.Before(*a.DueAt) {
					created = a.DueAt.AddDate(0, 0, -1-g.Intn(14))
				}
			}
		default: // calls and meetings: held in the past, or scheduled
			if pl.chance(70) {
				a.DueAt, a.DoneAt = ptr(created), ptr(created)
			} else {
				a.DueAt = ptr(pl.future(30))
			}
		}
		a.CreatedAt = created
		a.UpdatedAt = created
		if a.DoneAt != nil {
			a.UpdatedAt = *a.DoneAt
		}
		pl.activities = append(pl.activities, a)
		if err := pl.flushActivities(false); err != nil {
			return err
		}
	}
	return pl.flushActivities(true)
}

// listSep joins text arrays into one text per row (unnest would flatten a
// two-dimensional array); it cannot occur in demo values.
const listSep = "\x1f"

func joinList(l []string) string { return strings.Join(l, listSep) }

func optUUID(id *uuid.UUID) pgtype.UUID {
	if id == nil {
		return pgtype.UUID{}
	}
	return pgtype.UUID{Bytes: *id, Valid: true}
}

func optText(s *string) pgtype.Text {
	if s == nil {
		return pgtype.Text{}
	}
	return pgtype.Text{String: *s, Valid: true}
}

func optTime(t *time.Time) pgtype.Timestamptz {
	if t == nil {
		return pgtype.Timestamptz{}
	}
	return pgtype.Timestamptz{Time: *t, Valid: true}
}

const companySeedSQL = `
	INSERT INTO companies (tenant_id, id, name, uid, website, email, phone, street, postal_code, city, canton, country,
		industry, tags, owner_id, created_at, updated_at)
	SELECT $1, u.id, u.name, u.uid, u.website, u.email, u.phone, u.street, u.postal_code, u.city, u.canton, u.country,
		u.industry, string_to_array(u.tags, E'\x1f'), u.owner_id, u.created_at, u.created_at
	FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
		$10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::uuid[], $16::timestamptz[])
		AS u(id, name, uid, website, email, phone, street, postal_code, city, canton, country, industry, tags, owner_id, created_at)`

func companySeedArgs(cs []*crm.Company) []any {
	n := len(cs)
	ids, owners := make([]uuid.UUID, n), make([]pgtype.UUID, n)
	uids := make([]pgtype.Text, n)
	cols := make([][]string, 11)
	for i := range cols {
		cols[i] = make([]string, n)
	}
	created := make([]time.Time, n)
	for i, c := range cs {
		ids[i], owners[i], uids[i], created[i] = c.ID, optUUID(c.OwnerID), optText(c.UID), c.CreatedAt
		for j, v := range []string{c.Name, c.Website, c.Email, c.Phone, c.Address.Street, c.Address.PostalCode,
			c.Address.City, c.Address.Canton, c.Address.Country, c.Industry, joinList(c.Tags)} {
			cols[j][i] = v
		}
	}
	return []any{ids, cols[0], uids, cols[1], cols[2], cols[3], cols[4], cols[5], cols[6], cols[7], cols[8], cols[9],
		cols[10], owners, created}
}

const contactSeedSQL = `
	INSERT INTO contacts (tenant_id, id, salutation, first_name, last_name, emails, phones, job_title, company_id,
		street, postal_code, city, canton, country, language, birthday, tags, owner_id, marketing_consent, consent_at,
		consent_source, created_at, updated_at)
	SELECT $1, u.id, u.salutation, u.first_name, u.last_name, string_to_array(u.emails, E'\x1f'),
		string_to_array(u.phones, E'\x1f'), u.job_title, u.company_id, u.street, u.postal_code, u.city, u.canton,
		u.country, u.language, u.birthday::date, string_to_array(u.tags, E'\x1f'), u.owner_id, u.consent_at IS NOT NULL,
		u.consent_at, u.consent_source, u.created_at, u.created_at
	FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::uuid[],
		$10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[],
		$18::uuid[], $19::timestamptz[], $20::text[], $21::timestamptz[])
		AS u(id, salutation, first_name, last_name, emails, phones, job_title, company_id, street, postal_code, city,
		canton, country, language, birthday, tags, owner_id, consent_at, consent_source, created_at)`

func contactSeedArgs(cs []*crm.Contact) []any {
	n := len(cs)
	ids, companies, owners := make([]uuid.UUID, n), make([]pgtype.UUID, n), make([]pgtype.UUID, n)
	birthdays := make([]pgtype.Text, n)
	consentAt := make([]pgtype.Timestamptz, n)
	created := make([]time.Time, n)
	cols := make([][]string, 14)
	for i := range cols {
		cols[i] = make([]string, n)
	}
	for i, c := range cs {
		ids[i], companies[i], owners[i] = c.ID, optUUID(c.CompanyID), optUUID(c.OwnerID)
		birthdays[i], consentAt[i], created[i] = optText(c.Birthday), optTime(c.MarketingConsent.At), c.CreatedAt
		for j, v := range []string{c.Salutation, c.FirstName, c.LastName, joinList(c.Emails), joinList(c.Phones),
			c.JobTitle, c.Address.Street, c.Address.PostalCode, c.Address.City, c.Address.Canton, c.Address.Country,
			c.Language, joinList(c.Tags), c.MarketingConsent.Source} {
			cols[j][i] = v
		}
	}
	return []any{ids, cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], companies, cols[6], cols[7], cols[8],
		cols[9], cols[10], cols[11], birthdays, cols[12], owners, consentAt, cols[13], created}
}

const dealSeedSQL = `
	INSERT INTO deals (tenant_id, id, title, amount, currency, pipeline_id, stage_id, company_id, contact_id, owner_id,
		expected_close, probability, won_at, lost_at, lost_reason, stage_changed_at, tags, created_at, updated_at)
	SELECT $1, u.id, u.title, u.amount::numeric, u.currency, u.pipeline_id, u.stage_id, u.company_id, u.contact_id,
		u.owner_id, u.expected_close::date, u.probability, u.won_at, u.lost_at, u.lost_reason, u.stage_changed_at,
		string_to_array(u.tags, E'\x1f'), u.created_at, u.stage_changed_at
	FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::uuid[], $7::uuid[], $8::uuid[], $9::uuid[],
		$10::uuid[], $11::text[], $12::int[], $13::timestamptz[], $14::timestamptz[], $15::text[], $16::timestamptz[],
		$17::text[], $18::timestamptz[])
		AS u(id, title, amount, currency, pipeline_id, stage_id, company_id, contact_id, owner_id, expected_close,
		probability, won_at, lost_at, lost_reason, stage_changed_at, tags, created_at)`

func dealSeedArgs(ds []*crm.Deal) []any {
	n := len(ds)
	ids, pipelines, stages := make([]uuid.UUID, n), make([]uuid.UUID, n), make([]uuid.UUID, n)
	companies, contacts, owners := make([]pgtype.UUID, n), make([]pgtype.UUID, n), make([]pgtype.UUID, n)
	titles, currencies, reasons, tags := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	amounts, closes := make([]pgtype.Text, n), make([]pgtype.Text, n)
	probs := make([]int32, n)
	wonAt, lostAt := make([]pgtype.Timestamptz, n), make([]pgtype.Timestamptz, n)
	changed, created := make([]time.Time, n), make([]time.Time, n)
	for i, d := range ds {
		ids[i], pipelines[i], stages[i] = d.ID, d.PipelineID, d.StageID
		companies[i], contacts[i], owners[i] = optUUID(d.CompanyID), optUUID(d.ContactID), optUUID(d.OwnerID)
		titles[i], currencies[i], reasons[i], tags[i] = d.Title, d.Currency, d.LostReason, joinList(d.Tags)
		amounts[i], closes[i], probs[i] = optText(d.Amount), optText(d.ExpectedClose), int32(d.Probability)
		wonAt[i], lostAt[i], changed[i], created[i] = optTime(d.WonAt), optTime(d.LostAt), d.StageChangedAt, d.CreatedAt
	}
	return []any{ids, titles, amounts, currencies, pipelines, stages, companies, contacts, owners, closes, probs,
		wonAt, lostAt, reasons, changed, tags, created}
}

const activitySeedSQL = `
	INSERT INTO activities (tenant_id, id, kind, subject, body, body_format, due_at, done_at, assignee_id, company_id,
		contact_id, deal_id, owner_id, created_at, updated_at)
	SELECT $1, u.* FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[],
		$8::timestamptz[], $9::uuid[], $10::uuid[], $11::uuid[], $12::uuid[], $13::uuid[], $14::timestamptz[],
		$15::timestamptz[]) AS u`

func activitySeedArgs(as []*crm.Activity) []any {
	n := len(as)
	ids := make([]uuid.UUID, n)
	kinds, subjects, bodies, formats := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	due, done := make([]pgtype.Timestamptz, n), make([]pgtype.Timestamptz, n)
	assignees, companies, contacts, deals, owners := make([]pgtype.UUID, n), make([]pgtype.UUID, n),
		make([]pgtype.UUID, n), make([]pgtype.UUID, n), make([]pgtype.UUID, n)
	created, updated := make([]time.Time, n), make([]time.Time, n)
	for i, a := range as {
		ids[i], kinds[i], subjects[i], bodies[i], formats[i] = a.ID, a.Kind, a.Subject, a.Body, a.BodyFormat
		due[i], done[i] = optTime(a.DueAt), optTime(a.DoneAt)
		assignees[i], companies[i], contacts[i] = optUUID(a.AssigneeID), optUUID(a.CompanyID), optUUID(a.ContactID)
		deals[i], owners[i] = optUUID(a.DealID), optUUID(a.OwnerID)
		created[i], updated[i] = a.CreatedAt, a.UpdatedAt
	}
	return []any{ids, kinds, subjects, bodies, formats, due, done, assignees, companies, contacts, deals, owners,
		created, updated}
}
