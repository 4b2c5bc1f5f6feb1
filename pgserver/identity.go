package pgserver

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// osUser is the account initdb and postgres run as.
type osUser struct {
	name   string
	uid    uint32
	gid    uint32
	groups []uint32
	// drop is set when we are root: PostgreSQL refuses to run as root, so
	// the child processes must switch to this account.
	drop bool
}

// serverUser picks the account for the server: ourselves, unless we are
// root, in which case the conventional "postgres" account.
func serverUser() (osUser, error) {
	if os.Geteuid() != 0 {
		u := osUser{name: "current user", uid: uint32(os.Geteuid()), gid: uint32(os.Getegid())}
		if gs, err := os.Getgroups(); err == nil {
			for _, g := range gs {
				u.groups = append(u.groups, uint32(g))
			}
		}
		return u, nil
	}
	pu, err := user.Lookup("postgres")
	if err != nil {
		return osUser{}, fmt.Errorf("running as root, and PostgreSQL refuses to run as root, "+
			"but there is no OS user \"postgres\" to run it as (%v): create it or run as a normal user", err)
	}
	uid, err1 := strconv.ParseUint(pu.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(pu.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return osUser{}, fmt.Errorf("OS user postgres: %w", err)
	}
	u := osUser{name: "postgres", uid: uint32(uid), gid: uint32(gid), drop: true}
	if ids, err := pu.GroupIds(); err == nil {
		for _, s := range ids {
			if g, err := strconv.ParseUint(s, 10, 32); err == nil {
				u.groups = append(u.groups, uint32(g))
			}
		}
	}
	return u, nil
}

func (u osUser) credential() *syscall.Credential {
	if !u.drop {
		return nil
	}
	return &syscall.Credential{Uid: u.uid, Gid: u.gid, Groups: u.groups}
}

// chown hands a path we created to the server account; a no-op when the
// server runs as ourselves.
func (u osUser) chown(path string) error {
	if !u.drop {
		return nil
	}
	return os.Chown(path, int(u.uid), int(u.gid))
}

func (u osUser) inGroup(gid uint32) bool {
	if gid == u.gid {
		return true
	}
	for _, g := range u.groups {
		if g == gid {
			return true
		}
	}
	return false
}

// checkTraversable makes sure the server account can reach dir. Without this,
// a 0700 root-owned ancestor (what t.TempDir and os.MkdirTemp create) shows up
// only as the misleading "fork/exec .../initdb: permission denied" or as an
// initdb error far from its cause. Only mode bits are checked; an ACL that
// grants access is not seen.
func (u osUser) checkTraversable(dir string) error {
	if u.uid == 0 {
		return nil
	}
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if ok && !u.canSearch(fi.Mode().Perm(), st.Uid, st.Gid) {
			return fmt.Errorf("directory %s (mode %04o, owner uid %d) cannot be entered by OS user %s (uid %d), "+
				"which the PostgreSQL server runs as: put the data directory elsewhere or chmod o+x %s",
				d, fi.Mode().Perm(), st.Uid, u.name, u.uid, d)
		}
		if parent := filepath.Dir(d); parent == d {
			return nil
		}
	}
}

func (u osUser) canSearch(perm os.FileMode, owner, group uint32) bool {
	switch {
	case owner == u.uid:
		return perm&0o100 != 0
	case u.inGroup(group):
		return perm&0o010 != 0
	default:
		return perm&0o001 != 0
	}
}
