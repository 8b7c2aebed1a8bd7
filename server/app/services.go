package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/server/config"
	"github.com/bubblewasm/bubblewasm/server/dial"
	"github.com/bubblewasm/bubblewasm/server/events"
	"github.com/bubblewasm/bubblewasm/server/internal/ratelog"
	"github.com/bubblewasm/bubblewasm/server/outbound"
	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// maxHeld bounds the messages held for guests whose buffer was too small.
const maxHeld = 1024

// hub holds the host's event services, shared by every route, and the
// budgets that bound what each route's guests cost the host through them
// and through the log.
type hub struct {
	broker  events.Broker
	signals events.Signals
	kv      events.KV
	subOpts events.SubscribeOptions
	// subShare is the most subscriptions one route (scope) may hold: its
	// route_share of [pubsub] max_subscriptions.
	subShare int

	mu   sync.Mutex
	held map[events.SubID][]byte // a fetched message too long for the guest's buffer
	logs map[string]*ratelog.Limiter

	// guestLog is the log budget every route's limiter shares.
	guestLog *ratelog.Limiter

	// draining is cancelled when the server starts shutting down, so every
	// wait (fetch, signal, long poll) ends at once instead of holding the
	// shutdown until its deadline.
	draining context.Context
	drain    context.CancelFunc
}

func newHub(cfg *config.Config, logger *slog.Logger) (*hub, error) {
	ps := pubsubConfig(cfg.PubSub)
	overflow := events.DropSubscriber
	if ps.Overflow == config.OverflowDropOldest {
		overflow = events.DropOldest
	}
	bo := events.BrokerOptions{
		MaxMessageBytes:    int(ps.MaxMessageBytes),
		MaxQueueSize:       max(ps.QueueSize, 1024),
		MaxSubscriptions:   cmp.Or(ps.MaxSubscriptions, config.DefaultMaxSubscriptions),
		DefaultIdleTimeout: ps.IdleTimeout,
	}
	var broker events.Broker
	switch ps.Backend {
	case config.BackendMemory, "":
		broker = events.NewMemoryBroker(bo, logger)
	case config.BackendAMQP:
		b, err := events.NewAMQPBroker(events.AMQPOptions{URL: ps.URL, Exchange: ps.Exchange, Broker: bo}, logger)
		if err != nil {
			return nil, fmt.Errorf("[pubsub]: %w", err)
		}
		broker = b
	default:
		return nil, fmt.Errorf("[pubsub]: unknown backend %q", ps.Backend)
	}
	draining, drain := context.WithCancel(context.Background())
	return &hub{
		draining: draining,
		drain:    drain,
		broker:   broker,
		signals:  events.NewMemorySignals(events.SignalOptions{}),
		kv:       events.NewMemoryKV(kvOptions(cfg.KV), logger),
		subOpts:  events.SubscribeOptions{QueueSize: ps.QueueSize, Overflow: overflow, IdleTimeout: ps.IdleTimeout},
		subShare: int(wasm.ShareOf(int64(bo.MaxSubscriptions), cfg.Limits.Share())),
		held:     map[events.SubID][]byte{},
		logs:     map[string]*ratelog.Limiter{},
		guestLog: ratelog.New(ratelog.Options{
			Rate:  float64(cmp.Or(cfg.GuestLog.Rate, config.DefaultGuestLogRate)),
			Burst: cmp.Or(cfg.GuestLog.Burst, config.DefaultGuestLogBurst),
		}),
	}, nil
}

// kvOptions turns the [kv] table into the store's options; zero fields
// (a hand-built configuration) take the defaults.
func kvOptions(c config.KV) events.KVOptions {
	ev := events.EvictNone
	switch c.Eviction {
	case config.EvictLRU:
		ev = events.EvictLRU
	case config.EvictSoonestExpiry:
		ev = events.EvictSoonestExpiry
	}
	return events.KVOptions{
		Eviction: ev,
		Limits: events.Limits{
			MaxKeys:       cmp.Or(c.MaxKeys, config.DefaultKVMaxKeys),
			MaxKeyBytes:   abi.MaxKeyBytes,
			MaxValueBytes: int(cmp.Or(c.MaxValueBytes, config.DefaultKVMaxValueBytes)),
			MaxBytes:      int(cmp.Or(c.MaxBytes, config.DefaultKVMaxBytes)),
		},
	}
}

// guestLogger returns base with the route's log budget applied: every
// record that the route's guests cause (log calls, stdout and stderr
// lines, the host's own lines about them) must go through it. The route's
// limiter is made on first use and shared by every later call.
func (h *hub) guestLogger(rc config.Route, base *slog.Logger) *slog.Logger {
	h.mu.Lock()
	defer h.mu.Unlock()
	l := h.logs[rc.Name]
	if l == nil {
		l = ratelog.New(ratelog.Options{
			Rate:   float64(cmp.Or(rc.Guest.LogRate, config.DefaultLogRate)),
			Burst:  cmp.Or(rc.Guest.LogBurst, config.DefaultLogBurst),
			Parent: h.guestLog,
		})
		h.logs[rc.Name] = l
	}
	return l.Logger(base)
}

// logDropped is how many records the route's guest logger has dropped
// (0 for a route without one).
func (h *hub) logDropped(route string) int64 {
	h.mu.Lock()
	l := h.logs[route]
	h.mu.Unlock()
	if l == nil {
		return 0
	}
	return l.Dropped()
}

// exchangeLogger is the logger of a transport's records about failed
// exchanges (a listener's, or a jsonrpc route's): one per failing request
// or call, so a client can make as many as it likes. They get the default
// route budget, within the process-wide [guest_log] budget.
func (h *hub) exchangeLogger(key string, base *slog.Logger) *slog.Logger {
	h.mu.Lock()
	defer h.mu.Unlock()
	l := h.logs[key]
	if l == nil {
		l = ratelog.New(ratelog.Options{Rate: config.DefaultLogRate, Burst: config.DefaultLogBurst, Parent: h.guestLog})
		h.logs[key] = l
	}
	return l.Logger(base)
}

// bind returns a context that ends with ctx or when the hub starts
// draining, whichever comes first.
func (h *hub) bind(ctx context.Context) context.Context {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(h.draining, cancel)
	context.AfterFunc(ctx, func() { stop() })
	return ctx
}

func (h *hub) close() error {
	h.drain()
	errs := []error{h.broker.Close(), h.signals.Close(), h.kv.Close()}
	h.mu.Lock()
	for _, l := range h.logs {
		l.Close() // reports what was dropped last
	}
	h.mu.Unlock()
	return errors.Join(errs...)
}

// services binds a route's grants to the hub. keep takes the route's dial
// targets and outbound client, which its route set closes.
func (h *hub) services(rc config.Route, logger *slog.Logger, keep func(io.Closer)) (wasm.Services, error) {
	var s wasm.Services
	for _, p := range append(append([]string(nil), rc.PubSub...), rc.Signals...) {
		if err := events.CheckPattern(p); err != nil {
			return s, fmt.Errorf("grant %q: %w", p, err)
		}
	}
	log := h.guestLogger(rc, logger).With("route", rc.Name)
	if rc.PubSub != nil {
		maxOwned := min(cmp.Or(rc.Guest.MaxSubscriptions, config.DefaultRouteMaxSubscriptions), h.subShare)
		owner := scopeOf(rc)
		s.PubSub = func(ctx context.Context) abi.PubSub {
			return &pubsubGrant{h: h, owner: owner, maxOwned: maxOwned, patterns: rc.PubSub, ctx: h.bind(ctx), log: log}
		}
	}
	if rc.Signals != nil {
		s.Signals = func(ctx context.Context) abi.Signals { return &signalGrant{h, rc.Signals, h.bind(ctx), log} }
	}
	if rc.KV != "" {
		if err := events.CheckName(rc.KV); err != nil {
			return s, fmt.Errorf("kv namespace %q: %w", rc.KV, err)
		}
		s.KV = func(ctx context.Context) abi.KV { return &kvGrant{h: h, namespace: rc.KV, ctx: ctx, log: log} }
	}
	if rc.Dial != nil {
		t, err := dial.NewTargets(rc.Name, rc.Dial, dial.Options{Logger: h.guestLogger(rc, logger)})
		if err != nil {
			return s, err
		}
		keep(t)
		s.Dial = func(ctx context.Context) abi.Dial { return t.Bind(h.bind(ctx)) }
	}
	if o := rc.Outbound; o != nil {
		c, err := outbound.New(outbound.Options{Allow: o.Allow, Timeout: o.Timeout, MaxRequestBytes: o.MaxRequestBytes,
			MaxResponseBytes: o.MaxResponseBytes, Logger: log})
		if err != nil {
			return s, err
		}
		keep(c)
		s.Outbound = func(ctx context.Context) abi.Outbound { return c.Bind(h.bind(ctx)) }
	}
	return s, nil
}

// serviceError maps the events package's errors to the ones the ABI knows.
func serviceError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, events.ErrSubscriptionGone):
		return fmt.Errorf("%w: %w", abi.ErrGone, err)
	case errors.Is(err, events.ErrBadName), errors.Is(err, events.ErrBadOption):
		return fmt.Errorf("%w: %w", abi.ErrInvalidName, err)
	case errors.Is(err, events.ErrTooLarge):
		return fmt.Errorf("%w: %w", abi.ErrInputTooLarge, err)
	case errors.Is(err, events.ErrFull):
		return fmt.Errorf("%w: %w", abi.ErrCapacity, err)
	case errors.Is(err, events.ErrTimeout):
		return fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
	}
	return err
}

// allowed checks a channel or signal name against the route's grant. An
// invalid name is ERR_INVALID, not a denial: ChannelAllowed refuses every
// invalid name, which would otherwise report (and log) a typo as an
// attempt to reach an ungranted channel.
func allowed(ctx context.Context, log *slog.Logger, patterns []string, what, name string) error {
	if err := events.CheckName(name); err != nil {
		return serviceError(err)
	}
	if !events.ChannelAllowed(patterns, name) {
		return denied(ctx, log, what, name)
	}
	return nil
}

func denied(ctx context.Context, log *slog.Logger, what, name string) error {
	log.WarnContext(ctx, "guest used a "+what+" its route does not grant", what, name)
	return fmt.Errorf("%s %q: %w", what, name, abi.ErrNotGranted)
}

// scopeOf is the owner of the subscriptions a route makes: its pub/sub
// scope, by default its own. The prefixes keep a route named "x" apart
// from a scope named "x".
func scopeOf(rc config.Route) string {
	if rc.Guest.PubSubScope != "" {
		return "scope:" + rc.Guest.PubSubScope
	}
	return "route:" + rc.Name
}

// pubsubGrant is a route's pub/sub grant bound to one exchange. The
// subscriptions it makes belong to the route's scope
// (SubscribeOptions.Owner): an ID presented on a route of another scope,
// or on a route whose grant does not cover the subscription's channel, is
// answered as an unknown one; and the scope's live subscriptions are
// capped (maxOwned) so that it cannot take the broker's whole capacity
// from the other routes.
type pubsubGrant struct {
	h        *hub
	owner    string
	maxOwned int
	patterns []string
	ctx      context.Context
	log      *slog.Logger
}

func (g *pubsubGrant) Publish(channel string, msg []byte) (int, error) {
	if err := allowed(g.ctx, g.log, g.patterns, "channel", channel); err != nil {
		return 0, err
	}
	n, err := g.h.broker.Publish(g.ctx, channel, msg)
	return n, serviceError(err)
}

func (g *pubsubGrant) Subscribe(channel string) (string, error) {
	if err := allowed(g.ctx, g.log, g.patterns, "channel", channel); err != nil {
		return "", err
	}
	opts := g.h.subOpts
	opts.Owner, opts.MaxOwned = g.owner, g.maxOwned
	id, err := g.h.broker.Subscribe(g.ctx, channel, opts)
	if errors.Is(err, events.ErrFull) {
		g.log.WarnContext(g.ctx, "guest cannot subscribe: subscription cap reached", "err", err)
	}
	return string(id), serviceError(err)
}

// own checks that a route of this scope made subscription id, on a
// channel this route's grant covers; any other ID is ErrGone, as an
// unknown one is.
func (g *pubsubGrant) own(id events.SubID) error {
	info, err := g.h.broker.Info(id)
	switch {
	case err != nil:
	case info.Owner != g.owner:
		g.log.WarnContext(g.ctx, "guest presented the subscription id of another route", "owner", strings.TrimPrefix(strings.TrimPrefix(info.Owner, "route:"), "scope:"))
		err = fmt.Errorf("%w: made by another route", events.ErrSubscriptionGone)
	case !events.ChannelAllowed(g.patterns, info.Channel):
		g.log.WarnContext(g.ctx, "guest presented the id of a subscription to a channel its route does not grant", "channel", info.Channel)
		err = fmt.Errorf("%w: channel not granted to this route", events.ErrSubscriptionGone)
	}
	return serviceError(err)
}

// Next fetches one message. One too long for the guest's buffer is held
// for the subscription's next fetch, so nothing is lost to size
// negotiation.
func (g *pubsubGrant) Next(id string, timeout time.Duration, limit int) ([]byte, int, error) {
	sid := events.SubID(id)
	if err := g.own(sid); err != nil {
		return nil, 0, err
	}
	g.h.mu.Lock()
	msg, ok := g.h.held[sid]
	if ok && len(msg) <= limit {
		delete(g.h.held, sid)
	}
	g.h.mu.Unlock()
	if !ok {
		msgs, err := g.h.broker.Fetch(g.ctx, sid, 1, timeout)
		switch {
		case err != nil:
			return nil, 0, serviceError(err)
		case len(msgs) == 0:
			return nil, 0, fmt.Errorf("no message within %s: %w", timeout, context.DeadlineExceeded)
		}
		msg = msgs[0]
		if len(msg) > limit {
			g.h.mu.Lock()
			if len(g.h.held) >= maxHeld { // guests that never retry: forget one
				for k := range g.h.held {
					delete(g.h.held, k)
					break
				}
			}
			g.h.held[sid] = msg
			g.h.mu.Unlock()
		}
	}
	if len(msg) > limit {
		return nil, len(msg), nil
	}
	return msg, len(msg), nil
}

func (g *pubsubGrant) Unsubscribe(id string) error {
	sid := events.SubID(id)
	if err := g.own(sid); err != nil {
		return err
	}
	g.h.mu.Lock()
	delete(g.h.held, sid)
	g.h.mu.Unlock()
	return serviceError(g.h.broker.Unsubscribe(g.ctx, sid))
}

// WatchMessage implements wasm.MessageWatcher: a parked exchange waits
// for subscription id, which must be one this route may fetch from. A
// message held back for the subscription (too long for an earlier fetch's
// buffer) makes it ready at once.
func (g *pubsubGrant) WatchMessage(id string) (wasm.Watch, error) {
	sid := events.SubID(id)
	if err := g.own(sid); err != nil {
		return nil, err
	}
	g.h.mu.Lock()
	_, held := g.h.held[sid]
	g.h.mu.Unlock()
	if held {
		return heldWatch{}, nil
	}
	w, err := g.h.broker.Watch(sid)
	if err != nil {
		return nil, serviceError(err)
	}
	return watch{w, abi.WakeMessage}, nil
}

// watch adapts an events.Watch to what a parked exchange needs to know.
type watch struct {
	w  events.Watch
	on string // the wake value of the event
}

func (w watch) Ready() <-chan struct{} { return w.w.Ready() }

func (w watch) Stop() (string, []byte) {
	p, err := w.w.Stop()
	switch {
	case err == nil:
		return w.on, p
	case errors.Is(err, events.ErrTimeout):
		return "", nil
	case errors.Is(err, events.ErrClosed):
		return abi.WakeShutdown, nil
	}
	return w.on, nil // the subscription is gone: the guest's fetch says so
}

// heldWatch is the watch of a subscription whose next message the hub
// holds: ready now.
type heldWatch struct{}

var readyNow = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (heldWatch) Ready() <-chan struct{} { return readyNow }
func (heldWatch) Stop() (string, []byte) { return abi.WakeMessage, nil }

type signalGrant struct {
	h        *hub
	patterns []string
	ctx      context.Context
	log      *slog.Logger
}

func (g *signalGrant) Wait(name string, timeout time.Duration) ([]byte, error) {
	if err := allowed(g.ctx, g.log, g.patterns, "signal", name); err != nil {
		return nil, err
	}
	p, err := g.h.signals.Wait(g.ctx, name, timeout)
	return p, serviceError(err)
}

// WatchSignal implements wasm.SignalWatcher.
func (g *signalGrant) WatchSignal(name string) (wasm.Watch, error) {
	if err := allowed(g.ctx, g.log, g.patterns, "signal", name); err != nil {
		return nil, err
	}
	w, err := g.h.signals.Watch(name)
	if err != nil {
		return nil, serviceError(err)
	}
	return watch{w, abi.WakeSignal}, nil
}

func (g *signalGrant) Send(name string, payload []byte) (int, error) {
	if err := allowed(g.ctx, g.log, g.patterns, "signal", name); err != nil {
		return 0, err
	}
	n, err := g.h.signals.Send(g.ctx, name, payload)
	return n, serviceError(err)
}

type kvGrant struct {
	h         *hub
	namespace string
	ctx       context.Context
	log       *slog.Logger
}

func (g *kvGrant) Get(key string) ([]byte, bool, error) {
	v, ok, err := g.h.kv.Get(g.ctx, g.namespace, key)
	return v, ok, serviceError(err)
}

func (g *kvGrant) Set(key string, value []byte, ttl time.Duration) error {
	err := g.h.kv.Set(g.ctx, g.namespace, key, value, ttl)
	if errors.Is(err, events.ErrFull) {
		g.log.WarnContext(g.ctx, "guest cannot store: key-value namespace full", "err", err)
	}
	return serviceError(err)
}

func (g *kvGrant) Delete(key string) error {
	_, err := g.h.kv.Delete(g.ctx, g.namespace, key)
	return serviceError(err)
}

var (
	_ wasm.MessageWatcher = (*pubsubGrant)(nil)
	_ wasm.SignalWatcher  = (*signalGrant)(nil)
)
