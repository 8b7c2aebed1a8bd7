package conformance

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"

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
// the path asked and the body the kit must answer with (status 200). The
// query, where a case takes one, is a fresh random value.
var extensionCases = []struct {
	name  string
	query bool
	want  func(query string) string
}{
	{"pubsub", false, func(string) string { return "pubsub 1 hello notfound denied" }},
	{"signal", false, func(string) string { return "signal 0 timeout denied" }},
	{"kv", true, func(q string) string { return "kv " + q + " notfound toolarge" }},
	{"dial", true, func(q string) string { return "dial " + q + " 0 denied" }},
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
`

// runExtensionCases serves the kit module as `bubblewasm run` would, from
// a configuration that grants the extensions, and runs the extension
// cases against it.
func runExtensionCases(t *testing.T, lang, engine, module, echoSock string, lc wasm.Lifecycle, cell *cell) {
	ks, loadErr := startExtensionHost(t, engine, module, echoSock, lc)
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
			path, query := "/"+c.name, ""
			if c.query {
				query = "q" + randomToken(12)
				path += "?" + query
			}
			r := ks.do(t, "GET", path, nil, nil)
			if want := c.want(query); r.status != 200 || string(r.body) != want {
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
func startExtensionHost(t *testing.T, engine, module, echoSock string, lc wasm.Lifecycle) (*kitServer, error) {
	t.Helper()
	ks := &kitServer{logs: &logStore{}}
	path := filepath.Join(t.TempDir(), "bubble.toml")
	// The cache the repository's tests share, not one in the test's
	// directory: wasmtime may still be writing to it when that is removed.
	cache := filepath.Join(os.TempDir(), "bubblewasm-test-cache")
	text := fmt.Sprintf(extensionRoute, engine, cache, module, lc, "unix://"+echoSock)
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

// noGrants are the Services of the core cases' host (startKit): a kit
// module imports the extensions for the extension cases, and a module
// that imports one loads only on a route that grants it. These grant
// nothing: every call is ERR_DENIED. The extension cases run on a real
// host instead (startExtensionHost).
func noGrants() wasm.Services {
	return wasm.Services{
		PubSub:  func(context.Context) abi.PubSub { return denyAll{} },
		Signals: func(context.Context) abi.Signals { return denyAll{} },
		KV:      func(context.Context) abi.KV { return denyAll{} },
		Dial:    func(context.Context) abi.Dial { return denyAll{} },
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
