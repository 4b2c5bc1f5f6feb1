// Package pgserver starts a private PostgreSQL server from the binaries
// installed on the machine, for `rpcrm dev` (data kept and reused between
// runs) and for tests when no server is available. It is not meant for
// production, where the operator runs PostgreSQL.
package pgserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

const (
	readyTimeout  = 30 * time.Second
	pollInterval  = 50 * time.Millisecond
	stopTimeout   = 15 * time.Second
	portAttempts  = 3
	logTailLines  = 25
	maxLogSize    = 16 << 20
	maxSocketPath = 107 // sun_path is 108 bytes including the terminating NUL
)

// Options configures Start.
type Options struct {
	// Dir is the data directory. A missing or empty one is initialised with
	// initdb; one that holds a cluster (PG_VERSION) is reused as it is.
	Dir string
	// Port is the TCP port on 127.0.0.1; 0 picks a free one.
	Port int
	// User is the superuser created by initdb (default "postgres"). On reuse
	// it must be a role that exists in the cluster.
	User string
	// Password is User's password; required, because the server accepts TCP
	// connections from every local account. On reuse it must match the one
	// the cluster was created with: keeping it is the caller's job.
	Password string
	// Settings are extra server settings passed as -c name=value, e.g.
	// fsync=off for throw-away test clusters.
	Settings map[string]string
	// BinDir holds initdb and postgres; empty means FindBinDir (or, for an
	// existing cluster, the binaries of the major version that created it).
	BinDir string
	// LogFile receives the server's output; default Dir + ".log". It lives
	// outside Dir so that an empty Dir can still be given to initdb.
	LogFile string
	// Logger reports start and stop; nil discards.
	Logger *slog.Logger
}

// Server is a running PostgreSQL postmaster started by Start.
type Server struct {
	cmd      *exec.Cmd
	port     int
	user     string
	password string
	dir      string
	logFile  string
	logger   *slog.Logger

	done    chan struct{}
	waitErr error // set before done is closed

	stopOnce sync.Once
	stopErr  error
}

// Start initialises o.Dir if needed, starts postgres on 127.0.0.1 and returns
// once it answers queries. ctx bounds only the start; the server runs until
// Stop (or until this process dies, on Linux).
func Start(ctx context.Context, o Options) (*Server, error) {
	if o.Dir == "" {
		return nil, errors.New("pgserver: Options.Dir is empty")
	}
	if o.Password == "" {
		return nil, errors.New("pgserver: Options.Password is empty")
	}
	if o.User == "" {
		o.User = "postgres"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("pgserver: %w", err)
	}
	if o.LogFile == "" {
		o.LogFile = dir + ".log"
	}
	if o.LogFile, err = filepath.Abs(o.LogFile); err != nil {
		return nil, fmt.Errorf("pgserver: %w", err)
	}

	u, err := serverUser()
	if err != nil {
		return nil, fmt.Errorf("pgserver: %w", err)
	}
	// A dev server appends to the same log on every run; keep one older
	// generation so that it cannot grow without bound.
	if fi, err := os.Stat(o.LogFile); err == nil && fi.Size() > maxLogSize {
		_ = os.Rename(o.LogFile, o.LogFile+".1")
	}
	clusterVersion, err := prepareDir(dir, u)
	if err != nil {
		return nil, fmt.Errorf("pgserver: %w", err)
	}
	binDir, err := binDirForCluster(o.BinDir, clusterVersion)
	if err != nil {
		return nil, fmt.Errorf("pgserver: %w", err)
	}

	if clusterVersion == "" {
		t0 := time.Now()
		if err := initdb(ctx, binDir, dir, o, u); err != nil {
			return nil, fmt.Errorf("pgserver: %w", err)
		}
		o.Logger.Info("postgres cluster created", "dir", dir, "user", o.User, "elapsed", time.Since(t0).Round(time.Millisecond))
	}

	// A port picked by us may be taken by someone else before postgres binds
	// it (parallel test processes do exactly this), so try a few.
	attempts := 1
	if o.Port == 0 {
		attempts = portAttempts
	}
	waitUntil := time.Now().Add(oldProcessWait)
	for i := 1; ; i++ {
		port := o.Port
		if port == 0 {
			if port, err = freePort(); err != nil {
				return nil, fmt.Errorf("pgserver: %w", err)
			}
		}
		s, err := start(ctx, binDir, dir, port, o, u)
		if err == nil {
			return s, nil
		}
		if errors.Is(err, errOldProcesses) && time.Now().Before(waitUntil) {
			o.Logger.Info("waiting for the processes of a crashed postgres to end", "dir", dir)
			select {
			case <-time.After(200 * time.Millisecond):
			case <-ctx.Done():
				return nil, fmt.Errorf("pgserver: %w", err)
			}
			i--
			continue
		}
		if i >= attempts || !errors.Is(err, errPortTaken) {
			return nil, fmt.Errorf("pgserver: %w", err)
		}
		o.Logger.Debug("postgres port taken, trying another", "port", port)
	}
}

var (
	errPortTaken   = errors.New("port already in use")
	errCredentials = errors.New("wrong credentials")
	// errOldProcesses: after a crash the old server's children may hold its
	// shared memory for a moment after the postmaster itself has gone.
	errOldProcesses = errors.New("processes of the previous server still running")
)

// oldProcessWait bounds how long Start waits for a crashed server's
// processes to disappear.
const oldProcessWait = 10 * time.Second

// prepareDir creates dir (owned by the server account) if needed and tells
// an existing cluster (its major version) from a directory to initialise ("").
func prepareDir(dir string, u osUser) (string, error) {
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", err
	}
	if err := u.checkTraversable(parent); err != nil {
		return "", err
	}
	if v, err := os.ReadFile(filepath.Join(dir, "PG_VERSION")); err == nil {
		if err := checkNotRunning(dir); err != nil {
			return "", err
		}
		return strings.TrimSpace(string(v)), nil
	}
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.Mkdir(dir, 0o700); err != nil {
			return "", err
		}
	case err != nil:
		return "", err
	case len(entries) > 0:
		return "", fmt.Errorf("data directory %s is not empty but holds no PostgreSQL cluster (no PG_VERSION): "+
			"empty it or choose another directory", dir)
	}
	return "", u.chown(dir)
}

// checkNotRunning refuses a data directory that a live postmaster holds.
// postgres would refuse it as well, but only in its log and after we waited
// for it; a stale postmaster.pid left by a crash is postgres's to handle.
func checkNotRunning(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		return nil
	}
	lines := strings.Split(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(lines[0]))
	if err != nil || pid <= 0 {
		return nil
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return nil
	}
	// The PID may have been recycled after a crash; a postmaster's working
	// directory is its data directory, which tells the two apart on Linux.
	if cwd, err := os.Stat(fmt.Sprintf("/proc/%d/cwd", pid)); err == nil {
		if di, err := os.Stat(dir); err == nil && !os.SameFile(cwd, di) {
			return nil
		}
	}
	port := ""
	if len(lines) > 3 {
		port = strings.TrimSpace(lines[3])
	}
	return fmt.Errorf("data directory %s is in use by a running PostgreSQL server (pid %d, port %s): "+
		"stop it first or use another directory", dir, pid, port)
}

func initdb(ctx context.Context, binDir, dir string, o Options, u osUser) error {
	// initdb reads the password from a file that the server account must be
	// able to read; the data directory's parent is known to be reachable.
	pw, err := os.CreateTemp(filepath.Dir(dir), ".pgserver-pwfile-*")
	if err != nil {
		return err
	}
	defer os.Remove(pw.Name())
	_, werr := pw.WriteString(o.Password + "\n")
	if err := errors.Join(werr, pw.Close(), u.chown(pw.Name())); err != nil {
		return fmt.Errorf("password file: %w", err)
	}

	logf, offset, err := openLog(o.LogFile)
	if err != nil {
		return err
	}
	defer logf.Close()

	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "initdb"),
		"-D", dir,
		"-U", o.User,
		"--pwfile="+pw.Name(),
		"--auth-local=trust",
		"--auth-host=scram-sha-256",
		"-E", "UTF8",
		"--locale=C.UTF-8",
		"--no-sync",
		"--no-instructions",
	)
	prepareCmd(cmd, logf, u)
	if err := cmd.Run(); err != nil {
		// initdb cleans up after itself unless it was killed; a half-made
		// cluster would otherwise pass for one (PG_VERSION comes early) on
		// the next start. The directory was empty before, so nothing is lost.
		clearDir(dir)
		return fmt.Errorf("initdb %s: %w\n%s", dir, err, logTail(o.LogFile, offset))
	}
	return nil
}

func clearDir(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		_ = os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}

func start(ctx context.Context, binDir, dir string, port int, o Options, u osUser) (*Server, error) {
	socketDir := dir
	if len(dir)+len("/.s.PGSQL.65535") > maxSocketPath {
		// A Unix socket is only a convenience for psql; too long a path
		// would stop the server from starting, so go without one.
		socketDir = ""
	}
	args := []string{
		"-D", dir,
		"-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=" + socketDir,
	}
	names := make([]string, 0, len(o.Settings))
	for name := range o.Settings {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		args = append(args, "-c", name+"="+o.Settings[name])
	}

	logf, offset, err := openLog(o.LogFile)
	if err != nil {
		return nil, err
	}
	// Not CommandContext: ctx ends with the start, the server must not.
	cmd := exec.Command(filepath.Join(binDir, "postgres"), args...)
	prepareCmd(cmd, logf, u)
	t0 := time.Now()
	err = cmd.Start()
	logf.Close() // the child holds its own descriptor
	if err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}

	s := &Server{
		cmd:      cmd,
		port:     port,
		user:     o.User,
		password: o.Password,
		dir:      dir,
		logFile:  o.LogFile,
		logger:   o.Logger,
		done:     make(chan struct{}),
	}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.done)
	}()

	if err := s.waitReady(ctx); err != nil {
		exited := s.exited()
		if stopErr := s.Stop(); stopErr != nil && !exited {
			err = fmt.Errorf("%w (and stopping it: %v)", err, stopErr)
		}
		if errors.Is(err, errCredentials) {
			return nil, err // says it all; the log would only repeat it
		}
		tail := logTail(o.LogFile, offset)
		if strings.Contains(tail, "could not bind") || strings.Contains(tail, "Address already in use") {
			err = errors.Join(err, errPortTaken)
		}
		if strings.Contains(tail, "pre-existing shared memory block") {
			err = errors.Join(err, errOldProcesses)
		}
		return nil, fmt.Errorf("%w\nserver log %s:\n%s", err, o.LogFile, tail)
	}
	o.Logger.Info("postgres ready", "dir", dir, "port", port, "log", o.LogFile,
		"elapsed", time.Since(t0).Round(time.Millisecond))
	return s, nil
}

func prepareCmd(cmd *exec.Cmd, log *os.File, u osUser) {
	// "/" because the server account may not be allowed into our working
	// directory, which also fails as "fork/exec: permission denied".
	cmd.Dir = "/"
	cmd.Stdout = log
	cmd.Stderr = log
	cmd.SysProcAttr = sysProcAttr(u)
	// PG* variables of the developer's shell (PGDATA, PGPORT, ...) must not
	// redirect the private server.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
}

// waitReady polls until a TCP connection can run a query. A TCP connect is
// used rather than pg_isready because it is what the callers will do, with
// the same credentials, so a wrong password surfaces here.
func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	var lastErr error
	for {
		err := s.ping(ctx)
		if err == nil {
			return nil
		}
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) {
			switch pgErr.Code {
			case "3D000": // no database "postgres", yet the server is up
				return nil
			case "28P01", "28000":
				return fmt.Errorf("%w: postgres in %s rejects user %q (%v): the cluster was created with other credentials",
					errCredentials, s.dir, s.user, err)
			}
		}
		lastErr = err
		select {
		case <-s.done:
			return fmt.Errorf("postgres exited during start: %v", s.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("postgres not ready: %w (last attempt: %v)", ctx.Err(), lastErr)
		case <-tick.C:
		}
	}
}

func (s *Server) ping(ctx context.Context) error {
	cfg, err := pgx.ParseConfig(s.URL("postgres"))
	if err != nil {
		return err
	}
	cfg.ConnectTimeout = time.Second
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	var one int
	return conn.QueryRow(ctx, "SELECT 1").Scan(&one)
}

// URL returns a connection URL for database as the superuser.
func (s *Server) URL(database string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(s.user, s.password),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)),
		Path:     "/" + database,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Port returns the TCP port the server listens on.
func (s *Server) Port() int { return s.port }

// Dir returns the absolute data directory.
func (s *Server) Dir() string { return s.dir }

// LogFile returns the file that receives the server's output.
func (s *Server) LogFile() string { return s.logFile }

// Done is closed when the server process has exited, whether through Stop
// or not, so that `rpcrm dev` can give up when its database dies.
func (s *Server) Done() <-chan struct{} { return s.done }

// Stop asks for a fast shutdown (SIGINT: open sessions are ended, data is
// flushed) and waits for it; a server that does not exit in time is killed
// with its whole process group. Calling Stop again returns the first result.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() { s.stopErr = s.stop() })
	return s.stopErr
}

func (s *Server) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

func (s *Server) stop() error {
	if s.exited() {
		return s.exitErr()
	}
	if err := s.cmd.Process.Signal(syscall.SIGINT); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("pgserver: stop: %w", err)
	}
	select {
	case <-s.done:
		s.logger.Info("postgres stopped", "dir", s.dir)
		return s.exitErr()
	case <-time.After(stopTimeout):
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.done
	return fmt.Errorf("pgserver: postgres in %s did not stop within %s and was killed", s.dir, stopTimeout)
}

func (s *Server) exitErr() error {
	if s.waitErr != nil {
		return fmt.Errorf("pgserver: postgres in %s exited: %w", s.dir, s.waitErr)
	}
	return nil
}

// openLog opens the log for appending and returns where this run's output
// starts, so that an error can quote this run only.
func openLog(path string) (*os.File, int64, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, 0, fmt.Errorf("server log: %w", err)
	}
	offset, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("server log: %w", err)
	}
	return f, offset, nil
}

func logTail(path string, offset int64) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	b, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > logTailLines {
		lines = lines[len(lines)-logTailLines:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// freePort asks the kernel for an unused loopback port. It is free only
// until someone else takes it, which Start handles by retrying.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
