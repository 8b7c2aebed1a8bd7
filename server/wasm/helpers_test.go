package wasm_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/transport"
	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// watModule compiles testdata/NAME.wat.
func watModule(t testing.TB, name string) []byte {
	t.Helper()
	src, err := os.ReadFile("testdata/" + name + ".wat")
	if err != nil {
		t.Fatal(err)
	}
	return testutil.WAT(t, string(src))
}

// waitLog waits (bounded) until the log contains all of want; a record can be
// written just after the client saw the response.
func waitLog(t testing.TB, logs *testutil.LogBuffer, want ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := logs.String()
		missing := ""
		for _, w := range want {
			if !strings.Contains(s, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("log never contained %q; log:\n%s", missing, s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// mustHandler builds a handler, failing the test on error, and closes it at
// the end of the test.
func mustHandler(t testing.TB, e wasm.Engine, bin []byte, opts wasm.Options) *wasm.Handler {
	t.Helper()
	h, err := wasm.New(context.Background(), e, bin, opts)
	if err != nil {
		t.Fatalf("wasm.New(%s): %v", opts.Name, err)
	}
	t.Cleanup(func() { h.Close(context.Background()) })
	return h
}

// mount routes an exact PATH_INFO to a handler.
func mount(path string, h server.Handler) server.Route {
	p, err := server.ParsePattern(path)
	if err != nil {
		panic(err)
	}
	return server.Route{Name: strings.TrimPrefix(path, "/"), Match: map[string]server.Pattern{abi.EnvPathInfo: p}, Handler: h}
}

// serveHTTP serves the routes over HTTP on loopback and returns the base URL.
func serveHTTP(t testing.TB, logger *slog.Logger, routes ...server.Route) string {
	t.Helper()
	a := testutil.Serve(t, "tcp://127.0.0.1:0", "http", server.NewRouter(routes...), transport.Options{Logger: logger})
	return "http://" + strings.TrimPrefix(a.String(), "tcp://")
}

// client bounds every request so that no test can hang forever.
var testClient = &http.Client{Timeout: 60 * time.Second}

type httpResult struct {
	status int
	header http.Header
	body   string
}

// httpDo sends a request and reads the whole response.
func httpDo(t testing.TB, method, url string, body io.Reader, header http.Header) httpResult {
	t.Helper()
	r, err := httpDoErr(method, url, body, header)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return r
}

// httpDoErr is httpDo for goroutines other than the test's.
func httpDoErr(method, url string, body io.Reader, header http.Header) (httpResult, error) {
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return httpResult{}, err
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := testClient.Do(req)
	if err != nil {
		return httpResult{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return httpResult{}, err
	}
	return httpResult{status: resp.StatusCode, header: resp.Header, body: string(b)}, nil
}

func httpGet(t testing.TB, url string) httpResult { t.Helper(); return httpDo(t, "GET", url, nil, nil) }

// expectHealthy checks that the server still serves its /hello route.
func expectHealthy(t testing.TB, base string) {
	t.Helper()
	expectHealthyOn(t, base, "/hello", "Hello, world!\n")
}

// expectHealthyOn checks that path answers 200 with body.
func expectHealthyOn(t testing.TB, base, path, body string) {
	t.Helper()
	r := httpGet(t, base+path)
	if r.status != 200 || r.body != body {
		t.Fatalf("GET %s: %d %q, want 200 %q", path, r.status, r.body, body)
	}
}

// countingEngine wraps an engine and counts what the handler does with its
// modules: instances made and closed, and Handle calls running at once.
type countingEngine struct {
	wasm.Engine
	made, closed   atomic.Int64
	running, peak  atomic.Int64
	handled, fails atomic.Int64
}

func (e *countingEngine) Compile(ctx context.Context, bin []byte, limits wasm.Limits) (wasm.Module, error) {
	m, err := e.Engine.Compile(ctx, bin, limits)
	if err != nil {
		return nil, err
	}
	return &countingModule{Module: m, e: e}, nil
}

type countingModule struct {
	wasm.Module
	e *countingEngine
}

func (m *countingModule) Instantiate(ctx context.Context, cfg wasm.InstanceConfig) (wasm.Instance, error) {
	inst, err := m.Module.Instantiate(ctx, cfg)
	if err != nil {
		return nil, err
	}
	m.e.made.Add(1)
	return &countingInstance{Instance: inst, e: m.e}, nil
}

type countingInstance struct {
	wasm.Instance
	e      *countingEngine
	closed atomic.Bool
}

func (i *countingInstance) Handle(ctx context.Context, x abi.Exchange) (int32, error) {
	n := i.e.running.Add(1)
	for {
		p := i.e.peak.Load()
		if n <= p || i.e.peak.CompareAndSwap(p, n) {
			break
		}
	}
	defer i.e.running.Add(-1)
	if i.closed.Load() {
		panic("Handle on a closed instance")
	}
	code, err := i.Instance.Handle(ctx, x)
	i.e.handled.Add(1)
	if err != nil || code != 0 {
		i.e.fails.Add(1)
	}
	return code, err
}

func (i *countingInstance) Close(ctx context.Context) error {
	if !i.closed.Swap(true) {
		i.e.closed.Add(1)
	}
	return i.Instance.Close(ctx)
}

// stubExchange is a minimal abi.Exchange for engine-level tests.
type stubExchange struct {
	env  map[string]string
	in   io.Reader
	out  bytes.Buffer
	logs []string
}

func (f *stubExchange) Env(k string) (string, bool) { v, ok := f.env[k]; return v, ok }
func (f *stubExchange) EnvKeys() []string           { return server.Env(f.env).Keys() }
func (f *stubExchange) Read(p []byte) (int, error) {
	if f.in == nil {
		return 0, io.EOF
	}
	return f.in.Read(p)
}
func (f *stubExchange) Write(p []byte) (int, error)          { return f.out.Write(p) }
func (f *stubExchange) Flush() error                         { return nil }
func (f *stubExchange) SetStatus(int) bool                   { return true }
func (f *stubExchange) SetHeader(string, string, bool) int32 { return 0 }
func (f *stubExchange) Log(level slog.Level, msg string)     { f.logs = append(f.logs, msg) }
