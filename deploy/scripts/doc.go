// Package scripts holds the operator's shell scripts (update-environment.sh,
// setup-server.sh) and the Go tests that run them; it has no Go code.
package scripts
