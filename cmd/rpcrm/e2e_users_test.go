package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/rpcrm/rpcrm/auth"
)

const (
	pwAdmin = "Sonnenberg-Weg-42"
	pwSales = "Rheinfall-Brücke-17"
	pwNew   = "Lindenhof-Platz-8"
)

// `rpcrm migrate` as the operator runs it on a fresh database: owner URL for
// the schema, DATABASE_URL naming an application role that does not exist yet.
// Then the users commands work right away, before any server has run.
func TestE2EMigrateAndUsers(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true, "mandant1")
	role := regexp.MustCompile(`//([^:]+):`).FindStringSubmatch(f.app)[1]

	// Before: every migration pending.
	r := f.mustRun("", "migrate", "status")
	if !regexp.MustCompile(`(?m)^00001\s+pending\s+00001_core\.sql$`).MatchString(r.stdout) {
		t.Errorf("status before migrate should list 00001 as pending:\n%s", r.stdout)
	}

	r = f.mustRun("", "migrate")
	if !strings.Contains(r.stdout, "applied migrations [1") {
		t.Errorf("migrate should name the applied migrations:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "created the application role") {
		t.Errorf("migrate should say it created the application role:\n%s", r.stdout)
	}
	var super, bypass, exists bool
	f.ownerQueryRow("SELECT true, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1", []any{role}, &exists, &super, &bypass)
	if !exists || super || bypass {
		t.Errorf("application role %s: exists %v, superuser %v, bypassrls %v", role, exists, super, bypass)
	}

	r = f.mustRun("", "migrate", "status")
	if !regexp.MustCompile(`(?m)^00001\s+applied\s+00001_core\.sql$`).MatchString(r.stdout) ||
		!strings.Contains(r.stdout, ", 0 pending") {
		t.Errorf("status after migrate should list 00001 as applied and nothing pending:\n%s", r.stdout)
	}

	r = f.mustRun("", "migrate")
	if !strings.Contains(r.stdout, "schema is up to date") || strings.Contains(r.stdout, "created") {
		t.Errorf("second migrate should only say the schema is up to date:\n%s", r.stdout)
	}

	// users create, with the password on stdin: there is no flag for it.
	r = f.mustRun(pwAdmin+"\n", "users", "create", "--tenant", "mandant1", "--email", "a@x.ch", "--name", "A B", "--role", "admin")
	if !strings.Contains(r.stdout, "created user a@x.ch") {
		t.Errorf("users create stdout: %q", r.stdout)
	}
	if strings.Contains(r.stdout+r.stderr, pwAdmin) {
		t.Errorf("users create echoes the password: %v", r)
	}
	var hash string
	f.ownerQueryRow("SELECT password_hash FROM users WHERE email = 'a@x.ch'", nil, &hash)
	if !strings.HasPrefix(hash, "$argon2id$") || strings.Contains(hash, pwAdmin) {
		t.Errorf("stored password is not an argon2id hash: %q", hash)
	}
	if ok, err := auth.VerifyPassword(pwAdmin, hash); err != nil || !ok {
		t.Errorf("the stored hash does not verify the password from stdin: %v %v", ok, err)
	}
	var leaks int
	f.ownerQueryRow("SELECT count(*) FROM audit_log WHERE coalesce(changes::text, '') || coalesce(details::text, '') LIKE '%' || $1 || '%'",
		[]any{pwAdmin}, &leaks)
	if leaks != 0 {
		t.Errorf("the password appears in %d audit log entries", leaks)
	}

	if r := f.run("", "users", "create", "--tenant", "mandant1", "--email", "p@x.ch", "--name", "P", "--role", "admin", "--password", pwAdmin); r.code != 2 {
		t.Errorf("a --password flag must not exist (passwords do not belong in argv): %v", r)
	}

	t.Run("weak password", func(t *testing.T) {
		r := f.run("passwort123\n", "users", "create", "--tenant", "mandant1", "--email", "w@x.ch", "--name", "W", "--role", "sales")
		if r.code == 0 {
			t.Fatalf("weak password accepted: %v", r)
		}
		if line := singleLine(t, "stderr", r.stderr); !strings.Contains(line, "password") {
			t.Errorf("stderr should name the password: %q", line)
		}
	})
	t.Run("no password on stdin", func(t *testing.T) {
		r := f.run("", "users", "create", "--tenant", "mandant1", "--email", "n@x.ch", "--name", "N", "--role", "sales")
		if r.code != 2 || !strings.Contains(r.stderr, "password") {
			t.Errorf("want exit 2 about the missing password: %v", r)
		}
	})
	t.Run("unknown tenant", func(t *testing.T) {
		r := f.run(pwSales+"\n", "users", "create", "--tenant", "nosuch", "--email", "u@x.ch", "--name", "U", "--role", "sales")
		if r.code != 2 {
			t.Fatalf("want exit 2: %v", r)
		}
		if line := singleLine(t, "stderr", r.stderr); !strings.Contains(line, `"nosuch"`) {
			t.Errorf("stderr should name the tenant: %q", line)
		}
	})
	t.Run("unknown role", func(t *testing.T) {
		r := f.run(pwSales+"\n", "users", "create", "--tenant", "mandant1", "--email", "u@x.ch", "--name", "U", "--role", "chef")
		if r.code == 0 {
			t.Fatalf("unknown role accepted: %v", r)
		}
		if line := singleLine(t, "stderr", r.stderr); !strings.Contains(line, "chef") {
			t.Errorf("stderr should name the role: %q", line)
		}
	})
	t.Run("missing email", func(t *testing.T) {
		r := f.run(pwSales+"\n", "users", "create", "--tenant", "mandant1", "--name", "U", "--role", "sales")
		if r.code != 2 {
			t.Fatalf("want exit 2: %v", r)
		}
		if line := singleLine(t, "stderr", r.stderr); !strings.Contains(line, "--email") {
			t.Errorf("stderr should name --email: %q", line)
		}
	})
	t.Run("duplicate email", func(t *testing.T) {
		r := f.run(pwSales+"\n", "users", "create", "--tenant", "mandant1", "--email", "A@x.ch", "--name", "A2", "--role", "sales")
		if r.code == 0 {
			t.Fatalf("second user with the same e-mail address accepted: %v", r)
		}
		if line := singleLine(t, "stderr", r.stderr); !strings.Contains(line, "email") {
			t.Errorf("stderr should name the email: %q", line)
		}
	})
	var count int
	f.ownerQueryRow("SELECT count(*) FROM users", nil, &count)
	if count != 1 {
		t.Fatalf("after the refused creates there are %d users, want 1", count)
	}

	f.createUser("mandant1", "b@x.ch", "Beat Bucher", "sales", pwSales)

	listRow := func(out, email string) string {
		t.Helper()
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, email+" ") {
				return l
			}
		}
		t.Fatalf("users list does not show %s:\n%s", email, out)
		return ""
	}
	r = f.mustRun("", "users", "list", "--tenant", "mandant1")
	if row := listRow(r.stdout, "a@x.ch"); !strings.Contains(row, "A B") || !strings.Contains(row, "Administrator") || !strings.Contains(row, "active") {
		t.Errorf("users list row for a@x.ch: %q", row)
	}
	if row := listRow(r.stdout, "b@x.ch"); !strings.Contains(row, "Beat Bucher") || !strings.Contains(row, "active") {
		t.Errorf("users list row for b@x.ch: %q", row)
	}
	if strings.Contains(r.stdout, "argon2") {
		t.Errorf("users list shows password hashes:\n%s", r.stdout)
	}

	// The only administrator cannot be disabled: the tenant would be locked out.
	if r := f.run("", "users", "disable", "--tenant", "mandant1", "--email", "a@x.ch"); r.code == 0 {
		t.Errorf("the last administrator was disabled: %v", r)
	}

	f.mustRun("", "users", "disable", "--tenant", "mandant1", "--email", "b@x.ch")
	r = f.mustRun("", "users", "list", "--tenant", "mandant1")
	if row := listRow(r.stdout, "b@x.ch"); !strings.Contains(row, "disabled") {
		t.Errorf("b@x.ch should be disabled: %q", row)
	}
	if row := listRow(r.stdout, "a@x.ch"); !strings.Contains(row, "active") {
		t.Errorf("a@x.ch should still be active: %q", row)
	}
	f.mustRun("", "users", "enable", "--tenant", "mandant1", "--email", "b@x.ch")
	r = f.mustRun("", "users", "list", "--tenant", "mandant1")
	if row := listRow(r.stdout, "b@x.ch"); !strings.Contains(row, "active") {
		t.Errorf("b@x.ch should be active again: %q", row)
	}

	// set-password: from stdin (here without a trailing newline).
	r = f.mustRun(pwNew, "users", "set-password", "--tenant", "mandant1", "--email", "a@x.ch")
	if strings.Contains(r.stdout+r.stderr, pwNew) {
		t.Errorf("set-password echoes the password: %v", r)
	}
	f.ownerQueryRow("SELECT password_hash FROM users WHERE email = 'a@x.ch'", nil, &hash)
	if ok, _ := auth.VerifyPassword(pwNew, hash); !ok {
		t.Errorf("set-password did not store the new password")
	}
	if ok, _ := auth.VerifyPassword(pwAdmin, hash); ok {
		t.Errorf("the old password still verifies after set-password")
	}
	if r := f.run("passwort123\n", "users", "set-password", "--tenant", "mandant1", "--email", "a@x.ch"); r.code == 0 || !strings.Contains(r.stderr, "password") {
		t.Errorf("set-password accepted a weak password: %v", r)
	}
	if r := f.run(pwNew+"\n", "users", "set-password", "--tenant", "mandant1", "--email", "nobody@x.ch"); r.code == 0 {
		t.Errorf("set-password for an unknown user succeeded: %v", r)
	}
}
