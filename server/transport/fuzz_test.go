package transport_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/transport"
)

// panicLog fails on any record that reports a panic.
type panicLog struct {
	mu  sync.Mutex
	bad []string
}

func (p *panicLog) Write(b []byte) (int, error) {
	if bytes.Contains(b, []byte("panic")) {
		p.mu.Lock()
		p.bad = append(p.bad, string(b))
		p.mu.Unlock()
	}
	return len(b), nil
}

// FuzzHTTPConnection sends arbitrary bytes as one client connection to the
// HTTP transport. Properties: no panic anywhere, and once a request's body
// ended in an error, no later request of the connection reaches a handler
// (the bytes after a broken body are never parsed as a request).
func FuzzHTTPConnection(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n",
		"\r\nGET /%2e%2e/x HTTP/1.1\r\nHost: x\r\n\r\nGET /a/../b HTTP/1.1\r\nHost: x\r\n\r\n",
		"CONNECT h:1 HTTP/1.1\r\nHost: h:1\r\n\r\nPRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
		"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nabcGET / HTTP/1.1\r\nHost: x\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	logs := &panicLog{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	type served struct {
		path    string
		bodyErr bool
	}
	var mu sync.Mutex
	var calls []served
	a := testutil.Serve(f, "tcp://127.0.0.1:0", "http", server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
		_, err := io.Copy(io.Discard, x.Reader)
		mu.Lock()
		calls = append(calls, served{x.Env[abi.EnvPathInfo], err != nil})
		mu.Unlock()
		io.WriteString(x.Writer, "ok")
		return nil
	}), transport.Options{Logger: logger, DrainTimeout: 100 * time.Millisecond, ReadHeaderTimeout: time.Second, MaxHeaderBytes: 4096})
	f.Fuzz(func(t *testing.T, in []byte) {
		mu.Lock()
		calls = nil
		mu.Unlock()
		c, err := a.Dial(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		go func() {
			c.Write(in)
			c.(*net.TCPConn).CloseWrite()
		}()
		io.Copy(io.Discard, c) // until the server closes (it always does: the client sent EOF)
		mu.Lock()
		got := append([]served(nil), calls...)
		mu.Unlock()
		for i, s := range got {
			if s.bodyErr && i < len(got)-1 {
				t.Fatalf("request %d's body failed, yet %d more were served: %+v", i+1, len(got)-1-i, got)
			}
		}
		logs.mu.Lock()
		defer logs.mu.Unlock()
		if len(logs.bad) > 0 {
			t.Fatalf("panic: %s", strings.Join(logs.bad, "\n"))
		}
	})
}
