//go:build !linux

package main

import "syscall"

// sysProcAttr puts the server in its own process group (see the Linux version).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
