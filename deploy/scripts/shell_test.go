package scripts_test

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// shellScripts lists every shell script under deploy/.
func shellScripts(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir("..", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".sh") {
			out = append(out, p)
		}
		return err
	})
	if err != nil || len(out) < 2 {
		t.Fatalf("scripts: %v %v", out, err)
	}
	return out
}

// Every script parses (bash -n), is executable and is shellcheck-clean.
func TestShellScripts(t *testing.T) {
	scripts := shellScripts(t)
	for _, s := range scripts {
		if out, err := exec.Command("bash", "-n", s).CombinedOutput(); err != nil {
			t.Errorf("bash -n %s: %v\n%s", s, err, out)
		}
		if st, err := os.Stat(s); err != nil || st.Mode()&0o111 == 0 {
			t.Errorf("%s is not executable", s)
		}
	}
	needTools(t, "shellcheck")
	args := append([]string{"--severity=style", "--external-sources"}, scripts...)
	if out, err := exec.Command("shellcheck", args...).CombinedOutput(); err != nil {
		t.Errorf("shellcheck: %v\n%s", err, out)
	}
}
