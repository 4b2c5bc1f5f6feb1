package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rpcrm/rpcrm/internal/testfix"
	"github.com/rpcrm/rpcrm/postgres"
)

// Seed works with any pool: parallel workers, and a pool of one connection
// (no connection to spare for the seed lock) must not deadlock. The tenant
// check comes first: a refused run writes nothing.
func TestSeedPools(t *testing.T) {
	t.Parallel()
	env := testfix.New(t)
	ctx := context.Background()
	svc := &postgres.CRMService{DB: env.DB}
	env.CreateUser(t, "alpha", "a@alpha.ch", "admin")
	env.CreateUser(t, "beta", "b@beta.ch", "admin")

	n, err := svc.Seed(ctx, env.System(t, "alpha"), postgres.SeedOptions{Contacts: 30, Seed: 7, Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	if want := (postgres.SeedCounts{Companies: 6, Contacts: 30, Deals: 15, Activities: 90}); n != want {
		t.Errorf("counts %+v, want %+v", n, want)
	}
	if _, err := svc.Seed(ctx, env.System(t, "alpha"), postgres.SeedOptions{Contacts: 5}); !errors.Is(err, postgres.ErrSeedNotEmpty) {
		t.Errorf("second seed: %v, want ErrSeedNotEmpty", err)
	}

	one, err := postgres.Open(ctx, env.AppURL, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer one.Close()
	done := make(chan error, 1)
	go func() {
		_, err := (&postgres.CRMService{DB: one}).Seed(ctx, env.System(t, "beta"), postgres.SeedOptions{Contacts: 12, Seed: 7, Workers: 4})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("seed with a pool of one connection: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("seed with a pool of one connection hangs")
	}
	var contacts int
	if err := env.DB.InTenant(ctx, env.Tenant(t, "beta").UUID(), func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, "SELECT count(*) FROM contacts").Scan(&contacts)
	}); err != nil {
		t.Fatal(err)
	}
	if contacts != 12 {
		t.Errorf("beta has %d contacts, want 12", contacts)
	}
}
