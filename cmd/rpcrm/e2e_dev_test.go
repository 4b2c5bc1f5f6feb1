package main

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rpcrm/rpcrm/pgserver"
)

// devLogin is one login `rpcrm dev` prints.
type devLogin struct{ role, email, password string }

var devLoginRE = regexp.MustCompile(`(?m)^\s+(\w+)\s+(\S+@\S+)\s+password: (\S+)\s*$`)

// devLogins parses the logins from dev's start-up banner.
func devLogins(out string) map[string]devLogin {
	m := map[string]devLogin{}
	for _, s := range devLoginRE.FindAllStringSubmatch(out, -1) {
		m[s[2]] = devLogin{role: s[1], email: s[2], password: s[3]}
	}
	return m
}

// checkDevBanner checks the URLs and logins dev prints and returns the logins.
func checkDevBanner(t *testing.T, out, port string) map[string]devLogin {
	t.Helper()
	for _, h := range []string{"mandant1.localhost", "mandant2.localhost"} {
		if !strings.Contains(out, "http://"+h+":"+port+"/") {
			t.Errorf("dev does not print the URL of %s on port %s:\n%s", h, port, out)
		}
	}
	logins := devLogins(out)
	for _, email := range []string{"admin@mandant1.localhost", "admin@mandant2.localhost"} {
		if l, ok := logins[email]; !ok || l.role != "admin" || l.password == "" {
			t.Errorf("dev does not print the admin login %s with a password:\n%s", email, out)
		}
	}
	return logins
}

// `rpcrm dev` against an existing server (DATABASE_URL and the owner URL set):
// it writes the demo tenants, migrates, creates the demo users and serves.
func TestE2EDevWithDatabase(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true)
	env := f.envWith("RPCRM_ENV", "", "RPCRM_TENANTS_FILE", "")
	p := f.start(env, "dev")
	p.waitOutput("Health:", 60*time.Second)
	port := portOf(f.addr)
	logins := checkDevBanner(t, p.stdout.String(), port)
	if !fileExists(filepath.Join(f.dataDir, "tenants.json")) {
		t.Errorf("dev did not write RPCRM_DATA_DIR/tenants.json")
	}

	admin := logins["admin@mandant1.localhost"]
	code, token := login(t, f.base(), "mandant1.localhost:"+port, admin.email, admin.password)
	if code != http.StatusOK {
		t.Fatalf("login with the printed admin credentials: %d", code)
	}
	if m := me(t, f.base(), "mandant1.localhost", token); m.Email != admin.email || m.Tenant.ID != "mandant1" {
		t.Errorf("GET /api/v1/me: %+v", m)
	}
	for email, l := range logins {
		host := strings.SplitN(email, "@", 2)[1]
		if code, _ := login(t, f.base(), host, l.email, l.password); code != http.StatusOK {
			t.Errorf("printed login %s at %s: %d", email, host, code)
		}
	}
	// Tenants are separate: mandant1's admin is unknown at mandant2.
	if code, _ := login(t, f.base(), "mandant2.localhost", admin.email, admin.password); code != http.StatusUnauthorized {
		t.Errorf("mandant1's admin at mandant2: %d, want 401", code)
	}
	// dev logs text, not JSON.
	if !strings.Contains(p.stderr.String(), "msg=\"rpcrm listening\"") {
		t.Errorf("dev should log in text format:\n%s", p.stderr.String())
	}

	p.signal(os.Interrupt)
	if code := p.wait(20 * time.Second); code != 0 {
		t.Errorf("dev exited with %d after SIGINT, want 0", code)
	}
	if !strings.Contains(p.stderr.String(), "msg=stopped") {
		t.Errorf("dev did not log stopped:\n%s", p.stderr.String())
	}
}

// RPCRM_TENANTS_FILE set in the --env-file must be honoured by `rpcrm dev`
// just like when it is set in the environment: the env file is a documented
// source of every setting.
func TestE2EDevTenantsFileFromEnvFile(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true)
	custom := filepath.Join(f.dir, "firma.json")
	writeFile(t, custom, `{"tenants": [{"id": "firma", "name": "Firma AG", "hosts": ["firma.localhost"]}]}`)
	writeFile(t, filepath.Join(f.dir, "dev.env"), "RPCRM_TENANTS_FILE="+custom+"\n")
	env := f.envWith("RPCRM_ENV", "", "RPCRM_TENANTS_FILE", "")

	// tenants list reads the same setting from the same file: the reference.
	r := runCLI(t, f.dir, env, "", "tenants", "list", "--env-file", "dev.env")
	if r.code != 0 || !strings.Contains(r.stdout, "firma.localhost") {
		t.Fatalf("tenants list --env-file dev.env: %v", r)
	}

	p := f.start(env, "dev", "--env-file", "dev.env")
	p.waitOutput("Health:", 60*time.Second)
	out := p.stdout.String()
	if !strings.Contains(out, "http://firma.localhost:") || strings.Contains(out, "mandant1.localhost") {
		t.Errorf("dev ignored RPCRM_TENANTS_FILE from --env-file and served the demo tenants:\n%s", out)
	}
	if fileExists(filepath.Join(f.dataDir, "tenants.json")) {
		t.Errorf("dev wrote the demo tenants to RPCRM_DATA_DIR/tenants.json although RPCRM_TENANTS_FILE is set in the env file")
	}
	p.signal(os.Interrupt)
	p.wait(20 * time.Second)
}

// `rpcrm dev` with nothing configured starts its own PostgreSQL under
// RPCRM_DATA_DIR, stops it on Ctrl-C and reuses its data on the next start.
func TestE2EDevPrivatePostgres(t *testing.T) {
	t.Parallel()
	if _, err := pgserver.FindBinDir(); err != nil {
		if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci || !errors.Is(err, pgserver.ErrNoBinaries) {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	// When tests run as root, postgres runs as the postgres user, which must
	// be able to enter every parent of its data directory.
	root, err := os.MkdirTemp("", "rpcrm-e2e-dev-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(root, "data")
	env := map[string]string{"RPCRM_DATA_DIR": dataDir}
	// Where the PostgreSQL binaries are is a property of the machine, not a setting.
	if v, ok := os.LookupEnv(pgserver.BinDirEnv); ok {
		env[pgserver.BinDirEnv] = v
	}
	postmasterPID := filepath.Join(dataDir, "postgres", "postmaster.pid")

	startDev := func() (p *proc, base, userID string) {
		t.Helper()
		addr := freeAddr(t)
		env["RPCRM_LISTEN"] = addr
		p = startCLI(t, root, env, "dev")
		p.waitOutput("Health:", 90*time.Second)
		logins := checkDevBanner(t, p.stdout.String(), portOf(addr))
		if !fileExists(postmasterPID) {
			t.Errorf("no %s while dev runs", postmasterPID)
		}
		base = "http://" + addr
		admin := logins["admin@mandant1.localhost"]
		code, token := login(t, base, "mandant1.localhost", admin.email, admin.password)
		if code != http.StatusOK {
			t.Fatalf("login with the printed admin credentials: %d", code)
		}
		m := me(t, base, "mandant1.localhost", token)
		if m.Email != admin.email || m.ID == "" {
			t.Fatalf("GET /api/v1/me: %+v", m)
		}
		return p, base, m.ID
	}
	stopDev := func(p *proc) {
		t.Helper()
		p.signal(os.Interrupt)
		if code := p.wait(30 * time.Second); code != 0 {
			t.Errorf("dev exited with %d after SIGINT, want 0", code)
		}
		if fileExists(postmasterPID) {
			t.Errorf("PostgreSQL still running after dev stopped (%s exists)", postmasterPID)
		}
	}

	p1, _, id1 := startDev()
	pgPID := postmasterPIDOf(t, postmasterPID)
	stopDev(p1)
	if pgPID > 0 && syscall.Kill(pgPID, 0) == nil {
		t.Errorf("postmaster (pid %d) still alive after dev stopped", pgPID)
	}
	for _, name := range []string{"tenants.json", "postgres.secrets.json"} {
		if !fileExists(filepath.Join(dataDir, name)) {
			t.Errorf("dev did not keep %s in RPCRM_DATA_DIR", name)
		}
	}

	p2, _, id2 := startDev()
	if id2 != id1 {
		t.Errorf("second start: admin has id %s, before %s: the data was not reused", id2, id1)
	}
	stopDev(p2)
}

func postmasterPIDOf(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("read %s: %v", path, err)
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(data), "\n", 2)[0]))
	return pid
}
