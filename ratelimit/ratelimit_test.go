package ratelimit

import (
	"strconv"
	"sync"
	"testing"
	"time"
)

func TestWindow(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewWindow(3, time.Minute)
	l.Now = func() time.Time { return now }
	for i := 0; i < 3; i++ {
		if ok, _ := l.Allow("a"); !ok {
			t.Fatalf("event %d refused", i+1)
		}
	}
	ok, retry := l.Allow("a")
	if ok || retry != time.Minute {
		t.Fatalf("4th event: ok=%v retry=%v, want refused with 1m", ok, retry)
	}
	if ok, _ := l.Allow("b"); !ok {
		t.Fatal("other key limited too")
	}
	now = now.Add(30 * time.Second)
	if ok, retry := l.Check("a"); ok || retry != 30*time.Second {
		t.Fatalf("check after 30s: ok=%v retry=%v", ok, retry)
	}
	now = now.Add(30 * time.Second)
	if ok, _ := l.Allow("a"); !ok {
		t.Fatal("window did not reset")
	}
	l.Add("c")
	l.Add("c")
	l.Add("c")
	if ok, _ := l.Check("c"); ok {
		t.Fatal("Check ignores Add")
	}
	l.Reset("c")
	if ok, _ := l.Check("c"); !ok {
		t.Fatal("Reset did not forget")
	}
}

func TestWindowConcurrent(t *testing.T) {
	l := NewWindow(100, time.Hour)
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if ok, _ := l.Allow("k"); ok {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
				l.Check("x" + strconv.Itoa(i))
			}
		}()
	}
	wg.Wait()
	if allowed != 100 {
		t.Fatalf("allowed %d of 400 events, want exactly 100", allowed)
	}
}
