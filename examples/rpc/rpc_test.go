package rpc_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/internal/testapp"
	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/app"
	"github.com/bubblewasm/bubblewasm/server/config"
)

// methods are the JSON-RPC methods of section 7 of the specification that
// this example serves, each a module built from methods/NAME.
var methods = []string{"subtract", "sum", "update", "notify_hello", "notify_sum", "get_data"}

// example is one entry of the specification's section 7, as the transport's
// own tests keep them.
type example struct {
	Name     string          `json:"name"`
	Request  string          `json:"request"`
	Response json.RawMessage `json:"response"` // null: no response
}

func loadExamples(t *testing.T) []example {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "server", "transport", "testdata", "jsonrpc_spec.json"))
	if err != nil {
		t.Fatal(err)
	}
	var exs []example
	if err := json.Unmarshal(data, &exs); err != nil {
		t.Fatal(err)
	}
	if len(exs) != 15 {
		t.Fatalf("jsonrpc_spec.json has %d examples, want the 15 of the specification", len(exs))
	}
	for _, ex := range exs {
		if strings.ContainsAny(ex.Request, "\r\n") {
			t.Fatalf("%s: the request spans lines; the line protocol cannot carry it as is", ex.Name)
		}
	}
	return exs
}

// guestLogs are the messages the notification methods must log while an
// example is served: proof that a notification reached its module even
// though nothing was answered.
var guestLogs = map[string][]string{
	"a notification":                     {"update: notification with params [1,2,3,4,5]"},
	"rpc call Batch":                     {"notify_hello: notification with params [7]"},
	"rpc call Batch (all notifications)": {"notify_sum: notification with params [1,2,4]", "notify_hello: notification with params [7]"},
}

// buildModules builds every module route's module from source into dir
// with the route's own build command, as `bubblewasm build` runs it (sh -c
// in the config file's directory, $OUT the output), so the test checks the
// commands too. It returns the output path per route.
func buildModules(t *testing.T, cfg *config.Config) map[string]string {
	t.Helper()
	dir := t.TempDir()
	out := map[string]string{}
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for _, rc := range cfg.Routes {
		if rc.Module == "" {
			continue
		}
		if rc.Build == "" {
			t.Fatalf("route %s: no build command", rc.Name)
		}
		path := filepath.Join(dir, rc.Name+".wasm")
		out[rc.Name] = path
		wg.Go(func() {
			cmd := exec.CommandContext(t.Context(), "sh", "-c", rc.Build)
			cmd.Dir = filepath.Dir(cfg.File)
			cmd.Env = append(os.Environ(), "OUT="+path)
			if msg, err := cmd.CombinedOutput(); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("route %s: %s: %v\n%s", rc.Name, rc.Build, err, msg))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return out
}

// loadConfig loads bubble.toml and checks the shape the README describes.
func loadConfig(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.Load("bubble.toml")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]config.Route{}
	for _, rc := range cfg.Routes {
		names[rc.Name] = rc
	}
	if rc := names["rpc"]; rc.Transport != config.TransportJSONRPC ||
		!sameMatch(rc.Match, map[string]string{"PATH_INFO": "/rpc", "REQUEST_METHOD": "POST"}) {
		t.Fatalf("route rpc: %+v, want jsonrpc on POST /rpc", rc)
	}
	for _, m := range methods {
		rc, ok := names[m]
		if !ok || !sameMatch(rc.Match, map[string]string{"jsonrpc.method": m}) || rc.Instances != config.InstancesPool {
			t.Fatalf("route %s: %+v, want a pooled module route matching jsonrpc.method = %q", m, rc, m)
		}
	}
	if len(cfg.Routes) != 1+len(methods) {
		t.Fatalf("%d routes, want rpc and one per method", len(cfg.Routes))
	}
	return cfg
}

func sameMatch(a, b map[string]string) bool { return reflect.DeepEqual(a, b) }

// stack is the example served on one engine.
type stack struct {
	url  string // POST here: JSON-RPC over HTTP
	sock string // the line-delimited JSON-RPC socket
	logs *recorder
}

// start serves bubble.toml as written, except that the listeners move to a
// free port and a temporary socket, the modules are the ones just built and
// every route runs on engine.
func start(t *testing.T, cfg config.Config, modules map[string]string, engine string) *stack {
	t.Helper()
	cfg.Routes = slices.Clone(cfg.Routes)
	cfg.Listeners = slices.Clone(cfg.Listeners)
	st := &stack{sock: filepath.Join(t.TempDir(), "rpc.sock"), logs: &recorder{}}
	for i := range cfg.Listeners {
		switch l := &cfg.Listeners[i]; l.Name {
		case "web":
			l.Address = "tcp://127.0.0.1:0"
		case "local":
			l.Address = "unix://" + st.sock
		default:
			t.Fatalf("unexpected listener %s", l.Name)
		}
	}
	for i := range cfg.Routes {
		rc := &cfg.Routes[i]
		rc.Engine = engine
		if rc.Module != "" {
			rc.Module = modules[rc.Name]
		}
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", st.logs)
		}
	})
	addrs := testapp.Start(t, &cfg, app.Options{Logger: slog.New(st.logs)})
	for _, a := range addrs {
		if a.Network == "tcp" {
			st.url = "http://" + strings.TrimPrefix(a.String(), "tcp://") + "/rpc"
		}
	}
	if st.url == "" {
		t.Fatalf("no tcp listener among %v", addrs)
	}
	return st
}

func TestSpecExamples(t *testing.T) {
	exs := loadExamples(t)
	cfg := loadConfig(t)
	modules := buildModules(t, cfg)
	for _, engine := range testapp.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			st := start(t, *cfg, modules, engine)
			t.Run("http", func(t *testing.T) {
				for _, ex := range exs {
					st.expectLogs(t, ex, func() {
						status, ctype, body := st.post(t, ex.Request)
						if isNull(ex.Response) {
							if status != http.StatusNoContent || len(body) != 0 {
								t.Errorf("%s: %d %q, want 204 and no body", ex.Name, status, body)
							}
							return
						}
						if status != http.StatusOK || ctype != "application/json" {
							t.Errorf("%s: status %d, Content-Type %q, want 200 application/json", ex.Name, status, ctype)
						}
						if err := sameResponse(body, ex.Response); err != nil {
							t.Errorf("%s: %v\n got: %s\nwant: %s", ex.Name, err, body, ex.Response)
						}
					})
				}
			})
			t.Run("unix", func(t *testing.T) {
				// One connection carries every example, in order: a response
				// that should not exist would shift every later line.
				c := st.dialLines(t)
				for i, ex := range exs {
					st.expectLogs(t, ex, func() {
						c.send(t, ex.Request)
						if isNull(ex.Response) {
							// Nothing must come back: the next line must be the
							// answer to a probe sent after the request.
							id := fmt.Sprintf("probe-%d", i)
							c.send(t, `{"jsonrpc": "2.0", "method": "get_data", "id": "`+id+`"}`)
							want := `{"jsonrpc": "2.0", "result": ["hello", 5], "id": "` + id + `"}`
							if got := c.recv(t); sameResponse(got, []byte(want)) != nil {
								t.Errorf("%s: expected no response, but the line after it is %s, not the probe's answer %s", ex.Name, got, want)
							}
							return
						}
						got := c.recv(t)
						if err := sameResponse(got, ex.Response); err != nil {
							t.Errorf("%s: %v\n got: %s\nwant: %s", ex.Name, err, got, ex.Response)
						}
					})
				}
			})
			t.Run("more", func(t *testing.T) { moreCalls(t, st) })
		})
	}
}

// moreCalls checks what the specification's examples leave out: invalid
// params, a notification method called with an id, HTTP methods other than
// POST.
func moreCalls(t *testing.T, st *stack) {
	invalid := `{"jsonrpc": "2.0", "error": {"code": -32602, "message": "Invalid params"}, "id": %d}`
	c := st.dialLines(t)
	for i, tc := range []struct{ req, want string }{
		{`{"jsonrpc": "2.0", "method": "subtract", "params": [42], "id": %d}`, invalid},
		{`{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23, 1], "id": %d}`, invalid},
		{`{"jsonrpc": "2.0", "method": "subtract", "params": [42, "23"], "id": %d}`, invalid},
		{`{"jsonrpc": "2.0", "method": "subtract", "params": {"minuend": 42}, "id": %d}`, invalid},
		{`{"jsonrpc": "2.0", "method": "subtract", "params": {"minuend": 42, "subtrahend": 23, "x": 1}, "id": %d}`, invalid},
		{`{"jsonrpc": "2.0", "method": "subtract", "id": %d}`, invalid},
		{`{"jsonrpc": "2.0", "method": "subtract", "params": [0.5, 2e0], "id": %d}`, `{"jsonrpc": "2.0", "result": -1.5, "id": %d}`},
		{`{"jsonrpc": "2.0", "method": "subtract", "params": [-9223372036854775808, 1], "id": %d}`, `{"jsonrpc": "2.0", "result": -9223372036854775809, "id": %d}`},
		{`{"jsonrpc": "2.0", "method": "sum", "params": {"a": 1}, "id": %d}`, invalid},
		{`{"jsonrpc": "2.0", "method": "sum", "params": [], "id": %d}`, `{"jsonrpc": "2.0", "result": 0, "id": %d}`},
		{`{"jsonrpc": "2.0", "method": "sum", "params": [1e308, 1e308], "id": %d}`, invalid},
		{`{"jsonrpc": "2.0", "method": "get_data", "params": [1], "id": %d}`, invalid},
		{`{"jsonrpc": "2.0", "method": "get_data", "params": {}, "id": %d}`, `{"jsonrpc": "2.0", "result": ["hello", 5], "id": %d}`},
		{`{"jsonrpc": "2.0", "method": "update", "params": [1], "id": %d}`, `{"jsonrpc": "2.0", "result": null, "id": %d}`},
		{`{"jsonrpc": "2.0", "method": "notify_sum", "id": %d}`, `{"jsonrpc": "2.0", "result": null, "id": %d}`},
	} {
		req, want := fmt.Sprintf(tc.req, 100+i), fmt.Sprintf(tc.want, 100+i)
		_, _, body := st.post(t, req)
		c.send(t, req)
		for stack, got := range map[string][]byte{"http": body, "unix": c.recv(t)} {
			if err := sameResponse(got, []byte(want)); err != nil {
				t.Errorf("%s over %s: %v\n got: %s\nwant: %s", req, stack, err, got, want)
			}
		}
		// An Invalid params error carries the module's explanation as data.
		if want == fmt.Sprintf(invalid, 100+i) {
			var r struct{ Error struct{ Data any } }
			if json.Unmarshal(body, &r) != nil || r.Error.Data == nil {
				t.Errorf("%s: %s has no error data", req, body)
			}
		}
	}
	// The route matches POST only: anything else on /rpc has no route.
	resp, err := client.Get(st.url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /rpc: %d, want 404", resp.StatusCode)
	}
}

var client = &http.Client{Timeout: time.Minute}

// post sends one JSON-RPC request or batch over HTTP.
func (st *stack) post(t *testing.T, body string) (status int, ctype string, resp []byte) {
	t.Helper()
	r, err := client.Post(st.url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	resp, err = io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return r.StatusCode, r.Header.Get("Content-Type"), resp
}

// lineConn is a client of the line-delimited listener.
type lineConn struct {
	conn net.Conn
	r    *bufio.Reader
}

func (st *stack) dialLines(t *testing.T) *lineConn {
	t.Helper()
	conn, err := server.Address{Network: "unix", Path: st.sock}.Dial(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &lineConn{conn: conn, r: bufio.NewReader(conn)}
}

// send writes req as one line.
func (c *lineConn) send(t *testing.T, req string) {
	t.Helper()
	c.conn.SetWriteDeadline(time.Now().Add(time.Minute)) // a bound, not a synchronisation
	if _, err := io.WriteString(c.conn, req+"\n"); err != nil {
		t.Fatal(err)
	}
}

// recv reads one response line, without its newline.
func (c *lineConn) recv(t *testing.T) []byte {
	t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(time.Minute)) // a bound, not a synchronisation
	line, err := c.r.ReadBytes('\n')
	if err != nil {
		t.Fatalf("reading a response line: %v (read %q)", err, line)
	}
	return bytes.TrimSuffix(line, []byte("\n"))
}

// expectLogs runs send, which serves ex, and checks that the notification
// methods ex calls logged their calls by the time it returns: a response
// (or its absence, proven by a probe) comes after the calls it covers.
func (st *stack) expectLogs(t *testing.T, ex example, send func()) {
	t.Helper()
	want := guestLogs[ex.Name]
	before := make([]int, len(want))
	for i, msg := range want {
		before[i] = st.logs.count(msg)
	}
	send()
	for i, msg := range want {
		if n := st.logs.count(msg); n != before[i]+1 {
			t.Errorf("%s: the guest logged %q %d times, want once", ex.Name, msg, n-before[i])
		}
	}
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// sameResponse compares a response (or batch response) with the expected
// one semantically: as JSON values, a batch as a set (its order is free),
// and without an error's data, which the specification leaves to the server
// ("may be omitted") and the transport fills with details.
func sameResponse(got, want []byte) error {
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		return fmt.Errorf("the response is not JSON: %v", err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		return fmt.Errorf("the expected response is not JSON: %v", err)
	}
	wb, isBatch := w.([]any)
	if !isBatch {
		if !reflect.DeepEqual(withoutErrorData(g), w) {
			return errors.New("the responses differ")
		}
		return nil
	}
	gb, ok := g.([]any)
	if !ok {
		return errors.New("want a batch response (an array)")
	}
	if len(gb) != len(wb) {
		return fmt.Errorf("%d responses in the batch, want %d", len(gb), len(wb))
	}
	used := make([]bool, len(gb))
next:
	for _, wr := range wb {
		for j, gr := range gb {
			if !used[j] && reflect.DeepEqual(withoutErrorData(gr), wr) {
				used[j] = true
				continue next
			}
		}
		wj, _ := json.Marshal(wr)
		return fmt.Errorf("no response in the batch matches %s", wj)
	}
	return nil
}

// withoutErrorData returns a response object without error.data.
func withoutErrorData(v any) any {
	r, ok := v.(map[string]any)
	if !ok {
		return v
	}
	e, ok := r["error"].(map[string]any)
	if !ok {
		return v
	}
	r2, e2 := map[string]any{}, map[string]any{}
	for k, x := range r {
		r2[k] = x
	}
	for k, x := range e {
		if k != "data" {
			e2[k] = x
		}
	}
	r2["error"] = e2
	return r2
}

// recorder is a slog.Handler that keeps every record as a line.
type recorder struct {
	mu    sync.Mutex
	lines []string
	msgs  []string
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }

func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	var b strings.Builder
	b.WriteString(rec.Level.String() + " " + rec.Message)
	rec.Attrs(func(a slog.Attr) bool { b.WriteString(" " + a.String()); return true })
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, b.String())
	r.msgs = append(r.msgs, rec.Message)
	return nil
}

func (r *recorder) WithAttrs(attrs []slog.Attr) slog.Handler {
	// Children share the parent's records.
	return &childRecorder{root: r, attrs: attrs}
}

func (r *recorder) WithGroup(string) slog.Handler { return r }

func (r *recorder) count(msg string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, m := range r.msgs {
		if m == msg {
			n++
		}
	}
	return n
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.lines, "\n")
}

// childRecorder is a recorder with attributes, writing to its root's list.
type childRecorder struct {
	root  *recorder
	attrs []slog.Attr
}

func (c *childRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (c *childRecorder) Handle(ctx context.Context, rec slog.Record) error {
	rec = rec.Clone()
	rec.AddAttrs(c.attrs...)
	return c.root.Handle(ctx, rec)
}

func (c *childRecorder) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &childRecorder{root: c.root, attrs: append(slices.Clone(c.attrs), attrs...)}
}

func (c *childRecorder) WithGroup(string) slog.Handler { return c }
