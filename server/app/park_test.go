package app_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/internal/testapp"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server/app"
)

// parkRoutes serve server/wasm/testdata/park.wat under /p/ (it parks by
// the first letter of its PATH_INFO, on the subscription or signal named
// by the query) beside pubsub.wat and send.wat, all in one pub/sub scope.
const parkRoutes = `
[pubsub]
queue_size = 10

[[route]]
name = "ps"
module = "pubsub.wasm"
match = { PATH_INFO = "/ps" }
pubsub = ["chat.*"]
pubsub_scope = "chat"

[[route]]
name = "send"
module = "send.wasm"
match = { PATH_INFO = "/send" }
signals = ["job.*"]

[[route]]
name = "park"
module = "park.wasm"
match = { PATH_INFO = "/p/*" }
pubsub = ["chat.*"]
pubsub_scope = "chat"
signals = ["job.*"]
max_waiting = 2
max_concurrency = 1
timeout = "10m"
`

// startPark serves parkRoutes on engine. stop shuts the server down and
// returns what Serve returned; the test's end calls it too.
func startPark(t *testing.T, engine string) (base string, stop func() error) {
	t.Helper()
	path := writeConfig(t, engine, parkRoutes, "pubsub", "send")
	src, err := os.ReadFile(filepath.Join("..", "wasm", "testdata", "park.wat"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(path), "park.wasm"), testutil.WAT(t, string(src)), 0o644); err != nil {
		t.Fatal(err)
	}
	logger, _ := testutil.CaptureLogger(t)
	cfg := loadConfig(t, path)
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, app.Options{Logger: logger})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	addrs, err := a.Listen(ctx)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- a.Serve(ctx) }()
	stop = sync.OnceValue(func() error {
		cancel()
		err := <-served
		a.Close(context.Background())
		return err
	})
	t.Cleanup(func() { stop() })
	return testutil.URL(addrs[0]), stop
}

const parkedWait = "wasm.(*Handler).wait("

// resumedBody is what park.wat answers on its first resumed run.
func resumedBody(wake, state, payload string) string {
	return "first\nwake=" + wake + ";state=" + state + ";payload=" + payload + ";resume=1\n"
}

// getAsync GETs url in a goroutine; the channel gets the status and body.
func getAsync(url string) <-chan [2]string {
	c := make(chan [2]string, 1)
	go func() {
		status, body, err := doErr("GET", url, "")
		if err != nil {
			body = err.Error()
		}
		c <- [2]string{strconv.Itoa(status), body}
	}()
	return c
}

// Through the real broker and signals: an exchange parked on a
// subscription resumes when a message is published, which it then
// fetches (the park took nothing); one parked on a signal resumes with the
// send's payload; a message the hub holds back for a subscription wakes a
// park at once; max_waiting refuses a third park; and none of it needs
// more than the one slot of max_concurrency.
func TestParkThroughServices(t *testing.T) {
	for _, engine := range testapp.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			base, _ := startPark(t, engine)
			ps := func(want, body string, headers ...string) string {
				t.Helper()
				status, got := do(t, "POST", base+"/ps", body, headers...)
				if status != 200 || (want != "" && got != want) {
					t.Fatalf("%v: %d %q, want 200 %q", headers, status, got, want)
				}
				return got
			}
			id := ps("", "", "X-Op: subscribe", "X-Channel: chat.room")

			msg := getAsync(base + "/p/m?" + id)
			sig := getAsync(base + "/p/s?job.7")
			testutil.Eventually(t, "two exchanges parked", func() bool { return parkedIn(parkedWait) == 2 })
			if status, body := do(t, "GET", base+"/p/t", ""); status != 609 || body != "parkerr" {
				t.Errorf("a third park with max_waiting = 2: %d %q, want 609 (ERR_FULL)", status, body)
			}

			ps("published 1\n", "hello", "X-Op: publish", "X-Channel: chat.room")
			if got := <-msg; got != [2]string{"200", resumedBody("message", id, "")} {
				t.Errorf("parked on a message: %q", got)
			}
			ps("got: hello\n", "", "X-Op: fetch", "X-Sub: "+id, "X-Timeout-Ms: -1") // still queued

			if status, body := do(t, "POST", base+"/send?7", "the payload"); status != 200 || body != "1\n" {
				t.Errorf("send: %d %q, want 1 woken", status, body)
			}
			if got := <-sig; got != [2]string{"200", resumedBody("signal", "job.7", "the payload")} {
				t.Errorf("parked on a signal: %q", got)
			}

			// A message too long for a fetch's buffer is held by the hub for
			// the subscription's next fetch: a park wakes at once for it.
			ps("published 1\n", strings.Repeat("x", 100), "X-Op: publish", "X-Channel: chat.room")
			ps("size 100\n", "", "X-Op: announce", "X-Sub: "+id, "X-Buf: 16")
			if status, body := do(t, "GET", base+"/p/m?"+id, ""); status != 200 || body != resumedBody("message", id, "") {
				t.Errorf("parked with a held message: %d %q", status, body)
			}

			if status, body := do(t, "GET", base+"/p/m?unknown-subscription-id", ""); status != 601 {
				t.Errorf("a park on an unknown subscription: %d %q, want 601 (ERR_NOT_FOUND)", status, body)
			}
			if status, body := do(t, "GET", base+"/p/s?other.1", ""); status != 608 {
				t.Errorf("a park on a signal outside the grant: %d %q, want 608 (ERR_DENIED)", status, body)
			}
		})
	}
}

// Shutdown does not wait for a parked exchange: draining resumes it at
// once with "shutdown", and the server stops long before its long park
// would have ended.
func TestShutdownResumesParked(t *testing.T) {
	for _, engine := range testapp.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			base, stop := startPark(t, engine)
			got := getAsync(base + "/p/l?bye") // parks for 10 minutes
			testutil.Eventually(t, "the exchange parked", func() bool { return parkedIn(parkedWait) == 1 })
			served := make(chan error, 1)
			go func() { served <- stop() }()
			select {
			case err := <-served:
				if err != nil {
					t.Fatalf("Serve: %v", err)
				}
			case <-time.After(time.Minute):
				t.Fatal("shutdown still waiting after a minute with a 5s shutdown_timeout: the park was not drained")
			}
			if r := <-got; r != [2]string{"200", resumedBody("shutdown", "bye", "")} {
				t.Errorf("the drained exchange answered %q", r)
			}
		})
	}
}
