package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rpcrm/rpcrm/pgserver"
)

// toolPath finds a PostgreSQL client program (pg_dump, pg_restore, psql):
// next to the server binaries pgserver would use (RPCRM_PG_BINDIR or the
// newest /usr/lib/postgresql/*/bin), else in the newest Debian directory
// that has it (a client-only install), else on PATH. pg_dump must be at
// least as new as the server, so the newest one wins.
func toolPath(name string) (string, error) {
	if dir, err := pgserver.FindBinDir(); err == nil {
		if p := filepath.Join(dir, name); isExecutable(p) {
			return p, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return majorOf(dirs[i]) > majorOf(dirs[j]) })
	for _, dir := range dirs {
		if p := filepath.Join(dir, name); isExecutable(p) {
			return p, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s not found under /usr/lib/postgresql/*/bin or on PATH: install the PostgreSQL client "+
		"(Debian/Ubuntu: apt-get install postgresql-client) or set %s", name, pgserver.BinDirEnv)
}

func majorOf(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode().Perm()&0o111 != 0
}

// pgxOnlyParams are connection-string parameters pgx understands and libpq
// rejects ("invalid URI query parameter").
var pgxOnlyParams = []string{"default_query_exec_mode", "statement_cache_capacity", "description_cache_capacity",
	"min_read_buffer_size", "servicefile"}

// libpqConn turns a connection string that pgx accepts into the arguments
// and environment for a libpq program. The password travels in PGPASSWORD,
// never on the command line, where every local user could read it.
func libpqConn(connString string) (dbname string, env []string, err error) {
	cfg, err := pgconn.ParseConfig(connString)
	if err != nil {
		return "", nil, errors.New("invalid connection string")
	}
	env = []string{"PGAPPNAME=rpcrm-backup", "PGCONNECT_TIMEOUT=10"}
	if cfg.Password != "" {
		env = append(env, "PGPASSWORD="+cfg.Password)
	}
	if u, perr := url.Parse(connString); perr == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		if u.User != nil {
			u.User = url.User(u.User.Username())
		}
		q := u.Query()
		for k := range q {
			if strings.HasPrefix(k, "pool_") || slices.Contains(pgxOnlyParams, k) {
				q.Del(k)
			}
		}
		u.RawQuery = q.Encode()
		return u.String(), env, nil
	}
	return withoutKey(connString, "password"), env, nil
}

// withoutKey removes one key from a key=value connection string, honouring
// libpq's quoting ('a b', \' and \\ inside quotes).
func withoutKey(s, drop string) string {
	var out []string
	i := 0
	for i < len(s) {
		for i < len(s) && s[i] == ' ' {
			i++
		}
		start := i
		for i < len(s) && s[i] != '=' && s[i] != ' ' {
			i++
		}
		key := s[start:i]
		for i < len(s) && s[i] == ' ' {
			i++
		}
		if i < len(s) && s[i] == '=' {
			i++
		}
		for i < len(s) && s[i] == ' ' {
			i++
		}
		vstart := i
		if i < len(s) && s[i] == '\'' {
			i++
			for i < len(s) && s[i] != '\'' {
				if s[i] == '\\' {
					i++
				}
				i++
			}
			i++
		} else {
			for i < len(s) && s[i] != ' ' {
				i++
			}
		}
		val := s[vstart:min(i, len(s))]
		if key != "" && key != drop {
			out = append(out, key+"="+val)
		}
	}
	return strings.Join(out, " ")
}

// tailBuffer keeps the last bytes written to it: enough of a program's
// stderr to explain a failure without holding an unbounded log.
type tailBuffer struct{ b []byte }

const tailMax = 8 << 10

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > tailMax {
		t.b = t.b[len(t.b)-tailMax:]
	}
	return len(p), nil
}

// message is the most telling line of the output: the first that says
// ERROR or error, else the last non-empty one.
func (t *tailBuffer) message() string {
	lines := strings.Split(strings.TrimSpace(string(t.b)), "\n")
	for _, l := range lines {
		if strings.Contains(l, "ERROR") || strings.Contains(l, "error:") || strings.Contains(l, "FATAL") {
			return strings.TrimSpace(l)
		}
	}
	return strings.TrimSpace(lines[len(lines)-1])
}

// runTool runs a PostgreSQL program and turns a failure into an error with
// its own explanation.
func runTool(ctx context.Context, env []string, stdout io.Writer, name string, args ...string) error {
	path, err := toolPath(name)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = stdout
	var stderr tailBuffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if msg := stderr.message(); msg != "" {
			return fmt.Errorf("%s: %s", name, msg)
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// toolVersion returns e.g. "pg_dump (PostgreSQL) 15.20".
func toolVersion(ctx context.Context, name string) (string, error) {
	var out bytes.Buffer
	if err := runTool(ctx, nil, &out, name, "--version"); err != nil {
		return "", err
	}
	return strings.TrimSpace(out.String()), nil
}
