package abi_test

import (
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/abi"
)

// fakeOutbound records the requests it gets and answers them with one
// response: status 200, header, and body read in reads of at most chunk
// bytes.
type fakeOutbound struct {
	reqs   []abi.OutboundRequest
	header http.Header
	body   string
	read   int
	err    error
}

func (o *fakeOutbound) Request(r abi.OutboundRequest) (int, error) {
	o.reqs = append(o.reqs, r)
	return 7, o.err
}

func (o *fakeOutbound) Status(h int) (int, error) {
	if h != 7 {
		return 0, abi.ErrGone
	}
	return 200, nil
}

func (o *fakeOutbound) Header(h int) (http.Header, error) {
	if h != 7 {
		return nil, abi.ErrGone
	}
	return o.header, nil
}

func (o *fakeOutbound) Read(h int, p []byte) (int, error) {
	if h != 7 {
		return 0, abi.ErrGone
	}
	if o.read == len(o.body) {
		return 0, io.EOF
	}
	n := copy(p, o.body[o.read:])
	o.read += n
	return n, nil
}

func (o *fakeOutbound) Close(h int) error {
	if h != 7 {
		return abi.ErrGone
	}
	return nil
}

// request calls bubblewasm_http_v1.request with method, URL, header block
// and body laid out in guest memory.
func request(t *testing.T, x abi.Exchange, method, url, headers, body string, timeoutMS int32) int32 {
	t.Helper()
	const mOff, uOff, hOff = 0, 64, 16 << 10
	bOff := uint32(hOff + len(headers) + 1)
	m := mem(int(bOff)+len(body)+16, "")
	copy(m[mOff:], method)
	copy(m[uOff:], url)
	copy(m[hOff:], headers)
	copy(m[bOff:], body)
	r, err := callExt(extFunc(abi.HTTPModule, "request"), x, m,
		mOff, uint32(len(method)), uOff, uint32(len(url)), hOff, uint32(len(headers)), bOff, uint32(len(body)), uint32(timeoutMS))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// A well-formed request reaches the service decoded: canonical header
// names, repeated names kept in order, values trimmed, the body as a view,
// the timeout in milliseconds (≤ 0: the route's).
func TestHTTPRequestDecoded(t *testing.T) {
	out := &fakeOutbound{}
	x := &extExchange{svc: &fakeServices{}, outbound: out}
	if r := request(t, x, "POST", "https://api.example.com/x?q=1", "x-a: 1\nX-A:2\ncontent-type:\t text/plain \n", "body", 250); r != 7 {
		t.Fatalf("request: %d (%s), want handle 7", r, abi.ErrorName(r))
	}
	got := out.reqs[0]
	want := http.Header{"X-A": {"1", "2"}, "Content-Type": {"text/plain"}}
	if got.Method != "POST" || got.URL != "https://api.example.com/x?q=1" || !reflect.DeepEqual(got.Header, want) ||
		string(got.Body) != "body" || got.Timeout != 250*time.Millisecond {
		t.Errorf("service got %+v", got)
	}
	for _, ms := range []int32{0, -1} {
		request(t, x, "GET", "http://h/", "", "", ms)
		if d := out.reqs[len(out.reqs)-1].Timeout; d != 0 {
			t.Errorf("timeout_ms %d: service got %s, want 0 (the route's)", ms, d)
		}
	}
}

// Hostile methods and header blocks are refused before the service is
// called.
func TestHTTPRequestHostile(t *testing.T) {
	for _, c := range []struct {
		name, method, url, headers string
		want                       int32
	}{
		{"no trailing newline", "GET", "http://h/", "X-A: 1", abi.ErrInvalid},
		{"no trailing newline after a good line", "GET", "http://h/", "X-A: 1\nX-B: 2", abi.ErrInvalid},
		{"CR in value", "GET", "http://h/", "X-A: 1\r\n", abi.ErrInvalid},
		{"CR inside value", "GET", "http://h/", "X-A: a\rb\n", abi.ErrInvalid},
		{"NUL in value", "GET", "http://h/", "X-A: a\x00b\n", abi.ErrInvalid},
		{"empty line", "GET", "http://h/", "\n", abi.ErrInvalid},
		{"no colon", "GET", "http://h/", "X-A 1\n", abi.ErrInvalid},
		{"space in name", "GET", "http://h/", "X A: 1\n", abi.ErrInvalid},
		{"empty name", "GET", "http://h/", ": 1\n", abi.ErrInvalid},
		{"Host", "GET", "http://h/", "Host: evil.example\n", abi.ErrInvalid},
		{"host lower case", "GET", "http://h/", "host: evil.example\n", abi.ErrInvalid},
		{"Content-Length", "POST", "http://h/", "Content-Length: 5\n", abi.ErrInvalid},
		{"Transfer-Encoding", "POST", "http://h/", "Transfer-Encoding: chunked\n", abi.ErrInvalid},
		{"Connection", "GET", "http://h/", "Connection: close\n", abi.ErrInvalid},
		{"Upgrade", "GET", "http://h/", "Upgrade: websocket\n", abi.ErrInvalid},
		{"TE", "GET", "http://h/", "TE: trailers\n", abi.ErrInvalid},
		{"1 MB of headers", "GET", "http://h/", strings.Repeat("X-Pad: "+strings.Repeat("p", 1000)+"\n", 1000), abi.ErrTooLarge},
		{"empty method", "", "http://h/", "", abi.ErrInvalid},
		{"method with space", "GE T", "http://h/", "", abi.ErrInvalid},
		{"method with newline", "GET\n", "http://h/", "", abi.ErrInvalid},
		{"long method", strings.Repeat("G", abi.MaxMethodBytes+1), "http://h/", "", abi.ErrInvalid},
		{"long URL", "GET", "http://h/" + strings.Repeat("a", abi.MaxURLBytes), "", abi.ErrInvalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := &fakeOutbound{}
			x := &extExchange{svc: &fakeServices{}, outbound: out}
			if r := request(t, x, c.method, c.url, c.headers, "", 0); r != c.want || len(out.reqs) != 0 {
				t.Errorf("%d (%s), %d service calls; want %s and none", r, abi.ErrorName(r), len(out.reqs), abi.ErrorName(c.want))
			}
		})
	}
}

// headers uses size negotiation over canonical, sorted lines; read streams
// the body and returns 0 at its end; unknown and non-positive handles are
// ERR_NOT_FOUND; a zero-length read buffer is ERR_INVALID.
func TestHTTPResponseFuncs(t *testing.T) {
	out := &fakeOutbound{header: http.Header{"X-B": {"2", "3"}, "Content-Type": {"text/plain"}}, body: "hello, world"}
	x := &extExchange{svc: &fakeServices{}, outbound: out}
	m := mem(1024, "")
	call := func(fn string, args ...uint32) int32 {
		t.Helper()
		r, err := callExt(extFunc(abi.HTTPModule, fn), x, m, args...)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	const lines = "Content-Type: text/plain\nX-B: 2\nX-B: 3\n"
	if r := call("status", 7); r != 200 {
		t.Errorf("status: %d", r)
	}
	before := string(m[:4])
	if r := call("headers", 7, 0, 4); r != int32(len(lines)) || string(m[:4]) != before {
		t.Errorf("headers with a short buffer: %d, wrote %q; want %d and nothing", r, m[:4], len(lines))
	}
	if r := call("headers", 7, 0, 512); r != int32(len(lines)) || string(m[:r]) != lines {
		t.Errorf("headers: %d %q", r, m[:max(r, 0)])
	}
	var body []byte
	for range 10 {
		r := call("read", 7, 512, 5)
		if r <= 0 {
			if r != 0 {
				t.Fatalf("read: %s", abi.ErrorName(r))
			}
			break
		}
		body = append(body, m[512:512+r]...)
	}
	if string(body) != out.body {
		t.Errorf("body read in chunks of 5: %q", body)
	}
	if r := call("read", 7, 512, 0); r != abi.ErrInvalid {
		t.Errorf("read with an empty buffer: %d", r)
	}
	for _, h := range []uint32{0, 1, 0xFFFF_FFFF} {
		for _, fn := range []string{"status", "close"} {
			if r := call(fn, h); r != abi.ErrNotFound {
				t.Errorf("%s(%d): %d", fn, int32(h), r)
			}
		}
		if r := call("headers", h, 0, 8); r != abi.ErrNotFound {
			t.Errorf("headers(%d): %d", int32(h), r)
		}
		if r := call("read", h, 0, 8); r != abi.ErrNotFound {
			t.Errorf("read(%d): %d", int32(h), r)
		}
	}
	if r := call("close", 7); r != 0 {
		t.Errorf("close: %d", r)
	}
}
