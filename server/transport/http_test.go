package transport_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/transport"
)

// testDeadline bounds every raw connection of these tests, so a server that
// fails to answer or to close fails the test instead of hanging it.
const testDeadline = 10 * time.Second

func serveHTTP(t *testing.T, h server.HandlerFunc, opts transport.Options) server.Address {
	t.Helper()
	return testutil.Serve(t, "tcp://127.0.0.1:0", "http", h, opts)
}

func sockAddr(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "h.sock")
	if len(p) > 100 {
		t.Fatalf("socket path %q too long", p)
	}
	return "unix://" + p
}

// rawConn dials a with a deadline on everything it does.
func rawConn(t *testing.T, a server.Address) net.Conn {
	t.Helper()
	c := testutil.Dial(t, a)
	c.SetDeadline(time.Now().Add(testDeadline))
	return c
}

// readResponses reads HTTP responses off r until the server closes the
// connection (at most max of them), with their bodies. The error is what
// ended the reading: nil for a clean EOF between responses.
func readResponses(r *bufio.Reader, max int) ([]*http.Response, []string, error) {
	var resps []*http.Response
	var bodies []string
	for range max {
		if _, err := r.Peek(1); err == io.EOF {
			return resps, bodies, nil
		} else if err != nil {
			return resps, bodies, err
		}
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			return resps, bodies, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		resps = append(resps, resp)
		bodies = append(bodies, string(body))
		if err != nil {
			return resps, bodies, err
		}
	}
	return resps, bodies, fmt.Errorf("more than %d responses", max)
}

func isClosedErr(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF)
}

// invocations counts handler calls and records their paths.
type invocations struct {
	mu    sync.Mutex
	paths []string
}

func (c *invocations) add(path string) {
	c.mu.Lock()
	c.paths = append(c.paths, path)
	c.mu.Unlock()
}

func (c *invocations) reset() {
	c.mu.Lock()
	c.paths = nil
	c.mu.Unlock()
}

func (c *invocations) get() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.paths...)
}

func TestHTTPOverTCPAndUnix(t *testing.T) {
	for _, addr := range []string{"tcp://127.0.0.1:0", sockAddr(t)} {
		network, _, _ := strings.Cut(addr, ":")
		t.Run(network, func(t *testing.T) {
			a := testutil.Serve(t, addr, "http", server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
				body, err := io.ReadAll(x.Reader)
				if err != nil {
					return err
				}
				x.Writer.Header().Set("Content-Type", "text/plain")
				fmt.Fprintf(x.Writer, "%s %s %s %s", x.Env[abi.EnvNetwork], x.Env[abi.EnvRequestMethod], x.Env[abi.EnvPathInfo], body)
				return nil
			}), transport.Options{})
			client := testutil.HTTPClient(t, a)
			resp, err := client.Post(testutil.URL(a)+"/hello", "text/plain", strings.NewReader("payload"))
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if want := network + " POST /hello payload"; resp.StatusCode != 200 || string(body) != want {
				t.Fatalf("got %d %q, want 200 %q", resp.StatusCode, body, want)
			}
			if resp.Header.Get("Content-Type") != "text/plain" || resp.Proto != "HTTP/1.1" {
				t.Fatalf("Content-Type %q, proto %s", resp.Header.Get("Content-Type"), resp.Proto)
			}
		})
	}
}

func TestHTTPKeepAlive(t *testing.T) {
	l := testutil.NewCountingListener(testutil.Listen(t, "tcp://127.0.0.1:0"))
	ports := make(chan string, 10)
	testutil.ServeListener(t, l, "http", server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
		ports <- x.Env[abi.EnvRemotePort]
		_, err := io.WriteString(x.Writer, "ok")
		return err
	}), transport.Options{})
	a := server.ListenerAddress(l)
	client := testutil.HTTPClient(t, a)

	var reused []bool
	for i := range 3 {
		trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) { reused = append(reused, info.Reused) }}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", testutil.URL(a)+"/"+strconv.Itoa(i), nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(body) != "ok" || resp.Close {
			t.Fatalf("request %d: %q, %v, close=%v", i, body, err, resp.Close)
		}
	}
	if fmt.Sprint(reused) != "[false true true]" {
		t.Fatalf("connection reuse %v, want [false true true]", reused)
	}
	if n := l.Accepted(); n != 1 {
		t.Fatalf("server accepted %d connections, want 1", n)
	}
	p1, p2, p3 := <-ports, <-ports, <-ports
	if p1 == "" || p1 != p2 || p2 != p3 {
		t.Fatalf("REMOTE_PORT of the requests: %q %q %q, want one connection", p1, p2, p3)
	}
}

func TestHTTPEnv(t *testing.T) {
	envs := make(chan server.Env, 10)
	record := server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
		io.Copy(io.Discard, x.Reader)
		envs <- x.Env.Clone()
		return nil
	})
	do := func(t *testing.T, client *http.Client, req *http.Request) server.Env {
		t.Helper()
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		return <-envs
	}
	check := func(t *testing.T, env server.Env, want map[string]string, absent ...string) {
		t.Helper()
		for k, v := range want {
			if got, ok := env[k]; !ok || got != v {
				t.Errorf("env[%s] = %q (present %v), want %q", k, got, ok, v)
			}
		}
		for _, k := range absent {
			if v, ok := env[k]; ok {
				t.Errorf("env[%s] = %q, want it absent", k, v)
			}
		}
	}

	t.Run("tcp", func(t *testing.T) {
		a := serveHTTP(t, record, transport.Options{})
		client := testutil.HTTPClient(t, a)
		req, _ := http.NewRequest("PUT", testutil.URL(a)+"/a%20b/c?x=1&y=%2F", strings.NewReader("0123456789"))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Custom", "custom value")
		req.Header.Add("X-Multi", "one")
		req.Header.Add("X-Multi", "two")
		req.Header.Add("Cookie", "a=1")
		req.Header.Add("Cookie", "b=2")
		req.Header["X_Forwarded_For"] = []string{"spoofed"}
		req.Header.Set("X-Forwarded-For", "real")
		req.Header["X_Only_Underscore"] = []string{"dropped"}
		req.Header.Set("User-Agent", "bubble-test")
		env := do(t, client, req)
		check(t, env, map[string]string{
			abi.EnvTransport:       "http",
			abi.EnvListener:        "test",
			abi.EnvNetwork:         "tcp",
			abi.EnvURLScheme:       "http",
			abi.EnvRequestMethod:   "PUT",
			abi.EnvRequestURI:      "/a%20b/c?x=1&y=%2F",
			abi.EnvScriptName:      "",
			abi.EnvPathInfo:        "/a b/c",
			abi.EnvQueryString:     "x=1&y=%2F",
			abi.EnvContentType:     "application/json",
			abi.EnvContentLength:   "10",
			abi.EnvServerProtocol:  "HTTP/1.1",
			abi.EnvServerName:      "127.0.0.1",
			abi.EnvServerPort:      strconv.Itoa(a.Port),
			abi.EnvRemoteAddr:      "127.0.0.1",
			"HTTP_HOST":            net.JoinHostPort("127.0.0.1", strconv.Itoa(a.Port)),
			"HTTP_X_CUSTOM":        "custom value",
			"HTTP_X_MULTI":         "one, two",
			"HTTP_COOKIE":          "a=1; b=2",
			"HTTP_X_FORWARDED_FOR": "real",
			"HTTP_USER_AGENT":      "bubble-test",
		}, "HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH", "HTTP_X_ONLY_UNDERSCORE", "bubble.route", "line.number")
		if p, err := strconv.Atoi(env[abi.EnvRemotePort]); err != nil || p <= 0 || p > 65535 {
			t.Errorf("REMOTE_PORT = %q", env[abi.EnvRemotePort])
		}
		for k, v := range env {
			if strings.Contains(v, "spoofed") || strings.Contains(v, "dropped") {
				t.Errorf("env[%s] = %q comes from a header with an underscore", k, v)
			}
		}

		// GET without a body: no CONTENT_LENGTH or CONTENT_TYPE, empty QUERY_STRING present.
		req, _ = http.NewRequest("GET", testutil.URL(a)+"/", nil)
		env = do(t, client, req)
		check(t, env, map[string]string{abi.EnvRequestMethod: "GET", abi.EnvPathInfo: "/", abi.EnvQueryString: "", abi.EnvRequestURI: "/"},
			abi.EnvContentLength, abi.EnvContentType)

		// A chunked body has no known length.
		req, _ = http.NewRequest("POST", testutil.URL(a)+"/chunked", io.MultiReader(strings.NewReader("abc")))
		env = do(t, client, req)
		check(t, env, map[string]string{abi.EnvPathInfo: "/chunked"}, abi.EnvContentLength, "HTTP_TRANSFER_ENCODING")

		// An explicit empty body has length 0.
		req, _ = http.NewRequest("POST", testutil.URL(a)+"/empty", http.NoBody)
		env = do(t, client, req)
		check(t, env, map[string]string{abi.EnvPathInfo: "/empty", abi.EnvContentLength: "0"})
	})

	t.Run("raw request", func(t *testing.T) {
		// What the Go client would normalise: HTTP/1.0, a request line
		// with an absolute URI.
		a := serveHTTP(t, record, transport.Options{})
		c := rawConn(t, a)
		io.WriteString(c, "GET http://example.com/abs?q HTTP/1.0\r\nX-Dup: 1\r\nx-dup: 2\r\n\r\n")
		if _, _, err := readResponses(bufio.NewReader(c), 2); err != nil {
			t.Fatal(err)
		}
		check(t, <-envs, map[string]string{
			abi.EnvServerProtocol: "HTTP/1.0",
			abi.EnvRequestURI:     "http://example.com/abs?q",
			abi.EnvPathInfo:       "/abs",
			abi.EnvQueryString:    "q",
			"HTTP_HOST":           "example.com",
			"HTTP_X_DUP":          "1, 2",
		})
	})

	t.Run("unix", func(t *testing.T) {
		addr := sockAddr(t)
		a := testutil.Serve(t, addr, "http", record, transport.Options{})
		client := testutil.HTTPClient(t, a)
		req, _ := http.NewRequest("GET", "http://sock.local/u", nil)
		env := do(t, client, req)
		check(t, env, map[string]string{
			abi.EnvNetwork:    "unix",
			abi.EnvServerName: a.Path,
			abi.EnvRemoteAddr: "@",
			"HTTP_HOST":       "sock.local",
			abi.EnvPathInfo:   "/u",
		}, abi.EnvServerPort, abi.EnvRemotePort)
	})
}

func getBody(t *testing.T, client *http.Client, url string) (*http.Response, string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("reading the body: %v", err)
	}
	return resp, string(body)
}

func TestHTTPResponseWriter(t *testing.T) {
	type result struct {
		before, after, committedBefore, committedAfter bool
	}
	results := make(chan result, 10)
	a := serveHTTP(t, func(ctx context.Context, x *server.Exchange) error {
		w := x.Writer
		switch x.Env[abi.EnvPathInfo] {
		case "/nothing":
			return nil
		case "/status-and-header":
			w.Header().Set("X-Before", "yes")
			w.Header().Set("Content-Type", "application/x-test")
			if !w.SetStatus(http.StatusCreated) {
				return errors.New("SetStatus before write returned false")
			}
			_, err := io.WriteString(w, "created")
			return err
		case "/status-only":
			// No write: the status must still be sent.
			w.Header().Set("X-Only", "1")
			w.SetStatus(http.StatusAccepted)
			return nil
		case "/no-content":
			w.SetStatus(http.StatusNoContent)
			return nil
		case "/late":
			var r result
			r.committedBefore = w.Committed()
			r.before = w.SetStatus(http.StatusTeapot)
			io.WriteString(w, "body")
			r.committedAfter = w.Committed()
			r.after = w.SetStatus(http.StatusInternalServerError)
			w.Header().Set("X-Late", "ignored")
			results <- r
			return nil
		case "/flush-only":
			w.SetStatus(http.StatusAccepted)
			w.Header().Set("X-Flushed", "1")
			if err := w.Flush(); err != nil {
				return err
			}
			if !w.Committed() || w.SetStatus(http.StatusOK) {
				return errors.New("Flush did not commit")
			}
			return nil
		}
		return fmt.Errorf("%w: test handler", server.ErrNoRoute)
	}, transport.Options{})
	client := testutil.HTTPClient(t, a)
	base := testutil.URL(a)

	resp, body := getBody(t, client, base+"/nothing")
	if resp.StatusCode != 200 || body != "" || resp.ContentLength != 0 {
		t.Errorf("/nothing: %d %q length %d, want 200, empty", resp.StatusCode, body, resp.ContentLength)
	}

	resp, body = getBody(t, client, base+"/status-and-header")
	if resp.StatusCode != 201 || body != "created" || resp.Header.Get("X-Before") != "yes" || resp.Header.Get("Content-Type") != "application/x-test" {
		t.Errorf("/status-and-header: %d %q %v", resp.StatusCode, body, resp.Header)
	}

	resp, body = getBody(t, client, base+"/status-only")
	if resp.StatusCode != 202 || body != "" || resp.Header.Get("X-Only") != "1" {
		t.Errorf("/status-only: %d %q %v, want 202 with X-Only", resp.StatusCode, body, resp.Header)
	}

	resp, body = getBody(t, client, base+"/no-content")
	if resp.StatusCode != 204 || body != "" {
		t.Errorf("/no-content: %d %q, want 204", resp.StatusCode, body)
	}

	resp, body = getBody(t, client, base+"/late")
	r := <-results
	if r.committedBefore || !r.before || !r.committedAfter || r.after {
		t.Errorf("/late: committed before write %v, SetStatus before %v, committed after %v, SetStatus after %v",
			r.committedBefore, r.before, r.committedAfter, r.after)
	}
	if resp.StatusCode != http.StatusTeapot || body != "body" || resp.Header.Get("X-Late") != "" {
		t.Errorf("/late: %d %q %v, want 418 body without X-Late", resp.StatusCode, body, resp.Header)
	}

	resp, body = getBody(t, client, base+"/flush-only")
	if resp.StatusCode != 202 || body != "" || resp.Header.Get("X-Flushed") != "1" {
		t.Errorf("/flush-only: %d %q %v", resp.StatusCode, body, resp.Header)
	}
}

func TestHTTPFlushStreams(t *testing.T) {
	clientGotFirst := make(chan struct{})
	handlerErr := make(chan error, 1)
	a := serveHTTP(t, func(ctx context.Context, x *server.Exchange) error {
		err := func() error {
			if _, err := io.WriteString(x.Writer, "first;"); err != nil {
				return err
			}
			if err := x.Writer.Flush(); err != nil {
				return err
			}
			// The client must see "first;" while the handler is still running.
			select {
			case <-clientGotFirst:
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(testDeadline):
				return errors.New("the client never received the flushed chunk")
			}
			_, err := io.WriteString(x.Writer, "second")
			return err
		}()
		handlerErr <- err
		return err
	}, transport.Options{})
	client := testutil.HTTPClient(t, a)
	resp, err := client.Get(testutil.URL(a) + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first := make([]byte, len("first;"))
	if _, err := io.ReadFull(resp.Body, first); err != nil || string(first) != "first;" {
		t.Fatalf("first chunk %q, %v", first, err)
	}
	close(clientGotFirst)
	rest, err := io.ReadAll(resp.Body)
	if err != nil || string(rest) != "second" {
		t.Fatalf("rest %q, %v", rest, err)
	}
	if err := <-handlerErr; err != nil {
		t.Fatal(err)
	}
}

func TestHTTPHandlerErrors(t *testing.T) {
	secret := "db password hunter2 at 10.1.2.3"
	cases := []struct {
		path     string
		err      error
		status   int
		contains string
	}{
		{"/no/route/here", fmt.Errorf("%w GET /no/route/here", server.ErrNoRoute), 404, "/no/route/here"},
		{"/generic", errors.New(secret), 500, "Internal Server Error"},
		{"/failed", fmt.Errorf("%w: %s", server.ErrHandlerFailed, secret), 500, "Internal Server Error"},
		{"/timeout", fmt.Errorf("%w: %s", server.ErrTimeout, secret), 504, "Gateway Timeout"},
		{"/deadline", fmt.Errorf("handler: %w", context.DeadlineExceeded), 504, "Gateway Timeout"},
		{"/overloaded", server.ErrOverloaded, 503, "Service Unavailable"},
		{"/bad", server.ErrBadRequest, 400, "Bad Request"},
		{"/large", server.ErrTooLarge, 413, "Request Entity Too Large"},
	}
	byPath := map[string]error{}
	for _, c := range cases {
		byPath[c.path] = c.err
	}
	a := serveHTTP(t, func(ctx context.Context, x *server.Exchange) error {
		// Metadata set before the failure must not reach the client.
		x.Writer.Header().Set("X-Partial", "leaked")
		x.Writer.SetStatus(http.StatusCreated)
		return byPath[x.Env[abi.EnvPathInfo]]
	}, transport.Options{})
	client := testutil.HTTPClient(t, a)
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			resp, body := getBody(t, client, testutil.URL(a)+c.path)
			if resp.StatusCode != c.status {
				t.Errorf("status %d, want %d", resp.StatusCode, c.status)
			}
			if !strings.Contains(body, c.contains) {
				t.Errorf("body %q does not contain %q", body, c.contains)
			}
			if strings.Contains(body, "hunter2") {
				t.Errorf("body %q leaks the error text", body)
			}
			if resp.Header.Get("X-Partial") != "" {
				t.Errorf("header set before the failure was sent: %v", resp.Header)
			}
		})
	}

	t.Run("router 404", func(t *testing.T) {
		r := server.NewRouter() // nothing routes
		a := serveHTTP(t, r.Serve, transport.Options{})
		resp, body := getBody(t, testutil.HTTPClient(t, a), testutil.URL(a)+"/missing/page?q=1")
		if resp.StatusCode != 404 || !strings.Contains(body, "/missing/page") {
			t.Fatalf("got %d %q, want 404 naming the path", resp.StatusCode, body)
		}
	})
}

func TestHTTPErrorAfterWrite(t *testing.T) {
	a := serveHTTP(t, func(ctx context.Context, x *server.Exchange) error {
		switch x.Env[abi.EnvPathInfo] {
		case "/flushed":
			io.WriteString(x.Writer, "partial response")
			if err := x.Writer.Flush(); err != nil {
				return err
			}
		case "/buffered":
			io.WriteString(x.Writer, "partial")
		case "/large":
			x.Writer.Write(bytes.Repeat([]byte("z"), 100<<10))
		}
		return errors.New("failed half way")
	}, transport.Options{})
	client := testutil.HTTPClient(t, a)
	// Nothing of a response held by the host has left it: a failure
	// replaces it with an error response (and the connection stays usable).
	resp, body := getBody(t, client, testutil.URL(a)+"/buffered")
	if resp.StatusCode != 500 || strings.Contains(body, "partial") || resp.Close {
		t.Fatalf("/buffered: %d %q close=%v, want a clean 500 on a kept connection", resp.StatusCode, body, resp.Close)
	}
	for _, path := range []string{"/flushed", "/large"} {
		t.Run(path, func(t *testing.T) {
			resp, err := client.Get(testutil.URL(a) + path)
			if err != nil {
				// The response was cut before its header: incomplete too.
				if path == "/flushed" {
					t.Fatalf("the flushed header should have arrived: %v", err)
				}
				return
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil {
				t.Fatalf("got a clean response %d %q (length %d); want an incomplete one", resp.StatusCode, body, len(body))
			}
			if path == "/flushed" && (resp.StatusCode != 200 || string(body) != "partial response") {
				t.Fatalf("got %d %q before the cut", resp.StatusCode, body)
			}
		})
	}
}

// writeRaw sends req on a fresh connection and returns the responses and
// what ended them.
func writeRaw(t *testing.T, a server.Address, req string) ([]*http.Response, []string, error) {
	t.Helper()
	c := rawConn(t, a)
	go io.WriteString(c, req) // the server may answer before reading it all
	return readResponses(bufio.NewReader(c), 10)
}

func TestHTTPMalformedRequests(t *testing.T) {
	var calls invocations
	a := serveHTTP(t, func(ctx context.Context, x *server.Exchange) error {
		calls.add(x.Env[abi.EnvPathInfo])
		io.Copy(io.Discard, x.Reader)
		return nil
	}, transport.Options{MaxHeaderBytes: 1024})

	bigHeader := "X-Big: " + strings.Repeat("a", 8<<10) + "\r\n"
	cases := []struct {
		name   string
		req    string
		status int
	}{
		{"conflicting Content-Length", "POST /cl HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400},
		{"bad Content-Length", "POST /cl HTTP/1.1\r\nHost: x\r\nContent-Length: 5x\r\n\r\nhello", 400},
		{"negative Content-Length", "POST /cl HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\nhello", 400},
		{"Transfer-Encoding gzip, identity", "POST /te HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, identity\r\n\r\nabc", 501},
		{"Transfer-Encoding foo", "POST /te HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: foo\r\n\r\nabc", 501},
		{"two Transfer-Encoding headers", "POST /te HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501},
		{"oversized headers", "GET /big HTTP/1.1\r\nHost: x\r\n" + bigHeader + "\r\n", 431},
		{"missing Host", "GET /nohost HTTP/1.1\r\n\r\n", 400},
		{"garbage request line", "HELLO\r\n\r\n", 400},
		{"space in header name", "GET /sp HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n", 400},
		{"leading space before the first header", "GET /sp HTTP/1.1\r\n Host: x\r\n\r\n", 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resps, _, err := writeRaw(t, a, c.req)
			if len(resps) != 1 {
				t.Fatalf("got %d responses (ended by %v), want 1", len(resps), err)
			}
			if resps[0].StatusCode != c.status {
				t.Fatalf("status %d, want %d", resps[0].StatusCode, c.status)
			}
			if !resps[0].Close {
				t.Errorf("the error response does not close the connection")
			}
			if err != nil && !isClosedErr(err) {
				t.Errorf("after the response: %v, want the connection closed", err)
			}
		})
	}
	if got := calls.get(); len(got) != 0 {
		t.Fatalf("the handler ran for malformed requests: %v", got)
	}
}

func TestHTTPSlowHeaders(t *testing.T) {
	var calls invocations
	a := serveHTTP(t, func(ctx context.Context, x *server.Exchange) error {
		calls.add(x.Env[abi.EnvPathInfo])
		return nil
	}, transport.Options{ReadHeaderTimeout: 300 * time.Millisecond})

	c := rawConn(t, a)
	if _, err := io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: x\r\n"); err != nil {
		t.Fatal(err)
	}
	// Trickle one header line at a time, keeping the connection busy, until
	// the server hangs up: only a deadline on the whole header can end it.
	readDone := make(chan error, 1)
	var got []byte
	go func() {
		var err error
		got, err = io.ReadAll(c)
		if err == nil {
			err = io.EOF
		}
		readDone <- err
	}()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var err error
	sent := 0
trickle:
	for sent < int(testDeadline/(20*time.Millisecond)) {
		select {
		case err = <-readDone:
			break trickle
		case <-tick.C:
			if _, werr := fmt.Fprintf(c, "X-Slow-%d: v\r\n", sent); werr != nil {
				err = <-readDone
				break trickle
			}
			sent++
		}
	}
	if err == nil {
		t.Fatalf("still open after trickling %d header lines", sent)
	}
	if !isClosedErr(err) {
		t.Fatalf("connection ended with %v, want closed by the server", err)
	}
	if len(got) != 0 {
		t.Errorf("server answered %q to an unfinished request", got)
	}
	if len(calls.get()) != 0 {
		t.Errorf("the handler ran")
	}
}

const smuggle = "POST /first HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n"
const smuggledRequest = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"

func TestHTTPSmuggling(t *testing.T) {
	modes := map[string]func(x *server.Exchange) error{
		"writes": func(x *server.Exchange) error { _, err := io.WriteString(x.Writer, "ok"); return err },
		"empty":  func(x *server.Exchange) error { return nil },
		"404": func(x *server.Exchange) error {
			return fmt.Errorf("%w GET %s", server.ErrNoRoute, x.Env[abi.EnvPathInfo])
		},
		"500": func(x *server.Exchange) error { return errors.New("boom") },
	}
	// Each prefix is a request that the sniffer could misread if it did not
	// follow net/http exactly; after it come a request with both
	// Transfer-Encoding and Content-Length and the smuggled one.
	prefixes := []struct{ name, req string }{
		{"none", ""},
		{"after a GET", "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"after OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"after a folded Content-Length", "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n 5\r\n\r\nhello"},
		{"after a folded Transfer-Encoding", "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
		{"after HTTP/1.0 keep-alive with Transfer-Encoding", "POST /a HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"},
	}
	for mode, respond := range modes {
		var calls invocations
		a := serveHTTP(t, func(ctx context.Context, x *server.Exchange) error {
			calls.add(x.Env[abi.EnvPathInfo])
			io.Copy(io.Discard, x.Reader)
			return respond(x)
		}, transport.Options{})
		for _, p := range prefixes {
			t.Run(mode+"/"+p.name, func(t *testing.T) {
				calls.reset()
				resps, _, err := writeRaw(t, a, p.req+smuggle+smuggledRequest)
				for _, path := range calls.get() {
					if path == "/smuggled" {
						t.Fatalf("the smuggled request was served (handler calls %v, %d responses)", calls.get(), len(resps))
					}
				}
				if err != nil && !isClosedErr(err) {
					t.Fatalf("reading responses: %v", err)
				}
				if len(resps) == 0 {
					t.Fatal("no response at all")
				}
				if last := resps[len(resps)-1]; !last.Close {
					t.Errorf("the last response (%d) does not say Connection: close", last.StatusCode)
				}
				// Transfer-Encoding with Content-Length is refused outright
				// (RFC 9112 §6.1 allows it), never passed to a handler.
				if p.name == "none" && (len(resps) != 1 || resps[0].StatusCode != http.StatusBadRequest || len(calls.get()) != 0) {
					t.Errorf("got %d responses, handler calls %v; want one 400 and no call", len(resps), calls.get())
				}
			})
		}
	}
}

func TestHTTPPipelining(t *testing.T) {
	// The positive control for the smuggling check: correctly framed
	// pipelined requests with bodies are all served on one connection.
	var calls invocations
	a := serveHTTP(t, func(ctx context.Context, x *server.Exchange) error {
		body, err := io.ReadAll(x.Reader)
		if err != nil {
			return err
		}
		calls.add(x.Env[abi.EnvPathInfo])
		fmt.Fprintf(x.Writer, "%s:%s", x.Env[abi.EnvPathInfo], body)
		return nil
	}, transport.Options{})
	lookalike := "GET /smuggled HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
	reqs := "POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"5;ext=1\r\nhello\r\n" + strconv.FormatInt(int64(len(lookalike)), 16) + "\r\n" + lookalike + "\r\n" +
		"0\r\nX-Trailer: t\r\n\r\n" +
		"POST /length HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.Itoa(len(lookalike)) + "\r\n\r\n" + lookalike +
		"GET /last HTTP/1.1\r\nHost: x\r\n\r\n"
	c := rawConn(t, a)
	if _, err := io.WriteString(c, reqs); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	want := []string{"/chunked:hello" + lookalike, "/length:" + lookalike, "/last:"}
	for i, w := range want {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i+1, err)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != 200 || string(body) != w || resp.Close {
			t.Fatalf("response %d: %d %q close=%v, %v; want 200 %q kept alive", i+1, resp.StatusCode, body, resp.Close, err, w)
		}
	}
	if got := strings.Join(calls.get(), ","); got != "/chunked,/length,/last" {
		t.Fatalf("handler calls %s", got)
	}
	// The connection is still usable.
	io.WriteString(c, "GET /again HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("request after the pipeline: %v", err)
	}
	resp.Body.Close()

	// OPTIONS * is answered and counted like any request.
	io.WriteString(c, "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"+smuggle+smuggledRequest)
	resps, _, err := readResponses(br, 5)
	if err != nil && !isClosedErr(err) {
		t.Fatal(err)
	}
	if len(resps) != 2 || resps[0].StatusCode != 200 || resps[0].Close || !resps[1].Close {
		t.Fatalf("OPTIONS * then a smuggling request: %d responses", len(resps))
	}
}

// pattern is a deterministic, non-periodic-looking byte stream: a random
// block of prime length repeated, so that a lost, duplicated or reordered
// transport buffer changes the content.
type pattern struct {
	block []byte
	off   int
	left  int64
}

func newPattern(size int64) *pattern {
	block := make([]byte, 65521)
	r := rand.NewChaCha8([32]byte{1, 2, 3})
	r.Read(block)
	return &pattern{block: block, left: size}
}

func (p *pattern) Read(b []byte) (int, error) {
	if p.left == 0 {
		return 0, io.EOF
	}
	n := 0
	for n < len(b) && p.left > 0 {
		k := copy(b[n:min(len(b), n+int(min(p.left, int64(len(b)))))], p.block[p.off:])
		n += k
		p.left -= int64(k)
		p.off = (p.off + k) % len(p.block)
	}
	return n, nil
}

// heldCounter counts, across an echo, the bytes a handler read but had not
// written yet: what it held at once.
type heldCounter struct {
	read, written atomic.Int64
	max           atomic.Int64
}

func (h *heldCounter) note() {
	held := h.read.Load() - h.written.Load()
	for {
		m := h.max.Load()
		if held <= m || h.max.CompareAndSwap(m, held) {
			return
		}
	}
}

type countingReader struct {
	r io.Reader
	h *heldCounter
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.h.read.Add(int64(n))
	c.h.note()
	return n, err
}

type countingWriter struct {
	w io.Writer
	h *heldCounter
}

func (c countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.h.written.Add(int64(n))
	return n, err
}

func TestHTTPStreamingEcho100MB(t *testing.T) {
	if testing.Short() {
		t.Skip("100 MB transfer")
	}
	const size = 100 << 20
	const bufSize = 16 << 10
	for _, framing := range []string{"chunked", "content-length"} {
		t.Run(framing, func(t *testing.T) {
			var held heldCounter
			handlerDone := make(chan error, 1)
			a := serveHTTP(t, func(ctx context.Context, x *server.Exchange) error {
				x.Writer.Header().Set("Content-Type", "application/octet-stream")
				_, err := io.CopyBuffer(countingWriter{x.Writer, &held}, countingReader{x.Reader, &held}, make([]byte, bufSize))
				handlerDone <- err
				return err
			}, transport.Options{})
			client := testutil.HTTPClient(t, a)
			client.Timeout = 5 * time.Minute

			sent := sha256.New()
			var body io.Reader = io.TeeReader(newPattern(size), sent)
			req, _ := http.NewRequest("POST", testutil.URL(a)+"/echo", body)
			if framing == "content-length" {
				req.ContentLength = size
			} else {
				req.ContentLength = -1
			}

			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)

			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got := sha256.New()
			n, err := io.Copy(got, resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatalf("after %d bytes: %v", n, err)
			}
			if err := <-handlerDone; err != nil {
				t.Fatalf("handler: %v", err)
			}
			runtime.ReadMemStats(&after)

			if resp.StatusCode != 200 || n != size {
				t.Fatalf("echo: status %d, %d bytes, want 200 and %d", resp.StatusCode, n, size)
			}
			if !bytes.Equal(got.Sum(nil), sent.Sum(nil)) {
				t.Fatal("the echoed bytes differ from the sent ones")
			}
			// The handler copies through a fixed buffer; if the transport
			// did not stream (e.g. it read the whole body before the handler
			// or buffered the response), the stream would stall or the
			// handler would hold more.
			if m := held.max.Load(); m > bufSize {
				t.Errorf("the handler held %d bytes at once, more than its %d byte buffer", m, bufSize)
			}
			// TotalAlloc only grows, so unlike HeapInuse it does not depend on
			// when the GC ran; it counts every allocation of the process in
			// the transfer, client and server. Buffering the 100 MB anywhere
			// would add at least 100 MB; streaming allocates a few fixed
			// buffers and per-chunk trifles (under 1 MB measured). 32 MB leaves
			// room for the rest of the process. This test must stay
			// sequential (no t.Parallel): Go runs parallel tests only after
			// the sequential ones, so nothing else allocates meanwhile.
			// HeapInuse would be the wrong measure: it depends on GC timing.
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 32<<20 {
				t.Errorf("allocated %d MB during a %d MB echo; the transfer is not streamed", alloc>>20, size>>20)
			} else {
				t.Logf("allocated %.1f MB during the %d MB echo", float64(alloc)/(1<<20), size>>20)
			}
		})
	}
}

func TestHTTPMaxBodyBytes(t *testing.T) {
	const limit = 100
	var calls invocations
	readErr := make(chan error, 10)
	a := serveHTTP(t, func(ctx context.Context, x *server.Exchange) error {
		calls.add(x.Env[abi.EnvPathInfo])
		body, err := io.ReadAll(x.Reader)
		readErr <- err
		if err != nil {
			if len(body) != limit {
				return fmt.Errorf("read %d bytes before the error, want %d", len(body), limit)
			}
			return err
		}
		fmt.Fprintf(x.Writer, "%d", len(body))
		return nil
	}, transport.Options{MaxBodyBytes: limit})
	client := testutil.HTTPClient(t, a)

	t.Run("Content-Length over the limit", func(t *testing.T) {
		calls.reset()
		resps, bodies, err := writeRaw(t, a, "POST /cl HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n"+strings.Repeat("a", 101))
		if err != nil && !isClosedErr(err) {
			t.Fatal(err)
		}
		if len(resps) != 1 || resps[0].StatusCode != 413 || !resps[0].Close {
			t.Fatalf("got %d responses %v, want one 413 closing the connection", len(resps), bodies)
		}
		if !strings.Contains(bodies[0], "101") {
			t.Errorf("413 body %q does not give the size", bodies[0])
		}
		if len(calls.get()) != 0 {
			t.Fatal("the handler ran for a body known to be too large")
		}
	})

	t.Run("Content-Length over the limit, body never sent", func(t *testing.T) {
		calls.reset()
		c := rawConn(t, a)
		io.WriteString(c, "POST /cl HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != 413 {
			t.Fatalf("got %v, %v; want 413 without waiting for the body", resp, err)
		}
		if len(calls.get()) != 0 {
			t.Fatal("the handler ran")
		}
	})

	for _, n := range []int{0, limit - 1, limit} {
		for _, chunked := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d bytes chunked=%v", n, chunked), func(t *testing.T) {
				var body io.Reader = strings.NewReader(strings.Repeat("b", n))
				if chunked {
					body = io.MultiReader(body)
				}
				resp, err := client.Post(testutil.URL(a)+"/ok", "text/plain", body)
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err := <-readErr; err != nil {
					t.Fatalf("handler read: %v", err)
				}
				if resp.StatusCode != 200 || string(got) != strconv.Itoa(n) {
					t.Fatalf("got %d %q", resp.StatusCode, got)
				}
			})
		}
	}

	t.Run("chunked over the limit", func(t *testing.T) {
		resp, err := client.Post(testutil.URL(a)+"/chunked", "text/plain", io.MultiReader(strings.NewReader(strings.Repeat("c", 5*limit))))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		err = <-readErr
		if !errors.Is(err, server.ErrTooLarge) || !errors.Is(err, abi.ErrInputTooLarge) {
			t.Fatalf("handler read error %v, want ErrTooLarge", err)
		}
		if resp.StatusCode != 413 {
			t.Fatalf("status %d %q, want 413", resp.StatusCode, body)
		}
	})
}

func TestHTTPGracefulShutdown(t *testing.T) {
	l := testutil.NewCountingListener(testutil.Listen(t, "tcp://127.0.0.1:0"))
	started := make(chan struct{})
	release := make(chan struct{})
	var slowCtxErr atomic.Value
	srv, served := testutil.ServeListener(t, l, "http", server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
		if x.Env[abi.EnvPathInfo] != "/slow" {
			_, err := io.WriteString(x.Writer, "quick")
			return err
		}
		io.WriteString(x.Writer, "part1;")
		if err := x.Writer.Flush(); err != nil {
			return err
		}
		close(started)
		select {
		case <-release:
		case <-ctx.Done():
			slowCtxErr.Store(ctx.Err())
			return ctx.Err()
		}
		_, err := io.WriteString(x.Writer, "part2")
		return err
	}), transport.Options{})
	a := server.ListenerAddress(l)

	// An idle keep-alive connection.
	idle := rawConn(t, a)
	io.WriteString(idle, "GET /quick HTTP/1.1\r\nHost: x\r\n\r\n")
	idleR := bufio.NewReader(idle)
	resp, err := http.ReadResponse(idleR, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(resp.Body); string(b) != "quick" || resp.Close {
		t.Fatalf("quick: %q close=%v", b, resp.Close)
	}

	// A request in flight.
	client := testutil.HTTPClient(t, a)
	slow, err := client.Get(testutil.URL(a) + "/slow")
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Body.Close()
	part1 := make([]byte, len("part1;"))
	if _, err := io.ReadFull(slow.Body, part1); err != nil {
		t.Fatal(err)
	}
	<-started

	shutdownErr := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		shutdownErr <- srv.Shutdown(ctx)
	}()
	<-l.Closed() // Shutdown has begun.

	// The idle connection is closed without an answer.
	if b, err := io.ReadAll(idleR); err != nil && !isClosedErr(err) || len(b) != 0 {
		t.Fatalf("idle connection: read %q, %v; want it closed", b, err)
	}
	// New connections are refused.
	if c, err := a.Dial(context.Background()); err == nil {
		c.Close()
		t.Fatal("dial succeeded after Shutdown began")
	}

	close(release)
	rest, err := io.ReadAll(slow.Body)
	if err != nil || string(rest) != "part2" {
		t.Fatalf("in-flight request: rest %q, %v", rest, err)
	}
	if err := <-shutdownErr; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if v := slowCtxErr.Load(); v != nil {
		t.Fatalf("the in-flight handler was cancelled: %v", v)
	}
	if err := <-served; !errors.Is(err, server.ErrServerClosed) {
		t.Fatalf("Serve returned %v, want ErrServerClosed", err)
	}
}

func TestHTTPShutdownForcesStuckHandlers(t *testing.T) {
	l := testutil.Listen(t, "tcp://127.0.0.1:0")
	started := make(chan struct{})
	ended := make(chan error, 1)
	srv, served := testutil.ServeListener(t, l, "http", server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
		close(started)
		<-ctx.Done() // never finishes on its own
		ended <- ctx.Err()
		return ctx.Err()
	}), transport.Options{})
	a := server.ListenerAddress(l)
	c := rawConn(t, a)
	io.WriteString(c, "GET /stuck HTTP/1.1\r\nHost: x\r\n\r\n")
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want it to report the forced stop", err)
	}
	if err := <-ended; !errors.Is(err, context.Canceled) {
		t.Fatalf("handler context: %v", err)
	}
	if _, err := io.ReadAll(c); err != nil && !isClosedErr(err) {
		t.Fatalf("stuck connection: %v, want closed", err)
	}
	if err := <-served; !errors.Is(err, server.ErrServerClosed) {
		t.Fatalf("Serve returned %v", err)
	}
}

func curl(t *testing.T) string {
	const path = "/usr/bin/curl"
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s not found (Debian package curl; `make test` installs it, or apt-get install curl): %v", path, err)
	}
	return path
}

func runCurl(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, curl(t), append([]string{"-sS", "--http1.1", "--max-time", "30", "--noproxy", "*"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("curl %v: %v\n%s", args, err, stderr.Bytes())
	}
	return string(out)
}

func TestHTTPCurl(t *testing.T) {
	curl(t)
	h := server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
		body, err := io.ReadAll(x.Reader)
		if err != nil {
			return err
		}
		if x.Env[abi.EnvPathInfo] == "/missing" {
			return fmt.Errorf("%w GET /missing", server.ErrNoRoute)
		}
		x.Writer.Header().Set("X-Echo-Length", strconv.Itoa(len(body)))
		x.Writer.SetStatus(http.StatusCreated)
		fmt.Fprintf(x.Writer, "%s %s q=%s custom=%s len=%s body=%s\n", x.Env[abi.EnvRequestMethod], x.Env[abi.EnvPathInfo],
			x.Env[abi.EnvQueryString], x.Env["HTTP_X_CUSTOM"], x.Env[abi.EnvContentLength], body)
		return nil
	})

	t.Run("tcp", func(t *testing.T) {
		a := serveHTTP(t, h, transport.Options{})
		url := testutil.URL(a)
		out := runCurl(t, "", "-i", "-H", "X-Custom: from-curl", url+"/path?x=1")
		if !strings.HasPrefix(out, "HTTP/1.1 201") || !strings.Contains(out, "X-Echo-Length: 0") ||
			!strings.HasSuffix(out, "GET /path q=x=1 custom=from-curl len= body=\n") {
			t.Fatalf("curl GET:\n%s", out)
		}
		out = runCurl(t, "", "--data-binary", "hello curl", "-H", "Expect:", url+"/post")
		if out != "POST /post q= custom= len=10 body=hello curl\n" {
			t.Fatalf("curl POST: %q", out)
		}
		out = runCurl(t, "streamed from stdin", "-T", "-", "-X", "POST", "-H", "Expect:", url+"/chunked")
		if out != "POST /chunked q= custom= len= body=streamed from stdin\n" {
			t.Fatalf("curl chunked POST: %q", out)
		}
		out = runCurl(t, "", "-o", "/dev/null", "-w", "%{http_code}", url+"/missing")
		if out != "404" {
			t.Fatalf("curl /missing: status %s", out)
		}
	})

	t.Run("unix", func(t *testing.T) {
		a := testutil.Serve(t, sockAddr(t), "http", h, transport.Options{})
		out := runCurl(t, "", "--unix-socket", a.Path, "-H", "X-Custom: u", "http://localhost/over/unix")
		if out != "GET /over/unix q= custom=u len= body=\n" {
			t.Fatalf("curl over unix: %q", out)
		}
	})
}

func TestHTTPHead(t *testing.T) {
	a := serveHTTP(t, func(ctx context.Context, x *server.Exchange) error {
		x.Writer.Header().Set("X-Method", x.Env[abi.EnvRequestMethod])
		_, err := io.WriteString(x.Writer, "body for GET")
		return err
	}, transport.Options{})
	client := testutil.HTTPClient(t, a)
	resp, err := client.Head(testutil.URL(a) + "/h")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || len(body) != 0 || resp.Header.Get("X-Method") != "HEAD" {
		t.Fatalf("HEAD: %d %q %v %v", resp.StatusCode, body, resp.Header, err)
	}
	// The connection is still in step: a GET on it gets its body.
	resp, got := getBody(t, client, testutil.URL(a)+"/g")
	if resp.StatusCode != 200 || got != "body for GET" {
		t.Fatalf("GET after HEAD: %d %q", resp.StatusCode, got)
	}
}

// A client that goes away while its handler runs cancels the handler's
// context: with no body, and after a chunked body was read to its end
// (the transport then watches the connection).
func TestHTTPClientGoneCancelsHandler(t *testing.T) {
	for _, tc := range []struct{ name, req string }{
		{"no body", "GET /wait HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"after the body", "POST /wait HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			started := make(chan struct{})
			ended := make(chan error, 1)
			a := serveHTTP(t, func(ctx context.Context, x *server.Exchange) error {
				if _, err := io.Copy(io.Discard, x.Reader); err != nil {
					return err
				}
				close(started)
				select {
				case <-ctx.Done():
					ended <- ctx.Err()
					return ctx.Err()
				case <-time.After(testDeadline):
					ended <- errors.New("the handler's context was not cancelled when the client left")
					return nil
				}
			}, transport.Options{})
			c := rawConn(t, a)
			io.WriteString(c, tc.req)
			<-started
			c.Close()
			if err := <-ended; !errors.Is(err, context.Canceled) {
				t.Fatal(err)
			}
		})
	}
}

func TestHTTPReadDeadline(t *testing.T) {
	// A handler can bound a blocked body read through ReadDeadliner.
	readErr := make(chan error, 1)
	a := serveHTTP(t, func(ctx context.Context, x *server.Exchange) error {
		rd, ok := x.Writer.(server.ReadDeadliner)
		if !ok {
			readErr <- errors.New("the http writer is not a ReadDeadliner")
			return nil
		}
		if err := rd.SetReadDeadline(time.Now()); err != nil {
			readErr <- err
			return err
		}
		_, err := io.ReadAll(x.Reader)
		readErr <- err
		return err
	}, transport.Options{})
	c := rawConn(t, a)
	// The body never comes.
	io.WriteString(c, "POST /r HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\npart")
	if err := <-readErr; !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("body read ended with %v, want a deadline error", err)
	}
}

// A handler that answers without reading a small body must leave the
// keep-alive connection usable: two POSTs on one connection both get their
// answer.
func TestHTTPUnreadBodyKeepsConnection(t *testing.T) {
	h := server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
		_, err := io.WriteString(x.Writer, "ignored your body\n")
		return err
	})
	a := testutil.Serve(t, "tcp://127.0.0.1:0", "http", h, transport.Options{})
	c := testutil.Dial(t, a)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	req := "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
	br := bufio.NewReader(c)
	for i := range 2 { // one after the other, as a keep-alive client sends them
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i+1, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "ignored your body\n" || resp.Close && i == 0 {
			t.Fatalf("response %d: %d %q close=%v", i+1, resp.StatusCode, body, resp.Close)
		}
	}
}

// A handler that answers without reading a large body ends the
// connection, and the client still gets the answer: the transport reads
// away up to 256 KiB and then waits without reading (the client's writes
// block instead of failing) before closing. Closing at once would reset
// the connection under a client that is still sending, which Go's client
// reports as a write error ("broken pipe") instead of the response.
func TestHTTPAnswerBeforeLargeBody(t *testing.T) {
	h := server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
		x.Writer.SetStatus(http.StatusRequestEntityTooLarge)
		_, err := io.WriteString(x.Writer, "too large\n")
		return err
	})
	a := serveHTTP(t, h, transport.Options{})
	client := testutil.HTTPClient(t, a)
	for i := range 20 {
		resp, err := client.Post(testutil.URL(a)+"/", "application/octet-stream", bytes.NewReader(make([]byte, 4<<20)))
		if err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge || string(body) != "too large\n" || !resp.Close {
			t.Fatalf("request %d: %d %q close=%v", i+1, resp.StatusCode, body, resp.Close)
		}
	}
}
