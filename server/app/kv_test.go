package app_test

import (
	"strings"
	"testing"

	"github.com/bubblewasm/bubblewasm/internal/testapp"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
)

// Two routes share the namespace "shared"; a third has its own.
const kvRoutes = `
[[route]]
name = "kva"
module = "kv.wasm"
match = { PATH_INFO = "/a" }
kv = "shared"

[[route]]
name = "kvb"
module = "kv.wasm"
match = { PATH_INFO = "/b" }
kv = "shared"

[[route]]
name = "kvc"
module = "kv.wasm"
match = { PATH_INFO = "/c" }
kv = "other"
`

func TestKVExtension(t *testing.T) {
	for _, engine := range testapp.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			base, _ := start(t, engine, kvRoutes, "kv")
			kv := func(route, want, body string, headers ...string) {
				t.Helper()
				status, got := do(t, "POST", base+"/"+route, body, headers...)
				if status != 200 || got != want {
					t.Fatalf("%s %v: %d %q, want 200 %q", route, headers, status, got, want)
				}
			}

			t.Run("routes naming one namespace share it", func(t *testing.T) {
				kv("a", "ok\n", "v1", "X-Op: set", "X-Key: k1")
				kv("b", "value: v1\n", "", "X-Op: get", "X-Key: k1")
				kv("c", "error -1\n", "", "X-Op: get", "X-Key: k1")
				kv("c", "ok\n", "c-own", "X-Op: set", "X-Key: k1")
				kv("a", "value: v1\n", "", "X-Op: get", "X-Key: k1")
				kv("c", "value: c-own\n", "", "X-Op: get", "X-Key: k1")
				kv("b", "ok\n", "v2", "X-Op: set", "X-Key: k1") // replaces
				kv("a", "value: v2\n", "", "X-Op: get", "X-Key: k1")
				kv("b", "ok\n", "", "X-Op: delete", "X-Key: k1")
				kv("a", "error -1\n", "", "X-Op: get", "X-Key: k1")
				kv("a", "ok\n", "", "X-Op: delete", "X-Key: k1") // absent: still 0
				kv("c", "value: c-own\n", "", "X-Op: get", "X-Key: k1")
			})

			t.Run("size negotiation", func(t *testing.T) {
				v := strings.Repeat("v", 300)
				kv("a", "ok\n", v, "X-Op: set", "X-Key: big")
				kv("b", "retried value: "+v+"\n", "", "X-Op: get", "X-Key: big", "X-Buf: 10")
				kv("b", "ok\n", "", "X-Op: set", "X-Key: empty") // an empty value exists
				kv("a", "value: \n", "", "X-Op: get", "X-Key: empty", "X-Buf: 0")
			})

			t.Run("ttl", func(t *testing.T) {
				kv("a", "ok\n", "forever", "X-Op: set", "X-Key: forever", "X-Ttl-Ms: 0")
				kv("a", "ok\n", "negative", "X-Op: set", "X-Key: negative", "X-Ttl-Ms: -5")
				kv("a", "ok\n", "hour", "X-Op: set", "X-Key: hour", "X-Ttl-Ms: 3600000")
				kv("a", "ok\n", "brief", "X-Op: set", "X-Key: brief", "X-Ttl-Ms: 50")
				testutil.Eventually(t, "the 50 ms key to expire", func() bool {
					_, got := do(t, "POST", base+"/b", "", "X-Op: get", "X-Key: brief")
					if got != "value: brief\n" && got != "error -1\n" {
						t.Fatalf("get brief: %q", got)
					}
					return got == "error -1\n"
				})
				kv("b", "value: forever\n", "", "X-Op: get", "X-Key: forever")
				kv("b", "value: negative\n", "", "X-Op: get", "X-Key: negative")
				kv("b", "value: hour\n", "", "X-Op: get", "X-Key: hour")
				// Setting again replaces the ttl: "hour" now lives for ever.
				kv("a", "ok\n", "hour2", "X-Op: set", "X-Key: hour")
				kv("b", "value: hour2\n", "", "X-Op: get", "X-Key: hour")
			})

			t.Run("an empty key is ERR_INVALID", func(t *testing.T) {
				kv("a", "error -2\n", "x", "X-Op: set")
				kv("a", "error -2\n", "", "X-Op: get")
			})
		})
	}
}
