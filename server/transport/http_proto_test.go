package transport_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/transport"
)

// Requests whose framing two parsers could read differently, or that the
// RFC says to refuse, are answered with an error and the connection ends;
// no handler sees them.
func TestHTTPStrictFraming(t *testing.T) {
	var calls invocations
	a := serveHTTP(t, func(ctx context.Context, x *server.Exchange) error {
		calls.add(x.Env[abi.EnvPathInfo])
		io.Copy(io.Discard, x.Reader)
		return nil
	}, transport.Options{})
	for _, c := range []struct {
		name, req string
		status    int
	}{
		{"obs-fold", "GET /f HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", 400},
		{"bare CR in a value", "GET /cr HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n", 400},
		{"bare CR as a line end", "GET /cr HTTP/1.1\rHost: x\r\n\r\n", 400},
		{"Transfer-Encoding with Content-Length", "POST /te HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n", 400},
		{"Transfer-Encoding on HTTP/1.0", "POST /te HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
		{"two Host fields", "GET /h HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
		{"NUL in a value", "GET /nul HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", 400},
		{"control byte in the target", "GET /a\x01b HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"bad escape", "GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"userinfo", "GET http://u:p@x/ HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"five empty lines first", "\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"Expect other than 100-continue", "POST /e HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\nx", 417},
		{"HTTP/2.0 request line", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505},
		{"HTTP/0.9 request line", "GET / HTTP/0.9\r\n\r\n", 505},
		{"HTTP/3.0 request line", "GET / HTTP/3.0\r\nHost: x\r\n\r\n", 505},
	} {
		t.Run(c.name, func(t *testing.T) {
			calls.reset()
			resps, _, err := writeRaw(t, a, c.req+"GET /after HTTP/1.1\r\nHost: x\r\n\r\n")
			if err != nil && !isClosedErr(err) {
				t.Fatalf("after the response: %v, want the connection closed", err)
			}
			if len(resps) != 1 || resps[0].StatusCode != c.status || !resps[0].Close {
				t.Fatalf("got %d responses (%v), want one %d closing the connection", len(resps), resps, c.status)
			}
			if got := calls.get(); len(got) != 0 {
				t.Fatalf("handler calls %v, want none", got)
			}
		})
	}
}

// HTTP/1.0: the response says HTTP/1.0, is never chunked, and the
// connection closes after it unless the client asked to keep it and the
// response has a length.
func TestHTTP10(t *testing.T) {
	a := serveHTTP(t, func(ctx context.Context, x *server.Exchange) error {
		io.WriteString(x.Writer, "part1;")
		if x.Env[abi.EnvPathInfo] == "/stream" {
			if err := x.Writer.Flush(); err != nil {
				return err
			}
		}
		_, err := io.WriteString(x.Writer, "part2")
		return err
	}, transport.Options{})
	for _, c := range []struct {
		name, req string
		keep      bool
		length    int64
	}{
		{"held", "GET /held HTTP/1.0\r\n\r\n", false, 11},
		{"held, keep-alive", "GET /held HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true, 11},
		{"streamed", "GET /stream HTTP/1.0\r\n\r\n", false, -1},
		{"streamed, keep-alive asked", "GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", false, -1},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn := rawConn(t, a)
			io.WriteString(conn, c.req)
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil || string(body) != "part1;part2" {
				t.Fatalf("body %q, %v", body, err)
			}
			if resp.Proto != "HTTP/1.0" || len(resp.TransferEncoding) != 0 || resp.ContentLength != c.length {
				t.Fatalf("%s, transfer encoding %v, length %d; want HTTP/1.0, not chunked, length %d", resp.Proto, resp.TransferEncoding, resp.ContentLength, c.length)
			}
			if resp.Close == c.keep {
				t.Fatalf("close=%v, want %v", resp.Close, !c.keep)
			}
			if !c.keep {
				if _, err := br.Peek(1); err != io.EOF && !isClosedErr(err) {
					t.Fatalf("the connection is still open: %v", err)
				}
				return
			}
			io.WriteString(conn, c.req)
			if resp, err = http.ReadResponse(br, nil); err != nil || resp.StatusCode != 200 {
				t.Fatalf("second request on the kept connection: %v, %v", resp, err)
			}
		})
	}
}

// A client that sends Expect: 100-continue gets 100 Continue when the
// handler reads the body, and only then sends it.
func TestHTTPExpectContinueRead(t *testing.T) {
	a := serveHTTP(t, func(ctx context.Context, x *server.Exchange) error {
		_, err := io.Copy(x.Writer, x.Reader)
		return err
	}, transport.Options{})
	c := rawConn(t, a)
	io.WriteString(c, "PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("first line %q, %v; want 100 Continue before the body is sent", line, err)
	}
	if blank, _ := br.ReadString('\n'); blank != "\r\n" {
		t.Fatalf("100 Continue followed by %q", blank)
	}
	io.WriteString(c, "hello")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "hello" || resp.Close {
		t.Fatalf("%d %q close=%v", resp.StatusCode, body, resp.Close)
	}
}

// Responses carry a Date; a body without a Content-Type gets one sniffed
// as net/http does; a status without a body gets neither body nor type.
func TestHTTPDateAndSniffing(t *testing.T) {
	a := serveHTTP(t, func(ctx context.Context, x *server.Exchange) error {
		switch x.Env[abi.EnvPathInfo] {
		case "/html":
			io.WriteString(x.Writer, "<!DOCTYPE html><html><body>hi</body></html>")
		case "/typed":
			x.Writer.Header().Set("Content-Type", "application/x-mine")
			io.WriteString(x.Writer, "<html>")
		case "/empty-type":
			x.Writer.Header()["Content-Type"] = nil
			io.WriteString(x.Writer, "<html>")
		case "/204":
			x.Writer.SetStatus(http.StatusNoContent)
			x.Writer.Header().Set("Content-Type", "text/plain")
			if _, err := io.WriteString(x.Writer, "not allowed"); !errors.Is(err, http.ErrBodyNotAllowed) {
				return fmt.Errorf("a body on 204: %v", err)
			}
		case "/dated":
			x.Writer.Header().Set("Date", "Mon, 02 Jan 2006 15:04:05 GMT")
		}
		return nil
	}, transport.Options{})
	client := testutil.HTTPClient(t, a)
	for _, c := range []struct {
		path, ctype, body string
		status            int
	}{
		{"/html", "text/html; charset=utf-8", "<!DOCTYPE html><html><body>hi</body></html>", 200},
		{"/typed", "application/x-mine", "<html>", 200},
		{"/empty-type", "", "<html>", 200},
		{"/204", "", "", 204},
		{"/none", "", "", 200},
	} {
		resp, body := getBody(t, client, testutil.URL(a)+c.path)
		if resp.StatusCode != c.status || body != c.body || resp.Header.Get("Content-Type") != c.ctype {
			t.Errorf("%s: %d %q Content-Type %q; want %d %q %q", c.path, resp.StatusCode, body, resp.Header.Get("Content-Type"), c.status, c.body, c.ctype)
		}
		date, err := http.ParseTime(resp.Header.Get("Date"))
		if err != nil || time.Since(date) > time.Hour || time.Until(date) > time.Hour {
			t.Errorf("%s: Date %q (%v)", c.path, resp.Header.Get("Date"), err)
		}
	}
	resp, _ := getBody(t, client, testutil.URL(a)+"/dated")
	if got := resp.Header.Values("Date"); len(got) != 1 || got[0] != "Mon, 02 Jan 2006 15:04:05 GMT" {
		t.Errorf("the handler's Date: %q", got)
	}
}

// OPTIONS * is the server's own: answered without a handler, and the
// connection goes on.
func TestHTTPOptionsStar(t *testing.T) {
	var calls invocations
	a := serveHTTP(t, func(ctx context.Context, x *server.Exchange) error {
		calls.add(x.Env[abi.EnvPathInfo])
		return nil
	}, transport.Options{})
	c := rawConn(t, a)
	io.WriteString(c, "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	for i, want := range []int64{0, 0} {
		resp, err := http.ReadResponse(br, &http.Request{Method: "GET"})
		if err != nil || resp.StatusCode != 200 || resp.ContentLength != want || resp.Close {
			t.Fatalf("response %d: %v %v", i+1, resp, err)
		}
		io.ReadAll(resp.Body)
	}
	if got := calls.get(); len(got) != 1 || got[0] != "/next" {
		t.Fatalf("handler calls %v, want /next only", got)
	}
}

// A connection that sends nothing after a request is closed after
// IdleTimeout; one that never sends a request is closed after
// ReadHeaderTimeout.
func TestHTTPIdleAndFirstRequestTimeouts(t *testing.T) {
	a := serveHTTP(t, func(ctx context.Context, x *server.Exchange) error {
		_, err := io.WriteString(x.Writer, "ok")
		return err
	}, transport.Options{IdleTimeout: 200 * time.Millisecond, ReadHeaderTimeout: 300 * time.Millisecond})
	t.Run("idle after a request", func(t *testing.T) {
		c := rawConn(t, a)
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		resps, _, err := readResponses(bufio.NewReader(c), 2)
		if err != nil && !isClosedErr(err) || len(resps) != 1 || resps[0].Close {
			t.Fatalf("%d responses, ended by %v; want one kept-alive response, then the close", len(resps), err)
		}
	})
	t.Run("no request at all", func(t *testing.T) {
		c := rawConn(t, a)
		if b, err := io.ReadAll(c); err != nil && !isClosedErr(err) || len(b) != 0 {
			t.Fatalf("read %q, %v; want the connection closed silently", b, err)
		}
	})
}

// A request pipelined while a slow handler runs is not taken for the
// client going away: the handler finishes, and the pipelined request is
// served after it.
func TestHTTPPipelinedDuringSlowHandler(t *testing.T) {
	release := make(chan struct{})
	var cancelled atomic.Bool
	a := serveHTTP(t, func(ctx context.Context, x *server.Exchange) error {
		if x.Env[abi.EnvPathInfo] == "/slow" {
			select {
			case <-release:
			case <-ctx.Done():
				cancelled.Store(true)
				return ctx.Err()
			}
		}
		_, err := io.WriteString(x.Writer, x.Env[abi.EnvPathInfo])
		return err
	}, transport.Options{})
	c := rawConn(t, a)
	io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(50 * time.Millisecond) // well past the transport's watch delay: the connection is being watched
	io.WriteString(c, "GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(50 * time.Millisecond)
	close(release)
	br := bufio.NewReader(c)
	for _, want := range []string{"/slow", "/next"} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		if string(body) != want {
			t.Fatalf("got %q, want %q", body, want)
		}
	}
	if cancelled.Load() {
		t.Fatal("the slow handler was cancelled by a pipelined request")
	}
}

// Deadlines a handler sets through ReadDeadliner and WriteDeadliner bound
// its own reads and writes only: the next request on the connection is
// served.
func TestHTTPHandlerDeadlinesStayWithTheRequest(t *testing.T) {
	writeErr := make(chan error, 1)
	a := serveHTTP(t, func(ctx context.Context, x *server.Exchange) error {
		past := time.Now().Add(-time.Second)
		x.Writer.(server.ReadDeadliner).SetReadDeadline(past)
		switch x.Env[abi.EnvPathInfo] {
		case "/write-late":
			x.Writer.(server.WriteDeadliner).SetWriteDeadline(past)
			_, err := x.Writer.Write(make([]byte, 64<<10)) // past the held buffer: it must reach the connection
			writeErr <- err
			return err
		case "/first":
			x.Writer.(server.WriteDeadliner).SetWriteDeadline(past)
			x.Writer.(server.WriteDeadliner).SetWriteDeadline(time.Time{})
		}
		_, err := io.WriteString(x.Writer, x.Env[abi.EnvPathInfo])
		return err
	}, transport.Options{})
	c := rawConn(t, a)
	io.WriteString(c, "GET /first HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(resp.Body)
	time.Sleep(20 * time.Millisecond)
	io.WriteString(c, "GET /second HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("the second request: %v", err)
	}
	if body, _ := io.ReadAll(resp.Body); string(body) != "/second" {
		t.Fatalf("second response %q", body)
	}

	c2 := rawConn(t, a)
	io.WriteString(c2, "GET /write-late HTTP/1.1\r\nHost: x\r\n\r\n")
	if err := <-writeErr; !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a write past the handler's deadline: %v", err)
	}
}

// A long head is read into a larger buffer, up to MaxHeaderBytes exactly,
// and the connection goes on with its own buffer afterwards.
func TestHTTPLongHeadDefaultLimit(t *testing.T) {
	a := serveHTTP(t, func(ctx context.Context, x *server.Exchange) error {
		_, err := fmt.Fprintf(x.Writer, "%d", len(x.Env["HTTP_X_PAD"]))
		return err
	}, transport.Options{})
	head := func(n int) string {
		base := "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: \r\n\r\n"
		return "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: " + strings.Repeat("p", n-len(base)) + "\r\n\r\n"
	}
	limit := transport.DefaultMaxHeaderBytes
	c := rawConn(t, a)
	go io.WriteString(c, head(limit)+"GET / HTTP/1.1\r\nHost: x\r\n\r\n"+head(limit+1))
	resps, bodies, err := readResponses(bufio.NewReader(c), 4)
	if err != nil && !isClosedErr(err) {
		t.Fatal(err)
	}
	if len(resps) != 3 || resps[0].StatusCode != 200 || resps[1].StatusCode != 200 || resps[2].StatusCode != 431 {
		t.Fatalf("%d responses %v, want 200, 200, 431", len(resps), bodies)
	}
	if want := fmt.Sprint(limit - len("GET / HTTP/1.1\r\nHost: x\r\nX-Pad: \r\n\r\n")); bodies[0] != want || bodies[1] != "0" {
		t.Fatalf("bodies %q, want %s then 0", bodies[:2], want)
	}
}

// A Go handler cannot split the response with a header value: control
// bytes become spaces, invalid names are dropped, framing fields are the
// transport's.
func TestHTTPResponseHeaderSanitized(t *testing.T) {
	a := serveHTTP(t, func(ctx context.Context, x *server.Exchange) error {
		h := x.Writer.Header()
		h.Set("X-Inject", "a\r\nSet-Cookie: evil=1")
		h["Bad Name"] = []string{"v"}
		h.Set("Transfer-Encoding", "chunked")
		h.Set("Content-Length", "2")
		_, err := io.WriteString(x.Writer, "ok")
		return err
	}, transport.Options{})
	resp, body := getBody(t, testutil.HTTPClient(t, a), testutil.URL(a)+"/")
	if body != "ok" || resp.Header.Get("Set-Cookie") != "" || resp.Header.Get("X-Inject") != "a  Set-Cookie: evil=1" ||
		len(resp.TransferEncoding) != 0 || resp.ContentLength != 2 {
		t.Fatalf("%q %v %v length %d", body, resp.Header, resp.TransferEncoding, resp.ContentLength)
	}
}

// HEAD: a response streamed before the handler ends has no body and is
// not chunked; the connection stays in step.
func TestHTTPHeadStreamed(t *testing.T) {
	a := serveHTTP(t, func(ctx context.Context, x *server.Exchange) error {
		io.WriteString(x.Writer, "first")
		x.Writer.Flush()
		_, err := io.WriteString(x.Writer, "second")
		return err
	}, transport.Options{})
	c := rawConn(t, a)
	io.WriteString(c, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: "HEAD"})
	if err != nil || resp.StatusCode != 200 || len(resp.TransferEncoding) != 0 {
		t.Fatalf("HEAD: %v %v", resp, err)
	}
	resp, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if body, _ := io.ReadAll(resp.Body); string(body) != "firstsecond" {
		t.Fatalf("GET after HEAD: %q", body)
	}
}

// A handler that panics loses its connection, not the server.
func TestHTTPHandlerPanic(t *testing.T) {
	a := serveHTTP(t, func(ctx context.Context, x *server.Exchange) error {
		if x.Env[abi.EnvPathInfo] == "/panic" {
			panic("handler bug")
		}
		_, err := io.WriteString(x.Writer, "fine")
		return err
	}, transport.Options{})
	c := rawConn(t, a)
	io.WriteString(c, "GET /panic HTTP/1.1\r\nHost: x\r\n\r\n")
	if b, err := io.ReadAll(c); err != nil && !isClosedErr(err) || len(b) != 0 {
		t.Fatalf("after the panic: %q, %v", b, err)
	}
	resp, body := getBody(t, testutil.HTTPClient(t, a), testutil.URL(a)+"/ok")
	if resp.StatusCode != 200 || body != "fine" {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
}

// Connection: close from the client ends the connection after the
// response, which says so.
func TestHTTPClientConnectionClose(t *testing.T) {
	a := serveHTTP(t, func(ctx context.Context, x *server.Exchange) error {
		_, err := io.WriteString(x.Writer, "bye")
		return err
	}, transport.Options{})
	resps, bodies, err := writeRaw(t, a, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /never HTTP/1.1\r\nHost: x\r\n\r\n")
	if err != nil && !isClosedErr(err) {
		t.Fatal(err)
	}
	if len(resps) != 1 || !resps[0].Close || bodies[0] != "bye" {
		t.Fatalf("%d responses %v", len(resps), bodies)
	}
}

var _ net.Conn = (net.Conn)(nil)

// A head of thousands of repeats of one field is joined into its env
// value once, not field by field (which allocates quadratically: ~100 MB
// for the head below).
func TestHTTPRepeatedFieldsJoinedOnce(t *testing.T) {
	got := make(chan int, 1)
	a := serveHTTP(t, func(ctx context.Context, x *server.Exchange) error {
		got <- len(x.Env["HTTP_X_A"])
		return nil
	}, transport.Options{})
	const repeats = 8000 // "X-A: b\r\n" is 8 bytes: the head stays under 64 KiB
	head := "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + strings.Repeat("X-A: b\r\n", repeats) + "\r\n"
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	resps, _, err := writeRaw(t, a, head)
	if len(resps) != 1 || resps[0].StatusCode != 200 {
		t.Fatalf("%d responses (%v)", len(resps), err)
	}
	runtime.ReadMemStats(&after)
	if n := <-got; n != repeats*3-2 {
		t.Fatalf("HTTP_X_A is %d bytes, want %d", n, repeats*3-2)
	}
	// Sequential test (no t.Parallel): nothing else allocates meanwhile
	// but the client, server and their buffers (~1 MB).
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Fatalf("allocated %d MB for one %d KB head", alloc>>20, len(head)>>10)
	}
}

// A request with a large head leaves nothing large behind in its
// connection: thousands of idle keep-alive connections that each sent one
// cost what idle connections cost.
func TestHTTPLargeHeadNotKept(t *testing.T) {
	a := serveHTTP(t, func(ctx context.Context, x *server.Exchange) error {
		_, err := io.WriteString(x.Writer, "ok")
		return err
	}, transport.Options{})
	var fields strings.Builder
	for i := range 4000 { // distinct names: 4,000 env keys, a 60 KB head
		fmt.Fprintf(&fields, "X-%04d: v\r\n", i)
	}
	head := "GET / HTTP/1.1\r\nHost: x\r\n" + fields.String() + "\r\n"
	const conns = 40
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range conns {
		c := rawConn(t, a)
		io.WriteString(c, head)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%v %v", resp, err)
		}
		io.ReadAll(resp.Body)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	// Kept, each idle connection would hold its head (60 KB), its fields
	// (128 KB) and an env map of 4,000 keys (~300 KB): 20 MB for 40.
	if grown := int64(after.HeapInuse) - int64(before.HeapInuse); grown > 8<<20 {
		t.Fatalf("the heap grew by %d MB for %d idle connections", grown>>20, conns)
	}
}
