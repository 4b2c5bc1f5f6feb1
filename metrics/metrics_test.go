package metrics

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// values returns the current value of every unlabelled gauge among names.
func values(t *testing.T, m *Metrics, names ...string) map[string]float64 {
	t.Helper()
	fams, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range fams {
		if slices.Contains(names, f.GetName()) {
			for _, s := range f.GetMetric() {
				got[f.GetName()] = s.GetGauge().GetValue()
			}
		}
	}
	return got
}

var backupNames = []string{"rpcrm_backup_status_up", "rpcrm_backup_last_attempt_timestamp_seconds",
	"rpcrm_backup_last_success_timestamp_seconds", "rpcrm_backup_last_failed"}

func TestBackupStatus(t *testing.T) {
	path := filepath.Join(t.TempDir(), "prod_backup_status.json")
	m := New()
	m.RegisterBackupStatus(path)
	check := func(what string, want map[string]float64) {
		t.Helper()
		if got := values(t, m, backupNames...); !maps.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", what, got, want)
		}
	}
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	attempt := float64(time.Date(2026, 3, 1, 1, 0, 0, 0, time.UTC).Unix())

	// No file yet (a fresh server before the first 02:00 run): only
	// status_up 0, no invented timestamp for an age alert to compare with.
	check("missing file", map[string]float64{"rpcrm_backup_status_up": 0})

	// A good run; the file is read at every scrape, no restart needed.
	write(`{"last_attempt":"2026-03-01T02:00:00+01:00","last_success":"2026-03-01T02:00:07.5+01:00","last_error":"","last_manifest":"/opt/rp-crm/backups/prod_manifest.json"}`)
	check("good run", map[string]float64{"rpcrm_backup_status_up": 1, "rpcrm_backup_last_failed": 0,
		"rpcrm_backup_last_attempt_timestamp_seconds": attempt, "rpcrm_backup_last_success_timestamp_seconds": attempt + 7.5})

	// A failed run after it keeps the last success.
	write(`{"last_attempt":"2026-03-02T02:00:00+01:00","last_success":"2026-03-01T02:00:07.5+01:00","last_error":"pg_dump: connection refused","last_manifest":""}`)
	check("failed run", map[string]float64{"rpcrm_backup_status_up": 1, "rpcrm_backup_last_failed": 1,
		"rpcrm_backup_last_attempt_timestamp_seconds": attempt + 86400, "rpcrm_backup_last_success_timestamp_seconds": attempt + 7.5})

	// Never succeeded: no success series at all.
	write(`{"last_attempt":"2026-03-02T02:00:00+01:00","last_error":"disk full","last_manifest":""}`)
	check("never succeeded", map[string]float64{"rpcrm_backup_status_up": 1, "rpcrm_backup_last_failed": 1,
		"rpcrm_backup_last_attempt_timestamp_seconds": attempt + 86400})

	// A broken file (the writer renames atomically, but a hand edit might) reads as down.
	write(`{"last_attempt": "yesterday"`)
	check("broken file", map[string]float64{"rpcrm_backup_status_up": 0})
}

func TestDatabaseUp(t *testing.T) {
	var down bool
	m := New()
	m.RegisterDatabase(func(ctx context.Context) error {
		if down {
			<-ctx.Done() // an unreachable database hangs until the timeout
			return errors.New("connection refused")
		}
		return nil
	}, 50*time.Millisecond)
	if got := values(t, m, "rpcrm_database_up"); got["rpcrm_database_up"] != 1 {
		t.Errorf("database answering: %v", got)
	}
	down = true
	start := time.Now()
	got := values(t, m, "rpcrm_database_up", "rpcrm_database_ping_seconds")
	if got["rpcrm_database_up"] != 0 || got["rpcrm_database_ping_seconds"] < 0.05 {
		t.Errorf("database hanging: %v", got)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("scrape waited %v for a hanging database", d)
	}
}

func TestNames(t *testing.T) {
	m := New()
	m.RegisterPool(func() PoolStats { return PoolStats{} })
	m.RegisterBackupStatus(filepath.Join(t.TempDir(), "missing.json"))
	m.RegisterDatabase(func(context.Context) error { return nil }, time.Second)
	names, err := m.Names()
	if err != nil {
		t.Fatal(err)
	}
	// Label vectors nobody has used yet, histogram series, scrape-time series
	// that are absent right now, and the runtime collectors are all listed.
	for _, want := range []string{
		"rpcrm_http_requests_total", "rpcrm_logins_total", "rpcrm_records_created_total",
		"rpcrm_http_request_duration_seconds_bucket", "rpcrm_http_request_duration_seconds_count",
		"rpcrm_backup_last_success_timestamp_seconds", "rpcrm_database_up", "rpcrm_db_pool_acquired_connections",
		"process_resident_memory_bytes", "process_start_time_seconds", "go_goroutines",
	} {
		if !slices.Contains(names, want) {
			t.Errorf("Names lacks %s", want)
		}
	}
	for _, bad := range []string{"rpcrm_http_requests_total_bucket", "rpcrm_logins_total_count"} {
		if slices.Contains(names, bad) {
			t.Errorf("Names invents %s", bad)
		}
	}
}
