package app

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseMemoryFiles(t *testing.T) {
	for _, c := range []struct {
		name string
		in   string
		want int64
	}{
		{"cgroup v2 limit", "1073741824\n", 1 << 30},
		{"cgroup v2 none", "max\n", 0},
		{"cgroup v1 none", "9223372036854771712\n", 0},
		{"empty", "", 0},
		{"negative", "-1", 0},
		{"zero", "0", 0},
		{"junk", "12abc", 0},
		{"overflow", "99999999999999999999999", 0},
	} {
		if got := parseCgroupLimit([]byte(c.in)); got != c.want {
			t.Errorf("parseCgroupLimit %s (%q) = %d, want %d", c.name, c.in, got, c.want)
		}
	}
	for _, c := range []struct {
		name string
		in   string
		want int64
	}{
		{"meminfo", "MemFree:  1 kB\nMemTotal:       24684016 kB\n", 24684016 << 10},
		{"no unit", "MemTotal: 1024\n", 1 << 20},
		{"missing", "MemFree: 1 kB\n", 0},
		{"junk", "MemTotal: lots kB\n", 0},
		{"negative", "MemTotal: -5 kB\n", 0},
		{"huge", "MemTotal: 9223372036854775807 kB\n", 0},
		{"empty", "", 0},
	} {
		if got := parseMemTotal([]byte(c.in)); got != c.want {
			t.Errorf("parseMemTotal %s (%q) = %d, want %d", c.name, c.in, got, c.want)
		}
	}
	if b := DefaultMemoryBudget(); b < 1<<20 {
		t.Errorf("DefaultMemoryBudget() = %d", b)
	}
}

// fakeUse is a guest memory use the test sets; it counts the trimmer's
// looks.
type fakeUse struct {
	used, peak atomic.Int64
	looks      atomic.Int64
}

func (f *fakeUse) Used() int64     { f.looks.Add(1); return f.used.Load() }
func (f *fakeUse) TakePeak() int64 { return f.peak.Swap(f.used.Load()) }

// TestTrimmer: memory is given back after a burst (a drop of a quarter of
// the high and at least trimMin), once, and not after small drops.
func TestTrimmer(t *testing.T) {
	use := &fakeUse{}
	freed := make(chan struct{}, 8)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		trimmer{use: use, every: time.Millisecond, free: func() { freed <- struct{}{} }, logger: slog.New(slog.DiscardHandler)}.run(ctx)
		close(done)
	}()
	defer func() { cancel(); <-done }()
	// settle waits until the trimmer looked n more times.
	settle := func(n int64) {
		t.Helper()
		target := use.looks.Load() + n
		for deadline := time.Now().Add(20 * time.Second); use.looks.Load() < target; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the trimmer stopped looking")
			}
		}
	}
	expectFrees := func(want int, what string) {
		t.Helper()
		if got := len(freed); got != want {
			t.Fatalf("%s: %d collections, want %d", what, got, want)
		}
	}

	use.used.Store(2 << 30) // a burst
	settle(3)
	expectFrees(0, "during the burst")
	use.used.Store(16 << 20) // it ended
	select {
	case <-freed:
	case <-time.After(20 * time.Second):
		t.Fatal("no collection after the burst ended")
	}
	settle(5)
	expectFrees(0, "once the memory was given back")
	use.used.Store(100 << 20)
	settle(3)
	use.used.Store(60 << 20) // a drop of 40MiB: not worth a collection
	settle(5)
	expectFrees(0, "after a small drop")
	use.peak.Store(1 << 30) // a short burst between two looks
	settle(3)
	select {
	case <-freed:
	case <-time.After(20 * time.Second):
		t.Fatal("no collection after a burst seen only as a peak")
	}
}
