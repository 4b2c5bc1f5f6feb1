package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// versionTable is where goose records the applied migrations.
const versionTable = "goose_db_version"

func migrationsFS() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the embedded directory always exists
	}
	return sub
}

// provider opens a goose provider on a fresh single-connection database handle.
func provider(ctx context.Context, url string, log *slog.Logger) (*goose.Provider, *sql.DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, nil, fmt.Errorf("parse owner database URL: %w", redact(err))
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(2)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("connect to database as owner: %w", err)
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	opts := []goose.ProviderOption{goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true)}
	if log != nil {
		opts = append(opts, goose.WithSlog(log))
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrationsFS(), opts...)
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("load migrations: %w", err)
	}
	return p, db, nil
}

// Migrate applies every pending migration, each in its own transaction, using
// the owner connection ownerURL. It returns the versions it applied.
func Migrate(ctx context.Context, ownerURL string, log *slog.Logger) ([]int64, error) {
	p, db, err := provider(ctx, ownerURL, log)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	current, err := p.GetDBVersion(ctx)
	if err == nil && current > LatestVersion() {
		return nil, fmt.Errorf("database schema version %d is newer than this binary knows (%d): install the newer rpcrm", current, LatestVersion())
	}
	results, err := p.Up(ctx)
	var applied []int64
	for _, r := range results {
		if r.Error == nil {
			applied = append(applied, r.Source.Version)
		}
	}
	if err != nil && !errors.Is(err, goose.ErrNoNextVersion) {
		return applied, fmt.Errorf("migrate: %w", err)
	}
	if err := markSearchLeakproof(ctx, db, log); err != nil {
		return applied, err
	}
	return applied, nil
}

// leakproofStatements let the trigram indexes serve searches under row-level
// security. PostgreSQL only evaluates a condition inside an index scan,
// before the policy's own condition, when its function is LEAKPROOF: it
// cannot reveal anything about rows the policy would hide. LIKE and
// pg_trgm's word similarity qualify in our use (they raise no errors that
// depend on the row's data), but only a superuser may say so. lower() is
// the same case for the indexes on lower(name) that serve sorted lists: a
// list page after a cursor ((lower(last_name), lower(first_name), id) > …)
// starts in the index only if lower() is LEAKPROOF; otherwise page 500
// reads the 24 950 rows before it. ts_match_vq is the text search's @@
// (tsvector @@ tsquery), with which the search finds whole words and word
// starts in the GIN index of search_words: it compares lexemes and raises no
// error that depends on them.
var leakproofStatements = []string{
	"ALTER FUNCTION pg_catalog.textlike(text, text) LEAKPROOF",
	"ALTER FUNCTION word_similarity_op(text, text) LEAKPROOF",
	"ALTER FUNCTION word_similarity_commutator_op(text, text) LEAKPROOF",
	"ALTER FUNCTION pg_catalog.lower(text) LEAKPROOF",
	"ALTER FUNCTION pg_catalog.ts_match_vq(tsvector, tsquery) LEAKPROOF",
}

// markSearchLeakproof applies leakproofStatements when the owner connection
// is a superuser, and otherwise warns that searches will scan whole tenants.
func markSearchLeakproof(ctx context.Context, db *sql.DB, log *slog.Logger) error {
	var super, done bool
	err := db.QueryRowContext(ctx, `SELECT r.rolsuper,
		(SELECT bool_and(proleakproof) FROM pg_proc WHERE oid IN ('pg_catalog.textlike(text,text)'::regprocedure,
			'word_similarity_op(text,text)'::regprocedure, 'word_similarity_commutator_op(text,text)'::regprocedure,
			'pg_catalog.lower(text)'::regprocedure, 'pg_catalog.ts_match_vq(tsvector,tsquery)'::regprocedure))
		FROM pg_roles r WHERE r.rolname = current_user`).Scan(&super, &done)
	if err != nil {
		return fmt.Errorf("inspect search functions: %w", err)
	}
	if done {
		return nil
	}
	if !super {
		if log != nil {
			log.Warn("search cannot use its indexes under row-level security until a superuser runs: "+
				strings.Join(leakproofStatements, "; ")+" (see docs/configuration.md)", "database", "owner connection")
		}
		return nil
	}
	for _, stmt := range leakproofStatements {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
	}
	return nil
}

// MigrationStatus is one migration and whether it is applied.
type MigrationStatus struct {
	Version int64
	Name    string
	Applied bool
}

// Status lists every known migration with its state, using the owner connection.
func Status(ctx context.Context, ownerURL string) ([]MigrationStatus, error) {
	p, db, err := provider(ctx, ownerURL, nil)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	st, err := p.Status(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]MigrationStatus, 0, len(st))
	for _, s := range st {
		out = append(out, MigrationStatus{Version: s.Source.Version, Name: s.Source.Path, Applied: s.State == goose.StateApplied})
	}
	return out, nil
}

// LatestVersion is the newest migration embedded in this binary.
func LatestVersion() int64 {
	files, err := fs.Glob(migrationsFS(), "*.sql")
	if err != nil || len(files) == 0 {
		panic("postgres: no embedded migrations")
	}
	var latest int64
	for _, f := range files {
		v, err := goose.NumericComponent(f)
		if err != nil {
			panic(fmt.Sprintf("postgres: bad migration name %s: %v", f, err))
		}
		latest = max(latest, v)
	}
	return latest
}

// schemaVersionSQL reads the newest applied migration (NULL if none).
const schemaVersionSQL = "SELECT max(version_id) FROM " + versionTable + " WHERE is_applied AND version_id > 0"

// SchemaVersion returns the newest applied migration (0 if none).
func (db *DB) SchemaVersion(ctx context.Context) (int64, error) {
	var v *int64
	err := db.Pool.QueryRow(ctx, schemaVersionSQL).Scan(&v)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P01" { // undefined_table
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	if v == nil {
		return 0, nil
	}
	return *v, nil
}

// CheckSchema returns an error unless the database schema is exactly the one
// this binary was built for: the server refuses to run on a schema it does not know.
func (db *DB) CheckSchema(ctx context.Context) error {
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	latest := LatestVersion()
	switch {
	case v < latest:
		return fmt.Errorf("database schema version %d, this binary needs %d: run `rpcrm migrate`", v, latest)
	case v > latest:
		return fmt.Errorf("database schema version %d is newer than this binary knows (%d): install the newer rpcrm", v, latest)
	}
	return nil
}
