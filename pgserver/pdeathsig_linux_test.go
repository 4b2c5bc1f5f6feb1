package pgserver

import (
	"bufio"
	"context"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

const helperEnv = "PGSERVER_TEST_HELPER_DIR"

// TestHelperServer is not a test: TestServerDiesWithParent runs the test
// binary again with helperEnv set, and this function then plays a program
// that starts a server and is killed before it can stop it.
func TestHelperServer(t *testing.T) {
	dir := os.Getenv(helperEnv)
	if dir == "" {
		return
	}
	s, err := Start(context.Background(), Options{Dir: dir, Password: "pw"})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("ready", s.Port())
	select {}
}

func TestServerDiesWithParent(t *testing.T) {
	requireBinaries(t)
	dir := filepath.Join(reachableTempDir(t), "data")
	cmd := osexec.Command(os.Args[0], "-test.run=^TestHelperServer$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || len(line) < 5 || line[:5] != "ready" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper: %q, %v", line, err)
	}

	// SIGKILL leaves the helper no chance to call Stop.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	pidFile := filepath.Join(dir, "postmaster.pid")
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(pidFile); os.IsNotExist(err) {
			return // the server shut down cleanly on its own
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(pidFile)
			var pid int
			if _, err := fmt.Sscan(string(b), &pid); err == nil && pid > 0 {
				syscall.Kill(pid, syscall.SIGKILL) // do not leave it to the next test run
			}
			t.Fatalf("server still running 20s after its parent died; postmaster.pid:\n%s", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
