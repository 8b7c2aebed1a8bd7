package config

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Keys allowed in each table, in schema order (the order error messages
// list them in).
var (
	topKeys      = []string{"engine", "cache_dir", "shutdown_timeout", "log_level", "access_log", "guest_log", "pubsub", "kv", "limits", "admin", "listener", "route"}
	pubsubKeys   = []string{"backend", "url", "exchange", "queue_size", "overflow", "idle_timeout", "max_message_bytes", "max_subscriptions"}
	listenerKeys = []string{"name", "address", "transport", "socket_mode", "max_line_bytes",
		"read_header_timeout", "idle_timeout", "max_header_bytes", "max_body_bytes",
		"max_connections", "write_timeout", "drain_timeout",
		"read_timeout", "max_batch", "max_batch_concurrency",
		"tls_cert", "tls_key", "tls_min_version", "tls_client_ca",
		"http2", "h2c", "max_concurrent_streams"}
	routeKeys = []string{"name", "module", "transport", "builtin", "channel", "build", "abi", "match", "engine", "instances", "pool_size",
		"max_concurrency", "timeout", "memory", "max_stack", "pubsub", "signals", "kv", "dial",
		"max_response_headers", "max_response_header_bytes",
		"pubsub_scope", "log_rate", "log_burst", "max_subscriptions",
		"max_batch", "max_batch_concurrency", "init_timeout", "pool_idle_timeout", "max_waiting",
		"vars", "queue", "queue_timeout",
		"root", "dotfiles",
		"websocket_max_message", "websocket_origins", "websocket_ping_interval", "websocket_idle_timeout", "websocket_max_sockets", "websocket_open",
		"outbound", "outbound_timeout", "outbound_max_request_bytes", "outbound_max_response_bytes",
		"rate_limit", "rate_burst"}

	engines   = Engines()
	instances = []string{InstancesSnapshot, InstancesFresh, InstancesPool}
	abis      = []string{ABIAuto, ABIV1, ABICGI}
	logLevels = []string{LogDebug, LogInfo, LogWarn, LogError}
	builtins  = []string{BuiltinLongPoll, BuiltinStatic}
	overflows = []string{OverflowDropSubscriber, OverflowDropOldest}
	backends  = []string{BackendMemory, BackendAMQP}
)

// checker turns a decoded document into a Config, collecting every problem.
type checker struct {
	file  string
	dir   string // absolute directory of file, for relative paths
	opts  Options
	lines map[string]int // key path -> line, from keyLines
	errs  ErrorList
}

// table is a decoded TOML table: its contents, path, line and, for an
// element of an array of tables, its 1-based index.
type table struct {
	m     map[string]any
	path  string
	line  int
	index int
}

// field is a key present in a table.
type field struct {
	path string
	line int
	v    any
}

func (c *checker) errorf(path string, line int, format string, args ...any) {
	c.errs = append(c.errs, &Error{File: c.file, Line: line, Key: path, Msg: fmt.Sprintf(format, args...)})
}

func (c *checker) lineOf(path string, fallback int) int {
	if l, ok := c.lines[path]; ok {
		return l
	}
	return fallback
}

// get returns t's key, if present.
func (c *checker) get(t table, key string) (field, bool) {
	v, ok := t.m[key]
	if !ok {
		return field{}, false
	}
	p := keyPath(t.path, key)
	return field{path: p, line: c.lineOf(p, t.line), v: v}, true
}

// missing reports that t lacks the required key.
func (c *checker) missing(t table, key string) {
	c.errorf(keyPath(t.path, key), t.line, "required key is missing")
}

func (c *checker) unknownKeys(t table, known []string) {
	for _, k := range sortedKeys(t.m) {
		if !slices.Contains(known, k) {
			p := keyPath(t.path, k)
			c.errorf(p, c.lineOf(p, t.line), "unknown key (allowed: %s)", strings.Join(known, ", "))
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (c *checker) str(f field) (string, bool) {
	s, ok := f.v.(string)
	if !ok {
		c.errorf(f.path, f.line, "must be a string, not %s", typeName(f.v))
	}
	return s, ok
}

func (c *checker) name(f field) (string, bool) {
	s, ok := c.str(f)
	if ok && s == "" {
		c.errorf(f.path, f.line, "must not be empty")
		return s, false
	}
	return s, ok
}

// oneOf reads a string that must be one of allowed.
func (c *checker) oneOf(f field, what string, allowed []string) (string, bool) {
	s, ok := c.str(f)
	if !ok {
		return s, false
	}
	if !slices.Contains(allowed, s) {
		q := make([]string, len(allowed))
		for i, a := range allowed {
			q[i] = strconv.Quote(a)
		}
		c.errorf(f.path, f.line, "unknown %s %q (allowed: %s)", what, s, strings.Join(q, ", "))
		return s, false
	}
	return s, true
}

// integer reads an integer in [lo, math.MaxInt].
func (c *checker) integer(f field, lo int64) (int, bool) {
	n, ok := f.v.(int64)
	if !ok {
		c.errorf(f.path, f.line, "must be an integer, not %s", typeName(f.v))
		return 0, false
	}
	if n < lo {
		c.errorf(f.path, f.line, "must be at least %d, got %d", lo, n)
		return 0, false
	}
	if n > math.MaxInt {
		c.errorf(f.path, f.line, "must be at most %d, got %d", math.MaxInt, n)
		return 0, false
	}
	return int(n), true
}

// duration reads a duration of at least lo (0 or 1ns).
func (c *checker) duration(f field, lo time.Duration) (time.Duration, bool) {
	s, ok := f.v.(string)
	if !ok {
		c.errorf(f.path, f.line, "must be a duration string such as \"30s\", not %s", typeName(f.v))
		return 0, false
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		c.errorf(f.path, f.line, "invalid duration %q: %v", s, err)
		return 0, false
	}
	if d < lo {
		if lo > 0 {
			c.errorf(f.path, f.line, "must be positive, got %q", s)
		} else {
			c.errorf(f.path, f.line, "must not be negative, got %q", s)
		}
		return 0, false
	}
	return d, true
}

// size reads a size in bytes of at least lo and at most hi.
func (c *checker) size(f field, lo, hi int64) (int64, bool) {
	var n int64
	switch v := f.v.(type) {
	case int64:
		n = v
	case string:
		var err error
		if n, err = ParseSize(v); err != nil {
			c.errorf(f.path, f.line, "invalid size %q: %v", v, err)
			return 0, false
		}
	default:
		c.errorf(f.path, f.line, "must be a size (an integer number of bytes or a string such as \"64KiB\"), not %s", typeName(f.v))
		return 0, false
	}
	if n < lo {
		c.errorf(f.path, f.line, "must be at least %s, got %s", formatSize(lo), formatSize(n))
		return 0, false
	}
	if n > hi {
		c.errorf(f.path, f.line, "must be at most %s, got %s", formatSize(hi), formatSize(n))
		return 0, false
	}
	return n, true
}

// path reads a file path, made absolute against the config's directory.
func (c *checker) path(f field) (string, bool) {
	s, ok := c.str(f)
	if !ok {
		return "", false
	}
	if s == "" {
		c.errorf(f.path, f.line, "must not be empty")
		return "", false
	}
	if strings.ContainsRune(s, 0) {
		c.errorf(f.path, f.line, "must not contain NUL")
		return "", false
	}
	if !filepath.IsAbs(s) {
		s = filepath.Join(c.dir, s)
	}
	return s, true
}

// modulePath reads a route's module: a path that ends in ".wasm", so that
// a source file named by mistake is refused here rather than served, or
// overwritten by `bubblewasm build`, which writes the module.
func (c *checker) modulePath(f field) (string, bool) {
	s, ok := c.path(f)
	if !ok {
		return "", false
	}
	if raw, _ := f.v.(string); !strings.HasSuffix(raw, ".wasm") {
		c.errorf(f.path, f.line, "%q does not end in .wasm: module names the built module (such as %q), not its source; to build it from source, add build = \"...\" (see bubblewasm build --help)",
			f.v, strings.TrimSuffix(filepath.Base(s), filepath.Ext(s))+".wasm")
		return "", false
	}
	return s, true
}

// arrayOfTables reads parent's key, which must be an array of tables.
// present reports whether the key exists at all, and empty whether it is an
// empty array.
func (c *checker) arrayOfTables(parent table, key string) (tables []table, f field, present, empty bool) {
	f, present = c.get(parent, key)
	if !present {
		return nil, f, false, false
	}
	var elems []any
	switch v := f.v.(type) {
	case []map[string]any:
		for _, m := range v {
			elems = append(elems, m)
		}
	case []any:
		elems = v
	default:
		c.errorf(f.path, f.line, "must be an array of tables ([[%s]]), not %s", key, typeName(f.v))
		return nil, f, true, false
	}
	for i, e := range elems {
		p := indexPath(f.path, i+1)
		line := c.lineOf(p, f.line)
		m, ok := e.(map[string]any)
		if !ok {
			c.errorf(p, line, "must be a table, not %s", typeName(e))
			continue
		}
		tables = append(tables, table{m: m, path: p, line: line, index: i + 1})
	}
	return tables, f, true, len(elems) == 0
}

// config checks the whole document.
func (c *checker) config(doc map[string]any) *Config {
	root := table{m: doc}
	c.unknownKeys(root, topKeys)
	cfg := &Config{
		File:            c.file,
		Engine:          DefaultEngine,
		ShutdownTimeout: DefaultShutdownTimeout,
		LogLevel:        DefaultLogLevel,
	}
	if f, ok := c.get(root, "engine"); ok {
		if s, ok := c.oneOf(f, "engine", engines); ok {
			cfg.Engine = s
		}
	}
	if f, ok := c.get(root, "cache_dir"); ok && f.v != "" { // "" is the default
		if s, ok := c.path(f); ok {
			cfg.CacheDir = s
		}
	}
	if f, ok := c.get(root, "shutdown_timeout"); ok {
		if d, ok := c.duration(f, 0); ok {
			cfg.ShutdownTimeout = d
		}
	}
	if f, ok := c.get(root, "log_level"); ok {
		if s, ok := c.oneOf(f, "log level", logLevels); ok {
			cfg.LogLevel = s
		}
	}

	c.accessLog(root, cfg)
	c.guestLog(root, cfg)
	c.pubsub(root, cfg)
	c.kv(root, cfg)
	c.limits(root, cfg)
	c.admin(root, cfg)

	listeners, _, _, _ := c.arrayOfTables(root, "listener")
	seen := map[string]table{}
	for _, t := range listeners {
		l := c.listener(t)
		c.unique("listener", seen, l.Name, t)
		cfg.Listeners = append(cfg.Listeners, l)
	}

	routes, f, present, empty := c.arrayOfTables(root, "route")
	switch {
	case !present:
		c.errorf("route", 0, "at least one [[route]] is required")
	case empty:
		c.errorf(f.path, f.line, "at least one route is required")
	}
	seen = map[string]table{}
	for _, t := range routes {
		r := c.route(t, cfg.Engine)
		c.unique("route", seen, r.Name, t)
		cfg.Routes = append(cfg.Routes, r)
	}
	return cfg
}

// unique reports name if an earlier entry of the same kind took it.
func (c *checker) unique(kind string, seen map[string]table, name string, t table) {
	if prev, dup := seen[name]; dup {
		p := keyPath(t.path, "name")
		c.errorf(p, c.lineOf(p, t.line), "duplicate %s name %q (%s at line %d has it too)", kind, name, prev.path, prev.line)
		return
	}
	seen[name] = t
}

func (c *checker) listener(t table) Listener {
	c.unknownKeys(t, listenerKeys)
	l := Listener{
		Name:      fmt.Sprintf("listener%d", t.index),
		Transport: DefaultTransport,
		Line:      t.line,
	}
	if f, ok := c.get(t, "name"); ok {
		if s, ok := c.name(f); ok {
			l.Name = s
		}
	}
	scheme := ""
	if f, ok := c.get(t, "address"); !ok {
		c.missing(t, "address")
	} else if s, ok := c.str(f); ok {
		l.Address = s
		scheme = c.address(f, s)
	}
	transportOK := true
	if f, ok := c.get(t, "transport"); ok {
		l.Transport, transportOK = c.oneOf(f, "transport", c.opts.Transports)
	}
	// onlyWith checks that a transport-specific key suits the transport.
	onlyWith := func(f field, transport string) {
		if transportOK && l.Transport != transport {
			c.errorf(f.path, f.line, "only valid with transport = %q, not %q", transport, l.Transport)
		}
	}

	if f, ok := c.get(t, "socket_mode"); ok {
		if scheme != "" && scheme != "unix" {
			c.errorf(f.path, f.line, "only valid with a unix:// address")
		}
		if s, ok := c.str(f); ok {
			if m, err := parseOctalMode(s); err != nil {
				c.errorf(f.path, f.line, "invalid mode %q: %v", s, err)
			} else {
				l.SocketMode = os.FileMode(m)
			}
		}
	}

	lineBased := l.Transport == TransportLine || l.Transport == TransportJSON || l.Transport == TransportJSONRPC
	if lineBased {
		l.MaxLineBytes = DefaultMaxLineBytes
	}
	if f, ok := c.get(t, "max_line_bytes"); ok {
		if transportOK && !lineBased {
			c.errorf(f.path, f.line, "only valid with transport = %q, %q or %q, not %q", TransportLine, TransportJSON, TransportJSONRPC, l.Transport)
		}
		if n, ok := c.size(f, 1, math.MaxInt); ok && lineBased {
			l.MaxLineBytes = int(n)
		}
	}

	if l.Transport == TransportHTTP {
		l.ReadHeaderTimeout = DefaultReadHeaderTimeout
		l.IdleTimeout = DefaultIdleTimeout
		l.MaxHeaderBytes = DefaultMaxHeaderBytes
		l.MaxBodyBytes = DefaultMaxBodyBytes
	}
	isHTTP := l.Transport == TransportHTTP
	if f, ok := c.get(t, "read_header_timeout"); ok {
		onlyWith(f, TransportHTTP)
		if d, ok := c.duration(f, 1); ok && isHTTP { // no way to disable slowloris protection
			l.ReadHeaderTimeout = d
		}
	}
	if f, ok := c.get(t, "max_header_bytes"); ok {
		onlyWith(f, TransportHTTP)
		if n, ok := c.size(f, 1, math.MaxInt); ok && isHTTP {
			l.MaxHeaderBytes = int(n)
		}
	}
	if f, ok := c.get(t, "max_body_bytes"); ok {
		onlyWith(f, TransportHTTP)
		if n, ok := c.size(f, 0, math.MaxInt64); ok && isHTTP {
			l.MaxBodyBytes = n
		}
	}
	c.connectionLimits(t, &l, scheme, onlyWith)
	c.streamListener(t, &l, transportOK) // idle_timeout and the stream transports' keys
	c.listenerTLS(t, &l, scheme)
	c.listenerHTTP2(t, &l, scheme, transportOK)
	return l
}

// connectionLimits reads the limits every socket listener has on its
// connections, and the HTTP transport's drain timeout.
func (c *checker) connectionLimits(t table, l *Listener, scheme string, onlyWith func(field, string)) {
	socket := scheme != "amqp" && scheme != "amqps"
	if socket {
		l.MaxConnections = DefaultMaxConnections
		l.WriteTimeout = DefaultWriteTimeout
	}
	if l.Transport == TransportHTTP {
		l.DrainTimeout = DefaultDrainTimeout
	}
	notAMQP := func(f field) {
		if !socket {
			c.errorf(f.path, f.line, "only valid with a tcp:// or unix:// address")
		}
	}
	if f, ok := c.get(t, "max_connections"); ok {
		notAMQP(f)
		if n, ok := c.integer(f, 1); ok && socket {
			l.MaxConnections = n
		}
	}
	if f, ok := c.get(t, "write_timeout"); ok {
		notAMQP(f)
		if d, ok := c.duration(f, 1); ok && socket {
			l.WriteTimeout = d
		}
	}
	if f, ok := c.get(t, "drain_timeout"); ok {
		onlyWith(f, TransportHTTP)
		if d, ok := c.duration(f, 1); ok && l.Transport == TransportHTTP {
			l.DrainTimeout = d
		}
	}
}

// address checks a listener address's scheme, then calls
// Options.ValidateAddress; it returns the scheme if it is known.
func (c *checker) address(f field, s string) string {
	if s == "" {
		c.errorf(f.path, f.line, "must not be empty")
		return ""
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || (scheme != "tcp" && scheme != "tls" && scheme != "unix" && scheme != "systemd" && scheme != "amqp" && scheme != "amqps") {
		c.errorf(f.path, f.line, "invalid address %q: want tcp://host:port, tls://host:port, unix://path, systemd://NAME or amqp://host/?queue=NAME", s)
		return ""
	}
	if rest == "" {
		c.errorf(f.path, f.line, "invalid address %q: nothing after %s://", s, scheme)
		return scheme
	}
	if c.opts.ValidateAddress != nil {
		if err := c.opts.ValidateAddress(s); err != nil {
			c.errorf(f.path, f.line, "%v", err)
		}
	}
	return scheme
}

func (c *checker) route(t table, engine string) Route {
	c.unknownKeys(t, routeKeys)
	r := Route{
		Name:           fmt.Sprintf("route%d", t.index),
		Engine:         engine,
		ABI:            DefaultABI,
		Instances:      DefaultInstances,
		PoolSize:       DefaultPoolSize,
		MaxConcurrency: DefaultMaxConcurrency,
		Timeout:        DefaultTimeout,
		Memory:         DefaultMemory,
		MaxStack:       DefaultMaxStack,
		Line:           t.line,
	}
	if f, ok := c.get(t, "name"); ok {
		if s, ok := c.name(f); ok {
			r.Name = s
		}
	}
	c.routeTarget(t, &r)
	if f, ok := c.get(t, "build"); ok {
		if s, ok := c.name(f); ok {
			if strings.ContainsRune(s, 0) {
				c.errorf(f.path, f.line, "must not contain NUL")
			} else {
				r.Build = s
			}
		}
	}
	abiOK := true
	if f, ok := c.get(t, "abi"); ok {
		r.ABI, abiOK = c.oneOf(f, "abi", abis)
	}
	if f, ok := c.get(t, "match"); ok {
		r.Match = c.match(f)
	}
	if f, ok := c.get(t, "engine"); ok {
		if s, ok := c.oneOf(f, "engine", engines); ok {
			r.Engine = s
		}
	}
	instancesOK := true
	if f, ok := c.get(t, "instances"); ok {
		r.Instances, instancesOK = c.oneOf(f, "instances policy", instances)
		if instancesOK && abiOK && r.Instances != InstancesFresh && r.ABI == ABICGI {
			c.errorf(f.path, f.line, "instances = %q cannot serve abi = %q: a CGI module runs _start in a fresh instance for every exchange", r.Instances, ABICGI)
		}
	}
	if f, ok := c.get(t, "pool_size"); ok {
		c.keptInstances(f, r.Instances, instancesOK)
		if n, ok := c.integer(f, 0); ok {
			r.PoolSize = n
		}
	}
	if f, ok := c.get(t, "max_concurrency"); ok {
		if n, ok := c.integer(f, 1); ok {
			r.MaxConcurrency = n
		}
	}
	if f, ok := c.get(t, "timeout"); ok {
		if d, ok := c.duration(f, 1); ok {
			r.Timeout = d
		}
	}
	if f, ok := c.get(t, "memory"); ok {
		if n, ok := c.size(f, PageSize, MaxMemory); ok {
			if n%PageSize != 0 {
				c.errorf(f.path, f.line, "must be a multiple of 64KiB (the WebAssembly page size), got %d bytes", n)
			} else {
				r.Memory = n
			}
		}
	}
	if f, ok := c.get(t, "max_stack"); ok {
		if n, ok := c.size(f, MinStack, MaxStack); ok {
			r.MaxStack = n
		}
	}
	if f, ok := c.get(t, "pubsub"); ok {
		r.PubSub = c.patterns(f)
	}
	if f, ok := c.get(t, "signals"); ok {
		r.Signals = c.patterns(f)
	}
	if f, ok := c.get(t, "kv"); ok {
		if s, ok := c.name(f); ok {
			r.KV = s
		}
	}
	if f, ok := c.get(t, "dial"); ok {
		r.Dial = c.dial(f)
	}
	c.responseHeaderLimits(t, &r)
	c.routeGuest(t, &r)
	c.routeWaiting(t, &r)
	c.routeQueue(t, &r)  // after timeout, which bounds queue_timeout
	c.streamRoute(t, &r) // the jsonrpc transport's keys
	c.routeLimits(t, &r, instancesOK)
	c.routeVars(t, &r)
	c.routeStatic(t, &r)
	c.routeWebSocket(t, &r)
	c.routeOutbound(t, &r)
	c.routeRateLimit(t, &r)
	return r
}

// responseHeaderLimits reads the budget of response headers a route's
// module may set per exchange.
func (c *checker) responseHeaderLimits(t table, r *Route) {
	r.MaxResponseHeaders = DefaultMaxResponseHeaders
	r.MaxResponseHeaderBytes = DefaultMaxResponseHeaderBytes
	if f, ok := c.get(t, "max_response_headers"); ok {
		if n, ok := c.integer(f, 1); ok {
			if n > MaxResponseHeaders {
				c.errorf(f.path, f.line, "must be at most %d, got %d", MaxResponseHeaders, n)
			} else {
				r.MaxResponseHeaders = n
			}
		}
	}
	if f, ok := c.get(t, "max_response_header_bytes"); ok {
		if n, ok := c.size(f, 1<<10, MaxResponseHeaderBytes); ok {
			r.MaxResponseHeaderBytes = n
		}
	}
}

// dial reads a route's dial table: target name = worker address.
func (c *checker) dial(f field) map[string]string {
	m, ok := f.v.(map[string]any)
	if !ok {
		c.errorf(f.path, f.line, "must be a table of target name = address, not %s", typeName(f.v))
		return nil
	}
	out := make(map[string]string, len(m))
	for _, k := range sortedKeys(m) {
		p := keyPath(f.path, k)
		line := c.lineOf(p, f.line)
		if !validTargetName(k) {
			c.errorf(p, line, "invalid target name %q: want 1 to 64 letters, digits, '_', '-' or '.'", k)
			continue
		}
		s, ok := m[k].(string)
		if !ok {
			c.errorf(p, line, "must be an address string, not %s", typeName(m[k]))
			continue
		}
		switch c.address(field{p, line, s}, s) {
		case "":
		case "systemd":
			c.errorf(p, line, "%q names a listening socket inherited from systemd; a dial target is tcp://, unix:// or amqp://", s)
		case "tls":
			c.errorf(p, line, "%q: a tls:// address is a listener's; a dial target is tcp://, unix:// or amqp://", s)
		default:
			out[k] = s
		}
	}
	return out
}

func validTargetName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// routeTarget reads what serves a route: exactly one of module (a wasm
// handler), transport (a transport whose exchanges go back through the
// router, such as jsonrpc under POST /rpc) or builtin (a handler of the
// host's own, with its channel). transport = "websocket" alone may also
// name a module, which then serves the socket's messages.
func (c *checker) routeTarget(t table, r *Route) {
	var set []string
	if f, ok := c.get(t, "module"); ok {
		set = append(set, "module")
		if s, ok := c.modulePath(f); ok {
			r.Module = s
		}
	}
	if f, ok := c.get(t, "transport"); ok {
		set = append(set, "transport")
		if s, ok := c.oneOf(f, "transport", append(slices.Clip(c.opts.Transports), TransportWebSocket)); ok {
			r.Transport = s
		}
	}
	if f, ok := c.get(t, "builtin"); ok {
		set = append(set, "builtin")
		if s, ok := c.oneOf(f, "builtin", builtins); ok {
			r.Builtin = s
		}
	}
	switch f, ok := c.get(t, "channel"); {
	case ok && r.Builtin != BuiltinLongPoll && (r.Builtin != "" || !slices.Contains(set, "builtin")):
		c.errorf(f.path, f.line, "only valid with builtin = %q", BuiltinLongPoll)
	case ok:
		if s, ok := c.name(f); ok {
			r.Channel = s
		}
	case r.Builtin == BuiltinLongPoll:
		c.missing(t, "channel")
	}
	if r.Transport == TransportWebSocket && slices.Contains(set, "module") {
		// The module serves the socket's messages (websocket.go).
		set = slices.DeleteFunc(set, func(k string) bool { return k == "module" })
	}
	switch len(set) {
	case 0:
		c.missing(t, "module")
	case 1:
	default:
		c.errorf(keyPath(t.path, set[1]), c.lineOf(keyPath(t.path, set[1]), t.line), "a route has one of module, transport or builtin, not %s", strings.Join(set, " and "))
	}
}

// patterns reads an array of channel or signal name patterns.
func (c *checker) patterns(f field) []string {
	list, ok := f.v.([]any)
	if !ok {
		c.errorf(f.path, f.line, "must be an array of name patterns such as [\"chat\", \"news.*\"], not %s", typeName(f.v))
		return nil
	}
	out := make([]string, 0, len(list))
	for i, v := range list {
		s, ok := v.(string)
		if !ok || s == "" || strings.ContainsAny(s, " \t\n\x00") {
			c.errorf(f.path, f.line, "entry %d must be a non-empty name pattern without spaces", i+1)
			continue
		}
		out = append(out, s)
	}
	return out
}

// pubsub reads the [pubsub] table.
func (c *checker) pubsub(root table, cfg *Config) {
	cfg.PubSub = PubSub{QueueSize: DefaultQueueSize, Overflow: DefaultOverflow, IdleTimeout: DefaultIdleSubscription, MaxMessageBytes: DefaultMaxMessageBytes, Backend: DefaultBackend,
		MaxSubscriptions: DefaultMaxSubscriptions}
	t, ok := c.subtable(root, "pubsub", pubsubKeys)
	if !ok {
		return
	}
	if f, ok := c.get(t, "queue_size"); ok {
		if n, ok := c.integer(f, 1); ok {
			cfg.PubSub.QueueSize = n
		}
	}
	if f, ok := c.get(t, "overflow"); ok {
		if s, ok := c.oneOf(f, "overflow policy", overflows); ok {
			cfg.PubSub.Overflow = s
		}
	}
	if f, ok := c.get(t, "idle_timeout"); ok {
		if d, ok := c.duration(f, 1); ok {
			cfg.PubSub.IdleTimeout = d
		}
	}
	if f, ok := c.get(t, "max_message_bytes"); ok {
		if n, ok := c.size(f, 1, 1<<30); ok {
			cfg.PubSub.MaxMessageBytes = n
		}
	}
	c.pubsubMaxSubscriptions(t, &cfg.PubSub)
	c.pubsubBackend(t, &cfg.PubSub)
}

// pubsubBackend reads [pubsub] backend, url and exchange.
func (c *checker) pubsubBackend(t table, p *PubSub) {
	if f, ok := c.get(t, "backend"); ok {
		s, ok := c.oneOf(f, "pubsub backend", backends)
		if !ok {
			return // url and exchange mean nothing without a valid backend
		}
		p.Backend = s
	}
	url, hasURL := c.get(t, "url")
	exchange, hasExchange := c.get(t, "exchange")
	if p.Backend != BackendAMQP {
		for _, f := range []struct {
			field
			present bool
		}{{url, hasURL}, {exchange, hasExchange}} {
			if f.present {
				c.errorf(f.path, f.line, "only with backend = %q", BackendAMQP)
			}
		}
		return
	}
	p.Exchange = DefaultExchange
	if !hasURL {
		c.missing(t, "url")
	} else if s, ok := c.name(url); ok {
		// The password stays out of error messages.
		if !strings.HasPrefix(s, "amqp://") && !strings.HasPrefix(s, "amqps://") {
			c.errorf(url.path, url.line, "must start with amqp:// or amqps://")
		} else {
			p.URL = s
		}
	}
	if hasExchange {
		if s, ok := c.name(exchange); ok {
			if len(s) > 255 {
				c.errorf(exchange.path, exchange.line, "must be at most 255 bytes")
			} else {
				p.Exchange = s
			}
		}
	}
}

// match reads a route's match table of env key = pattern.
func (c *checker) match(f field) map[string]string {
	m, ok := f.v.(map[string]any)
	if !ok {
		c.errorf(f.path, f.line, "must be a table of env key = pattern, not %s", typeName(f.v))
		return nil
	}
	match := make(map[string]string, len(m))
	for _, k := range sortedKeys(m) { // problems in key order
		p := keyPath(f.path, k)
		line := c.lineOf(p, f.line)
		switch {
		case k == "":
			c.errorf(p, line, "env key must not be empty")
		case strings.ContainsRune(k, 0):
			c.errorf(p, line, "env key must not contain NUL")
		}
		pattern, ok := m[k].(string)
		if !ok {
			c.errorf(p, line, "must be a pattern string, not %s", typeName(m[k]))
			continue
		}
		if c.opts.ValidatePattern != nil {
			if err := c.opts.ValidatePattern(pattern); err != nil {
				c.errorf(p, line, "invalid pattern %q: %v", pattern, err)
			}
		}
		match[k] = pattern
	}
	return match
}
