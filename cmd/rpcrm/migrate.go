package main

import (
	"context"
	"fmt"

	"github.com/rpcrm/rpcrm/config"
	"github.com/rpcrm/rpcrm/postgres"
)

func runMigrate(ctx context.Context, env *environment, args []string) error {
	fs := newFlagSet(env, "migrate", "[up|status]", `up (the default) applies every pending migration, each in its own transaction,
using RPCRM_DATABASE_OWNER_URL (or DATABASE_URL), then creates the application
role named in DATABASE_URL if it is missing and grants it exactly what the
server needs. status lists every migration and whether it is applied.`)
	envFile := configFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	action := "up"
	switch fs.NArg() {
	case 0:
	case 1:
		action = fs.Arg(0)
	default:
		return usageErr("migrate: expected one of up, status")
	}
	cfg, err := loadConfig(env, *envFile, config.Options{})
	if err != nil {
		return err
	}
	switch action {
	case "up":
		applied, err := postgres.Migrate(ctx, cfg.DatabaseOwnerURL, newLogger(cfg, env.stderr))
		if err != nil {
			return err
		}
		created, err := postgres.EnsureAppRole(ctx, cfg.DatabaseOwnerURL, cfg.DatabaseURL)
		if err != nil {
			return err
		}
		if len(applied) == 0 {
			fmt.Fprintf(env.stdout, "schema is up to date (version %d)\n", postgres.LatestVersion())
		} else {
			fmt.Fprintf(env.stdout, "applied migrations %v; schema is at version %d\n", applied, postgres.LatestVersion())
		}
		if created {
			fmt.Fprintln(env.stdout, "created the application role named in DATABASE_URL")
		}
		return nil
	case "status":
		st, err := postgres.Status(ctx, cfg.DatabaseOwnerURL)
		if err != nil {
			return err
		}
		pending := 0
		for _, s := range st {
			state := "applied"
			if !s.Applied {
				state = "pending"
				pending++
			}
			fmt.Fprintf(env.stdout, "%05d  %-8s %s\n", s.Version, state, s.Name)
		}
		fmt.Fprintf(env.stdout, "%d migrations, %d pending\n", len(st), pending)
		return nil
	}
	return usageErr("migrate: unknown action %q (expected up or status)", action)
}
