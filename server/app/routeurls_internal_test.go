package app

import (
	"reflect"
	"testing"

	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/config"
)

func TestRouteURLs(t *testing.T) {
	parse := func(name, address, transport string) listener {
		l, err := parseListener(config.Listener{Name: name, Address: address, Transport: transport})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	listeners := []listener{
		parse("web", "tcp://127.0.0.1:0", "http"),
		parse("local", "unix:///tmp/h.sock", "http"),
		parse("v6", "tcp://[::]:0", "http"),
		parse("lines", "unix:///tmp/l.sock", "line"),
		parse("rpc", "tcp://127.0.0.1:0", "jsonrpc"),
		parse("work", "amqp://guest:secret@broker:5672/?queue=jobs", "raw"),
	}
	addrs := []server.Address{
		{Network: "tcp", Host: "127.0.0.1", Port: 8080},
		{Network: "unix", Path: "/tmp/h.sock"},
		{Network: "tcp", Host: "::", Port: 8081},
		{Network: "unix", Path: "/tmp/l.sock"},
		{Network: "tcp", Host: "127.0.0.1", Port: 8082},
		{Network: "amqp", Host: "broker", Port: 5672},
	}
	routes := []config.Route{
		{Name: "chat", Match: map[string]string{"PATH_INFO": "/chat/*", "REQUEST_METHOD": "POST"}},
		{Name: "webonly", Match: map[string]string{"bubble.listener": "web"}},
		{Name: "sum", Match: map[string]string{"jsonrpc.method": "sum"}},
		{Name: "unixonly", Match: map[string]string{"bubble.network": "unix", "PATH_INFO": "/"}},
		{Name: "all"},
	}
	want := []RouteURL{
		{Route: "chat", Listener: "web", URL: "http://127.0.0.1:8080/chat/*", Method: "POST"},
		{Route: "webonly", Listener: "web", URL: "http://127.0.0.1:8080/*"},
		{Route: "all", Listener: "web", URL: "http://127.0.0.1:8080/*"},
		{Route: "chat", Listener: "local", URL: "http://localhost/chat/*", Socket: "/tmp/h.sock", Method: "POST"},
		{Route: "unixonly", Listener: "local", URL: "http://localhost/", Socket: "/tmp/h.sock"},
		{Route: "all", Listener: "local", URL: "http://localhost/*", Socket: "/tmp/h.sock"},
		{Route: "chat", Listener: "v6", URL: "http://[::1]:8081/chat/*", Method: "POST"},
		{Route: "all", Listener: "v6", URL: "http://[::1]:8081/*"},
		{Route: "all", Listener: "lines", URL: "unix:///tmp/l.sock", Transport: "line"},
		{Route: "sum", Listener: "rpc", URL: "tcp://127.0.0.1:8082", Transport: "jsonrpc", Method: "sum"},
		{Route: "all", Listener: "rpc", URL: "tcp://127.0.0.1:8082", Transport: "jsonrpc"},
		{Route: "all", Listener: "work", URL: "amqp://guest:xxxxx@broker:5672/?queue=jobs", Transport: "amqp", Queue: "jobs"},
	}
	got := routeURLs(listeners, routes, addrs)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n%+v\nwant\n%+v", got, want)
	}
	// Fewer addresses than listeners (Listen failed half-way): no panic.
	if got := routeURLs(listeners, routes, addrs[:1]); len(got) != 3 {
		t.Fatalf("one address: %+v", got)
	}
	attrs := want[3].Attrs()
	wantAttrs := []any{"route", "chat", "url", "http://localhost/chat/*", "socket", "/tmp/h.sock", "method", "POST", "listener", "local"}
	if !reflect.DeepEqual(attrs, wantAttrs) {
		t.Fatalf("Attrs: %v, want %v", attrs, wantAttrs)
	}
}
