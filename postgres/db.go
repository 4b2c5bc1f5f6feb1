// Package postgres stores RP CRM's data in PostgreSQL through pgx: the pool,
// the embedded migrations, the database roles, tenant-scoped transactions and
// the queries behind the domain services.
package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rpcrm/rpcrm"
)

// DB is the application's connection pool.
type DB struct {
	Pool *pgxpool.Pool
}

// Open connects a pool to url and checks that the server answers.
func Open(ctx context.Context, url string, maxConns int32) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database URL: %w", redact(err))
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "rpcrm"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database pool: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	return &DB{Pool: pool}, nil
}

// Close closes the pool.
func (db *DB) Close() { db.Pool.Close() }

// setTenantSQL scopes the current transaction to one tenant. is_local=true:
// the setting ends with the transaction and never leaks through the pool.
const setTenantSQL = "SELECT set_config('app.tenant_id', $1, true)"

// beginTenantSQL starts a transaction scoped to tenantID, like BEGIN and
// then setTenantSQL.
func beginTenantSQL(tenantID uuid.UUID) string {
	return "BEGIN; SELECT set_config('app.tenant_id', '" + tenantID.String() + "', true)"
}

// InTenant runs fn in a transaction scoped to tenantID and commits it when fn
// returns nil. Row-level security then shows fn only that tenant's rows.
func (db *DB) InTenant(ctx context.Context, tenantID uuid.UUID, fn func(pgx.Tx) error) error {
	if tenantID == uuid.Nil {
		return errors.New("postgres: no tenant for tenant-scoped transaction")
	}
	// BEGIN and the tenant setting travel as one simple-protocol query: one
	// round trip instead of two (a page of the web UI runs several
	// transactions). The UUID's text form is hex digits and dashes only.
	tx, err := db.Pool.BeginTx(ctx, pgx.TxOptions{BeginQuery: beginTenantSQL(tenantID)})
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit this is a no-op
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return mapError(fmt.Errorf("commit: %w", err))
	}
	return nil
}

// inTenantGet is InTenant for a transaction that produces a value: it
// returns what fn returned, with fn's error or else the commit's.
func inTenantGet[T any](ctx context.Context, db *DB, tenantID uuid.UUID, fn func(pgx.Tx) (T, error)) (T, error) {
	var out T
	err := db.InTenant(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		out, err = fn(tx)
		return err
	})
	return out, err
}

// QueryTenant runs one read-only query scoped to tenantID in a single round
// trip, like QueryTenantRow; fn reads its rows. Lists use it: a page of
// the web UI reads several of them.
func (db *DB) QueryTenant(ctx context.Context, tenantID uuid.UUID, sql string, args []any, fn func(pgx.Rows) error) error {
	return db.ReadTenant(ctx, tenantID, func(b *pgx.Batch) { b.Queue(sql, args...).Query(fn) })
}

// ReadTenant sends the read-only queries that queue adds to b, scoped to
// tenantID, in a single round trip; PostgreSQL runs the batch as one
// implicit transaction. Each query's callback reads its result.
func (db *DB) ReadTenant(ctx context.Context, tenantID uuid.UUID, queue func(b *pgx.Batch)) error {
	if tenantID == uuid.Nil {
		return errors.New("postgres: no tenant for tenant-scoped query")
	}
	b := &pgx.Batch{}
	b.Queue(setTenantSQL, tenantID.String())
	queue(b)
	return db.Pool.SendBatch(ctx, b).Close()
}

// QueryTenantRow runs one read-only query scoped to tenantID in a single round
// trip: the tenant setting and the query travel as one pipelined batch, which
// PostgreSQL runs as one implicit transaction. scan receives the row.
func (db *DB) QueryTenantRow(ctx context.Context, tenantID uuid.UUID, sql string, args []any, scan func(pgx.Row) error) error {
	var scanErr error
	err := db.ReadTenant(ctx, tenantID, func(b *pgx.Batch) {
		b.Queue(sql, args...).QueryRow(func(row pgx.Row) error {
			scanErr = scan(row)
			return nil
		})
	})
	if err != nil {
		return err
	}
	return scanErr
}

// mapError turns PostgreSQL errors that have a meaning for the user into
// *rpcrm.Error; everything else passes through unchanged.
func mapError(err error) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return err
	}
	switch pgErr.Code {
	case "23505": // unique_violation
		field := uniqueFields[pgErr.ConstraintName]
		if field == "" {
			return &rpcrm.Error{Code: rpcrm.ECONFLICT, Message: "Dieser Wert ist bereits vergeben."}
		}
		return &rpcrm.Error{Code: rpcrm.ECONFLICT, Message: "Dieser Wert ist bereits vergeben.",
			Fields: map[string]string{field: "Dieser Wert ist bereits vergeben."}}
	case "23503": // foreign_key_violation
		return &rpcrm.Error{Code: rpcrm.EINVALID, Message: "Ein verknüpfter Datensatz existiert nicht oder wird noch verwendet."}
	}
	return err
}

// uniqueFields maps unique constraints to the input field the user can fix.
var uniqueFields = map[string]string{
	"users_tenant_id_email_key": "email",
	"roles_tenant_name_key":     "name",
	"companies_uid_key":         "uid",
}

// redact keeps passwords in connection strings out of error messages.
func redact(err error) error {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		return errors.New("invalid connection string")
	}
	return err
}

// newID returns a time-ordered UUID (v7), which keeps primary-key indexes compact.
func newID() uuid.UUID {
	return uuid.Must(uuid.NewV7())
}
