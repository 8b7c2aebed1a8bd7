package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/amqp"
	"github.com/bubblewasm/bubblewasm/server/events"
	"github.com/bubblewasm/bubblewasm/server/internal/metrics"
	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// The admin listener ([admin] in the configuration) serves, over plain
// HTTP with net/http (it is the operator's, not a route):
//
//   - /metrics: the app's Prometheus metrics (package server/internal/metrics);
//   - /healthz: 200 while the process serves at all;
//   - /readyz: 200 when every listener takes work (sockets accepting, AMQP
//     consumers consuming) and the pub/sub backend is connected, else 503
//     with one line per thing that is not, and 503 once shutting down.

// admin is the admin listener of an App that has one.
type admin struct {
	address server.Address // as configured
	ln      net.Listener   // bound by Listen
	srv     *http.Server
}

// newAdmin parses the configured admin address and makes the app's
// metrics; nil when the configuration has no [admin].
func (a *App) newAdmin(address string) error {
	if address == "" {
		return nil
	}
	addr, err := server.ParseAddress(address)
	if err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	a.admin = &admin{address: addr}
	a.metrics = metrics.New()
	a.unrouted = a.metrics.Route(metrics.Unrouted)
	budget := a.limits.memory
	err = errors.Join(registerBroker(a.metrics, a.hub.broker),
		a.metrics.Gauge("memory_used_bytes", "Guest linear memory charged to the memory budget now, all routes together.", nil,
			func() float64 { return float64(budget.Used()) }),
		a.metrics.Gauge("memory_budget_bytes", "The memory budget ([limits] memory_budget).", nil,
			func() float64 { return float64(budget.Limit()) }))
	if c := a.prepared; c != nil {
		err = errors.Join(err, a.metrics.Values(nil, func() []float64 {
			hits, misses := c.Stats()
			return []float64{float64(hits), float64(misses)}
		},
			metrics.Value{Name: "prepared_cache_hits_total", Help: "Route loads that found their module read, validated and rewritten already (cache_dir/prepared): a warm start.", Counter: true},
			metrics.Value{Name: "prepared_cache_misses_total", Help: "Route loads that read, validated and rewrote their module.", Counter: true}))
	}
	if r := a.limits.resident; r != nil {
		err = errors.Join(err, a.metrics.Gauge("resident_modules", "Routes whose module is loaded now (at most [limits] resident_modules while no more run at once).", nil,
			func() float64 { return float64(r.Loaded()) }))
	}
	return err
}

// countRoute makes rt's exchanges counted, and registers the instance
// counters of a wasm route. Without an admin listener rt is unchanged. A
// route loaded again by a reload keeps its name's counters: its exchanges
// add to the same Route, and its handler's counts join those of the
// handler it replaces (counts.go) until set is closed.
func (a *App) countRoute(set *routeSet, rt server.Route) (server.Route, error) {
	if a.metrics == nil {
		return rt, nil
	}
	name := rt.Name
	labels := map[string]string{"route": name}
	var err error
	inner := rt.Handler
	if rl, limited := inner.(*rateLimitedHandler); limited {
		inner = rl.next
	}
	h, ok := inner.(*wasm.Handler)
	if w, isWS := inner.(webSocketModule); isWS {
		h, ok = w.module, true
	}
	if ok {
		var uncount func()
		uncount, err = a.counts.add(a.metrics, "route "+name, labels, h, func() []float64 {
			s := h.Stats()
			return []float64{float64(s.InstancesCreated), float64(s.InstancesReused), float64(s.InstancesClosed), float64(s.Queued), s.QueueWait.Seconds(),
				float64(s.Evictions), float64(s.Restores)}
		}, instanceValues...)
		if err == nil {
			set.keepUncount(uncount)
		}
	}
	logDropped := func() []float64 { return []float64{float64(a.hub.logDropped(name))} } // the hub counts by name
	_, lerr := a.counts.add(a.metrics, "guest log "+name, labels, "hub", logDropped,
		metrics.Value{Name: "guest_log_records_dropped_total", Help: "Log records of the route's guests dropped over its log budget or [guest_log]'s.", Counter: true})
	rt.Handler = a.metrics.Route(name).Wrap(rt.Handler)
	return rt, errors.Join(err, lerr)
}

// instanceValues are the counters of a wasm route's Stats.
var instanceValues = []metrics.Value{
	{Name: "instances_created_total", Help: "Instances made for the route's exchanges.", Counter: true},
	{Name: "instances_reused_total", Help: "Exchanges served by an idle instance.", Counter: true},
	{Name: "instances_closed_total", Help: "Instances closed: after a failed exchange, when not reusable, idle too long, or for the memory budget.", Counter: true},
	{Name: "queued_exchanges_total", Help: "Exchanges that waited for a place in the route's max_concurrency.", Counter: true},
	{Name: "queue_wait_seconds_total", Help: "Time those exchanges waited, in all.", Counter: true},
	{Name: "module_evictions_total", Help: "Times the route's module was unloaded to keep within [limits] resident_modules.", Counter: true},
	{Name: "module_restores_total", Help: "Times an exchange loaded the route's module again after it was unloaded.", Counter: true},
}

// countUnrouted returns router counting the exchanges no route matched,
// when there are metrics.
func (a *App) countUnrouted(router *server.Router) server.Handler {
	if a.unrouted == nil {
		return router
	}
	return unroutedCounter{next: router, count: a.unrouted}
}

// registerBroker registers the pub/sub broker's counts.
func registerBroker(m *metrics.Metrics, b events.Broker) error {
	stats, ok := b.(interface{ Stats() events.BrokerStats })
	if !ok {
		return nil
	}
	connected := func() float64 { return 1 }
	if c, ok := b.(interface{ Connected() bool }); ok {
		connected = func() float64 { return bool01(c.Connected()) }
	}
	return m.Values(nil, func() []float64 {
		s := stats.Stats()
		return []float64{float64(s.Subscriptions), float64(s.Queued), float64(s.Published), float64(s.Delivered),
			float64(s.Evicted), float64(s.Overflowed), connected()}
	},
		metrics.Value{Name: "pubsub_subscriptions", Help: "Live pub/sub subscriptions."},
		metrics.Value{Name: "pubsub_queued_messages", Help: "Messages waiting in subscription queues."},
		metrics.Value{Name: "pubsub_published_total", Help: "Messages published (with the AMQP backend: those that reached this process).", Counter: true},
		metrics.Value{Name: "pubsub_delivered_total", Help: "Copies of messages queued to subscriptions.", Counter: true},
		metrics.Value{Name: "pubsub_evicted_total", Help: "Messages dropped from full queues to make room (overflow drop-oldest).", Counter: true},
		metrics.Value{Name: "pubsub_overflowed_subscriptions_total", Help: "Subscriptions ended because their queue was full (overflow drop-subscriber).", Counter: true},
		metrics.Value{Name: "pubsub_backend_connected", Help: "1 while the pub/sub backend is connected (always, for memory)."},
	)
}

// countConsumer registers the counts of an AMQP listener; the returned
// func, for when the consumer has stopped, keeps its counters under the
// listener's name (a reload may start another consumer of that name).
func (a *App) countConsumer(listener string, c *amqp.Consumer) (uncount func(), err error) {
	if a.metrics == nil {
		return nil, nil
	}
	return a.counts.add(a.metrics, "listener "+listener, map[string]string{"listener": listener}, c, func() []float64 {
		s := c.Stats()
		return []float64{bool01(s.Consuming), float64(s.Sessions), float64(s.ConnectFailures), float64(s.Deliveries),
			float64(s.Redeliveries), float64(s.Acks), float64(s.Nacks)}
	},
		metrics.Value{Name: "amqp_consuming", Help: "1 while the AMQP listener consumes its queue."},
		metrics.Value{Name: "amqp_sessions_total", Help: "Sessions that consumed: the first and every reconnection.", Counter: true},
		metrics.Value{Name: "amqp_connect_failures_total", Help: "Connection attempts that failed before consuming.", Counter: true},
		metrics.Value{Name: "amqp_deliveries_total", Help: "Messages received from the queue.", Counter: true},
		metrics.Value{Name: "amqp_redeliveries_total", Help: "Messages received that the broker marked redelivered.", Counter: true},
		metrics.Value{Name: "amqp_acks_total", Help: "Deliveries acked.", Counter: true},
		metrics.Value{Name: "amqp_nacks_total", Help: "Deliveries nacked (requeued or rejected, as on_error says).", Counter: true},
	)
}

// registerEngines registers the compilation counts of every engine the
// routes use that has none yet. Call it once the routes are loaded (and
// after a reload's: it may use a new engine).
func (a *App) registerEngines() error {
	if a.metrics == nil {
		return nil
	}
	a.enginesMu.Lock()
	defer a.enginesMu.Unlock()
	var errs []error
	for name, e := range a.engines {
		shared, ok := e.(*sharedEngine)
		if !ok || shared.counted {
			continue
		}
		shared.counted = true
		validation := func() (uint64, uint64) { return 0, 0 }
		if v, ok := shared.Engine.(interface{ ValidationCache() (hits, misses uint64) }); ok {
			validation = v.ValidationCache
		}
		errs = append(errs, a.metrics.Values(map[string]string{"engine": name}, func() []float64 {
			hits, misses := validation()
			return []float64{float64(shared.compilations.Load()), float64(shared.shared.Load()), float64(hits), float64(misses)}
		},
			metrics.Value{Name: "compilations_total", Help: "Modules compiled (or loaded from the compilation cache on disk).", Counter: true},
			metrics.Value{Name: "compilations_shared_total", Help: "Routes given a module another route of this process compiled.", Counter: true},
			metrics.Value{Name: "validation_cache_hits_total", Help: "Route loads that found their module validated in the cache: a warm start, whose compiled code the disk cache also holds.", Counter: true},
			metrics.Value{Name: "validation_cache_misses_total", Help: "Route loads that validated their module: new, or changed since the cache was filled.", Counter: true},
		))
	}
	return errors.Join(errs...)
}

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// unroutedCounter counts the exchanges no route matched; the routes count
// their own.
type unroutedCounter struct {
	next  server.Handler
	count *metrics.Route
}

func (u unroutedCounter) Serve(ctx context.Context, x *server.Exchange) error {
	err := u.next.Serve(ctx, x)
	if errors.Is(err, server.ErrNoRoute) {
		u.count.Count(err)
	}
	return err
}

// listenAdmin binds the admin listener, if there is one.
func (a *App) listenAdmin(ctx context.Context) error {
	if a.admin == nil {
		return nil
	}
	ln, err := a.admin.address.Listen(ctx, server.ListenOptions{})
	if err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	a.admin.ln = ln
	real := server.ListenerAddress(ln)
	a.logger.Info("admin listening", "address", real.String(), "paths", "/metrics /healthz /readyz")
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() {
		a.logger.Warn("the admin listener is reachable from other hosts: it has no authentication", "address", real.String())
	}
	return nil
}

// AdminAddress is the admin listener's real address once Listen has bound
// it, and false when there is none.
func (a *App) AdminAddress() (server.Address, bool) {
	if a.admin == nil || a.admin.ln == nil {
		return server.Address{}, false
	}
	return server.ListenerAddress(a.admin.ln), true
}

// serveAdmin serves the admin listener until stopAdmin.
func (a *App) serveAdmin() {
	if a.admin == nil || a.admin.ln == nil {
		return
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.metrics.Registry(), promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if missing := a.notReady(); len(missing) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, strings.Join(missing, "\n"))
			return
		}
		fmt.Fprintln(w, "ready")
	})
	a.admin.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute, ErrorLog: nil}
	go a.admin.srv.Serve(a.admin.ln)
}

// stopAdmin stops the admin listener; scrapes under way have until ctx
// ends.
func (a *App) stopAdmin(ctx context.Context) {
	if a.admin == nil || a.admin.ln == nil {
		return
	}
	if a.admin.srv == nil { // bound, never served
		a.admin.ln.Close()
		return
	}
	a.admin.srv.Shutdown(ctx)
}

// notReady lists what keeps the app from being ready, one line each.
func (a *App) notReady() []string {
	var missing []string
	if a.hub.draining.Err() != nil {
		missing = append(missing, "shutting down")
	}
	a.mu.Lock() // a reload changes the sources, and their listener
	for _, s := range a.sources {
		select {
		case <-s.Ready():
		default:
			missing = append(missing, fmt.Sprintf("listener %s: not taking work", s.Name))
		}
	}
	a.mu.Unlock()
	if b, ok := a.hub.broker.(interface{ Connected() bool }); ok && !b.Connected() {
		missing = append(missing, "pubsub: backend not connected")
	}
	return missing
}
