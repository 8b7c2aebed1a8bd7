package transport_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/transport"
)

// h2Server serves h2Handler over TLS (ALPN h2, http/1.1) and, on a second
// listener, cleartext with h2c on. It returns the TLS and the cleartext
// addresses, the CA and the TLS listener's connection counter.
type h2Fixture struct {
	tlsAddr, plainAddr string
	ca                 *testutil.CA
	accepted           *testutil.CountingListener
	cancelled          chan string // paths whose exchange saw its context end
	released           chan struct{}
	running, most      atomic.Int64 // /echo exchanges running, and the most at once
}

const h2BodyLimit = 1000

func newH2Fixture(t *testing.T, opts transport.Options) *h2Fixture {
	f := &h2Fixture{ca: testutil.NewCA(t), cancelled: make(chan string, 100), released: make(chan struct{})}
	_, _, cert := f.ca.Issue(t, "h2", "h2.test", "h2.test")
	opts.MaxBodyBytes = h2BodyLimit
	opts.H2C = false
	f.accepted = testutil.NewCountingListener(testutil.Listen(t, "tcp://127.0.0.1:0"))
	tl := tls.NewListener(f.accepted, &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}})
	testutil.ServeListener(t, tl, "http", f.handler(), opts)
	f.tlsAddr = f.accepted.Addr().String()
	opts.H2C = true
	plain := testutil.Listen(t, "tcp://127.0.0.1:0")
	testutil.ServeListener(t, plain, "http", f.handler(), opts)
	f.plainAddr = plain.Addr().String()
	return f
}

// handler: /env answers the env as JSON, /echo the body, /stream a part,
// a flush and the rest once released, /hold waits for its context to end.
func (f *h2Fixture) handler() server.HandlerFunc {
	return func(ctx context.Context, x *server.Exchange) error {
		switch x.Env[abi.EnvPathInfo] {
		case "/env":
			x.Writer.Header().Set("Content-Type", "application/json")
			return json.NewEncoder(x.Writer).Encode(x.Env)
		case "/echo":
			n := f.running.Add(1)
			defer f.running.Add(-1)
			for m := f.most.Load(); n > m && !f.most.CompareAndSwap(m, n); m = f.most.Load() {
			}
			_, err := io.Copy(x.Writer, x.Reader)
			return err
		case "/stream":
			io.WriteString(x.Writer, "first\n")
			if err := x.Writer.Flush(); err != nil {
				return err
			}
			select {
			case <-f.released:
			case <-ctx.Done():
				f.cancelled <- "/stream"
				return ctx.Err()
			}
			io.WriteString(x.Writer, "second\n")
			return nil
		case "/hold":
			io.Copy(io.Discard, x.Reader) // the client resets the stream mid-body
			<-ctx.Done()
			f.cancelled <- "/hold"
			return ctx.Err()
		}
		return server.ErrNoRoute
	}
}

func (f *h2Fixture) client(t *testing.T) *http.Client {
	tr := &http2.Transport{TLSClientConfig: &tls.Config{RootCAs: f.ca.Pool(), ServerName: "h2.test"}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// h2cClient speaks HTTP/2 with prior knowledge over cleartext.
func h2cClient(t *testing.T) *http.Client {
	tr := &http2.Transport{AllowHTTP: true, DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func h2Env(t *testing.T, c *http.Client, url string, header ...string) (map[string]string, *http.Response) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	resp, body := testutil.Fetch(t, c, req)
	var env map[string]string
	if err := json.Unmarshal([]byte(body), &env); err != nil {
		t.Fatalf("GET %s: %d %v: %s", url, resp.StatusCode, err, body)
	}
	return env, resp
}

func TestHTTP2(t *testing.T) {
	const streams = 20
	f := newH2Fixture(t, transport.Options{MaxConcurrentStreams: streams, MaxHeaderBytes: 8 << 10})
	c := f.client(t)
	base := "https://" + f.tlsAddr

	t.Run("env over TLS", func(t *testing.T) {
		env, resp := h2Env(t, c, base+"/a/../env?q=1", "X-Token", "t1", "Cookie", "a=1", "Cookie", "b=2", "X_Spoof", "no")
		if resp.ProtoMajor != 2 {
			t.Fatalf("proto %s, want HTTP/2", resp.Proto)
		}
		for k, v := range map[string]string{"SERVER_PROTOCOL": "HTTP/2.0", "HTTPS": "on", "bubble.url_scheme": "https", "REQUEST_METHOD": "GET",
			"PATH_INFO": "/env", "QUERY_STRING": "q=1", "HTTP_X_TOKEN": "t1", "HTTP_COOKIE": "a=1; b=2", "HTTP_HOST": f.tlsAddr,
			"bubble.transport": "http", "HTTP_X_SPOOF": "", "CONTENT_LENGTH": "", "tls.version": "1.3"} {
			if env[k] != v {
				t.Errorf("%s = %q, want %q", k, env[k], v)
			}
		}
	})
	t.Run("many concurrent streams on one connection", func(t *testing.T) {
		before := f.accepted.Accepted()
		h2Env(t, c, base+"/env") // the connection is open
		var wg sync.WaitGroup
		errs := make(chan error, 300)
		n := 300
		slots := make(chan struct{}, streams) // as many in flight as the server allows
		for i := range n {
			slots <- struct{}{}
			wg.Go(func() {
				defer func() { <-slots }()
				body := strings.Repeat(fmt.Sprint(i%10), 1+i%h2BodyLimit)
				resp, err := c.Post(base+"/echo", "text/plain", strings.NewReader(body))
				if err != nil {
					errs <- err
					return
				}
				defer resp.Body.Close()
				got, err := io.ReadAll(resp.Body)
				if err != nil || string(got) != body || resp.ProtoMajor != 2 {
					errs <- fmt.Errorf("stream %d: %s %d %v, %d bytes", i, resp.Proto, resp.StatusCode, err, len(got))
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if n := f.accepted.Accepted() - before; n > 1 {
			t.Errorf("%d connections for concurrent streams, want 1", n)
		}
		if m := f.most.Load(); m > streams || m < 2 {
			t.Errorf("%d streams ran at once, want 2 to max_concurrent_streams %d", m, streams)
		}
		if got := rawH2Setting(t, f.plainAddr, http2.SettingMaxConcurrentStreams); got != streams {
			t.Errorf("SETTINGS_MAX_CONCURRENT_STREAMS %d, want %d", got, streams)
		}
	})
	t.Run("streamed response is read before its end", func(t *testing.T) {
		resp, err := c.Get(base + "/stream")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		r := bufio.NewReader(resp.Body)
		if line, err := r.ReadString('\n'); line != "first\n" {
			t.Fatalf("first line %q, %v", line, err)
		}
		f.released <- struct{}{}
		if rest, err := io.ReadAll(r); string(rest) != "second\n" {
			t.Fatalf("rest %q, %v", rest, err)
		}
	})
	t.Run("body over max_body_bytes: 413 on that stream only", func(t *testing.T) {
		var wg sync.WaitGroup
		for _, tc := range []struct {
			name string
			body io.Reader
			want int
		}{
			{"with length", strings.NewReader(strings.Repeat("x", h2BodyLimit+1)), http.StatusRequestEntityTooLarge},
			{"streamed", io.MultiReader(strings.NewReader(strings.Repeat("x", h2BodyLimit)), strings.NewReader("y")), http.StatusRequestEntityTooLarge},
			{"at the limit", strings.NewReader(strings.Repeat("x", h2BodyLimit)), http.StatusOK},
			{"small", strings.NewReader("ok"), http.StatusOK},
		} {
			wg.Go(func() {
				req, _ := http.NewRequest("POST", base+"/echo", tc.body)
				if _, streamed := tc.body.(*strings.Reader); !streamed {
					req.ContentLength = -1
				}
				resp, err := c.Do(req)
				if err != nil {
					t.Errorf("%s: %v", tc.name, err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != tc.want {
					t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.want)
				}
			})
		}
		wg.Wait()
	})
	t.Run("header list over max_header_bytes", func(t *testing.T) {
		// A header list a little over the limit gets 431; far over it, the
		// connection is closed before the block is even decoded.
		for _, tc := range []struct {
			fields int
			want   string
		}{{10, "200"}, {200, "431"}, {2000, "GOAWAY PROTOCOL_ERROR"}} {
			if got := rawH2Status(t, f.plainAddr, tc.fields); got != tc.want {
				t.Errorf("%d header fields: %s, want %s", tc.fields, got, tc.want)
			}
		}
		h2Env(t, c, base+"/env") // still served
	})
	t.Run("client resets a stream mid-body", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		pr, pw := io.Pipe()
		req, _ := http.NewRequestWithContext(ctx, "POST", base+"/hold", pr)
		done := make(chan error, 1)
		go func() {
			resp, err := c.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			done <- err
		}()
		pw.Write([]byte("part of a body"))
		cancel() // RST_STREAM
		pw.Close()
		if got := <-f.cancelled; got != "/hold" {
			t.Fatalf("cancelled %s, want /hold", got)
		}
		<-done
		h2Env(t, c, base+"/env")
	})
	t.Run("client disappears mid-stream", func(t *testing.T) {
		gone := f.client(t)
		resp, err := gone.Get(base + "/stream")
		if err != nil {
			t.Fatal(err)
		}
		if line, err := bufio.NewReader(resp.Body).ReadString('\n'); line != "first\n" {
			t.Fatalf("%q %v", line, err)
		}
		gone.Transport.(*http2.Transport).CloseIdleConnections()
		resp.Body.Close() // with the connection closing: the stream and the connection go
		if got := <-f.cancelled; got != "/stream" {
			t.Fatalf("cancelled %s, want /stream", got)
		}
		h2Env(t, c, base+"/env")
	})
	t.Run("h2c prior knowledge", func(t *testing.T) {
		env, resp := h2Env(t, h2cClient(t), "http://"+f.plainAddr+"/env")
		if resp.ProtoMajor != 2 || env["SERVER_PROTOCOL"] != "HTTP/2.0" || env["HTTPS"] != "" || env["bubble.url_scheme"] != "http" {
			t.Errorf("%s: %v", resp.Proto, env)
		}
	})
	t.Run("h2c is off on the TLS listener's transport: the preface gets 505", func(t *testing.T) {
		off := testutil.Serve(t, "tcp://127.0.0.1:0", "http", f.handler(), transport.Options{})
		resps, _, err := writeRaw(t, off, http2.ClientPreface)
		if err != nil && !isClosedErr(err) {
			t.Fatal(err)
		}
		if len(resps) != 1 || resps[0].StatusCode != http.StatusHTTPVersionNotSupported {
			t.Fatalf("responses %v, want one 505", resps)
		}
	})
	t.Run("plain HTTP/1.1 on the h2c listener", func(t *testing.T) {
		resp, err := http.Get("http://" + f.plainAddr + "/env")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.ProtoMajor != 1 || resp.StatusCode != 200 {
			t.Errorf("%s %d", resp.Proto, resp.StatusCode)
		}
	})
	t.Run("curl", func(t *testing.T) {
		if out, err := exec.Command("curl", "-V").Output(); err != nil || !strings.Contains(string(out), "HTTP2") {
			t.Skip("no curl with HTTP2")
		}
		for _, tc := range []struct {
			name, url string
			args      []string
		}{
			{"--http2 over TLS (ALPN)", base + "/env", []string{"--http2", "--cacert", f.ca.File, "--resolve", "h2.test:" + port(f.tlsAddr) + ":127.0.0.1"}},
			{"--http2 cleartext (Upgrade: h2c)", "http://" + f.plainAddr + "/env", []string{"--http2"}},
			{"--http2-prior-knowledge", "http://" + f.plainAddr + "/env", []string{"--http2-prior-knowledge"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				url := strings.Replace(tc.url, f.tlsAddr, "h2.test:"+port(f.tlsAddr), 1)
				args := append([]string{"-sS", "--max-time", "60", "-w", "\n%{http_version}"}, tc.args...)
				out, err := exec.Command("curl", append(args, url)...).CombinedOutput()
				if err != nil {
					t.Fatalf("curl: %v: %s", err, out)
				}
				i := strings.LastIndexByte(string(out), '\n')
				body, version := string(out[:i]), string(out[i+1:])
				var env map[string]string
				if err := json.Unmarshal([]byte(body), &env); err != nil || version != "2" || env["SERVER_PROTOCOL"] != "HTTP/2.0" {
					t.Errorf("version %q, %v: %s", version, err, out)
				}
			})
		}
	})
	t.Run("nghttp and h2load", func(t *testing.T) {
		if _, err := exec.LookPath("nghttp"); err != nil {
			t.Skip("no nghttp (scripts/deps.d/nghttp2.sh installs it)")
		}
		out, err := exec.Command("nghttp", "-v", "http://"+f.plainAddr+"/env").CombinedOutput() // h2c, prior knowledge
		if err != nil || !strings.Contains(string(out), `"SERVER_PROTOCOL":"HTTP/2.0"`) {
			t.Errorf("nghttp: %v: %s", err, out)
		}
		out, err = exec.Command("nghttp", "-u", "http://"+f.plainAddr+"/env").CombinedOutput() // h2c, Upgrade
		if err != nil || !strings.Contains(string(out), `"SERVER_PROTOCOL":"HTTP/2.0"`) {
			t.Errorf("nghttp -u: %v: %s", err, out)
		}
		out, err = exec.Command("h2load", "-n", "2000", "-c", "2", "-m", "10", base+"/env").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "2000 succeeded") || !strings.Contains(string(out), "h2") {
			t.Errorf("h2load: %v: %s", err, out)
		}
	})
}

// TestHTTP2Shutdown: shutting the transport down lets a running stream end
// (GOAWAY, then the connection closes).
func TestHTTP2Shutdown(t *testing.T) {
	released := make(chan struct{})
	l := testutil.Listen(t, "tcp://127.0.0.1:0")
	srv, done := testutil.ServeListener(t, l, "http", server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
		io.WriteString(x.Writer, "begun\n")
		x.Writer.Flush()
		<-released
		io.WriteString(x.Writer, "ended\n")
		return nil
	}), transport.Options{H2C: true})
	c := h2cClient(t)
	resp, err := c.Get("http://" + l.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	r.ReadString('\n')
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(context.Background()) }()
	close(released)
	if rest, err := io.ReadAll(r); string(rest) != "ended\n" || err != nil {
		t.Fatalf("after shutdown began: %q, %v", rest, err)
	}
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil && !errors.Is(err, net.ErrClosed) {
		t.Logf("serve: %v", err)
	}
}

// rawH2Status sends GET /env with n header fields of 40 bytes with an
// HTTP/2 framer that ignores the server's advertised limits, and returns
// the response's :status, or the error code of a GOAWAY.
func rawH2Status(t *testing.T, addr string, n int) string {
	t.Helper()
	fr := rawH2Conn(t, addr)
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	for _, kv := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", addr}, {":path", "/env"}} {
		enc.WriteField(hpack.HeaderField{Name: kv[0], Value: kv[1]})
	}
	for i := range n {
		enc.WriteField(hpack.HeaderField{Name: fmt.Sprintf("x-h%d", i), Value: strings.Repeat("v", 40)})
	}
	b := block.Bytes()
	first := min(len(b), 16384)
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b[:first], EndStream: true, EndHeaders: first == len(b)}); err != nil {
		t.Fatal(err)
	}
	for b = b[first:]; len(b) > 0; {
		k := min(len(b), 16384)
		if err := fr.WriteContinuation(1, k == len(b), b[:k]); err != nil {
			t.Fatal(err)
		}
		b = b[k:]
	}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("reading the response: %v", err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				fr.WriteSettingsAck()
			}
		case *http2.MetaHeadersFrame:
			return f.PseudoValue("status")
		case *http2.GoAwayFrame:
			return "GOAWAY " + f.ErrCode.String()
		case *http2.RSTStreamFrame:
			t.Fatalf("RST_STREAM %v", f.ErrCode)
		}
	}
}

// rawH2Setting returns a setting of the server's first SETTINGS frame.
func rawH2Setting(t *testing.T, addr string, id http2.SettingID) uint32 {
	t.Helper()
	fr := rawH2Conn(t, addr)
	f, err := fr.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	sf, ok := f.(*http2.SettingsFrame)
	if !ok {
		t.Fatalf("first frame %v, want SETTINGS", f)
	}
	v, _ := sf.Value(id)
	return v
}

// rawH2Conn opens an HTTP/2 connection with prior knowledge and sends
// the client's preface and SETTINGS; it is closed when the test ends.
func rawH2Conn(t *testing.T, addr string) *http2.Framer {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(testDeadline))
	io.WriteString(conn, http2.ClientPreface)
	fr := http2.NewFramer(conn, conn)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	fr.WriteSettings()
	return fr
}

func port(addr string) string { return addr[strings.LastIndex(addr, ":")+1:] }
