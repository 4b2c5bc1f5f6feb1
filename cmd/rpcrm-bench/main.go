// Command rpcrm-bench measures what RP CRM's HTTP stack costs on top of the
// database: on loopback, with the same number of concurrent clients, it runs
//
//	(A) GET /api/v1/me with a valid access token against the real server
//	    binary, started as a subprocess with RPCRM_ENV=prod: JWT check,
//	    tenant-scoped transaction and the principal query;
//	(B) the same database work straight through pgx from this process: the
//	    pipelined batch the server sends for every authenticated request, on
//	    a pool of the same size, connected as the same application role;
//
// one after the other, and checks the results against the performance goals
// (see docs/benchmarks.md). It sets up everything itself — a throw-away
// database, tenants, a user — and removes it again at the end.
//
// Usage:
//
//	make bench
//	go run ./cmd/rpcrm-bench -bin bin/rpcrm [-c 32] [-d 10s] [-strict]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rpcrm/rpcrm/config"
)

// The goals the benchmark checks.
const (
	goalMinRatio = 0.50                  // A's throughput at least this share of B's
	goalMaxP99   = 10 * time.Millisecond // A's p99 latency below this
	goalMaxRSS   = 80_000_000            // server's peak resident memory below this (bytes, 80 MB)
)

// Exit codes besides 0.
const (
	exitError      = 1 // setup or run failed
	exitUsage      = 2 // bad flags
	exitGoalFailed = 3 // -strict and a goal (or a validity check) failed
)

type options struct {
	bin        string
	clients    int
	duration   time.Duration
	warmup     time.Duration
	dbConns    int
	rounds     int
	order      string
	strict     bool
	cpuProfile string
	keep       bool
	waitQuiet  time.Duration
	privatePG  bool
	latencyLog string

	// The CRM scenario.
	scenario   string // all, me or crm
	contacts   int    // per tenant; companies, deals and activities follow
	growTo     int    // contacts of bench1 in the second measurement; 0: none
	crmClients int
	cursorPage int
	seed       uint64
	ops        []crmOp // the CRM scenario's operations to run (-ops)
}

func (o *options) runs(scenario string) bool { return o.scenario == "all" || o.scenario == scenario }

func main() {
	// The load generator shares the machine with the server and
	// PostgreSQL; collecting its garbage less often takes less CPU from
	// them (each collection keeps an otherwise idle CPU busy).
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(400)
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseOptions(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "rpcrm-bench:", err)
		return exitUsage
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Everything before the teardown is bounded by one deadline, so that a
	// hung server or database cannot keep the benchmark running.
	perPhase := o.warmup + o.duration + requestGrace
	budget := setupBudget + time.Minute
	if o.runs("me") {
		budget += o.waitQuiet + time.Duration(2*o.rounds)*perPhase
	}
	if o.runs("crm") {
		budget += crmBudget(o, perPhase)
	}
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()

	b := &bench{o: o, stdout: stdout, stderr: stderr}
	rep, err := b.run(ctx)
	// The teardown has contexts of its own: it must run after an interrupt
	// too. A second Ctrl-C during it ends the process at once (the server
	// then gets SIGTERM from the kernel, see sysProcAttr).
	stop()
	cleanupErr := b.cleanup()
	if cleanupErr != nil {
		fmt.Fprintln(stderr, "rpcrm-bench: cleanup:", cleanupErr)
	}
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			err = fmt.Errorf("%w (the whole run is limited to %s)", err, budget.Round(time.Second))
		}
		fmt.Fprintln(stderr, "rpcrm-bench:", err)
		return exitError
	}
	if !rep.allPassed() && o.strict {
		return exitGoalFailed
	}
	return 0
}

func parseOptions(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("rpcrm-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &options{}
	fs.StringVar(&o.bin, "bin", "bin/rpcrm", "the rpcrm server binary to measure (make bench builds it)")
	fs.IntVar(&o.clients, "c", 32, "concurrent clients")
	fs.DurationVar(&o.duration, "d", 10*time.Second, "measured duration of each phase")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "warm-up before each phase, not counted")
	fs.IntVar(&o.dbConns, "db-conns", defaultDBConns(), "database pool size of the server (RPCRM_DB_MAX_CONNS) and of (B)")
	fs.IntVar(&o.rounds, "rounds", 1, "how often to run both phases; the results of all rounds are merged")
	fs.StringVar(&o.order, "order", "BA", "order of the phases within a round: BA or AB")
	fs.BoolVar(&o.strict, "strict", false, "exit with status 3 if a goal is missed")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of this process (the load generator and (B)) to this file")
	fs.DurationVar(&o.waitQuiet, "wait-quiet", 30*time.Second, "wait up to this long for other work on the machine to end before measuring")
	fs.BoolVar(&o.privatePG, "private-pg", false, "start a private PostgreSQL even if one answers on 127.0.0.1:5432 (ignored when DATABASE_URL is set)")
	fs.StringVar(&o.latencyLog, "latency-log", "", "write every measured request (round, phase, client, start, latency, error) to this CSV file; with -scenario crm the phase is the operation and the round the size")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary directory (server log, tenants.json) for inspection")
	fs.StringVar(&o.scenario, "scenario", "all", "what to run: me (GET /api/v1/me vs. pgx), crm (the CRM scenario) or all")
	fs.IntVar(&o.contacts, "contacts", 100000, "CRM scenario: contacts per tenant (and a company per 5, a deal per 2, 3 activities per contact)")
	fs.IntVar(&o.growTo, "grow-to", 1000000, "CRM scenario: grow bench1 to this many contacts and measure again (0: don't)")
	fs.IntVar(&o.crmClients, "crm-c", 16, "CRM scenario: concurrent clients")
	fs.IntVar(&o.cursorPage, "cursor-page", 500, "CRM scenario: the page of the contact list the cursor operation reads")
	fs.Uint64Var(&o.seed, "seed", 1, "CRM scenario: seed of the generated data")
	opsFlag := fs.String("ops", "", "CRM scenario: comma-separated operations to run (default all: "+opKeys()+")")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: rpcrm-bench [flags]

Measures GET /api/v1/me against the real server binary (A) and the same
database work straight through pgx (B), on 127.0.0.1, and checks the goals:
A >= %.0f%% of B's throughput, A p99 < %s, server peak RSS < %d MB.
See docs/benchmarks.md.

Database: DATABASE_URL and RPCRM_DATABASE_OWNER_URL if set (on loopback only);
else a fresh database on postgres://postgres@127.0.0.1:5432 if it answers;
else a private server started from the installed PostgreSQL binaries.

Flags:
`, goalMinRatio*100, goalMaxP99, goalMaxRSS/1_000_000)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case o.clients < 1 || o.clients > 10000:
		return nil, fmt.Errorf("-c %d: want 1 to 10000", o.clients)
	case o.duration < 100*time.Millisecond || o.duration > time.Hour:
		return nil, fmt.Errorf("-d %s: want 100ms to 1h", o.duration)
	case o.warmup < 0 || o.warmup > 10*time.Minute:
		return nil, fmt.Errorf("-warmup %s: want 0 to 10m", o.warmup)
	case o.dbConns < 1 || o.dbConns > 1000:
		return nil, fmt.Errorf("-db-conns %d: want 1 to 1000", o.dbConns)
	case o.waitQuiet < 0 || o.waitQuiet > 10*time.Minute:
		return nil, fmt.Errorf("-wait-quiet %s: want 0 to 10m", o.waitQuiet)
	case o.rounds < 1 || o.rounds > 100:
		return nil, fmt.Errorf("-rounds %d: want 1 to 100", o.rounds)
	case o.order != "BA" && o.order != "AB":
		return nil, fmt.Errorf("-order %q: want BA or AB", o.order)
	case o.scenario != "all" && o.scenario != "me" && o.scenario != "crm":
		return nil, fmt.Errorf("-scenario %q: want all, me or crm", o.scenario)
	case o.contacts < 10 || o.contacts > 10_000_000:
		return nil, fmt.Errorf("-contacts %d: want 10 to 10000000", o.contacts)
	case o.growTo != 0 && (o.growTo <= o.contacts || o.growTo > 20_000_000):
		return nil, fmt.Errorf("-grow-to %d: want 0 (no growth) or more than -contacts, at most 20000000", o.growTo)
	case o.crmClients < 1 || o.crmClients > 10000:
		return nil, fmt.Errorf("-crm-c %d: want 1 to 10000", o.crmClients)
	case o.cursorPage < 2 || o.cursorPage > 100000:
		return nil, fmt.Errorf("-cursor-page %d: want 2 to 100000", o.cursorPage)
	}
	var err error
	if o.ops, err = selectOps(*opsFlag); err != nil {
		return nil, err
	}
	bin, err := filepath.Abs(o.bin)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(bin)
	if err != nil {
		return nil, fmt.Errorf("-bin: %v (build it with make build, or run make bench)", err)
	}
	if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
		return nil, fmt.Errorf("-bin %s is not an executable file", o.bin)
	}
	o.bin = bin
	return o, nil
}

// defaultDBConns is the server's own default for RPCRM_DB_MAX_CONNS, so that
// without -db-conns both sides run with what production runs with.
func defaultDBConns() int {
	for _, s := range config.Settings() {
		if s.Name == "RPCRM_DB_MAX_CONNS" {
			if n, err := strconv.Atoi(s.DefaultFor(config.EnvProd)); err == nil {
				return n
			}
		}
	}
	return 20
}

// bench is one run: what it set up (to be torn down) and what it measured.
type bench struct {
	o              *options
	stdout, stderr io.Writer

	tmp      string
	db       *database
	srv      *serverProc
	pgx      *pgxTarget
	http     *httpTarget
	teardown []func() error // run in reverse order by cleanup
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.stderr, "rpcrm-bench: "+format+"\n", args...)
}

func (b *bench) run(ctx context.Context) (*report, error) {
	o := b.o
	rep := &report{opts: o, cpus: runtime.NumCPU(), goVersion: runtime.Version()}

	tmp, err := os.MkdirTemp("", "rpcrm-bench-")
	if err != nil {
		return nil, err
	}
	b.tmp = tmp
	b.teardown = append(b.teardown, func() error {
		if o.keep {
			b.logf("kept %s", tmp)
			return nil
		}
		return os.RemoveAll(tmp)
	})

	// Database, tenants, schema, user.
	setupCtx, cancelSetup := context.WithTimeout(ctx, setupBudget)
	defer cancelSetup()
	db, err := setupDatabase(setupCtx, o.privatePG, b.logf)
	if err != nil {
		return nil, err
	}
	b.db = db
	b.teardown = append(b.teardown, db.close)
	rep.database = db.about

	st, err := b.prepare(setupCtx)
	if err != nil {
		return nil, err
	}
	rep.serverVersion = st.version

	// The server.
	b.logf("starting %s serve on %s", o.bin, st.listen)
	srv, err := startServer(setupCtx, o.bin, st.env, filepath.Join(tmp, "server.log"), st.listen)
	if err != nil {
		return nil, err
	}
	b.srv = srv
	b.teardown = append(b.teardown, func() error {
		if !srv.stopped() {
			b.logf("stopping the server (SIGTERM)")
			_, err := srv.stop()
			return err
		}
		return nil
	})
	rep.serverPID = srv.pid()
	if rss, _, err := readMemStatus(srv.pid()); err == nil {
		rep.startRSS = rss
	}

	// A session, and what (B) needs to query for it.
	b.http = newHTTPTarget(st.listen, benchHost, o.clients)
	sess, err := b.http.login(setupCtx, st.email, st.password)
	if err != nil {
		return nil, fmt.Errorf("%w%s", err, srv.logTail())
	}
	b.logf("logged in as %s (user %s, session %s)", st.email, sess.userID, sess.sessionID)
	if o.runs("me") {
		b.pgx, err = newPGXTarget(setupCtx, db.appURL, o.dbConns, sess)
		if err != nil {
			return nil, err
		}
		b.teardown = append(b.teardown, func() error { b.pgx.pool.Close(); return nil })
		rep.pgVersion = b.pgx.serverVersion(setupCtx)
	}
	cancelSetup()

	if rss, _, err := readMemStatus(srv.pid()); err == nil {
		rep.idleRSS = rss
	}

	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, err
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
			b.logf("CPU profile of the bench process written to %s", o.cpuProfile)
		}()
	}

	if o.runs("me") {
		if err := b.runMe(ctx, rep); err != nil {
			return nil, err
		}
	}
	if o.runs("crm") {
		if rep.crm, err = b.runCRM(ctx, st); err != nil {
			return nil, err
		}
	}

	// The lifetime peak, read before the server is stopped.
	if _, hwm, err := readMemStatus(srv.pid()); err == nil {
		rep.hwm = hwm
	} else {
		b.logf("cannot read VmHWM of the server: %v", err)
	}
	b.http.closeIdle()
	b.logf("stopping the server (SIGTERM)")
	rep.serverExit, rep.serverStopErr = srv.stop()
	rep.serverStopTook = srv.stopTook

	rep.print(b.stdout)
	return rep, nil
}

// runMe runs the phases A and B of the GET /api/v1/me scenario, strictly
// one after the other.
func (b *bench) runMe(ctx context.Context, rep *report) error {
	o, srv, db := b.o, b.srv, b.db
	// Other work on the machine skews everything below: wait a little for
	// it to end, and say so if it does not.
	rep.busyBefore = b.waitQuiet(ctx)
	lo := loadOptions{clients: o.clients, warmup: o.warmup, duration: o.duration, trace: o.latencyLog != ""}
	var latLog *latencyLog
	if o.latencyLog != "" {
		var err error
		if latLog, err = createLatencyLog(o.latencyLog); err != nil {
			return err
		}
		defer latLog.close()
	}
	for round := 1; round <= o.rounds; round++ {
		for _, ph := range o.order {
			var (
				res *phaseResult
				err error
			)
			switch ph {
			case 'B':
				b.logf("round %d/%d: (B) pgx batch, %d clients, %s warm-up + %s", round, o.rounds, o.clients, o.warmup, o.duration)
				res, err = runLoad(ctx, lo, b.pgx.do, cpuProbe{database: db.name})
				rep.b = rep.b.merge(res)
			case 'A':
				b.logf("round %d/%d: (A) GET /api/v1/me, %d clients, %s warm-up + %s", round, o.rounds, o.clients, o.warmup, o.duration)
				sampler := startRSSSampler(srv.pid(), rssInterval)
				res, err = runLoad(ctx, lo, b.http.do, cpuProbe{serverPID: srv.pid(), database: db.name})
				peak, samples := sampler.stop()
				rep.rssSamples += samples
				rep.peakRSS = max(rep.peakRSS, peak)
				rep.a = rep.a.merge(res)
			}
			if err != nil {
				return err
			}
			if latLog != nil {
				if err := latLog.write(round, string(ph), res.trace); err != nil {
					return err
				}
				res.trace = nil
			}
			if srv.exited() {
				return fmt.Errorf("the server exited during the run%s", srv.logTail())
			}
		}
	}
	return nil
}

// quietBusy is the share of busy CPU time below which the machine counts as quiet.
const quietBusy = 0.15

// waitQuiet waits up to -wait-quiet for one second in which the machine is
// mostly idle and returns the last busy share measured (-1 if unknown).
func (b *bench) waitQuiet(ctx context.Context) float64 {
	deadline := time.Now().Add(b.o.waitQuiet)
	for first := true; ; first = false {
		busy := machineBusyOver(ctx, time.Second)
		if busy < quietBusy || ctx.Err() != nil {
			return busy
		}
		if !time.Now().Before(deadline) {
			b.logf("warning: the machine is %.0f%% busy with other work; the figures will be too low", busy*100)
			return busy
		}
		if first {
			b.logf("the machine is %.0f%% busy with other work; waiting up to %s for it to calm down", busy*100, b.o.waitQuiet)
		}
	}
}

// cleanup undoes the setup in reverse order; each step runs even if an
// earlier one failed.
func (b *bench) cleanup() error {
	var errs []error
	for i := len(b.teardown) - 1; i >= 0; i-- {
		if err := b.teardown[i](); err != nil {
			errs = append(errs, err)
		}
	}
	b.teardown = nil
	return errors.Join(errs...)
}

// setupState is what prepare made: the server's environment and the login.
type setupState struct {
	env             []string
	listen          string
	email, password string
	version         string
}

// benchHost is the host name of tenant bench1, the one the load runs in.
const (
	benchTenant = "bench1"
	benchHost   = "bench1.localhost"
)

const tenantsJSON = `{
  "tenants": [
    {"id": "bench1", "name": "Bench 1 AG", "hosts": ["bench1.localhost"], "locale": "de-CH", "currency": "CHF", "timezone": "Europe/Zurich"},
    {"id": "bench2", "name": "Bench 2 GmbH", "hosts": ["bench2.localhost"], "locale": "de-CH", "currency": "CHF", "timezone": "Europe/Zurich"}
  ]
}
`

// prepare writes tenants.json, picks a port and runs `rpcrm migrate` and
// `rpcrm users create` with the environment the server will get.
func (b *bench) prepare(ctx context.Context) (*setupState, error) {
	tenantsFile := filepath.Join(b.tmp, "tenants.json")
	if err := os.WriteFile(tenantsFile, []byte(tenantsJSON), 0o644); err != nil {
		return nil, err
	}
	dataDir := filepath.Join(b.tmp, "data")
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	listen := "127.0.0.1:" + strconv.Itoa(port)
	env := childEnv(map[string]string{
		"DATABASE_URL":             b.db.appURL,
		"RPCRM_DATABASE_OWNER_URL": b.db.ownerURL,
		"RPCRM_ENV":                "prod",
		"RPCRM_TENANTS_FILE":       tenantsFile,
		"RPCRM_DATA_DIR":           dataDir,
		"RPCRM_LISTEN":             listen,
		"RPCRM_LOG_LEVEL":          "warn",
		"RPCRM_LOGIN_LIMIT_IP":     "10000",
		"RPCRM_DB_MAX_CONNS":       strconv.Itoa(b.o.dbConns),
	}, b.db.managed)

	st := &setupState{env: env, listen: listen}
	if out, err := runCLI(ctx, b.o.bin, env, "", "version"); err == nil {
		st.version = strings.TrimSpace(out)
	}
	b.logf("rpcrm migrate")
	if _, err := runCLI(ctx, b.o.bin, env, "", "migrate"); err != nil {
		return nil, err
	}
	// A fresh address every run, so that a database given by the caller
	// can be used again.
	st.email = "bench-" + randomHex(4) + "@bench1.localhost"
	st.password = "Bench-" + randomHex(12)
	b.logf("rpcrm users create --tenant %s --email %s --role admin", benchTenant, st.email)
	if _, err := runCLI(ctx, b.o.bin, env, st.password+"\n",
		"users", "create", "--tenant", benchTenant, "--email", st.email, "--name", "Bench Admin", "--role", "admin"); err != nil {
		return nil, err
	}
	return st, nil
}

// runCLI runs one rpcrm command and returns its output; on failure the
// error carries the output.
func runCLI(ctx context.Context, bin string, env []string, stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	cmd.WaitDelay = 5 * time.Second
	var out strings.Builder
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("rpcrm %s: %w\n%s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

// childEnv is this process's environment without any setting of the
// server's own (RPCRM_*, DATABASE_URL: config refuses unknown RPCRM_ names,
// and the caller's settings must not change what is measured), plus set.
// stripPG also drops PG* variables, which pgx would otherwise read for the
// databases the benchmark made itself.
func childEnv(set map[string]string, stripPG bool) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "DATABASE_URL" || len(k) >= 6 && strings.EqualFold(k[:6], "RPCRM_") {
			continue
		}
		if stripPG && strings.HasPrefix(k, "PG") {
			continue
		}
		env = append(env, kv)
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		env = append(env, k+"="+set[k])
	}
	return env
}
