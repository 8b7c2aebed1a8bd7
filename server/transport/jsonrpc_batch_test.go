package transport_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/transport"
)

// logRecorder is a slog.Handler that keeps every record's message and
// attributes as one text line, and also writes it to the test log.
type logRecorder struct {
	t     testing.TB
	mu    sync.Mutex
	lines []string
}

func recordLogs(t testing.TB) (*slog.Logger, *logRecorder) {
	r := &logRecorder{t: t}
	return slog.New(r), r
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *logRecorder) WithGroup(string) slog.Handler            { return r }

func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	var b strings.Builder
	b.WriteString(rec.Message)
	rec.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	r.mu.Lock()
	r.lines = append(r.lines, b.String())
	r.mu.Unlock()
	r.t.Log(b.String())
	return nil
}

// with returns the lines that start with msg.
func (r *logRecorder) with(msg string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, l := range r.lines {
		if strings.HasPrefix(l, msg) {
			out = append(out, l)
		}
	}
	return out
}

// wait waits (bounded) for a line that starts with msg and returns it.
func (r *logRecorder) wait(t *testing.T, msg string) string {
	t.Helper()
	for deadline := time.Now().Add(testDeadline); ; time.Sleep(2 * time.Millisecond) {
		if l := r.with(msg); len(l) > 0 {
			return l[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line %q", msg)
		}
	}
}

// callsOf is a batch of n calls of method m with ids 0..n-1.
func callsOf(n int) string {
	return batchOf(n, func(i int) string { return fmt.Sprintf(`{"jsonrpc":"2.0","method":"m","params":[%d],"id":%d}`, i, i) })
}

// gatedMethod counts the calls that start, then holds each until gate is
// closed (if it is not nil) or its context ends, and echoes its params.
func gatedMethod(started *atomic.Int64, gate <-chan struct{}) server.HandlerFunc {
	return func(ctx context.Context, x *server.Exchange) error {
		started.Add(1)
		if gate == nil {
			<-ctx.Done()
			return ctx.Err()
		}
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
		_, err := io.Copy(x.Writer, x.Reader)
		return err
	}
}

func waitStarted(t *testing.T, started *atomic.Int64, n int64) {
	t.Helper()
	for deadline := time.Now().Add(testDeadline); started.Load() < n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d calls started, want %d", started.Load(), n)
		}
	}
}

// TestJSONRPCBatchClientLeaves is the attack of issue 8: a client sends a
// long batch and goes away. The batch must stop: calls not started never
// start, and one log line sums it up instead of one per call.
func TestJSONRPCBatchClientLeaves(t *testing.T) {
	const calls = 1000
	opts := func(logger *slog.Logger) transport.Options {
		return transport.Options{Logger: logger, MaxBatch: calls, BatchConcurrency: 2, MaxLineBytes: 1 << 20}
	}
	checkLogs := func(t *testing.T, logs *logRecorder) string {
		t.Helper()
		line := logs.wait(t, "jsonrpc request stopped")
		if n := len(logs.with("jsonrpc request stopped")); n != 1 {
			t.Errorf("%d summary lines, want 1", n)
		}
		if n := len(logs.with("jsonrpc call failed")); n != 0 {
			t.Errorf("%d lines for failed calls, want none (the summary says it)", n)
		}
		return line
	}
	for _, addr := range []string{"tcp://127.0.0.1:0", sockAddr(t)} {
		network, _, _ := strings.Cut(addr, ":")
		t.Run("stream/"+network, func(t *testing.T) {
			// The client closes its connection (no reset: it has nothing
			// unread). The server cannot tell that from a client done
			// sending until an answer fails to go out; then it stops.
			var started atomic.Int64
			gate := make(chan struct{})
			logger, logs := recordLogs(t)
			a := testutil.Serve(t, addr, "jsonrpc", gatedMethod(&started, gate), opts(logger))
			c := rawConn(t, a)
			io.WriteString(c, callsOf(calls)+"\n")
			waitStarted(t, &started, 2)
			c.Close()
			close(gate)
			line := checkLogs(t, logs)
			if n := started.Load(); n >= calls/10 {
				t.Fatalf("%d of %d calls started after the client left (%s)", n, calls, line)
			}
		})
	}
	t.Run("http", func(t *testing.T) {
		// The client cancels its request: net/http cancels the request's
		// context (it reads the connection once the body is consumed), the
		// two calls running end, and no other starts.
		var started atomic.Int64
		logger, logs := recordLogs(t)
		outer := server.NewRouter(server.Route{Name: "rpc", Handler: transport.NewJSONRPC(gatedMethod(&started, nil), opts(logger))})
		a := testutil.Serve(t, "tcp://127.0.0.1:0", "http", outer, transport.Options{})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "POST", testutil.URL(a)+"/rpc", strings.NewReader(callsOf(calls)))
		errc := make(chan error, 1)
		go func() {
			resp, err := testutil.HTTPClient(t, a).Do(req)
			if err == nil {
				resp.Body.Close()
			}
			errc <- err
		}()
		waitStarted(t, &started, 2)
		cancel()
		line := checkLogs(t, logs)
		if n := started.Load(); n != 2 {
			t.Fatalf("%d calls started, want the 2 running when the client left", n)
		}
		if !strings.Contains(line, "cancelled=2") || !strings.Contains(line, fmt.Sprintf("not_started=%d", calls-2)) {
			t.Fatalf("summary %q, want 2 cancelled and %d not started", line, calls-2)
		}
		if err := <-errc; err == nil {
			t.Fatal("the cancelled request succeeded")
		}
	})
}

// TestJSONRPCBatchStreamsAnswers: a client that stays gets each answer of a
// batch as soon as it and those before it are done, not all at the end.
func TestJSONRPCBatchStreamsAnswers(t *testing.T) {
	var started atomic.Int64
	gate := make(chan struct{})
	first := server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
		if x.Env[abi.EnvJSONRPCID] == "0" {
			_, err := io.Copy(x.Writer, x.Reader)
			return err
		}
		return gatedMethod(&started, gate)(ctx, x)
	})
	a := testutil.Serve(t, "tcp://127.0.0.1:0", "jsonrpc", first, transport.Options{})
	c := rawConn(t, a)
	r := bufio.NewReader(c)
	io.WriteString(c, callsOf(3)+"\n")
	want := `[{"jsonrpc":"2.0","result":[0],"id":0}`
	got := make([]byte, len(want))
	if _, err := io.ReadFull(r, got); err != nil || string(got) != want {
		t.Fatalf("first answer %q, %v; want %q while the other calls wait", got, err, want)
	}
	close(gate)
	rest, err := r.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	sameRPC(t, append(got, rest...), []byte(`[{"jsonrpc":"2.0","result":[0],"id":0},{"jsonrpc":"2.0","result":[1],"id":1},{"jsonrpc":"2.0","result":[2],"id":2}]`))
}

func TestJSONRPCMaxBatch(t *testing.T) {
	for _, tc := range []struct {
		name string
		max  int // Options.MaxBatch
		want int // the limit in effect
	}{
		{"option", 3, 3},
		{"default", 0, transport.DefaultMaxBatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int64
			methods := server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
				calls.Add(1)
				_, err := io.Copy(x.Writer, x.Reader)
				return err
			})
			opts := transport.Options{MaxBatch: tc.max, MaxLineBytes: 1 << 20}
			a := testutil.Serve(t, sockAddr(t), "jsonrpc", methods, opts)
			url, client := serveRPCOverHTTP(t, methods, true, opts)
			c := rawConn(t, a)
			r := bufio.NewReader(c)
			exchange := func(body string) []byte {
				io.WriteString(c, body+"\n")
				line, err := r.ReadBytes('\n')
				if err != nil {
					t.Fatal(err)
				}
				resp, httpBody := postRPC(t, client, url, body)
				if resp.StatusCode != http.StatusOK || !bytes.Equal(httpBody, bytes.TrimSuffix(line, []byte("\n"))) {
					t.Fatalf("over HTTP: %d %.200s; on the stream: %.200s", resp.StatusCode, httpBody, line)
				}
				return line
			}
			// At the limit: every call runs and is answered.
			var n []any
			if err := json.Unmarshal(exchange(callsOf(tc.want)), &n); err != nil || len(n) != tc.want {
				t.Fatalf("a batch of %d: %d answers, %v", tc.want, len(n), err)
			}
			if got := calls.Load(); got != 2*int64(tc.want) {
				t.Fatalf("%d calls ran, want %d", got, 2*tc.want)
			}
			// One over: one error, nothing runs.
			calls.Store(0)
			line := exchange(callsOf(tc.want + 1))
			code, msg, _, id := rpcError(t, line)
			if code != -32600 || string(id) != "null" || !strings.Contains(msg, fmt.Sprintf("batch too large (limit %d calls)", tc.want)) {
				t.Fatalf("a batch of %d: %s", tc.want+1, line)
			}
			if got := calls.Load(); got != 0 {
				t.Fatalf("%d calls of a refused batch ran", got)
			}
		})
	}
}

// TestJSONRPCRequestEdgeCases: whatever the request, every response is
// valid JSON in UTF-8, and an id is either echoed byte for byte or null.
func TestJSONRPCRequestEdgeCases(t *testing.T) {
	echo := server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
		in, _ := io.ReadAll(x.Reader)
		if string(in) == `["notutf8"]` {
			in = []byte("\"\xff\xfe\"")
		}
		_, err := x.Writer.Write(in)
		return err
	})
	long := `"` + strings.Repeat("é", 20000) + `"`
	cases := []struct {
		name, req string
		code      int    // 0: a result
		id        string // the exact id of the response
	}{
		{"id not UTF-8", "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":\"\xff\"}", -32600, "null"},
		{"id with a bad sequence", "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":\"a\xc3\x28b\"}", -32600, "null"},
		{"id with a surrogate half", "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":\"\xed\xa0\x80\"}", -32600, "null"},
		{"method not UTF-8", "{\"jsonrpc\":\"2.0\",\"method\":\"m\xff\",\"id\":1}", -32600, "null"},
		{"params not UTF-8", "{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":[\"\xc0\xaf\"],\"id\":1}", -32600, "null"},
		{"result not UTF-8", `{"jsonrpc":"2.0","method":"m","params":["notutf8"],"id":1}`, -32603, "1"},
		{"huge integer id", `{"jsonrpc":"2.0","method":"m","id":123456789012345678901234567890123456789}`, 0, "123456789012345678901234567890123456789"},
		{"huge exponent id", `{"jsonrpc":"2.0","method":"m","id":1e400}`, 0, "1e400"},
		{"fractional id", `{"jsonrpc":"2.0","method":"m","id":-0.5e-3}`, 0, "-0.5e-3"},
		{"negative zero id", `{"jsonrpc":"2.0","method":"m","id":-0}`, 0, "-0"},
		{"escaped string id", `{"jsonrpc":"2.0","method":"m","id":"\u00e9\n\"\\\ud83d\ude00"}`, 0, `"\u00e9\n\"\\\ud83d\ude00"`},
		{"lone surrogate escape id", `{"jsonrpc":"2.0","method":"m","id":"\ud800"}`, 0, `"\ud800"`},
		{"very long string id", `{"jsonrpc":"2.0","method":"m","id":` + long + `}`, 0, long},
		{"object id", `{"jsonrpc":"2.0","method":"m","id":{"a":[1,{"b":2}]}}`, -32600, "null"},
		{"array id", `{"jsonrpc":"2.0","method":"m","id":[[[]]]}`, -32600, "null"},
		{"duplicate id", `{"jsonrpc":"2.0","method":"m","id":1,"id":2}`, -32600, "null"},
		{"duplicate id, escaped", `{"jsonrpc":"2.0","method":"m","id":1,"\u0069d":2}`, -32600, "null"},
		{"duplicate method", `{"jsonrpc":"2.0","method":"m","method":"other","id":1}`, -32600, "null"},
		{"duplicate params", `{"jsonrpc":"2.0","method":"m","params":[1],"params":[2],"id":1}`, -32600, "null"},
		{"duplicate jsonrpc", `{"jsonrpc":"1.0","jsonrpc":"2.0","method":"m","id":1}`, -32600, "null"},
		{"duplicate unknown member", `{"jsonrpc":"2.0","method":"m","x":1,"x":2,"id":1}`, 0, "1"},
		{"id differing in case", `{"jsonrpc":"2.0","method":"m","ID":1,"id":2}`, 0, "2"},
		{"NUL in method", `{"jsonrpc":"2.0","method":"a\u0000b","id":1}`, -32600, "1"},
		{"newline in method", `{"jsonrpc":"2.0","method":"a\nb","id":1}`, -32600, "1"},
		{"DEL in method", `{"jsonrpc":"2.0","method":"a` + "\x7f" + `b","id":1}`, -32600, "1"},
		{"non-ASCII method", `{"jsonrpc":"2.0","method":"méthode","id":1}`, -32601, "1"},
		{"bad element among good ones", "[{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":\"\xff\"},{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":7}]", 0, ""},
	}
	router := server.NewRouter(server.Route{Name: "m", Match: map[string]server.Pattern{abi.EnvJSONRPCMethod: mustPattern(t, "m")}, Handler: echo})
	a := testutil.Serve(t, sockAddr(t), "jsonrpc", router, transport.Options{})
	url, client := serveRPCOverHTTP(t, router, true, transport.Options{})
	c := rawConn(t, a)
	r := bufio.NewReader(c)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			io.WriteString(c, tc.req+"\n")
			line, err := r.ReadBytes('\n')
			if err != nil {
				t.Fatal(err)
			}
			line = bytes.TrimSuffix(line, []byte("\n"))
			if _, body := postRPC(t, client, url, tc.req); !bytes.Equal(body, line) {
				t.Errorf("over HTTP %q, on the stream %q", body, line)
			}
			if !json.Valid(line) || !utf8.Valid(line) {
				t.Fatalf("response %q is not JSON text", line)
			}
			if tc.id == "" { // the batch: the bad call alone is refused
				sameRPC(t, line, []byte(`[{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request","data":"a request must be UTF-8 text"},"id":null},{"jsonrpc":"2.0","result":null,"id":7}]`))
				return
			}
			var resp struct {
				Result json.RawMessage
				Error  *struct{ Code int }
				ID     json.RawMessage
			}
			if err := json.Unmarshal(line, &resp); err != nil {
				t.Fatal(err)
			}
			code := 0
			if resp.Error != nil {
				code = resp.Error.Code
			}
			if code != tc.code || string(resp.ID) != tc.id {
				t.Fatalf("got code %d id %.80s (%.300s), want code %d id %.80s", code, resp.ID, line, tc.code, tc.id)
			}
		})
	}
}

// TestJSONRPCBatchTimeout: when the exchange's context ends while the
// client is still there (a route's timeout), every call is still answered:
// the ones cut short with an Internal error, the ones never started with an
// Internal error saying so.
func TestJSONRPCBatchTimeout(t *testing.T) {
	var started atomic.Int64
	logger, logs := recordLogs(t)
	rpc := transport.NewJSONRPC(gatedMethod(&started, nil), transport.Options{Logger: logger, BatchConcurrency: 1})
	timed := server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
		ctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		return rpc.Serve(ctx, x)
	})
	a := testutil.Serve(t, "tcp://127.0.0.1:0", "http", server.NewRouter(server.Route{Name: "rpc", Handler: timed}), transport.Options{})
	// Four calls and a notification: one call runs, the rest never start.
	resp, body := postRPC(t, testutil.HTTPClient(t, a), testutil.URL(a)+"/rpc",
		strings.TrimSuffix(callsOf(4), "]")+`,{"jsonrpc":"2.0","method":"m"}]`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	var got []map[string]json.RawMessage
	if err := json.Unmarshal(body, &got); err != nil || len(got) != 4 {
		t.Fatalf("got %s (%v), want 4 responses", body, err)
	}
	for i, r := range got {
		var e struct {
			Code int
			Data string
		}
		json.Unmarshal(r["error"], &e)
		if e.Code != -32603 || string(r["id"]) != fmt.Sprint(i) {
			t.Fatalf("response %d: %s", i, body)
		}
		if i > 0 && e.Data != "call not run: the request timed out" {
			t.Fatalf("response %d: data %q, want it to say the call did not run", i, e.Data)
		}
	}
	if n := started.Load(); n != 1 {
		t.Fatalf("%d calls started, want 1", n)
	}
	line := logs.wait(t, "jsonrpc request stopped")
	if !strings.Contains(line, "cancelled=1 not_started=4") {
		t.Fatalf("summary %q", line)
	}
}
