package main

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"time"
)

// report is everything the run prints.
type report struct {
	opts                *options
	cpus                int
	goVersion           string
	database, pgVersion string
	serverVersion       string
	serverPID           int
	a, b                *phaseResult
	startRSS, idleRSS   int64 // when ready; after the login, before the load
	peakRSS, hwm        int64
	busyBefore          float64
	rssSamples          int
	serverExit          int
	serverStopErr       error
	serverStopTook      time.Duration
	checks, validity    []check
	crm                 *crmReport // the CRM scenario, if it ran
}

type check struct {
	name, value string
	ok          bool
}

func (r *report) ratio() float64 {
	if r.b.rate() == 0 {
		return 0
	}
	return r.a.rate() / r.b.rate()
}

// peak is the server's peak resident memory: VmHWM, the kernel's own
// high-water mark, or the sampled peak if that could not be read.
func (r *report) peak() int64 { return max(r.hwm, r.peakRSS) }

func (r *report) evaluate() {
	if r.a == nil { // only the CRM scenario ran
		r.checks = nil
		r.validity = []check{{"server exits 0 on SIGTERM", r.exitText(), r.serverStopErr == nil && r.serverExit == 0}}
		return
	}
	note := ""
	if r.a.otherShare() > disturbedShare || r.b.otherShare() > disturbedShare {
		note = "; disturbed by other work, see WARNING"
	}
	r.checks = []check{
		{fmt.Sprintf("A throughput >= %.0f%% of B", goalMinRatio*100),
			fmt.Sprintf("%.1f%% (%.0f vs %.0f req/s)%s", r.ratio()*100, r.a.rate(), r.b.rate(), note), r.ratio() >= goalMinRatio},
		{fmt.Sprintf("A p99 < %s", goalMaxP99),
			ms(r.a.percentile(99)) + note, len(r.a.lat) > 0 && r.a.percentile(99) < goalMaxP99},
		{fmt.Sprintf("server peak RSS < %d MB", goalMaxRSS/1_000_000),
			mb(r.peak()) + r.peakSource(), r.peak() > 0 && r.peak() < goalMaxRSS},
	}
	// Not goals, but without them the figures above mean nothing.
	r.validity = []check{
		{"no errors in A and B", fmt.Sprintf("%d + %d", r.a.errors, r.b.errors), r.a.errors == 0 && r.b.errors == 0},
		{"server exits 0 on SIGTERM", r.exitText(), r.serverStopErr == nil && r.serverExit == 0},
	}
}

func (r *report) peakSource() string {
	if r.hwm >= r.peakRSS {
		return " (VmHWM)"
	}
	return " (sampled VmRSS)"
}

func (r *report) allPassed() bool {
	for _, c := range slices.Concat(r.checks, r.validity) {
		if !c.ok {
			return false
		}
	}
	return r.crm == nil || r.crm.allPassed()
}

func (r *report) exitText() string {
	if r.serverStopErr != nil {
		return fmt.Sprintf("exit %d: %s", r.serverExit, oneLine(r.serverStopErr))
	}
	return fmt.Sprintf("exit 0 after %s", r.serverStopTook.Round(time.Millisecond))
}

func (r *report) print(w io.Writer) {
	r.evaluate()
	if r.a != nil {
		r.printMe(w)
	}
	if r.crm != nil {
		r.crm.print(w)
		fmt.Fprintln(w, "Validity")
		for _, c := range r.validity {
			fmt.Fprintf(w, "  %s  %-48s %s\n", verdict(c.ok), c.name, c.value)
		}
		fmt.Fprintln(w)
	}
}

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

// printMe prints the figures and goals of GET /api/v1/me vs. pgx.
func (r *report) printMe(w io.Writer) {
	o := r.opts
	order := "B (pgx) then A (HTTP)"
	if o.order == "AB" {
		order = "A (HTTP) then B (pgx)"
	}
	if o.rounds > 1 {
		order += fmt.Sprintf(", %d rounds, merged", o.rounds)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "RP CRM benchmark: GET /api/v1/me (A) vs. the same database work through pgx (B)")
	busy := "?"
	if r.busyBefore >= 0 {
		busy = fmt.Sprintf("%.0f%%", r.busyBefore*100)
	}
	fmt.Fprintf(w, "  machine   %d CPUs, %s/%s, %s; busy before the load: %s\n", r.cpus, runtime.GOOS, runtime.GOARCH, r.goVersion, busy)
	fmt.Fprintf(w, "  database  PostgreSQL %s, %s\n", r.pgVersion, r.database)
	fmt.Fprintf(w, "  server    %s (%s), pid %d, RPCRM_ENV=prod, RPCRM_DB_MAX_CONNS=%d, log level warn\n",
		o.bin, r.serverVersion, r.serverPID, o.dbConns)
	fmt.Fprintf(w, "  load      %d clients on 127.0.0.1, closed loop; per phase %s warm-up + %s measured; order: %s\n",
		o.clients, o.warmup, o.duration, order)
	fmt.Fprintln(w)

	fmt.Fprintf(w, "  %-24s %10s %9s %9s %9s %10s %7s\n", "", "req/s", "p50", "p99", "max", "requests", "errors")
	row := func(name string, p *phaseResult) {
		fmt.Fprintf(w, "  %-24s %10.0f %9s %9s %9s %10d %7d\n", name, p.rate(),
			ms(p.percentile(50)), ms(p.percentile(99)), ms(p.max()), len(p.lat), p.errors)
	}
	row("(B) pgx batch, direct", r.b)
	row("(A) GET /api/v1/me", r.a)
	fmt.Fprintln(w)
	r.printCPU(w)
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  A/B throughput   %.1f%%\n", r.ratio()*100)
	fmt.Fprintf(w, "  server RSS       VmHWM %s; VmRSS sampled every %s during A: peak %s (%d samples); when ready %s, after the login %s\n",
		mb(r.hwm), rssInterval, mb(r.peakRSS), r.rssSamples, mb(r.startRSS), mb(r.idleRSS))
	if n := r.opts.clients; r.a.rate() > 0 && r.b.rate() > 0 {
		// Little's law: in a closed loop the mean latency is fixed by the
		// number of clients and the throughput, whatever the server does.
		fmt.Fprintf(w, "  closed loop      mean latency = clients / throughput: B %s, A %s; A's p99 < %s needs A > %.0f req/s at %d clients\n",
			ms(time.Duration(float64(n)/r.b.rate()*float64(time.Second))), ms(time.Duration(float64(n)/r.a.rate()*float64(time.Second))),
			goalMaxP99, float64(n)/goalMaxP99.Seconds(), n)
	}
	for _, p := range []struct {
		name string
		r    *phaseResult
	}{{"B", r.b}, {"A", r.a}} {
		if share := p.r.otherShare(); share > disturbedShare {
			fmt.Fprintf(w, "  WARNING          during %s, %.0f%% of the machine's CPU went to other processes: the figures are too low; run again on a quiet machine\n",
				p.name, share*100)
		}
		if p.r.errFirst != "" {
			fmt.Fprintf(w, "  first error (%s)  %s\n", p.name, p.r.errFirst)
		}
	}
	fmt.Fprintln(w)
	for _, sec := range []struct {
		title  string
		checks []check
	}{{"Goals", r.checks}, {"Validity", r.validity}} {
		fmt.Fprintln(w, sec.title)
		for _, c := range sec.checks {
			fmt.Fprintf(w, "  %s  %-32s %s\n", verdict(c.ok), c.name, c.value)
		}
		fmt.Fprintln(w)
	}
}

// printCPU shows where the CPU went in each measured window, per request:
// this process (the load generator, and in B the pgx client), the server,
// the benchmark database's PostgreSQL backends, and everything else
// (other processes, and kernel work charged to none, such as network
// interrupts).
func (r *report) printCPU(w io.Writer) {
	per := func(ok bool, d time.Duration, n int) string {
		if !ok || n == 0 {
			return "-"
		}
		return fmt.Sprintf("%.0f", float64(d.Microseconds())/float64(n))
	}
	fmt.Fprintf(w, "  %-24s %10s %9s %9s %9s %9s %10s\n", "CPU µs per request", "bench", "server", "postgres", "other", "total", "machine")
	for _, p := range []struct {
		name string
		r    *phaseResult
	}{{"(B) pgx batch, direct", r.b}, {"(A) GET /api/v1/me", r.a}} {
		n := len(p.r.lat) + p.r.errors
		busy := "-"
		if p.r.haveMachineCPU && p.r.machineTotal > 0 {
			busy = fmt.Sprintf("%.0f%% busy", 100*float64(p.r.machineBusy)/float64(p.r.machineTotal))
		}
		fmt.Fprintf(w, "  %-24s %10s %9s %9s %9s %9s %10s\n", p.name,
			per(true, p.r.benchCPU, n), per(p.r.haveServerCPU, p.r.serverCPU, n), per(p.r.havePGCPU, p.r.pgCPU, n),
			per(p.r.haveMachineCPU, p.r.other(), n), per(p.r.haveMachineCPU, p.r.machineBusy, n), busy)
	}
}

// disturbedShare is the share of the machine's CPU time spent outside the
// benchmark, the server and its PostgreSQL backends above which a phase's
// figures are reported as disturbed. Kernel work not charged to any process
// (network interrupts) is part of it, a few percent when all is quiet.
const disturbedShare = 0.15

// other is the CPU time of the measured window not spent in this process,
// the server or the benchmark's PostgreSQL backends.
func (r *phaseResult) other() time.Duration {
	if r == nil || !r.haveMachineCPU {
		return 0
	}
	return max(r.machineBusy-r.benchCPU-r.serverCPU-r.pgCPU, 0)
}

func (r *phaseResult) otherShare() float64 {
	if r == nil || r.machineTotal <= 0 {
		return 0
	}
	return float64(r.other()) / float64(r.machineTotal)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func mb(b int64) string {
	if b <= 0 {
		return "?"
	}
	return fmt.Sprintf("%.1f MB", float64(b)/1e6)
}
