package config

import (
	"testing"
	"time"
)

func TestConnectionLimits(t *testing.T) {
	pre := route1 + "[[listener]]\naddress = \"tcp://:1\"\n" // keys from line 5
	amqp := route1 + "[[listener]]\naddress = \"amqp://h/?queue=q\"\n"
	l := func(c *Config) any { return c.Listeners[0] }
	runGood(t, []goodCase{
		{"http defaults", pre, func(c *Config) any {
			x := c.Listeners[0]
			return []any{x.MaxConnections, x.WriteTimeout, x.DrainTimeout}
		}, []any{16384, 30 * time.Second, 2 * time.Second}},
		{"set", pre + "max_connections = 1\nwrite_timeout = \"1ms\"\ndrain_timeout = \"1h\"\n", func(c *Config) any {
			x := c.Listeners[0]
			return []any{x.MaxConnections, x.WriteTimeout, x.DrainTimeout}
		}, []any{1, time.Millisecond, time.Hour}},
		{"amqp has none", amqp, l, Listener{Name: "listener1", Address: "amqp://h/?queue=q", Transport: "http",
			ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 65536, DrainTimeout: 2 * time.Second, Line: 3}},
	})
	runBad(t, []badCase{
		{"max_connections zero", pre + "max_connections = 0\n", `bubble.toml:5: listener[1].max_connections: must be at least 1, got 0`},
		{"max_connections negative", pre + "max_connections = -5\n", `bubble.toml:5: listener[1].max_connections: must be at least 1, got -5`},
		{"max_connections string", pre + "max_connections = \"lots\"\n", `bubble.toml:5: listener[1].max_connections: must be an integer, not string`},
		{"max_connections float", pre + "max_connections = 1.5\n", `bubble.toml:5: listener[1].max_connections: must be an integer, not float`},
		{"max_connections on amqp", amqp + "max_connections = 5\n", `bubble.toml:5: listener[1].max_connections: only valid with a tcp:// or unix:// address`},
		{"write_timeout zero", pre + "write_timeout = \"0s\"\n", `bubble.toml:5: listener[1].write_timeout: must be positive, got "0s"`},
		{"write_timeout negative", pre + "write_timeout = \"-1s\"\n", `bubble.toml:5: listener[1].write_timeout: must be positive, got "-1s"`},
		{"write_timeout number", pre + "write_timeout = 30\n", `bubble.toml:5: listener[1].write_timeout: must be a duration string such as "30s", not integer`},
		{"write_timeout garbage", pre + "write_timeout = \"soon\"\n", `bubble.toml:5: listener[1].write_timeout: invalid duration "soon": time: invalid duration "soon"`},
		{"drain_timeout on line", pre + "transport = \"line\"\ndrain_timeout = \"1s\"\n", `bubble.toml:6: listener[1].drain_timeout: only valid with transport = "http", not "line"`},
		{"drain_timeout zero", pre + "drain_timeout = \"0s\"\n", `bubble.toml:5: listener[1].drain_timeout: must be positive, got "0s"`},
	})
}

func TestResponseHeaderLimits(t *testing.T) {
	runGood(t, []goodCase{
		{"set", route1 + "max_response_headers = 7\nmax_response_header_bytes = \"2KiB\"\n", func(c *Config) any {
			return []any{c.Routes[0].MaxResponseHeaders, c.Routes[0].MaxResponseHeaderBytes}
		}, []any{7, int64(2048)}},
	})
	runBad(t, []badCase{
		{"count zero", route1 + "max_response_headers = 0\n", `bubble.toml:3: route[1].max_response_headers: must be at least 1, got 0`},
		{"count huge", route1 + "max_response_headers = 10001\n", `bubble.toml:3: route[1].max_response_headers: must be at most 10000, got 10001`},
		{"count string", route1 + "max_response_headers = \"100\"\n", `bubble.toml:3: route[1].max_response_headers: must be an integer, not string`},
		{"bytes small", route1 + "max_response_header_bytes = \"1B\"\n", `bubble.toml:3: route[1].max_response_header_bytes: must be at least 1KiB, got 1B`},
		{"bytes huge", route1 + "max_response_header_bytes = \"2MiB\"\n", `bubble.toml:3: route[1].max_response_header_bytes: must be at most 1MiB, got 2MiB`},
		{"bytes negative", route1 + "max_response_header_bytes = -1\n", `bubble.toml:3: route[1].max_response_header_bytes: must be at least 1KiB, got -1B`},
	})
}
