package wasm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/server"
)

// Options configure a Handler. Zero values mean the defaults.
type Options struct {
	// Name is the route's name, used in logs.
	Name string
	// Logger receives guest output and records; nil discards them.
	Logger *slog.Logger
	// Lifecycle is Snapshot, Fresh or Pool. Empty means Snapshot when the
	// module can be snapshotted, and Fresh (with a log line saying why)
	// when it cannot; a route that asks for Snapshot refuses such a module.
	Lifecycle Lifecycle
	// PoolSize caps the idle instances a Snapshot or Pool route keeps
	// (default MaxConcurrency: as many as the route runs at once, so that
	// a route serving its concurrency makes no instance in steady state).
	// Idle instances are also closed after PoolIdleTimeout, and when the
	// memory budget needs their memory for a new instance.
	PoolSize int
	// MaxConcurrency caps exchanges running at once (default 64).
	MaxConcurrency int
	// Queue bounds the exchanges that wait for a slot when MaxConcurrency
	// run (default DefaultQueue; NoQueue: none wait); the excess is
	// refused at once as overloaded (queue.go).
	Queue int
	// QueueTimeout bounds one exchange's wait for a slot (default
	// DefaultQueueTimeoutFor(Timeout)); past it the exchange is refused
	// as overloaded.
	QueueTimeout time.Duration
	// Timeout bounds one exchange, waiting for a slot included (default 30s).
	Timeout time.Duration
	// Limits bound every instance.
	Limits Limits
	// Services are the extensions the route grants (none by default).
	Services Services
	// ABI is how the module is called: ABIV1 (the default), ABICGI or
	// ABIAuto (see cgi.go).
	ABI ABI
	// ResponseHeaders bound the response headers a guest sets per exchange
	// (zero values: abi's defaults).
	ResponseHeaders abi.HeaderLimits
	// InitTimeout bounds the instance New makes to prove the module
	// initializes: instantiation, the start function, _initialize and
	// bubble_init (default DefaultInitTimeout). Later instances are bound
	// by their exchange's Timeout instead.
	InitTimeout time.Duration
	// PoolIdleTimeout closes an idle instance (Snapshot, Pool) left idle
	// this long (default DefaultPoolIdleTimeout), so that a burst's
	// instances and their memory do not stay forever.
	PoolIdleTimeout time.Duration
	// Gate, when set, is a bound shared with other routes: each exchange
	// holds one of its places while it runs (instantiation and init
	// included), and so does New's first instance.
	Gate *Gate
	// Memory, when set, is a memory budget shared with other routes: every
	// instance's linear memory is charged to it (see MemoryBudget).
	Memory *MemoryBudget
	// MaxWaiting bounds the route's exchanges parked at once (park.go;
	// default DefaultMaxWaiting).
	MaxWaiting int
	// Drain, when closed, ends every park at once (the exchange resumes
	// with bubble.wake "shutdown") and refuses new ones.
	Drain <-chan struct{}
	// Prepared, when set, keeps what New makes of a module before
	// compiling it on disk for the next start (prepared.go).
	Prepared *PreparedCache
	// Residency, when set, bounds the handlers that keep their module
	// loaded (resident.go): this one may be unloaded while idle and loaded
	// again by its next exchange.
	Residency *Residency
	// Vars are the route's variables by name (vars.go): env keys
	// "var.NAME" for the guest, NAME upper-cased for a CGI program; never
	// logged. New refuses bad names and values over the limits.
	Vars map[string]Secret
}

// Defaults for Options, and for the route settings of the configuration
// (server/config refers to these).
const (
	// DefaultMaxConcurrency is how many exchanges a route runs at once.
	DefaultMaxConcurrency = 64
	// DefaultTimeout is a route's wall-clock limit per exchange.
	DefaultTimeout = 30 * time.Second
	// DefaultMemoryPages is a route's memory cap in 64 KiB pages: 64 MiB.
	DefaultMemoryPages = 1024
	// DefaultInitTimeout is generous: a module's init is measured in
	// milliseconds (a Go or TinyGo runtime starting), and the bound exists
	// only so that an init that never returns cannot hold a server's start
	// (and every healthy route with it) forever.
	DefaultInitTimeout = 10 * time.Second
	// DefaultPoolIdleTimeout closes pooled instances idle this long.
	DefaultPoolIdleTimeout = 60 * time.Second
)

// Handler serves exchanges by calling a module's bubble_handle export.
type Handler struct {
	opts   Options
	engine Engine
	res    residence // the loaded module (resident.go)
	life   Lifecycle // resolved: Snapshot, Fresh or Pool
	pool   *pool     // idle instances (Snapshot, Pool)
	slots  chan struct{}
	share  *share       // the route's part of Options.Gate, nil without one
	mem    *routeMemory // the route's part of Options.Memory, nil without one
	cgi    bool         // the module is a WASI command served as CGI (cgi.go)
	// initBytes is the memory an instance has once initialized, measured on
	// New's instance: what a new instance reserves from Options.Memory.
	initBytes int64
	lot       lot        // parked exchanges (park.go)
	vars      *routeVars // the route's variables (vars.go)
	queue     queue      // exchanges waiting for a slot (queue.go)
	stats     stats      // counts for Stats (stats.go)
}

// Lifecycle returns the route's lifecycle: the one Options asked for, or
// the one New chose.
func (h *Handler) Lifecycle() Lifecycle { return h.life }

// guest is an instance with the writers that log its stdout and stderr and
// the account its memory is charged to.
type guest struct {
	Instance
	stdout, stderr *lineLogger
	mem            *memoryAccount
	idleSince      time.Time // when it was last put in the pool
	stats          *stats    // its handler's
}

// close closes the instance, then gives its memory back to the budget.
func (g *guest) close(ctx context.Context) {
	g.Instance.Close(ctx)
	g.mem.close()
	g.stats.closed.Add(1)
}

// discard closes an instance that start made to prove the module, which
// Stats does not count.
func (g *guest) discard(ctx context.Context) {
	g.Instance.Close(ctx)
	g.mem.close()
}

// flushLogs emits output lines the guest left unterminated.
func (g *guest) flushLogs() {
	g.stdout.flush()
	g.stderr.flush()
}

// Load reads, compiles and validates a module file, then makes one instance
// to prove it initializes. Errors name the file.
func Load(ctx context.Context, engine Engine, path string, opts Options) (*Handler, error) {
	bin, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	h, err := New(ctx, engine, bin, opts)
	if err != nil {
		return nil, fmt.Errorf("module %s: %w", path, err)
	}
	return h, nil
}

// New compiles and validates a module, then makes one instance to prove it
// initializes (for Snapshot, the instance whose state becomes the
// snapshot, and then one made from the snapshot) and closes it: the
// handler holds no instance until its first exchange.
func New(ctx context.Context, engine Engine, bin []byte, opts Options) (*Handler, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxConcurrency <= 0 {
		opts.MaxConcurrency = DefaultMaxConcurrency
	}
	if opts.PoolSize <= 0 {
		opts.PoolSize = opts.MaxConcurrency
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	switch {
	case opts.Queue == 0:
		opts.Queue = DefaultQueue
	case opts.Queue < 0:
		opts.Queue = 0
	}
	if opts.QueueTimeout <= 0 {
		opts.QueueTimeout = DefaultQueueTimeoutFor(opts.Timeout)
	}
	if opts.InitTimeout <= 0 {
		opts.InitTimeout = DefaultInitTimeout
	}
	if opts.PoolIdleTimeout <= 0 {
		opts.PoolIdleTimeout = DefaultPoolIdleTimeout
	}
	if opts.MaxWaiting <= 0 {
		opts.MaxWaiting = DefaultMaxWaiting
	}
	if opts.Limits.MemoryPages == 0 {
		opts.Limits.MemoryPages = DefaultMemoryPages
	}
	opts.Logger = opts.Logger.With("route", opts.Name)
	if opts.Limits.TableElements == 0 {
		opts.Limits.TableElements = DefaultTableElements
	}
	if opts.Limits.StackBytes == 0 {
		opts.Limits.StackBytes = DefaultStackBytes
	}
	vars, err := newRouteVars(opts.Vars)
	if err != nil {
		return nil, err
	}
	opts.Limits.InterruptGuard = engine.InterruptGuard()
	prepared, err := opts.Prepared.prepare(ctx, engine, bin, opts)
	if err != nil {
		return nil, err
	}
	if prepared.Fallback != "" {
		opts.Logger.Warn("serving a fresh instance per exchange: the module's state cannot be snapshotted", "reason", prepared.Fallback)
	}
	life, plan := prepared.Life, prepared.plan()
	opts.Limits.FixedStdio = prepared.FixedStdio
	bin = prepared.Bin
	m, err := engine.Compile(ctx, bin, opts.Limits)
	if err != nil {
		return nil, fmt.Errorf("compile: %w", err)
	}
	cgi, err := checkABI(m, opts)
	if err == nil {
		err = checkGrants(m, opts.Services)
	}
	if err != nil {
		m.Close(ctx)
		return nil, err
	}
	h := &Handler{opts: opts, engine: engine, life: life, slots: make(chan struct{}, opts.MaxConcurrency), share: newShare(opts.Gate, opts.MaxConcurrency), mem: opts.Memory.route(), cgi: cgi, vars: &vars}
	h.lot.max, h.lot.drain = int64(opts.MaxWaiting), opts.Drain
	h.queue.max, h.queue.timeout = int64(opts.Queue), opts.QueueTimeout
	l := &loaded{module: m}
	if !cgi { // a command runs only per exchange: nothing to instantiate ahead
		if err := h.start(ctx, l, plan, true); err != nil {
			m.Close(ctx)
			return nil, fmt.Errorf("instantiate: %w", err)
		}
	}
	if life != Fresh {
		h.pool = newPool(opts.PoolSize, opts.PoolIdleTimeout, opts.Memory)
		h.mem.setPool(h.pool)
	}
	h.res.cur = l
	if r := opts.Residency; r != nil {
		ref, err := r.spillModule(prepared)
		if err != nil {
			h.Close(ctx)
			return nil, err
		}
		h.res.r, h.res.bin = r, ref
		r.add(h)
	}
	return h, nil
}

// start proves, within the route's InitTimeout, that the module l holds
// initializes, so that a start function, _initialize or bubble_init that
// fails or never returns fails the load instead of the first exchange. For
// Snapshot it takes the snapshot from the initialized instance into l and,
// when prove is set, proves that an instance can be made from it (a
// reload, whose bytes New proved, skips that). The instances it makes are
// closed before it returns: a route holds no instance until its first
// exchange (a Snapshot route keeps the snapshot image, which new instances
// map). They are not counted in Stats, which counts instances made for
// exchanges.
func (h *Handler) start(ctx context.Context, l *loaded, plan *snapshotPlan, prove bool) error {
	ctx, cancel := context.WithTimeout(ctx, h.opts.InitTimeout)
	defer cancel()
	if err := h.share.acquire(ctx); err != nil {
		return fmt.Errorf("no place among the %d guest runs allowed at once within init_timeout %s: %w", h.opts.Gate.Cap(), h.opts.InitTimeout, err)
	}
	defer h.share.release()
	timedOut := func(err error) error {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			return fmt.Errorf("init did not finish within init_timeout %s: %w", h.opts.InitTimeout, err)
		}
		return err
	}
	mem, err := h.mem.openAccount(ctx, 0)
	if err != nil {
		return err
	}
	var data []DataInit
	if plan != nil {
		data = plan.data
	}
	g, err := h.instantiate(ctx, l.module, mem, nil, data)
	if err != nil {
		return timedOut(err)
	}
	if prove {
		h.initBytes = int64(g.MemorySize())
	}
	if h.life == Snapshot {
		l.image, err = takeSnapshot(g, plan.globals)
	}
	g.discard(ctx)
	if err != nil || h.life != Snapshot || !prove {
		return err
	}
	if mem, err = h.mem.openAccount(ctx, max(h.initBytes, minReserve)); err == nil {
		g, err = h.instantiate(ctx, l.module, mem, l.image, nil)
	}
	if err != nil {
		l.image.Memory.Close()
		l.image = nil
		return timedOut(fmt.Errorf("from the snapshot: %w", err))
	}
	g.discard(ctx)
	return nil
}

// Close stops the pool and closes its instances, then the module and the
// snapshot, and frees the binary kept for loading it again (resident.go).
func (h *Handler) Close(ctx context.Context) error {
	if h.pool != nil {
		h.pool.close(ctx)
	}
	return h.closeResidence(ctx)
}

// gate takes a place in the shared gate, if the route has one, within ctx;
// the returned function gives it back.
func (h *Handler) gate(ctx context.Context) (func(), error) {
	if err := h.share.acquire(ctx); err != nil {
		return nil, fmt.Errorf("%w: no place among the %d guest runs allowed at once across routes: %w", server.ErrOverloaded, h.opts.Gate.Cap(), err)
	}
	return h.share.release, nil
}

// Serve runs one exchange on an instance, within the route's timeout and
// concurrency limit; an exchange that a run parks runs again (park.go).
func (h *Handler) Serve(ctx context.Context, x *server.Exchange) error {
	ctx, cancel := context.WithTimeout(ctx, h.opts.Timeout)
	defer cancel()
	hx := &hostExchange{x: x, logger: h.opts.Logger, ctx: ctx, services: h.opts.Services, vars: h.vars}
	hx.header.Limits = h.opts.ResponseHeaders
	hx.deadline, _ = ctx.Deadline()
	hx.rd, _ = x.Writer.(server.ReadDeadliner)
	hx.wd, _ = x.Writer.(server.WriteDeadliner)
	defer hx.closeBound()
	return h.serveRuns(ctx, x, hx)
}

// run is one run of the exchange's handler: a slot, a place in the gate,
// an instance, bubble_handle. A run after a park (hx.park set) was
// admitted already and skips the queue.
func (h *Handler) run(ctx context.Context, x *server.Exchange, hx *hostExchange) error {
	if err := h.takeSlot(ctx, hx.park != nil); err != nil {
		return err
	}
	defer func() { <-h.slots }()
	l, err := h.use(ctx) // before the gate: loading takes a place of its own
	if err != nil {
		return h.refusal(ctx, err)
	}
	defer h.done()
	ungate, err := h.gate(ctx)
	if err != nil {
		return h.refusal(ctx, err)
	}
	defer ungate()
	if h.cgi {
		return h.serveCGI(ctx, l, x, hx)
	}
	inst, err := h.acquire(ctx, l)
	if errors.Is(err, server.ErrOverloaded) {
		return h.refusal(ctx, err)
	}
	if err != nil {
		return h.ctxError(ctx, err)
	}
	inst.stdout.ctx, inst.stderr.ctx = ctx, ctx
	code, err := inst.Handle(ctx, hx)
	err = trimTrace(err)
	switch {
	case err != nil:
		if used, ok := inst.Global(StackGlobal); ok && uint32(used) > h.opts.Limits.StackBytes {
			err = fmt.Errorf("call stack exceeded the route's budget of %d bytes (runaway recursion?): %w", h.opts.Limits.StackBytes, err)
		}
		h.release(inst, false)
		return h.ctxError(ctx, fmt.Errorf("%w: %w", server.ErrHandlerFailed, err))
	case code != 0:
		h.release(inst, false)
		return h.ctxError(ctx, fmt.Errorf("%w: %s returned %d", server.ErrHandlerFailed, abi.ExportHandle, code))
	}
	h.release(inst, true)
	return nil
}

// refusal reports an exchange that never ran because a shared resource
// stayed taken: overloaded (503) when the exchange's time ran out waiting,
// cancelled when its client went away.
func (h *Handler) refusal(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("exchange cancelled: %w", err)
	}
	return err
}

// ctxError explains a failure by the context when it ended: the route's
// timeout, or the exchange being cancelled from below (client gone, server
// stopping).
func (h *Handler) ctxError(ctx context.Context, err error) error {
	deadline, hasDeadline := ctx.Deadline()
	switch {
	// A read that hit the deadline may report before the context's timer
	// fires, or cancel the HTTP connection's context first: go by the clock.
	case errors.Is(ctx.Err(), context.DeadlineExceeded), hasDeadline && !time.Now().Before(deadline):
		return fmt.Errorf("%w after %s: %w", server.ErrTimeout, h.opts.Timeout, err)
	case ctx.Err() != nil:
		return fmt.Errorf("exchange cancelled: %w", err)
	}
	return err
}

// hostExchange is a server exchange as the ABI host functions see it.
type hostExchange struct {
	x        *server.Exchange
	logger   *slog.Logger
	ctx      context.Context
	services Services
	bound    bound
	header   abi.ResponseHeader // what the guest's set_header calls added
	// rd and wd, when set, bound each read and write by deadline.
	rd       server.ReadDeadliner
	wd       server.WriteDeadliner
	deadline time.Time
	lot      *lot       // the route's parked exchanges; nil while an instance initializes
	park     *parkState // a wait the guest registered, and what it resumes with (park.go)
	vars     *routeVars // the route's variables; nil while an instance initializes
}

func (e *hostExchange) Env(key string) (string, bool) { return e.vars.env(e.x.Env, key) }
func (e *hostExchange) EnvKeys() []string             { return e.vars.envKeys(e.x.Env.Keys()) }

// Read bounds a blocked read by the exchange's deadline. The deadline is set
// only for the duration of the call: left on an HTTP connection, it would
// also fire in net/http's background read after the body ended, which
// cancels the connection's context and so fails the next request on a
// keep-alive connection.
func (e *hostExchange) Read(p []byte) (int, error) {
	if e.rd != nil {
		e.rd.SetReadDeadline(e.deadline)
		defer e.rd.SetReadDeadline(time.Time{})
	}
	return e.x.Reader.Read(p)
}

// Write and Flush bound a write blocked on a peer that does not read by the
// exchange's deadline, for the duration of the call as Read does.
func (e *hostExchange) Write(p []byte) (int, error) {
	if e.expired() {
		return 0, os.ErrDeadlineExceeded
	}
	if e.wd != nil {
		e.wd.SetWriteDeadline(e.deadline)
		defer e.wd.SetWriteDeadline(time.Time{})
	}
	return e.x.Writer.Write(p)
}

func (e *hostExchange) Flush() error {
	if e.expired() {
		return os.ErrDeadlineExceeded
	}
	if e.wd != nil {
		e.wd.SetWriteDeadline(e.deadline)
		defer e.wd.SetWriteDeadline(time.Time{})
	}
	return e.x.Writer.Flush()
}

// expired reports whether the exchange's deadline has passed: its output
// is refused outright, so that nothing of a response that can no longer
// complete is committed and the exchange can still be answered 504.
func (e *hostExchange) expired() bool {
	return !e.deadline.IsZero() && !time.Now().Before(e.deadline)
}

func (e *hostExchange) SetStatus(code int) bool { return e.x.Writer.SetStatus(code) }

func (e *hostExchange) SetHeader(name, value string, add bool) int32 {
	if e.x.Writer.Committed() {
		return abi.ErrCommitted
	}
	return e.header.Apply(e.x.Writer.Header(), name, value, add)
}

func (e *hostExchange) Log(level slog.Level, msg string) {
	ctx := e.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	e.logger.Log(ctx, level, msg, "source", "guest")
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// closedWriter is the output of an instance that is initializing: there is
// no exchange to write to yet.
type closedWriter struct{}

func (closedWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }
func (closedWriter) Header() http.Header       { return http.Header{} }
func (closedWriter) SetStatus(int) bool        { return false }
func (closedWriter) Committed() bool           { return true }
func (closedWriter) Flush() error              { return io.ErrClosedPipe }

var (
	_ server.Handler = (*Handler)(nil)
	_ abi.Exchange   = (*hostExchange)(nil)
)
