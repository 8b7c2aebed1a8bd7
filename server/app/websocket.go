package app

import (
	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/config"
	"github.com/bubblewasm/bubblewasm/server/websocket"
)

// newWebSocket makes the handler of a route with transport = "websocket":
// each message goes back through the router (like a jsonrpc route's
// calls), bounded by the route's timeout; follows subscribe on the hub's
// broker within the route's pubsub grant.
func (a *App) newWebSocket(set *routeSet, rc config.Route) server.Handler {
	w := rc.WebSocket
	h := websocket.New(server.HandlerFunc(set.serveRouted), websocket.Options{
		Route:        rc.Name,
		Logger:       a.hub.exchangeLogger("\x00route "+rc.Name, a.logger.With("route", rc.Name)),
		MaxMessage:   w.MaxMessage,
		Origins:      w.Origins,
		PingInterval: w.PingInterval,
		IdleTimeout:  w.IdleTimeout,
		MaxSockets:   w.MaxSockets,
		Open:         w.Open,
		Timeout:      rc.Timeout,
		Broker:       a.hub.broker,
		Channels:     rc.PubSub,
		Subscribe:    a.hub.subOpts,
		Drain:        a.hub.draining,
	})
	set.keepWebSocket(h)
	return h
}
