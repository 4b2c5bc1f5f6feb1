//go:build unix

package backup

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockDir takes an exclusive lock per environment in the backup directory,
// so that two runs (a timer and a manual one) never write at once.
func lockDir(dir, env string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, "."+env+"_backup.lock"), os.O_RDWR|os.O_CREATE, backupFileMode)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("another backup of %s is running (lock %s)", env, f.Name())
	}
	return func() { f.Close() }, nil
}
