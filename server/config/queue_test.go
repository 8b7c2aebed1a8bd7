package config

import (
	"testing"
	"time"
)

// queue and queue_timeout: defaults, values, and hostile values named by
// file, line and key.
func TestRouteQueue(t *testing.T) {
	const route = "[[route]]\nmodule = \"a.wasm\"\n"
	queue := func(c *Config) any { return [2]any{c.Routes[0].Queue, c.Routes[0].QueueTimeout} }
	runGood(t, []goodCase{
		{"default", route, queue, [2]any{0, time.Duration(0)}}, // the server's defaults
		{"set", route + "queue = 3\nqueue_timeout = \"250ms\"\n", queue, [2]any{3, 250 * time.Millisecond}},
		{"none", route + "queue = 0\n", queue, [2]any{NoQueue, time.Duration(0)}},
		{"largest", route + "queue = 1048576\n", queue, [2]any{MaxQueue, time.Duration(0)}},
		{"equal to timeout", route + "timeout = \"2s\"\nqueue_timeout = \"2s\"\n", queue, [2]any{0, 2 * time.Second}},
	})
	runBad(t, []badCase{
		{"negative", route + "queue = -1\n", "bubble.toml:3: route[1].queue: must be at least 0, got -1"},
		{"huge", route + "queue = 9223372036854775807\n", "bubble.toml:3: route[1].queue: must be at most 1048576, got 9223372036854775807"},
		{"string", route + "queue = \"many\"\n", "bubble.toml:3: route[1].queue: must be an integer, not string"},
		{"float", route + "queue = 1.5\n", "bubble.toml:3: route[1].queue: must be an integer, not float"},
		{"timeout zero", route + "queue_timeout = \"0s\"\n", `bubble.toml:3: route[1].queue_timeout: must be positive, got "0s"`},
		{"timeout negative", route + "queue_timeout = \"-1s\"\n", `bubble.toml:3: route[1].queue_timeout: must be positive, got "-1s"`},
		{"timeout garbage", route + "queue_timeout = \"soon\"\n", `bubble.toml:3: route[1].queue_timeout: invalid duration "soon": time: invalid duration "soon"`},
		{"timeout integer", route + "queue_timeout = 5\n", `bubble.toml:3: route[1].queue_timeout: must be a duration string such as "30s", not integer`},
		{"timeout huge", route + "queue_timeout = \"2562047h\"\n", `bubble.toml:3: route[1].queue_timeout: must not exceed the route's timeout 30s, got 2562047h0m0s`},
		{"timeout over route's", route + "timeout = \"1s\"\nqueue_timeout = \"2s\"\n", `bubble.toml:4: route[1].queue_timeout: must not exceed the route's timeout 1s, got 2s`},
		{"on a builtin", "[[route]]\nbuiltin = \"longpoll\"\nchannel = \"c\"\nqueue = 3\n", `bubble.toml:4: route[1].queue: only valid on a route with a module`},
		{"on a transport", "[[route]]\ntransport = \"jsonrpc\"\nqueue_timeout = \"1s\"\n", `bubble.toml:3: route[1].queue_timeout: only valid on a route with a module`},
	})
}
