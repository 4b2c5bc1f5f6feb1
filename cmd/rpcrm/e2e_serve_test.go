package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rpcrm/rpcrm/auth"
)

// The production path: migrate, create the first user with the CLI, serve as
// the application role, log in over HTTP on the tenant's host.
func TestE2EServeProd(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true, "mandant1")
	f.migrate()
	f.createUser("mandant1", "a@x.ch", "A B", "admin", pwAdmin)

	p := f.start(nil, "serve")
	p.waitReady(f.base())
	pidFile := filepath.Join(f.dataDir, "rpcrm.pid")
	if data, err := readTrim(pidFile); err != nil || data != strconv.Itoa(p.cmd.Process.Pid) {
		t.Errorf("pid file %s: %q %v, want %d", pidFile, data, err, p.cmd.Process.Pid)
	}
	if !fileExists(filepath.Join(f.dataDir, "keys", "jwt.key")) {
		t.Errorf("no JWT key was created under RPCRM_DATA_DIR/keys")
	}
	// prod logs JSON, one object per line.
	for _, l := range strings.Split(strings.TrimSpace(p.stderr.String()), "\n") {
		if !json.Valid([]byte(l)) {
			t.Errorf("prod log line is not JSON: %q", l)
		}
	}

	code, token := login(t, f.base(), "mandant1.test", "a@x.ch", pwAdmin)
	if code != http.StatusOK {
		t.Fatalf("login with the CLI-created user: %d", code)
	}
	m := me(t, f.base(), "mandant1.test", token)
	if m.Email != "a@x.ch" || m.Name != "A B" || m.Tenant.ID != "mandant1" || len(m.Roles) != 1 || m.Roles[0].Key != "admin" {
		t.Errorf("GET /api/v1/me: %+v", m)
	}
	// The host with a port, as browsers send it, names the same tenant.
	if code, _ := login(t, f.base(), "mandant1.test:"+portOf(f.addr), "a@x.ch", pwAdmin); code != http.StatusOK {
		t.Errorf("login with Host mandant1.test:port: %d", code)
	}
	if code, _ := login(t, f.base(), "mandant1.test", "a@x.ch", "Falsches-Passwort-1"); code != http.StatusUnauthorized {
		t.Errorf("login with a wrong password: %d, want 401", code)
	}
	if code, _ := login(t, f.base(), "other.test", "a@x.ch", pwAdmin); code != http.StatusNotFound {
		t.Errorf("login on an unknown host: %d, want 404", code)
	}
	// The token is bound to its tenant's host, and probes answer on the IP.
	if code, _, _ := httpDo("GET", f.base()+"/healthz", "", "", ""); code != http.StatusOK {
		t.Errorf("/healthz: %d", code)
	}

	p.signal(syscall.SIGTERM)
	if code := p.wait(20 * time.Second); code != 0 {
		t.Errorf("serve exited with %d after SIGTERM, want 0", code)
	}
	if fileExists(pidFile) {
		t.Errorf("pid file %s left behind", pidFile)
	}
}

// In production the server must not run as a role that row-level security
// does not bind: a superuser sees every tenant's rows.
func TestE2EServeRefusesSuperuser(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true, "mandant1")
	env := f.envWith("DATABASE_URL", f.owner, "RPCRM_DATABASE_OWNER_URL", "")
	r := runRefusing(t, f.dir, env, "serve")
	if r.code == 0 {
		t.Errorf("serve as superuser exited with 0")
	}
	stderr := r.stderr
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "rpcrm: ") || !strings.Contains(last, "superuser") || !strings.Contains(last, "DATABASE_URL") {
		t.Errorf("last stderr line should explain the superuser refusal: %q", last)
	}
	if strings.Contains(stderr, "rpcrm listening") {
		t.Errorf("the server listened before refusing:\n%s", stderr)
	}
	if fileExists(filepath.Join(f.dataDir, "rpcrm.pid")) {
		t.Errorf("pid file left behind")
	}
}

// A database migrated by a newer rpcrm must not be served by an older one,
// whether or not it migrates on start.
func TestE2EServeRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true, "mandant1")
	f.migrate()
	f.ownerExec("INSERT INTO goose_db_version (version_id, is_applied) VALUES (999, true)")
	for _, migrate := range []string{"false", "true"} {
		t.Run("RPCRM_MIGRATE_ON_START="+migrate, func(t *testing.T) {
			r := runRefusing(t, f.dir, f.envWith("RPCRM_MIGRATE_ON_START", migrate), "serve")
			if r.code == 0 {
				t.Fatalf("serve started on a newer schema: %v", r)
			}
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			last := lines[len(lines)-1]
			if !strings.Contains(last, "newer") || !strings.Contains(last, "999") {
				t.Errorf("last stderr line should say the schema (999) is newer: %q", last)
			}
			if strings.Contains(r.stderr, "rpcrm listening") {
				t.Errorf("the server listened before refusing:\n%s", r.stderr)
			}
		})
	}
	r := f.run("", "users", "list", "--tenant", "mandant1")
	if r.code == 0 || !strings.Contains(r.stderr, "newer") {
		t.Errorf("users list on a newer schema: %v", r)
	}
}

// SIGHUP and `rpcrm tenants reload` reload tenants.json without a restart; a
// bad file is refused and the tenants in force stay.
func TestE2ETenantsReload(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true, "mandant1")
	f.migrate()
	p := f.start(nil, "serve")
	p.waitReady(f.base())
	base := f.base()

	if c := hostStatus(t, base, "mandant1.test"); c != http.StatusUnauthorized {
		t.Fatalf("mandant1.test: %d, want 401 (a known tenant)", c)
	}
	if c := hostStatus(t, base, "mandant2.test"); c != http.StatusNotFound {
		t.Fatalf("mandant2.test before the reload: %d, want 404", c)
	}

	// SIGHUP with mandant2 added.
	writeFile(t, f.tenants, tenantsDoc("mandant1", "mandant2"))
	p.signal(syscall.SIGHUP)
	if !pollUntil(5*time.Second, func() bool { return hostStatus(t, base, "mandant2.test") == http.StatusUnauthorized }) {
		t.Fatalf("mandant2.test not served 5 s after SIGHUP")
	}
	// The reload gave mandant2 its rows and built-in roles (checked before
	// any CLI command, which would sync tenants itself).
	var roles int
	f.ownerQueryRow(`SELECT count(*) FROM roles r JOIN tenants t ON t.id = r.tenant_id
		WHERE t.slug = 'mandant2' AND r.key IS NOT NULL`, nil, &roles)
	if want := len(auth.BuiltinRoles()); roles != want {
		t.Errorf("mandant2 has %d built-in roles after the reload, want %d", roles, want)
	}
	f.createUser("mandant2", "b@zwei.ch", "Bea Zwei", "admin", pwSales)
	if code, _ := login(t, base, "mandant2.test", "b@zwei.ch", pwSales); code != http.StatusOK {
		t.Errorf("login in the reloaded tenant: %d", code)
	}
	if code, _ := login(t, base, "mandant1.test", "b@zwei.ch", pwSales); code != http.StatusUnauthorized {
		t.Errorf("mandant2's user logs in at mandant1: %d, want 401", code)
	}

	// SIGHUP with a broken file: refused, logged, previous tenants stay.
	writeFile(t, f.tenants, `{"tenants": [{"id": "mandant1", "name": "M1", "hosts": ["mandant1.test"]}, {"id": "Bad Id"}]}`)
	p.signal(syscall.SIGHUP)
	p.waitOutput("reload refused", 5*time.Second)
	if p.exited() {
		t.Fatalf("serve exited after a bad reload")
	}
	for _, h := range []string{"mandant1.test", "mandant2.test"} {
		if c := hostStatus(t, base, h); c != http.StatusUnauthorized {
			t.Errorf("%s after the refused reload: %d, want 401", h, c)
		}
	}
	if code, _ := login(t, base, "mandant2.test", "b@zwei.ch", pwSales); code != http.StatusOK {
		t.Errorf("login at mandant2 after the refused reload: %d", code)
	}

	// `rpcrm tenants reload` checks the file first and does not signal.
	refused := strings.Count(p.stderr.String(), "reload refused")
	r := f.run("", "tenants", "reload")
	if r.code != 2 || !strings.Contains(r.stderr, "RPCRM_TENANTS_FILE") {
		t.Errorf("tenants reload with a bad file: want exit 2: %v", r)
	}
	time.Sleep(300 * time.Millisecond)
	if n := strings.Count(p.stderr.String(), "reload refused"); n != refused {
		t.Errorf("tenants reload signalled the server although the file is bad")
	}

	// `rpcrm tenants reload` with a good file: mandant3 in, mandant2 out.
	writeFile(t, f.tenants, tenantsDoc("mandant1", "mandant3"))
	r = f.mustRun("", "tenants", "reload")
	if !strings.Contains(r.stdout, fmt.Sprintf("pid %d", p.cmd.Process.Pid)) {
		t.Errorf("tenants reload should name the server's pid %d: %q", p.cmd.Process.Pid, r.stdout)
	}
	if !pollUntil(5*time.Second, func() bool { return hostStatus(t, base, "mandant3.test") == http.StatusUnauthorized }) {
		t.Fatalf("mandant3.test not served 5 s after rpcrm tenants reload")
	}
	if c := hostStatus(t, base, "mandant2.test"); c != http.StatusNotFound {
		t.Errorf("mandant2.test after it was removed from tenants.json: %d, want 404", c)
	}
	if c := hostStatus(t, base, "mandant1.test"); c != http.StatusUnauthorized {
		t.Errorf("mandant1.test after the reload: %d, want 401", c)
	}
	p.waitOutput("tenants.json reloaded", 5*time.Second)

	p.signal(syscall.SIGTERM)
	if code := p.wait(20 * time.Second); code != 0 {
		t.Errorf("serve exited with %d, want 0", code)
	}
	// Without a running server, tenants reload says so.
	if r := f.run("", "tenants", "reload"); r.code == 0 || !strings.Contains(r.stderr, "no running server") {
		t.Errorf("tenants reload without a server: %v", r)
	}
}

// SIGTERM while a request is in flight: the server stops accepting, lets the
// request finish with a real response, then exits 0 and removes its pid file.
// The request is a login whose body arrives only after the SIGTERM.
func TestE2EGracefulShutdown(t *testing.T) {
	t.Parallel()
	f := newFixture(t, true, "mandant1")
	f.migrate()
	f.createUser("mandant1", "a@x.ch", "A B", "admin", pwAdmin)
	p := f.start(nil, "serve")
	p.waitReady(f.base())
	pidFile := filepath.Join(f.dataDir, "rpcrm.pid")
	if !fileExists(pidFile) {
		t.Fatalf("no pid file %s while serving", pidFile)
	}

	conn, err := net.Dial("tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := loginBody("a@x.ch", pwAdmin)
	fmt.Fprintf(conn, "POST /api/v1/auth/login HTTP/1.1\r\nHost: mandant1.test\r\nContent-Type: application/json\r\n"+
		"Content-Length: %d\r\n\r\n%s", len(body), body[:10])
	time.Sleep(300 * time.Millisecond) // the server has read the headers and waits for the body

	p.signal(syscall.SIGTERM)
	p.waitOutput("shutting down", 5*time.Second)
	if !pollUntil(3*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", f.addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	}) {
		t.Errorf("the server still accepts connections after SIGTERM")
	}
	time.Sleep(300 * time.Millisecond)
	if p.exited() {
		t.Fatalf("serve exited with a request in flight\nstderr:\n%s", p.stderr.String())
	}

	if _, err := io.WriteString(conn, body[10:]); err != nil {
		t.Fatalf("writing the rest of the body: %v", err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("in-flight request got no response: %v", err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(data), "access_token") {
		t.Errorf("in-flight login: %d %s, want 200 with tokens", resp.StatusCode, data)
	}

	if code := p.wait(20 * time.Second); code != 0 {
		t.Errorf("serve exited with %d after SIGTERM, want 0", code)
	}
	if !strings.Contains(p.stderr.String(), `"msg":"stopped"`) {
		t.Errorf("serve did not log \"stopped\":\n%s", p.stderr.String())
	}
	if fileExists(pidFile) {
		t.Errorf("pid file %s left behind", pidFile)
	}
}

func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}

func readTrim(path string) (string, error) {
	data, err := os.ReadFile(path)
	return strings.TrimSpace(string(data)), err
}

// A bad tenants.json stops serve before anything starts (exit 2), and the
// operator is told every problem (loadTenants: "a configuration error (exit 2)
// that names every problem"), not just that there are some.
func TestE2EServeBadTenantsFile(t *testing.T) {
	t.Parallel()
	f := newFixture(t, false)
	f.env["DATABASE_URL"] = "postgres://rpcrm_app:x@127.0.0.1:1/rpcrm_none?sslmode=disable&connect_timeout=2"
	writeFile(t, f.tenants, `{"tenants": [
  {"id": "mandant1", "name": "M1", "hosts": ["shared.test"]},
  {"id": "Bad Id", "name": "M2", "hosts": ["shared.test"]}
]}
`)
	r := f.run("", "serve")
	if r.code != 2 {
		t.Fatalf("want exit 2: %v", r)
	}
	for _, w := range []string{"RPCRM_TENANTS_FILE", "tenants[1].id", "tenants[1].hosts[0]"} {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr does not name %q: %q", w, r.stderr)
		}
	}
	if fileExists(f.dataDir) {
		t.Errorf("the data directory was created before the tenants file was checked")
	}
}

// `rpcrm tenants reload` validates the file first "so the operator sees the
// problems here and not only in the server log" (tenants.go): the problems
// must reach stderr.
func TestE2ETenantsReloadNamesProblems(t *testing.T) {
	t.Parallel()
	f := newFixture(t, false)
	writeFile(t, f.tenants, `{"tenants": [{"id": "mandant1", "name": "M1", "hosts": ["mandant1.test"]}, {"id": "Bad Id", "name": "M2", "hosts": ["b.test"]}]}`)
	r := f.run("", "tenants", "reload")
	if r.code != 2 {
		t.Fatalf("want exit 2: %v", r)
	}
	if !strings.Contains(r.stderr, "tenants[1].id") || !strings.Contains(r.stderr, `"Bad Id"`) {
		t.Errorf("stderr does not show the problem (tenants[1].id, \"Bad Id\"): %q", r.stderr)
	}
}
