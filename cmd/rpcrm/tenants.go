package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/rpcrm/rpcrm/config"
)

func runTenants(ctx context.Context, env *environment, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(env.stdout, `Usage: rpcrm tenants list|validate FILE|reload|export SLUG FILE.zip|import SLUG FILE.zip [flags]

  list           show the tenants of RPCRM_TENANTS_FILE with their hosts
  validate FILE  check a tenants file and print every problem; starts nothing
  reload         tell the running server (its pid in RPCRM_DATA_DIR/rpcrm.pid) to
                 reload tenants.json, like SIGHUP; a bad file is refused by it
  export SLUG FILE.zip
                 write all data and documents of one tenant into a new zip file
  import SLUG FILE.zip
                 fill the new, empty tenant SLUG with such an export
                 (see docs/tenant-export.md)
`)
		if len(args) == 0 {
			return usageErr("tenants: expected list, validate, reload, export or import")
		}
		return errHelpShown
	}
	switch args[0] {
	case "validate":
		fs := newFlagSet(env, "tenants validate", "FILE", "Check a tenants file without starting anything. Exit code 0 if it is valid, 2 if not.")
		if err := parseFlags(fs, args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return usageErr("tenants validate: expected exactly one FILE")
		}
		set, err := loadTenants(fs.Arg(0))
		if err != nil {
			var ee *exitError
			if errors.As(err, &ee) {
				// Print every problem, not just the first line.
				fmt.Fprintln(env.stderr, strings.TrimPrefix(ee.err.Error(), "RPCRM_TENANTS_FILE: "))
				return &exitError{code: 2, err: fmt.Errorf("%s is not valid", fs.Arg(0))}
			}
			return err
		}
		fmt.Fprintf(env.stdout, "%s: %d tenants, valid\n", fs.Arg(0), len(set.All()))
		return nil
	case "list":
		fs := newFlagSet(env, "tenants list", "", "Show the tenants of RPCRM_TENANTS_FILE.")
		envFile := configFlags(fs)
		if err := parseFlags(fs, args[1:]); err != nil {
			return err
		}
		cfg, err := loadConfig(env, *envFile, config.Options{AllowNoDatabase: true})
		if err != nil {
			return err
		}
		set, err := loadTenants(cfg.TenantsFile)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tHOSTS\tLOCALE\tCURRENCY\tACTIVE")
		for _, t := range set.All() {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%v\n", t.ID, t.Name, strings.Join(t.Hosts, ","), t.Locale, t.Currency, t.Active)
		}
		return tw.Flush()
	case "reload":
		fs := newFlagSet(env, "tenants reload", "", "Ask the running server to reload tenants.json (sends SIGHUP to the pid in RPCRM_DATA_DIR/rpcrm.pid).")
		envFile := configFlags(fs)
		if err := parseFlags(fs, args[1:]); err != nil {
			return err
		}
		cfg, err := loadConfig(env, *envFile, config.Options{AllowNoDatabase: true})
		if err != nil {
			return err
		}
		// Validate first, so the operator sees the problems here and not only in the server log.
		if _, err := loadTenants(cfg.TenantsFile); err != nil {
			return err
		}
		pidFile := filepath.Join(cfg.DataDir, "rpcrm.pid")
		data, err := os.ReadFile(pidFile)
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("no running server found (%s is missing)", pidFile)
		}
		if err != nil {
			return err
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil || pid <= 0 {
			return fmt.Errorf("%s does not hold a process id", pidFile)
		}
		if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
			return fmt.Errorf("signal server (pid %d): %w", pid, err)
		}
		fmt.Fprintf(env.stdout, "asked rpcrm (pid %d) to reload %s; its log says whether it took the file\n", pid, cfg.TenantsFile)
		return nil
	case "export":
		return runTenantsExport(ctx, env, args[1:])
	case "import":
		return runTenantsImport(ctx, env, args[1:])
	}
	return usageErr("tenants: unknown action %q (expected list, validate, reload, export or import)", args[0])
}
