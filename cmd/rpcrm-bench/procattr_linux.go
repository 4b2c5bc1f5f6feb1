package main

import "syscall"

// sysProcAttr puts the server in its own process group, so that a Ctrl-C in
// the terminal reaches only the benchmark, which then stops the server in
// order; and asks the kernel to send it SIGTERM should the benchmark die
// without stopping it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
