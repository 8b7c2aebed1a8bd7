package transport_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/transport"
)

// Requests that follow a malformed chunked body must never be served: the
// connection ends after at most one response, whether the handler reads the
// body, ignores it or fails.
func TestHTTPMalformedChunkedBodyEndsConnection(t *testing.T) {
	bodies := map[string]string{
		"size zz":                 "zz\r\n",
		"size -1":                 "-1\r\n",
		"size 0x3":                "0x3\r\nabc\r\n0\r\n\r\n",
		"size with a space":       " 3\r\nabc\r\n0\r\n\r\n",
		"size overflows 64 bits":  "ffffffffffffffff1\r\n",
		"no CRLF after data":      "3\r\nabcXY0\r\n\r\n",
		"bare LF after data":      "3\r\nabc\n0\r\n\r\n",
		"1 MB chunk extension":    "3;" + strings.Repeat("e", 1<<20) + "\r\nabc\r\n0\r\n\r\n",
		"truncated then next req": "5\r\nab",
	}
	modes := map[string]func(x *server.Exchange) error{
		"reads": func(x *server.Exchange) error {
			_, err := io.Copy(io.Discard, x.Reader)
			io.WriteString(x.Writer, "read")
			return err
		},
		"ignores": func(x *server.Exchange) error { _, err := io.WriteString(x.Writer, "ignored"); return err },
		"reads and succeeds anyway": func(x *server.Exchange) error {
			io.Copy(io.Discard, x.Reader)
			_, err := io.WriteString(x.Writer, "ok")
			return err
		},
		"flushes, then reads": func(x *server.Exchange) error {
			io.WriteString(x.Writer, "early")
			x.Writer.Flush()
			io.Copy(io.Discard, x.Reader)
			return nil
		},
	}
	for mode, handle := range modes {
		var calls invocations
		a := serveHTTP(t, func(ctx context.Context, x *server.Exchange) error {
			calls.add(x.Env[abi.EnvPathInfo])
			return handle(x)
		}, transport.Options{DrainTimeout: 5 * time.Second})
		for name, body := range bodies {
			t.Run(mode+"/"+name, func(t *testing.T) {
				calls.reset()
				req := "POST /first HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + body +
					"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
				resps, _, err := writeRaw(t, a, req)
				if err != nil && !isClosedErr(err) {
					t.Fatalf("reading responses: %v (the connection must close, not hang)", err)
				}
				if len(resps) > 1 {
					t.Fatalf("%d responses on the connection, want at most 1", len(resps))
				}
				for _, p := range calls.get() {
					if p != "/first" {
						t.Fatalf("served %v: the bytes after the body were taken as a request", calls.get())
					}
				}
			})
		}
	}
}

// A body trickled after its handler returned (or timed out) holds the
// connection no longer than the drain timeout: then it closes.
func TestHTTPTrickledBodyAfterHandler(t *testing.T) {
	for _, failing := range []bool{false, true} {
		a := serveHTTP(t, func(ctx context.Context, x *server.Exchange) error {
			if failing {
				return fmt.Errorf("%w: no time left", server.ErrTimeout)
			}
			_, err := io.WriteString(x.Writer, "answered without the body")
			return err
		}, transport.Options{DrainTimeout: 200 * time.Millisecond})
		t.Run(fmt.Sprintf("failing=%v", failing), func(t *testing.T) {
			c := rawConn(t, a)
			io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n")
			stop := make(chan struct{})
			defer close(stop)
			go func() { // one byte now and then, for as long as the test runs
				for {
					select {
					case <-stop:
						return
					case <-time.After(50 * time.Millisecond):
						if _, err := c.Write([]byte("x")); err != nil {
							return
						}
					}
				}
			}()
			resps, _, err := readResponses(bufio.NewReader(c), 2)
			if err != nil && !isClosedErr(err) {
				t.Fatalf("the connection was held: %v", err)
			}
			if len(resps) != 1 || !resps[0].Close {
				t.Fatalf("%d responses; want one that closes the connection", len(resps))
			}
		})
	}
}

func TestHTTPExactHeaderLimit(t *testing.T) {
	const limit = 4096
	a := serveHTTP(t, func(ctx context.Context, x *server.Exchange) error {
		_, err := io.WriteString(x.Writer, "served")
		return err
	}, transport.Options{MaxHeaderBytes: limit})
	req := func(n int) string { // a request whose line and headers take n bytes
		head := "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: \r\n\r\n"
		return "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: " + strings.Repeat("p", n-len(head)) + "\r\n\r\n"
	}
	for _, c := range []struct {
		size   int
		status int
	}{{limit, 200}, {limit + 1, 431}, {limit + 3000, 431}, {limit + 5000, 431}} {
		resps, _, err := writeRaw(t, a, req(c.size))
		if len(resps) != 1 || resps[0].StatusCode != c.status {
			t.Fatalf("%d-byte header block: %d responses (%v), want one %d", c.size, len(resps), err, c.status)
		}
		if c.status != 200 && !resps[0].Close {
			t.Errorf("%d-byte header block: the 431 keeps the connection", c.size)
		}
	}
}

func TestHTTPEmptyLinesBeforeRequest(t *testing.T) {
	a := serveHTTP(t, func(ctx context.Context, x *server.Exchange) error {
		_, err := io.WriteString(x.Writer, x.Env[abi.EnvPathInfo])
		return err
	}, transport.Options{})
	c := rawConn(t, a)
	io.WriteString(c, "\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\n\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n\nGET /c HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	for _, want := range []string{"/a", "/b", "/c"} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%s: %v", want, err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(body) != want {
			t.Fatalf("%d %q, want 200 %q", resp.StatusCode, body, want)
		}
	}
}

func TestHTTPConnectAndPreface(t *testing.T) {
	var calls invocations
	handler := func(ctx context.Context, x *server.Exchange) error {
		calls.add(x.Env[abi.EnvRequestMethod])
		return nil
	}
	reqs := map[string]struct {
		req    string
		status int
	}{
		"CONNECT":    {"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 501},
		"PRI":        {"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505},
		"connect lc": {"connect example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 0}, // methods are case-sensitive: an unknown method
	}
	a := serveHTTP(t, handler, transport.Options{})
	for name, c := range reqs {
		calls.reset()
		resps, _, _ := writeRaw(t, a, c.req)
		if c.status == 0 {
			continue
		}
		if len(resps) != 1 || resps[0].StatusCode != c.status || !resps[0].Close {
			t.Fatalf("%s: %d responses, want one %d that closes", name, len(resps), c.status)
		}
		if got := calls.get(); len(got) != 0 {
			t.Fatalf("%s reached the handler", name)
		}
	}
	// A route that names CONNECT gets it.
	a = serveHTTP(t, handler, transport.Options{Methods: []string{"CONNECT"}})
	calls.reset()
	resps, _, _ := writeRaw(t, a, reqs["CONNECT"].req)
	if len(resps) != 1 || resps[0].StatusCode != 200 || strings.Join(calls.get(), ",") != "CONNECT" {
		t.Fatalf("CONNECT allowed: %d responses, calls %v", len(resps), calls.get())
	}
}

func TestHTTPPathsAreCleanedBeforeRouting(t *testing.T) {
	a := serveHTTP(t, func(ctx context.Context, x *server.Exchange) error {
		_, err := io.WriteString(x.Writer, x.Env[abi.EnvPathInfo]+" "+x.Env[abi.EnvRequestURI])
		return err
	}, transport.Options{})
	for _, c := range []struct {
		target string
		status int
		path   string
	}{
		{"/public/%2e%2e/admin", 200, "/admin"},
		{"/public/%2E%2E/admin", 200, "/admin"},
		{"/x/../admin/y", 200, "/admin/y"},
		{"/a/./b/.", 200, "/a/b/"},
		{"/a/b/..", 200, "/a/"},
		{"/a/%2e/b", 200, "/a/b"},
		{"/public%2F..%2Fadmin", 200, "/admin"},
		{"/files/a%2Fb", 200, "/files/a/b"},
		{"/..", 400, ""},
		{"/a/../..", 400, ""},
		{"/%2e%2e/etc/passwd", 400, ""},
		{"/a%00b", 400, ""},
		{"/a..b/.c/..d", 200, "/a..b/.c/..d"},
	} {
		c2 := rawConn(t, a)
		io.WriteString(c2, "GET "+c.target+" HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c2), nil)
		if err != nil {
			t.Fatalf("%s: %v", c.target, err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != c.status {
			t.Fatalf("%s: status %d, want %d", c.target, resp.StatusCode, c.status)
		}
		if c.status == 200 && string(body) != c.path+" "+c.target {
			t.Fatalf("%s: PATH_INFO and REQUEST_URI %q, want %q", c.target, body, c.path+" "+c.target)
		}
	}
}

func TestHTTPProxyHeaderDropped(t *testing.T) {
	a := serveHTTP(t, func(ctx context.Context, x *server.Exchange) error {
		v, ok := x.Env["HTTP_PROXY"]
		_, err := fmt.Fprintf(x.Writer, "%v %q", ok, v)
		return err
	}, transport.Options{})
	c := rawConn(t, a)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nProxy: http://evil.example:8080\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if string(body) != `false ""` {
		t.Fatalf("HTTP_PROXY reached the handler: %s", body)
	}
}

// Responses that fit the host's buffer get a Content-Length; the length a
// handler set is held to the bytes it writes.
func TestHTTPResponseFraming(t *testing.T) {
	a := serveHTTP(t, func(ctx context.Context, x *server.Exchange) error {
		switch x.Env[abi.EnvPathInfo] {
		case "/small":
			io.WriteString(x.Writer, "a")
			io.WriteString(x.Writer, "bc")
		case "/length-ok":
			x.Writer.Header().Set("Content-Length", "3")
			io.WriteString(x.Writer, "abc")
		case "/length-short":
			x.Writer.Header().Set("Content-Length", "5")
			io.WriteString(x.Writer, "abc")
		case "/length-long":
			x.Writer.Header().Set("Content-Length", "2")
			if _, err := io.WriteString(x.Writer, "abc"); err == nil {
				return fmt.Errorf("a write past Content-Length succeeded")
			}
		case "/no-content":
			x.Writer.SetStatus(204)
		}
		return nil
	}, transport.Options{})
	client := testutil.HTTPClient(t, a)
	for _, c := range []struct {
		path   string
		status int
		length int64
		body   string
	}{
		{"/small", 200, 3, "abc"},
		{"/length-ok", 200, 3, "abc"},
		{"/length-short", 500, -2, ""},
		{"/length-long", 500, -2, ""},
		{"/no-content", 204, 0, ""},
	} {
		resp, body := getBody(t, client, testutil.URL(a)+c.path)
		if resp.StatusCode != c.status || (c.length != -2 && resp.ContentLength != c.length) || (c.status == 200 && body != c.body) {
			t.Errorf("%s: %d length %d %q, want %d length %d %q", c.path, resp.StatusCode, resp.ContentLength, body, c.status, c.length, c.body)
		}
		if len(resp.TransferEncoding) != 0 {
			t.Errorf("%s: chunked", c.path)
		}
	}
}

// A handler that answers without reading a body the client holds back for
// 100 Continue: no 100 Continue is sent, and the connection closes after
// the answer (the body was never sent, so it cannot be read away).
func TestHTTPExpectContinueUnread(t *testing.T) {
	a := serveHTTP(t, func(ctx context.Context, x *server.Exchange) error {
		_, err := io.WriteString(x.Writer, "no thanks")
		return err
	}, transport.Options{})
	c := rawConn(t, a)
	io.WriteString(c, "PUT /big HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\nExpect: 100-continue\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "no thanks" || !resp.Close {
		t.Fatalf("%d %q close=%v; want the answer, closing the connection (and no 100 Continue)", resp.StatusCode, body, resp.Close)
	}
}

// Held responses come from a shared pool of buffers: under concurrency each
// client must get exactly its own bytes (run with -race too).
func TestHTTPConcurrentHeldResponses(t *testing.T) {
	a := serveHTTP(t, func(ctx context.Context, x *server.Exchange) error {
		id := x.Env[abi.EnvQueryString]
		for range 64 { // about 4 KiB in small writes: held, then sent whole
			if _, err := io.WriteString(x.Writer, id+";"); err != nil {
				return err
			}
		}
		return nil
	}, transport.Options{})
	client := testutil.HTTPClient(t, a)
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for g := range 32 {
		wg.Go(func() {
			for i := range 40 {
				id := fmt.Sprintf("g%02d-r%02d-%s", g, i, strings.Repeat("x", 50))
				resp, err := client.Get(testutil.URL(a) + "/?" + id)
				if err != nil {
					errs <- err
					return
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if want := strings.Repeat(id+";", 64); err != nil || string(body) != want {
					errs <- fmt.Errorf("request %s got %d bytes that are not its own (%v)", id, len(body), err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
