package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/crm"
	"github.com/rpcrm/rpcrm/internal/testfix"
	"github.com/rpcrm/rpcrm/postgres"
)

// searchSeeder inserts CRM records with raw SQL as the application role in
// one tenant, so that the search tests need no other record service.
type searchSeeder struct {
	t      testing.TB
	e      *testfix.Env
	tenant uuid.UUID
	stage  uuid.UUID // of the tenant's one pipeline
	// age makes every record older than the one inserted after it, so
	// that "most recently changed first" has a defined order.
	age time.Duration
}

func newSearchSeeder(t testing.TB, e *testfix.Env, slug string) *searchSeeder {
	s := &searchSeeder{t: t, e: e, tenant: tid(t, e, slug), age: 1000 * time.Hour}
	pipeline, stage := uuid.New(), uuid.New()
	s.exec(`INSERT INTO pipelines (tenant_id, id, name) VALUES ($1, $2, 'Test-Pipeline')`, s.tenant, pipeline)
	s.exec(`INSERT INTO stages (tenant_id, id, pipeline_id, name, position) VALUES ($1, $2, $3, 'Offerte', 1)`,
		s.tenant, stage, pipeline)
	s.stage = stage
	return s
}

func (s *searchSeeder) exec(sql string, args ...any) {
	s.t.Helper()
	if _, err := execIn(s.e, s.tenant, sql, args...); err != nil {
		s.t.Fatalf("seed: %s: %v", sql, err)
	}
}

func (s *searchSeeder) updatedAt() time.Time {
	s.age -= time.Hour
	return time.Now().Add(-s.age)
}

type searchCompany struct {
	Name, City, Phone string
	Owner             *uuid.UUID
	Deleted           bool
}

func (s *searchSeeder) company(c searchCompany) uuid.UUID {
	s.t.Helper()
	id := uuid.New()
	s.exec(`INSERT INTO companies (tenant_id, id, name, city, phone, owner_id, updated_at, deleted_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, CASE WHEN $8 THEN now() END)`,
		s.tenant, id, c.Name, c.City, c.Phone, c.Owner, s.updatedAt(), c.Deleted)
	return id
}

type searchContact struct {
	First, Last, Email, Phone, City, Job string
	Company, Owner                       *uuid.UUID
	Deleted                              bool
}

func (s *searchSeeder) contact(c searchContact) uuid.UUID {
	s.t.Helper()
	id := uuid.New()
	emails, phones := []string{}, []string{}
	if c.Email != "" {
		emails = append(emails, c.Email)
	}
	if c.Phone != "" {
		phones = append(phones, c.Phone)
	}
	s.exec(`INSERT INTO contacts (tenant_id, id, first_name, last_name, emails, phones, city, job_title, company_id,
		owner_id, updated_at, deleted_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, CASE WHEN $12 THEN now() END)`,
		s.tenant, id, c.First, c.Last, emails, phones, c.City, c.Job, c.Company, c.Owner, s.updatedAt(), c.Deleted)
	return id
}

type searchDeal struct {
	Title   string
	Amount  string // "" for none
	Owner   *uuid.UUID
	Deleted bool
}

func (s *searchSeeder) deal(d searchDeal) uuid.UUID {
	s.t.Helper()
	id := uuid.New()
	var amount *string
	if d.Amount != "" {
		amount = &d.Amount
	}
	s.exec(`INSERT INTO deals (tenant_id, id, title, amount, pipeline_id, stage_id, owner_id, updated_at, deleted_at)
		SELECT $1, $2, $3, $4::numeric, pipeline_id, id, $6, $7, CASE WHEN $8 THEN now() END FROM stages WHERE tenant_id = $1 AND id = $5`,
		s.tenant, id, d.Title, amount, s.stage, d.Owner, s.updatedAt(), d.Deleted)
	return id
}

// searchPrincipal is a user of tenant slug holding exactly the given grants
// ("contacts:read", "contacts:read:own", …).
func searchPrincipal(t testing.TB, e *testfix.Env, slug string, user uuid.UUID, grants ...string) *auth.Principal {
	t.Helper()
	var gs []auth.Grant
	for _, s := range grants {
		g, err := auth.ParseGrant(s)
		if err != nil {
			t.Fatal(err)
		}
		gs = append(gs, g)
	}
	return &auth.Principal{UserID: user, TenantID: tid(t, e, slug), Tenant: slug, Grants: auth.MergeGrants(gs)}
}

func search(t testing.TB, svc *postgres.CRMService, p *auth.Principal, q string, types ...string) *crm.SearchResults {
	t.Helper()
	res, err := svc.Search(context.Background(), p, crm.SearchParams{Q: q, Types: types})
	if err != nil {
		t.Fatalf("search %q: %v", q, err)
	}
	return res
}

func hitIDs(hits []crm.SearchHit) []uuid.UUID {
	ids := make([]uuid.UUID, 0, len(hits))
	for _, h := range hits {
		ids = append(ids, h.ID)
	}
	return ids
}

func hasHit(hits []crm.SearchHit, id uuid.UUID) bool {
	for _, h := range hits {
		if h.ID == id {
			return true
		}
	}
	return false
}

func describe(hits []crm.SearchHit) string {
	var b strings.Builder
	for _, h := range hits {
		fmt.Fprintf(&b, "\n  %s %q (%s) %.4f", h.Type, h.Title, h.Subtitle, h.Score)
	}
	return b.String()
}

func TestSearch(t *testing.T) {
	t.Parallel()
	e := testfix.New(t)
	svc := &postgres.CRMService{DB: e.DB}
	anna := e.CreateUser(t, "alpha", "anna@alpha.test", auth.RoleKeySales)
	bruno := e.CreateUser(t, "alpha", "bruno@alpha.test", auth.RoleKeySales)
	s := newSearchSeeder(t, e, "alpha")

	holzbau := s.company(searchCompany{Name: "Müller Holzbau AG", City: "Zürich", Owner: &bruno.ID})
	strassenbau := s.company(searchCompany{Name: "Straßenbau Keller AG", City: "Bern", Owner: &anna.ID})
	geneve := s.company(searchCompany{Name: "Horlogerie Favre SA", City: "Genève", Phone: "+41227001122"})
	goneCompany := s.company(searchCompany{Name: "Müller Gelöscht GmbH", City: "Zürich", Deleted: true})

	hans := s.contact(searchContact{First: "Hans", Last: "Müller", Email: "hans.mueller@example.ch",
		Phone: "+41441234567", City: "Winterthur", Company: &holzbau, Owner: &anna.ID})
	peter := s.contact(searchContact{First: "Peter", Last: "Mueller", Email: "peter@example.ch", Owner: &bruno.ID})
	schmidt := s.contact(searchContact{First: "Karl", Last: "Schmidt", Email: "k.schmidt@example.ch", Owner: &bruno.ID})
	fischer := s.contact(searchContact{First: "Eva", Last: "Fischer", City: "Basel", Owner: &anna.ID})
	petrov := s.contact(searchContact{First: "Иван", Last: "Петров", Owner: &anna.ID})
	strasse := s.contact(searchContact{First: "Lea", Last: "Brunner", Job: "Leiterin Strassenunterhalt",
		Email: "lea@example.ch", Company: &strassenbau, Owner: &bruno.ID})
	goneContact := s.contact(searchContact{First: "Hans", Last: "Müller", Email: "alt@example.ch", Deleted: true})
	// Ranking: inserted after Hans Müller, so these are more recently changed.
	prefix := s.contact(searchContact{First: "Urs", Last: "Müllerhaus", Owner: &anna.ID})
	inside := s.contact(searchContact{First: "Rita", Last: "Obermüller", Owner: &anna.ID})
	hyphen := s.contact(searchContact{First: "Nina", Last: "Müller-Meier", Owner: &bruno.ID})

	offer := s.deal(searchDeal{Title: "Müller Holzbau: Dachstock Zürich", Amount: "12500.00", Owner: &bruno.ID})
	goneDeal := s.deal(searchDeal{Title: "Müller Altbau", Deleted: true})

	beta := newSearchSeeder(t, e, "beta")
	betaHans := beta.contact(searchContact{First: "Hans", Last: "Müller", Phone: "+41441234567"})
	betaCompany := beta.company(searchCompany{Name: "Müller Holzbau AG", City: "Zürich"})

	system := e.System(t, "alpha")

	t.Run("German spellings meet", func(t *testing.T) {
		for _, q := range []string{"muller", "mueller", "Müller", "MÜLLER", "Mueller", "müller"} {
			res := search(t, svc, system, q)
			if !hasHit(res.Contacts, hans) || !hasHit(res.Contacts, peter) {
				t.Errorf("%q: want Hans Müller and Peter Mueller, got %s", q, describe(res.Contacts))
			}
			if !hasHit(res.Companies, holzbau) || !hasHit(res.Deals, offer) {
				t.Errorf("%q: want Müller Holzbau and its deal, got %s%s", q, describe(res.Companies), describe(res.Deals))
			}
		}
		cases := []struct {
			q    string
			want uuid.UUID
			in   func(*crm.SearchResults) []crm.SearchHit
		}{
			{"Zurich", holzbau, companiesOf},
			{"Zürich", holzbau, companiesOf},
			{"zuerich", holzbau, companiesOf},
			{"Strassenbau", strassenbau, companiesOf},
			{"Straßenbau", strassenbau, companiesOf},
			{"Straße", strasse, contactsOf}, // job title "Strassenunterhalt"
			{"Geneve", geneve, companiesOf},
			{"Genève", geneve, companiesOf},
			{"GENEVE", geneve, companiesOf},
		}
		for _, c := range cases {
			if hits := c.in(search(t, svc, system, c.q)); !hasHit(hits, c.want) {
				t.Errorf("%q does not find %v: %s", c.q, c.want, describe(hits))
			}
		}
	})

	t.Run("one typo", func(t *testing.T) {
		// Pairs that pg_trgm's word similarity (threshold 0.5) really finds: a
		// changed, missing or doubled letter towards the end of the word.
		cases := []struct {
			q    string
			want uuid.UUID
			in   func(*crm.SearchResults) []crm.SearchHit
		}{
			{"Schmitt", schmidt, contactsOf}, // 0.625
			{"Fisher", fischer, contactsOf},  // 0.5
			{"Muler", hans, contactsOf},      // 0.625
			{"Mülller", hans, contactsOf},    // 0.875
			{"Zürihc", holzbau, companiesOf}, // 0.57
			{"Holzbua", holzbau, companiesOf},
			{"Петрова", petrov, contactsOf}, // no ASCII trigrams: no prefilter
			{"Schmidtt", schmidt, contactsOf},
			{"Hans Mülle", hans, contactsOf},
		}
		for _, c := range cases {
			if hits := c.in(search(t, svc, system, c.q)); !hasHit(hits, c.want) {
				t.Errorf("%q does not find %v: %s", c.q, c.want, describe(hits))
			}
		}
		// The threshold is not so low that anything goes.
		if res := search(t, svc, system, "Schwarzenbach"); len(res.Companies)+len(res.Contacts)+len(res.Deals) != 0 {
			t.Errorf("Schwarzenbach finds %s%s%s", describe(res.Companies), describe(res.Contacts), describe(res.Deals))
		}
	})

	t.Run("phone numbers in any format", func(t *testing.T) {
		for _, q := range []string{"044 123 45 67", "+41 44 123 45 67", "0041441234567", "441234567", "044/123.45.67", "(044) 123-45-67"} {
			res := search(t, svc, system, q)
			if ids := hitIDs(res.Contacts); len(ids) != 1 || ids[0] != hans {
				t.Errorf("%q: want only Hans Müller, got %s", q, describe(res.Contacts))
			}
		}
		for _, q := range []string{"022 700 11 22", "+41227001122", "7001122"} {
			if res := search(t, svc, system, q); !hasHit(res.Companies, geneve) {
				t.Errorf("%q does not find the company's phone: %s", q, describe(res.Companies))
			}
		}
		if res := search(t, svc, system, "044 999 99 99"); len(res.Contacts) != 0 {
			t.Errorf("another number finds %s", describe(res.Contacts))
		}
	})

	t.Run("ranking", func(t *testing.T) {
		res := search(t, svc, system, "Müller", crm.EntityContact)
		ids := hitIDs(res.Contacts)
		pos := map[uuid.UUID]int{}
		for i, id := range ids {
			pos[id] = i
		}
		for _, id := range []uuid.UUID{hans, peter, hyphen, prefix, inside} {
			if _, ok := pos[id]; !ok {
				t.Fatalf("missing %v in %s", id, describe(res.Contacts))
			}
		}
		// Whole words (Müller, Mueller, Müller-Meier) before a word prefix
		// (Müllerhaus) before a match inside a word (Obermüller), although
		// the later ones changed more recently.
		for _, whole := range []uuid.UUID{hans, peter, hyphen} {
			if pos[whole] > pos[prefix] {
				t.Errorf("whole word ranks below a prefix: %s", describe(res.Contacts))
			}
		}
		if pos[prefix] > pos[inside] {
			t.Errorf("prefix ranks below a match inside a word: %s", describe(res.Contacts))
		}
		// Within a tier, the most recently changed first.
		if !(pos[hyphen] < pos[peter] && pos[peter] < pos[hans]) {
			t.Errorf("equal matches not newest first: %s", describe(res.Contacts))
		}
		for i := 1; i < len(res.Contacts); i++ {
			if res.Contacts[i].Score > res.Contacts[i-1].Score {
				t.Errorf("scores not descending: %s", describe(res.Contacts))
			}
		}
		// The exact name beats every partial match.
		res = search(t, svc, system, "hans mueller", crm.EntityContact)
		if len(res.Contacts) == 0 || res.Contacts[0].ID != hans || res.Contacts[0].Score != 4 {
			t.Errorf("exact name not first: %s", describe(res.Contacts))
		}
		res = search(t, svc, system, "Müller Holzbau AG", crm.EntityCompany)
		if len(res.Companies) == 0 || res.Companies[0].ID != holzbau || res.Companies[0].Score != 4 {
			t.Errorf("exact company name not first: %s", describe(res.Companies))
		}
	})

	t.Run("hits", func(t *testing.T) {
		res := search(t, svc, system, "Müller Holzbau")
		want := map[uuid.UUID]crm.SearchHit{
			holzbau: {ID: holzbau, Type: "company", Title: "Müller Holzbau AG", Subtitle: "Zürich"},
			offer:   {ID: offer, Type: "deal", Title: "Müller Holzbau: Dachstock Zürich", Subtitle: "CHF 12500.00 · Offerte"},
		}
		for _, h := range append(res.Companies, res.Deals...) {
			if w, ok := want[h.ID]; ok {
				h.Score = 0
				if h != w {
					t.Errorf("hit %+v, want %+v", h, w)
				}
				delete(want, h.ID)
			}
		}
		if len(want) != 0 {
			t.Errorf("not found: %v", want)
		}
		// A contact's subtitle is their company, if the user may see it,
		// else their e-mail address.
		subtitle := func(p *auth.Principal) string {
			res := search(t, svc, p, "hans müller", crm.EntityContact)
			if len(res.Contacts) == 0 || res.Contacts[0].ID != hans {
				t.Fatalf("Hans Müller not first: %s", describe(res.Contacts))
			}
			return res.Contacts[0].Subtitle
		}
		if got := subtitle(system); got != "Müller Holzbau AG" {
			t.Errorf("subtitle %q, want the company", got)
		}
		if got := subtitle(searchPrincipal(t, e, "alpha", anna.ID, "contacts:read")); got != "hans.mueller@example.ch" {
			t.Errorf("subtitle without companies:read %q, want the e-mail address", got)
		}
		// Holzbau belongs to Bruno: with companies:read:own Anna does not see it.
		if got := subtitle(searchPrincipal(t, e, "alpha", anna.ID, "contacts:read", "companies:read:own")); got != "hans.mueller@example.ch" {
			t.Errorf("subtitle with someone else's company %q, want the e-mail address", got)
		}
		if got := subtitle(searchPrincipal(t, e, "alpha", bruno.ID, "contacts:read", "companies:read:own")); got != "Müller Holzbau AG" {
			t.Errorf("subtitle with own company %q, want the company", got)
		}
	})

	t.Run("own scope in the query", func(t *testing.T) {
		p := searchPrincipal(t, e, "alpha", anna.ID, "contacts:read:own")
		res := search(t, svc, p, "Müller")
		if res.Companies != nil || res.Deals != nil {
			t.Errorf("types without permission searched: %+v", res)
		}
		got := hitIDs(res.Contacts)
		want := []uuid.UUID{inside, prefix, hans} // Anna's; Peter and Nina are Bruno's
		if len(got) != 3 || !hasHit(res.Contacts, hans) || !hasHit(res.Contacts, prefix) || !hasHit(res.Contacts, inside) {
			t.Errorf("own contacts: got %s, want %v", describe(res.Contacts), want)
		}
		// Limits apply after the scope: Anna's best hit is hers, not the
		// best hit overall cut away.
		res, err := svc.Search(context.Background(), p, crm.SearchParams{Q: "Müller", Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if ids := hitIDs(res.Contacts); len(ids) != 1 || ids[0] != hans {
			t.Errorf("limit 1: %s", describe(res.Contacts))
		}
		p = searchPrincipal(t, e, "alpha", bruno.ID, "companies:read:own", "deals:read:own")
		res = search(t, svc, p, "Straßenbau Zürich Holzbau Müller")
		if hasHit(res.Companies, strassenbau) {
			t.Errorf("Bruno finds Anna's company: %s", describe(res.Companies))
		}
		res = search(t, svc, p, "Holzbau")
		if !hasHit(res.Companies, holzbau) || !hasHit(res.Deals, offer) || res.Contacts != nil {
			t.Errorf("Bruno's own: %+v", res)
		}
	})

	t.Run("types", func(t *testing.T) {
		p := searchPrincipal(t, e, "alpha", anna.ID, "deals:read")
		res := search(t, svc, p, "Müller")
		if res.Companies != nil || res.Contacts != nil || !hasHit(res.Deals, offer) {
			t.Errorf("deals:read only: %+v", res)
		}
		res = search(t, svc, searchPrincipal(t, e, "alpha", anna.ID), "Müller")
		if res.Companies != nil || res.Contacts != nil || res.Deals != nil {
			t.Errorf("no permission: %+v", res)
		}
		res = search(t, svc, system, "Müller", "contact", "deal")
		if res.Companies != nil || len(res.Contacts) == 0 || len(res.Deals) == 0 {
			t.Errorf("types contact,deal: %+v", res)
		}
		res = search(t, svc, system, "Schwarzenbach")
		if res.Companies == nil || res.Contacts == nil || res.Deals == nil {
			t.Errorf("a searched type without hits must be an empty list, not left out: %+v", res)
		}
	})

	t.Run("other tenants and the trash stay out", func(t *testing.T) {
		for _, q := range []string{"Müller", "Müller Holzbau AG", "hans muller", "044 123 45 67", "Altbau", "Gelöscht"} {
			res := search(t, svc, system, q)
			all := append(append(append([]crm.SearchHit{}, res.Companies...), res.Contacts...), res.Deals...)
			for _, id := range []uuid.UUID{betaHans, betaCompany, goneCompany, goneContact, goneDeal} {
				if hasHit(all, id) {
					t.Errorf("%q finds %v (another tenant's or deleted): %s", q, id, describe(all))
				}
			}
		}
		res := search(t, svc, e.System(t, "beta"), "Müller")
		if ids := hitIDs(res.Contacts); len(ids) != 1 || ids[0] != betaHans {
			t.Errorf("beta: %s", describe(res.Contacts))
		}
		if ids := hitIDs(res.Companies); len(ids) != 1 || ids[0] != betaCompany {
			t.Errorf("beta: %s", describe(res.Companies))
		}
	})

	t.Run("wildcards are literal", func(t *testing.T) {
		for _, q := range []string{"%", "_", "%%%", `\`} {
			res := search(t, svc, system, q)
			if n := len(res.Companies) + len(res.Contacts) + len(res.Deals); n != 0 {
				t.Errorf("%q finds %d records", q, n)
			}
		}
	})

	t.Run("limit", func(t *testing.T) {
		res, err := svc.Search(context.Background(), system, crm.SearchParams{Q: "Müller", Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Contacts) != 2 || len(res.Companies) != 1 {
			t.Errorf("limit 2: %d contacts, %d companies", len(res.Contacts), len(res.Companies))
		}
	})

	t.Run("bad input", func(t *testing.T) {
		cases := []struct {
			sp    crm.SearchParams
			field string
		}{
			{crm.SearchParams{Q: ""}, "q"},
			{crm.SearchParams{Q: "   "}, "q"},
			{crm.SearchParams{Q: strings.Repeat("ä", 201)}, "q"},
			{crm.SearchParams{Q: "Müller", Limit: 51}, "limit"},
			{crm.SearchParams{Q: "Müller", Limit: -1}, "limit"},
			{crm.SearchParams{Q: "Müller", Types: []string{"contact", "invoice"}}, "types"},
		}
		for _, c := range cases {
			_, err := svc.Search(context.Background(), system, c.sp)
			var re *rpcrm.Error
			if !errors.As(err, &re) || re.Code != rpcrm.EINVALID || re.Fields[c.field] == "" {
				t.Errorf("%+v: want EINVALID on %s, got %v", c.sp, c.field, err)
			}
		}
		if _, err := svc.Search(context.Background(), system, crm.SearchParams{Q: strings.Repeat("ä", 200)}); err != nil {
			t.Errorf("200 characters: %v", err)
		}
	})

	t.Run("the costly step only when needed", func(t *testing.T) {
		// The substring and typo step scores every trigram candidate with
		// <%. It runs only when the exact names, whole words and word
		// starts do not fill the page.
		gamma := tid(t, e, "gamma")
		seedSearchContacts(t, e, gamma, 2000)
		p := searchPrincipal(t, e, "gamma", uuid.Nil, "contacts:read")
		cases := []struct {
			q      string
			costly bool
		}{
			{"Müller", false},     // 80 whole words
			{"Mül", false},        // 80 word starts
			{"Hans Müller", true}, // 4 exact names, then trigram matches
			{"Mülller", true},     // a typo
			{"000 12 34", true},   // inside a number
			{"044 000 12", false}, // the start of 10 numbers
		}
		for _, c := range cases {
			plan := explainSearch(t, e, gamma, p, c.q)
			// The second step is the last scan of contacts in the plan
			// but the join of the hits by primary key.
			var last string
			for _, line := range strings.Split(plan, "\n") {
				if strings.Contains(line, "on contacts r") && !strings.Contains(line, "contacts_pkey") {
					last = line
				}
			}
			never := strings.Contains(last, "never executed")
			if never == c.costly {
				t.Errorf("%q: costly step run = %v, want %v:\n%s", c.q, !never, c.costly, plan)
			}
		}

		// The prefilter of <% never drops a row that <% would find.
		ctx := context.Background()
		active := 0
		for _, q := range []string{"Mülller", "Kellr", "Schmitt", "Webber", "Baumgarten", "Zürihc", "Hubr", "Gerger",
			"Winterthr", "Lausane", "kontakt12", "Brunnner", "Zimmerman", "Bachman Anna", "Müller Hans", "Meyr",
			"Elisabet Studr", "Christina", "Corine Bühlr", "St Galen", "Biel Bienne", "Andreas Widmr"} {
			var plain, filtered int
			var prefiltered bool
			err := e.DB.InTenant(ctx, gamma, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, postgres.SearchSettings, postgres.WordSimilarityThreshold); err != nil {
					return err
				}
				return tx.QueryRow(ctx, `WITH term AS (SELECT t, (`+postgres.TrigramPrefilter+`) AS tri FROM (SELECT search_norm($1) AS t) x)
					SELECT count(*) FILTER (WHERE t <% search),
						count(*) FILTER (WHERE (tri IS NULL OR search ~ tri) AND t <% search),
						bool_or(tri IS NOT NULL)
					FROM contacts, term`, q).Scan(&plain, &filtered, &prefiltered)
			})
			if err != nil {
				t.Fatal(err)
			}
			if plain != filtered {
				t.Errorf("%q: <%% finds %d contacts, with the prefilter %d", q, plain, filtered)
			}
			if prefiltered && plain > 0 {
				active++
			}
		}
		if active < 10 {
			t.Errorf("the prefilter was active for only %d terms with hits", active)
		}
	})
}

// explainSearch returns the plan of the contact search for q, as run.
func explainSearch(t *testing.T, e *testfix.Env, tenant uuid.UUID, p *auth.Principal, q string) string {
	t.Helper()
	sql, args := postgres.SearchSQL(p, crm.EntityContact, q, 10)
	return planOf(t, e, tenant, "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF)", sql, args, func(tx pgx.Tx) error {
		_, err := tx.Exec(context.Background(), postgres.SearchSettings, postgres.WordSimilarityThreshold)
		return err
	})
}

func companiesOf(r *crm.SearchResults) []crm.SearchHit { return r.Companies }
func contactsOf(r *crm.SearchResults) []crm.SearchHit  { return r.Contacts }
