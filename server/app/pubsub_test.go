package app_test

import (
	"strings"
	"testing"

	"github.com/bubblewasm/bubblewasm/internal/testapp"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
)

const pubsubRoutes = `
[pubsub]
queue_size = 10
max_message_bytes = "1KiB"

[[route]]
name = "ps"
module = "pubsub.wasm"
match = { PATH_INFO = "/ps" }
pubsub = ["chat.*"]
`

// TestPubSubExtension drives bubblewasm_pubsub_v1 from a WAT guest, one
// operation per exchange: the subscription lives on the host between them.
func TestPubSubExtension(t *testing.T) {
	for _, engine := range testapp.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			base, logs := start(t, engine, pubsubRoutes, "pubsub")
			ps := func(want string, body string, headers ...string) string {
				t.Helper()
				status, got := do(t, "POST", base+"/ps", body, headers...)
				if status != 200 || (want != "" && got != want) {
					t.Fatalf("%v: %d %q, want 200 %q", headers, status, got, want)
				}
				return got
			}
			id := ps("", "", "X-Op: subscribe", "X-Channel: chat.room1")
			if len(id) != 22 || strings.ContainsAny(id, " \n") {
				t.Fatalf("subscribe answered %q, want a 22-character id", id)
			}
			sub := "X-Sub: " + id

			t.Run("size negotiation loses nothing", func(t *testing.T) {
				long := strings.Repeat("L", 600) + "!"
				ps("published 1\n", "short1", "X-Op: publish", "X-Channel: chat.room1")
				ps("published 1\n", long, "X-Op: publish", "X-Channel: chat.room1")
				ps("published 1\n", "short2", "X-Op: publish", "X-Channel: chat.room1")
				// First buffer of 16 bytes: the long message is announced,
				// stays queued, and comes whole on the retry; order kept.
				ps("got: short1\n", "", "X-Op: fetch", sub, "X-Buf: 16")
				ps("retried got: "+long+"\n", "", "X-Op: fetch", sub, "X-Buf: 16")
				ps("got: short2\n", "", "X-Op: fetch", sub, "X-Buf: 16")
				ps("error -6\n", "", "X-Op: fetch", sub, "X-Timeout-Ms: 20") // ERR_TIMEOUT: empty
				ps("error -6\n", "", "X-Op: fetch", sub, "X-Timeout-Ms: -1") // negative: no wait
			})

			t.Run("a waiting fetch gets a later publish", func(t *testing.T) {
				got := make(chan string, 1)
				go func() {
					_, body, err := doErr("POST", base+"/ps", "", "X-Op: fetch", sub, "X-Timeout-Ms: 20000")
					if err != nil {
						body = err.Error()
					}
					got <- body
				}()
				testutil.Eventually(t, "the fetch to wait", func() bool { return parkedIn(brokerFetch) == 1 })
				ps("published 1\n", "live", "X-Op: publish", "X-Channel: chat.room1")
				if body := <-got; body != "got: live\n" {
					t.Fatalf("waiting fetch: %q", body)
				}
			})

			t.Run("an id buffer under 64 bytes is ERR_INVALID", func(t *testing.T) {
				ps("error -2\n", "", "X-Op: subscribe", "X-Channel: chat.room1", "X-Buf: 63")
			})

			t.Run("an ungranted channel is ERR_DENIED and logged", func(t *testing.T) {
				ps("error -8\n", "x", "X-Op: publish", "X-Channel: secret")
				ps("error -8\n", "", "X-Op: subscribe", "X-Channel: chat2")
				line := waitLog(t, logs, "does not grant", "route=ps", "channel=secret")
				if !strings.Contains(line, "level=WARN") {
					t.Fatalf("denial logged as %s", line)
				}
			})

			t.Run("an invalid channel is ERR_INVALID", func(t *testing.T) {
				ps("error -2\n", "x", "X-Op: publish", "X-Channel: chat.a*")
				ps("error -2\n", "x", "X-Op: publish") // empty name
			})

			t.Run("a message over max_message_bytes is ERR_TOO_LARGE", func(t *testing.T) {
				ps("published 1\n", strings.Repeat("m", 1024), "X-Op: publish", "X-Channel: chat.room1")
				ps("error -7\n", strings.Repeat("m", 1025), "X-Op: publish", "X-Channel: chat.room1")
				ps("got: "+strings.Repeat("m", 1024)+"\n", "", "X-Op: fetch", sub)
			})

			t.Run("after unsubscribe, ERR_NOT_FOUND", func(t *testing.T) {
				ps("published 1\n", "pending", "X-Op: publish", "X-Channel: chat.room1")
				ps("unsubscribed\n", "", "X-Op: unsubscribe", sub)
				ps("error -1\n", "", "X-Op: fetch", sub)
				ps("error -1\n", "", "X-Op: unsubscribe", sub)
				ps("published 0\n", "nobody", "X-Op: publish", "X-Channel: chat.room1")
				ps("error -1\n", "", "X-Op: fetch", "X-Sub: not-a-subscription")
			})

			t.Run("an announced message waits for the next exchange", func(t *testing.T) {
				id := ps("", "", "X-Op: subscribe", "X-Channel: chat.room2")
				sub2 := "X-Sub: " + id
				held := strings.Repeat("h", 100)
				ps("published 1\n", held, "X-Op: publish", "X-Channel: chat.room2")
				ps("published 1\n", "next", "X-Op: publish", "X-Channel: chat.room2")
				// The guest learns the size and ends its exchange without
				// retrying: the message is kept for the subscription.
				ps("size 100\n", "", "X-Op: announce", sub2, "X-Buf: 8")
				ps("size 100\n", "", "X-Op: announce", sub2, "X-Buf: 99")
				ps("got: "+held+"\n", "", "X-Op: fetch", sub2, "X-Buf: 100")
				ps("got: next\n", "", "X-Op: fetch", sub2)
				// A held message goes with its subscription.
				ps("published 1\n", held, "X-Op: publish", "X-Channel: chat.room2")
				ps("size 100\n", "", "X-Op: announce", sub2, "X-Buf: 8")
				ps("unsubscribed\n", "", "X-Op: unsubscribe", sub2)
				ps("error -1\n", "", "X-Op: fetch", sub2)
			})
		})
	}
}
