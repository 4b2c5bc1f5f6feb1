package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rpcrm/rpcrm/audit"
	"github.com/rpcrm/rpcrm/auth"
)

// TenantTables are the tenant-owned tables that a tenant export carries
// (package tenantexport), in an order in which every foreign key points to
// a table listed earlier, so that an import can fill them one after the
// other. A new table with a tenant_id column belongs either here or in
// TenantTablesNotExported; a test compares both with the schema.
var TenantTables = []string{
	"tenant_profiles", "users", "roles", "role_permissions", "user_roles", "audit_log",
	"tags", "custom_fields", "companies", "contacts", "pipelines", "stages",
	"deals", "activities", "documents",
}

// TenantTablesNotExported are the tenant-owned tables an export leaves out,
// each with the reason.
var TenantTablesNotExported = map[string]string{
	"sessions":       "logins on devices: after a move everybody logs in again",
	"refresh_tokens": "belong to the sessions; a token must never work anywhere else",
	"user_tokens":    "one-time invitation and reset links: they must never work anywhere else",
}

// IsTenantTable reports whether name is one of TenantTables.
func IsTenantTable(name string) bool { return slices.Contains(TenantTables, name) }

// TenantSnapshot reads the rows of one tenant as of one moment: every read
// runs in the same repeatable-read transaction.
type TenantSnapshot struct {
	tx       pgx.Tx
	tenantID uuid.UUID
}

// SnapshotTenant runs fn in a read-only, repeatable-read transaction scoped
// to tenantID, so that all tables are read consistently while the tenant
// keeps working. Every query also filters by tenant explicitly: an owner
// that is a superuser is not held back by row-level security.
func (db *DB) SnapshotTenant(ctx context.Context, tenantID uuid.UUID, fn func(*TenantSnapshot) error) error {
	if tenantID == uuid.Nil {
		return errors.New("postgres: no tenant for tenant snapshot")
	}
	tx, err := db.Pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit this is a no-op
	if _, err := tx.Exec(ctx, setTenantSQL, tenantID.String()); err != nil {
		return fmt.Errorf("set tenant: %w", err)
	}
	if err := fn(&TenantSnapshot{tx: tx, tenantID: tenantID}); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// Tenant returns the tenant's own record.
func (s *TenantSnapshot) Tenant(ctx context.Context) (TenantRow, error) {
	t := TenantRow{ID: s.tenantID}
	err := s.tx.QueryRow(ctx, `SELECT slug, name, active FROM tenants WHERE id = $1`, s.tenantID).
		Scan(&t.Slug, &t.Name, &t.Active)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, fmt.Errorf("%w (key %s)", ErrNoTenant, s.tenantID)
	}
	return t, err
}

// ErrNoTenant means that the database has no record of the tenant.
var ErrNoTenant = errors.New("the tenant is not in the database")

// SchemaVersion is the database's schema version as the snapshot sees it.
func (s *TenantSnapshot) SchemaVersion(ctx context.Context) (int64, error) {
	var v *int64
	if err := s.tx.QueryRow(ctx, schemaVersionSQL).Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	if v == nil {
		return 0, nil
	}
	return *v, nil
}

// Columns lists the columns of a tenant table that an export carries: all
// but tenant_id (the importer sets its own) and generated ones.
func (s *TenantSnapshot) Columns(ctx context.Context, table string) ([]string, error) {
	return dataColumns(ctx, s.tx, table)
}

// Rows calls fn with each of the tenant's rows of table as one JSON object
// with the keys of Columns (no tenant_id, no generated columns). Rows are
// streamed in no particular order: fn must not keep the slice. It returns
// the number of rows.
func (s *TenantSnapshot) Rows(ctx context.Context, table string, fn func(row []byte) error) (int64, error) {
	if !IsTenantTable(table) {
		return 0, fmt.Errorf("postgres: %s is not an exported tenant table", table)
	}
	cols, err := dataColumns(ctx, s.tx, table)
	if err != nil {
		return 0, err
	}
	for i, c := range cols {
		cols[i] = pgx.Identifier{c}.Sanitize()
	}
	// row_to_json over the chosen columns costs half of what to_jsonb of
	// the whole row with keys removed does.
	rows, err := s.tx.Query(ctx, "SELECT row_to_json(r)::text FROM (SELECT "+strings.Join(cols, ", ")+" FROM "+
		pgx.Identifier{table}.Sanitize()+" WHERE tenant_id = $1) r", s.tenantID)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", table, err)
	}
	defer rows.Close()
	var n int64
	for rows.Next() {
		if err := fn(rows.RawValues()[0]); err != nil {
			return n, err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("read %s: %w", table, err)
	}
	return n, nil
}

// DocumentFile is what the database records about a document's content.
type DocumentFile struct {
	ID     uuid.UUID
	Size   int64
	SHA256 string
}

// Documents calls fn for every document of the tenant, live or in the
// trash, in ID order.
func (s *TenantSnapshot) Documents(ctx context.Context, fn func(DocumentFile) error) error {
	rows, err := s.tx.Query(ctx, `SELECT id, size, sha256 FROM documents WHERE tenant_id = $1 ORDER BY id`, s.tenantID)
	if err != nil {
		return err
	}
	defer rows.Close()
	var d DocumentFile
	for rows.Next() {
		if err := rows.Scan(&d.ID, &d.Size, &d.SHA256); err != nil {
			return err
		}
		if err := fn(d); err != nil {
			return err
		}
	}
	return rows.Err()
}

// dataColumns lists the columns of table without tenant_id and generated
// columns, in table order.
func dataColumns(ctx context.Context, tx pgx.Tx, table string) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT attname::text FROM pg_attribute
		WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = '' AND attname <> 'tenant_id'
		ORDER BY attnum`, pgx.Identifier{"public", table}.Sanitize())
	if err != nil {
		return nil, fmt.Errorf("columns of %s: %w", table, err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// NotEmptyError refuses an import into a tenant that already holds data.
type NotEmptyError struct {
	Counts []TableCount // the tables that have rows
}

// TableCount is a number of rows in one table.
type TableCount struct {
	Table string
	Rows  int64
}

func (e *NotEmptyError) Error() string {
	parts := make([]string, 0, len(e.Counts))
	for _, c := range e.Counts {
		parts = append(parts, fmt.Sprintf("%d %s", c.Rows, c.Table))
	}
	return "the tenant is not empty (" + strings.Join(parts, ", ") + ")"
}

// replacedOnImport are the rows every tenant gets when it is created (the
// built-in roles with their grants, the default pipeline with its stages):
// an import replaces them by the exported ones, so they do not make a
// tenant count as not empty. Custom roles do.
var replacedOnImport = []string{"role_permissions", "roles", "stages", "pipelines"}

// emptinessCounts counts the rows that make a tenant not empty.
func emptinessCounts(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID) ([]TableCount, error) {
	var parts []string
	for _, t := range TenantTables {
		switch {
		case t == "roles":
			parts = append(parts, `SELECT 'custom roles', count(*) FROM roles WHERE tenant_id = $1 AND key IS NULL`)
		case slices.Contains(replacedOnImport, t):
		default:
			parts = append(parts, fmt.Sprintf(`SELECT '%s', count(*) FROM %s WHERE tenant_id = $1`, t, pgx.Identifier{t}.Sanitize()))
		}
	}
	rows, err := tx.Query(ctx, strings.Join(parts, " UNION ALL "), tenantID)
	if err != nil {
		return nil, err
	}
	all, err := pgx.CollectRows(rows, pgx.RowToStructByPos[TableCount])
	if err != nil {
		return nil, err
	}
	var out []TableCount
	for _, c := range all {
		if c.Rows > 0 {
			out = append(out, c)
		}
	}
	return out, nil
}

// CheckTenantEmpty returns a *NotEmptyError if the tenant has any users,
// records, custom roles or audit entries.
func (db *DB) CheckTenantEmpty(ctx context.Context, tenantID uuid.UUID) error {
	return db.InTenant(ctx, tenantID, func(tx pgx.Tx) error {
		counts, err := emptinessCounts(ctx, tx, tenantID)
		if err != nil {
			return err
		}
		if len(counts) > 0 {
			return &NotEmptyError{Counts: counts}
		}
		return nil
	})
}

// TenantWriter fills an empty tenant inside one transaction.
type TenantWriter struct {
	tx       pgx.Tx
	tenantID uuid.UUID
}

// FillEmptyTenant runs fn in one transaction scoped to tenantID, after
// making sure the tenant is empty (a *NotEmptyError otherwise) and removing
// the rows every new tenant gets (see replacedOnImport). Afterwards the
// built-in roles get this binary's grants again, the tenant gets a default
// pipeline if the import brought none, and entry is written to the audit
// log. Nothing is kept unless all of it succeeds.
func (db *DB) FillEmptyTenant(ctx context.Context, tenantID uuid.UUID, entry audit.Entry, fn func(*TenantWriter) error) error {
	return db.InTenant(ctx, tenantID, func(tx pgx.Tx) error {
		// Two imports into the same tenant wait for each other; the second
		// then finds the tenant not empty.
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM tenants WHERE id = $1 FOR UPDATE`, tenantID).Scan(&one); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("%w (key %s)", ErrNoTenant, tenantID)
			}
			return err
		}
		counts, err := emptinessCounts(ctx, tx, tenantID)
		if err != nil {
			return err
		}
		if len(counts) > 0 {
			return &NotEmptyError{Counts: counts}
		}
		for _, t := range replacedOnImport {
			if _, err := tx.Exec(ctx, "DELETE FROM "+pgx.Identifier{t}.Sanitize()+" WHERE tenant_id = $1", tenantID); err != nil {
				return fmt.Errorf("clear %s: %w", t, err)
			}
		}
		if err := fn(&TenantWriter{tx: tx, tenantID: tenantID}); err != nil {
			return err
		}
		for _, br := range auth.BuiltinRoles() {
			if err := syncBuiltinRole(ctx, tx, tenantID, br); err != nil {
				return err
			}
		}
		if err := ensureDefaultPipeline(ctx, tx, tenantID); err != nil {
			return err
		}
		return writeAudit(ctx, tx, tenantID, entry)
	})
}

// Columns lists the columns of table that an import fills from the export
// (as TenantSnapshot.Columns does on the exporting side).
func (w *TenantWriter) Columns(ctx context.Context, table string) ([]string, error) {
	return dataColumns(ctx, w.tx, table)
}

// Insert batch limits: enough rows per statement to make round trips cheap,
// few enough to keep memory small.
const (
	insertBatchRows  = 1000
	insertBatchBytes = 4 << 20
)

// Insert adds the rows to table, each a JSON object with the given columns
// (what TenantSnapshot.Rows produced), with tenant_id set to the writer's
// tenant. It returns the number of rows inserted.
func (w *TenantWriter) Insert(ctx context.Context, table string, columns []string, rows iter.Seq2[[]byte, error]) (int64, error) {
	if !IsTenantTable(table) {
		return 0, fmt.Errorf("postgres: %s is not an exported tenant table", table)
	}
	if len(columns) == 0 {
		return 0, fmt.Errorf("postgres: no columns for %s", table)
	}
	ident := pgx.Identifier{table}.Sanitize()
	cols := make([]string, len(columns))
	sel := make([]string, len(columns))
	for i, c := range columns {
		cols[i] = pgx.Identifier{c}.Sanitize()
		sel[i] = "r." + cols[i]
	}
	// jsonb_populate_recordset turns each object into a row of the table's
	// own type, so every value is parsed exactly as the column expects.
	sql := "INSERT INTO " + ident + " (tenant_id, " + strings.Join(cols, ", ") + ") SELECT $1, " +
		strings.Join(sel, ", ") + " FROM jsonb_populate_recordset(NULL::" + ident + ", $2::text::jsonb) r"
	var (
		batch bytes.Buffer
		n     int
		total int64
	)
	flush := func() error {
		if n == 0 {
			return nil
		}
		batch.WriteByte(']')
		tag, err := w.tx.Exec(ctx, sql, w.tenantID, batch.String())
		if err != nil {
			return fmt.Errorf("insert into %s (rows %d–%d): %w", table, total+1, total+int64(n), err)
		}
		if tag.RowsAffected() != int64(n) {
			return fmt.Errorf("insert into %s: %d of %d rows inserted", table, tag.RowsAffected(), n)
		}
		total += int64(n)
		batch.Reset()
		n = 0
		return nil
	}
	for row, err := range rows {
		if err != nil {
			return total, err
		}
		if n == 0 {
			batch.WriteByte('[')
		} else {
			batch.WriteByte(',')
		}
		batch.Write(row)
		n++
		if n >= insertBatchRows || batch.Len() >= insertBatchBytes {
			if err := flush(); err != nil {
				return total, err
			}
		}
	}
	return total, flush()
}
