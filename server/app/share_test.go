package app_test

import (
	"fmt"
	"testing"

	"github.com/bubblewasm/bubblewasm/internal/testapp"
)

// TestRouteShareMemory: [limits] route_share bounds one route's part of
// the memory budget: a guest growing to its 16MiB cap stops at seven
// eighths of its half of the 8MiB budget (56 pages), not of the whole
// budget (112), and still answers.
func TestRouteShareMemory(t *testing.T) {
	for _, engine := range testapp.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			base, _ := start(t, engine, `
[limits]
memory_budget = "8MiB"
route_share = 0.5

[[route]]
name = "grow"
module = "grow.wasm"
memory = "16MiB"
`, "grow")
			for range 2 {
				status, body := do(t, "GET", base+"/", "")
				var pages int
				fmt.Sscanf(body, "pages=%d", &pages)
				if status != 200 || pages < 2 || pages > (4<<20-4<<20/8)/65536 {
					t.Fatalf("GET /: %d %q: want the growth stopped by the route's share at 56 pages or fewer", status, body)
				}
			}
		})
	}
}

// TestRouteShareSubscriptions: [limits] route_share bounds one route's
// part of [pubsub] max_subscriptions below its own max_subscriptions: the
// flooding route stops at a quarter of 12 with ERR_FULL, and another
// route still subscribes its own quarter.
func TestRouteShareSubscriptions(t *testing.T) {
	const routes = `
[limits]
route_share = 0.25

[pubsub]
max_subscriptions = 12

[[route]]
name = "hog"
module = "flood.wasm"
match = { PATH_INFO = "/hog" }
pubsub = ["chat"]

[[route]]
name = "other"
module = "flood.wasm"
match = { PATH_INFO = "/other" }
pubsub = ["chat"]
`
	base, logs := start(t, "wazero", routes, "flood")
	sub := func(route, count, want string) {
		t.Helper()
		status, got := do(t, "POST", base+"/"+route, "", "X-Op: subscribe", "X-Count: "+count)
		if status != 200 || got != want {
			t.Fatalf("%s: %d %q, want %q", route, status, got, want)
		}
	}
	sub("hog", "1000000", "error -9 after 3\n")
	waitLog(t, logs, "subscription cap reached", "route=hog")
	sub("other", "3", "done 3\n")
	sub("other", "1", "error -9 after 0\n")
}
