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
				"SYSTEMD_DIR="+filepath.Join(tmp, "systemd"), "ACME_WEBROOT="+filepath.Join(tmp, "acme"), "NGINX_DIR="+filepath.Join(tmp, "nginx"))
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
			// nginx: the rendered configuration, the port-80 server (ACME
			// challenges) enabled before certbot asks for the certificate,
			// HTTPS after it.
			nginx := filepath.Join(tmp, "nginx")
			steps := []string{"/sites-available/rpcrm-http.conf " + nginx + "/sites-available/rpcrm-http.conf",
				"/snippets/rpcrm-tls.conf " + nginx + "/snippets/rpcrm-tls.conf",
				"+ ln -s ../sites-available/rpcrm-http.conf " + nginx + "/sites-enabled/rpcrm-http.conf",
				"+ nginx -t && systemctl reload nginx",
				"+ certbot certonly --webroot -w " + filepath.Join(tmp, "acme"),
				"--deploy-hook systemctl reload nginx",
				"+ ln -s ../sites-available/rpcrm.conf " + nginx + "/sites-enabled/rpcrm.conf"}
			at := 0
			for _, step := range steps {
				i := strings.Index(out[at:], step)
				if i < 0 {
					t.Errorf("dry run lacks %q after position %d:\n%s", step, at, out)
					break
				}
				at += i
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

	// A server set up before the backup role existed: its env file lacks the
	// role's URL, which is added (with a new password for the role).
	t.Run("env file without backup URL", func(t *testing.T) {
		tmp := t.TempDir()
		envf := filepath.Join(tmp, "opt", "prod", "rpcrm.env")
		if err := os.MkdirAll(filepath.Dir(envf), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(envf, []byte("RPCRM_ENV=prod\n"), 0o640); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("bash", "setup-server.sh", "--dry-run", "--envs", "prod")
		cmd.Env = append(os.Environ(), "DEPLOY_ROOT="+filepath.Join(tmp, "opt"), "SSHD_DROPIN="+filepath.Join(tmp, "sshd.conf"),
			"SYSTEMD_DIR="+filepath.Join(tmp, "systemd"), "NGINX_DIR="+filepath.Join(tmp, "nginx"))
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "+ append RPCRM_BACKUP_DATABASE_URL to "+envf) {
			t.Errorf("%v:\n%s", err, out)
		}
	})

	// Every placeholder of the compose env templates is filled in by the
	// setup, and each template names the backup role rpcrm backup needs.
	setup, err := os.ReadFile("setup-server.sh")
	if err != nil {
		t.Fatal(err)
	}
	for _, env := range []string{"prod", "test", "dev"} {
		tmpl, err := os.ReadFile(filepath.Join("..", "compose", env+".env.example"))
		if err != nil {
			t.Fatal(err)
		}
		for _, ph := range regexp.MustCompile(`CHANGE-ME-[A-Z-]+[A-Z]`).FindAllString(string(tmpl), -1) {
			if !strings.Contains(string(setup), `"s/`+ph+`/`) {
				t.Errorf("setup-server.sh leaves %s of %s.env.example in place", ph, env)
			}
		}
		if !regexp.MustCompile(`(?m)^RPCRM_BACKUP_DATABASE_URL=postgres://rpcrm_backup:`).Match(tmpl) {
			t.Errorf("%s.env.example has no RPCRM_BACKUP_DATABASE_URL: rpcrm backup cannot run", env)
		}
	}

	// Bad options are refused with a one-line message.
	out, err := exec.Command("bash", "setup-server.sh", "--dry-run", "--mode", "kubernetes").CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "--mode must be systemd or compose") {
		t.Errorf("bad mode: %v %s", err, out)
	}
}
