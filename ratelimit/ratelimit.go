// Package ratelimit counts events per key in fixed time windows, to slow down
// password guessing. It keeps its counts in memory: each server process
// limits on its own, which is what a single-server installation needs.
package ratelimit

import (
	"sync"
	"time"
)

// maxKeys bounds memory use under a flood of distinct keys. When it is
// reached, expired windows are dropped; if none are, new keys are refused
// (fail closed) until some expire.
const maxKeys = 100_000

// Window allows at most Limit events per key within Period.
type Window struct {
	Limit  int
	Period time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu     sync.Mutex
	counts map[string]*window
}

type window struct {
	count int
	reset time.Time
}

// NewWindow returns a limiter of limit events per period.
func NewWindow(limit int, period time.Duration) *Window {
	return &Window{Limit: limit, Period: period, counts: map[string]*window{}}
}

func (l *Window) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

// Allow counts one event for key and reports whether it is within the limit;
// if not, retryAfter says when the window resets.
func (l *Window) Allow(key string) (ok bool, retryAfter time.Duration) {
	return l.add(key, true)
}

// Check reports whether key is under the limit without counting an event.
func (l *Window) Check(key string) (ok bool, retryAfter time.Duration) {
	return l.add(key, false)
}

// Add counts one event for key without asking (e.g. a failed login).
func (l *Window) Add(key string) { l.add(key, true) }

// Reset forgets key (e.g. after a successful login).
func (l *Window) Reset(key string) {
	l.mu.Lock()
	delete(l.counts, key)
	l.mu.Unlock()
}

func (l *Window) add(key string, count bool) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	w, ok := l.counts[key]
	if !ok || !now.Before(w.reset) {
		if !count {
			return true, 0
		}
		if len(l.counts) >= maxKeys {
			l.prune(now)
			if len(l.counts) >= maxKeys {
				return false, l.Period
			}
		}
		w = &window{reset: now.Add(l.Period)}
		l.counts[key] = w
	}
	if w.count >= l.Limit {
		return false, w.reset.Sub(now)
	}
	if count {
		w.count++
	}
	return true, 0
}

func (l *Window) prune(now time.Time) {
	for k, w := range l.counts {
		if !now.Before(w.reset) {
			delete(l.counts, k)
		}
	}
}
