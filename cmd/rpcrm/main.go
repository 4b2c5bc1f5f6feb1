// Command rpcrm is RP CRM: the server, its embedded development setup and
// the operator's command-line tools, in one binary.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/rpcrm/rpcrm/tenant"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// exitError carries an exit code; its message is printed as one line.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErr reports bad flags or configuration: exit code 2.
func usageErr(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}

// command is one subcommand.
type command struct {
	name, summary string
	run           func(ctx context.Context, env *environment, args []string) error
}

func commands() []command {
	return []command{
		{"serve", "start the server (API and web UI for all tenants)", runServe},
		{"dev", "start a private PostgreSQL under ./data, demo tenants and users, and the server", runDev},
		{"migrate", "apply database migrations (up) or show their state (status)", runMigrate},
		{"tenants", "list, validate or reload tenants.json; export or import one tenant", runTenants},
		{"users", "create, list, disable users or set a password", runUsers},
		{"seed", "fill a tenant with deterministic Swiss demo data (not in prod)", runSeed},
		{"version", "print the version", runVersion},
		{"backup", "back up the database and documents (daily timer), or --init-role", runBackup},
		{"restore", "restore a backup into an empty database and data directory", runRestore},
	}
}

// environment is what a command may use of the outside world; tests replace it.
type environment struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	lookup         func(string) (string, bool)
	environ        func() []string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, restore the default: a second Ctrl-C
		// during a slow shutdown ends the process at once.
		<-ctx.Done()
		stop()
	}()
	env := &environment{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}
	err := run(ctx, env, os.Args[1:])
	stop()
	if err != nil {
		code := 1
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		}
		if !errors.Is(err, errHelpShown) {
			msg := err.Error()
			// A bad tenants file lists every problem, one per line; anything
			// else is one line.
			var ve *tenant.ValidationError
			if !errors.As(err, &ve) {
				msg = oneLine(msg)
			}
			fmt.Fprintln(os.Stderr, "rpcrm: "+msg)
		} else {
			code = 0
		}
		os.Exit(code)
	}
}

// errHelpShown ends a run after -h without an error message.
var errHelpShown = errors.New("help shown")

func run(ctx context.Context, env *environment, args []string) error {
	if len(args) == 0 {
		usage(env.stderr)
		return usageErr("no command given")
	}
	name := args[0]
	switch name {
	case "help", "-h", "--help":
		if len(args) > 1 {
			for _, c := range commands() {
				if c.name == args[1] {
					return c.run(ctx, env, []string{"-h"})
				}
			}
			return usageErr("unknown command %q (see rpcrm help)", args[1])
		}
		usage(env.stdout)
		return nil
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, env, args[1:])
		}
	}
	usage(env.stderr)
	return usageErr("unknown command %q", name)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "RP CRM — multi-tenant CRM for Swiss small businesses.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: rpcrm COMMAND [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'rpcrm COMMAND -h' for the flags of a command. Configuration comes from the")
	fmt.Fprintln(w, "environment and an optional --env-file; see docs/configuration.md.")
}

func oneLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			return s[:i] + " …"
		}
	}
	return s
}

func runVersion(_ context.Context, env *environment, args []string) error {
	fs := newFlagSet(env, "version", "", "Print the version of this binary and the database schema it needs.")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "rpcrm %s (schema %d)\n", version, latestSchema())
	return nil
}
