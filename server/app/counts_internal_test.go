package app

import (
	"testing"

	"github.com/bubblewasm/bubblewasm/server/internal/metrics"
)

// A handler that two route sets hold is counted live until both remove
// it; then its counters stay in the sum.
func TestCountsOwnerHeldTwice(t *testing.T) {
	var k keyedCounts
	m := metrics.New()
	value := 5.0
	owner := new(int)
	read := func() []float64 { return []float64{value} }
	v := metrics.Value{Name: "things_total", Help: "Things.", Counter: true}
	removeOld, err := k.add(m, "route r", nil, owner, read, v)
	if err != nil {
		t.Fatal(err)
	}
	removeNew, err := k.add(m, "route r", nil, owner, read, v)
	if err != nil {
		t.Fatal(err)
	}
	c := k.byName["route r"]
	removeOld()
	value = 7
	if got := c.read(); got[0] != 7 {
		t.Fatalf("after the first set let go: %v, want the live 7", got)
	}
	removeNew()
	value = 100
	if got := c.read(); got[0] != 7 {
		t.Fatalf("after both let go: %v, want the 7 counted", got)
	}
}
