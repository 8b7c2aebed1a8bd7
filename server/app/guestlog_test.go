package app_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/internal/testapp"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server/internal/ratelog"
)

// One route per flood, so that each has a budget of its own: 20 records at
// once, then one a second.
const floodRoutes = `
[[route]]
name = "flood-log"
module = "flood.wasm"
match = { PATH_INFO = "/log" }
pubsub = ["chat"]
log_rate = 1
log_burst = 20

[[route]]
name = "flood-stdout"
module = "flood.wasm"
match = { PATH_INFO = "/stdout" }
pubsub = ["chat"]
log_rate = 1
log_burst = 20

[[route]]
name = "flood-deny"
module = "flood.wasm"
match = { PATH_INFO = "/deny" }
pubsub = ["chat"]
log_rate = 1
log_burst = 20
`

// linesWith returns the log lines that contain every one of want.
func linesWith(logs *testutil.LogBuffer, want ...string) []string {
	var out []string
	for l := range strings.SplitSeq(logs.String(), "\n") {
		ok := l != ""
		for _, w := range want {
			ok = ok && strings.Contains(l, w)
		}
		if ok {
			out = append(out, l)
		}
	}
	return out
}

var droppedCount = regexp.MustCompile(`dropped=(\d+)`)

// waitDropped waits for the route's "records dropped" reports to account
// for every record the route's guests made beyond those logged, and
// returns the number dropped.
func waitDropped(t *testing.T, logs *testutil.LogBuffer, route string, logged func() int, made int) int {
	t.Helper()
	dropped := 0
	testutil.Eventually(t, fmt.Sprintf("reports of %s's dropped records", route), func() bool {
		dropped = 0
		for _, l := range linesWith(logs, ratelog.DroppedMessage, "route="+route) {
			if m := droppedCount.FindStringSubmatch(l); m != nil {
				n, _ := strconv.Atoi(m[1])
				dropped += n
			}
		}
		return dropped+logged() >= made
	})
	if got := dropped + logged(); got != made {
		t.Errorf("%s: %d logged + %d reported dropped = %d, want the %d made", route, logged(), dropped, got, made)
	}
	return dropped
}

// The guest log attacks: 1 MiB records in a loop at a level of the
// guest's choosing, the same through stdout, and a guest making the host
// log a warning per denied call. Each route's records are bounded by its
// budget, each record by 8 KiB, the level by the ABI's, and what was
// dropped is reported, not silent.
func TestGuestLogFlood(t *testing.T) {
	for _, engine := range testapp.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			base, logs := start(t, engine, floodRoutes, "flood")
			flood := func(path string, count int, headers ...string) {
				t.Helper()
				status, body := do(t, "POST", base+path, "", append(headers, "X-Count: "+strconv.Itoa(count))...)
				if status != 200 || body != "done "+strconv.Itoa(count)+"\n" {
					t.Fatalf("%s: %d %q", path, status, body)
				}
			}
			const made = 300
			// All three at once: each route's report comes ReportEvery
			// after its flood.
			flood("/log", made, "X-Op: log", "X-Len: 100000", "X-Level: 2147483647")
			flood("/stdout", made, "X-Op: stdout", "X-Len: 20000")
			flood("/deny", made, "X-Op: deny")

			t.Run("log calls", func(t *testing.T) {
				lines := func() []string { return linesWith(logs, "route=flood-log", "source=guest") }
				waitDropped(t, logs, "flood-log", func() int { return len(lines()) }, made)
				if n := len(lines()); n >= made/2 {
					t.Errorf("%d of %d records logged: no rate limit", n, made)
				}
				for _, l := range lines() {
					if len(l) > abi.MaxLogBytes+200 {
						t.Fatalf("a record of %d bytes: no size cap", len(l))
					}
					if !strings.Contains(l, "level=ERROR ") || !strings.Contains(l, "truncated from 100000 bytes") {
						t.Fatalf("level not clamped or cut not marked: %.200s", l)
					}
				}
			})

			t.Run("stdout lines", func(t *testing.T) {
				lines := func() []string { return linesWith(logs, "route=flood-stdout", "stream=stdout") }
				waitDropped(t, logs, "flood-stdout", func() int { return len(lines()) }, made)
				if n := len(lines()); n >= made/2 {
					t.Errorf("%d of %d lines logged: stdout escapes the budget", n, made)
				}
				for _, l := range lines() {
					if len(l) > abi.MaxLogBytes+200 || !strings.Contains(l, "truncated from 20000 bytes") {
						t.Fatalf("a line of %d bytes, cut not marked: %.200s", len(l), l)
					}
				}
			})

			t.Run("host lines about denied calls", func(t *testing.T) {
				lines := func() []string { return linesWith(logs, "route=flood-deny", "does not grant") }
				waitDropped(t, logs, "flood-deny", func() int { return len(lines()) }, made)
				if n := len(lines()); n >= made/2 {
					t.Errorf("%d of %d denials logged", n, made)
				}
			})
		})
	}
}

// The process-wide budget bounds the sum of routes whose own budgets are
// generous.
func TestGuestLogProcessBudget(t *testing.T) {
	routes := `
[guest_log]
rate = 1
burst = 10
` + strings.NewReplacer("log_rate = 1", "log_rate = 1000", "log_burst = 20", "log_burst = 1000").Replace(floodRoutes)
	base, logs := start(t, testapp.Engines(t)[0], routes, "flood")
	for _, path := range []string{"/log", "/stdout"} {
		status, body := do(t, "POST", base+path, "", "X-Op: "+path[1:], "X-Count: 100", "X-Len: 10")
		if status != 200 || body != "done 100\n" {
			t.Fatalf("%s: %d %q", path, status, body)
		}
	}
	guest := func() int {
		return len(linesWith(logs, "route=flood-log", "source=guest")) + len(linesWith(logs, "route=flood-stdout", "stream=stdout"))
	}
	reported := 0
	testutil.Eventually(t, "both routes' drops reported", func() bool {
		reported = 0
		for _, l := range linesWith(logs, ratelog.DroppedMessage) {
			if m := droppedCount.FindStringSubmatch(l); m != nil {
				n, _ := strconv.Atoi(m[1])
				reported += n
			}
		}
		return reported+guest() >= 200
	})
	if n := guest(); n >= 100 {
		t.Errorf("%d of 200 records logged under a process budget of 10 at once", n)
	}
}
