package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rpcrm/rpcrm/postgres"
)

// A bad setting stops `rpcrm serve` before anything starts: exit 2, one line
// on stderr naming the setting, no data directory, no key, no pid file.
// DATABASE_URL points at a port where nothing listens, so a configuration
// that slipped through would fail later with a connection error (exit 1).
func TestE2EConfigErrors(t *testing.T) {
	t.Parallel()
	const unreachable = "postgres://rpcrm_app:Geheim-Passwort-99@127.0.0.1:1/rpcrm_none?sslmode=disable&connect_timeout=2"
	cases := []struct {
		name  string
		env   []string // changes to the base environment; "" removes
		args  []string
		files map[string]string // files to write in the working directory
		want  []string          // all must appear in the one stderr line
	}{
		{name: "no DATABASE_URL", env: []string{"DATABASE_URL", ""},
			want: []string{"DATABASE_URL", "required"}},
		{name: "bad listen", env: []string{"RPCRM_LISTEN", "abc"},
			want: []string{"RPCRM_LISTEN", `"abc"`}},
		{name: "unknown environment", env: []string{"RPCRM_ENV", "staging"},
			want: []string{"RPCRM_ENV", `"staging"`}},
		{name: "misspelt setting", env: []string{"RPCRM_LISTN", "127.0.0.1:5999"},
			want: []string{"RPCRM_LISTN", "did you mean RPCRM_LISTEN"}},
		{name: "missing env file", args: []string{"--env-file", "missing.env"},
			want: []string{"missing.env", "not found"}},
		{name: "bad env file line", args: []string{"--env-file", "bad.env"},
			files: map[string]string{"bad.env": "# production\nRPCRM_LOG_LEVEL=warn\nthis line is not a setting\n"},
			want:  []string{"bad.env:3"}},
		{name: "bad value in env file", args: []string{"--env-file", "listen.env"},
			env:   []string{"RPCRM_LISTEN", ""},
			files: map[string]string{"listen.env": "RPCRM_LOG_LEVEL=warn\nRPCRM_LISTEN=nirgendwo\n"},
			want:  []string{"RPCRM_LISTEN", "listen.env:2"}},
		{name: "access token TTL out of range", env: []string{"RPCRM_ACCESS_TOKEN_TTL", "1h"},
			want: []string{"RPCRM_ACCESS_TOKEN_TTL", "out of range"}},
		{name: "bad DATABASE_URL does not show its password",
			env:  []string{"DATABASE_URL", "postgres://rpcrm_app:Geheim-Passwort-99@db.example:notaport/x"},
			want: []string{"DATABASE_URL", "not a valid URL"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, false, "mandant1")
			f.env["DATABASE_URL"] = unreachable
			for name, content := range tc.files {
				writeFile(t, filepath.Join(f.dir, name), content)
			}
			env := f.envWith(tc.env...)
			r := runCLI(t, f.dir, env, "", append([]string{"serve"}, tc.args...)...)
			if r.code != 2 {
				t.Fatalf("want exit 2, got %v", r)
			}
			line := singleLine(t, "stderr", r.stderr)
			if !strings.HasPrefix(line, "rpcrm: ") {
				t.Errorf("stderr %q does not start with \"rpcrm: \"", line)
			}
			for _, w := range tc.want {
				if !strings.Contains(line, w) {
					t.Errorf("stderr %q does not contain %q", line, w)
				}
			}
			if strings.Contains(line, "Geheim-Passwort-99") {
				t.Errorf("stderr shows the database password: %q", line)
			}
			if r.stdout != "" {
				t.Errorf("stdout: want nothing, got %q", r.stdout)
			}
			if fileExists(f.dataDir) {
				t.Errorf("the data directory %s was created: something started before the configuration was checked", f.dataDir)
			}
		})
	}
}

func TestE2EHelpAndVersion(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	run := func(args ...string) cliResult {
		t.Helper()
		// No settings at all: help must work on an unconfigured machine.
		return runCLI(t, dir, nil, "", args...)
	}

	t.Run("unknown command", func(t *testing.T) {
		r := run("nosuchcmd")
		if r.code != 2 {
			t.Fatalf("want exit 2: %v", r)
		}
		if !strings.Contains(r.stderr, `unknown command "nosuchcmd"`) || !strings.Contains(r.stderr, "Usage: rpcrm COMMAND") {
			t.Errorf("stderr should name the command and show the usage: %v", r)
		}
		if r.stdout != "" {
			t.Errorf("stdout: want nothing, got %q", r.stdout)
		}
	})
	t.Run("no command", func(t *testing.T) {
		if r := run(); r.code != 2 || !strings.Contains(r.stderr, "Usage: rpcrm COMMAND") {
			t.Errorf("want exit 2 with usage on stderr: %v", r)
		}
	})
	t.Run("help lists every command", func(t *testing.T) {
		r := run("help")
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("want exit 0 and nothing on stderr: %v", r)
		}
		for _, c := range commands() {
			if !regexp.MustCompile(`(?m)^  ` + c.name + ` +` + regexp.QuoteMeta(c.summary) + `$`).MatchString(r.stdout) {
				t.Errorf("help does not list %q with its summary:\n%s", c.name, r.stdout)
			}
		}
		for _, name := range []string{"serve", "dev", "migrate", "tenants", "users", "version"} {
			if !strings.Contains(r.stdout, "  "+name+" ") {
				t.Errorf("help does not list %s:\n%s", name, r.stdout)
			}
		}
	})
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"serve", "-h"}, []string{"Usage: rpcrm serve", "RPCRM_LISTEN", "SIGHUP", "SIGTERM", "-env-file"}},
		{[]string{"help", "serve"}, []string{"Usage: rpcrm serve", "SIGHUP"}},
		{[]string{"serve", "--help"}, []string{"Usage: rpcrm serve"}},
		{[]string{"users", "-h"}, []string{"Usage: rpcrm users", "create", "list", "disable", "set-password", "standard input", "admin"}},
		{[]string{"users", "create", "-h"}, []string{"Usage: rpcrm users create", "-email", "-tenant", "-role", "standard input"}},
		{[]string{"migrate", "-h"}, []string{"Usage: rpcrm migrate", "up", "status", "RPCRM_DATABASE_OWNER_URL"}},
		{[]string{"dev", "-h"}, []string{"Usage: rpcrm dev", "PostgreSQL", "mandant1.localhost"}},
		{[]string{"tenants", "-h"}, []string{"Usage: rpcrm tenants", "validate", "reload"}},
		{[]string{"backup", "-h"}, []string{"Usage: rpcrm backup", "-init-role", "-retention"}},
		{[]string{"restore", "-h"}, []string{"Usage: rpcrm restore", "-manifest", "-anonymise"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := run(tc.args...)
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("want exit 0 and nothing on stderr: %v", r)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("help does not mention %q:\n%s", w, r.stdout)
				}
			}
			if n := strings.Count(r.stdout, "Usage: "); n != 1 {
				t.Errorf("the usage is printed %d times:\n%s", n, r.stdout)
			}
		})
	}
	t.Run("bad flag", func(t *testing.T) {
		r := run("serve", "--no-such-flag")
		if r.code != 2 {
			t.Fatalf("want exit 2: %v", r)
		}
		if line := singleLine(t, "stderr", r.stderr); !strings.Contains(line, "no-such-flag") {
			t.Errorf("stderr does not name the flag: %q", line)
		}
	})
	t.Run("version", func(t *testing.T) {
		r := run("version")
		want := fmt.Sprintf("rpcrm %s (schema %d)\n", e2eVersion, postgres.LatestVersion())
		if r.code != 0 || r.stdout != want || r.stderr != "" {
			t.Errorf("want exit 0 and %q, got %v", want, r)
		}
		if postgres.LatestVersion() < 1 {
			t.Errorf("schema version %d", postgres.LatestVersion())
		}
	})
}

func TestE2ETenantsValidate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	writeFile(t, good, tenantsDoc("mandant1", "mandant2"))
	bad := filepath.Join(dir, "bad.json")
	writeFile(t, bad, `{"tenants": [
  {"id": "mandant1", "name": "Mandant 1 AG", "hosts": ["shared.test"]},
  {"id": "Mandant_2", "name": "Mandant 2 GmbH", "hosts": ["shared.test"], "colour": "blau"}
]}
`)

	t.Run("valid", func(t *testing.T) {
		r := runCLI(t, dir, nil, "", "tenants", "validate", good)
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("want exit 0: %v", r)
		}
		if !strings.Contains(r.stdout, "2 tenants") || !strings.Contains(r.stdout, "valid") {
			t.Errorf("stdout %q should say the file is valid with 2 tenants", r.stdout)
		}
	})
	t.Run("every problem listed", func(t *testing.T) {
		r := runCLI(t, dir, nil, "", "tenants", "validate", bad)
		if r.code != 2 {
			t.Fatalf("want exit 2: %v", r)
		}
		for _, w := range []string{
			"tenants[1].id", "Mandant_2", // bad slug
			"tenants[1].hosts[0]", "shared.test", // host of another tenant
			"tenants[1].colour", "unknown field", // unknown field
			"3 problems",
		} {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("stderr does not contain %q:\n%s", w, r.stderr)
			}
		}
		// Each problem on its own line, with its line number in the file.
		for _, re := range []string{`(?m)^\s*tenants\[1\]\.id \(line 3,.*$`, `(?m)^\s*tenants\[1\]\.hosts\[0\] \(line 3,.*$`, `(?m)^\s*tenants\[1\]\.colour \(line 3,.*$`} {
			if !regexp.MustCompile(re).MatchString(r.stderr) {
				t.Errorf("stderr has no line matching %s:\n%s", re, r.stderr)
			}
		}
		if strings.Contains(r.stdout, "valid") {
			t.Errorf("stdout claims validity: %q", r.stdout)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		r := runCLI(t, dir, nil, "", "tenants", "validate", filepath.Join(dir, "nope.json"))
		if r.code != 2 || !strings.Contains(r.stderr, "nope.json") {
			t.Errorf("want exit 2 naming the file: %v", r)
		}
	})
	t.Run("no file given", func(t *testing.T) {
		if r := runCLI(t, dir, nil, "", "tenants", "validate"); r.code != 2 {
			t.Errorf("want exit 2: %v", r)
		}
	})
	t.Run("not JSON", func(t *testing.T) {
		p := filepath.Join(dir, "broken.json")
		if err := os.WriteFile(p, []byte("{\"tenants\": [\n  {\"id\": \"a\",}\n]}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		r := runCLI(t, dir, nil, "", "tenants", "validate", p)
		if r.code != 2 || !strings.Contains(r.stderr, "line 2") {
			t.Errorf("want exit 2 pointing at line 2: %v", r)
		}
	})
}
