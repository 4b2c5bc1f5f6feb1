package postgres_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/rpcrm/rpcrm/internal/testfix"
	"github.com/rpcrm/rpcrm/pgtest"
	"github.com/rpcrm/rpcrm/postgres"
)

// migrationFiles reads the migration versions from the source directory.
func migrationFiles(t *testing.T) (versions []int64, latest int64) {
	t.Helper()
	entries, err := os.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		if !ok {
			t.Fatalf("migration %s has no version prefix", e.Name())
		}
		v, err := strconv.ParseInt(num, 10, 64)
		if err != nil {
			t.Fatalf("migration %s: %v", e.Name(), err)
		}
		versions = append(versions, v)
		latest = max(latest, v)
	}
	if len(versions) == 0 {
		t.Fatal("no migrations")
	}
	return versions, latest
}

func TestMigrations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	versions, latest := migrationFiles(t)

	if got := postgres.LatestVersion(); got != latest {
		t.Errorf("LatestVersion() = %d, highest migration file is %d", got, latest)
	}

	t.Run("fresh database", func(t *testing.T) {
		url := pgtest.NewDatabase(t)
		db, err := postgres.Open(ctx, url, 2)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if v, err := db.SchemaVersion(ctx); err != nil || v != 0 {
			t.Errorf("SchemaVersion of an empty database = %d, %v", v, err)
		}
		if err := db.CheckSchema(ctx); err == nil || !strings.Contains(err.Error(), "rpcrm migrate") {
			t.Errorf("CheckSchema on an empty database = %v, want a hint to run `rpcrm migrate`", err)
		}
		applied, err := postgres.Migrate(ctx, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(applied) != len(versions) || applied[len(applied)-1] != latest {
			t.Errorf("Migrate applied %v, want %d versions up to %d", applied, len(versions), latest)
		}
		if err := db.CheckSchema(ctx); err != nil {
			t.Errorf("CheckSchema after Migrate: %v", err)
		}
	})

	e := testfix.New(t)

	t.Run("already migrated", func(t *testing.T) {
		applied, err := postgres.Migrate(ctx, e.OwnerURL, nil)
		if err != nil || len(applied) != 0 {
			t.Errorf("Migrate on a migrated database = %v, %v; want nothing applied", applied, err)
		}
		if err := e.DB.CheckSchema(ctx); err != nil {
			t.Errorf("CheckSchema as the application role: %v", err)
		}
		if v, err := e.DB.SchemaVersion(ctx); err != nil || v != latest {
			t.Errorf("SchemaVersion = %d, %v; want %d", v, err, latest)
		}
		st, err := postgres.Status(ctx, e.OwnerURL)
		if err != nil {
			t.Fatal(err)
		}
		if len(st) != len(versions) {
			t.Errorf("Status lists %d migrations, want %d: %+v", len(st), len(versions), st)
		}
		for _, s := range st {
			if !s.Applied {
				t.Errorf("Status: migration %d (%s) not applied", s.Version, s.Name)
			}
		}
	})

	t.Run("newer schema is refused", func(t *testing.T) {
		owner := ownerConn(t, e)
		ownerExec(t, owner, "INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)", latest+1)
		err := e.DB.CheckSchema(ctx)
		if err == nil || !strings.Contains(err.Error(), "newer") {
			t.Errorf("CheckSchema with version %d = %v, want error mentioning newer", latest+1, err)
		}
		if _, err := postgres.Migrate(ctx, e.OwnerURL, nil); err == nil || !strings.Contains(err.Error(), "newer") {
			t.Errorf("Migrate with version %d = %v, want error mentioning newer", latest+1, err)
		}
	})
}
