package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"
)

// latencyLog is the CSV file of -latency-log: one line per measured
// request, to look at the tail of the latency distribution over time (were
// the slow requests one stall that hit every client at once, or one client
// that waited?).
type latencyLog struct {
	f *os.File
	w *bufio.Writer
}

func createLatencyLog(path string) (*latencyLog, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	l := &latencyLog{f: f, w: bufio.NewWriter(f)}
	fmt.Fprintln(l.w, "round,phase,client,start_us,latency_us,error")
	return l, nil
}

// write logs a phase's requests: the phase is A or B, or in the CRM
// scenario the operation (and the round the measured size, 1 or 2).
func (l *latencyLog) write(round int, phase string, entries []traceEntry) error {
	for _, e := range entries {
		msg := ""
		if e.err != nil {
			msg = strings.ReplaceAll(strings.ReplaceAll(oneLine(e.err), `"`, `""`), "\n", " ")
			msg = `"` + msg + `"`
		}
		fmt.Fprintf(l.w, "%d,%s,%d,%d,%d,%s\n", round, phase, e.worker, e.start.Microseconds(), e.latency.Microseconds(), msg)
	}
	return l.w.Flush()
}

func (l *latencyLog) close() error {
	return errors.Join(l.w.Flush(), l.f.Close())
}
