package server

import (
	"context"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/abi"
)

// The per-request work of this package, measured apart from the rest of
// the pipeline (`make profile` shows its share of a request):
//
//	go test -run XXX -bench 'Router|Env|ConnWrite' -count 10 ./server/ | benchstat -

// loopback returns both ends of a TCP connection on 127.0.0.1, the server
// end first; a goroutine reads and discards everything the server end
// writes until the test ends.
func loopback(b *testing.B) (server, client net.Conn) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	client, err = net.Dial("tcp", l.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	server, err = l.Accept()
	if err != nil {
		b.Fatal(err)
	}
	go io.Copy(io.Discard, client)
	b.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

// BenchmarkConnWrite is one response-sized write to a connection: plain,
// through the listener's write-timeout wrapper, and through the wrapper
// with an exchange's deadline set and cleared around it (as the wasm
// handler does for every guest write).
func BenchmarkConnWrite(b *testing.B) {
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 14\r\nDate: Mon, 07 Dec 2026 00:00:00 GMT\r\n\r\nHello, world!\n")
	b.Run("plain", func(b *testing.B) {
		c, _ := loopback(b)
		for b.Loop() {
			c.Write(resp)
		}
	})
	b.Run("timeout", func(b *testing.B) {
		c, _ := loopback(b)
		tc := &timeoutConn{Conn: c, timeout: DefaultWriteTimeout}
		for b.Loop() {
			tc.Write(resp)
		}
	})
	b.Run("timeout+exchange-deadline", func(b *testing.B) {
		c, _ := loopback(b)
		tc := &timeoutConn{Conn: c, timeout: DefaultWriteTimeout}
		for b.Loop() {
			tc.SetWriteDeadline(time.Now().Add(DefaultWriteTimeout))
			tc.SetWriteDeadline(time.Time{})
			tc.Write(resp)
		}
	})
}

// BenchmarkRouter routes one exchange: to a catch-all route (the hello
// examples), to the last of examples/chat's three routes, through a mount,
// and to the first and the last of 10, 1,000 and 10,000 mounts "/rN/*"
// (the cost should not depend on which; fewer than 8 routes are scanned).
func BenchmarkRouter(b *testing.B) {
	ok := HandlerFunc(func(context.Context, *Exchange) error { return nil })
	must := func(s string) Pattern {
		p, err := ParsePattern(s)
		if err != nil {
			b.Fatal(err)
		}
		return p
	}
	env := func(method, path string) Env {
		return Env{abi.EnvTransport: "http", abi.EnvRequestMethod: method, abi.EnvPathInfo: path, abi.EnvScriptName: "",
			abi.EnvQueryString: "", abi.EnvServerName: "127.0.0.1", abi.EnvServerPort: "8080", "HTTP_HOST": "127.0.0.1:8080"}
	}
	type benchCase struct {
		name   string
		routes []Route
		env    Env
	}
	var cases []benchCase
	for _, bc := range []benchCase{
		{"catch-all", []Route{{Name: "hello", Handler: ok}}, env("GET", "/")},
		{"chat-pull", []Route{
			{Name: "page", Match: map[string]Pattern{abi.EnvPathInfo: must("/"), abi.EnvRequestMethod: must("GET")}, Handler: ok},
			{Name: "push", Match: map[string]Pattern{abi.EnvPathInfo: must("/chat/push"), abi.EnvRequestMethod: must("POST")}, Handler: ok},
			{Name: "pull", Match: map[string]Pattern{abi.EnvPathInfo: must("/chat/pull"), abi.EnvRequestMethod: must("GET")}, Handler: ok},
		}, env("GET", "/chat/pull")},
		{"mount", []Route{
			{Name: "api", Match: map[string]Pattern{abi.EnvPathInfo: must("/api/*")}, Handler: ok},
		}, env("GET", "/api/users/1")},
	} {
		cases = append(cases, bc)
	}
	for _, n := range []int{10, 1000, 10000} {
		routes := make([]Route, n)
		for i := range routes {
			routes[i] = Route{Name: fmt.Sprint("r", i), Match: map[string]Pattern{abi.EnvPathInfo: must(fmt.Sprintf("/r%d/*", i))}, Handler: ok}
		}
		cases = append(cases,
			benchCase{fmt.Sprintf("routes=%d/first", n), routes, env("GET", "/r0/users/1")},
			benchCase{fmt.Sprintf("routes=%d/last", n), routes, env("GET", fmt.Sprintf("/r%d/users/1", n-1))})
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			r := NewRouter(bc.routes...)
			x := &Exchange{Env: bc.env.Clone()}
			path := bc.env[abi.EnvPathInfo]
			for b.Loop() {
				// A mount moves PATH_INFO to SCRIPT_NAME: put them back
				// (two map stores, in every case alike).
				x.Env[abi.EnvPathInfo], x.Env[abi.EnvScriptName] = path, ""
				if err := r.Serve(context.Background(), x); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEnvClone copies a connection's env and adds a request's keys,
// as the HTTP transport does for every request.
func BenchmarkEnvClone(b *testing.B) {
	conn := Env{abi.EnvListener: "web", abi.EnvNetwork: "tcp", abi.EnvServerName: "127.0.0.1", abi.EnvServerPort: "8080",
		abi.EnvRemoteAddr: "127.0.0.1", abi.EnvRemotePort: "51234"}
	request := [][2]string{
		{abi.EnvTransport, "http"}, {abi.EnvRequestMethod, "GET"}, {abi.EnvRequestURI, "/"}, {abi.EnvScriptName, ""},
		{abi.EnvPathInfo, "/"}, {abi.EnvQueryString, ""}, {abi.EnvServerProtocol, "HTTP/1.1"}, {abi.EnvURLScheme, "http"},
		{"HTTP_HOST", "127.0.0.1:8080"}, {"HTTP_USER_AGENT", "wrk"}, {abi.EnvRoute, "hello"},
	}
	for b.Loop() {
		env := conn.Clone()
		for _, kv := range request {
			env[kv[0]] = kv[1]
		}
	}
}

// BenchmarkEnvKeys lists a request's env keys in order, as a guest's
// env_keys call does (the Go SDK makes one per exchange).
func BenchmarkEnvKeys(b *testing.B) {
	env := Env{abi.EnvListener: "web", abi.EnvNetwork: "tcp", abi.EnvServerName: "127.0.0.1", abi.EnvServerPort: "8080",
		abi.EnvRemoteAddr: "127.0.0.1", abi.EnvRemotePort: "51234", abi.EnvTransport: "http", abi.EnvRequestMethod: "GET",
		abi.EnvRequestURI: "/", abi.EnvScriptName: "", abi.EnvPathInfo: "/", abi.EnvQueryString: "", abi.EnvServerProtocol: "HTTP/1.1",
		abi.EnvURLScheme: "http", "HTTP_HOST": "127.0.0.1:8080", "HTTP_USER_AGENT": "wrk", abi.EnvRoute: "hello"}
	for b.Loop() {
		env.Keys()
	}
}

// BenchmarkConnEnv builds a TCP connection's env, once per accepted
// connection.
func BenchmarkConnEnv(b *testing.B) {
	c, _ := loopback(b)
	for b.Loop() {
		ConnEnv("web", c)
	}
}
