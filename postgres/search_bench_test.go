package postgres_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rpcrm/rpcrm/crm"
	"github.com/rpcrm/rpcrm/internal/testfix"
	"github.com/rpcrm/rpcrm/postgres"
)

// seedSearchContacts inserts n contacts with common Swiss names, e-mail
// addresses, phone numbers and cities into a tenant, in one statement, and
// refreshes the planner's statistics. About one in 25 is a Müller.
func seedSearchContacts(tb testing.TB, e *testfix.Env, tenant uuid.UUID, n int) {
	tb.Helper()
	ctx := context.Background()
	err := e.DB.InTenant(ctx, tenant, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `
			WITH names AS (SELECT
				ARRAY['Hans', 'Anna', 'Peter', 'Maria', 'Daniel', 'Ursula', 'Thomas', 'Ruth', 'Martin', 'Verena',
				      'Christian', 'Elisabeth', 'Andreas', 'Monika', 'Marco', 'Sandra', 'Reto', 'Nicole', 'Beat', 'Corinne'] AS first,
				ARRAY['Müller', 'Meier', 'Schmid', 'Keller', 'Weber', 'Huber', 'Schneider', 'Meyer', 'Steiner', 'Fischer',
				      'Gerber', 'Brunner', 'Baumann', 'Frei', 'Zimmermann', 'Moser', 'Widmer', 'Wyss', 'Graf', 'Roth',
				      'Suter', 'Baumgartner', 'Bachmann', 'Studer', 'Bühler'] AS last,
				ARRAY['Zürich', 'Genève', 'Basel', 'Bern', 'Lausanne', 'Winterthur', 'Luzern', 'St. Gallen', 'Lugano', 'Biel/Bienne'] AS city)
			INSERT INTO contacts (tenant_id, id, first_name, last_name, emails, phones, city, updated_at)
			SELECT $1, gen_random_uuid(), first[1 + i % 20], last[1 + (i / 20) % 25],
			       ARRAY['kontakt' || i || '@example.ch'], ARRAY['+4144' || lpad(i::text, 7, '0')],
			       city[1 + (i / 7) % 10], now() - i * interval '1 minute'
			FROM names, generate_series(1, $2) AS i`, tenant, n)
		return err
	})
	if err != nil {
		tb.Fatalf("seed contacts: %v", err)
	}
	conn := ownerConn(tb, e)
	ownerExec(tb, conn, "ANALYZE contacts")
}

// BenchmarkSearch searches 20,000 contacts: a common surname (800 hits of
// which 10 are returned), an exact name, a typo and a phone number. The
// "per type" runs search each type in a call of its own, to compare with the
// one batch that Search sends.
func BenchmarkSearch(b *testing.B) {
	e := testfix.New(b)
	tenant := tid(b, e, "alpha")
	seedSearchContacts(b, e, tenant, 20_000)
	svc := &postgres.CRMService{DB: e.DB}
	p := e.System(b, "alpha")
	ctx := context.Background()
	search := func(b *testing.B, q string, types ...string) *crm.SearchResults {
		res, err := svc.Search(ctx, p, crm.SearchParams{Q: q, Types: types})
		if err != nil {
			b.Fatal(err)
		}
		return res
	}
	for _, q := range []string{"Müller", "Hans Müller", "Mülller", "044 000 12 34"} {
		b.Run(q, func(b *testing.B) {
			for b.Loop() {
				if res := search(b, q); len(res.Contacts) == 0 {
					b.Fatalf("%q: no contacts found", q)
				}
			}
		})
	}
	b.Run("Müller per type", func(b *testing.B) {
		for b.Loop() {
			for _, typ := range crm.SearchTypes {
				search(b, "Müller", typ)
			}
		}
	})
}
