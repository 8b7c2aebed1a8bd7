package app_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/bubblewasm/bubblewasm/internal/testapp"

	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server/app"
)

// signalRoutes serves wait.wat and send.wat with signals = ["job.*"], and
// wait.wat again on a route granted only other.*.
const signalRoutes = `
[[route]]
name = "wait"
module = "wait.wasm"
match = { PATH_INFO = "/wait" }
signals = ["job.*"]
timeout = "30s"

[[route]]
name = "send"
module = "send.wasm"
match = { PATH_INFO = "/send" }
signals = ["job.*"]

[[route]]
name = "waitother"
module = "wait.wasm"
match = { PATH_INFO = "/waitother" }
signals = ["other.*"]

[[route]]
name = "shortwait"
module = "wait.wasm"
match = { PATH_INFO = "/shortwait" }
signals = ["job.*"]
timeout = "300ms"
`

// sendUntil sends payload to job.NAME until a send wakes want waiters in
// all. A send that woke nobody is lost (signals are edge-triggered), so
// repeating it is harmless.
func sendUntil(t *testing.T, base, name, payload string, want int) {
	t.Helper()
	woken := 0
	testutil.Eventually(t, "a send to wake the waiters", func() bool {
		status, body := do(t, "POST", base+"/send?"+name, payload)
		if status != 200 {
			t.Fatalf("send: %d %q", status, body)
		}
		var n int
		if _, err := fmt.Sscan(body, &n); err != nil {
			t.Fatalf("send answered %q", body)
		}
		woken += n
		return woken >= want
	})
	if woken != want {
		t.Fatalf("sends woke %d waiters, want %d", woken, want)
	}
}

// startWait opens GET /PATH?name and returns the response once the first
// line, "waiting\n", has arrived: the guest streams before it waits.
func startWait(t *testing.T, ctx context.Context, url string, headers ...string) (*http.Response, *bufio.Reader) {
	t.Helper()
	resp, err := sendErr(ctx, client, "GET", url, "", headers...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d %q", url, resp.StatusCode, b)
	}
	r := bufio.NewReader(resp.Body)
	if line := readLine(t, r); line != "waiting\n" {
		t.Fatalf("first line %q, want \"waiting\\n\"", line)
	}
	return resp, r
}

func TestSignalsEndToEnd(t *testing.T) {
	for _, engine := range testapp.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			base, logs := start(t, engine, signalRoutes, "wait", "send")

			t.Run("streams, then a send wakes it", func(t *testing.T) {
				_, r := startWait(t, context.Background(), base+"/wait?42")
				// The client has read "waiting" and the guest is parked in
				// the wait: the output was streamed before it.
				testutil.Eventually(t, "the guest to park", func() bool { return parkedIn(signalWait) == 1 })
				if status, body := do(t, "POST", base+"/send?42", "hello there"); status != 200 || body != "1\n" {
					t.Fatalf("send: %d %q, want it to wake 1", status, body)
				}
				rest, err := io.ReadAll(r)
				if err != nil || string(rest) != "signalled: hello there\n" {
					t.Fatalf("after the send: %q, %v", rest, err)
				}
				// One-shot: the waiter is gone, a second send wakes nobody.
				if _, body := do(t, "POST", base+"/send?42", "again"); body != "0\n" {
					t.Fatalf("second send woke %q, want 0", body)
				}
			})

			t.Run("several waiters get the same payload", func(t *testing.T) {
				var readers []*bufio.Reader
				for range 5 {
					_, r := startWait(t, context.Background(), base+"/wait?many")
					readers = append(readers, r)
				}
				sendUntil(t, base, "many", "everyone", 5)
				for i, r := range readers {
					if rest, err := io.ReadAll(r); err != nil || string(rest) != "signalled: everyone\n" {
						t.Fatalf("waiter %d: %q, %v", i, rest, err)
					}
				}
			})

			t.Run("a payload longer than the buffer is truncated", func(t *testing.T) {
				_, r := startWait(t, context.Background(), base+"/wait?big")
				payload := strings.Repeat("0123456789", 500) // 5000 bytes, buffer 4096
				sendUntil(t, base, "big", payload, 1)
				rest, _ := io.ReadAll(r)
				if want := "signalled: " + payload[:4096] + "\n"; string(rest) != want {
					t.Fatalf("got %d bytes, want the first 4096 of the payload", len(rest)-len("signalled: \n"))
				}
			})

			t.Run("timeout", func(t *testing.T) {
				for _, ms := range []string{"50", "0", "-1"} {
					status, body := do(t, "GET", base+"/wait?nobody", "", "X-Timeout-Ms: "+ms)
					if status != 200 || body != "waiting\ntimeout\n" {
						t.Fatalf("timeout %s ms: %d %q", ms, status, body)
					}
				}
			})

			t.Run("the route's timeout ends a longer wait", func(t *testing.T) {
				// The guest asks for 60 s; the exchange's deadline (300 ms)
				// ends the wait with ERR_TIMEOUT. What follows differs by
				// engine: wazero lets the guest write "timeout" and return,
				// wasmtime interrupts it at once (a 504 in the log, the
				// response cut after "waiting"). Either way the wait ended.
				resp, r := startWait(t, context.Background(), base+"/shortwait?deadline", "X-Timeout-Ms: 60000")
				rest, _ := io.ReadAll(r)
				resp.Body.Close()
				if s := string(rest); s != "" && s != "timeout\n" {
					t.Fatalf("after the deadline: %q", s)
				}
				testutil.Eventually(t, "no parked waiter", func() bool { return parkedIn(signalWait) == 0 })
			})

			t.Run("ungranted signal is ERR_DENIED and logged", func(t *testing.T) {
				status, body := do(t, "GET", base+"/waitother?secret", "")
				if status != 200 || body != "waiting\nerror -8\n" {
					t.Fatalf("%d %q, want \"waiting\\nerror -8\\n\"", status, body)
				}
				line := waitLog(t, logs, "does not grant", "route=waitother")
				if !strings.Contains(line, "signal=job.secret") {
					t.Fatalf("the log line does not name the signal: %s", line)
				}
			})

			t.Run("an invalid name is ERR_INVALID, not ERR_DENIED", func(t *testing.T) {
				// '*' is a glob character: never part of a name.
				status, body := do(t, "GET", base+"/wait?a*b", "")
				if status != 200 || body != "waiting\nerror -2\n" {
					t.Fatalf("%d %q, want \"waiting\\nerror -2\\n\"", status, body)
				}
				if _, body := do(t, "POST", base+"/send?a*b", "x"); body != "error -2\n" {
					t.Fatalf("send to an invalid name: %q", body)
				}
			})

			t.Run("a client that goes away ends the wait", func(t *testing.T) {
				baseline := runtime.NumGoroutine()
				ctx, cancel := context.WithCancel(context.Background())
				for range 10 {
					startWait(t, ctx, base+"/wait?gone")
				}
				testutil.Eventually(t, "10 parked waiters", func() bool { return parkedIn(signalWait) == 10 })
				cancel() // closes the connections
				testutil.Eventually(t, "no parked waiters", func() bool { return parkedIn(signalWait) == 0 })
				client.CloseIdleConnections()
				goroutinesBack(t, baseline)
				if _, body := do(t, "POST", base+"/send?gone", "late"); body != "0\n" {
					t.Fatalf("a send after the clients left woke %q, want 0", body)
				}
			})
		})
	}
}

// A module that imports an extension is refused at load, before anything
// listens, unless its route grants it; the error names the route, its line,
// the import and the key that would grant it.
func TestUngrantedExtensionRefusedAtLoad(t *testing.T) {
	for _, tc := range []struct{ module, want string }{
		{"wait", "bubblewasm_signal_v1.wait, but the route grants no signals (add signals = [...]"},
		{"send", "bubblewasm_signal_v1.send, but the route grants no signals"},
		{"pubsub", "bubblewasm_pubsub_v1.publish, but the route grants no pubsub (add pubsub = [...]"},
		{"kv", "bubblewasm_kv_v1.get, but the route grants no kv (add kv = \"NAME\""},
		{"dial", "bubblewasm_dial_v1.call, but the route grants no dial (add dial = { NAME = \"ADDRESS\" }"},
	} {
		t.Run(tc.module, func(t *testing.T) {
			for _, engine := range testapp.Engines(t) {
				path := writeConfig(t, engine, `
[[route]]
name = "bad"
module = "`+tc.module+`.wasm"
`, tc.module)
				cfg := loadConfig(t, path)
				_, err := app.New(context.Background(), cfg, app.Options{})
				if err == nil {
					t.Fatalf("%s: app.New accepted %s.wasm on a route without the grant", engine, tc.module)
				}
				msg := err.Error()
				where := fmt.Sprintf("bubble.toml:%d: route bad: module ", cfg.Routes[0].Line)
				if !strings.Contains(msg, tc.want) || !strings.Contains(msg, where) {
					t.Fatalf("%s: error %q\nwant it to contain %q and %q", engine, msg, where, tc.want)
				}
			}
		})
	}
}
