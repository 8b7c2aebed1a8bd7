package app_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/bubblewasm/bubblewasm/internal/testapp"
)

// TestIdleRoutesHoldNoInstance: a started server whose routes served no
// exchange holds no instance — the instances that proved each module
// initializes (and, for snapshot, that one can be made from the snapshot)
// were closed at load — on every lifecycle and engine, and each route's
// first exchange still answers.
func TestIdleRoutesHoldNoInstance(t *testing.T) {
	const routes = 20
	lifecycles := []string{"", "snapshot", "pool", "fresh"} // "": the default
	for _, engine := range testapp.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			var body strings.Builder
			body.WriteString("[admin]\naddress = \"tcp://127.0.0.1:0\"\n")
			for i := range routes {
				life := ""
				if l := lifecycles[i%len(lifecycles)]; l != "" {
					life = fmt.Sprintf("instances = %q\n", l)
				}
				fmt.Fprintf(&body, "[[route]]\nname = \"r%d\"\nmatch = { PATH_INFO = \"/r%d\" }\nmodule = \"named.wasm\"\ntimeout = \"60s\"\n%s", i, i, life)
			}
			base, admin := startAdminOn(t, engine, body.String(), "named")

			m := scrape(t, admin)
			for i := range routes {
				route := fmt.Sprintf("route=r%d", i)
				created, closed := value(m, "bubblewasm_instances_created_total", route), value(m, "bubblewasm_instances_closed_total", route)
				if created != 0 || closed != 0 {
					t.Errorf("r%d before any exchange: %v instances created, %v closed; want none (no instance held)", i, created, closed)
				}
			}
			if used := value(m, "bubblewasm_memory_used_bytes"); used != 0 {
				t.Errorf("memory used before any exchange: %v bytes, want 0 (no instance held)", used)
			}
			for i := range routes {
				if status, got := do(t, "GET", fmt.Sprintf("%s/r%d", base, i), ""); status != 200 || got != "hello\n" {
					t.Errorf("first exchange of r%d: %d %q, want 200 \"hello\\n\"", i, status, got)
				}
			}
			m = scrape(t, admin)
			for i := range routes {
				route := fmt.Sprintf("route=r%d", i)
				if live := value(m, "bubblewasm_instances_created_total", route) - value(m, "bubblewasm_instances_closed_total", route); live > 1 {
					t.Errorf("r%d after one exchange: %v instances live, want at most 1", i, live)
				}
			}
		})
	}
}
