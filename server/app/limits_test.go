package app_test

import (
	"bytes"
	"fmt"
	"net"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/internal/testapp"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server/config"
)

// TestWasmtimeSlowBodies is the attack of issue 8 item 10 at a small
// scale: slowBodies clients each send a request head and one byte of a
// longer body on a plain wasmtime route with a high max_concurrency, so
// that each guest blocks in read, which on wasmtime holds an OS thread.
// With [limits] wasmtime_exchanges = 16 the process's thread count grows by
// at most the gate (the rest of the clients wait, holding goroutines, not
// threads), and other routes, on wazero and on wasmtime, still answer.
func TestWasmtimeSlowBodies(t *testing.T) {
	if !slices.Contains(testapp.Engines(t), config.EngineWasmtime) {
		t.Skip("no wasmtime in this build")
	}
	const (
		slowBodies = 300
		gate       = 16
		share      = gate - gate/4 // one route's part of the gate
	)
	raiseFileLimit(t, 2*slowBodies+1024)
	base, _ := start(t, config.EngineWasmtime, `
[limits]
wasmtime_exchanges = 16

[[route]]
name = "slow"
module = "readall.wasm"
match = { PATH_INFO = "/slow" }
max_concurrency = 5000
timeout = "2m"

[[route]]
name = "other-wasmtime"
module = "readall.wasm"
match = { PATH_INFO = "/wt" }

[[route]]
name = "other-wazero"
module = "readall.wasm"
engine = "wazero"
match = { PATH_INFO = "/wz" }
`, "readall")
	for _, path := range []string{"/slow", "/wt", "/wz"} { // warm up
		if status, body := do(t, "POST", base+path, "abc"); status != 200 || body != "read 3\n" {
			t.Fatalf("POST %s: %d %q", path, status, body)
		}
	}
	client.CloseIdleConnections()
	before := measure()

	addr := strings.TrimPrefix(base, "http://")
	conns := make([]net.Conn, 0, slowBodies)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range slowBodies {
		c, err := net.DialTimeout("tcp", addr, 30*time.Second)
		if err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		conns = append(conns, c)
		if _, err := c.Write([]byte("POST /slow HTTP/1.1\r\nHost: slow\r\nContent-Length: 1000000\r\n\r\nx")); err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
	}
	testutil.Eventually(t, "every slow request in a guest or waiting for a place", func() bool {
		return parkedIn("wasm.(*share).acquire(") == slowBodies-share && stacksWith("wasm.(*hostExchange).Read(") == share
	})
	during := measure()
	t.Logf("%d slow bodies: threads %d before, %d with all of them in (%d guests blocked in read, %d waiting)",
		slowBodies, before.threads, during.threads, share, slowBodies-share)
	if grown := during.threads - before.threads; grown > gate+32 {
		t.Errorf("threads grew by %d with %d guests allowed at once: the gate does not bound them", grown, gate)
	}
	for _, path := range []string{"/wt", "/wz"} {
		if status, body := do(t, "POST", base+path, "hello"); status != 200 || body != "read 5\n" {
			t.Fatalf("POST %s during the attack: %d %q", path, status, body)
		}
	}
}

// stacksWith counts the goroutines whose stack has a frame of fn, such as
// "wasm.(*hostExchange).Read(".
func stacksWith(fn string) int {
	buf := make([]byte, 16<<10*runtime.NumGoroutine()+1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for g := range bytes.SplitSeq(buf, []byte("\n\n")) {
		if bytes.Contains(g, []byte(fn)) {
			count++
		}
	}
	return count
}

// TestMemoryBudgetConfig: [limits] memory_budget bounds guest memory below
// a route's own cap, on every engine: a guest growing to its 16MiB cap stops
// where the 4MiB budget's growth share (seven eighths) ends, gets -1 from
// memory.grow, and still answers. With route_share the bound is seven
// eighths of the route's share: half of an 8MiB budget stops it at the
// same 56 pages, not at 112.
func TestMemoryBudgetConfig(t *testing.T) {
	for _, engine := range testapp.Engines(t) {
		for _, limits := range []string{
			"memory_budget = \"4MiB\"\nroute_share = 1",
			"memory_budget = \"8MiB\"\nroute_share = 0.5",
		} {
			t.Run(engine+"/"+strings.ReplaceAll(limits, "\n", ","), func(t *testing.T) {
				base, _ := start(t, engine, `
[limits]
`+limits+`

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
						t.Fatalf("GET /: %d %q: want the growth stopped by the budget at 56 pages or fewer (the cap is 256)", status, body)
					}
				}
			})
		}
	}
}
