package wasm

import (
	"context"
	"testing"
	"time"
)

// TestQuietPoolArmsNoTimer: a pool without idle instances has no sweep
// timer armed (a server of many quiet routes holds no timer per route),
// and closing it returns.
func TestQuietPoolArmsNoTimer(t *testing.T) {
	p := newPool(4, time.Minute, nil)
	if p.get() != nil {
		t.Fatal("a new pool gave an instance")
	}
	if p.armed {
		t.Fatal("a pool without idle instances armed its sweep timer")
	}
	p.sweep() // a sweep of an empty pool leaves it unarmed
	if p.armed {
		t.Fatal("a sweep of an empty pool armed the timer")
	}
	p.close(context.Background())
	p.sweep() // a sweep after close does nothing
	if p.armed {
		t.Fatal("a closed pool armed its sweep timer")
	}
}
