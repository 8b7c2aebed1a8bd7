package app

import (
	"context"

	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/config"
	"github.com/bubblewasm/bubblewasm/server/wasm"
	"github.com/bubblewasm/bubblewasm/server/websocket"
)

// newWebSocket makes the handler of a route with transport = "websocket".
// With a module, the route's module serves each message (the open
// exchange included) under the route's keys, its timeout among them.
// Without one, each message goes back through the router (like a jsonrpc
// route's calls), bounded by the route's timeout. Either way follows
// subscribe on the hub's broker within the route's pubsub grant.
func (a *App) newWebSocket(ctx context.Context, cfg *config.Config, set *routeSet, rc config.Route) (server.Handler, error) {
	messages, timeout := server.Handler(server.HandlerFunc(set.serveRouted)), rc.Timeout
	var module *wasm.Handler
	if rc.Module != "" {
		var err error
		if module, err = a.loadModule(ctx, cfg, set, rc); err != nil {
			return nil, err
		}
		// The route's metrics count its messages with its upgrades, as a
		// message route of the router form would; the module's handler
		// keeps the route's timeout.
		messages, timeout = a.metrics.Route(rc.Name).Wrap(module), 0
	}
	w := rc.WebSocket
	h := websocket.New(messages, websocket.Options{
		Route:        rc.Name,
		Logger:       a.hub.exchangeLogger("\x00route "+rc.Name, a.logger.With("route", rc.Name)),
		MaxMessage:   w.MaxMessage,
		Origins:      w.Origins,
		PingInterval: w.PingInterval,
		IdleTimeout:  w.IdleTimeout,
		MaxSockets:   w.MaxSockets,
		Open:         w.Open,
		Timeout:      timeout,
		Broker:       a.hub.broker,
		Channels:     rc.PubSub,
		Subscribe:    a.hub.subOpts,
		Drain:        a.hub.draining,
	})
	set.keepWebSocket(h)
	if module != nil {
		return webSocketModule{h, module}, nil
	}
	return h, nil
}

// webSocketModule is the handler of a websocket route with a module, which
// shows in the route's instance metrics (countRoute).
type webSocketModule struct {
	*websocket.Handler
	module *wasm.Handler
}
