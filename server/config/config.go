package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/events"
	"github.com/bubblewasm/bubblewasm/server/transport"
	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// Names of engines, instance policies, transports and log levels that the
// schema accepts.
const (
	// EngineWazero selects the wazero runtime.
	EngineWazero = "wazero"
	// EngineWasmtime selects the wasmtime runtime.
	EngineWasmtime = "wasmtime"

	// InstancesSnapshot runs every exchange on an instance restored to the
	// state it had right after initialization: nothing of one exchange
	// reaches the next, at the cost of a reused instance.
	InstancesSnapshot = "snapshot"
	// InstancesFresh runs every exchange in a new module instance.
	InstancesFresh = "fresh"
	// InstancesPool reuses idle module instances across exchanges and
	// keeps their state: what one exchange leaves, the next sees.
	InstancesPool = "pool"

	// ABIAuto serves a module by what it exports: a WASI command (_start
	// without bubble_handle) as CGI, anything else as an ABI v1 handler.
	ABIAuto = string(wasm.ABIAuto)
	// ABIV1 serves an ABI v1 handler (bubble_handle; abi/ABI.md).
	ABIV1 = string(wasm.ABIV1)
	// ABICGI serves a WASI command module as a CGI program: stdin, stdout,
	// environment variables (see server/wasm/cgi.go).
	ABICGI = string(wasm.ABICGI)

	// TransportRaw names the raw transport.
	TransportRaw = "raw"
	// TransportLine names the line transport.
	TransportLine = "line"
	// TransportHTTP names the HTTP transport.
	TransportHTTP = "http"
	// TransportJSON names the newline-delimited JSON transport.
	TransportJSON = "json"
	// TransportJSONRPC names the JSON-RPC 2.0 transport.
	TransportJSONRPC = "jsonrpc"

	// BuiltinLongPoll exposes a pub/sub channel over HTTP long-polling.
	BuiltinLongPoll = "longpoll"

	// OverflowDropSubscriber drops a subscription whose queue overflows.
	OverflowDropSubscriber = "drop-subscriber"
	// OverflowDropOldest drops a full queue's oldest message.
	OverflowDropOldest = "drop-oldest"

	// BackendMemory is the in-process broker: one server process.
	BackendMemory = "memory"
	// BackendAMQP shares channels between server processes through an
	// AMQP 0-9-1 server (RabbitMQ).
	BackendAMQP = "amqp"

	// LogDebug is the most verbose log level.
	LogDebug = "debug"
	// LogInfo is the default log level.
	LogInfo = "info"
	// LogWarn is the log level that keeps warnings and errors only.
	LogWarn = "warn"
	// LogError is the log level that keeps errors only.
	LogError = "error"
)

// Defaults: the value a setting takes when the file leaves it out.
const (
	// DefaultEngine is the engine of routes when neither they nor the top
	// level name one.
	DefaultEngine = EngineWazero
	// DefaultShutdownTimeout is how long shutdown waits for exchanges.
	DefaultShutdownTimeout = 10 * time.Second
	// DefaultLogLevel is the log level.
	DefaultLogLevel = LogInfo

	// DefaultTransport is a listener's transport.
	DefaultTransport = TransportHTTP
	// DefaultMaxLineBytes is the longest line a "line" listener accepts.
	DefaultMaxLineBytes = transport.DefaultMaxLineBytes
	// DefaultReadHeaderTimeout is how long an "http" listener waits for
	// request headers.
	DefaultReadHeaderTimeout = transport.DefaultReadHeaderTimeout
	// DefaultIdleTimeout is how long an "http" listener keeps an idle
	// keep-alive connection, and a "line", "json" or "jsonrpc" listener a
	// connection waiting for its next message.
	DefaultIdleTimeout = transport.DefaultIdleTimeout
	// DefaultMaxHeaderBytes is the largest request header block an "http"
	// listener accepts.
	DefaultMaxHeaderBytes = transport.DefaultMaxHeaderBytes
	// DefaultMaxBodyBytes is an "http" listener's body limit: 0, unlimited.
	DefaultMaxBodyBytes = 0
	// DefaultMaxConnections caps a socket listener's open connections.
	DefaultMaxConnections = server.DefaultMaxConns
	// DefaultWriteTimeout is how long a write to a connection may make no
	// progress before the connection is closed.
	DefaultWriteTimeout = server.DefaultWriteTimeout
	// DefaultDrainTimeout bounds reading away a request body an "http"
	// route's handler left unread.
	DefaultDrainTimeout = transport.DefaultDrainTimeout

	// DefaultInstances is a route's instance policy when the file names
	// none: the server serves snapshot instances, or fresh ones (with a log
	// line saying why) for a module a snapshot cannot capture, which a
	// route that names instances = "snapshot" refuses instead.
	DefaultInstances = ""
	// DefaultABI is how a route's module is called.
	DefaultABI = ABIAuto
	// DefaultPoolSize is stored in Route.PoolSize when the file leaves
	// pool_size out; 0 lets the server pick (such as 2*GOMAXPROCS).
	DefaultPoolSize = 0
	// DefaultMaxConcurrency is how many exchanges a route runs at once.
	DefaultMaxConcurrency = wasm.DefaultMaxConcurrency
	// DefaultTimeout is a route's wall-clock limit per exchange.
	DefaultTimeout = wasm.DefaultTimeout
	// DefaultMemory is a route's memory cap in bytes.
	DefaultMemory = wasm.DefaultMemoryPages * PageSize
	// DefaultQueueSize bounds a subscription's queue.
	DefaultQueueSize = 64
	// DefaultOverflow is the [pubsub] overflow policy.
	DefaultOverflow = OverflowDropSubscriber
	// DefaultBackend is the [pubsub] backend.
	DefaultBackend = BackendMemory
	// DefaultExchange is the AMQP exchange of backend "amqp".
	DefaultExchange = events.DefaultExchange
	// DefaultIdleSubscription drops subscriptions idle this long.
	DefaultIdleSubscription = 60 * time.Second
	// DefaultMaxMessageBytes caps a pub/sub message.
	DefaultMaxMessageBytes = 64 << 10
	// DefaultMaxStack is a route's call-stack budget; deeper calls trap.
	DefaultMaxStack = wasm.DefaultStackBytes
	// MinStack and MaxStack bound max_stack.
	MinStack = 64 << 10
	MaxStack = 1 << 30
	// DefaultMaxResponseHeaders caps the response header values a route's
	// module sets per exchange; MaxResponseHeaders bounds the setting.
	DefaultMaxResponseHeaders = abi.DefaultMaxResponseHeaders
	MaxResponseHeaders        = 10000
	// DefaultMaxResponseHeaderBytes caps their bytes (name, value and 4
	// each); MaxResponseHeaderBytes bounds the setting.
	DefaultMaxResponseHeaderBytes = abi.DefaultMaxResponseHeaderBytes
	MaxResponseHeaderBytes        = 1 << 20

	// PageSize is the WebAssembly page size; memory must be a multiple.
	PageSize = 64 << 10
	// MaxMemory is the largest memory cap, the 32-bit address space.
	MaxMemory = 4 << 30
)

// Engines returns the engine names the schema accepts, in the order its
// error messages list them.
func Engines() []string {
	return []string{EngineWazero, EngineWasmtime}
}

// DefaultTransports returns the transport names accepted when
// Options.Transports is nil: "raw", "line", "http", "json" and "jsonrpc".
func DefaultTransports() []string {
	return []string{TransportRaw, TransportLine, TransportHTTP, TransportJSON, TransportJSONRPC}
}

// PubSub is the [pubsub] table: the broker's settings.
type PubSub struct {
	// QueueSize bounds each subscription's queue.
	QueueSize int
	// Overflow is what a full queue does: "drop-subscriber" (the
	// subscription is dropped, as the comet chat's participants are) or
	// "drop-oldest".
	Overflow string
	// IdleTimeout drops a subscription nobody fetched from for this long.
	IdleTimeout time.Duration
	// MaxMessageBytes caps one message.
	MaxMessageBytes int64
	// Backend is "memory" (one process) or "amqp" (processes sharing
	// channels through the AMQP server at URL).
	Backend string
	// URL is the AMQP server, "amqp://user:pass@host:port/vhost"; backend
	// "amqp" only (required there).
	URL string
	// Exchange is the AMQP topic exchange the processes share; backend
	// "amqp" only (default DefaultExchange).
	Exchange string
	// MaxSubscriptions caps the live subscriptions of the whole process
	// (each route has its own cap too: Route.Guest.MaxSubscriptions).
	MaxSubscriptions int
}

// Config is a validated configuration file with every default filled in.
type Config struct {
	// File is the path passed to Load or the name passed to Parse.
	File string
	// Engine is the default engine of routes (each Route.Engine is already
	// resolved against it).
	Engine string
	// CacheDir is the compilation cache directory, made absolute against
	// the config file's directory; "" lets the caller pick.
	CacheDir string
	// ShutdownTimeout bounds how long shutdown waits for exchanges.
	ShutdownTimeout time.Duration
	// LogLevel is "debug", "info", "warn" or "error".
	LogLevel string
	// AccessLog is where the record of each exchange goes (accesslog.go).
	AccessLog AccessLog
	// GuestLog is the log budget all routes' guests share.
	GuestLog GuestLog
	// PubSub configures the broker.
	PubSub PubSub
	// KV configures the key-value namespaces.
	KV KV
	// Limits are the process-wide bounds (limits.go).
	Limits Limits
	// Admin is the admin listener (admin.go).
	Admin Admin
	// Listeners are the [[listener]] entries in file order; possibly none.
	Listeners []Listener
	// Routes are the [[route]] entries in file order; at least one.
	Routes []Route
}

// Listener is one [[listener]] entry. Settings of a transport other than
// the listener's own are zero.
type Listener struct {
	// Name is unique among listeners; "listenerN" (N 1-based) by default.
	Name string
	// Address is "tcp://..." or "unix://...", as written.
	Address string
	// Transport is one of Options.Transports.
	Transport string
	// SocketMode is the permission of a unix socket file; 0 if unset.
	SocketMode os.FileMode
	// MaxLineBytes is the longest line of a "line" listener.
	MaxLineBytes int
	// ReadHeaderTimeout bounds reading request headers on an "http"
	// listener; always positive.
	ReadHeaderTimeout time.Duration
	// IdleTimeout bounds idle keep-alive connections on an "http"
	// listener; always positive.
	IdleTimeout time.Duration
	// MaxHeaderBytes caps request headers on an "http" listener.
	MaxHeaderBytes int
	// MaxBodyBytes caps request bodies on an "http" listener; 0 is
	// unlimited.
	MaxBodyBytes int64
	// MaxConnections caps a socket listener's open connections; 0 for
	// amqp:// listeners.
	MaxConnections int
	// WriteTimeout is how long a write to one of a socket listener's
	// connections may make no progress; 0 for amqp:// listeners.
	WriteTimeout time.Duration
	// DrainTimeout bounds reading away an unread request body on an
	// "http" listener; 0 otherwise.
	DrainTimeout time.Duration
	// Line is the line of the entry's [[listener]] header (or of its
	// inline table).
	Line int

	// Stream transports (streams.go). IdleTimeout above also applies to
	// "line", "json" and "jsonrpc" listeners: how long a connection may
	// wait for its next message with nothing being served.

	// ReadTimeout bounds how long one message (a line) may take to arrive
	// once its first byte has, on a "line", "json" or "jsonrpc" listener.
	ReadTimeout time.Duration
	// MaxBatch caps the calls of one batch on a "jsonrpc" listener.
	MaxBatch int
	// BatchConcurrency caps the calls of one batch that run at once on a
	// "jsonrpc" listener.
	BatchConcurrency int

	// TLS, when set, serves a tcp:// listener's connections over TLS
	// (tls.go); nil for plain connections.
	TLS *TLS

	// HTTP/2 on an "http" listener (http2.go); zero on other transports.

	// HTTP2 offers HTTP/2 by ALPN on a TLS listener.
	HTTP2 bool
	// H2C serves cleartext HTTP/2 (prior knowledge and Upgrade: h2c).
	H2C bool
	// MaxConcurrentStreams caps the streams of one HTTP/2 connection.
	MaxConcurrentStreams int
}

// Route is one [[route]] entry.
type Route struct {
	// Name is unique among routes; "routeN" (N 1-based) by default.
	Name string
	// Module is the path of the WebAssembly module, made absolute against
	// the config file's directory. Whether it exists is not checked. On a
	// route with Transport "websocket" it serves the socket's messages.
	Module string
	// Match maps env keys to patterns; nil (match everything) if absent.
	Match map[string]string
	// Engine is the route's engine, the top-level engine by default.
	Engine string
	// ABI is "auto", "v1" or "cgi". Where a Route is built by hand, ""
	// means DefaultABI.
	ABI string
	// Transport, when set, serves the route with a transport whose
	// exchanges go back through the router (jsonrpc under POST /rpc), or,
	// for "websocket" with a Module, to that module.
	Transport string
	// Builtin, when set, serves the route with a handler of the host's
	// own: "longpoll" exposes Channel over HTTP, "static" the files under
	// Root.
	Builtin string
	// Channel is the pub/sub channel of a longpoll builtin.
	Channel string
	// Root is the absolute directory a static builtin serves; it existed
	// and was a directory when the file was loaded.
	Root string
	// Dotfiles lets a static builtin serve paths with a segment that
	// starts with "." (default false: 404).
	Dotfiles bool
	// PubSub are the channel patterns the route's module may publish and
	// subscribe to; nil grants no pub/sub.
	PubSub []string
	// Signals are the signal name patterns the route's module may wait on
	// and send; nil grants no signals.
	Signals []string
	// KV is the key-value namespace the route's module may use; "" grants
	// none.
	KV string
	// Dial maps the names the route's module calls (bubblewasm_dial_v1)
	// to worker addresses: unix://, tcp:// (line framing) or amqp://
	// with ?queue=NAME (RPC over the queue); nil grants none.
	Dial map[string]string
	// Outbound is the route's outbound HTTP grant (outbound.go); nil
	// grants none.
	Outbound *Outbound
	// Build is the shell command that builds Module (run by `bubblewasm
	// build` in the config file's directory with $OUT set to Module); ""
	// when the file has none.
	Build string
	// Instances is "snapshot", "fresh", "pool", or DefaultInstances ("")
	// when the file names none.
	Instances string
	// PoolSize is the most idle instances a "snapshot" or "pool" route
	// keeps; 0 lets the server pick (the route's max_concurrency).
	PoolSize int
	// MaxConcurrency is how many exchanges the route runs at once.
	MaxConcurrency int
	// Timeout is the wall-clock limit per exchange.
	Timeout time.Duration
	// Memory is the memory cap in bytes, a multiple of PageSize.
	Memory int64
	// MaxStack is the call-stack budget in estimated bytes of frames.
	MaxStack int64
	// MaxResponseHeaders caps the response header values the module sets
	// per exchange.
	MaxResponseHeaders int
	// MaxResponseHeaderBytes caps their size in bytes.
	MaxResponseHeaderBytes int64
	// Guest bounds the route's log records and subscriptions.
	Guest GuestLimits
	// InitTimeout bounds the route's first instance at load; 0 means
	// DefaultInitTimeout.
	InitTimeout time.Duration
	// PoolIdleTimeout closes a "snapshot" or "pool" route's instances idle
	// this long; 0 means DefaultPoolIdleTimeout.
	PoolIdleTimeout time.Duration
	// MaxWaiting bounds the route's exchanges parked at once
	// (bubblewasm_park_v1); 0 means DefaultMaxWaiting.
	MaxWaiting int
	// Vars are the route's variables (vars.go), resolved at load: env keys
	// var.NAME for its module, NAME upper-cased for a CGI program. nil
	// when the file has none; values are "" under Options.SkipVarSources.
	Vars map[string]wasm.Secret
	// Queue bounds the route's exchanges waiting for a slot; 0 means
	// DefaultQueue, NoQueue (queue = 0 in the file) that none wait.
	Queue int
	// QueueTimeout bounds one exchange's wait for a slot; 0 means
	// DefaultQueueTimeout or half of Timeout, whichever is shorter.
	QueueTimeout time.Duration
	// Line is the line of the entry's [[route]] header (or of its inline
	// table).
	Line int

	// The jsonrpc transport of a route (streams.go); zero on other routes.

	// MaxBatch caps the calls of one batch.
	MaxBatch int
	// BatchConcurrency caps the calls of one batch that run at once.
	BatchConcurrency int

	// WebSocket holds the websocket transport's keys (websocket.go).
	WebSocket WebSocketRoute

	// RateLimit holds the route's request-rate limit (ratelimit.go).
	RateLimit RateLimit
}

// Options extends validation with checks owned by other packages. The zero
// Options is what Load and Parse use.
type Options struct {
	// Transports are the allowed transport names; nil means
	// DefaultTransports(). Keys specific to "line" or "http" are only
	// accepted on listeners of that transport.
	Transports []string
	// ValidateAddress, if set, fully checks a listener address once it
	// has passed the scheme check; its error becomes the message.
	ValidateAddress func(address string) error
	// ValidatePattern, if set, checks each match pattern; its error
	// becomes the message.
	ValidatePattern func(pattern string) error
	// LookupEnv, if set, replaces os.LookupEnv for route variables taken
	// from the environment ({ env = "NAME" }).
	LookupEnv func(name string) (string, bool)
	// SkipVarSources checks route variables' declarations without reading
	// the environment or files they name (`bubblewasm build` needs no
	// secrets); their values are "".
	SkipVarSources bool
}

// Load reads and validates the file; every error names the file, line and
// key. A read failure is returned as is (an *fs.PathError); any other error
// is an ErrorList.
func Load(path string) (*Config, error) {
	return LoadWith(path, Options{})
}

// LoadWith is Load with extra validation from opts.
func LoadWith(path string, opts Options) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseWith(path, data, opts)
}

// Parse is Load for in-memory data; name is used in error messages, and
// relative module paths are resolved against its directory (the current
// directory if name has none).
func Parse(name string, data []byte) (*Config, error) {
	return ParseWith(name, data, Options{})
}

// ParseWith is Parse with extra validation from opts.
func ParseWith(name string, data []byte, opts Options) (*Config, error) {
	var doc map[string]any
	if _, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			line := pe.Position.Line
			if st := pe.Position.Start; st > 0 && st <= len(data) {
				// The library's line can be one past an error that ends at a
				// newline; the byte offset is exact.
				line = 1 + bytes.Count(data[:st], []byte("\n"))
			}
			return nil, ErrorList{{File: name, Line: line, Key: pe.LastKey, Msg: "invalid TOML: " + pe.Message}}
		}
		return nil, ErrorList{{File: name, Msg: "invalid TOML: " + err.Error()}}
	}
	dir, err := filepath.Abs(filepath.Dir(name))
	if err != nil {
		dir = filepath.Dir(name)
	}
	c := &checker{file: name, dir: dir, opts: opts, lines: keyLines(string(data))}
	if c.opts.Transports == nil {
		c.opts.Transports = DefaultTransports()
	}
	cfg := c.config(doc)
	if len(c.errs) > 0 {
		sortErrors(c.errs)
		return nil, c.errs
	}
	return cfg, nil
}
