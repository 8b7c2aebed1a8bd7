package wasm

import (
	"context"
	"testing"
)

// ShareOf rounds up, keeps at least one, never exceeds the limit, and
// keeps the gate's historical three quarters (n - n/4).
func TestShareOf(t *testing.T) {
	for _, c := range []struct {
		n     int64
		share float64
		want  int64
	}{
		{1, 0.75, 1}, {2, 0.75, 2}, {3, 0.75, 3}, {4, 0.75, 3}, {5, 0.75, 4}, {1024, 0.75, 768},
		{10, 0.7, 7}, // 10*0.7 is 7.000000000000001 in floating point
		{4, 0.5, 2}, {100, 0.01, 1}, {1, 0.01, 1}, {8 << 20, 0.5, 4 << 20},
		{7, 1, 7}, {7, 0, 7}, {7, 2, 7},
	} {
		if got := ShareOf(c.n, c.share); got != c.want {
			t.Errorf("ShareOf(%d, %v) = %d, want %d", c.n, c.share, got, c.want)
		}
	}
}

// A route holds at most its share of a gate's places: past it, it is
// refused (when its wait ends) while another route still gets a place.
func TestGateShareCap(t *testing.T) {
	g := NewGateShare(4, 0.5)
	if g.Share() != 2 {
		t.Fatalf("Share() = %d, want 2", g.Share())
	}
	hog, other := newShare(g, 100), newShare(g, 100)
	for i := range 2 {
		if err := hog.acquire(context.Background()); err != nil {
			t.Fatalf("place %d within the share: %v", i+1, err)
		}
	}
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	if err := hog.acquire(ended); err == nil {
		t.Fatal("a third place for a route whose share is 2 of 4: taken, want refused")
	}
	if err := other.acquire(context.Background()); err != nil {
		t.Fatalf("another route with the first at its share: %v", err)
	}
	if n := g.InUse(); n != 3 {
		t.Fatalf("InUse() = %d, want 3", n)
	}
	hog.release()
	if err := hog.acquire(context.Background()); err != nil {
		t.Fatalf("a place given back is the route's again: %v", err)
	}
}

// A route holds at most its share of a memory budget: a new instance over
// it waits (refused when its wait ends), growth past seven eighths of it
// fails, and another route still reserves; what is released is the
// route's again.
func TestMemoryShareCap(t *testing.T) {
	const limit = 8 << 20
	b := NewMemoryBudgetShare(limit, 0.5)
	if b.RouteShare() != 4<<20 {
		t.Fatalf("RouteShare() = %d, want 4MiB", b.RouteShare())
	}
	hog, other := b.route(), b.route()
	a, err := hog.openAccount(context.Background(), 3<<20)
	if err != nil {
		t.Fatal(err)
	}
	if a.Grow(3<<20, false) != true {
		t.Fatal("growth within the reservation refused")
	}
	if a.Grow(1<<20, false) {
		t.Fatal("growth to 4MiB, past seven eighths of the route's 4MiB share: allowed, want refused")
	}
	if !a.Grow(512<<10, false) {
		t.Fatal("growth to 3.5MiB, seven eighths of the share: refused")
	}
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := hog.openAccount(ended, 1<<20); err == nil {
		t.Fatal("a new instance past the route's share: reserved, want refused")
	}
	o, err := other.openAccount(context.Background(), 4<<20)
	if err != nil {
		t.Fatalf("another route with the first at its share: %v", err)
	}
	if used := b.Used(); used != 3<<20+512<<10+4<<20 {
		t.Fatalf("Used() = %d", used)
	}
	a.close()
	o.close()
	if b.Used() != 0 || hog.used != 0 || other.used != 0 {
		t.Fatalf("after close: budget %d, routes %d and %d, want 0", b.Used(), hog.used, other.used)
	}
	if _, err := hog.openAccount(context.Background(), 4<<20); err != nil {
		t.Fatalf("the whole share after a release: %v", err)
	}
}
