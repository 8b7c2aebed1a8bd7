package app_test

import (
	"strings"
	"testing"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/internal/testapp"
	"github.com/bubblewasm/bubblewasm/server/events"
)

// Route "public" may use the channel "public"; route "secret" the channel
// "secret". Both run the same module.
const twoGrants = `
[[route]]
name = "public"
module = "pubsub.wasm"
match = { PATH_INFO = "/public" }
pubsub = ["public"]

[[route]]
name = "secret"
module = "pubsub.wasm"
match = { PATH_INFO = "/secret" }
pubsub = ["secret"]
`

// The cross-route attack: route X, granted "public", fetches and
// cancels route Y's subscription to "secret" with Y's id. A subscription
// belongs to the route that made it: X gets the answer an unknown id
// gets, and Y's subscription is untouched.
func TestSubscriptionBoundToRoute(t *testing.T) {
	for _, engine := range testapp.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			base, logs := start(t, engine, twoGrants, "pubsub")
			ps := func(route, want, body string, headers ...string) string {
				t.Helper()
				status, got := do(t, "POST", base+"/"+route, body, headers...)
				if status != 200 || (want != "" && got != want) {
					t.Fatalf("%s %v: %d %q, want 200 %q", route, headers, status, got, want)
				}
				return got
			}
			id := ps("secret", "", "", "X-Op: subscribe", "X-Channel: secret")
			ps("secret", "published 1\n", "the launch codes", "X-Op: publish", "X-Channel: secret")

			unknown := ps("public", "", "", "X-Op: fetch", "X-Sub: "+strings.Repeat("A", len(id)), "X-Timeout-Ms: -1")
			if unknown != "error -1\n" {
				t.Fatalf("fetch of an unknown id: %q", unknown)
			}
			ps("public", unknown, "", "X-Op: fetch", "X-Sub: "+id, "X-Timeout-Ms: -1")
			ps("public", unknown, "", "X-Op: announce", "X-Sub: "+id, "X-Buf: 1", "X-Timeout-Ms: -1")
			ps("public", unknown, "", "X-Op: unsubscribe", "X-Sub: "+id)
			waitLog(t, logs, "subscription id of another route", "route=public", "owner=secret")
			if strings.Contains(logs.String(), id) {
				t.Error("the log shows a subscription id, a bearer token")
			}

			// Y still has its subscription and its message.
			ps("secret", "got: the launch codes\n", "", "X-Op: fetch", "X-Sub: "+id)
			ps("secret", "unsubscribed\n", "", "X-Op: unsubscribe", "X-Sub: "+id)
		})
	}
}

// Routes that name one pubsub_scope share their subscriptions (the chat's
// page subscribes, its pull fetches), each within its own grant; a route
// outside the scope cannot use them, whatever its grant.
func TestSubscriptionScope(t *testing.T) {
	const routes = `
[[route]]
name = "maker"
module = "pubsub.wasm"
match = { PATH_INFO = "/maker" }
pubsub = ["chat"]
pubsub_scope = "app"

[[route]]
name = "user"
module = "pubsub.wasm"
match = { PATH_INFO = "/user" }
pubsub = ["chat", "other"]
pubsub_scope = "app"

[[route]]
name = "narrow"
module = "pubsub.wasm"
match = { PATH_INFO = "/narrow" }
pubsub = ["other"]
pubsub_scope = "app"

[[route]]
name = "outsider"
module = "pubsub.wasm"
match = { PATH_INFO = "/outsider" }
pubsub = ["*"]

[[route]]
name = "app"
module = "pubsub.wasm"
match = { PATH_INFO = "/app" }
pubsub = ["*"]
`
	for _, engine := range testapp.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			base, logs := start(t, engine, routes, "pubsub")
			ps := func(route, want, body string, headers ...string) string {
				t.Helper()
				status, got := do(t, "POST", base+"/"+route, body, headers...)
				if status != 200 || (want != "" && got != want) {
					t.Fatalf("%s %v: %d %q, want 200 %q", route, headers, status, got, want)
				}
				return got
			}
			id := ps("maker", "", "", "X-Op: subscribe", "X-Channel: chat")
			sub := "X-Sub: " + id
			ps("maker", "published 1\n", "m1", "X-Op: publish", "X-Channel: chat")
			ps("maker", "published 1\n", "m2", "X-Op: publish", "X-Channel: chat")
			ps("user", "got: m1\n", "", "X-Op: fetch", sub)
			// Outside the scope, even with a grant of everything, and even
			// a route whose name is the scope's: unknown.
			ps("outsider", "error -1\n", "", "X-Op: fetch", sub, "X-Timeout-Ms: -1")
			ps("app", "error -1\n", "", "X-Op: fetch", sub, "X-Timeout-Ms: -1")
			// In the scope, but the grant does not cover the channel.
			ps("narrow", "error -1\n", "", "X-Op: fetch", sub, "X-Timeout-Ms: -1")
			ps("narrow", "error -1\n", "", "X-Op: unsubscribe", sub)
			waitLog(t, logs, "does not grant", "route=narrow", "channel=chat")
			ps("maker", "got: m2\n", "", "X-Op: fetch", sub)
			ps("user", "unsubscribed\n", "", "X-Op: unsubscribe", sub)
			ps("maker", "error -1\n", "", "X-Op: fetch", sub)
		})
	}
}

// The subscription flood: one route subscribing in a loop. It is
// stopped at its own cap with ERR_FULL (-9, not ERR_TOO_LARGE), and
// another route can still subscribe; the process-wide cap stops the sum.
// With [limits] route_share = 0.25 each route's cap is its quarter of the
// process-wide 12, below its own max_subscriptions.
func TestSubscriptionQuotaPerRoute(t *testing.T) {
	const routes = `
[pubsub]
max_subscriptions = 12

[[route]]
name = "hog"
module = "flood.wasm"
match = { PATH_INFO = "/hog" }
pubsub = ["chat"]
max_subscriptions = 5

[[route]]
name = "other"
module = "flood.wasm"
match = { PATH_INFO = "/other" }
pubsub = ["chat"]
max_subscriptions = 10
`
	type step struct{ route, count, want string }
	for _, c := range []struct {
		name, limits string
		steps        []step
	}{
		{"own caps", "", []step{
			{"hog", "1000000", "error -9 after 5\n"},
			{"hog", "1", "error -9 after 0\n"},
			{"other", "3", "done 3\n"},
			{"other", "10", "error -9 after 4\n"}, // 5 + 3 of 12: the process-wide cap leaves "other" 4 more
		}},
		{"route_share", "[limits]\nroute_share = 0.25\n", []step{
			{"hog", "1000000", "error -9 after 3\n"},
			{"other", "3", "done 3\n"},
			{"other", "1", "error -9 after 0\n"},
		}},
	} {
		for _, engine := range testapp.Engines(t) {
			t.Run(c.name+"/"+engine, func(t *testing.T) {
				base, logs := start(t, engine, c.limits+routes, "flood")
				for _, s := range c.steps {
					status, got := do(t, "POST", base+"/"+s.route, "", "X-Op: subscribe", "X-Count: "+s.count)
					if status != 200 || got != s.want {
						t.Fatalf("%s: %d %q, want %q", s.route, status, got, s.want)
					}
				}
				waitLog(t, logs, "subscription cap reached", "route=hog")
			})
		}
	}
}

// A full namespace answers ERR_FULL (-9), which no longer reads as a value
// too large (ERR_TOO_LARGE, -7, still is for a value over the limit).
func TestKVFullIsErrFull(t *testing.T) {
	const routes = `
[kv]
max_keys = 2
max_value_bytes = "1KiB"

[[route]]
name = "kva"
module = "kv.wasm"
match = { PATH_INFO = "/a" }
kv = "shared"
`
	for _, engine := range testapp.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			base, _ := start(t, engine, routes, "kv")
			kv := func(want, body string, headers ...string) {
				t.Helper()
				status, got := do(t, "POST", base+"/a", body, headers...)
				if status != 200 || got != want {
					t.Fatalf("%v: %d %q, want 200 %q", headers, status, got, want)
				}
			}
			kv("ok\n", "1", "X-Op: set", "X-Key: k1")
			kv("ok\n", "2", "X-Op: set", "X-Key: k2")
			kv("error -9\n", "3", "X-Op: set", "X-Key: k3")
			kv("ok\n", "2b", "X-Op: set", "X-Key: k2") // replacing needs no room
			kv("error -7\n", strings.Repeat("v", 1025), "X-Op: set", "X-Key: k2")
		})
	}
}

// The ABI's size limits on names are the event services' own.
func TestNameLimitsMatch(t *testing.T) {
	if abi.MaxNameBytes != events.MaxNameBytes {
		t.Errorf("abi.MaxNameBytes %d, events.MaxNameBytes %d", abi.MaxNameBytes, events.MaxNameBytes)
	}
}
