package systemd_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// verify runs `systemd-analyze verify` on rpcrm@ENV.service with its drop-in,
// /opt/rp-crm moved into a temporary root (verify checks that ExecStart
// exists), and returns what it printed: any output is a warning (an unknown
// key is only a warning for systemd, but a mistake for us).
func verify(t *testing.T, env string, edit func(unit string) string) string {
	t.Helper()
	tmp := t.TempDir()
	root, units := filepath.Join(tmp, "root"), filepath.Join(tmp, "units")
	for _, d := range []string{filepath.Join(root, env, "bin"), filepath.Join(root, env, "data"), filepath.Join(units, "rpcrm@"+env+".service.d")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, env, "bin", "rpcrm"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	unit, err := os.ReadFile("rpcrm@.service")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(unit), "/opt/rp-crm", root)
	if edit != nil {
		text = edit(text)
	}
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(units, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("rpcrm@.service", text)
	dropIn, err := os.ReadFile(filepath.Join("rpcrm@"+env+".service.d", "limits.conf"))
	if err != nil {
		t.Fatal(err)
	}
	write(filepath.Join("rpcrm@"+env+".service.d", "limits.conf"), string(dropIn))
	cmd := exec.Command("systemd-analyze", "verify", "--man=no", filepath.Join(units, "rpcrm@"+env+".service"))
	cmd.Dir = tmp
	out, err := cmd.CombinedOutput()
	if err != nil {
		return strings.TrimSpace(string(out)) + " (" + err.Error() + ")"
	}
	return strings.TrimSpace(string(out))
}

func TestUnitsVerify(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("systemd-analyze not installed")
		}
		t.Skip("systemd-analyze not installed")
	}
	for _, env := range []string{"prod", "test", "dev"} {
		if out := verify(t, env, nil); out != "" {
			t.Errorf("rpcrm@%s.service:\n%s", env, out)
		}
	}
	// The check catches a misspelt key and a missing binary.
	if out := verify(t, "prod", func(u string) string { return strings.Replace(u, "ProtectClock=", "ProtectClok=", 1) }); !strings.Contains(out, "ProtectClok") {
		t.Errorf("a misspelt key passed: %q", out)
	}
	if out := verify(t, "prod", func(u string) string { return strings.Replace(u, "/bin/rpcrm serve", "/bin/rpcrm-missing serve", 1) }); !strings.Contains(out, "rpcrm-missing") {
		t.Errorf("a missing binary passed: %q", out)
	}
}

// The unit runs what update-environment.sh installs, with the env file it
// passes, and limits memory as the seed's table and the compose files say.
func TestUnitsMatchScripts(t *testing.T) {
	unit, _ := os.ReadFile("rpcrm@.service")
	script, _ := os.ReadFile("../scripts/update-environment.sh")
	for _, want := range []string{
		"ExecStart=/opt/rp-crm/%i/bin/rpcrm serve --env-file /opt/rp-crm/%i/rpcrm.env",
		"User=rpcrm-%i", "ReadWritePaths=/opt/rp-crm/%i/data", "ExecReload=/bin/kill -HUP $MAINPID",
	} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("unit lacks %q", want)
		}
	}
	for _, want := range []string{`APP_BIN:=$ENV_DIR/bin/rpcrm`, `ENV_FILE:=$ENV_DIR/rpcrm.env`, `DEPLOY_ROOT:=/opt/rp-crm`,
		"systemctl start rpcrm@$ENV_NAME.service"} {
		if !strings.Contains(string(script), want) {
			t.Errorf("update-environment.sh lacks %q", want)
		}
	}
	for env, max := range map[string]string{"prod": "MemoryMax=1228M", "test": "MemoryMax=920M", "dev": "MemoryMax=716M"} {
		b, err := os.ReadFile(filepath.Join("rpcrm@"+env+".service.d", "limits.conf"))
		if err != nil || !strings.Contains(string(b), max+"\n") {
			t.Errorf("%s limits: %v %s", env, err, b)
		}
		compose, _ := os.ReadFile("../compose/compose." + env + ".yml")
		if mem := strings.TrimPrefix(max, "MemoryMax="); !strings.Contains(string(compose), "memory: "+strings.TrimSuffix(mem, "M")+"m") {
			t.Errorf("compose.%s.yml app memory differs from %s", env, max)
		}
	}
}
