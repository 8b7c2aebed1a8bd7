package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Fragments that keep line numbers in the cases below predictable.
const (
	route1   = "[[route]]\nmodule = \"m.wasm\"\n"          // lines 1-2
	listener = "[[listener]]\naddress = \"tcp://:8080\"\n" // two lines
)

func wd(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// badCase is a document and the exact error Parse("bubble.toml", ...) gives.
type badCase struct {
	name string
	src  string
	want string
}

func runBad(t *testing.T, cases []badCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse("bubble.toml", []byte(tc.src))
			if got := errText(err); got != tc.want {
				t.Errorf("source:\n%s\ngot error:\n%s\nwant:\n%s", tc.src, got, tc.want)
			}
			if cfg != nil {
				t.Errorf("got a Config along with the error")
			}
		})
	}
}

// goodCase is a valid document and a value derived from its Config.
type goodCase struct {
	name string
	src  string
	get  func(*Config) any
	want any
}

func runGood(t *testing.T, cases []goodCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse("bubble.toml", []byte(tc.src))
			if err != nil {
				t.Fatalf("source:\n%s\nunexpected error:\n%v", tc.src, err)
			}
			if got := tc.get(cfg); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("source:\n%s\ngot  %#v\nwant %#v", tc.src, got, tc.want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	cfg, err := Parse("bubble.toml", []byte(route1+listener))
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		File:            "bubble.toml",
		Engine:          "wazero",
		ShutdownTimeout: 10 * time.Second,
		LogLevel:        "info",
		GuestLog:        GuestLog{Rate: DefaultGuestLogRate, Burst: DefaultGuestLogBurst},
		PubSub:          PubSub{QueueSize: 64, Overflow: "drop-subscriber", IdleTimeout: time.Minute, MaxMessageBytes: 64 << 10, Backend: "memory", MaxSubscriptions: DefaultMaxSubscriptions},
		KV:              KV{Eviction: "reject", MaxKeys: 10_000, MaxBytes: 16 << 20, MaxValueBytes: 64 << 10},
		Listeners: []Listener{{
			Name:                 "listener1",
			Address:              "tcp://:8080",
			Transport:            "http",
			ReadHeaderTimeout:    10 * time.Second,
			IdleTimeout:          120 * time.Second,
			MaxHeaderBytes:       65536,
			MaxConnections:       16384,
			WriteTimeout:         30 * time.Second,
			DrainTimeout:         2 * time.Second,
			Line:                 3,
			HTTP2:                true,
			MaxConcurrentStreams: 100,
		}},
		Routes: []Route{{
			Name:                   "route1",
			Module:                 filepath.Join(wd(t), "m.wasm"),
			Engine:                 "wazero",
			ABI:                    "auto",
			Instances:              "",
			MaxConcurrency:         64,
			Timeout:                30 * time.Second,
			Memory:                 64 << 20,
			MaxStack:               4 << 20,
			MaxResponseHeaders:     100,
			MaxResponseHeaderBytes: 64 << 10,
			Guest:                  DefaultGuestLimits(),
			Line:                   1,
		}},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got  %+v\nwant %+v", cfg, want)
	}
}

func TestEverything(t *testing.T) {
	src := `# every key set
engine = "wasmtime"
cache_dir = "/var/cache/bubble"
shutdown_timeout = "1m"
log_level = "debug"

[[listener]]
name = "web"
address = "tcp://127.0.0.1:8080"
transport = "http"
read_header_timeout = "5s"
idle_timeout = "1s"
max_header_bytes = "16KiB"
max_body_bytes = "10MiB"
drain_timeout = "3s"
max_connections = 100
write_timeout = "5s"

[[listener]]
name = "lines"
address = "unix:///run/bubble.sock"
transport = "line"
socket_mode = "0660"
max_line_bytes = 1024
max_connections = 10

[[route]]
name = "hello"
module = "/srv/hello.wasm"
build = "make hello.wasm"
abi = "v1"
match = { PATH_INFO = "/hello/*", REQUEST_METHOD = "GET" }
engine = "wazero"
instances = "pool"
pool_size = 8
max_concurrency = 4
timeout = "2s"
memory = "128MiB"
max_response_headers = 20
max_response_header_bytes = "8KiB"

[[route]]
module = "/srv/other.wasm"
abi = "cgi"
log_rate = 5
log_burst = 50
max_subscriptions = 10

[guest_log]
rate = 500
burst = 600

[pubsub]
max_subscriptions = 5000

[kv]
eviction = "lru"
max_keys = 20
max_bytes = "1MiB"
max_value_bytes = "1KiB"
`
	cfg, err := Parse("/etc/bubble.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		File:            "/etc/bubble.toml",
		Engine:          "wasmtime",
		CacheDir:        "/var/cache/bubble",
		ShutdownTimeout: time.Minute,
		LogLevel:        "debug",
		GuestLog:        GuestLog{Rate: 500, Burst: 600},
		PubSub:          PubSub{QueueSize: 64, Overflow: "drop-subscriber", IdleTimeout: time.Minute, MaxMessageBytes: 64 << 10, Backend: "memory", MaxSubscriptions: 5000},
		KV:              KV{Eviction: "lru", MaxKeys: 20, MaxBytes: 1 << 20, MaxValueBytes: 1 << 10},
		Listeners: []Listener{{
			Name:                 "web",
			Address:              "tcp://127.0.0.1:8080",
			Transport:            "http",
			ReadHeaderTimeout:    5 * time.Second,
			IdleTimeout:          time.Second,
			MaxHeaderBytes:       16 << 10,
			MaxBodyBytes:         10 << 20,
			DrainTimeout:         3 * time.Second,
			MaxConnections:       100,
			WriteTimeout:         5 * time.Second,
			Line:                 7,
			HTTP2:                true,
			MaxConcurrentStreams: 100,
		}, {
			Name:           "lines",
			Address:        "unix:///run/bubble.sock",
			Transport:      "line",
			SocketMode:     0o660,
			MaxLineBytes:   1024,
			MaxConnections: 10,
			WriteTimeout:   30 * time.Second,
			IdleTimeout:    DefaultIdleTimeout,
			ReadTimeout:    DefaultReadTimeout,
			Line:           19,
		}},
		Routes: []Route{{
			Name:                   "hello",
			Module:                 "/srv/hello.wasm",
			Match:                  map[string]string{"PATH_INFO": "/hello/*", "REQUEST_METHOD": "GET"},
			Engine:                 "wazero",
			Build:                  "make hello.wasm",
			ABI:                    "v1",
			Instances:              "pool",
			PoolSize:               8,
			MaxConcurrency:         4,
			Timeout:                2 * time.Second,
			Memory:                 128 << 20,
			MaxStack:               4 << 20,
			MaxResponseHeaders:     20,
			MaxResponseHeaderBytes: 8 << 10,
			Guest:                  DefaultGuestLimits(),
			Line:                   27,
		}, {
			Name:                   "route2",
			Module:                 "/srv/other.wasm",
			Engine:                 "wasmtime",
			ABI:                    "cgi",
			Instances:              "",
			MaxConcurrency:         64,
			Timeout:                30 * time.Second,
			Memory:                 64 << 20,
			MaxStack:               4 << 20,
			MaxResponseHeaders:     100,
			MaxResponseHeaderBytes: 64 << 10,
			Guest:                  GuestLimits{LogRate: 5, LogBurst: 50, MaxSubscriptions: 10},
			Line:                   42,
		}},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got  %+v\nwant %+v", cfg, want)
	}
}

func TestTopLevelGood(t *testing.T) {
	dir := wd(t)
	runGood(t, []goodCase{
		{"engine wasmtime", "engine = \"wasmtime\"\n" + route1, func(c *Config) any { return []string{c.Engine, c.Routes[0].Engine} }, []string{"wasmtime", "wasmtime"}},
		{"engine wazero", "engine = \"wazero\"\n" + route1, func(c *Config) any { return c.Engine }, "wazero"},
		{"cache_dir absolute", "cache_dir = \"/var/cache/b\"\n" + route1, func(c *Config) any { return c.CacheDir }, "/var/cache/b"},
		{"cache_dir relative", "cache_dir = \"cache\"\n" + route1, func(c *Config) any { return c.CacheDir }, filepath.Join(dir, "cache")},
		{"cache_dir empty", "cache_dir = \"\"\n" + route1, func(c *Config) any { return c.CacheDir }, ""},
		{"shutdown_timeout", "shutdown_timeout = \"1m30s\"\n" + route1, func(c *Config) any { return c.ShutdownTimeout }, 90 * time.Second},
		{"shutdown_timeout zero", "shutdown_timeout = \"0s\"\n" + route1, func(c *Config) any { return c.ShutdownTimeout }, time.Duration(0)},
		{"log_level debug", "log_level = \"debug\"\n" + route1, func(c *Config) any { return c.LogLevel }, "debug"},
		{"log_level warn", "log_level = \"warn\"\n" + route1, func(c *Config) any { return c.LogLevel }, "warn"},
		{"log_level error", "log_level = \"error\"\n" + route1, func(c *Config) any { return c.LogLevel }, "error"},
		{"no listeners", route1, func(c *Config) any { return len(c.Listeners) }, 0},
		{"inline array of tables", "route = [{ module = \"a.wasm\" }, { module = \"b.wasm\", name = \"b\" }]\n",
			func(c *Config) any { return []string{c.Routes[0].Name, c.Routes[1].Name} }, []string{"route1", "b"}},
	})
}

func TestTopLevelBad(t *testing.T) {
	runBad(t, []badCase{
		{"engine unknown", "engine = \"v8\"\n" + route1, `bubble.toml:1: engine: unknown engine "v8" (allowed: "wazero", "wasmtime")`},
		{"engine type", "engine = 1\n" + route1, `bubble.toml:1: engine: must be a string, not integer`},
		{"cache_dir type", "cache_dir = true\n" + route1, `bubble.toml:1: cache_dir: must be a string, not boolean`},
		{"cache_dir NUL", "cache_dir = \"a\\u0000\"\n" + route1, `bubble.toml:1: cache_dir: must not contain NUL`},
		{"shutdown_timeout negative", "shutdown_timeout = \"-1s\"\n" + route1, `bubble.toml:1: shutdown_timeout: must not be negative, got "-1s"`},
		{"shutdown_timeout integer", "shutdown_timeout = 10\n" + route1, `bubble.toml:1: shutdown_timeout: must be a duration string such as "30s", not integer`},
		{"shutdown_timeout no unit", "shutdown_timeout = \"10\"\n" + route1, `bubble.toml:1: shutdown_timeout: invalid duration "10": time: missing unit in duration "10"`},
		{"log_level unknown", "log_level = \"trace\"\n" + route1, `bubble.toml:1: log_level: unknown log level "trace" (allowed: "debug", "info", "warn", "error")`},
		{"log_level case", "log_level = \"INFO\"\n" + route1, `bubble.toml:1: log_level: unknown log level "INFO" (allowed: "debug", "info", "warn", "error")`},
		{"listener not array", "listener = 5\n" + route1, `bubble.toml:1: listener: must be an array of tables ([[listener]]), not integer`},
		{"listener plain table", route1 + "[listener]\naddress = \"tcp://:1\"\n", `bubble.toml:3: listener: must be an array of tables ([[listener]]), not table`},
		{"listener element not table", "listener = [1, 2]\n" + route1,
			"bubble.toml:1: listener[1]: must be a table, not integer\nbubble.toml:1: listener[2]: must be a table, not integer"},
		{"no route", listener, `bubble.toml: route: at least one [[route]] is required`},
		{"empty file", "", `bubble.toml: route: at least one [[route]] is required`},
		{"empty route array", "# nothing\nroute = []\n", `bubble.toml:2: route: at least one route is required`},
		{"route not array", "route = \"hello.wasm\"\n", `bubble.toml:1: route: must be an array of tables ([[route]]), not string`},
	})
}

func TestListenerGood(t *testing.T) {
	pre := route1 + "[[listener]]\n" // [[listener]] on line 3
	l := func(c *Config) Listener { return c.Listeners[0] }
	runGood(t, []goodCase{
		{"name", pre + "name = \"web\"\naddress = \"tcp://:1\"\n", func(c *Config) any { return l(c).Name }, "web"},
		{"default names", pre + "address = \"tcp://:1\"\n" + listener,
			func(c *Config) any { return []string{c.Listeners[0].Name, c.Listeners[1].Name} }, []string{"listener1", "listener2"}},
		{"line header", pre + "address = \"tcp://:1\"\n", func(c *Config) any { return l(c).Line }, 3},
		{"systemd socket", pre + "address = \"systemd://web\"\nmax_connections = 10\n", func(c *Config) any { return []any{l(c).Address, l(c).MaxConnections} }, []any{"systemd://web", 10}},
		{"unix address", pre + "address = \"unix:///run/b.sock\"\n", func(c *Config) any { return l(c).Address }, "unix:///run/b.sock"},
		{"transport raw", pre + "address = \"tcp://:1\"\ntransport = \"raw\"\n",
			func(c *Config) any { return l(c) }, Listener{Name: "listener1", Address: "tcp://:1", Transport: "raw", MaxConnections: 16384, WriteTimeout: 30 * time.Second, Line: 3}},
		{"transport line", pre + "address = \"tcp://:1\"\ntransport = \"line\"\n",
			func(c *Config) any { return l(c) }, Listener{Name: "listener1", Address: "tcp://:1", Transport: "line", MaxLineBytes: 65536, MaxConnections: 16384, WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second, ReadTimeout: 30 * time.Second, Line: 3}},
		{"socket_mode", pre + "address = \"unix://b.sock\"\nsocket_mode = \"0660\"\n", func(c *Config) any { return l(c).SocketMode }, os.FileMode(0o660)},
		{"socket_mode short", pre + "address = \"unix://b.sock\"\nsocket_mode = \"600\"\n", func(c *Config) any { return l(c).SocketMode }, os.FileMode(0o600)},
		{"socket_mode 0o", pre + "address = \"unix://b.sock\"\nsocket_mode = \"0o777\"\n", func(c *Config) any { return l(c).SocketMode }, os.FileMode(0o777)},
		{"max_line_bytes int", pre + "address = \"tcp://:1\"\ntransport = \"line\"\nmax_line_bytes = 1024\n", func(c *Config) any { return l(c).MaxLineBytes }, 1024},
		{"max_line_bytes KiB", pre + "address = \"tcp://:1\"\ntransport = \"line\"\nmax_line_bytes = \"1 KiB\"\n", func(c *Config) any { return l(c).MaxLineBytes }, 1024},
		{"max_line_bytes kb", pre + "address = \"tcp://:1\"\ntransport = \"line\"\nmax_line_bytes = \"2kb\"\n", func(c *Config) any { return l(c).MaxLineBytes }, 2000},
		{"read_header_timeout", pre + "address = \"tcp://:1\"\nread_header_timeout = \"3s\"\n", func(c *Config) any { return l(c).ReadHeaderTimeout }, 3 * time.Second},
		{"read_header_timeout short", pre + "address = \"tcp://:1\"\nread_header_timeout = \"1ms\"\n", func(c *Config) any { return l(c).ReadHeaderTimeout }, time.Millisecond},
		{"idle_timeout", pre + "address = \"tcp://:1\"\nidle_timeout = \"5m\"\n", func(c *Config) any { return l(c).IdleTimeout }, 5 * time.Minute},
		{"max_header_bytes", pre + "address = \"tcp://:1\"\nmax_header_bytes = \"1MiB\"\n", func(c *Config) any { return l(c).MaxHeaderBytes }, 1 << 20},
		{"max_body_bytes", pre + "address = \"tcp://:1\"\nmax_body_bytes = \"10MiB\"\n", func(c *Config) any { return l(c).MaxBodyBytes }, int64(10 << 20)},
		{"max_body_bytes GB", pre + "address = \"tcp://:1\"\nmax_body_bytes = \"1GB\"\n", func(c *Config) any { return l(c).MaxBodyBytes }, int64(1e9)},
		{"max_body_bytes zero string", pre + "address = \"tcp://:1\"\nmax_body_bytes = \"0\"\n", func(c *Config) any { return l(c).MaxBodyBytes }, int64(0)},
		{"max_body_bytes zero", pre + "address = \"tcp://:1\"\nmax_body_bytes = 0\n", func(c *Config) any { return l(c).MaxBodyBytes }, int64(0)},
	})
}

func TestListenerBad(t *testing.T) {
	pre := route1 + "[[listener]]\n" // [[listener]] on line 3, keys from line 4
	tcp := pre + "address = \"tcp://:1\"\n"
	line := tcp + "transport = \"line\"\n" // further keys from line 6
	runBad(t, []badCase{
		{"address missing", pre + "name = \"a\"\n", `bubble.toml:3: listener[1].address: required key is missing`},
		{"address empty", pre + "address = \"\"\n", `bubble.toml:4: listener[1].address: must not be empty`},
		{"address type", pre + "address = 8080\n", `bubble.toml:4: listener[1].address: must be a string, not integer`},
		{"address scheme", pre + "address = \"http://x:1\"\n", `bubble.toml:4: listener[1].address: invalid address "http://x:1": want tcp://host:port, tls://host:port, unix://path, systemd://NAME or amqp://host/?queue=NAME`},
		{"address no scheme", pre + "address = \"127.0.0.1:80\"\n", `bubble.toml:4: listener[1].address: invalid address "127.0.0.1:80": want tcp://host:port, tls://host:port, unix://path, systemd://NAME or amqp://host/?queue=NAME`},
		{"address scheme only", pre + "address = \"unix://\"\n", `bubble.toml:4: listener[1].address: invalid address "unix://": nothing after unix://`},
		{"systemd name missing", pre + "address = \"systemd://\"\n", `bubble.toml:4: listener[1].address: invalid address "systemd://": nothing after systemd://`},
		{"systemd scheme case", pre + "address = \"SYSTEMD://web\"\n", `bubble.toml:4: listener[1].address: invalid address "SYSTEMD://web": want tcp://host:port, tls://host:port, unix://path, systemd://NAME or amqp://host/?queue=NAME`},
		{"systemd not a string", pre + "address = { systemd = \"web\" }\n", `bubble.toml:4: listener[1].address: must be a string, not table`},
		{"socket_mode on systemd", pre + "address = \"systemd://web\"\nsocket_mode = \"0660\"\n", `bubble.toml:5: listener[1].socket_mode: only valid with a unix:// address`},
		{"name empty", tcp + "name = \"\"\n", `bubble.toml:5: listener[1].name: must not be empty`},
		{"name type", tcp + "name = 1\n", `bubble.toml:5: listener[1].name: must be a string, not integer`},
		{"name duplicate", pre + "name = \"a\"\naddress = \"tcp://:1\"\n[[listener]]\nname = \"a\"\naddress = \"tcp://:2\"\n",
			`bubble.toml:7: listener[2].name: duplicate listener name "a" (listener[1] at line 3 has it too)`},
		{"name duplicate default", pre + "name = \"listener2\"\naddress = \"tcp://:1\"\n" + listener,
			`bubble.toml:6: listener[2].name: duplicate listener name "listener2" (listener[1] at line 3 has it too)`},
		{"transport unknown", tcp + "transport = \"grpc\"\n", `bubble.toml:5: listener[1].transport: unknown transport "grpc" (allowed: "raw", "line", "http", "json", "jsonrpc")`},
		{"transport type", tcp + "transport = [\"http\"]\n", `bubble.toml:5: listener[1].transport: must be a string, not array`},
		{"socket_mode on tcp", tcp + "socket_mode = \"0660\"\n", `bubble.toml:5: listener[1].socket_mode: only valid with a unix:// address`},
		{"socket_mode not octal", pre + "address = \"unix://s\"\nsocket_mode = \"0999\"\n", `bubble.toml:5: listener[1].socket_mode: invalid mode "0999": want an octal string such as "0660"`},
		{"socket_mode too big", pre + "address = \"unix://s\"\nsocket_mode = \"1777\"\n", `bubble.toml:5: listener[1].socket_mode: invalid mode "1777": must be at most 0777`},
		{"socket_mode zero", pre + "address = \"unix://s\"\nsocket_mode = \"000\"\n", `bubble.toml:5: listener[1].socket_mode: invalid mode "000": must not be 0 (leave socket_mode out to keep the default)`},
		{"socket_mode integer", pre + "address = \"unix://s\"\nsocket_mode = 0o660\n", `bubble.toml:5: listener[1].socket_mode: must be a string, not integer`},
		{"max_line_bytes on http", tcp + "max_line_bytes = 10\n", `bubble.toml:5: listener[1].max_line_bytes: only valid with transport = "line", "json" or "jsonrpc", not "http"`},
		{"max_line_bytes zero", line + "max_line_bytes = 0\n", `bubble.toml:6: listener[1].max_line_bytes: must be at least 1B, got 0B`},
		{"max_line_bytes negative", line + "max_line_bytes = -1\n", `bubble.toml:6: listener[1].max_line_bytes: must be at least 1B, got -1B`},
		{"max_line_bytes unit", line + "max_line_bytes = \"64 XB\"\n", `bubble.toml:6: listener[1].max_line_bytes: invalid size "64 XB": unknown unit "XB" (allowed: B, KB, MB, GB, KiB, MiB, GiB)`},
		{"max_line_bytes float", line + "max_line_bytes = 1.5\n", `bubble.toml:6: listener[1].max_line_bytes: must be a size (an integer number of bytes or a string such as "64KiB"), not float`},
		{"max_line_bytes fraction", line + "max_line_bytes = \"1.5KiB\"\n", `bubble.toml:6: listener[1].max_line_bytes: invalid size "1.5KiB": fractions are not allowed; use a smaller unit`},
		{"read_header_timeout bad", tcp + "read_header_timeout = \"abc\"\n", `bubble.toml:5: listener[1].read_header_timeout: invalid duration "abc": time: invalid duration "abc"`},
		{"read_header_timeout on line", line + "read_header_timeout = \"1s\"\n", `bubble.toml:6: listener[1].read_header_timeout: only valid with transport = "http", not "line"`},
		{"idle_timeout negative", tcp + "idle_timeout = \"-1s\"\n", `bubble.toml:5: listener[1].idle_timeout: must be positive, got "-1s"`},
		{"idle_timeout on raw", tcp + "transport = \"raw\"\nidle_timeout = \"1s\"\n", `bubble.toml:6: listener[1].idle_timeout: only valid with transport = "http", "line", "json" or "jsonrpc", not "raw"`},
		{"max_header_bytes zero", tcp + "max_header_bytes = 0\n", `bubble.toml:5: listener[1].max_header_bytes: must be at least 1B, got 0B`},
		{"max_header_bytes on line", line + "max_header_bytes = 10\n", `bubble.toml:6: listener[1].max_header_bytes: only valid with transport = "http", not "line"`},
		{"max_body_bytes negative", tcp + "max_body_bytes = \"-1\"\n", `bubble.toml:5: listener[1].max_body_bytes: invalid size "-1": want a whole number of bytes with an optional unit, such as "64KiB"`},
		{"max_body_bytes overflow", tcp + "max_body_bytes = \"99999999999GiB\"\n", `bubble.toml:5: listener[1].max_body_bytes: invalid size "99999999999GiB": number out of range`},
		{"max_body_bytes on line", line + "max_body_bytes = \"1MiB\"\n", `bubble.toml:6: listener[1].max_body_bytes: only valid with transport = "http", not "line"`},
		{"unknown transport skips transport checks", tcp + "transport = \"x\"\nmax_line_bytes = 0\n",
			"bubble.toml:5: listener[1].transport: unknown transport \"x\" (allowed: \"raw\", \"line\", \"http\", \"json\", \"jsonrpc\")\n" +
				"bubble.toml:6: listener[1].max_line_bytes: must be at least 1B, got 0B"},
	})
}

func TestRouteGood(t *testing.T) {
	dir := wd(t)
	r := func(c *Config) Route { return c.Routes[0] }
	runGood(t, []goodCase{
		{"defaults", route1, func(c *Config) any { return r(c) }, Route{Name: "route1", Module: filepath.Join(dir, "m.wasm"), Engine: "wazero", ABI: "auto",
			Instances: "", MaxConcurrency: 64, Timeout: 30 * time.Second, Memory: 64 << 20, MaxStack: 4 << 20,
			MaxResponseHeaders: 100, MaxResponseHeaderBytes: 64 << 10, Guest: DefaultGuestLimits(), Line: 1}},
		{"name", route1 + "name = \"hello\"\n", func(c *Config) any { return r(c).Name }, "hello"},
		{"default names", route1 + route1, func(c *Config) any { return []string{c.Routes[0].Name, c.Routes[1].Name} }, []string{"route1", "route2"}},
		{"module absolute", "[[route]]\nmodule = \"/srv/m.wasm\"\n", func(c *Config) any { return r(c).Module }, "/srv/m.wasm"},
		{"module parent", "[[route]]\nmodule = \"../m.wasm\"\n", func(c *Config) any { return r(c).Module }, filepath.Join(filepath.Dir(dir), "m.wasm")},
		{"match", route1 + "match = { REQUEST_METHOD = \"GET\", PATH_INFO = \"/hello/*\" }\n",
			func(c *Config) any { return r(c).Match },
			map[string]string{"PATH_INFO": "/hello/*", "REQUEST_METHOD": "GET"}},
		{"match subtable", route1 + "[route.match]\nPATH_INFO = \"/x\"\n\"HTTP_X-Y\" = \"z\"\n",
			func(c *Config) any { return r(c).Match }, map[string]string{"HTTP_X-Y": "z", "PATH_INFO": "/x"}},
		{"match empty", route1 + "match = {}\n", func(c *Config) any { return r(c).Match }, map[string]string{}},
		{"engine", route1 + "engine = \"wasmtime\"\n", func(c *Config) any { return r(c).Engine }, "wasmtime"},
		{"engine overrides top", "engine = \"wasmtime\"\n" + route1 + "engine = \"wazero\"\n", func(c *Config) any { return r(c).Engine }, "wazero"},
		{"instances fresh", route1 + "instances = \"fresh\"\n", func(c *Config) any { return r(c).Instances }, "fresh"},
		{"instances snapshot", route1 + "instances = \"snapshot\"\npool_size = 3\npool_idle_timeout = \"5s\"\n", func(c *Config) any { return []any{r(c).Instances, r(c).PoolSize, r(c).PoolIdleTimeout} }, []any{"snapshot", 3, 5 * time.Second}},
		{"pool_size by default", route1 + "pool_size = 3\n", func(c *Config) any { return []any{r(c).Instances, r(c).PoolSize} }, []any{"", 3}},
		{"instances pool", route1 + "instances = \"pool\"\n", func(c *Config) any { return []any{r(c).Instances, r(c).PoolSize} }, []any{"pool", 0}},
		{"pool_size", route1 + "instances = \"pool\"\npool_size = 8\n", func(c *Config) any { return r(c).PoolSize }, 8},
		{"pool_size zero", route1 + "instances = \"pool\"\npool_size = 0\n", func(c *Config) any { return r(c).PoolSize }, 0},
		{"max_concurrency", route1 + "max_concurrency = 1\n", func(c *Config) any { return r(c).MaxConcurrency }, 1},
		{"timeout", route1 + "timeout = \"1ms\"\n", func(c *Config) any { return r(c).Timeout }, time.Millisecond},
		{"memory bytes", route1 + "memory = 65536\n", func(c *Config) any { return r(c).Memory }, int64(65536)},
		{"memory KiB", route1 + "memory = \"128KiB\"\n", func(c *Config) any { return r(c).Memory }, int64(128 << 10)},
		{"memory lower-case unit", route1 + "memory = \"128 mib\"\n", func(c *Config) any { return r(c).Memory }, int64(128 << 20)},
		{"memory max", route1 + "memory = \"4GiB\"\n", func(c *Config) any { return r(c).Memory }, int64(4 << 30)},
		{"max_stack", route1 + "max_stack = \"16MiB\"\n", func(c *Config) any { return r(c).MaxStack }, int64(16 << 20)},
		{"pubsub grant", route1 + "pubsub = [\"chat\", \"news.*\"]\n", func(c *Config) any { return r(c).PubSub }, []string{"chat", "news.*"}},
		{"signals grant", route1 + "signals = [\"job.*\"]\n", func(c *Config) any { return r(c).Signals }, []string{"job.*"}},
		{"kv grant", route1 + "kv = \"chat\"\n", func(c *Config) any { return r(c).KV }, "chat"},
		{"transport route", "[[route]]\ntransport = \"jsonrpc\"\n", func(c *Config) any { return r(c).Transport + "|" + r(c).Module }, "jsonrpc|"},
		{"longpoll builtin", "[[route]]\nbuiltin = \"longpoll\"\nchannel = \"chat\"\n", func(c *Config) any { return r(c).Builtin + "|" + r(c).Channel }, "longpoll|chat"},
		{"pubsub table", "[pubsub]\nqueue_size = 10\noverflow = \"drop-oldest\"\nidle_timeout = \"5s\"\nmax_message_bytes = \"1KiB\"\n" + route1,
			func(c *Config) any { return c.PubSub }, PubSub{QueueSize: 10, Overflow: "drop-oldest", IdleTimeout: 5 * time.Second, MaxMessageBytes: 1024, Backend: "memory", MaxSubscriptions: DefaultMaxSubscriptions}},
		{"pubsub memory backend", "[pubsub]\nbackend = \"memory\"\n" + route1, func(c *Config) any { return c.PubSub.Backend + "|" + c.PubSub.URL + "|" + c.PubSub.Exchange }, "memory||"},
		{"pubsub amqp backend", "[pubsub]\nbackend = \"amqp\"\nurl = \"amqp://u:p@127.0.0.1:5672/\"\n" + route1,
			func(c *Config) any { return c.PubSub.Backend + "|" + c.PubSub.URL + "|" + c.PubSub.Exchange }, "amqp|amqp://u:p@127.0.0.1:5672/|bubblewasm.pubsub"},
		{"pubsub amqp exchange", "[pubsub]\nbackend = \"amqp\"\nurl = \"amqps://h/vh\"\nexchange = \"my.ex\"\n" + route1,
			func(c *Config) any { return c.PubSub.Exchange }, "my.ex"},
		{"abi cgi", route1 + "abi = \"cgi\"\n", func(c *Config) any { return r(c).ABI }, "cgi"},
		{"abi v1 pool", route1 + "abi = \"v1\"\ninstances = \"pool\"\n", func(c *Config) any { return []string{r(c).ABI, r(c).Instances} }, []string{"v1", "pool"}},
		{"abi auto pool", route1 + "instances = \"pool\"\n", func(c *Config) any { return r(c).ABI }, "auto"},
		{"build", route1 + "build = \"make m.wasm\"\n", func(c *Config) any { return r(c).Build }, "make m.wasm"},
	})
}

func TestRouteBad(t *testing.T) {
	runBad(t, []badCase{
		{"module missing", "[[route]]\nname = \"x\"\n", `bubble.toml:1: route[1].module: required key is missing`},
		{"module empty", "[[route]]\nmodule = \"\"\n", `bubble.toml:2: route[1].module: must not be empty`},
		{"module type", "[[route]]\nmodule = 1\n", `bubble.toml:2: route[1].module: must be a string, not integer`},
		{"module NUL", "[[route]]\nmodule = \"a\\u0000b\"\n", `bubble.toml:2: route[1].module: must not contain NUL`},
		{"module C source", "[[route]]\nmodule = \"hello/hello.c\"\n", `bubble.toml:2: route[1].module: "hello/hello.c" does not end in .wasm: module names the built module (such as "hello.wasm"), not its source; to build it from source, add build = "..." (see bubblewasm build --help)`},
		{"module without extension", "[[route]]\nmodule = \"handler\"\n", `bubble.toml:2: route[1].module: "handler" does not end in .wasm: module names the built module (such as "handler.wasm"), not its source; to build it from source, add build = "..." (see bubblewasm build --help)`},
		{"module directory", "[[route]]\nmodule = \"out.wasm/\"\n", `bubble.toml:2: route[1].module: "out.wasm/" does not end in .wasm: module names the built module (such as "out.wasm"), not its source; to build it from source, add build = "..." (see bubblewasm build --help)`},
		{"module upper case", "[[route]]\nmodule = \"H.WASM\"\n", `bubble.toml:2: route[1].module: "H.WASM" does not end in .wasm: module names the built module (such as "H.wasm"), not its source; to build it from source, add build = "..." (see bubblewasm build --help)`},
		{"name empty", route1 + "name = \"\"\n", `bubble.toml:3: route[1].name: must not be empty`},
		{"name duplicate", route1 + "name = \"a\"\n" + route1 + "name = \"a\"\n",
			`bubble.toml:6: route[2].name: duplicate route name "a" (route[1] at line 1 has it too)`},
		{"name duplicate default", route1 + route1 + "name = \"route1\"\n",
			`bubble.toml:5: route[2].name: duplicate route name "route1" (route[1] at line 1 has it too)`},
		{"match type", route1 + "match = \"/x\"\n", `bubble.toml:3: route[1].match: must be a table of env key = pattern, not string`},
		{"match empty key", route1 + "match = { \"\" = \"x\" }\n", `bubble.toml:3: route[1].match."": env key must not be empty`},
		{"match NUL key", route1 + "match = { \"A\\u0000\" = \"x\" }\n", `bubble.toml:3: route[1].match."A\x00": env key must not contain NUL`},
		{"match integer", route1 + "match = { A = 1 }\n", `bubble.toml:3: route[1].match.A: must be a pattern string, not integer`},
		{"match table", route1 + "match = { A = { B = \"c\" } }\n", `bubble.toml:3: route[1].match.A: must be a pattern string, not table`},
		{"match subtable value", route1 + "[route.match]\nA = \"ok\"\nB = [\"x\"]\n", `bubble.toml:5: route[1].match.B: must be a pattern string, not array`},
		{"engine unknown", route1 + "engine = \"v8\"\n", `bubble.toml:3: route[1].engine: unknown engine "v8" (allowed: "wazero", "wasmtime")`},
		{"instances unknown", route1 + "instances = \"shared\"\n", `bubble.toml:3: route[1].instances: unknown instances policy "shared" (allowed: "snapshot", "fresh", "pool")`},
		{"pool_size with fresh", route1 + "instances = \"fresh\"\npool_size = 4\n", `bubble.toml:4: route[1].pool_size: only valid where instances are kept between exchanges (instances = "snapshot", the default, or "pool"), not with "fresh"`},
		{"pool_idle_timeout with fresh", route1 + "instances = \"fresh\"\npool_idle_timeout = \"1s\"\n", `bubble.toml:4: route[1].pool_idle_timeout: only valid where instances are kept between exchanges (instances = "snapshot", the default, or "pool"), not with "fresh"`},
		{"abi cgi snapshot", route1 + "abi = \"cgi\"\ninstances = \"snapshot\"\n", `bubble.toml:4: route[1].instances: instances = "snapshot" cannot serve abi = "cgi": a CGI module runs _start in a fresh instance for every exchange`},
		{"pool_size negative", route1 + "instances = \"pool\"\npool_size = -1\n", `bubble.toml:4: route[1].pool_size: must be at least 0, got -1`},
		{"pool_size string", route1 + "instances = \"pool\"\npool_size = \"8\"\n", `bubble.toml:4: route[1].pool_size: must be an integer, not string`},
		{"max_concurrency zero", route1 + "max_concurrency = 0\n", `bubble.toml:3: route[1].max_concurrency: must be at least 1, got 0`},
		{"max_concurrency float", route1 + "max_concurrency = 2.0\n", `bubble.toml:3: route[1].max_concurrency: must be an integer, not float`},
		{"timeout zero", route1 + "timeout = \"0s\"\n", `bubble.toml:3: route[1].timeout: must be positive, got "0s"`},
		{"timeout bad unit", route1 + "timeout = \"3x\"\n", `bubble.toml:3: route[1].timeout: invalid duration "3x": time: unknown unit "x" in duration "3x"`},
		{"timeout integer", route1 + "timeout = 30\n", `bubble.toml:3: route[1].timeout: must be a duration string such as "30s", not integer`},
		{"memory too small", route1 + "memory = \"32KiB\"\n", `bubble.toml:3: route[1].memory: must be at least 64KiB, got 32KiB`},
		{"max_stack too small", route1 + "max_stack = \"1KiB\"\n", `bubble.toml:3: route[1].max_stack: must be at least 64KiB, got 1KiB`},
		{"module and transport", route1 + "transport = \"jsonrpc\"\n", `bubble.toml:3: route[1].transport: a route has one of module, transport or builtin, not module and transport`},
		{"unknown builtin", "[[route]]\nbuiltin = \"cron\"\n", `bubble.toml:2: route[1].builtin: unknown builtin "cron" (allowed: "longpoll", "static")`},
		{"longpoll without channel", "[[route]]\nbuiltin = \"longpoll\"\n", `bubble.toml:1: route[1].channel: required key is missing`},
		{"channel without builtin", route1 + "channel = \"chat\"\n", `bubble.toml:3: route[1].channel: only valid with builtin = "longpoll"`},
		{"pubsub not an array", route1 + "pubsub = \"chat\"\n", `bubble.toml:3: route[1].pubsub: must be an array of name patterns such as ["chat", "news.*"], not string`},
		{"pubsub empty entry", route1 + "pubsub = [\"\"]\n", `bubble.toml:3: route[1].pubsub: entry 1 must be a non-empty name pattern without spaces`},
		{"bad overflow", "[pubsub]\noverflow = \"block\"\n" + route1, `bubble.toml:2: pubsub.overflow: unknown overflow policy "block" (allowed: "drop-subscriber", "drop-oldest")`},
		{"bad backend", "[pubsub]\nbackend = \"redis\"\nurl = \"x\"\n" + route1, `bubble.toml:2: pubsub.backend: unknown pubsub backend "redis" (allowed: "memory", "amqp")`},
		{"amqp without url", "[pubsub]\nbackend = \"amqp\"\n" + route1, `bubble.toml:1: pubsub.url: required key is missing`},
		{"amqp url scheme", "[pubsub]\nbackend = \"amqp\"\nurl = \"http://h/\"\n" + route1, `bubble.toml:3: pubsub.url: must start with amqp:// or amqps://`},
		{"amqp empty exchange", "[pubsub]\nbackend = \"amqp\"\nurl = \"amqp://h/\"\nexchange = \"\"\n" + route1, `bubble.toml:4: pubsub.exchange: must not be empty`},
		{"url without amqp", "[pubsub]\nurl = \"amqp://h/\"\n" + route1, `bubble.toml:2: pubsub.url: only with backend = "amqp"`},
		{"exchange without amqp", "[pubsub]\nbackend = \"memory\"\nexchange = \"x\"\n" + route1, `bubble.toml:3: pubsub.exchange: only with backend = "amqp"`},
		{"max_stack too large", route1 + "max_stack = \"2GiB\"\n", `bubble.toml:3: route[1].max_stack: must be at most 1GiB, got 2GiB`},
		{"memory too big", route1 + "memory = \"5GiB\"\n", `bubble.toml:3: route[1].memory: must be at most 4GiB, got 5GiB`},
		{"memory not pages", route1 + "memory = 100000\n", `bubble.toml:3: route[1].memory: must be a multiple of 64KiB (the WebAssembly page size), got 100000 bytes`},
		{"memory MB not pages", route1 + "memory = \"64MB\"\n", `bubble.toml:3: route[1].memory: must be a multiple of 64KiB (the WebAssembly page size), got 64000000 bytes`},
		{"memory TiB", route1 + "memory = \"1TiB\"\n", `bubble.toml:3: route[1].memory: invalid size "1TiB": unknown unit "TiB" (allowed: B, KB, MB, GB, KiB, MiB, GiB)`},
		{"memory huge", route1 + "memory = \"99999999999999999999\"\n", `bubble.toml:3: route[1].memory: invalid size "99999999999999999999": number out of range`},
		{"memory boolean", route1 + "memory = true\n", `bubble.toml:3: route[1].memory: must be a size (an integer number of bytes or a string such as "64KiB"), not boolean`},
		{"abi unknown", route1 + "abi = \"wasi\"\n", `bubble.toml:3: route[1].abi: unknown abi "wasi" (allowed: "auto", "v1", "cgi")`},
		{"abi cgi pool", route1 + "abi = \"cgi\"\ninstances = \"pool\"\n", `bubble.toml:4: route[1].instances: instances = "pool" cannot serve abi = "cgi": a CGI module runs _start in a fresh instance for every exchange`},
		{"build empty", route1 + "build = \"\"\n", `bubble.toml:3: route[1].build: must not be empty`},
		{"build array", route1 + "build = [\"make\"]\n", `bubble.toml:3: route[1].build: must be a string, not array`},
		{"second route", route1 + route1 + "timeout = \"x\"\n", `bubble.toml:5: route[2].timeout: invalid duration "x": time: invalid duration "x"`},
	})
}

func TestUnknownKeys(t *testing.T) {
	// The lists are the schema's, in its order; golden files pin them.
	top, lst, rte := strings.Join(topKeys, ", "), strings.Join(listenerKeys, ", "), strings.Join(routeKeys, ", ")
	runBad(t, []badCase{
		{"top level", "# comment\nengin = \"wazero\"\n" + route1, `bubble.toml:2: engin: unknown key (allowed: ` + top + `)`},
		{"top level table", route1 + "\n[server]\nport = 1\n", `bubble.toml:4: server: unknown key (allowed: ` + top + `)`},
		{"top level dotted", "a.b.c = 1\n" + route1, `bubble.toml:1: a: unknown key (allowed: ` + top + `)`},
		{"listener", route1 + listener + "port = 8080\n", `bubble.toml:5: listener[1].port: unknown key (allowed: ` + lst + `)`},
		{"second listener", route1 + listener + listener + "\n\nhttp = { x = 1 }\n", `bubble.toml:9: listener[2].http: unknown key (allowed: ` + lst + `)`},
		{"listener subtable", route1 + listener + "[listener.tls]\ncert = \"x\"\n", `bubble.toml:5: listener[1].tls: unknown key (allowed: ` + lst + `)`},
		{"route", route1 + "modul = \"x\"\n", `bubble.toml:3: route[1].modul: unknown key (allowed: ` + rte + `)`},
		{"route quoted", route1 + "\"time out\" = \"1s\"\n", `bubble.toml:3: route[1]."time out": unknown key (allowed: ` + rte + `)`},
		{"route dotted", route1 + "limits.memory = \"1MiB\"\n", `bubble.toml:3: route[1].limits: unknown key (allowed: ` + rte + `)`},
		{"inline route", "route = [\n  { module = \"a.wasm\" },\n  { module = \"b.wasm\",\n    bogus = 1 },\n]\n", `bubble.toml:4: route[2].bogus: unknown key (allowed: ` + rte + `)`},
		{"match accepts any key, not any value", route1 + "match = {\n  ANYTHING = \"x\",\n  \"weird key\" = \"y\",\n  N = 1,\n}\n",
			`bubble.toml:6: route[1].match.N: must be a pattern string, not integer`},
		{"match nested", route1 + "[route.match]\nA = \"x\"\n[route.match.B]\nC = \"y\"\n", `bubble.toml:5: route[1].match.B: must be a pattern string, not table`},
	})
}

func TestAllErrorsReported(t *testing.T) {
	src := `log_level = "loud"
[[listener]]
transport = "smoke"
[[route]]
timeout = "soon"
memory = "lots"
[[route]]
module = "b.wasm"
instances = "many"
`
	want := strings.Join([]string{
		`bubble.toml:1: log_level: unknown log level "loud" (allowed: "debug", "info", "warn", "error")`,
		`bubble.toml:2: listener[1].address: required key is missing`,
		`bubble.toml:3: listener[1].transport: unknown transport "smoke" (allowed: "raw", "line", "http", "json", "jsonrpc")`,
		`bubble.toml:4: route[1].module: required key is missing`,
		`bubble.toml:5: route[1].timeout: invalid duration "soon": time: invalid duration "soon"`,
		`bubble.toml:6: route[1].memory: invalid size "lots": want a whole number of bytes with an optional unit, such as "64KiB"`,
		`bubble.toml:9: route[2].instances: unknown instances policy "many" (allowed: "snapshot", "fresh", "pool")`,
	}, "\n")
	_, err := Parse("bubble.toml", []byte(src))
	if got := errText(err); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 7 {
		t.Fatalf("errors.As(ErrorList) = %v, %d errors", errors.As(err, &list), len(list))
	}
	var first *Error
	if !errors.As(err, &first) || *first != (Error{File: "bubble.toml", Line: 1, Key: "log_level", Msg: `unknown log level "loud" (allowed: "debug", "info", "warn", "error")`}) {
		t.Errorf("errors.As(*Error) = %+v", first)
	}
}

func TestSyntaxErrors(t *testing.T) {
	runBad(t, []badCase{
		{"missing value", "engine = \"wazero\"\nlog_level =\n", `bubble.toml:2: log_level: invalid TOML: expected value but found '\n' instead`},
		{"duplicate key", route1 + "module = \"n.wasm\"\n", `bubble.toml:3: route.module: invalid TOML: Key 'route.module' has already been defined.`},
		{"unterminated string", route1 + "name = \"abc\n", `bubble.toml:3: route.name: invalid TOML: strings cannot contain newlines`},
		{"blank key", route1 + " = 1\n", `bubble.toml:3: route: invalid TOML: unexpected '=': key name appears blank`},
		{"table redefined", route1 + "[route]\n", `bubble.toml:3: invalid TOML: Key 'route' has already been defined.`},
	})
}

func TestOptions(t *testing.T) {
	opts := Options{
		Transports: []string{"http", "grpc"},
		ValidateAddress: func(s string) error {
			if strings.HasSuffix(s, ":99999") {
				return errors.New(`address "` + s + `": port out of range`)
			}
			return nil
		},
		ValidatePattern: func(s string) error {
			if strings.Contains(s, "[") {
				return errors.New("unclosed [")
			}
			return nil
		},
	}
	src := route1 + `match = { PATH_INFO = "/a/[", QUERY_STRING = "ok" }
[[listener]]
address = "tcp://:99999"
transport = "grpc"
read_header_timeout = "1s"
[[listener]]
address = "tcp://:1"
transport = "line"
`
	want := strings.Join([]string{
		`bubble.toml:3: route[1].match.PATH_INFO: invalid pattern "/a/[": unclosed [`,
		`bubble.toml:5: listener[1].address: address "tcp://:99999": port out of range`,
		`bubble.toml:7: listener[1].read_header_timeout: only valid with transport = "http", not "grpc"`,
		`bubble.toml:10: listener[2].transport: unknown transport "line" (allowed: "http", "grpc")`,
	}, "\n")
	_, err := ParseWith("bubble.toml", []byte(src), opts)
	if got := errText(err); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}

	// Scheme errors stop before the hook runs.
	called := false
	opts.ValidateAddress = func(string) error { called = true; return nil }
	if _, err := ParseWith("bubble.toml", []byte(route1+"[[listener]]\naddress = \"udp://:1\"\n"), opts); err == nil || called {
		t.Errorf("err = %v, hook called = %v", err, called)
	}
	cfg, err := ParseWith("bubble.toml", []byte(route1+"[[listener]]\naddress = \"tcp://:1\"\ntransport = \"grpc\"\n"), opts)
	if err != nil || !called || cfg.Listeners[0].Transport != "grpc" || cfg.Listeners[0].MaxHeaderBytes != 0 {
		t.Errorf("cfg = %+v, err = %v, hook called = %v", cfg, err, called)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bubble.toml")
	if err := os.WriteFile(path, []byte("cache_dir = \"cache\"\n[[route]]\nmodule = \"mods/hello.wasm\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "mods", "hello.wasm"); cfg.Routes[0].Module != want {
		t.Errorf("Module = %q, want %q", cfg.Routes[0].Module, want)
	}
	if want := filepath.Join(dir, "cache"); cfg.CacheDir != want {
		t.Errorf("CacheDir = %q, want %q", cfg.CacheDir, want)
	}
	if cfg.File != path {
		t.Errorf("File = %q, want %q", cfg.File, path)
	}

	if _, err := Load(filepath.Join(dir, "missing.toml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: err = %v, want fs.ErrNotExist", err)
	}

	if err := os.WriteFile(path, []byte("[[route]]\nmodule = 5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(path)
	if want := path + ":2: route[1].module: must be a string, not integer"; errText(err) != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

func TestErrorString(t *testing.T) {
	for _, tc := range []struct {
		e    Error
		want string
	}{
		{Error{"a.toml", 7, "route[1].timeout", "bad"}, "a.toml:7: route[1].timeout: bad"},
		{Error{"a.toml", 0, "route", "missing"}, "a.toml: route: missing"},
		{Error{"a.toml", 3, "", "syntax"}, "a.toml:3: syntax"},
		{Error{"", 3, "k", "m"}, ":3: k: m"},
		{Error{"", 0, "", "m"}, "m"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("%+v: got %q, want %q", tc.e, got, tc.want)
		}
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		err  string
	}{
		{"0", 0, ""},
		{"123", 123, ""},
		{"10B", 10, ""},
		{"1KB", 1000, ""},
		{"1kb", 1000, ""},
		{"1 MB", 1000000, ""},
		{"1GB", 1000000000, ""},
		{"1KiB", 1024, ""},
		{"1 kib", 1024, ""},
		{"3MiB", 3 << 20, ""},
		{"2GIB", 2 << 30, ""},
		{" 5 ", 5, ""},
		{"", 0, `want a whole number of bytes with an optional unit, such as "64KiB"`},
		{"KiB", 0, `want a whole number of bytes with an optional unit, such as "64KiB"`},
		{"-1", 0, `want a whole number of bytes with an optional unit, such as "64KiB"`},
		{"1  KiB", 0, `unknown unit " KiB" (allowed: B, KB, MB, GB, KiB, MiB, GiB)`},
		{"1K", 0, `unknown unit "K" (allowed: B, KB, MB, GB, KiB, MiB, GiB)`},
		{"1.5MiB", 0, "fractions are not allowed; use a smaller unit"},
		{"9223372036854775807", 1<<63 - 1, ""},
		{"9223372036854775808", 0, "number out of range"},
		{"8589934592GiB", 0, "number out of range"},
	} {
		got, err := ParseSize(tc.in)
		if errText(err) != tc.err || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, %q", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestRouteDial(t *testing.T) {
	cfg, err := Parse("bubble.toml", []byte(`
[[route]]
module = "m.wasm"
dial = { worker = "unix:///tmp/w.sock", remote = "amqp://guest:guest@127.0.0.1:5672/?queue=work" }
`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"worker": "unix:///tmp/w.sock", "remote": "amqp://guest:guest@127.0.0.1:5672/?queue=work"}
	if got := cfg.Routes[0].Dial; len(got) != 2 || got["worker"] != want["worker"] || got["remote"] != want["remote"] {
		t.Errorf("dial %v, want %v", got, want)
	}
	_, err = Parse("bubble.toml", []byte(`
[[route]]
module = "m.wasm"
dial = { "bad name" = "unix:///x", w = "http://x", n = 5, s = "systemd://web", t = "tls://127.0.0.1:1" }
`))
	for _, msg := range []string{`route[1].dial."bad name": invalid target name`, `route[1].dial.w: invalid address "http://x"`, `route[1].dial.n: must be an address string`,
		`route[1].dial.s: "systemd://web" names a listening socket inherited from systemd; a dial target is tcp://, unix:// or amqp://`,
		`route[1].dial.t: "tls://127.0.0.1:1": a tls:// address is a listener's`} {
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("error %v, want it to mention %q", err, msg)
		}
	}
}
