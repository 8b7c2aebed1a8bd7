// Package config owns bubblewasm's configuration file: its TOML schema, the
// defaults of every setting, and the validation that turns a file into a
// [Config] the server can run without further checks.
//
// [Load] reads a file and [Parse] reads bytes already in memory; [LoadWith]
// and [ParseWith] take [Options] through which the caller plugs in the
// checks this package deliberately does not own: the full syntax of listener
// addresses, the set of transport names, and the syntax of route match
// patterns. Checking that route modules exist, compiling them, and binding
// listeners all happen elsewhere.
//
// # Schema
//
//	engine = "wazero"          # default engine for routes: "wazero" | "wasmtime"
//	cache_dir = ""             # compilation cache directory (compiled code, which
//	                           # modules passed validation, modules as rewritten for
//	                           # compiling in prepared/, whose entries unused for a
//	                           # week are removed after each load of the routes),
//	                           # relative to the config file's directory; "" lets
//	                           # the caller pick
//	shutdown_timeout = "10s"   # Go duration, >= 0
//	log_level = "info"         # "debug" | "info" | "warn" | "error"
//
//	[access_log]               # one record per exchange (optional table): listener, transport,
//	                           # route, method and path (or line/index/jsonrpc method/queue),
//	                           # status (499: the client left), bytes_in, bytes_out, duration,
//	                           # request_id; INFO, WARN for 503/504, ERROR for other 5xx
//	output = "stderr"          # "stderr" | "stdout" | "off" | a file path (appended to,
//	                           # relative to the config file's directory)
//	format = "text"            # "text" | "json"; default: the server log's (--log-format)
//
//	[guest_log]                # log records of all guests together (optional table): guest
//	                           # log calls, stdout/stderr lines and the host's lines about a
//	                           # guest; over it they are dropped and counted ("N dropped")
//	rate = 1000                # records per second in the long run, >= 1
//	burst = 10000              # records at once after a quiet spell, >= 1
//
//	[pubsub]                   # the broker (optional table)
//	backend = "memory"         # "memory" (one process) | "amqp" (processes share channels)
//	url = "amqp://guest:guest@127.0.0.1:5672/"  # backend = "amqp" only, required there
//	exchange = "bubblewasm.pubsub"  # backend = "amqp" only: the shared topic exchange
//	queue_size = 64            # messages a subscription holds, > 0 (the chat uses 10)
//	overflow = "drop-subscriber"  # full queue: "drop-subscriber" | "drop-oldest"
//	idle_timeout = "60s"       # drop a subscription nobody fetched from for this long
//	max_message_bytes = "64KiB"
//	max_subscriptions = 1048576  # live subscriptions of the whole process, >= 1 (ERR_FULL beyond)
//
//	[kv]                       # every key-value namespace (optional table)
//	eviction = "reject"        # a full namespace: "reject" (set answers ERR_FULL) | "lru" (evict
//	                           # the least recently used keys) | "soonest-expiry" (evict the keys
//	                           # that expire soonest; keys without a ttl are never evicted)
//	max_keys = 10000           # live keys of a namespace, >= 1
//	max_bytes = "16MiB"        # keys and values of a namespace, size >= 1
//	max_value_bytes = "64KiB"  # one value, size 1..1GiB and <= max_bytes (ERR_TOO_LARGE beyond)
//
//	[limits]                   # bounds shared by every route (optional table)
//	wasmtime_exchanges = 1024  # wasmtime guest runs at once, all routes together, 1..32768:
//	                           # each holds an OS thread while it waits in a host call; the
//	                           # excess waits within its timeout, then gets 503
//	memory_budget = "8GiB"     # guest linear memory of all instances together, >= 1MiB;
//	                           # default: half the machine's (or cgroup's) memory. New
//	                           # instances wait for room (503 at their timeout), growth
//	                           # past it fails (memory.grow returns -1)
//	route_share = 0.75         # the fraction of each shared limit one route may hold,
//	                           # 0.01..1, rounded up, at least one: wasmtime_exchanges places
//	                           # (over it the exchange waits, then 503), memory_budget (a new
//	                           # instance waits, then 503; growth past 7/8 of it fails) and
//	                           # [pubsub] max_subscriptions (ERR_FULL; a route's own
//	                           # max_subscriptions still applies). 1: no share of its own
//	resident_modules = 200     # routes whose module stays loaded (machine code, snapshot),
//	                           # 1..1000000; default: all. The least recently used idle
//	                           # routes beyond it are unloaded and loaded again by their
//	                           # next request (tens of ms from a warm cache_dir; without one
//	                           # a full compile, about a second for a Go module)
//
//	[admin]                    # the admin listener (optional table; off without it):
//	                           # GET /metrics (Prometheus text), /healthz, /readyz, plain HTTP
//	address = "tcp://127.0.0.1:9464"  # "tcp://..." or "unix://..."; the default is loopback:
//	                           # anyone who reaches it reads route names and counts
//
//	[[listener]]               # zero or more; the CLI may supply listeners instead
//	name = "web"               # default "listener1", "listener2", ...; unique
//	address = "tcp://127.0.0.1:8080"  # required; "tcp://...", "tls://..." (tcp that must have
//	                           # tls_cert and tls_key; not for [admin] or dial), "unix://...",
//	                           # "amqp://user:pass@host:5672/vhost?queue=work" (a consumer:
//	                           # prefetch=N, max_body=SIZE, on_error=reject|requeue,
//	                           # max_deliveries=N: 0..1000000, default 5, 0 = no limit; with
//	                           # on_error=requeue a message failing its N-th delivery is
//	                           # dead-lettered; an overloaded route's delivery is always requeued) or
//	                           # "systemd://NAME": a TCP or unix listening socket inherited
//	                           # from systemd (socket activation), NAME its .socket unit's
//	                           # FileDescriptorName= (default: the unit's name; 1..255
//	                           # printable ASCII, no ':'); one not passed fails the start
//	                           # (exit 4). Not a dial target
//	transport = "http"         # "http" | "line" | "raw" | "json" | "jsonrpc"; default "http"
//	socket_mode = "0660"       # unix addresses only: octal string, 1..0777
//	max_line_bytes = "64KiB"   # transports "line", "json", "jsonrpc": size > 0
//	read_header_timeout = "10s"  # transport "http" only: duration > 0
//	idle_timeout = "120s"      # transports "http", "line", "json", "jsonrpc": duration > 0; http: an
//	                           # idle keep-alive connection; line/json/jsonrpc: a connection waiting
//	                           # for the first byte of its next message with nothing being served
//	max_header_bytes = "64KiB" # transport "http" only: size > 0
//	max_body_bytes = "10MiB"   # transport "http" only: size, 0 = unlimited
//	drain_timeout = "2s"       # transport "http" only: how long to read away a body the
//	                           # handler left unread (<= 256 KiB) before closing instead
//	max_connections = 16384    # tcp:// and unix:// only: open connections, > 0; more are
//	                           # accepted and closed at once (logged)
//	write_timeout = "30s"      # tcp:// and unix:// only: a write to a connection that makes
//	                           # no progress this long (within an eighth) closes the connection
//	read_timeout = "30s"       # transports "line", "json", "jsonrpc": duration > 0; a message (line)
//	                           # must arrive whole within this of its first byte, or the connection ends
//	max_batch = 100            # transport "jsonrpc": calls per batch, 1..100000; a longer batch gets
//	                           # one Invalid Request error (-32600) and none of its calls runs
//	max_batch_concurrency = 8  # transport "jsonrpc": calls of one batch running at once, 1..1024
//	tls_cert = "cert.pem"      # tcp:// and tls:// only (required with tls://): serve TLS (any transport) with this certificate (PEM,
//	                           # leaf then chain), relative to the config file's directory; or an
//	                           # array of files: the client's SNI chooses, the first by default
//	tls_key = "key.pem"        # required with tls_cert: its key (PEM), or an array paired by position
//	tls_min_version = "1.2"    # with tls_cert: "1.2" | "1.3"
//	tls_client_ca = "ca.pem"   # with tls_cert: client certificates are required and verified
//	                           # against these CAs (PEM). Every file is read at load (a bad one
//	                           # fails it) and again on each reload and when the files change
//	                           # (their directories are watched; files that do not load are
//	                           # logged and the old certificates kept); turning TLS on or off
//	                           # on a kept listener needs a restart
//	http2 = true               # transport "http", socket addresses: offer HTTP/2 by ALPN ("h2",
//	                           # then "http/1.1") on a TLS listener; false: HTTP/1.1 only
//	h2c = false                # transport "http", plain (not TLS) listeners: serve cleartext
//	                           # HTTP/2 (prior knowledge and Upgrade: h2c); off, a cleartext
//	                           # HTTP/2 preface gets 505
//	max_concurrent_streams = 100 # transport "http": streams one HTTP/2 connection runs at once,
//	                           # 1..10000 (RFC 9113 recommends at least 100)
//
//	[[route]]                  # one or more
//	name = "hello"             # default "route1", "route2", ...; unique
//	module = "hello.wasm"      # relative to the config file's directory; must end in
//	                           # .wasm (the built module, never its source; `bubblewasm
//	                           # build` writes it). A route has exactly one of module,
//	                           # transport or builtin, except that transport = "websocket"
//	                           # may also name a module:
//	transport = "jsonrpc"      # a transport whose exchanges go back through the router
//	                           # (POST /rpc -> one exchange per call, matched on jsonrpc.method)
//	max_batch = 100            # transport = "jsonrpc" only: as on a jsonrpc listener
//	max_batch_concurrency = 8  # transport = "jsonrpc" only: as on a jsonrpc listener
//	transport = "websocket"    # GET + Upgrade: websocket upgrades (else 426); each message is an
//	                           # exchange of the route's module (module = "chat.wasm" on this
//	                           # route; every module key applies to it) with the upgrade's env
//	                           # plus bubble.transport=websocket. Without module, each message
//	                           # goes back through the router instead (match it in a route placed
//	                           # before this one): to dispatch messages to several routes.
//	                           # Output -> one message; a failing exchange closes the socket
//	                           # with 1011; the route's timeout bounds each message;
//	                           # pubsub = [...] grants the channels sockets may follow
//	                           # (X-Bubble-Follow, abi/ABI.md) and the module may use; shutdown
//	                           # closes sockets with 1001
//	websocket_max_message = "64KiB" # transport = "websocket" only: size 1B..64MiB; a larger
//	                           # message (fragments reassembled) closes with 1009, a larger
//	                           # output fails its exchange (1011)
//	websocket_origins = ["*.example.com"] # transport = "websocket" only: host patterns
//	                           # (path.Match; "host" or "host:port", no scheme), at most 256;
//	                           # ["*"] allows any. Default: only an Origin whose host:port is the
//	                           # request's Host; a request without Origin is allowed; else 403
//	websocket_ping_interval = "30s" # transport = "websocket" only: duration >= 100ms; the
//	                           # host pings every socket this often
//	websocket_idle_timeout = "75s"  # transport = "websocket" only: duration > ping interval;
//	                           # a socket from which nothing (message, ping, pong) came for
//	                           # this long is closed with 1001
//	websocket_max_sockets = 10000   # transport = "websocket" only: 1..1048576 open sockets;
//	                           # an upgrade beyond is answered 503 with Retry-After
//	websocket_open = false     # transport = "websocket" only: run an exchange with
//	                           # websocket.event=open (no input) when a socket opens
//	builtin = "longpoll"       # a host handler: long-poll (GET) / publish (POST) on channel
//	channel = "news"           # builtin = "longpoll" only
//	builtin = "static"         # a host handler: the files under root (GET, HEAD; net/http's
//	                           # Content-Type, ranges, ETag/If-None-Match; a directory serves
//	                           # its index.html, no listings; nothing outside root, symlinks
//	                           # included). Under match = { PATH_INFO = "/static/*" } the
//	                           # path after /static names the file
//	root = "public"            # builtin = "static" only, required: relative to the config
//	                           # file's directory; must be a directory when the file is loaded
//	dotfiles = false           # builtin = "static" only: serve paths with a segment starting
//	                           # with "." (.git, .env); default false: 404
//	build = "make hello.wasm"  # shell command that builds module, for `bubblewasm build`
//	                           # (run by sh in the config file's directory, $OUT = module)
//	abi = "auto"               # "auto" | "v1" | "cgi": how the module is called; auto
//	                           # serves a WASI command (_start, no bubble_handle) as CGI
//	                           # and anything else as an ABI v1 handler
//	match = { PATH_INFO = "/hello/*" }  # env key -> pattern; absent matches all. The server
//	                           # warns at load about a key no transport sets (path: PATH_INFO),
//	                           # a value in the wrong case (REQUEST_METHOD = "get") and routes
//	                           # after one without match (never reached)
//	engine = "wasmtime"        # overrides the top-level engine
//	instances = "snapshot"     # "snapshot" | "fresh" | "pool" (CGI modules: "fresh" only).
//	                           # snapshot: every exchange on an instance restored to its
//	                           # state right after init (nothing of one exchange reaches the
//	                           # next); fresh: a new instance per exchange; pool: reused
//	                           # instances that keep their state. Absent: snapshot, or
//	                           # fresh (logged) for a module a snapshot cannot capture
//	                           # (server/wasm/snapshot.go), which "snapshot" refuses
//	pool_size = 8              # not with "fresh": max idle instances, 0 = max_concurrency
//	max_concurrency = 64       # > 0; more exchanges wait in the queue (queue, queue_timeout)
//	timeout = "30s"            # wall clock per exchange, > 0
//	memory = "64MiB"           # 64KiB..4GiB, a whole number of 64KiB pages
//	max_stack = "4MiB"         # call-stack budget (estimated frame bytes), 64KiB..1GiB;
//	                           # a deeper call traps (see server/wasm/stackguard.go)
//	init_timeout = "10s"       # bound on the first instance's init at load (start function,
//	                           # _initialize, bubble_init); past it the load fails
//	pool_idle_timeout = "60s"  # not with "fresh": close instances idle this long
//	pubsub = ["chat", "news.*"]  # channels the module may publish/subscribe to (names and
//	                           # patterns: non-empty dot-separated segments; abi/ABI.md,
//	                           # "Names and grants")
//	signals = ["job.*"]        # signal names the module may wait on and send
//	kv = "chat"                # the key-value namespace the module may use
//	max_response_headers = 100  # header values the module may set per response, 1..10000;
//	                           # past it set_header/add_header answer ERR_TOO_LARGE
//	max_response_header_bytes = "64KiB"  # their bytes (name + value + 4 each), 1KiB..1MiB
//	dial = { worker = "unix:///run/worker.sock" }  # workers the module may call by name
//	                           # (bubblewasm_dial_v1): unix:// or tcp:// (one line out, one
//	                           # line back) or amqp://host/?queue=NAME (RPC over the queue)
//	outbound = ["https://api.example.com", "http://127.0.0.1:9000/hooks"]  # URLs the module may
//	                           # request (bubblewasm_http_v1): http(s) origins with an optional
//	                           # path prefix, no userinfo, query or fragment; at most 1024. A name
//	                           # resolving to a loopback/private/link-local address is refused
//	                           # unless an entry names that address and port literally
//	outbound_timeout = "10s"   # outbound only: bounds a call (body included) the guest gives none
//	outbound_max_request_bytes = "1MiB"    # outbound only: request body cap, 0..1GiB
//	outbound_max_response_bytes = "10MiB"  # outbound only: response body cap, 1B..1024GiB
//	log_rate = 100             # log records per second of the route's module (log calls,
//	                           # stdout/stderr lines, host lines about it), >= 1; the excess is
//	                           # dropped and counted, as for [guest_log]
//	log_burst = 1000           # records at once after a quiet spell, >= 1
//	pubsub_scope = "chat"      # pubsub only: routes naming one scope share their subscriptions
//	                           # (fetch/unsubscribe within each one's grant) and max_subscriptions;
//	                           # default: the route's own, shared with no other route
//	max_subscriptions = 16384  # live subscriptions of the route's scope, >= 1 (ERR_FULL beyond)
//	max_waiting = 10000        # exchanges of the route parked at once (bubblewasm_park_v1),
//	                           # 1..1048576; a park beyond answers ERR_FULL. A parked exchange
//	                           # holds no instance and no max_concurrency slot
//	queue = 1024               # module routes: exchanges waiting for one of the max_concurrency
//	                           # slots, 0..1048576 (0: none wait); one beyond is refused at once
//	                           # with 503 and Retry-After: 1 (AMQP: requeued)
//	queue_timeout = "5s"       # module routes: longest wait for a slot, > 0 and <= timeout;
//	                           # default 5s or half of timeout, whichever is shorter; then 503
//	rate_limit = 100           # requests per second the route accepts, all its listeners
//	                           # together, 0..1e9 (fractions allowed: 0.5 is one every 2s);
//	                           # 0 or absent: unlimited. Over it: 429 with Retry-After (the
//	                           # wait for the next token, whole seconds, >= 1); JSON-RPC
//	                           # -32000 "rate limited"; line transports "error: rate
//	                           # limited"; AMQP requeued after Retry-After. A websocket
//	                           # route counts its upgrades, not its messages
//	rate_burst = 100           # rate_limit only: requests at once after a quiet spell,
//	                           # 1..1073741824; default rate_limit rounded up
//
//	[route.vars]               # module routes only: values given to this route's module alone,
//	                           # resolved at load (a missing one fails the load: FILE:LINE: KEY)
//	greeting = "hello"         # a literal
//	db_password = { env = "DB_PASSWORD" }  # the host's environment variable (set, maybe empty)
//	api_key = { file = "/run/secrets/api" }  # a regular file, relative to the config file's
//	                           # directory; one trailing newline (LF or CRLF) removed
//
// A route variable NAME reaches an ABI v1 module as the env key var.NAME
// (abi/ENV.md) and a CGI program as the environment variable NAME
// upper-cased (api_key as API_KEY), replacing any other key translated to
// that name. Names are a lower-case letter then lower-case letters, digits
// or '_', at most 64 bytes (lower case like the other dotted env keys, and
// so that the CGI name maps back to one variable); a name whose CGI form
// is a CGI meta-variable (PATH_INFO, SERVER_SOFTWARE, ...) or starts with
// HTTP_ or BUBBLE_ is refused, so a variable can shadow neither the request
// nor the host. A value is at most 64KiB without NUL bytes, a route has at
// most 256 variables and 1MiB of values. No other route sees them, a
// module's bubble_init does not, and the host never prints a value: every
// value is treated as a secret, literals too (errors name the variable,
// the environment variable or the file; Route.Vars holds wasm.Secret,
// which prints as "[redacted]"). `bubblewasm build` checks the
// declarations without reading the environment or the files.
//
// Any key not listed is an error, except inside match, whose keys are
// environment variable names chosen by the user, and vars, whose keys are
// variable names. An array of inline tables
// (route = [{ module = "a.wasm" }]) is accepted wherever [[...]] is.
//
// Sizes are a non-negative integer number of bytes or a string holding an
// integer and a unit: B, KB, MB, GB (powers of 1000) or KiB, MiB, GiB (powers
// of 1024). Units are case-insensitive and may follow a space ("10 MiB").
// Durations are strings in Go's [time.ParseDuration] syntax ("1m30s").
//
// # Reload
//
// `bubblewasm run` re-reads the file on SIGHUP (app.App.Reload): routes,
// listeners (matched by name and address), shutdown_timeout and the default
// engine take effect (TLS listeners read their certificate files again);
// cache_dir, log_level, [limits], [pubsub], [kv],
// [guest_log], [access_log], [admin] and a kept listener's socket_mode,
// max_connections and write_timeout need a restart, and a reload that
// changes them is refused whole.
//
// # Errors
//
// Every problem is an [*Error] naming the file, the 1-based line and the key,
// printed as
//
//	bubble.toml:7: route[1].timeout: invalid duration "3x": ...
//
// Keys are written as TOML dotted paths in which arrays of tables carry a
// 1-based index, so route[1] is the first [[route]]. Validation does not
// stop at the first problem: Parse and Load return an [ErrorList] holding
// every problem found, ordered by line, so a user can fix them all at once.
// A TOML syntax error stops parsing and is reported alone, in the same form.
package config
