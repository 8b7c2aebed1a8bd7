package app

import (
	"net"
	"strconv"
	"strings"

	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/config"
)

// RouteURL says where a route can be reached: one per listener that can
// deliver exchanges to the route. `bubblewasm run` logs them at start.
type RouteURL struct {
	// Route and Listener are the names of the route and the listener.
	Route, Listener string
	// URL is where to send requests. On an HTTP listener it is the URL of
	// the route's PATH_INFO pattern ("http://127.0.0.1:8080/chat/*"; "/*"
	// for a route that takes every path), with host "localhost" on a unix
	// socket (see Socket). Otherwise it is the listener's address.
	URL string
	// Socket is the unix socket an HTTP URL is reached through:
	// `curl --unix-socket SOCKET URL`. Empty on TCP.
	Socket string
	// Transport is the listener's transport when it is not "http"
	// ("line", "json", "jsonrpc", "raw", or "amqp").
	Transport string
	// Method is the request method (HTTP) or the JSON-RPC method (a
	// jsonrpc listener) the route requires, when it names one.
	Method string
	// Queue is the AMQP queue an "amqp" listener consumes.
	Queue string
}

// Attrs returns the URL as slog key-value pairs, empty fields left out.
func (u RouteURL) Attrs() []any {
	attrs := []any{"route", u.Route, "url", u.URL}
	for _, kv := range [][2]string{{"socket", u.Socket}, {"method", u.Method}, {"transport", u.Transport}, {"queue", u.Queue}, {"listener", u.Listener}} {
		if kv[1] != "" {
			attrs = append(attrs, kv[0], kv[1])
		}
	}
	return attrs
}

// RouteURLs returns where each route can be reached, given the bound
// addresses Listen returned: listeners in configuration order, then routes
// in order. A route is left out on a listener it cannot take exchanges
// from: its bubble.listener, bubble.network or bubble.transport pattern
// does not match the listener, it matches HTTP keys (PATH_INFO,
// REQUEST_METHOD, HTTP_*) on a listener that is not HTTP, or JSON-RPC keys
// on a listener that is not jsonrpc (such routes are reached through an
// HTTP route with transport = "jsonrpc").
func (a *App) RouteURLs(addrs []server.Address) []RouteURL {
	return routeURLs(a.listeners, a.cfg.Routes, addrs)
}

func routeURLs(listeners []listener, routes []config.Route, addrs []server.Address) []RouteURL {
	var urls []RouteURL
	for i, l := range listeners {
		if i >= len(addrs) {
			break
		}
		transport := l.Transport
		if l.queue != nil {
			transport = "amqp"
		}
		for _, rc := range routes {
			if !reaches(rc.Match, l.Name, addrs[i].Network, transport) {
				continue
			}
			urls = append(urls, routeURL(l, transport, addrs[i], rc))
		}
	}
	return urls
}

// reaches reports whether exchanges of a listener can match a route.
func reaches(match map[string]string, name, network, transport string) bool {
	known := map[string]string{"bubble.listener": name, "bubble.network": network, "bubble.transport": transport}
	for key, pat := range match {
		if v, ok := known[key]; ok {
			p, err := server.ParsePattern(pat)
			if err != nil || !p.Match(v) {
				return false
			}
		}
		if httpKey(key) && transport != config.DefaultTransport {
			return false
		}
		if strings.HasPrefix(key, "jsonrpc.") && transport != "jsonrpc" {
			return false
		}
	}
	return true
}

// httpKey reports whether only the HTTP transport sets an env key.
func httpKey(key string) bool {
	switch key {
	case "PATH_INFO", "REQUEST_METHOD", "REQUEST_URI", "SCRIPT_NAME", "QUERY_STRING", "SERVER_PROTOCOL", "bubble.url_scheme":
		return true
	}
	return strings.HasPrefix(key, "HTTP_")
}

func routeURL(l listener, transport string, addr server.Address, rc config.Route) RouteURL {
	u := RouteURL{Route: rc.Name, Listener: l.Name}
	switch {
	case l.queue != nil:
		u.URL, u.Transport, u.Queue = l.queue.Redacted, transport, l.queue.Queue
		return u
	case transport != config.DefaultTransport:
		u.URL, u.Transport, u.Method = addr.String(), transport, rc.Match["jsonrpc.method"]
		return u
	}
	path := rc.Match["PATH_INFO"]
	if path == "" || path == "*" {
		path = "/*"
	}
	u.Method = rc.Match["REQUEST_METHOD"]
	if addr.Network == "unix" {
		u.URL, u.Socket = "http://localhost"+path, addr.Path
		return u
	}
	host := addr.Host
	if ip := net.ParseIP(host); host == "" || ip.IsUnspecified() {
		host = "127.0.0.1" // every interface: loopback is one of them
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	scheme := "http://"
	if l.TLS != nil {
		scheme = "https://"
	}
	u.URL = scheme + net.JoinHostPort(host, strconv.Itoa(addr.Port)) + path
	return u
}
