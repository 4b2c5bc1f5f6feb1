// Package systemd holds the systemd units for running RP CRM without
// Docker, and the test that verifies them; it has no Go code.
package systemd
