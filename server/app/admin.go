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
	a.metrics.Gauge("memory_used_bytes", "Guest linear memory charged to the memory budget now, all routes together.", nil,
		func() float64 { return float64(budget.Used()) })
	a.metrics.Gauge("memory_budget_bytes", "The memory budget ([limits] memory_budget).", nil,
		func() float64 { return float64(budget.Limit()) })
	return nil
}

// countRoute makes rt's exchanges counted, and registers the instance
// counters of a wasm route. Without an admin listener rt is unchanged.
func (a *App) countRoute(rt server.Route) server.Route {
	if a.metrics == nil {
		return rt
	}
	if h, ok := rt.Handler.(*wasm.Handler); ok {
		registerInstances(a.metrics, rt.Name, h)
	}
	name := rt.Name
	a.metrics.Counter("guest_log_records_dropped_total", "Log records of the route's guests dropped over its log budget or [guest_log]'s.",
		map[string]string{"route": name}, func() float64 { return float64(a.hub.logDropped(name)) })
	rt.Handler = a.metrics.Route(name).Wrap(rt.Handler)
	return rt
}

// registerInstances registers the counters of h's Stats, read at scrape
// time.
func registerInstances(m *metrics.Metrics, route string, h *wasm.Handler) {
	labels := map[string]string{"route": route}
	counters := []struct {
		name, help string
		get        func(wasm.Stats) float64
	}{
		{"instances_created_total", "Instances made for the route's exchanges.", func(s wasm.Stats) float64 { return float64(s.InstancesCreated) }},
		{"instances_reused_total", "Exchanges served by an idle instance.", func(s wasm.Stats) float64 { return float64(s.InstancesReused) }},
		{"instances_closed_total", "Instances closed: after a failed exchange, when not reusable, idle too long, or for the memory budget.", func(s wasm.Stats) float64 { return float64(s.InstancesClosed) }},
		{"queued_exchanges_total", "Exchanges that waited for a place in the route's max_concurrency.", func(s wasm.Stats) float64 { return float64(s.Queued) }},
		{"queue_wait_seconds_total", "Time those exchanges waited, in all.", func(s wasm.Stats) float64 { return s.QueueWait.Seconds() }},
	}
	for _, c := range counters {
		m.Counter(c.name, c.help, labels, func() float64 { return c.get(h.Stats()) })
	}
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
	for i, s := range a.sources {
		select {
		case <-s.Ready():
		default:
			missing = append(missing, fmt.Sprintf("listener %s: not taking work", a.listeners[i].Name))
		}
	}
	if b, ok := a.hub.broker.(interface{ Connected() bool }); ok && !b.Connected() {
		missing = append(missing, "pubsub: backend not connected")
	}
	return missing
}
