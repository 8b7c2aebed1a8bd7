package wasm

import (
	"bytes"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/server"
)

// recorder is a server.ResponseWriter that keeps what it was given.
type recorder struct {
	header    http.Header
	status    int
	body      bytes.Buffer
	committed bool
	flushes   int
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) SetStatus(code int) bool {
	if r.committed {
		return false
	}
	r.status = code
	return true
}
func (r *recorder) Committed() bool { return r.committed }
func (r *recorder) Write(p []byte) (int, error) {
	r.committed = true
	return r.body.Write(p)
}
func (r *recorder) Flush() error { r.committed = true; r.flushes++; return nil }

// feed writes chunks to a fresh cgiOutput and returns it and the recorder.
func feed(chunks ...string) (*cgiOutput, *recorder) {
	rec := &recorder{header: http.Header{}, status: 200}
	hx := &hostExchange{x: &server.Exchange{Env: server.Env{}, Writer: rec}}
	o := &cgiOutput{hx: hx, w: rec, stop: func() {}, header: http.Header{}}
	o.budget.Limits = (&Handler{}).responseHeaderLimits()
	for _, c := range chunks {
		if _, err := o.Write([]byte(c)); err != nil {
			break
		}
	}
	return o, rec
}

// bytewise splits s into one-byte writes.
func bytewise(s string) []string { return strings.Split(s, "") }

func TestCGIOutputParse(t *testing.T) {
	cases := []struct {
		name   string
		chunks []string
		status int
		header http.Header
		body   string
	}{
		{"one write", []string{"Content-Type: text/plain\r\n\r\nhello"}, 200, http.Header{"Content-Type": {"text/plain"}}, "hello"},
		{"byte by byte", bytewise("Status: 201 Created\nX-A: 1\r\n\nbody\n"), 201, http.Header{"X-A": {"1"}}, "body\n"},
		{"split CRLF", []string{"X-A: 1\r", "\n\r", "\nrest"}, 200, http.Header{"X-A": {"1"}}, "rest"},
		{"repeated header", []string{"set-cookie: a=1\nSet-Cookie: b=2\n\n"}, 200, http.Header{"Set-Cookie": {"a=1", "b=2"}}, ""},
		{"value trimmed, colon inside", []string{"X-Url:  http://x:1/ \t\n\n"}, 200, http.Header{"X-Url": {"http://x:1/"}}, ""},
		{"empty value", []string{"X-Empty:\n\n"}, 200, http.Header{"X-Empty": {""}}, ""},
		{"location", []string{"Location: /there\n\n"}, 302, http.Header{"Location": {"/there"}}, ""},
		{"location with status", []string{"Location: /there\nStatus: 303 See Other\n\n"}, 303, http.Header{"Location": {"/there"}}, ""},
		{"status without reason", []string{"Status: 204\n\n"}, 204, http.Header{}, ""},
		{"empty header block", []string{"\nbody"}, 200, http.Header{}, "body"},
		{"body keeps blank lines", []string{"A: b\n\n\n\nx\r\n"}, 200, http.Header{"A": {"b"}}, "\n\nx\r\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o, rec := feed(c.chunks...)
			if o.bad != nil || !o.inBody {
				t.Fatalf("bad %v, in body %v", o.bad, o.inBody)
			}
			if rec.status != c.status || rec.body.String() != c.body {
				t.Fatalf("status %d body %q, want %d %q", rec.status, rec.body.String(), c.status, c.body)
			}
			for k, v := range c.header {
				if !slices.Equal(rec.header[k], v) {
					t.Errorf("header %s = %q, want %q", k, rec.header[k], v)
				}
			}
			if len(rec.header) != len(c.header) {
				t.Errorf("headers %v, want %v", rec.header, c.header)
			}
		})
	}
}

func TestCGIOutputBad(t *testing.T) {
	long := strings.Repeat("a", MaxCGIHeaderBytes)
	cases := []struct {
		name   string
		chunks []string
		want   string
	}{
		{"no colon", []string{"<html>\n"}, `output line 1 is not a header line ("<html>")`},
		{"bad name", []string{"A: 1\nBad Name: x\n"}, `output line 2 is not a header line ("Bad Name: x")`},
		{"folded line", []string{"A: 1\n  more\n"}, "output line 2 is not a header line"},
		{"CR in value", []string{"A: x\ry\n"}, "the value of header A contains a control character"},
		{"NUL in value", []string{"A: x\x00y\n"}, "the value of header A contains a control character"},
		{"ESC in value", []string{"A: x\x1by\n"}, "the value of header A contains a control character"},
		{"DEL in value", []string{"A: x\x7fy\n"}, "the value of header A contains a control character"},
		{"Connection", []string{"Connection: close\n\n"}, "header Connection belongs to the server's framing"},
		{"Transfer-Encoding", []string{"transfer-encoding: chunked\n\n"}, "header Transfer-Encoding belongs to the server's framing"},
		{"Upgrade", []string{"Upgrade: websocket\n\n"}, "header Upgrade belongs to the server's framing"},
		{"two lengths", []string{"Content-Length: 5\nContent-Length: 6\n\nhello"}, "a second Content-Length header"},
		{"same length twice", []string{"Content-Length: 5\ncontent-length: 5\n\nhello"}, "a second Content-Length header"},
		{"bad length", []string{"Content-Length: 5, 6\n\nhello"}, `invalid Content-Length "5, 6"`},
		{"too many headers", []string{strings.Repeat("X-A: 1\n", abi.DefaultMaxResponseHeaders+1) + "\n"}, "more headers than the route allows (max_response_headers = 100"},
		{"status word", []string{"Status: OK\n\n"}, `invalid Status "OK"`},
		{"status 1xx", []string{"Status: 101 Switching\n\n"}, `invalid Status "101 Switching"`},
		{"status 4 digits", []string{"Status: 1000\n\n"}, `invalid Status "1000"`},
		{"no end, one write", []string{long + "xx"}, "the header block exceeds 65536 bytes"},
		{"no end, many writes", []string{"X-A: ", long[:40000], long[:40000]}, "the header block exceeds 65536 bytes"},
		{"huge line", []string{"X-A: " + long + "\n\n"}, "the header block exceeds 65536 bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o, rec := feed(c.chunks...)
			if o.bad == nil || !strings.Contains(o.bad.Error(), c.want) {
				t.Fatalf("bad = %v, want %q", o.bad, c.want)
			}
			if rec.committed || len(rec.header) > 0 {
				t.Fatalf("a rejected output reached the exchange: %v %q", rec.header, rec.body.String())
			}
			if _, err := o.Write([]byte("more")); err != errCGIStopped {
				t.Fatalf("write after rejection: %v", err)
			}
		})
	}
}

// TestCGIOutputLargeWrite checks that a write holding the header block and
// a large body is not copied into the header buffer and is streamed as is.
func TestCGIOutputLargeWrite(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789"), 1<<20)
	o, rec := feed("Content-Type: a/b\n\n" + string(body))
	if o.bad != nil || !bytes.Equal(rec.body.Bytes(), body) || cap(o.head) > 2*MaxCGIHeaderBytes {
		t.Fatalf("bad %v, body %d bytes, header buffer %d", o.bad, rec.body.Len(), cap(o.head))
	}
	if rec.flushes == 0 {
		t.Fatal("body writes are not flushed")
	}
}

func TestCGIEnviron(t *testing.T) {
	got := cgiEnviron(server.Env{
		"REQUEST_METHOD":    "GET",
		"HTTP_X_A":          "1",
		"bubble.route":      "r",
		"bubble.url_scheme": "http",
		"line.number":       "3",
		"BUBBLE_LISTENER":   "kept",
		"bubble.listener":   "dropped: BUBBLE_LISTENER exists",
		"weird-key":         "skipped",
		"9LIVES":            "skipped",
		"NUL":               "a\x00b",
		"":                  "skipped",
	}, nil)
	want := []string{
		"BUBBLE_LISTENER=kept", "BUBBLE_ROUTE=r", "BUBBLE_URL_SCHEME=http", "GATEWAY_INTERFACE=CGI/1.1",
		"HTTP_X_A=1", "LINE_NUMBER=3", "REQUEST_METHOD=GET", "SERVER_SOFTWARE=bubblewasm",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}
