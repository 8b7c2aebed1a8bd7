package config

import (
	"testing"

	"github.com/bubblewasm/bubblewasm/internal/testutil"
)

// The HTTP/2 keys of a listener: defaults, good values, hostile ones.
func TestListenerHTTP2(t *testing.T) {
	ca := testutil.NewCA(t)
	cert, key, _ := ca.Issue(t, "a", "a.test", "a.test")
	route := "[[route]]\nmodule = \"a.wasm\"\n"
	head := route + "[[listener]]\naddress = \"tcp://127.0.0.1:0\"\n"
	tlsHead := route + "[[listener]]\naddress = \"tls://127.0.0.1:0\"\ntls_cert = " + q(cert) + "\ntls_key = " + q(key) + "\n"
	type h2 struct {
		HTTP2, H2C bool
		Streams    int
	}
	get := func(c *Config) any {
		l := c.Listeners[0]
		return h2{l.HTTP2, l.H2C, l.MaxConcurrentStreams}
	}
	runGood(t, []goodCase{
		{"defaults", head, get, h2{true, false, 100}},
		{"TLS defaults", tlsHead, get, h2{true, false, 100}},
		{"http2 off over TLS", tlsHead + "http2 = false\n", get, h2{false, false, 100}},
		{"h2c on", head + "h2c = true\n", get, h2{true, true, 100}},
		{"h2c off on TLS", tlsHead + "h2c = false\n", get, h2{true, false, 100}},
		{"one stream", head + "max_concurrent_streams = 1\n", get, h2{true, false, 1}},
		{"most streams", head + "max_concurrent_streams = 10000\n", get, h2{true, false, 10000}},
		{"unix", route + "[[listener]]\naddress = \"unix:///tmp/x.sock\"\nh2c = true\n", get, h2{true, true, 100}},
		{"line transport has none", head + "transport = \"line\"\n", get, h2{}},
	})
	runBad(t, []badCase{
		{"streams zero", head + "max_concurrent_streams = 0\n", "bubble.toml:5: listener[1].max_concurrent_streams: must be at least 1, got 0"},
		{"streams negative", head + "max_concurrent_streams = -5\n", "bubble.toml:5: listener[1].max_concurrent_streams: must be at least 1, got -5"},
		{"streams huge", head + "max_concurrent_streams = 9223372036854775807\n", "bubble.toml:5: listener[1].max_concurrent_streams: must be at most 10000, got 9223372036854775807"},
		{"streams over the cap", head + "max_concurrent_streams = 10001\n", "bubble.toml:5: listener[1].max_concurrent_streams: must be at most 10000, got 10001"},
		{"streams string", head + "max_concurrent_streams = \"100\"\n", "bubble.toml:5: listener[1].max_concurrent_streams: must be an integer, not string"},
		{"streams float", head + "max_concurrent_streams = 1.5\n", "bubble.toml:5: listener[1].max_concurrent_streams: must be an integer, not float"},
		{"http2 string", head + "http2 = \"yes\"\n", "bubble.toml:5: listener[1].http2: must be true or false, not string"},
		{"http2 integer", head + "http2 = 1\n", "bubble.toml:5: listener[1].http2: must be true or false, not integer"},
		{"h2c garbage", head + "h2c = \"\\u0000\"\n", "bubble.toml:5: listener[1].h2c: must be true or false, not string"},
		{"h2c array", head + "h2c = [true]\n", "bubble.toml:5: listener[1].h2c: must be true or false, not array"},
		{"h2c on TLS", tlsHead + "h2c = true\n", "bubble.toml:7: listener[1].h2c: cleartext HTTP/2 on a TLS listener: HTTP/2 over TLS is http2 = true (the default)"},
		{"line transport", head + "transport = \"line\"\nhttp2 = true\n", "bubble.toml:6: listener[1].http2: only valid with transport = \"http\", not \"line\""},
		{"jsonrpc streams", head + "transport = \"jsonrpc\"\nmax_concurrent_streams = 10\n", "bubble.toml:6: listener[1].max_concurrent_streams: only valid with transport = \"http\", not \"jsonrpc\""},
		{"amqp", route + "[[listener]]\naddress = \"amqp://h/?queue=q\"\nh2c = true\n", "bubble.toml:5: listener[1].h2c: only valid with a tcp://, tls://, unix:// or systemd:// address"},
	})
}
