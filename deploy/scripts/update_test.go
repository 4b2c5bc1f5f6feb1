package scripts_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rpcrm/rpcrm/pgtest"
)

// bins holds rpcrm built twice, as version v1 and v2.
var bins = map[string]string{}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rpcrm-update-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, v := range []string{"v1", "v2"} {
		bins[v] = filepath.Join(dir, "rpcrm-"+v)
		build := exec.Command("go", "build", "-ldflags", "-X main.version="+v, "-o", bins[v], "../../cmd/rpcrm")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			os.RemoveAll(dir)
			fmt.Fprintln(os.Stderr, "go build:", err)
			os.Exit(1)
		}
	}
	defer os.RemoveAll(dir)
	pgtest.Main(m)
}

// needTools skips outside CI when a tool the test drives is missing; in CI
// (.ci/run installs them) it fails instead.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not installed", tool)
			}
			t.Skipf("%s not installed", tool)
		}
	}
}

// site is an environment laid out as on the server (ENV_DIR with bin/,
// rpcrm.env, tenants.json, data/), served by a local process that the
// script starts and stops through START_CMD / STOP_CMD instead of systemd.
type site struct {
	t                       *testing.T
	dir, bin, envFile, addr string
	owner, admin, database  string
	backups                 string // RPCRM_BACKUP_DIR, next to ENV_DIR as on the server
}

func newSite(t *testing.T) *site {
	root := t.TempDir()
	s := &site{t: t, dir: filepath.Join(root, "test"), backups: filepath.Join(root, "backups")}
	s.bin = filepath.Join(s.dir, "bin", "rpcrm")
	s.envFile = filepath.Join(s.dir, "rpcrm.env")
	s.owner = pgtest.NewDatabase(t)
	app := pgtest.NewRoleURL(t, s.owner)
	u, _ := url.Parse(s.owner)
	s.database = strings.TrimPrefix(u.Path, "/")
	u.Path = "/postgres"
	s.admin = u.String()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	ln.Close()

	if err := os.MkdirAll(filepath.Join(s.dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	s.write("tenants.json", `{"tenants":[{"id":"alpha","name":"Alpha AG","hosts":["alpha.test"]}]}`)
	s.write("rpcrm.env", strings.Join([]string{
		"RPCRM_ENV=test",
		"DATABASE_URL=" + app,
		"RPCRM_DATABASE_OWNER_URL=" + s.owner,
		"RPCRM_LISTEN=" + s.addr,
		"RPCRM_TENANTS_FILE=" + filepath.Join(s.dir, "tenants.json"),
		"RPCRM_DATA_DIR=" + filepath.Join(s.dir, "data"),
		"RPCRM_LOG_FORMAT=json",
		"RPCRM_MIGRATE_ON_START=false",
		"RPCRM_SHUTDOWN_TIMEOUT=2s",
		"RPCRM_BACKUP_DIR=" + s.backups,
		"RPCRM_BACKUP_DATABASE_URL=" + pgtest.NewRoleURL(t, s.owner),
	}, "\n")+"\n")
	copyExec(t, bins["v1"], s.bin)
	t.Cleanup(func() { s.shell(s.stopCmd()) })
	return s
}

func (s *site) write(name, content string) {
	s.t.Helper()
	if err := os.WriteFile(filepath.Join(s.dir, name), []byte(content), 0o600); err != nil {
		s.t.Fatal(err)
	}
}

func copyExec(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// The systemd-less commands; the script exports ENV_DIR, ENV_FILE,
// APP_BIN and MANIFEST to them.
func (s *site) startCmd() string {
	return `nohup "$APP_BIN" serve --env-file "$ENV_FILE" >>"$ENV_DIR/serve.log" 2>&1 </dev/null & echo $! >"$ENV_DIR/rpcrm.pid"`
}

func (s *site) stopCmd() string {
	return `pidf="$ENV_DIR/rpcrm.pid"; [ -f "$pidf" ] || exit 0; pid=$(cat "$pidf"); rm -f "$pidf"
kill "$pid" 2>/dev/null || exit 0
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done; kill -9 "$pid"`
}

func (s *site) env() []string {
	return append(os.Environ(),
		"ENV_DIR="+s.dir, "ENV_FILE="+s.envFile, "APP_BIN="+s.bin,
		"READY_URL=http://"+s.addr+"/readyz", "READY_TIMEOUT=30",
		"START_CMD="+s.startCmd(), "STOP_CMD="+s.stopCmd(),
		`ALIVE_CMD=kill -0 "$(cat "$ENV_DIR/rpcrm.pid")" 2>/dev/null`,
		// The default BACKUP_CMD and RESTORE_CMD: the real rpcrm backup and
		// restore, run as the test's own user (no rpcrm-test user here).
		"RUN_AS=",
		`DB_RESET_CMD=psql -qX -v ON_ERROR_STOP=1 -d "`+s.admin+`" -c 'DROP DATABASE IF EXISTS "`+s.database+`" WITH (FORCE)' -c 'CREATE DATABASE "`+s.database+`" TEMPLATE template0'`,
	)
}

func (s *site) shell(script string) {
	cmd := exec.Command("bash", "-c", script)
	cmd.Env = s.env()
	cmd.Run() //nolint:errcheck
}

// rpcrm runs the installed binary with the site's env file.
func (s *site) rpcrm(stdin string, args ...string) string {
	s.t.Helper()
	n := 1 // flags follow the command, and the action for "users"
	if args[0] == "users" {
		n = 2
	}
	args = append(args[:n:n], append([]string{"--env-file", s.envFile}, args[n:]...)...)
	cmd := exec.Command(s.bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		s.t.Fatalf("rpcrm %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// update runs the script with NEW_BIN=newBin and returns its exit code and output.
func (s *site) update(newBin string) (int, string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "update-environment.sh", "test")
	cmd.Env = append(s.env(), "NEW_BIN="+newBin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			s.t.Fatalf("update-environment.sh: %v\n%s", err, out.String())
		}
		code = ee.ExitCode()
	}
	return code, out.String()
}

// ready reports whether /readyz answers 200.
func (s *site) ready() bool {
	c := http.Client{Timeout: 3 * time.Second}
	res, err := c.Get("http://" + s.addr + "/readyz")
	if err != nil {
		return false
	}
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

// servingVersion is the version in the last "rpcrm listening" log line;
// the process serving now must be that one (checked with ready()).
func (s *site) servingVersion() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "serve.log"))
	v := ""
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, `"msg":"rpcrm listening"`) {
			if i := strings.Index(line, `"version":"`); i >= 0 {
				v = strings.SplitN(line[i+len(`"version":"`):], `"`, 2)[0]
			}
		}
	}
	return v
}

func (s *site) installed() string {
	out, err := exec.Command(s.bin, "version").Output()
	if err != nil {
		s.t.Fatalf("installed binary does not run: %v", err)
	}
	return strings.Fields(string(out))[1]
}

func (s *site) userCount() int {
	s.t.Helper()
	conn, err := pgx.Connect(context.Background(), s.owner)
	if err != nil {
		s.t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM users").Scan(&n); err != nil {
		s.t.Fatal(err)
	}
	return n
}

// wrapper writes a shell script that behaves like real but replaces one
// subcommand with body: a broken new version.
func wrapper(t *testing.T, real, subcommand, body string) string {
	p := filepath.Join(t.TempDir(), "rpcrm-broken")
	script := fmt.Sprintf("#!/bin/sh\nif [ \"$1\" = %s ]; then\n%s\nfi\nexec %q \"$@\"\n", subcommand, body, real)
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestUpdateEnvironment(t *testing.T) {
	needTools(t, "curl", "flock", "pg_dump", "pg_restore", "psql")
	s := newSite(t)
	s.rpcrm("", "migrate")
	s.rpcrm("Passwort-Sicher-2026\n", "users", "create", "--tenant", "alpha", "--email", "anna@alpha.test", "--name", "Anna", "--role", "admin")
	s.rpcrm("", "backup", "--init-role")
	// A document in the uploads directory: backed up, and back after a
	// restore (rpcrm restore needs an empty uploads directory).
	doc := filepath.Join(s.dir, "data", "uploads", "alpha", "2026", "offerte.pdf")
	if err := os.MkdirAll(filepath.Dir(doc), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(doc, []byte("%PDF-1.4 Offerte Nr. 1"), 0o640); err != nil {
		t.Fatal(err)
	}
	s.shell(s.startCmd())
	deadline := time.Now().Add(15 * time.Second)
	for !s.ready() {
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(s.dir, "serve.log"))
			t.Fatalf("v1 not ready:\n%s", b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if v := s.servingVersion(); v != "v1" {
		t.Fatalf("serving %q before the update", v)
	}

	t.Run("good version", func(t *testing.T) {
		start := time.Now()
		code, out := s.update(bins["v2"])
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		t.Logf("update took %v", time.Since(start).Round(time.Millisecond))
		if !s.ready() || s.servingVersion() != "v2" || s.installed() != "v2" {
			t.Errorf("after update: ready %v, serving %q, installed %q\n%s", s.ready(), s.servingVersion(), s.installed(), out)
		}
		if !strings.Contains(out, "updated and ready") || !strings.Contains(out, "backup: "+filepath.Join(s.backups, "test_manifest_")) {
			t.Errorf("log:\n%s", out)
		}
	})

	t.Run("new version does not start", func(t *testing.T) {
		broken := wrapper(t, bins["v1"], "serve", `echo "rpcrm: panic at start" >&2; exit 3`)
		start := time.Now()
		code, out := s.update(broken)
		if code != 1 {
			t.Fatalf("exit %d, want 1 (rolled back):\n%s", code, out)
		}
		t.Logf("failed update with rollback took %v", time.Since(start).Round(time.Millisecond))
		// The previous binary is back, byte for byte, and serving.
		want, _ := os.ReadFile(bins["v2"])
		got, _ := os.ReadFile(s.bin)
		if !bytes.Equal(got, want) {
			t.Error("installed binary is not the previous one")
		}
		if !s.ready() || s.servingVersion() != "v2" {
			t.Errorf("after rollback: ready %v, serving %q\n%s", s.ready(), s.servingVersion(), out)
		}
		// Same schema: the database was left alone.
		if !strings.Contains(out, "the service has exited") || !strings.Contains(out, "rolled back") || strings.Contains(out, "restoring the database") {
			t.Errorf("log:\n%s", out)
		}
		if n := s.userCount(); n != 1 {
			t.Errorf("%d users after rollback, want 1", n)
		}
	})

	t.Run("migration fails half-way", func(t *testing.T) {
		// The broken migration destroys data, then fails: the database must
		// come back from the backup the script took first.
		broken := wrapper(t, bins["v1"], "migrate",
			fmt.Sprintf("psql -qX -d %q -c 'TRUNCATE users CASCADE' >/dev/null; echo 'migration 99: boom' >&2; exit 1", s.owner))
		code, out := s.update(broken)
		if code != 1 {
			t.Fatalf("exit %d, want 1 (rolled back):\n%s", code, out)
		}
		if !strings.Contains(out, "migration failed") || !strings.Contains(out, "database restored") {
			t.Errorf("log:\n%s", out)
		}
		if n := s.userCount(); n != 1 {
			t.Errorf("%d users after the restore, want 1", n)
		}
		// The documents came back from the backup; the ones that were there
		// were moved aside, not deleted.
		if b, err := os.ReadFile(doc); err != nil || string(b) != "%PDF-1.4 Offerte Nr. 1" {
			t.Errorf("document after the restore: %q, %v", b, err)
		}
		if aside, _ := filepath.Glob(filepath.Join(s.dir, "data", "uploads.before-rollback-*", "alpha", "2026", "offerte.pdf")); len(aside) != 1 {
			t.Errorf("the uploads before the rollback were not kept aside: %v", aside)
		}
		if !s.ready() || s.servingVersion() != "v2" || s.installed() != "v2" {
			t.Errorf("after rollback: ready %v, serving %q, installed %q", s.ready(), s.servingVersion(), s.installed())
		}
		// The app role can still log in and read: grants survived the restore.
		if out := s.rpcrm("", "users", "list", "--tenant", "alpha"); !strings.Contains(out, "anna@alpha.test") {
			t.Errorf("users list after restore:\n%s", out)
		}
	})

	t.Run("backup fails", func(t *testing.T) {
		cmd := exec.Command("bash", "update-environment.sh", "test")
		cmd.Env = append(s.env(), "NEW_BIN="+bins["v1"], "BACKUP_CMD=echo 'pg_dump: connection refused' >&2; exit 1")
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), "backup failed; nothing changed") {
			t.Errorf("%v:\n%s", err, out)
		}
		if !s.ready() || s.servingVersion() != "v2" || s.installed() != "v2" {
			t.Error("a failed backup changed the running version")
		}
	})

	t.Run("backup runs as the service user", func(t *testing.T) {
		// As root (sudo update-environment.sh), rpcrm backup and restore run
		// as rpcrm-ENV, the user of the service and of the backup timer.
		if os.Geteuid() != 0 {
			t.Skip("only root switches to rpcrm-test")
		}
		fake := t.TempDir()
		if err := os.WriteFile(filepath.Join(fake, "runuser"), []byte("#!/bin/sh\necho \"$@\" >\""+fake+"/args\"\nexit 1\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		var env []string
		for _, kv := range s.env() {
			if !strings.HasPrefix(kv, "RUN_AS=") && !strings.HasPrefix(kv, "PATH=") {
				env = append(env, kv)
			}
		}
		cmd := exec.Command("bash", "update-environment.sh", "test")
		cmd.Env = append(env, "PATH="+fake+":"+os.Getenv("PATH"), "NEW_BIN="+bins["v1"])
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), "backup failed; nothing changed") {
			t.Errorf("%v:\n%s", err, out)
		}
		args, _ := os.ReadFile(filepath.Join(fake, "args"))
		if want := "-u rpcrm-test -- " + s.bin + " backup --env-file " + s.envFile; strings.TrimSpace(string(args)) != want {
			t.Errorf("backup ran as %q, want runuser %q", args, want)
		}
	})

	t.Run("one update at a time", func(t *testing.T) {
		lock := exec.Command("flock", filepath.Join(s.dir, ".update.lock"), "sleep", "5")
		if err := lock.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { lock.Process.Signal(syscall.SIGTERM); lock.Wait() }() //nolint:errcheck
		time.Sleep(200 * time.Millisecond)
		code, out := s.update(bins["v1"])
		if code != 1 || !strings.Contains(out, "another update of test is running") {
			t.Errorf("exit %d:\n%s", code, out)
		}
	})

	t.Run("usage", func(t *testing.T) {
		out, err := exec.Command("bash", "update-environment.sh", "staging").CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "usage:") {
			t.Errorf("%v: %s", err, out)
		}
	})
}
