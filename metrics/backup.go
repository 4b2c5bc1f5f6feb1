package metrics

import (
	"encoding/json"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// BackupStatus is the file `rpcrm backup` writes atomically after every run,
// as <backupdir>/<env>_backup_status.json. LastSuccess is absent until a
// backup has succeeded once; LastError is empty after a successful run.
type BackupStatus struct {
	LastAttempt  time.Time  `json:"last_attempt"`
	LastSuccess  *time.Time `json:"last_success,omitempty"`
	LastError    string     `json:"last_error"`
	LastManifest string     `json:"last_manifest"`
}

type backupCollector struct {
	path                         string
	up, lastSuccess, lastAttempt *prometheus.Desc
	lastFailed                   *prometheus.Desc
}

// RegisterBackupStatus exports the state of the last backup run, read from
// path at every scrape (the backup runs in another process, usually from a
// timer):
//
//	rpcrm_backup_status_up                       1 if the file was read, else 0
//	rpcrm_backup_last_attempt_timestamp_seconds  when the last run started
//	rpcrm_backup_last_success_timestamp_seconds  when the last good run finished
//	rpcrm_backup_last_failed                     1 if the last run failed, else 0
//
// A missing or unreadable file yields only rpcrm_backup_status_up 0; a
// backup that never succeeded yields no last_success series. Alert rules
// therefore never compare against a made-up timestamp.
func (m *Metrics) RegisterBackupStatus(path string) {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("rpcrm_backup_"+name, help, nil, nil)
	}
	m.register(&backupCollector{
		path:        path,
		up:          d("status_up", "1 if the backup status file could be read and parsed, 0 if it is missing or broken."),
		lastSuccess: d("last_success_timestamp_seconds", "Unix time of the last successful backup."),
		lastAttempt: d("last_attempt_timestamp_seconds", "Unix time of the last backup attempt."),
		lastFailed:  d("last_failed", "1 if the last backup attempt failed, else 0."),
	})
}

func (c *backupCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.up
	ch <- c.lastSuccess
	ch <- c.lastAttempt
	ch <- c.lastFailed
}

func (c *backupCollector) Collect(ch chan<- prometheus.Metric) {
	st, err := ReadBackupStatus(c.path)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	if !st.LastAttempt.IsZero() {
		ch <- prometheus.MustNewConstMetric(c.lastAttempt, prometheus.GaugeValue, unixSeconds(st.LastAttempt))
	}
	if st.LastSuccess != nil && !st.LastSuccess.IsZero() {
		ch <- prometheus.MustNewConstMetric(c.lastSuccess, prometheus.GaugeValue, unixSeconds(*st.LastSuccess))
	}
	failed := 0.0
	if st.LastError != "" {
		failed = 1
	}
	ch <- prometheus.MustNewConstMetric(c.lastFailed, prometheus.GaugeValue, failed)
}

// ReadBackupStatus reads and parses a backup status file.
func ReadBackupStatus(path string) (*BackupStatus, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var st BackupStatus
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
