package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	readyTimeout = time.Minute      // serve applies migrations first
	stopTimeout  = 40 * time.Second // the server's own RPCRM_SHUTDOWN_TIMEOUT is 30s
	rssInterval  = 100 * time.Millisecond
)

// serverProc is `rpcrm serve` running as a child process.
type serverProc struct {
	cmd      *exec.Cmd
	logPath  string
	done     chan struct{}
	waitErr  error // set before done is closed
	stopTook time.Duration
	stopDone bool
}

// startServer starts `bin serve` with env, its output going to logPath, and
// returns once GET /readyz on listen answers 200.
func startServer(ctx context.Context, bin string, env []string, logPath, listen string) (*serverProc, error) {
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child has its own descriptor
	cmd := exec.Command(bin, "serve")
	cmd.Env = env
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s serve: %w", bin, err)
	}
	s := &serverProc{cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.done)
	}()
	if err := s.waitReady(ctx, "http://"+listen+"/readyz"); err != nil {
		if !s.exited() {
			s.stop() //nolint:errcheck // the start failed; that is the error to report
		}
		return nil, fmt.Errorf("%w%s", err, s.logTail())
	}
	return s, nil
}

func (s *serverProc) waitReady(ctx context.Context, readyURL string) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	last := "no answer"
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, readyURL, nil)
		resp, err := client.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body) //nolint:errcheck
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-s.done:
			return fmt.Errorf("rpcrm serve exited during start: %v", s.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("rpcrm serve not ready after %s (last: %s)", readyTimeout, last)
		case <-tick.C:
		}
	}
}

func (s *serverProc) pid() int { return s.cmd.Process.Pid }

func (s *serverProc) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

func (s *serverProc) stopped() bool { return s.stopDone }

// stop sends SIGTERM and waits for the exit; a server that does not stop in
// time is killed. It returns the exit code (-1 if killed by a signal).
func (s *serverProc) stop() (int, error) {
	s.stopDone = true
	t0 := time.Now()
	if !s.exited() {
		if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
			return -1, fmt.Errorf("stop server: %w", err)
		}
	}
	select {
	case <-s.done:
	case <-time.After(stopTimeout):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
		return -1, fmt.Errorf("the server did not stop within %s of SIGTERM and was killed%s", stopTimeout, s.logTail())
	}
	s.stopTook = time.Since(t0)
	code := s.cmd.ProcessState.ExitCode()
	if code != 0 {
		return code, fmt.Errorf("the server exited with %v after SIGTERM%s", s.waitErr, s.logTail())
	}
	return 0, nil
}

// logTail returns the end of the server's log, for error messages.
func (s *serverProc) logTail() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil || len(bytes.TrimSpace(b)) == 0 {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return "\nserver log (" + s.logPath + "):\n  " + strings.Join(lines, "\n  ")
}

// readMemStatus returns VmRSS and VmHWM (the peak of VmRSS over the
// process's life) of pid, in bytes, from /proc/PID/status.
func readMemStatus(pid int) (rss, hwm int64, err error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	found := 0
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		fields := strings.Fields(v) // "12345 kB"
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, 0, fmt.Errorf("/proc/%d/status: unexpected %s line %q", pid, k, sc.Text())
		}
		n, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/%d/status: %s: %w", pid, k, err)
		}
		if k == "VmRSS" {
			rss = n * 1024
		} else {
			hwm = n * 1024
		}
		found++
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	if found != 2 {
		return 0, 0, fmt.Errorf("/proc/%d/status: no VmRSS or VmHWM", pid)
	}
	return rss, hwm, nil
}

// rssSampler reads VmRSS of a process at a fixed interval and keeps the peak.
type rssSampler struct {
	quit, done chan struct{}
	peak       int64
	samples    int
}

func startRSSSampler(pid int, every time.Duration) *rssSampler {
	s := &rssSampler{quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if rss, _, err := readMemStatus(pid); err == nil {
				s.peak = max(s.peak, rss)
				s.samples++
			}
			select {
			case <-s.quit:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// stop ends the sampling and returns the peak VmRSS and the number of samples.
func (s *rssSampler) stop() (int64, int) {
	close(s.quit)
	<-s.done
	return s.peak, s.samples
}

// processCPU returns the user+system CPU time of pid from /proc/PID/stat.
func processCPU(pid int) (time.Duration, error) {
	_, d, err := procStat(strconv.Itoa(pid))
	return d, err
}

// procStat returns the command name and the user+system CPU time of the
// process pid from /proc/PID/stat.
func procStat(pid string) (comm string, cpu time.Duration, err error) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return "", 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	i, j := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if i < 0 || j < i {
		return "", 0, errors.New("malformed /proc/PID/stat")
	}
	f := strings.Fields(string(b[j+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return "", 0, errors.New("malformed /proc/PID/stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return "", 0, err
	}
	return string(b[i+1 : j]), ticks(ut + st), nil
}

// postgresCPU returns the CPU time used so far by each PostgreSQL backend
// connected to database: the processes named postgres whose title (which
// PostgreSQL sets to "postgres: ... ROLE DATABASE HOST(PORT) STATE") names it.
// Backends of other databases on the same server are not counted.
func postgresCPU(database string) (map[string]time.Duration, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	m := map[string]time.Duration{}
	for _, e := range entries {
		if c := e.Name()[0]; c < '0' || c > '9' {
			continue
		}
		comm, d, err := procStat(e.Name())
		if err != nil || comm != "postgres" {
			continue // gone meanwhile, or not PostgreSQL
		}
		title, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !slices.Contains(strings.Fields(string(title)), database) {
			continue
		}
		m[e.Name()] = d
	}
	return m, nil
}

// cpuDiff is the CPU time the processes in after used since before; a
// process that ended in between is missing from both sums.
func cpuDiff(before, after map[string]time.Duration) time.Duration {
	var d time.Duration
	for pid, t := range after {
		d += t - before[pid]
	}
	return d
}

// machineCPU returns the busy and total CPU time of the machine, summed
// over all CPUs, from /proc/stat.
func machineCPU() (busy, total time.Duration, err error) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil {
		return 0, 0, err
	}
	fields := strings.Fields(line)
	if len(fields) < 5 || fields[0] != "cpu" {
		return 0, 0, errors.New("malformed /proc/stat")
	}
	var sum, idle int64
	for i, v := range fields[1:] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, 0, err
		}
		if i >= 8 { // guest and guest_nice are already counted in user and nice
			break
		}
		sum += n
		if i == 3 || i == 4 { // idle, iowait
			idle += n
		}
	}
	return ticks(sum - idle), ticks(sum), nil
}

// machineBusyOver returns the share of the machine's CPU time that was busy
// over the next d; -1 if unknown.
func machineBusyOver(ctx context.Context, d time.Duration) float64 {
	b0, t0, err := machineCPU()
	if err != nil {
		return -1
	}
	select {
	case <-ctx.Done():
		return -1
	case <-time.After(d):
	}
	b1, t1, err := machineCPU()
	if err != nil || t1 <= t0 {
		return -1
	}
	return float64(b1-b0) / float64(t1-t0)
}

// selfCPU returns the CPU time this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ticks converts clock ticks (USER_HZ, 100 on every Linux platform Go
// supports) to a duration.
func ticks(n int64) time.Duration { return time.Duration(n) * 10 * time.Millisecond }

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
