package conformance

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"hash/adler32"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/internal/testapp"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/app"
	"github.com/bubblewasm/bubblewasm/server/config"
	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// extensionCases are CONFORMANCE.md's "Extension cases", in its order:
// the path asked, its query (nil: none) made of a fresh random token, and
// the body the kit must answer with (status 200) for that token.
var extensionCases = []struct {
	name  string
	query func(token string, p extensionPeers) string
	want  func(token string) string
}{
	{"pubsub", nil, func(string) string { return "pubsub 1 hello notfound denied" }},
	{"signal", nil, func(string) string { return "signal 0 timeout denied" }},
	{"kv", justToken, func(q string) string { return "kv " + q + " notfound toolarge" }},
	{"dial", justToken, func(q string) string { return "dial " + q + " 0 denied" }},
	{"http", func(q string, p extensionPeers) string { return p.origin + "/up?" + q }, func(q string) string {
		body := upstreamBody(q)
		return fmt.Sprintf("http %d kit %d %d denied", upstreamStatus, len(body), adler32.Checksum(body))
	}},
}

func justToken(token string, _ extensionPeers) string { return token }

// extensionPeers are what the extension cases' route reaches: the line
// echo worker's unix socket (dial target echo) and the origin of the
// HTTP server (the outbound grant).
type extensionPeers struct {
	echoSock string
	origin   string // http://127.0.0.1:PORT
}

// extensionRoute is the configuration of the extension cases' host: the
// kit module on the root route with the grants of CONFORMANCE.md.
const extensionRoute = `
engine = %q
cache_dir = %q
shutdown_timeout = "5s"

[[listener]]
name = "web"
address = "tcp://127.0.0.1:0"

[[route]]
name = "kit"
module = %q
instances = %q
timeout = "60s"
pubsub = ["kit.*"]
signals = ["kit.*"]
kv = "kit"
dial = { echo = %q }
outbound = [%q]
`

// runExtensionCases serves the kit module as `bubblewasm run` would, from
// a configuration that grants the extensions, and runs the extension
// cases against it.
func runExtensionCases(t *testing.T, lang, engine, module string, peers extensionPeers, lc wasm.Lifecycle, cell *cell) {
	ks, loadErr := startExtensionHost(t, engine, module, peers, lc)
	for _, c := range extensionCases {
		ran := false
		ok := t.Run(c.name, func(t *testing.T) {
			ran = true
			if loadErr != nil {
				t.Fatalf("the %s kit module did not load on %s (%s) with the extensions granted: %v\nserver log:\n%s", lang, engine, lc, loadErr, cmp.Or(ks.logs.since(0), "(empty)\n"))
			}
			mark := ks.logs.len()
			defer func() {
				if t.Failed() {
					t.Logf("server log during this case:\n%s", cmp.Or(ks.logs.since(mark), "(empty)\n"))
				}
			}()
			path, token := "/"+c.name, "q"+randomToken(12)
			if c.query != nil {
				path += "?" + c.query(token, peers)
			}
			r := ks.do(t, "GET", path, nil, nil)
			if want := c.want(token); r.status != 200 || string(r.body) != want {
				t.Errorf("GET %s: status %d, body %s; want 200 %q", path, r.status, show(r.body), want)
			}
		})
		if ran {
			cell.add(ok)
		}
	}
}

// startExtensionHost writes the configuration and serves it until the
// test ends. An error is the configuration or module failing to load.
func startExtensionHost(t *testing.T, engine, module string, peers extensionPeers, lc wasm.Lifecycle) (*kitServer, error) {
	t.Helper()
	ks := &kitServer{logs: &logStore{}}
	path := filepath.Join(t.TempDir(), "bubble.toml")
	// The cache the repository's tests share, not one in the test's
	// directory: wasmtime may still be writing to it when that is removed.
	cache := filepath.Join(os.TempDir(), "bubblewasm-test-cache")
	text := fmt.Sprintf(extensionRoute, engine, cache, module, lc, "unix://"+peers.echoSock, peers.origin)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadWith(path, config.Options{
		ValidateAddress: func(s string) error { _, err := server.ParseAddress(s); return err },
		ValidatePattern: func(s string) error { _, err := server.ParsePattern(s); return err },
	})
	if err != nil {
		return ks, err
	}
	_, addrs, err := testapp.TryStart(t, cfg, app.Options{Logger: slog.New(&logHandler{s: ks.logs})})
	if err != nil {
		return ks, err
	}
	ks.base = testutil.URL(addrs[0])
	ks.client = testutil.HTTPClient(t, addrs[0])
	ks.client.Timeout = requestTimeout
	return ks, nil
}

// echoWorker serves a unix socket until the test ends, answering each line
// with the same line (a dial target). The socket is in a directory of its
// own under the system's temporary directory, whose short path fits a
// socket address (108 bytes). It returns the socket's path.
func echoWorker(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "kit")
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "echo.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		os.RemoveAll(dir)
		t.Fatal(err)
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		conns  = map[net.Conn]bool{}
		closed bool
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			if closed {
				c.Close()
			}
			conns[c] = true
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(requestTimeout)) // bounds a stuck peer
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadBytes('\n')
					if err != nil {
						return // a partial line is not answered
					}
					if _, err := c.Write(line); err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		closed = true
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
		os.RemoveAll(dir)
	})
	return sock
}

// The HTTP server of the /http case answers GET /up?TOKEN with this status,
// an X-Kit-Echo header that repeats the request's X-Kit, an X-Kit-Pad
// header of upstreamPadSize bytes (the header block is larger than any
// SDK's first buffer: its size negotiation runs), and upstreamBody(TOKEN).
const (
	upstreamStatus   = 203
	upstreamPadSize  = 10_000
	upstreamBodySize = 100_000
)

// upstreamBody is the token repeated to upstreamBodySize bytes: more than
// one read of any SDK's buffer, and a period (13 bytes) that no buffer
// size divides, so that a chunk lost, repeated or reordered changes the
// checksum.
func upstreamBody(token string) []byte {
	return []byte(strings.Repeat(token, upstreamBodySize/len(token)+1)[:upstreamBodySize])
}

// upstream serves the /http case's HTTP server on 127.0.0.1 until the test
// ends and returns its origin.
func upstream(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/up" || r.URL.RawQuery == "" {
			http.Error(w, "the kit's upstream answers GET /up?TOKEN", http.StatusNotFound)
			return
		}
		w.Header().Set("X-Kit-Echo", r.Header.Get("X-Kit"))
		w.Header().Set("X-Kit-Pad", strings.Repeat("p", upstreamPadSize))
		w.WriteHeader(upstreamStatus)
		w.Write(upstreamBody(r.URL.RawQuery))
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String()
}

// noGrants are the Services of the core cases' host (startKit): a kit
// module imports the extensions for the extension cases, and a module
// that imports one loads only on a route that grants it. These grant
// nothing: every call is ERR_DENIED. The extension cases run on a real
// host instead (startExtensionHost).
func noGrants() wasm.Services {
	return wasm.Services{
		PubSub:   func(context.Context) abi.PubSub { return denyAll{} },
		Signals:  func(context.Context) abi.Signals { return denyAll{} },
		KV:       func(context.Context) abi.KV { return denyAll{} },
		Dial:     func(context.Context) abi.Dial { return denyAll{} },
		Outbound: func(context.Context) abi.Outbound { return denyAll{} },
	}
}

// denyAll is every extension, denying every call.
type denyAll struct{}

var errDenied = fmt.Errorf("the core cases grant no extension: %w", abi.ErrNotGranted)

func (denyAll) Publish(string, []byte) (int, error)                     { return 0, errDenied }
func (denyAll) Subscribe(string) (string, error)                        { return "", errDenied }
func (denyAll) Next(string, time.Duration, int) ([]byte, int, error)    { return nil, 0, errDenied }
func (denyAll) Unsubscribe(string) error                                { return errDenied }
func (denyAll) Wait(string, time.Duration) ([]byte, error)              { return nil, errDenied }
func (denyAll) Send(string, []byte) (int, error)                        { return 0, errDenied }
func (denyAll) Get(string) ([]byte, bool, error)                        { return nil, false, errDenied }
func (denyAll) Set(string, []byte, time.Duration) error                 { return errDenied }
func (denyAll) Delete(string) error                                     { return errDenied }
func (denyAll) Call(string, []byte, time.Duration) ([]byte, int, error) { return nil, 0, errDenied }
func (denyAll) Last() ([]byte, int, bool)                               { return nil, 0, false }
func (denyAll) Request(abi.OutboundRequest) (int, error)                { return 0, errDenied }
func (denyAll) Status(int) (int, error)                                 { return 0, abi.ErrGone }
func (denyAll) Header(int) (http.Header, error)                         { return nil, abi.ErrGone }
func (denyAll) Read(int, []byte) (int, error)                           { return 0, abi.ErrGone }
func (denyAll) Close(int) error                                         { return abi.ErrGone }
