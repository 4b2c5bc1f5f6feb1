package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/rpcrm/rpcrm/internal/testfix"
)

// Under row-level security, PostgreSQL uses an index for a condition only if
// its functions are LEAKPROOF; Migrate marks them (the test owner is a
// superuser). Without it every search would read the whole tenant.
func TestSearchUsesTrigramIndexUnderRLS(t *testing.T) {
	t.Parallel()
	e := testfix.New(t)
	ctx := context.Background()
	alpha := e.Tenant(t, "alpha").UUID()
	err := e.DB.InTenant(ctx, alpha, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO contacts (tenant_id, id, first_name, last_name)
			SELECT $1, gen_random_uuid(), 'Vorname' || i, 'Name' || i FROM generate_series(1, 30000) AS i`, alpha)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	owner, err := pgx.Connect(ctx, e.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	if _, err := owner.Exec(ctx, "ANALYZE contacts"); err != nil {
		t.Fatal(err)
	}
	var leakproof bool
	if err := owner.QueryRow(ctx, `SELECT bool_and(proleakproof) FROM pg_proc WHERE proname IN ('textlike', 'word_similarity_op')`).Scan(&leakproof); err != nil || !leakproof {
		t.Fatalf("search functions not marked LEAKPROOF by Migrate: %v %v", leakproof, err)
	}
	var plan []string
	err = e.DB.InTenant(ctx, alpha, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `EXPLAIN SELECT id FROM contacts WHERE tenant_id = $1 AND deleted_at IS NULL
			AND (search LIKE '%' || search_norm('müller') || '%' OR search_norm('müller') <% search)`, alpha)
		if err != nil {
			return err
		}
		plan, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(plan, "\n"), "contacts_search_idx") {
		t.Fatalf("the search does not use the trigram index as the application role:\n%s", strings.Join(plan, "\n"))
	}
}
