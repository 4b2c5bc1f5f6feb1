package postgres_test

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
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
	if err := owner.QueryRow(ctx, `SELECT bool_and(proleakproof) FROM pg_proc WHERE proname IN ('textlike', 'word_similarity_op', 'ts_match_vq')`).Scan(&leakproof); err != nil || !leakproof {
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

// The search's tiers each read an index as the application role, and a
// common word costs a page, not all its matches: "Müller" (one contact in
// 25) is read newest first through contacts_updated_idx until ten are
// found, a rare word through the GIN index of the words, an exact name
// through the B-tree of the titles, a typo through the trigram index of
// the tenant. The planner tells common from rare words by the statistics of
// search_words, so each search is planned for its term.
func TestSearchPlansUseIndexesUnderRLS(t *testing.T) {
	t.Parallel()
	e := testfix.New(t)
	alpha, beta := tid(t, e, "alpha"), tid(t, e, "beta")
	seedSearchContacts(t, e, beta, 5000)
	seedSearchContacts(t, e, alpha, 30000) // analyzes contacts
	p := searchPrincipal(t, e, "alpha", uuid.Nil, "contacts:read")
	cases := []struct {
		q    string
		want []string // in the plan, in this order
		hits int
	}{
		// 1 200 Müllers: the ten newest, by updated_at.
		{"Müller", []string{"CTE exact", "on contacts_title_idx", "CTE recent", "Index Scan Backward using contacts_updated_idx",
			"CTE whole", "Bitmap Index Scan on contacts_words_idx (never executed)"}, 10},
		{"mueller", []string{"CTE recent", "contacts_updated_idx on contacts r_3 (actual rows=10 ", "CTE whole",
			"Bitmap Index Scan on contacts_words_idx (never executed)"}, 10},
		// 60 exact names, too rare to find ten among the newest 1 000: the
		// titles' B-tree and the words' GIN index.
		{"Hans Müller", []string{"CTE exact", "on contacts_title_idx (actual rows=60 ", "CTE whole",
			"Bitmap Index Scan on contacts_words_idx (actual rows=60 "}, 10},
		// Inside a phone number: the trigram index of the tenant.
		{"000 12345", []string{"Bitmap Index Scan on contacts_search_idx (actual rows=1 "}, 1},
	}
	for _, c := range cases {
		plan := explainSearch(t, e, alpha, p, c.q)
		at := 0
		for _, w := range c.want {
			i := strings.Index(plan[at:], w)
			if i < 0 {
				t.Errorf("%q: %q not in the plan (after %d):\n%s", c.q, w, at, plan)
				break
			}
			at += i + len(w)
		}
		if !strings.Contains(plan, fmt.Sprintf("Limit (actual rows=%d ", c.hits)) {
			t.Errorf("%q: want %d hits:\n%s", c.q, c.hits, plan)
		}
		// No tier reads more than the newest 1 000 rows (limit × 100) or
		// as many heap blocks.
		for _, m := range regexp.MustCompile(`(?:Rows Removed by Filter|Heap Blocks: exact)[:=] ?(\d+)`).FindAllStringSubmatch(plan, -1) {
			if n, _ := strconv.Atoi(m[1]); n > 1000 {
				t.Errorf("%q reads %s rows or blocks:\n%s", c.q, m[0], plan)
			}
		}
	}
	// The list filter q, too, reads the tenant's trigram index.
	var plan []string
	ctx := context.Background()
	err := e.DB.InTenant(ctx, alpha, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `EXPLAIN SELECT id FROM contacts WHERE tenant_id = $1 AND deleted_at IS NULL
			AND (search LIKE '%' || search_norm('Schwarzenbach') || '%' OR search_norm('Schwarzenbach') <% search)`, alpha)
		if err != nil {
			return err
		}
		plan, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if s := strings.Join(plan, "\n"); !strings.Contains(s, "Index Cond: ((tenant_id = ") || !strings.Contains(s, "contacts_search_idx") {
		t.Errorf("the list filter does not read the tenant's trigram index:\n%s", s)
	}
}
