package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/rpcrm/rpcrm/config"
	"github.com/rpcrm/rpcrm/postgres"
	"github.com/rpcrm/rpcrm/tenant"
)

// seedWorkers is the number of parallel transactions per table.
const seedWorkers = 4

// errSeedProd is the refusal in production, as one line.
var errSeedProd = errors.New("seed refuses to run in prod: demo data does not belong into a production database")

func runSeed(ctx context.Context, env *environment, args []string) error {
	fs := newFlagSet(env, "seed", "", `Fill a tenant with invented, deterministic Swiss demo data: contacts in real
towns, companies (one per five contacts) with valid UIDs, deals (one per two
contacts) across the stages of the tenant's first pipeline, and activities
(three per contact), owned by and assigned to the tenant's users (it needs at
least one). A tenant that already has contacts is refused unless --force.
Refuses to run with RPCRM_ENV=prod (the default): set RPCRM_ENV=dev or test.`)
	envFile := configFlags(fs)
	tenantID := fs.String("tenant", "", "tenant id (slug) from tenants.json")
	contacts := fs.Int("contacts", 200, "number of contacts")
	seed := fs.Uint64("seed", 1, "random seed: the same seed gives the same data")
	force := fs.Bool("force", false, "add demo data to a tenant that already has contacts")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("seed: unexpected argument %q", fs.Arg(0))
	}
	// Before anything else, so that not even a configuration problem gets
	// in the way of a clear refusal.
	lookup := env.lookup
	if lookup == nil {
		lookup = os.LookupEnv
	}
	if v, ok := lookup("RPCRM_ENV"); ok && v == string(config.EnvProd) {
		return &exitError{code: 2, err: errSeedProd}
	}
	if *tenantID == "" {
		return usageErr("seed: --tenant is required (a tenant id from tenants.json)")
	}
	if *contacts < 1 {
		return usageErr("seed: --contacts must be at least 1")
	}
	cfg, err := loadConfig(env, *envFile, config.Options{})
	if err != nil {
		return err
	}
	if cfg.Env == config.EnvProd { // from the env file, or by default
		return &exitError{code: 2, err: errSeedProd}
	}
	set, err := loadTenants(cfg.TenantsFile)
	if err != nil {
		return err
	}
	t, ok := set.ByID(*tenantID)
	if !ok {
		return usageErr("seed: --tenant: no tenant %q in %s", *tenantID, cfg.TenantsFile)
	}
	// One connection holds the seed lock, the others insert in parallel.
	db, err := postgres.Open(ctx, cfg.DatabaseURL, seedWorkers+1)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.CheckSchema(ctx); err != nil {
		return err
	}
	// A new tenant needs its row (and default pipeline) first.
	if err := db.SyncTenants(ctx, tenantRows(set)); err != nil {
		return err
	}
	who := operatorName()
	start := time.Now()
	n, err := seedTenant(ctx, db, t, who, postgres.SeedOptions{Contacts: *contacts, Seed: *seed, Force: *force,
		Workers: seedWorkers})
	if errors.Is(err, postgres.ErrSeedNotEmpty) {
		return fmt.Errorf("seed: tenant %s already has contacts; --force adds the demo data anyway", t.ID)
	}
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	fmt.Fprintf(env.stdout, "seeded tenant %s in %s: %d companies, %d contacts, %d deals, %d activities\n",
		t.ID, time.Since(start).Round(time.Millisecond), n.Companies, n.Contacts, n.Deals, n.Activities)
	return nil
}

// seedTenant seeds one tenant as the operator named who.
func seedTenant(ctx context.Context, db *postgres.DB, t *tenant.Tenant, who string, o postgres.SeedOptions) (postgres.SeedCounts, error) {
	svc := &postgres.CRMService{DB: db}
	return svc.Seed(ctx, systemPrincipal(t, who), o)
}

// seedDemoTenants gives every tenant without contacts demo data, so that
// `rpcrm dev` shows a populated CRM from the first start.
func seedDemoTenants(ctx context.Context, db *postgres.DB, tenants []*tenant.Tenant) error {
	for _, t := range tenants {
		_, err := seedTenant(ctx, db, t, "rpcrm dev", postgres.SeedOptions{Contacts: 200, Seed: 1, Workers: 2})
		if err != nil && !errors.Is(err, postgres.ErrSeedNotEmpty) {
			return fmt.Errorf("demo data for %s: %w", t.ID, err)
		}
	}
	return nil
}
