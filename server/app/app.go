// Package app assembles a running bubblewasm host from a validated
// configuration: it loads every route's module on its engine, builds the
// router, makes each listener a server.Source (a bound socket with its
// transport, a socket inherited from systemd, or an AMQP consumer), serves
// them all into the router until its context ends, then shuts them down
// gracefully. With [admin] in the
// configuration it also serves metrics and health over HTTP (admin.go).
//
// Loading comes before binding: a bad module or address is reported while
// nothing is listening yet. Reload (reload.go) applies a new configuration
// to the serving app the same way: load, bind what is new, then swap.
package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/internal/wasmtimeengine"
	"github.com/bubblewasm/bubblewasm/internal/wazeroengine"
	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/accesslog"
	"github.com/bubblewasm/bubblewasm/server/config"
	"github.com/bubblewasm/bubblewasm/server/internal/metrics"
	"github.com/bubblewasm/bubblewasm/server/longpoll"
	"github.com/bubblewasm/bubblewasm/server/static"
	"github.com/bubblewasm/bubblewasm/server/transport"
	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// ErrEngineUnavailable reports an engine that this build does not include.
var ErrEngineUnavailable = errors.New("engine not available in this build")

// Options tune New.
type Options struct {
	// Logger receives every record; nil discards them. Records logged
	// with an exchange's context get its request_id (accesslog.Handler).
	Logger *slog.Logger
	// AccessLog receives one record per exchange (package accesslog); nil
	// logs none. OpenAccessLog makes it from the [access_log] table.
	AccessLog *slog.Logger
	// Listen, when not empty, replaces the configuration's listeners: each
	// address is served with Transport.
	Listen []string
	// Transport is the transport of the Listen addresses (default "http").
	Transport string
	// Inherited are listening sockets the process inherited, by name
	// (systemd socket activation: activation.ListenersWithNames). A
	// listener with the address "systemd://NAME" serves the one named
	// NAME; Listen closes those no listener names. The app takes them over.
	Inherited map[string][]net.Listener
	// Stopping, when set, is called once when Serve begins to shut down
	// (its context ended or a listener failed), before the drain.
	Stopping func()

	// newEngine replaces NewEngine (tests).
	newEngine func(name, cacheDir string) (wasm.Engine, error)
}

// App is a configured host: modules loaded, listeners not yet bound.
type App struct {
	cfg       *config.Config
	logger    *slog.Logger
	engines   map[string]wasm.Engine // each a sharedEngine
	newEngine func(name, cacheDir string) (wasm.Engine, error)
	enginesMu sync.Mutex
	routes    atomic.Pointer[routeSet] // the current routes (reload.go)
	exchanges server.Handler           // the current routes, behind the access log
	listeners []listener               // addresses parsed by New (sources.go)
	listen    []string                 // Options.Listen, kept for Reload
	transport string                   // Options.Transport, kept for Reload
	hub       *hub
	limits    sharedLimits     // process-wide bounds (limits.go)
	inherited inheritedSockets // systemd's sockets (inherited.go)
	stopping  func()

	reloading  sync.Mutex     // one Reload at a time
	background sync.WaitGroup // retiring route sets, draining removed sources

	mu       sync.Mutex // guards what follows, and cfg once serving
	sources  []*source  // one per listener, made by Listen (sources.go)
	serveCtx context.Context
	serveWG  sync.WaitGroup // every source's Serve
	failed   chan struct{}  // a source failed for good
	serveErr []error
	closing  bool // Serve is shutting down: no more reloads

	admin    *admin           // the admin listener; nil without one (admin.go)
	metrics  *metrics.Metrics // nil without an admin listener
	unrouted *metrics.Route   // counts exchanges no route matched
	counts   keyedCounts      // counts that outlive a reload (counts.go)

	rateLimiters rateLimiters // routes' rate_limit buckets (ratelimit.go)

	// prepared keeps modules as prepared for compiling in cache_dir; nil
	// without one.
	prepared *wasm.PreparedCache
}

// New loads every route's module and checks every listener address. It
// binds nothing; errors name the route and its place in the config file.
func New(ctx context.Context, cfg *config.Config, opts Options) (*App, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	opts.Logger = slog.New(accesslog.Handler(opts.Logger.Handler()))
	hub, err := newHub(cfg, opts.Logger)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.File, err)
	}
	if opts.newEngine == nil {
		opts.newEngine = NewEngine
	}
	limits, err := newSharedLimits(cfg.Limits, cfg.CacheDir)
	if err != nil {
		hub.close()
		return nil, fmt.Errorf("%s: %w", cfg.File, err)
	}
	a := &App{cfg: cfg, logger: opts.Logger, engines: map[string]wasm.Engine{}, newEngine: opts.newEngine,
		hub: hub, limits: limits, inherited: newInheritedSockets(opts.Inherited), stopping: opts.Stopping,
		listen: opts.Listen, transport: cmp.Or(opts.Transport, config.DefaultTransport), failed: make(chan struct{}, 1)}
	if cfg.CacheDir != "" {
		if a.prepared, err = wasm.NewPreparedCache(filepath.Join(cfg.CacheDir, "prepared")); err != nil {
			opts.Logger.Warn("modules are prepared again at every start", "error", err)
		}
	}
	a.exchanges = accesslog.New(server.HandlerFunc(a.serveCurrent), opts.AccessLog)
	listeners, errs := a.parseListeners(cfg)
	a.listeners = listeners
	if len(listeners) == 0 && len(errs) == 0 {
		a.hub.close()
		return nil, fmt.Errorf("%s: no listeners: add a [[listener]] or pass --listen", cfg.File)
	}
	if err := a.newAdmin(cfg.Admin.Address); err != nil {
		errs = append(errs, err)
	}
	warnRoutes(opts.Logger, cfg)
	warnResidency(opts.Logger, cfg)
	routes, rerrs := a.loadRoutes(ctx, cfg, nil)
	a.routes.Store(routes)
	errs = append(errs, rerrs...)
	errs = append(errs, a.registerEngines())
	if err := errors.Join(errs...); err != nil {
		a.Close(ctx)
		return nil, err
	}
	a.prunePrepared()
	return a, nil
}

// parseListeners parses the listeners of cfg, or the Listen addresses
// that replace them.
func (a *App) parseListeners(cfg *config.Config) ([]listener, []error) {
	lcs := cfg.Listeners
	if len(a.listen) > 0 {
		lcs = nil
		for i, addr := range a.listen {
			lcs = append(lcs, config.Listener{Name: fmt.Sprintf("listen%d", i+1), Address: addr, Transport: a.transport})
		}
	}
	var ls []listener
	var errs []error
	for _, lc := range lcs {
		l, err := parseListener(lc)
		if err != nil {
			errs = append(errs, fmt.Errorf("listener %s: %w", lc.Name, err))
		}
		if reg := transport.Default(); reg[lc.Transport] == nil {
			errs = append(errs, fmt.Errorf("listener %s: unknown transport %q (have %s)", lc.Name, lc.Transport, strings.Join(reg.Names(), ", ")))
		}
		ls = append(ls, l)
	}
	return ls, errs
}

// loadRoutes loads every route, several at once (up to GOMAXPROCS):
// compiling a module is most of a start, and an engine compiles one module
// on one core. The routes and errors keep the configuration's order. Routes
// that serve the same module share one compilation (sharedEngine); they are
// started after the routes of other modules, so that while one waits for
// a module being compiled, the other cores compile the rest. The module
// routes unchanged since prev (the set it replaces; nil at start) keep
// their loaded module (reuse.go).
func (a *App) loadRoutes(ctx context.Context, cfg *config.Config, prev *routeSet) (*routeSet, []error) {
	rcs := cfg.Routes
	set := newRouteSet()
	set.load = &routeLoad{prev: prev, files: map[string]*moduleFile{}}
	type result struct {
		route server.Route
		err   error
	}
	results := make([]result, len(rcs))
	slots := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for _, i := range loadOrder(rcs) {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			rt, err := a.loadRoute(ctx, cfg, set, rcs[i])
			results[i] = result{rt, err}
		})
	}
	wg.Wait()
	set.load = nil // neither the replaced set nor the files are kept
	if r := a.limits.resident; r != nil && len(rcs) > r.Max() {
		// The modules loaded and unloaded again (machine code unmapped,
		// the engine's structures garbage) would leave the heap at the
		// size of all of them until the collector and the scavenger got
		// round to it: give it back now.
		debug.FreeOSMemory()
	}
	var routes []server.Route
	var errs []error
	for i, r := range results {
		if r.err != nil {
			errs = append(errs, fmt.Errorf("%s: route %s: %w", where(cfg, rcs[i]), rcs[i].Name, r.err))
			continue
		}
		rt, err := a.limitRate(set, r.route, rcs[i].RateLimit)
		if err == nil {
			rt, err = a.countRoute(set, rt)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: route %s: metrics: %w", where(cfg, rcs[i]), rcs[i].Name, err))
		}
		routes = append(routes, rt)
	}
	set.router = server.NewRouter(routes...)
	set.entry = a.countUnrouted(set.router)
	return set, errs
}

// where is the file and line of a route, for its errors.
func where(cfg *config.Config, rc config.Route) string {
	if rc.Line > 0 { // a config from the command line has no lines
		return cfg.File + ":" + strconv.Itoa(rc.Line)
	}
	return cfg.File
}

// loadOrder returns the indexes of rcs with the first route of each module
// (and engine) before the routes that repeat one.
func loadOrder(rcs []config.Route) []int {
	type use struct{ module, engine string }
	seen := map[use]bool{}
	var first, repeats []int
	for i, rc := range rcs {
		u := use{rc.Module, rc.Engine}
		if rc.Module != "" && seen[u] {
			repeats = append(repeats, i)
			continue
		}
		seen[u] = true
		first = append(first, i)
	}
	return append(first, repeats...)
}

// engine returns the named engine, made on first use. Routes load
// concurrently, so it is safe for concurrent use.
func (a *App) engine(name string) (wasm.Engine, error) {
	a.enginesMu.Lock()
	defer a.enginesMu.Unlock()
	if e, ok := a.engines[name]; ok {
		return e, nil
	}
	e, err := a.newEngine(name, a.cacheDir())
	if err != nil {
		return nil, err
	}
	shared := newSharedEngine(e)
	a.engines[name] = shared
	return shared, nil
}

// NewEngine returns the named engine ("wazero" or "wasmtime"), keeping
// compiled code in cacheDir ("" keeps none on disk). An engine this build
// does not include (wasmtime without cgo) is an error wrapping
// ErrEngineUnavailable.
func NewEngine(name, cacheDir string) (wasm.Engine, error) {
	switch name {
	case config.EngineWazero:
		return wazeroengine.New(cacheDir)
	case config.EngineWasmtime:
		e, err := wasmtimeengine.New(cacheDir)
		if errors.Is(err, wasmtimeengine.ErrUnavailable) {
			return nil, fmt.Errorf("%w: %w", ErrEngineUnavailable, err)
		}
		return e, err
	}
	return nil, fmt.Errorf("%w: %q", ErrEngineUnavailable, name)
}

// cacheDir is the configured compilation cache, or one under the user's
// cache directory, or none (in memory) when there is no such directory.
func (a *App) cacheDir() string {
	if a.cfg.CacheDir != "" {
		return a.cfg.CacheDir
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "bubblewasm", "compiled")
}

// loadRoute makes the handler of one route: a transport, a builtin or a
// module (loadModule).
func (a *App) loadRoute(ctx context.Context, cfg *config.Config, set *routeSet, rc config.Route) (server.Route, error) {
	match := map[string]server.Pattern{}
	for key, pat := range rc.Match {
		p, err := server.ParsePattern(pat)
		if err != nil {
			return server.Route{}, fmt.Errorf("match.%s: %w", key, err)
		}
		match[key] = p
	}
	switch {
	case rc.Transport == config.TransportWebSocket:
		h, err := a.newWebSocket(ctx, cfg, set, rc)
		if err != nil {
			return server.Route{}, err
		}
		return server.Route{Name: rc.Name, Match: match, Handler: h}, nil
	case rc.Transport != "":
		// The transport's exchanges (JSON-RPC calls, say) go back through
		// the router, so routes can match them (on jsonrpc.method).
		th, err := transport.Default().New(rc.Transport, server.HandlerFunc(set.serveRouted), transport.Options{Logger: a.hub.exchangeLogger("\x00route "+rc.Name, a.logger.With("route", rc.Name)),
			MaxBatch: rc.MaxBatch, BatchConcurrency: rc.BatchConcurrency})
		if err != nil {
			return server.Route{}, err
		}
		return server.Route{Name: rc.Name, Match: match, Handler: withTimeout(th, rc.Timeout)}, nil
	case rc.Builtin == config.BuiltinLongPoll:
		lp, err := longpoll.New(a.hub.broker, longpoll.Options{Channel: rc.Channel, Subscribe: a.hub.subOpts,
			MaxTimeout: rc.Timeout, MaxBodyBytes: int64(pubsubConfig(cfg.PubSub).MaxMessageBytes)})
		if err != nil {
			return server.Route{}, err
		}
		drained := server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
			return lp.Serve(a.hub.bind(ctx), x)
		})
		return server.Route{Name: rc.Name, Match: match, Handler: withTimeout(drained, rc.Timeout+5*time.Second)}, nil
	case rc.Builtin == config.BuiltinStatic:
		files, err := static.New(static.Options{Root: rc.Root, Dotfiles: rc.Dotfiles})
		if err != nil {
			return server.Route{}, err
		}
		return server.Route{Name: rc.Name, Match: match, Handler: withTimeout(files, rc.Timeout)}, nil
	}
	h, err := a.loadModule(ctx, cfg, set, rc)
	if err != nil {
		return server.Route{}, err
	}
	return server.Route{Name: rc.Name, Match: match, Handler: h}, nil
}

// loadModule loads the module of a route on its engine, with the route's
// limits and services, and keeps it in set (released with it) — or keeps
// the one the replaced set loaded, when the route and its module file are
// unchanged.
func (a *App) loadModule(ctx context.Context, cfg *config.Config, set *routeSet, rc config.Route) (*wasm.Handler, error) {
	bin, sum, err := set.load.read(rc.Module)
	if errors.Is(err, fs.ErrNotExist) && rc.Build != "" {
		return nil, fmt.Errorf("module %s: %w: run `bubblewasm build -c %s` first (the route's build command writes it)", rc.Module, fs.ErrNotExist, cfg.File)
	}
	if err != nil {
		return nil, err
	}
	if m := set.load.reusable(rc, sum); m != nil {
		set.keepModule(rc.Name, m)
		return m.handler, nil
	}
	m := newLoadedModule(rc, sum)
	set.keepModule(rc.Name, m) // released with set, even if it fails to load
	services, err := a.hub.services(rc, a.logger, m.keep)
	if err != nil {
		return nil, err
	}
	engine, err := a.engine(rc.Engine)
	if err != nil {
		return nil, err
	}
	h, err := wasm.New(ctx, engine, bin, wasm.Options{
		Services:        services,
		Name:            rc.Name,
		Logger:          a.hub.guestLogger(rc, a.logger),
		Lifecycle:       wasm.Lifecycle(rc.Instances),
		PoolSize:        rc.PoolSize,
		MaxConcurrency:  rc.MaxConcurrency,
		Timeout:         rc.Timeout,
		Limits:          wasm.Limits{MemoryPages: uint32(rc.Memory / config.PageSize), StackBytes: uint32(rc.MaxStack)},
		ABI:             wasm.ABI(cmp.Or(rc.ABI, config.DefaultABI)),
		ResponseHeaders: abi.HeaderLimits{MaxCount: rc.MaxResponseHeaders, MaxBytes: int(rc.MaxResponseHeaderBytes)},
		InitTimeout:     rc.InitTimeout,
		PoolIdleTimeout: rc.PoolIdleTimeout,
		Gate:            a.limits.gate(rc.Engine),
		Memory:          a.limits.memory,
		Residency:       a.limits.resident,
		Prepared:        a.prepared,
		MaxWaiting:      rc.MaxWaiting,
		Vars:            rc.Vars,
		Queue:           rc.Queue,
		QueueTimeout:    rc.QueueTimeout,
		Drain:           a.hub.draining.Done(),
	})
	if err != nil {
		return nil, fmt.Errorf("module %s: %w", rc.Module, err)
	}
	m.handler = h
	return h, nil
}

// namedMethods returns the request methods that routes match exactly on
// REQUEST_METHOD: the HTTP transport refuses CONNECT and PRI unless a route
// asks for them by name.
func namedMethods(rcs []config.Route) []string {
	var methods []string
	for _, rc := range rcs {
		if p, err := server.ParsePattern(rc.Match[abi.EnvRequestMethod]); err == nil {
			if m, ok := p.Exact(); ok && m != "" {
				methods = append(methods, m)
			}
		}
	}
	return methods
}

// withTimeout bounds a host-side handler by a route's timeout.
func withTimeout(h server.Handler, d time.Duration) server.Handler {
	if d <= 0 {
		return h
	}
	return server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
		ctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		return h.Serve(ctx, x)
	})
}

// pubsubConfig fills a hand-built configuration's zero broker settings.
func pubsubConfig(p config.PubSub) config.PubSub {
	if p.QueueSize <= 0 {
		p.QueueSize = config.DefaultQueueSize
	}
	if p.Overflow == "" {
		p.Overflow = config.DefaultOverflow
	}
	if p.IdleTimeout <= 0 {
		p.IdleTimeout = config.DefaultIdleSubscription
	}
	if p.MaxMessageBytes <= 0 {
		p.MaxMessageBytes = config.DefaultMaxMessageBytes
	}
	if p.Backend == "" {
		p.Backend = config.DefaultBackend
	}
	if p.Backend == config.BackendAMQP && p.Exchange == "" {
		p.Exchange = config.DefaultExchange
	}
	return p
}

// Close releases modules and engines. Call it after Serve returns.
func (a *App) Close(ctx context.Context) error {
	a.reloading.Lock() // let a running reload end; none starts after
	a.mu.Lock()
	a.closing = true
	a.mu.Unlock()
	a.reloading.Unlock()
	a.background.Wait()
	a.stopAdmin(ctx) // bound by a Listen that no Serve followed
	errs := []error{a.hub.close()}
	if set := a.routes.Load(); set != nil {
		errs = append(errs, set.close(ctx))
	}
	for _, e := range a.engines {
		errs = append(errs, e.Close(ctx))
	}
	errs = append(errs, a.limits.close())
	return errors.Join(errs...)
}

// ModuleConfig is the configuration of `bubblewasm run MODULE`: one route,
// matching every exchange, served by the module with default limits.
func ModuleConfig(path string) (*config.Config, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, err
	}
	name := filepath.Base(path)
	name = name[:len(name)-len(filepath.Ext(name))]
	return &config.Config{
		File:            "(command line)",
		Engine:          config.DefaultEngine,
		ShutdownTimeout: config.DefaultShutdownTimeout,
		LogLevel:        config.DefaultLogLevel,
		Routes: []config.Route{{
			Name: name, Module: abs, Engine: config.DefaultEngine, Instances: config.DefaultInstances,
			MaxConcurrency: config.DefaultMaxConcurrency, Timeout: config.DefaultTimeout, Memory: config.DefaultMemory,
			MaxStack: config.DefaultMaxStack,
		}},
	}, nil
}
