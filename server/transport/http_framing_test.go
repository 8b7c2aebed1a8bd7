package transport

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http/httputil"
	"strings"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/server"
)

// scriptedConn is a net.Conn whose reads deliver a fixed input in pieces
// of at most cut bytes, and count what they delivered.
type scriptedConn struct {
	in        []byte
	cut       int
	delivered int
}

func (c *scriptedConn) Read(p []byte) (int, error) {
	if c.delivered == len(c.in) {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), c.cut)], c.in[c.delivered:])
	c.delivered += n
	return n, nil
}

func (c *scriptedConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *scriptedConn) Close() error                     { return nil }
func (c *scriptedConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *scriptedConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *scriptedConn) SetDeadline(time.Time) error      { return nil }
func (c *scriptedConn) SetReadDeadline(time.Time) error  { return nil }
func (c *scriptedConn) SetWriteDeadline(time.Time) error { return nil }

// framedRequest is one request as the transport framed it off a stream.
type framedRequest struct {
	headStart, bodyStart, end int // stream offsets
	head                      string
	body                      []byte
	chunked                   bool
	length                    int64
}

// frameStream reads in as one connection the way the transport does:
// heads, then each body to its end, until something fails. It returns the
// requests framed, and the error that stopped it.
func frameStream(t testing.TB, in []byte, cut int) ([]framedRequest, error) {
	tr := NewHTTP(server.HandlerFunc(nil), Options{MaxHeaderBytes: 1024}).(*httpTransport)
	sc := &scriptedConn{in: in, cut: max(cut, 1)}
	c := tr.newConn(context.Background(), sc, nil)
	defer tr.free(c)
	offset := func() int { return sc.delivered - (c.w - c.r) }
	var reqs []framedRequest
	for {
		if err := c.readHead(); err != nil {
			return reqs, err
		}
		f := framedRequest{bodyStart: offset(), head: c.req.head, chunked: c.req.chunked, length: c.req.length}
		f.headStart = f.bodyStart - len(f.head)
		c.raw.reset(c, &c.req)
		c.body = requestBody{c: c, r: &c.raw}
		body, err := io.ReadAll(&c.body)
		if err != nil {
			return reqs, err
		}
		f.body, f.end = body, offset()
		reqs = append(reqs, f)
		c.served++
	}
}

// FuzzRequestFraming sends arbitrary bytes as one connection, cut into
// reads of arbitrary sizes. Properties: no panic; every head framed is the
// input's bytes at its offset; a Content-Length body is exactly the next
// Content-Length bytes; a chunked body decodes as Go's own chunked reader
// decodes it, and ends after its trailer section; the next request starts
// exactly where the previous body's framing ended (nothing read past it);
// how the reads were cut changes nothing.
func FuzzRequestFraming(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n0\r\nT: v\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY0\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"\r\n\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n",
	} {
		f.Add([]byte(s), uint8(1))
	}
	f.Fuzz(func(t *testing.T, in []byte, cut1 uint8) {
		whole, werr := frameStream(t, in, len(in)+1)
		pieces, perr := frameStream(t, in, int(cut1)+1)
		if len(whole) != len(pieces) || (werr == nil) != (perr == nil) {
			t.Fatalf("read whole: %d requests (%v); in pieces of %d: %d requests (%v)", len(whole), werr, cut1+1, len(pieces), perr)
		}
		prevEnd := 0
		for i, r := range whole {
			p := pieces[i]
			if r.head != p.head || !bytes.Equal(r.body, p.body) || r.end != p.end {
				t.Fatalf("request %d differs when read in pieces", i)
			}
			if string(in[r.headStart:r.bodyStart]) != r.head {
				t.Fatalf("request %d: head %q is not the input's bytes at %d", i, r.head, r.headStart)
			}
			if gap := in[prevEnd:r.headStart]; len(bytes.Trim(gap, "\r\n")) != 0 || bytes.Count(gap, []byte("\n")) > maxLeadingBlank {
				t.Fatalf("request %d: %q skipped before it", i, gap)
			}
			switch {
			case r.chunked:
				checkChunked(t, in[r.bodyStart:r.end], r.body)
			case r.length >= 0:
				if int64(r.end-r.bodyStart) != r.length || !bytes.Equal(r.body, in[r.bodyStart:r.end]) {
					t.Fatalf("request %d: Content-Length %d, framed %d bytes", i, r.length, r.end-r.bodyStart)
				}
			case r.end != r.bodyStart:
				t.Fatalf("request %d: no framing, yet %d body bytes", i, r.end-r.bodyStart)
			}
			prevEnd = r.end
		}
	})
}

// checkChunked compares a chunked body the transport framed (wire) and
// decoded (body) with Go's chunked reader, which stops after the last
// chunk's line: what follows in wire must be a trailer section, ended by
// its empty line and nothing after it.
func checkChunked(t *testing.T, wire, body []byte) {
	t.Helper()
	cr := &countingReader{r: bytes.NewReader(wire)}
	br := bufio.NewReaderSize(cr, 16)
	ref, err := io.ReadAll(httputil.NewChunkedReader(br))
	if err != nil {
		t.Fatalf("chunked body %q: Go's reader fails: %v", wire, err)
	}
	if !bytes.Equal(ref, body) {
		t.Fatalf("chunked body %q: decoded %q, Go's reader %q", wire, body, ref)
	}
	trailer := string(wire[cr.n-br.Buffered():])
	ended := strings.HasSuffix(trailer, "\r\n\r\n") && strings.Index(trailer, "\r\n\r\n") == len(trailer)-4 && !strings.HasPrefix(trailer, "\r\n")
	if trailer != "\r\n" && !ended {
		t.Fatalf("chunked body %q: trailer section %q", wire, trailer)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
