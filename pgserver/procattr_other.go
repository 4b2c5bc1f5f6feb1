//go:build !linux

package pgserver

import "syscall"

// sysProcAttr puts the child in its own process group, so that a Ctrl-C in
// the terminal reaches only us and we shut the server down in order. Only
// Linux can tie the server's life to ours (Pdeathsig); elsewhere a crash of
// this program leaves the server running until it is stopped by hand.
func sysProcAttr(u osUser) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{
		Setpgid:    true,
		Credential: u.credential(),
	}
}
