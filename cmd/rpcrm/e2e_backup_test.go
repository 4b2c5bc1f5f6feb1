package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rpcrm/rpcrm/pgtest"
)

// backupStatus is the monitoring file's contract.
type backupStatus struct {
	LastAttempt  string  `json:"last_attempt"`
	LastSuccess  *string `json:"last_success"`
	LastError    string  `json:"last_error"`
	LastManifest string  `json:"last_manifest"`
}

func readBackupStatus(t *testing.T, dir string) backupStatus {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "prod_backup_status.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st backupStatus
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// finalBackupFiles lists the backup directory without the status and lock
// files.
func finalBackupFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if n := e.Name(); n != "prod_backup_status.json" && n != ".prod_backup.lock" {
			out = append(out, n)
		}
	}
	return out
}

func TestCLIBackupAndRestore(t *testing.T) {
	if os.Getenv("CI") == "" {
		if _, err := os.Stat("/usr/lib/postgresql"); err != nil {
			t.Skip("no PostgreSQL client programs")
		}
	}
	f := newFixture(t, true, "mandant1")
	f.migrate()
	f.createUser("mandant1", "anna@mandant1.test", "Anna Muster", "admin", "Zuerichsee-2026-x")
	backups := filepath.Join(f.dir, "backups")
	f.env["RPCRM_BACKUP_DATABASE_URL"] = pgtest.NewRoleURL(t, f.owner)
	f.env["RPCRM_BACKUP_DIR"] = backups

	// Without the role: a failure in one line, recorded for monitoring.
	r := f.run("", "backup")
	if r.code != 1 {
		t.Fatalf("backup without its role: %v", r)
	}
	singleLine(t, "backup without its role", lastLine(r.stderr)+"\n")
	if st := readBackupStatus(t, backups); st.LastError == "" || st.LastSuccess != nil || st.LastAttempt == "" {
		t.Errorf("status after failure: %+v", st)
	}
	if files := finalBackupFiles(t, backups); len(files) != 0 {
		t.Errorf("a failed backup left %v", files)
	}

	f.mustRun("", "backup", "--init-role")
	// Old backups of this environment go, other environments' stay.
	for _, name := range []string{"prod_db_20200101_020000.dump", "prod_manifest_20200101_020000.json", "dev_db_20200101_020000.dump", "notes.txt"} {
		writeFile(t, filepath.Join(backups, name), "old")
	}
	r = f.mustRun("", "backup")
	manifest := lastLine(r.stdout)
	if !strings.HasPrefix(filepath.Base(manifest), "prod_manifest_") || !fileExists(manifest) {
		t.Fatalf("last line of stdout is not the manifest: %v", r)
	}
	for _, gone := range []string{"prod_db_20200101_020000.dump", "prod_manifest_20200101_020000.json"} {
		if fileExists(filepath.Join(backups, gone)) {
			t.Errorf("%s survived the retention", gone)
		}
	}
	for _, kept := range []string{"dev_db_20200101_020000.dump", "notes.txt"} {
		if !fileExists(filepath.Join(backups, kept)) {
			t.Errorf("retention deleted %s", kept)
		}
	}
	st := readBackupStatus(t, backups)
	if st.LastSuccess == nil || st.LastError != "" || st.LastManifest != manifest {
		t.Errorf("status after success: %+v", st)
	}

	// A failing off-site hook fails the run; the last success stays.
	hookEnv := f.envWith("RPCRM_BACKUP_HOOK", "false")
	r = runCLI(t, f.dir, hookEnv, "", "backup")
	if r.code != 1 || !strings.Contains(r.stderr, "RPCRM_BACKUP_HOOK") {
		t.Errorf("backup with a failing hook: %v", r)
	}
	if st2 := readBackupStatus(t, backups); st2.LastSuccess == nil || *st2.LastSuccess != *st.LastSuccess || !strings.Contains(st2.LastError, "hook") {
		t.Errorf("status after hook failure: %+v (before %+v)", st2, st)
	}

	// pg_dump dying half-way leaves no file under a final name.
	fake := t.TempDir()
	for _, name := range []string{"initdb", "postgres"} {
		writeFile(t, filepath.Join(fake, name), "#!/bin/sh\nexit 1\n")
		os.Chmod(filepath.Join(fake, name), 0o755)
	}
	writeFile(t, filepath.Join(fake, "pg_dump"), "#!/bin/sh\ncase \"$1\" in --version) echo 'pg_dump (PostgreSQL) 99'; exit 0;; esac\n"+
		"for a; do case \"$a\" in --file=*) printf 'PGDMP half' > \"${a#--file=}\";; esac; done\necho 'pg_dump: error: killed' >&2\nexit 1\n")
	os.Chmod(filepath.Join(fake, "pg_dump"), 0o755)
	before := finalBackupFiles(t, backups)
	r = runCLI(t, f.dir, f.envWith("RPCRM_PG_BINDIR", fake), "", "backup")
	if r.code != 1 || !strings.Contains(r.stderr, "pg_dump: error: killed") {
		t.Errorf("backup with a failing pg_dump: %v", r)
	}
	if after := finalBackupFiles(t, backups); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Errorf("failed backup changed the directory: %v → %v", before, after)
	}

	// Restore refuses the full database in one line.
	r = f.run("", "restore", "--manifest", manifest)
	if r.code != 1 || !strings.Contains(singleLine(t, "restore into a full database", r.stderr), "not empty") {
		t.Errorf("restore into the full database: %v", r)
	}

	// A fresh dev environment: refused without --anonymise, restored with it.
	dev := pgtest.NewDatabase(t)
	devEnv := f.envWith("RPCRM_ENV", "dev", "RPCRM_DATABASE_OWNER_URL", dev, "DATABASE_URL", pgtest.NewRoleURL(t, dev),
		"RPCRM_DATA_DIR", filepath.Join(f.dir, "devdata"), "RPCRM_BACKUP_DATABASE_URL", "")
	r = runCLI(t, f.dir, devEnv, "", "restore", "--manifest", manifest)
	if r.code != 1 || !strings.Contains(singleLine(t, "prod into dev", r.stderr), "--anonymise") {
		t.Errorf("prod backup into dev: %v", r)
	}
	r = runCLI(t, f.dir, devEnv, "", "restore", "--manifest", manifest, "--anonymise")
	if r.code != 0 || !strings.Contains(r.stdout, "restored and anonymised the prod backup") {
		t.Fatalf("anonymised restore: %v", r)
	}
	r = runCLI(t, f.dir, devEnv, "", "users", "list", "--tenant", "mandant1")
	if r.code != 0 || strings.Contains(r.stdout, "anna@mandant1.test") || !strings.Contains(r.stdout, "@example.com") {
		t.Errorf("users after anonymised restore: %v", r)
	}
}
