package config

import (
	"strings"
	"testing"
	"time"
)

// outbound and its limits: defaults, values, and hostile values named by
// file, line and key.
func TestRouteOutbound(t *testing.T) {
	const route = "[[route]]\nmodule = \"a.wasm\"\n"
	const granted = route + "outbound = [\"https://api.example.com\"]\n"
	get := func(c *Config) any { return c.Routes[0].Outbound }
	def := func(allow ...string) *Outbound {
		return &Outbound{Allow: append([]string{}, allow...), Timeout: 10 * time.Second, MaxRequestBytes: 1 << 20, MaxResponseBytes: 10 << 20}
	}
	runGood(t, []goodCase{
		{"none", route, get, (*Outbound)(nil)},
		{"defaults", granted, get, def("https://api.example.com")},
		{"empty list grants nothing reachable", route + "outbound = []\n", get, def()},
		{"entries", route + "outbound = [\"https://api.example.com/v1/\", \"http://127.0.0.1:9000\", \"http://[::1]:8080/x\"]\n", get,
			def("https://api.example.com/v1/", "http://127.0.0.1:9000", "http://[::1]:8080/x")},
		{"limits", granted + "outbound_timeout = \"2s\"\noutbound_max_request_bytes = \"4KiB\"\noutbound_max_response_bytes = 100\n", get,
			&Outbound{Allow: []string{"https://api.example.com"}, Timeout: 2 * time.Second, MaxRequestBytes: 4 << 10, MaxResponseBytes: 100}},
		{"no request body", granted + "outbound_max_request_bytes = 0\n", func(c *Config) any { return c.Routes[0].Outbound.MaxRequestBytes }, int64(0)},
	})
	runBad(t, []badCase{
		{"not an array", route + "outbound = \"https://api.example.com\"\n", `bubble.toml:3: route[1].outbound: must be an array of URLs such as ["https://api.example.com"], not string`},
		{"a table", route + "outbound = { a = \"https://x\" }\n", `bubble.toml:3: route[1].outbound: must be an array of URLs such as ["https://api.example.com"], not table`},
		{"entry not a string", route + "outbound = [1]\n", `bubble.toml:3: route[1].outbound: entry 1 must be a URL string, not integer`},
		{"no scheme", route + "outbound = [\"api.example.com\"]\n", `bubble.toml:3: route[1].outbound: entry 1 "api.example.com" must be an http:// or https:// URL, not ":"`},
		{"ftp", route + "outbound = [\"ftp://example.com\"]\n", `bubble.toml:3: route[1].outbound: entry 1 "ftp://example.com" must be an http:// or https:// URL, not "ftp:"`},
		{"file", route + "outbound = [\"file:///etc/passwd\"]\n", `bubble.toml:3: route[1].outbound: entry 1 "file:///etc/passwd" must be an http:// or https:// URL, not "file:"`},
		{"no host", route + "outbound = [\"https:///x\"]\n", `bubble.toml:3: route[1].outbound: entry 1 "https:///x" must name a host, as in https://api.example.com`},
		{"userinfo", route + "outbound = [\"https://u:p@example.com\"]\n", `bubble.toml:3: route[1].outbound: entry 1 "https://u:p@example.com" must not have userinfo (user:password@)`},
		{"query", route + "outbound = [\"https://example.com/?a=1\"]\n", `bubble.toml:3: route[1].outbound: entry 1 "https://example.com/?a=1" must not have a query`},
		{"fragment", route + "outbound = [\"https://example.com/#x\"]\n", `bubble.toml:3: route[1].outbound: entry 1 "https://example.com/#x" must not have a fragment`},
		{"dot segments", route + "outbound = [\"https://example.com/a/../b\"]\n", `bubble.toml:3: route[1].outbound: entry 1 "https://example.com/a/../b" must not have "." or ".." path segments`},
		{"bad port", route + "outbound = [\"https://example.com:99999\"]\n", `bubble.toml:3: route[1].outbound: entry 1 "https://example.com:99999" invalid port "99999"`},
		{"garbage", route + "outbound = [\"%%%\"]\n", `bubble.toml:3: route[1].outbound: entry 1 "%%%" is not a URL`},
		{"second entry", route + "outbound = [\"https://ok.example\", \"\"]\n", `bubble.toml:3: route[1].outbound: entry 2 "" must be an http:// or https:// URL, not ":"`},
		{"huge list", route + "outbound = [" + strings.Repeat("\"https://a.example\",", MaxOutboundEntries+1) + "]\n", `bubble.toml:3: route[1].outbound: must have at most 1024 entries, got 1025`},
		{"on a builtin", "[[route]]\nbuiltin = \"longpoll\"\nchannel = \"c\"\noutbound = []\n", `bubble.toml:4: route[1].outbound: only valid on a route with a module`},
		{"timeout without outbound", route + "outbound_timeout = \"1s\"\n", `bubble.toml:3: route[1].outbound_timeout: only valid with outbound = [...]`},
		{"request cap without outbound", route + "outbound_max_request_bytes = 1\n", `bubble.toml:3: route[1].outbound_max_request_bytes: only valid with outbound = [...]`},
		{"response cap without outbound", route + "outbound_max_response_bytes = 1\n", `bubble.toml:3: route[1].outbound_max_response_bytes: only valid with outbound = [...]`},
		{"timeout zero", granted + "outbound_timeout = \"0s\"\n", `bubble.toml:4: route[1].outbound_timeout: must be positive, got "0s"`},
		{"timeout negative", granted + "outbound_timeout = \"-1s\"\n", `bubble.toml:4: route[1].outbound_timeout: must be positive, got "-1s"`},
		{"timeout garbage", granted + "outbound_timeout = \"soon\"\n", `bubble.toml:4: route[1].outbound_timeout: invalid duration "soon": time: invalid duration "soon"`},
		{"timeout integer", granted + "outbound_timeout = 5\n", `bubble.toml:4: route[1].outbound_timeout: must be a duration string such as "30s", not integer`},
		{"timeout huge", granted + "outbound_timeout = \"9999999999h\"\n", `bubble.toml:4: route[1].outbound_timeout: invalid duration "9999999999h": time: invalid duration "9999999999h"`},
		{"request negative", granted + "outbound_max_request_bytes = -1\n", `bubble.toml:4: route[1].outbound_max_request_bytes: must be at least 0B, got -1B`},
		{"request huge", granted + "outbound_max_request_bytes = 9223372036854775807\n", `bubble.toml:4: route[1].outbound_max_request_bytes: must be at most 1GiB, got 9223372036854775807B`},
		{"request garbage", granted + "outbound_max_request_bytes = \"lots\"\n", `bubble.toml:4: route[1].outbound_max_request_bytes: invalid size "lots": ` + sizeErr("lots")},
		{"request float", granted + "outbound_max_request_bytes = 1.5\n", `bubble.toml:4: route[1].outbound_max_request_bytes: must be a size (an integer number of bytes or a string such as "64KiB"), not float`},
		{"response zero", granted + "outbound_max_response_bytes = 0\n", `bubble.toml:4: route[1].outbound_max_response_bytes: must be at least 1B, got 0B`},
		{"response negative", granted + "outbound_max_response_bytes = \"-5MiB\"\n", `bubble.toml:4: route[1].outbound_max_response_bytes: invalid size "-5MiB": ` + sizeErr("-5MiB")},
		{"response huge", granted + "outbound_max_response_bytes = \"2048GiB\"\n", `bubble.toml:4: route[1].outbound_max_response_bytes: must be at most 1024GiB, got 2048GiB`},
		{"response bool", granted + "outbound_max_response_bytes = true\n", `bubble.toml:4: route[1].outbound_max_response_bytes: must be a size (an integer number of bytes or a string such as "64KiB"), not boolean`},
	})
}

// sizeErr is ParseSize's error text for s (which must not parse).
func sizeErr(s string) string {
	_, err := ParseSize(s)
	if err == nil {
		return "ParseSize(" + s + ") succeeded"
	}
	return err.Error()
}
