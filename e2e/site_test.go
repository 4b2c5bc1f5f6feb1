package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rpcrm/rpcrm/pgtest"
)

// Demo logins of the browser tests, as `make run` prints them.
const (
	adminPassword = "Zuerichsee-2026"
	salesPassword = "Verkauf-Chur-2026"
)

// site is a running rpcrm with the demo tenants mandant1 and mandant2 on
// their .localhost hosts (Chromium resolves *.localhost to loopback).
type site struct {
	t       *testing.T
	dir     string
	addr    string
	env     map[string]string
	owner   string // database owner URL
	stderr  *lockedBuffer
	cmd     *exec.Cmd
	done    chan struct{}
	tenants []string
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newSite migrates a fresh database, creates the demo users, seeds
// contacts demo records per tenant and starts `rpcrm serve`.
func newSite(t *testing.T, contacts int) *site {
	t.Helper()
	needBrowser(t)
	dir := t.TempDir()
	s := &site{t: t, dir: dir, addr: freeAddr(t), tenants: []string{"mandant1", "mandant2"}}
	s.owner = pgtest.NewDatabase(t)
	tenants := `{"tenants": [
  {"id": "mandant1", "name": "Mandant 1 AG", "hosts": ["mandant1.localhost"], "locale": "de-CH"},
  {"id": "mandant2", "name": "Mandant 2 GmbH", "hosts": ["mandant2.localhost"], "locale": "de-CH"}
]}
`
	if err := os.WriteFile(filepath.Join(dir, "tenants.json"), []byte(tenants), 0o600); err != nil {
		t.Fatal(err)
	}
	s.env = map[string]string{
		"RPCRM_ENV":                "test",
		"DATABASE_URL":             pgtest.NewRoleURL(t, s.owner),
		"RPCRM_DATABASE_OWNER_URL": s.owner,
		"RPCRM_DATA_DIR":           filepath.Join(dir, "data"),
		"RPCRM_TENANTS_FILE":       filepath.Join(dir, "tenants.json"),
		"RPCRM_LISTEN":             s.addr,
		"RPCRM_COOKIE_SECURE":      "false",
		"RPCRM_LOGIN_LIMIT_IP":     "10000",
		"RPCRM_LOG_FORMAT":         "text",
	}
	s.run("", "migrate")
	for _, id := range s.tenants {
		s.run(adminPassword+"\n", "users", "create", "--tenant", id, "--email", "admin@"+id+".localhost", "--name", "Anna Admin", "--role", "admin")
		s.run(salesPassword+"\n", "users", "create", "--tenant", id, "--email", "verkauf@"+id+".localhost", "--name", "Vreni Verkauf", "--role", "sales")
		s.run("", "seed", "--tenant", id, "--contacts", fmt.Sprint(contacts))
	}
	s.start()
	return s
}

func (s *site) environ() []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range s.env {
		env = append(env, k+"="+v)
	}
	return env
}

// run runs an rpcrm command to completion and fails the test if it fails.
func (s *site) run(stdin string, args ...string) string {
	s.t.Helper()
	cmd := exec.Command(rpcrmBin, args...)
	cmd.Dir, cmd.Env, cmd.Stdin = s.dir, s.environ(), strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		s.t.Fatalf("rpcrm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (s *site) start() {
	s.t.Helper()
	s.stderr = &lockedBuffer{}
	s.cmd = exec.Command(rpcrmBin, "serve")
	s.cmd.Dir, s.cmd.Env, s.cmd.Stdout, s.cmd.Stderr = s.dir, s.environ(), s.stderr, s.stderr
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.done = make(chan struct{})
	go func() { s.cmd.Wait(); close(s.done) }() //nolint:errcheck
	s.t.Cleanup(func() {
		s.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			s.cmd.Process.Kill() //nolint:errcheck
			<-s.done
		}
		if s.t.Failed() {
			s.t.Logf("server log:\n%s", s.stderr.String())
		}
	})
	exited := func() bool {
		select {
		case <-s.done:
			return true
		default:
			return false
		}
	}
	waitReady(s.t, "http://"+s.addr, exited, s.stderr.String)
}

// url is the address of path on a tenant's host.
func (s *site) url(tenantID, path string) string {
	return "http://" + tenantID + ".localhost:" + portOf(s.addr) + path
}

// query runs SQL as the database owner and returns the first column of the
// first row as text. The owner is a superuser, whom row-level security does
// not restrict: queries must name their tenant, e.g. with inTenant and the
// tenant's slug as $1.
func (s *site) query(sql string, args ...any) string {
	s.t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.owner)
	if err != nil {
		s.t.Fatal(err)
	}
	defer conn.Close(ctx)
	var out any
	if err := conn.QueryRow(ctx, sql, args...).Scan(&out); err != nil {
		s.t.Fatalf("%s: %v", sql, err)
	}
	b, _ := json.Marshal(out)
	return strings.Trim(string(b), `"`)
}

// inTenant restricts a query to the tenant whose slug is $1.
const inTenant = `tenant_id = (SELECT id FROM tenants WHERE slug = $1)`
