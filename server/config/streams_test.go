package config

import (
	"testing"
	"time"
)

func TestStreamListenerGood(t *testing.T) {
	pre := route1 + "[[listener]]\naddress = \"tcp://:1\"\n" // [[listener]] on line 3
	l := func(c *Config) Listener { return c.Listeners[0] }
	type stream struct {
		Idle, Read        time.Duration
		Batch, Concurrent int
	}
	s := func(c *Config) any {
		return stream{l(c).IdleTimeout, l(c).ReadTimeout, l(c).MaxBatch, l(c).BatchConcurrency}
	}
	runGood(t, []goodCase{
		{"line defaults", pre + "transport = \"line\"\n", s, stream{DefaultIdleTimeout, DefaultReadTimeout, 0, 0}},
		{"json defaults", pre + "transport = \"json\"\n", s, stream{DefaultIdleTimeout, DefaultReadTimeout, 0, 0}},
		{"jsonrpc defaults", pre + "transport = \"jsonrpc\"\n", s, stream{DefaultIdleTimeout, DefaultReadTimeout, DefaultMaxBatch, DefaultBatchConcurrency}},
		{"http keeps only its idle timeout", pre, s, stream{DefaultIdleTimeout, 0, 0, 0}},
		{"raw has none", pre + "transport = \"raw\"\n", s, stream{}},
		{"line set", pre + "transport = \"line\"\nidle_timeout = \"5s\"\nread_timeout = \"1ms\"\n", s, stream{5 * time.Second, time.Millisecond, 0, 0}},
		{"jsonrpc set", pre + "transport = \"jsonrpc\"\nidle_timeout = \"1h\"\nread_timeout = \"2m\"\nmax_batch = 1\nmax_batch_concurrency = 1\n",
			s, stream{time.Hour, 2 * time.Minute, 1, 1}},
		{"jsonrpc maxima", pre + "transport = \"jsonrpc\"\nmax_batch = 100000\nmax_batch_concurrency = 1024\n",
			s, stream{DefaultIdleTimeout, DefaultReadTimeout, MaxMaxBatch, MaxBatchConcurrency}},
		{"http idle_timeout", pre + "idle_timeout = \"3s\"\n", s, stream{3 * time.Second, 0, 0, 0}},
	})
}

func TestStreamListenerBad(t *testing.T) {
	pre := route1 + "[[listener]]\naddress = \"tcp://:1\"\n" // keys from line 5
	rpc := pre + "transport = \"jsonrpc\"\n"                 // further keys from line 6
	runBad(t, []badCase{
		{"idle_timeout zero", rpc + "idle_timeout = \"0s\"\n", `bubble.toml:6: listener[1].idle_timeout: must be positive, got "0s"`},
		{"idle_timeout negative", rpc + "idle_timeout = \"-5m\"\n", `bubble.toml:6: listener[1].idle_timeout: must be positive, got "-5m"`},
		{"idle_timeout integer", rpc + "idle_timeout = 30\n", `bubble.toml:6: listener[1].idle_timeout: must be a duration string such as "30s", not integer`},
		{"idle_timeout garbage", rpc + "idle_timeout = \"forever\"\n", `bubble.toml:6: listener[1].idle_timeout: invalid duration "forever": time: invalid duration "forever"`},
		{"idle_timeout overflow", rpc + "idle_timeout = \"9999999999h\"\n", `bubble.toml:6: listener[1].idle_timeout: invalid duration "9999999999h": time: invalid duration "9999999999h"`},
		{"read_timeout zero", rpc + "read_timeout = \"0\"\n", `bubble.toml:6: listener[1].read_timeout: must be positive, got "0"`},
		{"read_timeout negative", pre + "transport = \"line\"\nread_timeout = \"-1ns\"\n", `bubble.toml:6: listener[1].read_timeout: must be positive, got "-1ns"`},
		{"read_timeout float", pre + "transport = \"json\"\nread_timeout = 1.5\n", `bubble.toml:6: listener[1].read_timeout: must be a duration string such as "30s", not float`},
		{"read_timeout on http", pre + "read_timeout = \"1s\"\n", `bubble.toml:5: listener[1].read_timeout: only valid with transport = "line", "json" or "jsonrpc", not "http"`},
		{"read_timeout on raw", pre + "transport = \"raw\"\nread_timeout = \"1s\"\n", `bubble.toml:6: listener[1].read_timeout: only valid with transport = "line", "json" or "jsonrpc", not "raw"`},
		{"max_batch zero", rpc + "max_batch = 0\n", `bubble.toml:6: listener[1].max_batch: must be at least 1, got 0`},
		{"max_batch negative", rpc + "max_batch = -1\n", `bubble.toml:6: listener[1].max_batch: must be at least 1, got -1`},
		{"max_batch huge", rpc + "max_batch = 9223372036854775807\n", `bubble.toml:6: listener[1].max_batch: must be at most 100000, got 9223372036854775807`},
		{"max_batch over", rpc + "max_batch = 100001\n", `bubble.toml:6: listener[1].max_batch: must be at most 100000, got 100001`},
		{"max_batch string", rpc + "max_batch = \"100\"\n", `bubble.toml:6: listener[1].max_batch: must be an integer, not string`},
		{"max_batch float", rpc + "max_batch = 1e3\n", `bubble.toml:6: listener[1].max_batch: must be an integer, not float`},
		{"max_batch on line", pre + "transport = \"line\"\nmax_batch = 10\n", `bubble.toml:6: listener[1].max_batch: only valid with transport = "jsonrpc", not "line"`},
		{"max_batch on http", pre + "max_batch = 10\n", `bubble.toml:5: listener[1].max_batch: only valid with transport = "jsonrpc", not "http"`},
		{"max_batch_concurrency zero", rpc + "max_batch_concurrency = 0\n", `bubble.toml:6: listener[1].max_batch_concurrency: must be at least 1, got 0`},
		{"max_batch_concurrency over", rpc + "max_batch_concurrency = 1025\n", `bubble.toml:6: listener[1].max_batch_concurrency: must be at most 1024, got 1025`},
		{"max_batch_concurrency boolean", rpc + "max_batch_concurrency = true\n", `bubble.toml:6: listener[1].max_batch_concurrency: must be an integer, not boolean`},
		{"max_batch_concurrency on json", pre + "transport = \"json\"\nmax_batch_concurrency = 2\n", `bubble.toml:6: listener[1].max_batch_concurrency: only valid with transport = "jsonrpc", not "json"`},
		{"unknown transport: values only", pre + "transport = \"x\"\nmax_batch = 0\n",
			"bubble.toml:5: listener[1].transport: unknown transport \"x\" (allowed: \"raw\", \"line\", \"http\", \"json\", \"jsonrpc\")\n" +
				"bubble.toml:6: listener[1].max_batch: must be at least 1, got 0"},
	})
}

func TestStreamRoute(t *testing.T) {
	rpc := "[[route]]\ntransport = \"jsonrpc\"\n" // keys from line 3
	r := func(c *Config) any { return [2]int{c.Routes[0].MaxBatch, c.Routes[0].BatchConcurrency} }
	runGood(t, []goodCase{
		{"defaults", rpc, r, [2]int{DefaultMaxBatch, DefaultBatchConcurrency}},
		{"set", rpc + "max_batch = 5000\nmax_batch_concurrency = 2\n", r, [2]int{5000, 2}},
		{"module route has none", route1, r, [2]int{0, 0}},
	})
	runBad(t, []badCase{
		{"max_batch zero", rpc + "max_batch = 0\n", `bubble.toml:3: route[1].max_batch: must be at least 1, got 0`},
		{"max_batch over", rpc + "max_batch = 1000000\n", `bubble.toml:3: route[1].max_batch: must be at most 100000, got 1000000`},
		{"max_batch_concurrency negative", rpc + "max_batch_concurrency = -8\n", `bubble.toml:3: route[1].max_batch_concurrency: must be at least 1, got -8`},
		{"max_batch_concurrency string", rpc + "max_batch_concurrency = \"8\"\n", `bubble.toml:3: route[1].max_batch_concurrency: must be an integer, not string`},
		{"max_batch on a module route", route1 + "max_batch = 10\n", `bubble.toml:3: route[1].max_batch: only valid with transport = "jsonrpc"`},
		{"max_batch_concurrency on a builtin", "[[route]]\nbuiltin = \"longpoll\"\nchannel = \"c\"\nmax_batch_concurrency = 2\n",
			`bubble.toml:4: route[1].max_batch_concurrency: only valid with transport = "jsonrpc"`},
		{"unknown transport: values only", "[[route]]\ntransport = \"grpc\"\nmax_batch = 0\n",
			"bubble.toml:2: route[1].transport: unknown transport \"grpc\" (allowed: \"raw\", \"line\", \"http\", \"json\", \"jsonrpc\", \"websocket\")\n" +
				"bubble.toml:3: route[1].max_batch: must be at least 1, got 0"},
	})
}
