package config

import (
	"path/filepath"
	"testing"
	"time"
)

// transport = "websocket": the defaults, each key set, and hostile values
// named by file, line and key.
func TestRouteWebSocketGood(t *testing.T) {
	const route = "[[route]]\ntransport = \"websocket\"\n"
	ws := func(c *Config) any { return c.Routes[0].WebSocket }
	defaults := WebSocketRoute{MaxMessage: DefaultWebSocketMaxMessage, PingInterval: DefaultWebSocketPingInterval,
		IdleTimeout: DefaultWebSocketIdleTimeout, MaxSockets: DefaultWebSocketMaxSockets}
	set := defaults
	set.MaxMessage, set.Origins, set.PingInterval, set.IdleTimeout, set.MaxSockets, set.Open = 1<<20, []string{"*.example.com", "localhost:8080"}, time.Second, 3*time.Second, 5, true
	runGood(t, []goodCase{
		{"defaults", route, ws, defaults},
		{"every key", route + `websocket_max_message = "1MiB"
websocket_origins = ["*.Example.com", "localhost:8080"]
websocket_ping_interval = "1s"
websocket_idle_timeout = "3s"
websocket_max_sockets = 5
websocket_open = true
`, ws, set},
		{"any origin", route + "websocket_origins = [\"*\"]\n", func(c *Config) any { return c.Routes[0].WebSocket.Origins }, []string{"*"}},
		{"not on other routes", "[[route]]\nmodule = \"a.wasm\"\n", ws, WebSocketRoute{}},
	})
}

func TestRouteWebSocketBad(t *testing.T) {
	const route = "[[route]]\ntransport = \"websocket\"\n"
	runBad(t, []badCase{
		{"max message zero", route + "websocket_max_message = 0\n", "bubble.toml:3: route[1].websocket_max_message: must be at least 1B, got 0B"},
		{"max message negative", route + "websocket_max_message = -5\n", "bubble.toml:3: route[1].websocket_max_message: must be at least 1B, got -5B"},
		{"max message huge", route + "websocket_max_message = \"2GiB\"\n", "bubble.toml:3: route[1].websocket_max_message: must be at most 64MiB, got 2GiB"},
		{"max message garbage", route + "websocket_max_message = \"lots\"\n", "bubble.toml:3: route[1].websocket_max_message: invalid size \"lots\": " + sizeErr("lots")},
		{"max message bool", route + "websocket_max_message = true\n", "bubble.toml:3: route[1].websocket_max_message: must be a size (an integer number of bytes or a string such as \"64KiB\"), not boolean"},
		{"origins string", route + "websocket_origins = \"*\"\n", "bubble.toml:3: route[1].websocket_origins: must be an array of host patterns such as [\"example.com\", \"*.example.com\"] or [\"*\"], not string"},
		{"origin URL", route + "websocket_origins = [\"https://example.com\"]\n", "bubble.toml:3: route[1].websocket_origins: entry 1 \"https://example.com\": want a host pattern such as \"example.com\" or \"*.example.com:8443\", not a URL"},
		{"origin empty", route + "websocket_origins = [\"\"]\n", "bubble.toml:3: route[1].websocket_origins: entry 1 \"\": must not be empty"},
		{"origin number", route + "websocket_origins = [7]\n", "bubble.toml:3: route[1].websocket_origins: entry 1 must be a string, not integer"},
		{"origin bad glob", route + "websocket_origins = [\"[a\"]\n", "bubble.toml:3: route[1].websocket_origins: entry 1 \"[a\": syntax error in pattern"},
		{"ping zero", route + "websocket_ping_interval = \"0s\"\n", "bubble.toml:3: route[1].websocket_ping_interval: must be positive, got \"0s\""},
		{"ping tiny", route + "websocket_ping_interval = \"1ms\"\n", "bubble.toml:3: route[1].websocket_ping_interval: must be at least 100ms, got \"1ms\""},
		{"ping garbage", route + "websocket_ping_interval = \"often\"\n", "bubble.toml:3: route[1].websocket_ping_interval: invalid duration \"often\": time: invalid duration \"often\""},
		{"ping number", route + "websocket_ping_interval = 30\n", "bubble.toml:3: route[1].websocket_ping_interval: must be a duration string such as \"30s\", not integer"},
		{"idle negative", route + "websocket_idle_timeout = \"-1s\"\n", "bubble.toml:3: route[1].websocket_idle_timeout: must be positive, got \"-1s\""},
		{"idle below ping", route + "websocket_idle_timeout = \"10s\"\n", "bubble.toml:3: route[1].websocket_idle_timeout: websocket_idle_timeout (10s) must be longer than websocket_ping_interval (30s): a live client answers each ping"},
		{"sockets zero", route + "websocket_max_sockets = 0\n", "bubble.toml:3: route[1].websocket_max_sockets: must be at least 1, got 0"},
		{"sockets huge", route + "websocket_max_sockets = 9223372036854775807\n", "bubble.toml:3: route[1].websocket_max_sockets: must be at most 1048576, got 9223372036854775807"},
		{"sockets string", route + "websocket_max_sockets = \"many\"\n", "bubble.toml:3: route[1].websocket_max_sockets: must be an integer, not string"},
		{"open string", route + "websocket_open = \"yes\"\n", "bubble.toml:3: route[1].websocket_open: must be true or false, not string"},
		{"key on module route", "[[route]]\nmodule = \"a.wasm\"\nwebsocket_open = true\n", "bubble.toml:3: route[1].websocket_open: only valid with transport = \"websocket\""},
		{"key on jsonrpc route", "[[route]]\ntransport = \"jsonrpc\"\nwebsocket_max_sockets = 3\n", "bubble.toml:3: route[1].websocket_max_sockets: only valid with transport = \"websocket\""},
		{"listener transport", "[[listener]]\naddress = \"tcp://127.0.0.1:0\"\ntransport = \"websocket\"\n[[route]]\nmodule = \"a.wasm\"\n",
			"bubble.toml:3: listener[1].transport: unknown transport \"websocket\" (allowed: \"raw\", \"line\", \"http\", \"json\", \"jsonrpc\")"},
	})
}

// transport = "websocket" with a module: the module serves the messages,
// with every module key of its route; other transports and builtins still
// refuse a module.
func TestRouteWebSocketModule(t *testing.T) {
	const route = "[[route]]\ntransport = \"websocket\"\nmodule = \"chat.wasm\"\n"
	type served struct {
		Module, Transport, Instances string
		PoolSize, Queue              int
		Memory                       int64
		Timeout                      time.Duration
		PubSub                       []string
		KV                           string
		Vars                         int
		Open                         bool
	}
	get := func(c *Config) any {
		r := c.Routes[0]
		return served{filepath.Base(r.Module), r.Transport, r.Instances, r.PoolSize, r.Queue, r.Memory, r.Timeout, r.PubSub, r.KV, len(r.Vars), r.WebSocket.Open}
	}
	runGood(t, []goodCase{
		{"module keys apply", route + `instances = "pool"
pool_size = 4
queue = 7
memory = "32MiB"
timeout = "5s"
pubsub = ["chat"]
kv = "chat"
vars = { greeting = "hi" }
websocket_open = true
`, get, served{"chat.wasm", TransportWebSocket, InstancesPool, 4, 7, 32 << 20, 5 * time.Second, []string{"chat"}, "chat", 1, true}},
		{"module first", "[[route]]\nmodule = \"chat.wasm\"\ntransport = \"websocket\"\n", func(c *Config) any { return filepath.Base(c.Routes[0].Module) + "|" + c.Routes[0].Transport }, "chat.wasm|websocket"},
		{"no module", "[[route]]\ntransport = \"websocket\"\n", func(c *Config) any { return c.Routes[0].Module }, ""},
	})
	runBad(t, []badCase{
		{"module on jsonrpc", "[[route]]\ntransport = \"jsonrpc\"\nmodule = \"a.wasm\"\n", `bubble.toml:2: route[1].transport: a route has one of module, transport or builtin, not module and transport`},
		{"module and builtin", route + "builtin = \"static\"\nroot = \".\"\n", `bubble.toml:4: route[1].builtin: a route has one of module, transport or builtin, not transport and builtin`},
		{"module not wasm", "[[route]]\ntransport = \"websocket\"\nmodule = \"main.go\"\n",
			`bubble.toml:3: route[1].module: "main.go" does not end in .wasm: module names the built module (such as "main.wasm"), not its source; to build it from source, add build = "..." (see bubblewasm build --help)`},
		{"module number", "[[route]]\ntransport = \"websocket\"\nmodule = 7\n", `bubble.toml:3: route[1].module: must be a string, not integer`},
		{"module empty", "[[route]]\ntransport = \"websocket\"\nmodule = \"\"\n", `bubble.toml:3: route[1].module: must not be empty`},
		{"queue without module", "[[route]]\ntransport = \"websocket\"\nqueue = 3\n", `bubble.toml:3: route[1].queue: only valid on a route with a module`},
		{"vars without module", "[[route]]\ntransport = \"websocket\"\nvars = { A = \"b\" }\n", `bubble.toml:3: route[1].vars: only valid on a route with a module`},
		{"module key hostile", route + "pool_size = -1\n", `bubble.toml:4: route[1].pool_size: must be at least 0, got -1`},
		{"module memory huge", route + "memory = \"8GiB\"\n", `bubble.toml:4: route[1].memory: must be at most 4GiB, got 8GiB`},
	})
}
