package main

// End-to-end tests of the rpcrm binary: TestMain builds it once, every test
// runs it as a separate process with a small, explicit environment (PATH,
// HOME and the settings of the test — never the test process's own
// RPCRM_* variables), its own working directory, data directory,
// tenants.json, listen port and, where it needs one, its own database.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
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

// e2eVersion is stamped into the test binary so that `rpcrm version` can be checked.
const e2eVersion = "v0.0.0-e2e"

// rpcrmBin is the binary built by TestMain.
var rpcrmBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rpcrm-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	rpcrmBin = filepath.Join(dir, "rpcrm")
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	build := exec.Command(goTool, "build", "-ldflags", "-X main.version="+e2eVersion, "-o", rpcrmBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		os.RemoveAll(dir)
		fmt.Fprintln(os.Stderr, "e2e: go build:", err)
		os.Exit(1)
	}
	defer os.RemoveAll(dir)
	// Runs the tests, then stops pgtest's private server if it started one;
	// returning lets the testing package exit with m.Run's code.
	pgtest.Main(m)
}

// environ is the complete environment of a child: PATH and HOME from the
// test process, plus env. Nothing else leaks in.
func environ(env map[string]string) []string {
	out := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// cliResult is the outcome of one finished rpcrm run.
type cliResult struct {
	stdout, stderr string
	code           int
}

func (r cliResult) String() string {
	return fmt.Sprintf("exit %d\n--- stdout:\n%s--- stderr:\n%s", r.code, r.stdout, r.stderr)
}

// runCLI runs rpcrm to completion in dir with exactly env and stdin.
func runCLI(t *testing.T, dir string, env map[string]string, stdin string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, rpcrmBin, args...)
	cmd.Dir = dir
	cmd.Env = environ(env)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("rpcrm %s: %v", strings.Join(args, " "), err)
	}
	if ctx.Err() != nil {
		t.Fatalf("rpcrm %s did not finish within 60 s\nstderr:\n%s", strings.Join(args, " "), stderr.String())
	}
	return cliResult{stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
}

// runRefusing runs a command that must stop on its own (a server that has
// to refuse to start) and fails fast if it is still running after 20 s
// instead of waiting for runCLI's general limit.
func runRefusing(t *testing.T, dir string, env map[string]string, args ...string) cliResult {
	t.Helper()
	p := startCLI(t, dir, env, args...)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("rpcrm %s is still running after 20 s: it should have refused to start", strings.Join(args, " "))
	}
	return cliResult{stdout: p.stdout.String(), stderr: p.stderr.String(), code: p.cmd.ProcessState.ExitCode()}
}

// singleLine fails unless s is exactly one non-empty line (with its newline).
func singleLine(t *testing.T, what, s string) string {
	t.Helper()
	line := strings.TrimSuffix(s, "\n")
	if line == "" || strings.Contains(line, "\n") || !strings.HasSuffix(s, "\n") {
		t.Errorf("%s: want exactly one line, got %q", what, s)
	}
	return line
}

// syncBuffer collects a child's output while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// proc is a long-running rpcrm (serve, dev).
type proc struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	stdout syncBuffer
	stderr syncBuffer
	done   chan struct{}
}

// startCLI starts rpcrm in the background. When the test ends a process
// still running is stopped like an operator would (SIGTERM), and killed if
// it does not stop; on failure its output is logged.
func startCLI(t *testing.T, dir string, env map[string]string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: "rpcrm " + strings.Join(args, " "), done: make(chan struct{})}
	p.cmd = exec.Command(rpcrmBin, args...)
	p.cmd.Dir = dir
	p.cmd.Env = environ(env)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	p.cmd.WaitDelay = 5 * time.Second
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("%s: %v", p.name, err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.exited() {
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(20 * time.Second):
				_ = p.cmd.Process.Kill()
				<-p.done
			}
		}
		if t.Failed() {
			t.Logf("%s (pid %d):\n--- stdout:\n%s--- stderr:\n%s", p.name, p.cmd.Process.Pid, p.stdout.String(), p.stderr.String())
		}
	})
	return p
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *proc) signal(sig os.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("%s: signal %v: %v", p.name, sig, err)
	}
}

// wait waits for the process to exit and returns its exit code (-1 if a
// signal killed it).
func (p *proc) wait(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		p.t.Fatalf("%s did not exit within %s\nstderr:\n%s", p.name, timeout, p.stderr.String())
		return 0
	}
}

// waitOutput waits until the process's stdout or stderr contains s.
func (p *proc) waitOutput(s string, timeout time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if strings.Contains(p.stdout.String(), s) || strings.Contains(p.stderr.String(), s) {
			return
		}
		if p.exited() {
			p.t.Fatalf("%s exited (code %d) before printing %q\nstdout:\n%s\nstderr:\n%s", p.name,
				p.cmd.ProcessState.ExitCode(), s, p.stdout.String(), p.stderr.String())
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s did not print %q within %s\nstderr:\n%s", p.name, s, timeout, p.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitReady polls /readyz until it answers 200.
func (p *proc) waitReady(base string) {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, _, err := httpDo("GET", base+"/readyz", "", "", "")
		if err == nil && code == http.StatusOK {
			return
		}
		if p.exited() {
			p.t.Fatalf("%s exited (code %d) before it was ready\nstderr:\n%s", p.name, p.cmd.ProcessState.ExitCode(), p.stderr.String())
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s not ready within 30 s (last: %d, %v)\nstderr:\n%s", p.name, code, err, p.stderr.String())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

var httpClient = &http.Client{
	Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
	Timeout:   15 * time.Second,
}

// httpDo sends one request; host, when set, is the Host header (the tenant).
func httpDo(method, url, host, body, token string) (int, []byte, error) {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		return 0, nil, err
	}
	if host != "" {
		req.Host = host
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

func loginBody(email, password string) string {
	b, _ := json.Marshal(map[string]string{"email": email, "password": password})
	return string(b)
}

// login posts to /api/v1/auth/login and returns the status and, on 200, the access token.
func login(t *testing.T, base, host, email, password string) (int, string) {
	t.Helper()
	code, body, err := httpDo("POST", base+"/api/v1/auth/login", host, loginBody(email, password), "")
	if err != nil {
		t.Fatalf("login %s at %s: %v", email, host, err)
	}
	if code != http.StatusOK {
		return code, ""
	}
	var pair struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	if err := json.Unmarshal(body, &pair); err != nil || pair.AccessToken == "" {
		t.Fatalf("login %s at %s: 200 without an access token: %s", email, host, body)
	}
	return code, pair.AccessToken
}

type meInfo struct {
	ID     string `json:"id"`
	Email  string `json:"email"`
	Name   string `json:"name"`
	Tenant struct {
		ID string `json:"id"`
	} `json:"tenant"`
	Roles []struct {
		Key string `json:"key"`
	} `json:"roles"`
}

// me calls GET /api/v1/me with token and fails unless it answers 200.
func me(t *testing.T, base, host, token string) meInfo {
	t.Helper()
	code, body, err := httpDo("GET", base+"/api/v1/me", host, "", token)
	if err != nil || code != http.StatusOK {
		t.Fatalf("GET /api/v1/me at %s: %d %v %s", host, code, err, body)
	}
	var m meInfo
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("GET /api/v1/me: %v: %s", err, body)
	}
	return m
}

// hostStatus is the status of an unauthenticated GET /api/v1/me at host:
// 401 when the host names a tenant, 404 when it names none.
func hostStatus(t *testing.T, base, host string) int {
	t.Helper()
	code, body, err := httpDo("GET", base+"/api/v1/me", host, "", "")
	if err != nil {
		t.Fatalf("GET /api/v1/me at %s: %v", host, err)
	}
	if code != http.StatusUnauthorized && code != http.StatusNotFound {
		t.Fatalf("GET /api/v1/me at %s: unexpected %d %s", host, code, body)
	}
	return code
}

// pollUntil retries cond until it holds or timeout passes.
func pollUntil(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// tenantsDoc returns a tenants.json with one tenant per id, host ID.test.
func tenantsDoc(ids ...string) string {
	type tj struct {
		ID    string   `json:"id"`
		Name  string   `json:"name"`
		Hosts []string `json:"hosts"`
	}
	var doc struct {
		Tenants []tj `json:"tenants"`
	}
	for _, id := range ids {
		doc.Tenants = append(doc.Tenants, tj{ID: id, Name: "Firma " + id, Hosts: []string{id + ".test"}})
	}
	b, _ := json.MarshalIndent(doc, "", "  ")
	return string(b) + "\n"
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fixture is one test's world: a working directory with tenants.json, a data
// directory, a listen address and, optionally, a database with an owner
// (superuser) URL and an application role URL (the role does not exist
// until something runs migrate).
type fixture struct {
	t       *testing.T
	dir     string
	dataDir string
	tenants string
	addr    string
	owner   string
	app     string
	env     map[string]string
}

func newFixture(t *testing.T, withDB bool, tenantIDs ...string) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{
		t:       t,
		dir:     dir,
		dataDir: filepath.Join(dir, "data"),
		tenants: filepath.Join(dir, "tenants.json"),
		addr:    freeAddr(t),
	}
	writeFile(t, f.tenants, tenantsDoc(tenantIDs...))
	f.env = map[string]string{
		"RPCRM_ENV":            "prod",
		"RPCRM_DATA_DIR":       f.dataDir,
		"RPCRM_TENANTS_FILE":   f.tenants,
		"RPCRM_LISTEN":         f.addr,
		"RPCRM_LOGIN_LIMIT_IP": "10000",
	}
	if withDB {
		f.owner = pgtest.NewDatabase(t)
		f.app = pgtest.NewRoleURL(t, f.owner)
		f.env["DATABASE_URL"] = f.app
		f.env["RPCRM_DATABASE_OWNER_URL"] = f.owner
	}
	return f
}

func (f *fixture) base() string { return "http://" + f.addr }

// envWith returns a copy of the fixture's environment with kv (pairs of
// name, value) applied; an empty value removes the name.
func (f *fixture) envWith(kv ...string) map[string]string {
	env := make(map[string]string, len(f.env))
	for k, v := range f.env {
		env[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(env, kv[i])
		} else {
			env[kv[i]] = kv[i+1]
		}
	}
	return env
}

func (f *fixture) run(stdin string, args ...string) cliResult {
	f.t.Helper()
	return runCLI(f.t, f.dir, f.env, stdin, args...)
}

// mustRun runs rpcrm and fails the test unless it exits 0.
func (f *fixture) mustRun(stdin string, args ...string) cliResult {
	f.t.Helper()
	r := runCLI(f.t, f.dir, f.env, stdin, args...)
	if r.code != 0 {
		f.t.Fatalf("rpcrm %s: %v", strings.Join(args, " "), r)
	}
	return r
}

func (f *fixture) start(env map[string]string, args ...string) *proc {
	f.t.Helper()
	if env == nil {
		env = f.env
	}
	return startCLI(f.t, f.dir, env, args...)
}

// migrate runs `rpcrm migrate` (creating the application role).
func (f *fixture) migrate() {
	f.t.Helper()
	f.mustRun("", "migrate")
}

// createUser runs `rpcrm users create` with the password on stdin.
func (f *fixture) createUser(tenantID, email, name, role, password string) {
	f.t.Helper()
	f.mustRun(password+"\n", "users", "create", "--tenant", tenantID, "--email", email, "--name", name, "--role", role)
}

// ownerQueryRow runs one query as the database owner (a superuser, so
// row-level security does not hide anything) and scans its row into dest.
func (f *fixture) ownerQueryRow(sql string, args []any, dest ...any) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, f.owner)
	if err != nil {
		f.t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if err := conn.QueryRow(ctx, sql, args...).Scan(dest...); err != nil {
		f.t.Fatalf("%s: %v", sql, err)
	}
}

func (f *fixture) ownerExec(sql string, args ...any) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, f.owner)
	if err != nil {
		f.t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		f.t.Fatalf("%s: %v", sql, err)
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
