package config

import (
	"strings"
	"testing"
	"time"
)

// queue and queue_timeout: defaults, values, and hostile values named by
// file, line and key.
func TestRouteQueue(t *testing.T) {
	const route = "[[route]]\nmodule = \"a.wasm\"\n"
	for _, c := range []struct {
		name, body string
		queue      int
		timeout    time.Duration
		err        string
	}{
		{"default", route, 0, 0, ""}, // the server's defaults
		{"set", route + "queue = 3\nqueue_timeout = \"250ms\"\n", 3, 250 * time.Millisecond, ""},
		{"none", route + "queue = 0\n", NoQueue, 0, ""},
		{"largest", route + "queue = 1048576\n", MaxQueue, 0, ""},
		{"equal to timeout", route + "timeout = \"2s\"\nqueue_timeout = \"2s\"\n", 0, 2 * time.Second, ""},
		{"negative", route + "queue = -1\n", 0, 0, "bubble.toml:3: route[1].queue: must be at least 0, got -1"},
		{"huge", route + "queue = 9223372036854775807\n", 0, 0, "bubble.toml:3: route[1].queue: must be at most 1048576, got 9223372036854775807"},
		{"string", route + "queue = \"many\"\n", 0, 0, "bubble.toml:3: route[1].queue: must be an integer, not string"},
		{"float", route + "queue = 1.5\n", 0, 0, "bubble.toml:3: route[1].queue: must be an integer"},
		{"timeout zero", route + "queue_timeout = \"0s\"\n", 0, 0, `bubble.toml:3: route[1].queue_timeout: must be positive, got "0s"`},
		{"timeout negative", route + "queue_timeout = \"-1s\"\n", 0, 0, `bubble.toml:3: route[1].queue_timeout: must be positive, got "-1s"`},
		{"timeout garbage", route + "queue_timeout = \"soon\"\n", 0, 0, `bubble.toml:3: route[1].queue_timeout: invalid duration "soon"`},
		{"timeout integer", route + "queue_timeout = 5\n", 0, 0, `bubble.toml:3: route[1].queue_timeout: must be a duration string such as "30s", not integer`},
		{"timeout huge", route + "queue_timeout = \"2562047h\"\n", 0, 0, `bubble.toml:3: route[1].queue_timeout: must not exceed the route's timeout 30s, got 2562047h0m0s`},
		{"timeout over route's", route + "timeout = \"1s\"\nqueue_timeout = \"2s\"\n", 0, 0, `bubble.toml:4: route[1].queue_timeout: must not exceed the route's timeout 1s, got 2s`},
		{"on a builtin", "[[route]]\nbuiltin = \"longpoll\"\nchannel = \"c\"\nqueue = 3\n", 0, 0, `bubble.toml:4: route[1].queue: only valid on a route with a module`},
		{"on a transport", "[[route]]\ntransport = \"jsonrpc\"\nqueue_timeout = \"1s\"\n", 0, 0, `bubble.toml:3: route[1].queue_timeout: only valid on a route with a module`},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := ParseWith("bubble.toml", []byte(c.body), Options{Transports: []string{"jsonrpc"}})
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r := cfg.Routes[0]; r.Queue != c.queue || r.QueueTimeout != c.timeout {
				t.Errorf("Queue %d QueueTimeout %s, want %d %s", r.Queue, r.QueueTimeout, c.queue, c.timeout)
			}
		})
	}
}
