package pgserver

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// requireBinaries skips only on a developer machine without PostgreSQL; in
// CI a missing tool is a failure, because .ci/run installs it.
func requireBinaries(t *testing.T) {
	t.Helper()
	if _, err := FindBinDir(); err != nil {
		if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
			t.Fatal(err)
		}
		t.Skip(err)
	}
}

// reachableTempDir returns a directory the postgres OS user can enter:
// t.TempDir is 0700 and owned by us, which would lock it out when we are root.
func reachableTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "rpcrm-pgserver-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func startServer(t *testing.T, o Options) *Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	t0 := time.Now()
	s, err := Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("started in %s on port %d", time.Since(t0).Round(time.Millisecond), s.Port())
	t.Cleanup(func() {
		if s.exited() {
			return // stopped or crashed by the test, which checked the result
		}
		if err := s.Stop(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func query(t *testing.T, url, sql string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var s string
	if err := conn.QueryRow(ctx, sql).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

func execSQL(t *testing.T, url, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func TestStartStopReuse(t *testing.T) {
	requireBinaries(t)
	dir := filepath.Join(reachableTempDir(t), "data")
	o := Options{
		Dir:      dir,
		User:     "rpcrm_owner",
		Password: "s3cret with spaces & symbols:/@",
		Settings: map[string]string{"fsync": "off"},
	}

	s := startServer(t, o)
	if got := query(t, s.URL("postgres"), "SELECT current_user"); got != "rpcrm_owner" {
		t.Errorf("current_user = %q", got)
	}
	if got := query(t, s.URL("postgres"), "SELECT current_setting('fsync')"); got != "off" {
		t.Errorf("fsync = %q, want off", got)
	}
	if got := query(t, s.URL("postgres"), "SELECT current_setting('listen_addresses')"); got != "127.0.0.1" {
		t.Errorf("listen_addresses = %q", got)
	}
	execSQL(t, s.URL("postgres"), "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')")

	// A second server on a live data directory must be refused up front.
	if _, err := Start(context.Background(), o); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second Start on a live dir: err = %v, want one saying the dir is in use", err)
	} else {
		t.Log(err)
	}

	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	select {
	case <-s.Done():
	default:
		t.Error("Done not closed after Stop")
	}
	if _, err := os.Stat(filepath.Join(dir, "postmaster.pid")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("postmaster.pid after Stop: %v", err)
	}

	s2 := startServer(t, o) // no initdb: the same cluster, maybe on another port
	if got := query(t, s2.URL("postgres"), "SELECT v FROM kept"); got != "still here" {
		t.Errorf("after restart: %q", got)
	}

	// A crash leaves postmaster.pid behind; the next start must recover.
	if err := syscall.Kill(-s2.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-s2.Done()
	if err := s2.Stop(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("Stop after a crash: err = %v, want the abnormal exit", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "postmaster.pid")); err != nil {
		t.Fatalf("expected a stale postmaster.pid after the crash: %v", err)
	}
	s3 := startServer(t, o)
	if got := query(t, s3.URL("postgres"), "SELECT v FROM kept"); got != "still here" {
		t.Errorf("after crash recovery: %q", got)
	}

	logged, err := os.ReadFile(s3.LogFile())
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(logged), "database system is ready to accept connections"); n != 3 {
		t.Errorf("log %s reports %d starts, want 3", s3.LogFile(), n)
	}
}

func TestStartWrongPassword(t *testing.T) {
	requireBinaries(t)
	dir := filepath.Join(reachableTempDir(t), "data")
	s := startServer(t, Options{Dir: dir, Password: "right"})
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	_, err := Start(context.Background(), Options{Dir: dir, Password: "wrong"})
	if err == nil || !strings.Contains(err.Error(), "other credentials") {
		t.Fatalf("err = %v, want a rejected-credentials error", err)
	}
	t.Log(err)
	if d := time.Since(t0); d > 10*time.Second {
		t.Errorf("took %s; a wrong password should fail at once, not at the ready timeout", d)
	}
	if _, err := os.Stat(filepath.Join(dir, "postmaster.pid")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("server left running after failed start: postmaster.pid: %v", err)
	}
}

func TestStartFailureQuotesLog(t *testing.T) {
	requireBinaries(t)
	dir := filepath.Join(reachableTempDir(t), "data")
	_, err := Start(context.Background(), Options{
		Dir:      dir,
		Password: "pw",
		Settings: map[string]string{"shared_buffers": "lots"},
	})
	if err == nil {
		t.Fatal("Start with an invalid setting succeeded")
	}
	if !strings.Contains(err.Error(), "shared_buffers") || !strings.Contains(err.Error(), "exited") {
		t.Errorf("error does not explain the early exit with the server log:\n%v", err)
	}
	t.Log(err)
}

func TestStartUnreachableParent(t *testing.T) {
	locked := filepath.Join(reachableTempDir(t), "locked")
	// 0700 shuts out the postgres user when we are root; 0600 shuts out
	// even the owner otherwise.
	mode := os.FileMode(0o600)
	if os.Geteuid() == 0 {
		mode = 0o700
	}
	if err := os.Mkdir(locked, mode); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(locked, 0o700) // let the cleanup remove it
	_, err := Start(context.Background(), Options{Dir: filepath.Join(locked, "data"), Password: "pw"})
	if err == nil || !strings.Contains(err.Error(), "directory "+locked+" ") {
		t.Fatalf("err = %v, want one naming %s", err, locked)
	}
	t.Log(err)
}

func TestStartNonEmptyDir(t *testing.T) {
	dir := reachableTempDir(t)
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Start(context.Background(), Options{Dir: dir, Password: "pw"})
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("err = %v, want a not-empty error", err)
	}
}

func TestFindBinDir(t *testing.T) {
	t.Run("bogus env", func(t *testing.T) {
		bogus := filepath.Join(t.TempDir(), "nope")
		t.Setenv(BinDirEnv, bogus)
		_, err := FindBinDir()
		if !errors.Is(err, ErrNoBinaries) {
			t.Fatalf("err = %v, want ErrNoBinaries", err)
		}
		if !strings.Contains(err.Error(), BinDirEnv+"="+bogus) || !strings.Contains(err.Error(), "initdb") {
			t.Errorf("error does not name the variable, the directory and the missing binary: %v", err)
		}
		t.Log(err)
	})
	t.Run("env", func(t *testing.T) {
		requireBinaries(t)
		real, err := FindBinDir()
		if err != nil {
			t.Fatal(err)
		}
		t.Setenv(BinDirEnv, real)
		got, err := FindBinDir()
		if err != nil || got != real {
			t.Fatalf("FindBinDir() = %q, %v; want %q", got, err, real)
		}
	})
}

func TestStartInitdbFailure(t *testing.T) {
	requireBinaries(t)
	dir := filepath.Join(reachableTempDir(t), "data")
	_, err := Start(context.Background(), Options{Dir: dir, User: "pg_reserved", Password: "pw"})
	if err == nil || !strings.Contains(err.Error(), "initdb") || !strings.Contains(err.Error(), "pg_") {
		t.Fatalf("err = %v, want initdb's complaint about the reserved name", err)
	}
	t.Log(err)
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Errorf("data directory after failed initdb: %d entries, %v; want it empty for the next try", len(entries), err)
	}
}
