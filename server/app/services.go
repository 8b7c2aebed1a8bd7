package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/server/config"
	"github.com/bubblewasm/bubblewasm/server/dial"
	"github.com/bubblewasm/bubblewasm/server/events"
	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// maxHeld bounds the messages held for guests whose buffer was too small.
const maxHeld = 1024

// hub holds the host's event services, shared by every route.
type hub struct {
	broker  events.Broker
	signals events.Signals
	kv      events.KV
	subOpts events.SubscribeOptions

	mu   sync.Mutex
	held map[events.SubID][]byte // a fetched message too long for the guest's buffer
	dial []*dial.Targets         // every route's, closed with the hub

	// draining is cancelled when the server starts shutting down, so every
	// wait (fetch, signal, long poll) ends at once instead of holding the
	// shutdown until its deadline.
	draining context.Context
	drain    context.CancelFunc
}

func newHub(cfg config.PubSub, logger *slog.Logger) (*hub, error) {
	overflow := events.DropSubscriber
	if cfg.Overflow == config.OverflowDropOldest {
		overflow = events.DropOldest
	}
	bo := events.BrokerOptions{
		MaxMessageBytes:    int(cfg.MaxMessageBytes),
		MaxQueueSize:       max(cfg.QueueSize, 1024),
		DefaultIdleTimeout: cfg.IdleTimeout,
	}
	var broker events.Broker
	switch cfg.Backend {
	case config.BackendMemory, "":
		broker = events.NewMemoryBroker(bo, logger)
	case config.BackendAMQP:
		b, err := events.NewAMQPBroker(events.AMQPOptions{URL: cfg.URL, Exchange: cfg.Exchange, Broker: bo}, logger)
		if err != nil {
			return nil, fmt.Errorf("[pubsub]: %w", err)
		}
		broker = b
	default:
		return nil, fmt.Errorf("[pubsub]: unknown backend %q", cfg.Backend)
	}
	draining, drain := context.WithCancel(context.Background())
	return &hub{
		draining: draining,
		drain:    drain,
		broker:   broker,
		signals:  events.NewMemorySignals(events.SignalOptions{}),
		kv:       events.NewMemoryKV(events.KVOptions{}, logger),
		subOpts:  events.SubscribeOptions{QueueSize: cfg.QueueSize, Overflow: overflow, IdleTimeout: cfg.IdleTimeout},
		held:     map[events.SubID][]byte{},
	}, nil
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
	for _, t := range h.dial {
		errs = append(errs, t.Close())
	}
	h.dial = nil
	h.mu.Unlock()
	return errors.Join(errs...)
}

// services binds a route's grants to the hub.
func (h *hub) services(rc config.Route, logger *slog.Logger) (wasm.Services, error) {
	var s wasm.Services
	for _, p := range append(append([]string(nil), rc.PubSub...), rc.Signals...) {
		if err := events.CheckPattern(p); err != nil {
			return s, fmt.Errorf("grant %q: %w", p, err)
		}
	}
	log := logger.With("route", rc.Name)
	if rc.PubSub != nil {
		s.PubSub = func(ctx context.Context) abi.PubSub { return &pubsubGrant{h, rc.PubSub, h.bind(ctx), log} }
	}
	if rc.Signals != nil {
		s.Signals = func(ctx context.Context) abi.Signals { return &signalGrant{h, rc.Signals, h.bind(ctx), log} }
	}
	if rc.KV != "" {
		if err := events.CheckName(rc.KV); err != nil {
			return s, fmt.Errorf("kv namespace %q: %w", rc.KV, err)
		}
		s.KV = func(ctx context.Context) abi.KV { return &kvGrant{h, rc.KV, ctx} }
	}
	if rc.Dial != nil {
		t, err := dial.NewTargets(rc.Name, rc.Dial, dial.Options{Logger: logger})
		if err != nil {
			return s, err
		}
		h.mu.Lock()
		h.dial = append(h.dial, t)
		h.mu.Unlock()
		s.Dial = func(ctx context.Context) abi.Dial { return t.Bind(h.bind(ctx)) }
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
	case errors.Is(err, events.ErrTooLarge), errors.Is(err, events.ErrFull):
		return fmt.Errorf("%w: %w", abi.ErrInputTooLarge, err)
	case errors.Is(err, events.ErrTimeout):
		return fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
	}
	return err
}

// allowed checks a channel or signal name against the route's grant. An
// invalid name is ERR_INVALID, not a denial: ChannelAllowed refuses every
// invalid name, which would otherwise report (and log) a typo as an
// attempt to reach an ungranted channel.
func allowed(log *slog.Logger, patterns []string, what, name string) error {
	if err := events.CheckName(name); err != nil {
		return serviceError(err)
	}
	if !events.ChannelAllowed(patterns, name) {
		return denied(log, what, name)
	}
	return nil
}

func denied(log *slog.Logger, what, name string) error {
	log.Warn("guest used a "+what+" its route does not grant", what, name)
	return fmt.Errorf("%s %q: %w", what, name, abi.ErrNotGranted)
}

type pubsubGrant struct {
	h        *hub
	patterns []string
	ctx      context.Context
	log      *slog.Logger
}

func (g *pubsubGrant) Publish(channel string, msg []byte) (int, error) {
	if err := allowed(g.log, g.patterns, "channel", channel); err != nil {
		return 0, err
	}
	n, err := g.h.broker.Publish(g.ctx, channel, msg)
	return n, serviceError(err)
}

func (g *pubsubGrant) Subscribe(channel string) (string, error) {
	if err := allowed(g.log, g.patterns, "channel", channel); err != nil {
		return "", err
	}
	id, err := g.h.broker.Subscribe(g.ctx, channel, g.h.subOpts)
	return string(id), serviceError(err)
}

// Next fetches one message. One too long for the guest's buffer is held
// for the subscription's next fetch, so nothing is lost to size
// negotiation.
func (g *pubsubGrant) Next(id string, timeout time.Duration, limit int) ([]byte, int, error) {
	sid := events.SubID(id)
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
	g.h.mu.Lock()
	delete(g.h.held, events.SubID(id))
	g.h.mu.Unlock()
	return serviceError(g.h.broker.Unsubscribe(g.ctx, events.SubID(id)))
}

type signalGrant struct {
	h        *hub
	patterns []string
	ctx      context.Context
	log      *slog.Logger
}

func (g *signalGrant) Wait(name string, timeout time.Duration) ([]byte, error) {
	if err := allowed(g.log, g.patterns, "signal", name); err != nil {
		return nil, err
	}
	p, err := g.h.signals.Wait(g.ctx, name, timeout)
	return p, serviceError(err)
}

func (g *signalGrant) Send(name string, payload []byte) (int, error) {
	if err := allowed(g.log, g.patterns, "signal", name); err != nil {
		return 0, err
	}
	n, err := g.h.signals.Send(g.ctx, name, payload)
	return n, serviceError(err)
}

type kvGrant struct {
	h         *hub
	namespace string
	ctx       context.Context
}

func (g *kvGrant) Get(key string) ([]byte, bool, error) {
	v, ok, err := g.h.kv.Get(g.ctx, g.namespace, key)
	return v, ok, serviceError(err)
}

func (g *kvGrant) Set(key string, value []byte, ttl time.Duration) error {
	return serviceError(g.h.kv.Set(g.ctx, g.namespace, key, value, ttl))
}

func (g *kvGrant) Delete(key string) error {
	_, err := g.h.kv.Delete(g.ctx, g.namespace, key)
	return serviceError(err)
}
