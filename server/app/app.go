// Package app assembles a running bubblewasm host from a validated
// configuration: it loads every route's module on its engine, builds the
// router, makes each listener a server.Source (a bound socket with its
// transport, a socket inherited from systemd, or an AMQP consumer), serves them all into the router until
// its context ends, then shuts them down gracefully.
// transport, or an AMQP consumer), serves them all into the router until
// its context ends, then shuts them down gracefully. With [admin] in the
// configuration it also serves metrics and health over HTTP (admin.go).
//
// Loading comes before binding: a bad module or address is reported while
// nothing is listening yet.
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
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/internal/wasmtimeengine"
	"github.com/bubblewasm/bubblewasm/internal/wazeroengine"
	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/accesslog"
	"github.com/bubblewasm/bubblewasm/server/config"
	"github.com/bubblewasm/bubblewasm/server/internal/metrics"
	"github.com/bubblewasm/bubblewasm/server/longpoll"
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
	cfg        *config.Config
	logger     *slog.Logger
	engines    map[string]wasm.Engine // each a sharedEngine
	newEngine  func(name, cacheDir string) (wasm.Engine, error)
	enginesMu  sync.Mutex
	handlersMu sync.Mutex
	handlers   []*wasm.Handler
	router     *server.Router
	exchanges  server.Handler  // the router, behind the access log
	listeners  []listener      // addresses parsed by New (sources.go)
	sources    []server.Source // one per listener, made by Listen
	hub        *hub
	limits     sharedLimits     // process-wide bounds (limits.go)
	inherited  inheritedSockets // systemd's sockets (inherited.go)
	stopping   func()
	admin      *admin           // the admin listener; nil without one (admin.go)
	metrics    *metrics.Metrics // nil without an admin listener
	unrouted   *metrics.Route   // counts exchanges no route matched
	entry      server.Handler   // the router, counting unrouted exchanges
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
	a := &App{cfg: cfg, logger: opts.Logger, engines: map[string]wasm.Engine{}, newEngine: opts.newEngine,
		hub: hub, limits: newSharedLimits(cfg.Limits), inherited: newInheritedSockets(opts.Inherited), stopping: opts.Stopping}
	lcs := cfg.Listeners
	if len(opts.Listen) > 0 {
		lcs = nil
		if opts.Transport == "" {
			opts.Transport = config.DefaultTransport
		}
		for i, addr := range opts.Listen {
			lcs = append(lcs, config.Listener{Name: fmt.Sprintf("listen%d", i+1), Address: addr, Transport: opts.Transport})
		}
	}
	if len(lcs) == 0 {
		a.hub.close()
		return nil, fmt.Errorf("%s: no listeners: add a [[listener]] or pass --listen", cfg.File)
	}
	var errs []error
	if err := a.newAdmin(cfg.Admin.Address); err != nil {
		errs = append(errs, err)
	}
	for _, lc := range lcs {
		l, err := parseListener(lc)
		if err != nil {
			errs = append(errs, fmt.Errorf("listener %s: %w", lc.Name, err))
		}
		if reg := transport.Default(); reg[lc.Transport] == nil {
			errs = append(errs, fmt.Errorf("listener %s: unknown transport %q (have %s)", lc.Name, lc.Transport, strings.Join(reg.Names(), ", ")))
		}
		a.listeners = append(a.listeners, l)
	}
	warnRoutes(opts.Logger, cfg)
	routes, rerrs := a.loadRoutes(ctx, cfg.Routes)
	errs = append(errs, rerrs...)
	if a.metrics != nil {
		errs = append(errs, a.registerEngines())
	}
	if err := errors.Join(errs...); err != nil {
		a.Close(ctx)
		return nil, err
	}
	a.router = server.NewRouter(routes...)
	a.entry = a.router
	if a.unrouted != nil {
		a.entry = unroutedCounter{next: a.router, count: a.unrouted}
	}
	a.exchanges = accesslog.New(a.entry, opts.AccessLog)
	return a, nil
}

// loadRoutes loads every route, several at once (up to GOMAXPROCS):
// compiling a module is most of a start, and an engine compiles one module
// on one core. The routes and errors keep the configuration's order. Routes
// that serve the same module share one compilation (sharedEngine); they are
// started after the routes of other modules, so that while one waits for
// a module being compiled, the other cores compile the rest.
func (a *App) loadRoutes(ctx context.Context, rcs []config.Route) ([]server.Route, []error) {
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
			rt, err := a.loadRoute(ctx, rcs[i])
			results[i] = result{rt, err}
		})
	}
	wg.Wait()
	var routes []server.Route
	var errs []error
	for i, r := range results {
		if r.err != nil {
			rc := rcs[i]
			where := a.cfg.File
			if rc.Line > 0 { // a config from the command line has no lines
				where += ":" + strconv.Itoa(rc.Line)
			}
			errs = append(errs, fmt.Errorf("%s: route %s: %w", where, rc.Name, r.err))
			continue
		}
		rt, err := a.countRoute(r.route)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: route %s: metrics: %w", a.cfg.File, rcs[i].Line, rcs[i].Name, err))
		}
		routes = append(routes, rt)
	}
	return routes, errs
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

func (a *App) loadRoute(ctx context.Context, rc config.Route) (server.Route, error) {
	match := map[string]server.Pattern{}
	for key, pat := range rc.Match {
		p, err := server.ParsePattern(pat)
		if err != nil {
			return server.Route{}, fmt.Errorf("match.%s: %w", key, err)
		}
		match[key] = p
	}
	switch {
	case rc.Transport != "":
		// The transport's exchanges (JSON-RPC calls, say) go back through
		// the router, so routes can match them (on jsonrpc.method).
		th, err := transport.Default().New(rc.Transport, server.HandlerFunc(a.serveRouted), transport.Options{Logger: a.hub.exchangeLogger("\x00route "+rc.Name, a.logger.With("route", rc.Name)),
			MaxBatch: rc.MaxBatch, BatchConcurrency: rc.BatchConcurrency})
		if err != nil {
			return server.Route{}, err
		}
		return server.Route{Name: rc.Name, Match: match, Handler: withTimeout(th, rc.Timeout)}, nil
	case rc.Builtin == config.BuiltinLongPoll:
		lp, err := longpoll.New(a.hub.broker, longpoll.Options{Channel: rc.Channel, Subscribe: a.hub.subOpts,
			MaxTimeout: rc.Timeout, MaxBodyBytes: int64(pubsubConfig(a.cfg.PubSub).MaxMessageBytes)})
		if err != nil {
			return server.Route{}, err
		}
		drained := server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
			return lp.Serve(a.hub.bind(ctx), x)
		})
		return server.Route{Name: rc.Name, Match: match, Handler: withTimeout(drained, rc.Timeout+5*time.Second)}, nil
	}
	services, err := a.hub.services(rc, a.logger)
	if err != nil {
		return server.Route{}, err
	}
	engine, err := a.engine(rc.Engine)
	if err != nil {
		return server.Route{}, err
	}
	if _, err := os.Stat(rc.Module); errors.Is(err, fs.ErrNotExist) && rc.Build != "" {
		return server.Route{}, fmt.Errorf("module %s: %w: run `bubblewasm build -c %s` first (the route's build command writes it)", rc.Module, fs.ErrNotExist, a.cfg.File)
	}
	h, err := wasm.Load(ctx, engine, rc.Module, wasm.Options{
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
		MaxWaiting:      rc.MaxWaiting,
		Vars:            rc.Vars,
		Queue:           rc.Queue,
		QueueTimeout:    rc.QueueTimeout,
		Drain:           a.hub.draining.Done(),
	})
	if err != nil {
		return server.Route{}, err
	}
	a.handlersMu.Lock()
	a.handlers = append(a.handlers, h)
	a.handlersMu.Unlock()
	return server.Route{Name: rc.Name, Match: match, Handler: h}, nil
}

// namedMethods returns the request methods that routes match exactly on
// REQUEST_METHOD: the HTTP transport refuses CONNECT and PRI unless a route
// asks for them by name.
func (a *App) namedMethods() []string {
	var methods []string
	for _, rc := range a.cfg.Routes {
		if p, err := server.ParsePattern(rc.Match[abi.EnvRequestMethod]); err == nil {
			if m, ok := p.Exact(); ok && m != "" {
				methods = append(methods, m)
			}
		}
	}
	return methods
}

// serveRouted passes an exchange made by a route's transport back to the
// router.
func (a *App) serveRouted(ctx context.Context, x *server.Exchange) error {
	return a.entry.Serve(ctx, x)
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
	a.stopAdmin(ctx) // bound by a Listen that no Serve followed
	errs := []error{a.hub.close()}
	for _, h := range a.handlers {
		errs = append(errs, h.Close(ctx))
	}
	for _, e := range a.engines {
		errs = append(errs, e.Close(ctx))
	}
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
