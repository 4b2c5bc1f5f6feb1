package scripts_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// setup-server.sh in its dry-run mode on this machine: it inspects the
// machine, prints every change it would make, and makes none.
func TestSetupServerDryRun(t *testing.T) {
	for _, mode := range []string{"systemd", "compose"} {
		t.Run(mode, func(t *testing.T) {
			tmp := t.TempDir()
			cmd := exec.Command("bash", "setup-server.sh", "--dry-run", "--mode", mode, "--domain", "meinecrm.ch", "--email", "ops@meinecrm.ch")
			cmd.Env = append(os.Environ(), "DEPLOY_ROOT="+filepath.Join(tmp, "opt"), "SSHD_DROPIN="+filepath.Join(tmp, "sshd.conf"),
				"SYSTEMD_DIR="+filepath.Join(tmp, "systemd"), "ACME_WEBROOT="+filepath.Join(tmp, "acme"))
			b, err := cmd.CombinedOutput()
			out := string(b)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			// Firewall: default deny, and exactly 22, 80 and 443 opened.
			var opened []string
			for _, m := range regexp.MustCompile(`(?m)^\+ ufw allow (\S+)$`).FindAllStringSubmatch(out, -1) {
				opened = append(opened, m[1])
			}
			if strings.Join(opened, " ") != "22/tcp 80/tcp 443/tcp" && !strings.Contains(out, "ufw status") {
				t.Errorf("ufw opens %v", opened)
			}
			want := []string{"+ ufw default deny incoming", "/opt/prod", "/opt/test", "/opt/dev", "/opt/backups", "/opt/marketing",
				"+ certbot certonly --webroot", "-d meinecrm.ch -d www.meinecrm.ch -d test.meinecrm.ch -d dev.meinecrm.ch",
				"== done (dry run: nothing changed)"}
			if mode == "systemd" {
				want = append(want, "rpcrm@.service", "CREATE ROLE rpcrm_owner LOGIN CREATEROLE PASSWORD '***'",
					"rp_crm_prod", "rp_crm_test", "rp_crm_dev", "--port 5433", "--port 5434")
			} else {
				want = append(want, "compose.prod.yml", "compose.dev.yml", "docker.io")
			}
			for _, w := range want {
				if !strings.Contains(out, w) {
					t.Errorf("dry run lacks %q", w)
				}
			}
			// Secrets never appear, and nothing was written.
			if regexp.MustCompile(`PASSWORD '[^*]`).MatchString(out) {
				t.Errorf("dry run prints a password:\n%s", out)
			}
			if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
				t.Errorf("dry run created %v", entries)
			}
		})
	}

	// Bad options are refused with a one-line message.
	out, err := exec.Command("bash", "setup-server.sh", "--dry-run", "--mode", "kubernetes").CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "--mode must be systemd or compose") {
		t.Errorf("bad mode: %v %s", err, out)
	}
}
