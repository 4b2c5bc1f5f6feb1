package pgserver

import "syscall"

// sysProcAttr puts the child in its own process group, so that a Ctrl-C in
// the terminal reaches only us and we shut the server down in order, and asks
// the kernel to send it SIGINT (fast shutdown) if we die without stopping it.
// Go sets the death signal after switching credentials, so the switch does
// not clear it. The kernel sends it when the thread that started the child
// exits, which in Go happens only to threads locked with LockOSThread whose
// goroutine ends; do not call Start from such a goroutine.
func sysProcAttr(u osUser) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{
		Setpgid:    true,
		Pdeathsig:  syscall.SIGINT,
		Credential: u.credential(),
	}
}
