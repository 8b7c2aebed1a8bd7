package metrics_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/bubblewasm/bubblewasm/server/internal/metrics"
)

// TestValues: one read gives the group's values, counters and gauges; a
// group registered twice is an error, not a panic.
func TestValues(t *testing.T) {
	m := metrics.New()
	reads := 0
	read := func() []float64 { reads++; return []float64{7, 3} }
	values := []metrics.Value{{Name: "things_total", Help: "Things.", Counter: true}, {Name: "things_now", Help: "Things now."}}
	if err := m.Values(map[string]string{"of": "x"}, read, values...); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP bubblewasm_things_now Things now.
# TYPE bubblewasm_things_now gauge
bubblewasm_things_now{of="x"} 3
# HELP bubblewasm_things_total Things.
# TYPE bubblewasm_things_total counter
bubblewasm_things_total{of="x"} 7
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "bubblewasm_things_total", "bubblewasm_things_now"); err != nil {
		t.Error(err)
	}
	if reads != 1 {
		t.Errorf("%d reads for one scrape, want 1", reads)
	}
	if err := m.Values(map[string]string{"of": "x"}, read, values...); err == nil {
		t.Error("the same group registered twice: no error")
	}
	if err := m.Counter("things_total", "Things.", map[string]string{"of": "x"}, func() float64 { return 0 }); err == nil {
		t.Error("a counter registered over a group's: no error")
	}
}
