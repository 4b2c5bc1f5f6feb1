package pgserver

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
)

// ErrNoBinaries reports that no PostgreSQL server binaries (initdb and
// postgres) could be found. Test helpers check for it with errors.Is to tell
// "tool missing" apart from a real failure.
var ErrNoBinaries = errors.New("no PostgreSQL server binaries found")

// BinDirEnv names the environment variable that overrides where the server
// binaries are looked up.
const BinDirEnv = "RPCRM_PG_BINDIR"

// debianRoot is where Debian and Ubuntu install one directory per major
// version; the server binaries are not on PATH there.
const debianRoot = "/usr/lib/postgresql"

// FindBinDir returns the directory that holds initdb and postgres: the one
// named by RPCRM_PG_BINDIR if set, else the newest /usr/lib/postgresql/*/bin,
// else the directory of initdb on PATH (Homebrew and most non-Debian systems).
// The error wraps ErrNoBinaries and says what to install.
func FindBinDir() (string, error) {
	if dir := os.Getenv(BinDirEnv); dir != "" {
		if err := hasServerBinaries(dir); err != nil {
			return "", fmt.Errorf("%w: %s=%s: %v: point it at the directory that holds initdb and postgres "+
				"(Debian/Ubuntu: /usr/lib/postgresql/<major>/bin after apt-get install postgresql) or unset it",
				ErrNoBinaries, BinDirEnv, dir, err)
		}
		return dir, nil
	}
	if dir, ok := newestDebianBinDir(); ok {
		return dir, nil
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		dir := filepath.Dir(p)
		if hasServerBinaries(dir) == nil {
			return dir, nil
		}
	}
	return "", fmt.Errorf("%w under %s/*/bin or on PATH: install them "+
		"(Debian/Ubuntu: apt-get install postgresql), set %s to the directory holding initdb and postgres, "+
		"or set DATABASE_URL to an existing server", ErrNoBinaries, debianRoot, BinDirEnv)
}

// binDirForCluster prefers the binaries of the major version that created an
// existing cluster, so that installing a newer PostgreSQL next to the old one
// does not make the dev data unreadable ("database files are incompatible").
func binDirForCluster(explicit, clusterVersion string) (string, error) {
	if explicit != "" {
		if err := hasServerBinaries(explicit); err != nil {
			return "", fmt.Errorf("%w: BinDir %s: %v", ErrNoBinaries, explicit, err)
		}
		return explicit, nil
	}
	if clusterVersion != "" && os.Getenv(BinDirEnv) == "" {
		dir := filepath.Join(debianRoot, clusterVersion, "bin")
		if hasServerBinaries(dir) == nil {
			return dir, nil
		}
	}
	return FindBinDir()
}

func newestDebianBinDir() (string, bool) {
	entries, err := os.ReadDir(debianRoot)
	if err != nil {
		return "", false
	}
	type candidate struct {
		major float64
		dir   string
	}
	var found []candidate
	for _, e := range entries {
		// Majors before 10 look like "9.6", so parse as a float to order them.
		major, err := strconv.ParseFloat(e.Name(), 64)
		if err != nil {
			continue
		}
		dir := filepath.Join(debianRoot, e.Name(), "bin")
		if hasServerBinaries(dir) == nil {
			found = append(found, candidate{major, dir})
		}
	}
	if len(found) == 0 {
		return "", false
	}
	sort.Slice(found, func(i, j int) bool { return found[i].major > found[j].major })
	return found[0].dir, true
}

func hasServerBinaries(dir string) error {
	for _, name := range []string{"initdb", "postgres"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("no %s there", name)
		}
		if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			return fmt.Errorf("%s there is not executable", name)
		}
	}
	return nil
}
