package backup_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDeployFiles checks the shipped timer and service with systemd's own
// verifier (the binary path swapped for one that exists here) and the cron
// file's shape.
func TestDeployFiles(t *testing.T) {
	src := "../deploy/backup"
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	dir := t.TempDir()
	for _, name := range []string{"rpcrm-backup@.service", "rpcrm-backup@.timer"} {
		data, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(string(data), "/opt/rp-crm/%i/bin/rpcrm", "/bin/true")
		if !strings.Contains(string(data), "%i") {
			t.Errorf("%s is not a template unit", name)
		}
		if err := os.WriteFile(filepath.Join(dir, strings.Replace(name, "@", "@prod", 1)), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The backup runs as the environment's user that setup-server.sh creates
	// (rpcrm-ENV, in the group rpcrm-backup that owns the backup directory),
	// the same user as the server (rpcrm@.service): it owns the uploads and
	// the lock and status files the server and the next run use.
	service, _ := os.ReadFile(filepath.Join(src, "rpcrm-backup@.service"))
	server, _ := os.ReadFile("../deploy/systemd/rpcrm@.service")
	setup, _ := os.ReadFile("../deploy/scripts/setup-server.sh")
	for _, want := range []string{"User=rpcrm-%i", "SupplementaryGroups=rpcrm-backup"} {
		if !strings.Contains(string(service), "\n"+want+"\n") {
			t.Errorf("rpcrm-backup@.service lacks %s", want)
		}
	}
	if !strings.Contains(string(server), "\nUser=rpcrm-%i\n") {
		t.Error("rpcrm@.service does not run as rpcrm-%i: the backup service must use the same user")
	}
	for _, want := range []string{"useradd --system", `--groups rpcrm-backup "$u"`, "u=rpcrm-$e", "chgrp rpcrm-backup \"$DEPLOY_ROOT/backups\""} {
		if !strings.Contains(string(setup), want) {
			t.Errorf("setup-server.sh does not create the users and group the backup runs as (%q)", want)
		}
	}
	timer, _ := os.ReadFile(filepath.Join(src, "rpcrm-backup@.timer"))
	if !strings.Contains(string(timer), "OnCalendar=*-*-* 02:00:00") {
		t.Error("the timer does not run at 02:00")
	}
	cmd := exec.Command("systemd-analyze", "verify", "--man=no",
		filepath.Join(dir, "rpcrm-backup@prod.service"), filepath.Join(dir, "rpcrm-backup@prod.timer"))
	out, err := cmd.CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}

	cron, err := os.ReadFile(filepath.Join(src, "rpcrm-backup.cron"))
	if err != nil {
		t.Fatal(err)
	}
	jobs := 0
	for line := range strings.Lines(string(cron)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || strings.Contains(strings.SplitN(line, " ", 2)[0], "=") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 7 || strings.Join(f[:5], " ") != "0 2 * * *" || f[5] != "root" {
			t.Errorf("cron line is not a daily 02:00 job of root: %q", line)
		}
		if !strings.Contains(line, "runuser -u rpcrm-$e -- ") || !strings.Contains(line, "rpcrm backup --env-file") {
			t.Errorf("cron line does not run rpcrm backup: %q", line)
		}
		jobs++
	}
	if jobs != 1 {
		t.Errorf("%d cron jobs, want 1", jobs)
	}
}
