package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/rpcrm/rpcrm/pgtest"
)

// rpcrmBin is the binary built by TestMain; browserCtx the one browser
// every test opens its tabs in.
var (
	rpcrmBin   string
	chromePath string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rpcrm-e2e-browser-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	rpcrmBin = filepath.Join(dir, "rpcrm")
	build := exec.Command("go", "build", "-o", rpcrmBin, "../cmd/rpcrm")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		os.RemoveAll(dir)
		fmt.Fprintln(os.Stderr, "e2e: go build:", err)
		os.Exit(1)
	}
	chromePath = findChromium()
	defer os.RemoveAll(dir)
	defer closeBrowser()
	// Runs the tests, then stops pgtest's private server if it started one;
	// returning lets the testing package exit with m.Run's code.
	pgtest.Main(m)
}

// findChromium returns Debian's Chromium binary (the real one, not the
// /usr/bin wrapper script), or "" when none is installed.
func findChromium() string {
	if p := os.Getenv("RPCRM_CHROMIUM"); p != "" {
		return p
	}
	for _, p := range []string{"/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// needBrowser skips the test when Chromium is missing, except in CI, where
// a missing browser is a failure (.ci/run installs it).
func needBrowser(t *testing.T) {
	t.Helper()
	if chromePath != "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("Chromium is not installed (apt-get install chromium); CI must run the browser tests")
	}
	t.Skip("Chromium is not installed (apt-get install chromium)")
}

var (
	browserOnce   sync.Once
	browserCtx    context.Context
	browserCancel context.CancelFunc
	allocCancel   context.CancelFunc
)

// browser starts the one headless Chromium of this test binary.
func browser(t *testing.T) context.Context {
	t.Helper()
	needBrowser(t)
	browserOnce.Do(func() {
		profile, err := os.MkdirTemp("", "rpcrm-chromium-")
		if err != nil {
			t.Fatal(err)
		}
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(chromePath),
			chromedp.NoSandbox, // Chromium as root refuses the sandbox
			chromedp.DisableGPU,
			chromedp.UserDataDir(profile),
			chromedp.WindowSize(1280, 900),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("no-first-run", true),
			chromedp.Flag("lang", "de-CH"),
		)
		var actx context.Context
		actx, allocCancel = chromedp.NewExecAllocator(context.Background(), opts...)
		browserCtx, browserCancel = chromedp.NewContext(actx)
		if err := chromedp.Do(browserCtx); err != nil {
			t.Fatalf("start Chromium: %v", err)
		}
	})
	if browserCtx == nil {
		t.Fatal("Chromium did not start")
	}
	return browserCtx
}

func closeBrowser() {
	if browserCancel != nil {
		browserCancel()
		allocCancel()
	}
}

// tab opens a new tab (its own cookies are shared with the browser, as in
// a real browser) bounded by timeout.
func tab(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser(t))
	ctx, cancelT := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() { cancelT(); cancel() })
	return ctx
}

// incognito opens a tab in a new browser context: cookies of its own, like
// a second person at another computer.
func incognito(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser(t), chromedp.WithNewBrowserContext())
	ctx, cancelT := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() { cancelT(); cancel() })
	return ctx
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitReady(t *testing.T, base string, exited func() bool, stderr func() string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		if exited() {
			t.Fatalf("rpcrm exited before it was ready:\n%s", stderr())
		}
		if time.Now().After(deadline) {
			t.Fatalf("rpcrm not ready within 30 s:\n%s", stderr())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func portOf(addr string) string {
	_, p, _ := strings.Cut(addr, ":")
	return p
}
