package postgres_test

import (
	"context"
	"slices"
	"sort"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/rpcrm/rpcrm/internal/testfix"
	"github.com/rpcrm/rpcrm/postgres"
)

// Every table with a tenant_id column is either exported with a tenant
// (postgres.TenantTables) or named, with its reason, as left out: a new
// tenant table that is in neither list fails here until someone decides.
// The export order must let an import insert table after table: every
// foreign key between tenant tables points to a table listed earlier.
func TestTenantTablesCoverTheSchema(t *testing.T) {
	e := testfix.New(t)
	conn := ownerConn(t, e)
	ctx := context.Background()
	rows, err := conn.Query(ctx, `SELECT c.table_name::text FROM information_schema.columns c
		JOIN information_schema.tables t USING (table_schema, table_name)
		WHERE c.table_schema = 'public' AND c.column_name = 'tenant_id' AND t.table_type = 'BASE TABLE'
		ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	inSchema, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	known := slices.Clone(postgres.TenantTables)
	for table, reason := range postgres.TenantTablesNotExported {
		if reason == "" {
			t.Errorf("%s is left out of tenant exports without a reason", table)
		}
		if slices.Contains(postgres.TenantTables, table) {
			t.Errorf("%s is both exported and left out", table)
		}
		known = append(known, table)
	}
	sort.Strings(known)
	for _, table := range inSchema {
		if !slices.Contains(known, table) {
			t.Errorf("table %s has a tenant_id but is neither in postgres.TenantTables (exported with a tenant) "+
				"nor in postgres.TenantTablesNotExported: add it to one of them (and to docs/tenant-export.md)", table)
		}
	}
	for _, table := range known {
		if !slices.Contains(inSchema, table) {
			t.Errorf("%s is listed as a tenant table but the schema has no such table with a tenant_id", table)
		}
	}

	rows, err = conn.Query(ctx, `SELECT c.conrelid::regclass::text, c.confrelid::regclass::text
		FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
		WHERE c.contype = 'f' AND n.nspname = 'public'`)
	if err != nil {
		t.Fatal(err)
	}
	type fk struct{ From, To string }
	fks, err := pgx.CollectRows(rows, pgx.RowToStructByPos[fk])
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range fks {
		from, to := slices.Index(postgres.TenantTables, k.From), slices.Index(postgres.TenantTables, k.To)
		if from < 0 || k.To == "tenants" {
			continue
		}
		if to < 0 {
			t.Errorf("exported table %s refers to %s, which is not exported", k.From, k.To)
		} else if to > from {
			t.Errorf("postgres.TenantTables lists %s before %s, which it refers to: an import could not insert it", k.From, k.To)
		}
	}
}
