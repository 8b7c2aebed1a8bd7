package transport_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"testing"

	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/accesslog"
	"github.com/bubblewasm/bubblewasm/server/transport"
)

// benchRequest is what a keep-alive load generator (wrk) sends.
const benchRequest = "GET / HTTP/1.1\r\nHost: 127.0.0.1:18080\r\n\r\n"

var helloBody = []byte("Hello, world!\n")

// BenchmarkHTTPKeepAlive measures one request on a keep-alive connection
// over loopback: a raw client that sends a fixed request and reads the
// response, against the transport and against net/http with the same
// trivial handler (Content-Type set, 14 bytes written). Run it with -cpu 1
// -benchmem; both sides share the process, so ns/op and allocs/op count the
// client too, which is the same raw client for both.
func BenchmarkHTTPKeepAlive(b *testing.B) {
	b.Run("transport", func(b *testing.B) {
		a := testutil.Serve(b, "tcp://127.0.0.1:0", "http", server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
			x.Writer.Header().Set("Content-Type", "text/plain")
			_, err := x.Writer.Write(helloBody)
			return err
		}), transport.Options{Logger: slog.New(slog.DiscardHandler)})
		benchKeepAlive(b, a.String())
	})
	b.Run("transport+accesslog", func(b *testing.B) {
		// The same, behind the access log writing text records (to
		// io.Discard: the cost of the record, not of the disk).
		h := server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
			x.Writer.Header().Set("Content-Type", "text/plain")
			_, err := x.Writer.Write(helloBody)
			return err
		})
		access := slog.New(slog.NewTextHandler(io.Discard, nil))
		a := testutil.Serve(b, "tcp://127.0.0.1:0", "http", accesslog.New(h, access), transport.Options{Logger: slog.New(slog.DiscardHandler)})
		benchKeepAlive(b, a.String())
	})
	b.Run("net-http", func(b *testing.B) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.Write(helloBody)
		})}
		go srv.Serve(l)
		b.Cleanup(func() { srv.Close() })
		benchKeepAlive(b, "tcp://"+l.Addr().String())
	})
	b.Run("floor", func(b *testing.B) {
		// No HTTP at all: one read and one canned write per request, the
		// least any server on this connection can cost.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { l.Close() })
		canned := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n\r\nHello, world!\n")
		go func() {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			buf := make([]byte, 4096)
			for {
				if _, err := c.Read(buf); err != nil {
					return
				}
				if _, err := c.Write(canned); err != nil {
					return
				}
			}
		}()
		benchKeepAlive(b, "tcp://"+l.Addr().String())
	})
}

func benchKeepAlive(b *testing.B, addr string) {
	a, err := server.ParseAddress(addr)
	if err != nil {
		b.Fatal(err)
	}
	c := testutil.Dial(b, a)
	br := bufio.NewReaderSize(c, 4096)
	req := []byte(benchRequest)
	roundTrip := func() {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		if err := skipResponse(br); err != nil {
			b.Fatal(err)
		}
	}
	roundTrip() // the connection is set up
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		roundTrip()
	}
}

var errBenchResponse = errors.New("unexpected response")

// skipResponse reads one "200" response with a Content-Length off br
// without allocating.
func skipResponse(br *bufio.Reader) error {
	length := -1
	for first := true; ; first = false {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if first && !bytes.HasPrefix(line, []byte("HTTP/1.1 200 ")) {
			return errBenchResponse
		}
		if len(line) <= 2 {
			break
		}
		if name, value, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(name, []byte("Content-Length")) {
			n, err := strconv.Atoi(string(bytes.TrimSpace(value)))
			if err != nil {
				return err
			}
			length = n
		}
	}
	if length != len(helloBody) {
		return errBenchResponse
	}
	_, err := br.Discard(length)
	return err
}

var _ io.Reader = (*bufio.Reader)(nil)
