package app

import (
	"sync"
	"testing"
)

// TestRouteSetDrains: a retired set refuses new exchanges and is drained
// only once the last running one ends, however acquire, release and
// retire interleave.
func TestRouteSetDrains(t *testing.T) {
	drained := func(s *routeSet) bool {
		select {
		case <-s.drained:
			return true
		default:
			return false
		}
	}
	s := newRouteSet()
	if !s.acquire() || !s.acquire() {
		t.Fatal("a live set refused an exchange")
	}
	s.retire()
	if s.acquire() {
		t.Fatal("a retired set took an exchange")
	}
	s.release()
	if drained(s) {
		t.Fatal("drained with an exchange still running")
	}
	s.release()
	if !drained(s) {
		t.Fatal("not drained after the last exchange")
	}

	idle := newRouteSet()
	if idle.retire(); !drained(idle) {
		t.Fatal("an idle set is not drained when retired")
	}

	for range 100 { // races: run with -race
		s := newRouteSet()
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 100 {
					if s.acquire() {
						s.release()
					}
				}
			})
		}
		s.retire()
		wg.Wait()
		if !drained(s) {
			t.Fatal("not drained once every exchange ended")
		}
	}
}
