package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"

	"github.com/rpcrm/rpcrm"
	"github.com/rpcrm/rpcrm/auth"
	"github.com/rpcrm/rpcrm/config"
	"github.com/rpcrm/rpcrm/postgres"
	"github.com/rpcrm/rpcrm/tenant"
)

const usersUsage = `Usage: rpcrm users ACTION --tenant ID [flags]

  create        --tenant ID --email EMAIL --name NAME --role ROLE[,ROLE]
                reads the password from standard input (never from a flag)
  list          --tenant ID
  disable       --tenant ID --email EMAIL   (ends all their sessions)
  enable        --tenant ID --email EMAIL
  set-password  --tenant ID --email EMAIL   (password from standard input; ends all sessions)

Roles: admin (Administrator), manager (Manager), sales (Vertrieb),
readonly (Lesezugriff), or the name of a custom role.
`

// usersCmd is what every users action needs: the tenant and the service.
type usersCmd struct {
	tenant *tenant.Tenant
	svc    *postgres.AuthService
	who    *auth.Principal
	close  func()
}

func openUsersCmd(ctx context.Context, env *environment, envFile, tenantID string) (*usersCmd, error) {
	if tenantID == "" {
		return nil, usageErr("--tenant is required (a tenant id from tenants.json)")
	}
	cfg, err := loadConfig(env, envFile, config.Options{})
	if err != nil {
		return nil, err
	}
	set, err := loadTenants(cfg.TenantsFile)
	if err != nil {
		return nil, err
	}
	t, ok := set.ByID(tenantID)
	if !ok {
		return nil, usageErr("--tenant: no tenant %q in %s", tenantID, cfg.TenantsFile)
	}
	db, err := postgres.Open(ctx, cfg.DatabaseURL, 2)
	if err != nil {
		return nil, err
	}
	if err := db.CheckSchema(ctx); err != nil {
		db.Close()
		return nil, err
	}
	// The tenant may be new: give it its rows before anything refers to them.
	if err := db.SyncTenants(ctx, tenantRows(set)); err != nil {
		db.Close()
		return nil, err
	}
	who := operatorName()
	return &usersCmd{tenant: t, svc: &postgres.AuthService{DB: db}, who: systemPrincipal(t, who), close: db.Close}, nil
}

func runUsers(ctx context.Context, env *environment, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(env.stdout, usersUsage)
		if len(args) == 0 {
			return usageErr("users: expected create, list, disable, enable or set-password")
		}
		return errHelpShown
	}
	action := args[0]
	var descr string
	switch action {
	case "create":
		descr = "Create a user. The password is read from standard input: typed twice at a terminal, or the first line of a pipe."
	case "list":
		descr = "List the users of a tenant."
	case "disable", "enable":
		descr = "Disable (or enable again) a user; disabling ends all their sessions at once."
	case "set-password":
		descr = "Set a user's password, read from standard input; ends all their sessions."
	default:
		return usageErr("users: unknown action %q (expected create, list, disable, enable or set-password)", action)
	}
	fs := newFlagSet(env, "users "+action, "", descr)
	envFile := configFlags(fs)
	tenantID := fs.String("tenant", "", "tenant id (slug) from tenants.json")
	var email, name, roles *string
	if action != "list" {
		email = fs.String("email", "", "the user's e-mail address")
	}
	if action == "create" {
		name = fs.String("name", "", "the user's full name")
		roles = fs.String("role", "", "role key or name; several separated by commas")
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("users %s: unexpected argument %q", action, fs.Arg(0))
	}
	if err := requireFlags(fs, action); err != nil {
		return err
	}
	var password string
	if action == "create" || action == "set-password" {
		pw, err := readPassword(env)
		if err != nil {
			return err
		}
		password = pw
	}
	c, err := openUsersCmd(ctx, env, *envFile, *tenantID)
	if err != nil {
		return err
	}
	defer c.close()
	m := auth.LoginMeta{}

	switch action {
	case "create":
		var keys []string
		for _, k := range strings.Split(*roles, ",") {
			if k = strings.TrimSpace(k); k != "" {
				keys = append(keys, k)
			}
		}
		u, err := c.svc.CreateUser(ctx, c.who, auth.NewUser{Email: *email, Name: *name, Password: password, RoleKeys: keys}, m)
		if err != nil {
			return fieldErrors(err)
		}
		fmt.Fprintf(env.stdout, "created user %s (%s) in tenant %s\n", u.Email, u.ID, c.tenant.ID)
	case "list":
		users, err := c.svc.ListUsers(ctx, c.who)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "EMAIL\tNAME\tROLES\tSTATUS\tLAST LOGIN")
		for _, u := range users {
			var rs []string
			for _, r := range u.Roles {
				rs = append(rs, r.Name)
			}
			sort.Strings(rs)
			status, last := "active", "-"
			if u.Disabled {
				status = "disabled"
			}
			if u.LastLoginAt != nil {
				last = u.LastLoginAt.In(c.tenant.Location()).Format("02.01.2006 15:04")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Email, u.Name, strings.Join(rs, ","), status, last)
		}
		return tw.Flush()
	case "disable", "enable":
		u, err := c.svc.UserByEmail(ctx, c.who, *email)
		if err != nil {
			return err
		}
		disabled := action == "disable"
		if _, err := c.svc.UpdateUser(ctx, c.who, u.ID, auth.UserPatch{Disabled: &disabled}, m); err != nil {
			return fieldErrors(err)
		}
		fmt.Fprintf(env.stdout, "%sd user %s\n", action, u.Email)
	case "set-password":
		u, err := c.svc.UserByEmail(ctx, c.who, *email)
		if err != nil {
			return err
		}
		if err := c.svc.SetPassword(ctx, c.who, u.ID, password, m); err != nil {
			return fieldErrors(err)
		}
		fmt.Fprintf(env.stdout, "password of %s changed; their sessions have ended\n", u.Email)
	}
	return nil
}

func requireFlags(fs *flag.FlagSet, action string) error {
	required := map[string][]string{
		"create":       {"tenant", "email", "name", "role"},
		"list":         {"tenant"},
		"disable":      {"tenant", "email"},
		"enable":       {"tenant", "email"},
		"set-password": {"tenant", "email"},
	}[action]
	for _, name := range required {
		if f := fs.Lookup(name); f != nil && strings.TrimSpace(f.Value.String()) == "" {
			return usageErr("users %s: --%s is required", action, name)
		}
	}
	return nil
}

// readPassword reads a password from standard input: hidden and asked twice
// at a terminal, the first line otherwise.
func readPassword(env *environment) (string, error) {
	if f, ok := env.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(env.stderr, "Passwort: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(env.stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprint(env.stderr, "Passwort wiederholen: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(env.stderr)
		if err != nil {
			return "", err
		}
		if string(a) != string(b) {
			return "", usageErr("the two passwords differ")
		}
		return string(a), nil
	}
	line, err := bufio.NewReader(env.stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", usageErr("no password on standard input (e.g. printf '%%s\\n' \"$PW\" | rpcrm users ...)")
	}
	return line, nil
}

// fieldErrors turns validation errors into one readable line.
func fieldErrors(err error) error {
	var e *rpcrm.Error
	if !errors.As(err, &e) || len(e.Fields) == 0 {
		return err
	}
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+": "+e.Fields[k])
	}
	return errors.New(strings.Join(parts, "; "))
}
