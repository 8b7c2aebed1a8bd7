package app

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/config"
	"github.com/bubblewasm/bubblewasm/server/websocket"
)

// Hot reload. Every listener serves the app's exchanges through one
// indirection, the current routeSet: Reload makes a whole new set beside
// the running one (keeping the loaded modules of unchanged routes:
// reuse.go), binds the listeners the new configuration adds, and only then
// swaps the set in. An exchange keeps the set it started with; a replaced
// set is closed once its last exchange ends (a module it shares with the
// new set stays open). Listeners keep their socket when their name and
// address are unchanged (their transport is replaced when its settings
// change); removed ones drain. Anything that fails leaves all as it was.

// routeSet is one generation of routes: the router and what its routes
// hold. Exchanges hold the set they run on (acquire, release).
type routeSet struct {
	router *server.Router
	entry  server.Handler // the router, counting unrouted exchanges (admin.go)

	mu      sync.Mutex               // routes load concurrently
	modules map[string]*loadedModule // by route name, shared with other sets (reuse.go)
	uncount []func()                 // once closed, the handlers' counts are no longer read live
	sockets []*websocket.Handler
	load    *routeLoad // while the routes load

	refs    atomic.Int64 // exchanges running on the set
	retired atomic.Bool  // replaced: no new exchanges
	once    sync.Once
	drained chan struct{} // closed once retired and no exchange runs
}

func newRouteSet() *routeSet {
	return &routeSet{drained: make(chan struct{}), modules: map[string]*loadedModule{}}
}

// keepModule takes one hold on the module of the named route.
func (s *routeSet) keepModule(route string, m *loadedModule) {
	s.mu.Lock()
	s.modules[route] = m
	s.mu.Unlock()
}

// module is the loaded module of the named route, or nil.
func (s *routeSet) module(route string) *loadedModule {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.modules[route]
}

func (s *routeSet) keepUncount(f func()) {
	s.mu.Lock()
	s.uncount = append(s.uncount, f)
	s.mu.Unlock()
}

func (s *routeSet) keepWebSocket(h *websocket.Handler) {
	s.mu.Lock()
	s.sockets = append(s.sockets, h)
	s.mu.Unlock()
}

// serveRouted passes an exchange made by a route's transport (a JSON-RPC
// call) back to the router of the same set.
func (s *routeSet) serveRouted(ctx context.Context, x *server.Exchange) error {
	return s.entry.Serve(ctx, x)
}

// acquire counts an exchange on s; it fails once s is retired.
func (s *routeSet) acquire() bool {
	s.refs.Add(1)
	if s.retired.Load() {
		s.release()
		return false
	}
	return true
}

func (s *routeSet) release() {
	if s.refs.Add(-1) == 0 && s.retired.Load() {
		s.once.Do(func() { close(s.drained) })
	}
}

// retire refuses new exchanges; drained closes when the last one ends.
func (s *routeSet) retire() {
	s.retired.Store(true)
	if s.refs.Load() == 0 {
		s.once.Do(func() { close(s.drained) })
	}
}

// close releases the set's hold on its modules (with their dial targets
// and outbound clients): those no other set holds are closed.
func (s *routeSet) close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, m := range s.modules {
		errs = append(errs, m.release(ctx))
	}
	for _, f := range s.uncount {
		f()
	}
	for _, h := range s.sockets {
		h.Close()
	}
	s.modules, s.uncount, s.sockets = nil, nil, nil
	return errors.Join(errs...)
}

// serveCurrent serves an exchange on the current route set, which it holds
// until the exchange ends.
func (a *App) serveCurrent(ctx context.Context, x *server.Exchange) error {
	for {
		set := a.routes.Load()
		if set.acquire() {
			defer set.release()
			return set.entry.Serve(ctx, x)
		}
	}
}

// Reload applies cfg to the serving app: the routes are made anew, but a
// module route whose settings and module file's content are unchanged keeps
// its loaded module (reuse.go); listeners whose name and address are
// unchanged keep their socket, new ones are bound and removed ones stop
// accepting and drain for up to the shutdown timeout. Exchanges already
// running finish on the routes they started with. On any error — a module
// that does not load, an address that cannot be bound, a setting only a
// restart applies ([limits], [pubsub], [kv], ...) — nothing changes and the
// error (all of them, joined) is returned. Reloads run one at a time; the
// app must be listening.
func (a *App) Reload(ctx context.Context, cfg *config.Config) error {
	a.reloading.Lock()
	defer a.reloading.Unlock()
	began := time.Now()
	a.mu.Lock()
	old, running, closing := a.cfg, a.sources, a.closing
	a.mu.Unlock()
	switch {
	case closing:
		return errors.New("reload: the server is shutting down")
	case running == nil:
		return errors.New("reload: not listening yet")
	}
	if changed := restartOnly(old, cfg); len(changed) > 0 {
		return fmt.Errorf("%s: reload cannot change %s: restart to apply them (nothing was changed)", cfg.File, strings.Join(changed, ", "))
	}
	listeners, errs := a.parseListeners(cfg)
	if len(listeners) == 0 && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("%s: no listeners", cfg.File))
	}
	methods := namedMethods(cfg.Routes)
	plan, perrs := planListeners(running, listeners, methods)
	errs = append(errs, perrs...)
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	warnRoutes(a.logger, cfg)
	set, errs := a.loadRoutes(ctx, cfg, a.routes.Load())
	errs = append(errs, a.registerEngines()) // a route may use a new engine
	if err := errors.Join(errs...); err != nil {
		return errors.Join(err, set.close(ctx))
	}
	transports := make([]server.Handler, len(plan.retransport))
	for i, s := range plan.retransport {
		var err error
		if transports[i], err = a.newTransport(plan.next[s], methods); err != nil { // names checked: never
			return errors.Join(err, set.close(ctx))
		}
	}
	tlsConfigs := make([]*tls.Config, len(plan.retls))
	for i, s := range plan.retls {
		var err error
		if tlsConfigs[i], err = plan.next[s].TLS.Config(); err != nil {
			return errors.Join(fmt.Errorf("listener %s: %w", s.Name, err), set.close(ctx))
		}
	}
	added, _, err := a.openAll(ctx, plan.add, methods)
	if err != nil {
		return errors.Join(err, set.close(ctx))
	}

	a.mu.Lock()
	if a.closing {
		a.mu.Unlock()
		for _, s := range added {
			s.Shutdown(ctx)
		}
		return errors.Join(errors.New("reload: the server is shutting down"), set.close(ctx))
	}
	a.cfg = cfg
	prev := a.routes.Swap(set)
	for i, s := range plan.retransport {
		s.listener, s.methods = plan.next[s], methods
		if err := s.conns.replace(ctx, transports[i]); err != nil {
			a.logger.Warn("replaced transport did not stop cleanly", "listener", s.Name, "err", err)
		}
	}
	for i, s := range plan.retls {
		s.listener.TLS = plan.next[s].TLS
		s.tls.set(s.listener.TLS, alpn(s.listener), tlsConfigs[i])
	}
	a.sources = append(plan.keep, added...)
	for _, s := range plan.remove {
		s.removed.Store(true)
	}
	if a.serveCtx != nil {
		for _, s := range added {
			a.start(s)
		}
	}
	timeout := shutdownTimeout(cfg)
	a.mu.Unlock()

	prev.retire()
	a.background.Go(a.prunePrepared)
	a.background.Go(func() {
		<-prev.drained
		if err := prev.close(context.WithoutCancel(ctx)); err != nil {
			a.logger.Warn("closing the replaced routes", "err", err)
		}
	})
	for _, s := range plan.remove {
		a.logger.Info("listener removed: draining", "listener", s.Name, "timeout", timeout)
		a.background.Go(func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
			defer cancel()
			if err := s.Shutdown(ctx); err != nil {
				a.logger.Warn("removed listener", "listener", s.Name, "err", err)
			}
		})
	}
	a.logger.Info("reloaded", "file", cfg.File, "duration", time.Since(began), "routes", len(cfg.Routes), "listeners", len(a.sources),
		"added", len(added), "removed", len(plan.remove), "transports_replaced", len(plan.retransport))
	return nil
}

// listenerPlan is what a reload does to the running listeners.
type listenerPlan struct {
	keep        []*source // in the new configuration's order
	add         []listener
	remove      []*source
	retransport []*source            // kept, with a new transport
	retls       []*source            // kept TLS listeners: their files are read again
	next        map[*source]listener // the new configuration of a kept one
}

// planListeners matches the listeners of the new configuration with the
// running ones by name and address. A kept socket whose transport settings
// change gets a new transport; settings that apply when a socket is bound
// (socket_mode, max_connections, write_timeout) cannot change.
func planListeners(running []*source, next []listener, methods []string) (listenerPlan, []error) {
	p := listenerPlan{next: map[*source]listener{}}
	byKey := map[[2]string]*source{}
	for _, s := range running {
		byKey[[2]string{s.Name, s.Address}] = s
	}
	var errs []error
	for _, l := range next {
		s := byKey[[2]string{l.Name, l.Address}]
		if s == nil {
			p.add = append(p.add, l)
			continue
		}
		delete(byKey, [2]string{l.Name, l.Address})
		p.keep = append(p.keep, s)
		if s.conns == nil {
			continue
		}
		was, now := s.Listener, l.Listener
		was.Line, now.Line = 0, 0
		if (was.TLS == nil) != (now.TLS == nil) {
			errs = append(errs, fmt.Errorf("listener %s: TLS is turned on or off when the socket is bound: restart to change it", l.Name))
			continue
		}
		if now.TLS != nil {
			p.retls = append(p.retls, s)
			p.next[s] = l
		}
		was.TLS, now.TLS = nil, nil // a kept TLS listener reads its files again (retls)
		if was.SocketMode != now.SocketMode || was.MaxConnections != now.MaxConnections || was.WriteTimeout != now.WriteTimeout {
			errs = append(errs, fmt.Errorf("listener %s: socket_mode, max_connections and write_timeout apply when the socket is bound: restart to change them", l.Name))
			continue
		}
		if was != now || !slices.Equal(s.methods, methods) {
			p.retransport = append(p.retransport, s)
			p.next[s] = l
		}
	}
	for _, s := range running {
		if byKey[[2]string{s.Name, s.Address}] == s {
			p.remove = append(p.remove, s)
		}
	}
	return p, errs
}

// restartOnly names the settings of cfg that differ from old and that only
// a restart applies: every top-level setting but the listeners, the
// routes and the shutdown timeout (the engine only names the routes'
// default). Line numbers do not count.
func restartOnly(old, cfg *config.Config) []string {
	reloadable := map[string]bool{"File": true, "Engine": true, "ShutdownTimeout": true, "Listeners": true, "Routes": true}
	ov, nv := reflect.ValueOf(*old), reflect.ValueOf(*cfg)
	var changed []string
	for i := range ov.NumField() {
		f := ov.Type().Field(i)
		if reloadable[f.Name] {
			continue
		}
		if !reflect.DeepEqual(withoutLine(ov.Field(i)), withoutLine(nv.Field(i))) {
			changed = append(changed, cmp.Or(settingNames[f.Name], f.Name))
		}
	}
	return changed
}

// settingNames are the names in the file of config.Config's fields.
var settingNames = map[string]string{"CacheDir": "cache_dir", "LogLevel": "log_level", "AccessLog": "[access_log]",
	"GuestLog": "[guest_log]", "Admin": "[admin]", "PubSub": "[pubsub]", "KV": "[kv]", "Limits": "[limits]"}

// withoutLine returns v as an interface, with a struct's Line field zero.
func withoutLine(v reflect.Value) any {
	if v.Kind() != reflect.Struct {
		return v.Interface()
	}
	c := reflect.New(v.Type()).Elem()
	c.Set(v)
	if f := c.FieldByName("Line"); f.IsValid() && f.CanSet() && f.Kind() == reflect.Int {
		f.SetInt(0)
	}
	return c.Interface()
}
