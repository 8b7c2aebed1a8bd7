package accesslog_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/accesslog"
	"github.com/bubblewasm/bubblewasm/server/transport"
)

// record is one text access record, its attributes by key.
type record map[string]string

// parseText parses a slog text line: key=value pairs, values quoted when
// they hold spaces.
func parseText(t *testing.T, line string) record {
	t.Helper()
	r := record{}
	for line != "" {
		k, rest, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("not key=value: %q", line)
		}
		var v string
		if strings.HasPrefix(rest, `"`) {
			end := 1
			for ; end < len(rest) && (rest[end] != '"' || rest[end-1] == '\\'); end++ {
			}
			v, rest = rest[1:end], rest[min(end+1, len(rest)):]
		} else {
			v, rest, _ = strings.Cut(rest, " ")
		}
		r[k] = v
		line = strings.TrimPrefix(rest, " ")
	}
	return r
}

// records returns the access records logged so far.
func records(t *testing.T, logs *testutil.LogBuffer) []record {
	var out []record
	for l := range strings.SplitSeq(logs.String(), "\n") {
		if l != "" {
			out = append(out, parseText(t, l))
		}
	}
	return out
}

// waitRecord waits for the access record of request id.
func waitRecord(t *testing.T, logs *testutil.LogBuffer, id string) record {
	t.Helper()
	var found record
	testutil.Eventually(t, "the access record of "+id, func() bool {
		for _, r := range records(t, logs) {
			if r["request_id"] == id {
				found = r
				return true
			}
		}
		return false
	})
	return found
}

// echo answers /hello with its env's request id, and everything else 404.
func echo(seen chan<- string) server.Handler {
	return server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
		if accesslog.ID(ctx) != x.Env[abi.EnvRequestID] {
			return fmt.Errorf("context id %q, env id %q", accesslog.ID(ctx), x.Env[abi.EnvRequestID])
		}
		if seen != nil {
			seen <- x.Env[abi.EnvRequestID]
		}
		if x.Env[abi.EnvTransport] == "http" && x.Env[abi.EnvPathInfo] != "/hello" {
			return fmt.Errorf("%w: %s", server.ErrNoRoute, x.Env[abi.EnvPathInfo])
		}
		body, _ := io.ReadAll(x.Reader)
		_, err := fmt.Fprintf(x.Writer, "hello %s", body)
		return err
	})
}

func textLog() (*slog.Logger, *testutil.LogBuffer) {
	logs := &testutil.LogBuffer{}
	return slog.New(slog.NewTextHandler(logs, nil)), logs
}

// An HTTP exchange served 200 and one answered 404, through Go's client:
// one INFO record each with every field, and the id echoed.
func TestHTTPRecords(t *testing.T) {
	logger, logs := textLog()
	addr := testutil.Serve(t, "tcp://127.0.0.1:0", "http", accesslog.New(echo(nil), logger), transport.Options{})
	base := testutil.URL(addr)
	for _, c := range []struct {
		path, body string
		status     int
		level      string
	}{
		{"/hello", "world", 200, "INFO"},
		{"/favicon.ico", "", 404, "INFO"},
	} {
		resp, err := http.Post(base+c.path, "text/plain", strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Fatalf("%s: status %d, want %d", c.path, resp.StatusCode, c.status)
		}
		id := resp.Header.Get("X-Request-Id")
		if len(id) != 16 || !accesslog.ValidID(id) {
			t.Fatalf("%s: X-Request-Id %q", c.path, id)
		}
		r := waitRecord(t, logs, id)
		want := record{"level": c.level, "msg": accesslog.Message, "listener": "test", "transport": "http",
			"method": "POST", "path": c.path, "status": fmt.Sprint(c.status), "bytes_in": fmt.Sprint(len(c.body))}
		if c.status == 200 {
			want["bytes_out"] = fmt.Sprint(len(out))
		}
		for k, v := range want {
			if r[k] != v {
				t.Errorf("%s: %s=%q, want %q (record %v)", c.path, k, r[k], v, r)
			}
		}
		if d, err := time.ParseDuration(r["duration"]); err != nil || d <= 0 {
			t.Errorf("%s: duration %q is not a readable duration: %v", c.path, r["duration"], err)
		}
	}
}

// A line transport exchange: its record names the line and counts the
// line's bytes and the answer's.
func TestLineRecord(t *testing.T) {
	logger, logs := textLog()
	seen := make(chan string, 1)
	addr := testutil.Serve(t, "tcp://127.0.0.1:0", "line", accesslog.New(echo(seen), logger), transport.Options{})
	conn := testutil.Dial(t, addr)
	fmt.Fprint(conn, "abc\n")
	answer, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || answer != "hello abc\n" {
		t.Fatalf("answer %q, %v", answer, err)
	}
	r := waitRecord(t, logs, <-seen)
	for k, v := range map[string]string{"level": "INFO", "transport": "line", "line": "1", "status": "200", "bytes_in": "3", "bytes_out": "9"} {
		if r[k] != v {
			t.Errorf("%s=%q, want %q (record %v)", k, r[k], v, r)
		}
	}
}

// A client's X-Request-Id is kept when it is safe to log, replaced
// otherwise.
func TestClientRequestID(t *testing.T) {
	logger, logs := textLog()
	addr := testutil.Serve(t, "tcp://127.0.0.1:0", "http", accesslog.New(echo(nil), logger), transport.Options{})
	base := testutil.URL(addr)
	for _, c := range []struct {
		name string
		ids  []string // the request's X-Request-Id headers
		keep bool
	}{
		{"uuid", []string{"0f8fad5b-d9cb-469f-a165-70867728950e"}, true},
		{"base64", []string{"q+/Az09=="}, true},
		{"longest", []string{strings.Repeat("a", accesslog.MaxIDLength)}, true},
		{"too long", []string{strings.Repeat("a", accesslog.MaxIDLength+1)}, false},
		{"huge", []string{strings.Repeat("b", 60000)}, false},
		{"space", []string{"a b"}, false},
		{"forged field", []string{`x status=200 msg="ok"`}, false},
		{"quote", []string{`a"b`}, false},
		{"non-ASCII", []string{"é"}, false},
		{"tab", []string{"a\tb"}, false},
		{"two headers", []string{"a", "b"}, false},
		{"empty", []string{""}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", base+"/hello", nil)
			for _, id := range c.ids {
				req.Header.Add("X-Request-Id", id)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got := resp.Header.Get("X-Request-Id")
			if c.keep && got != c.ids[0] {
				t.Fatalf("X-Request-Id %q, want the client's %q", got, c.ids[0])
			}
			if !c.keep && (got == c.ids[0] || len(got) != 16) {
				t.Fatalf("X-Request-Id %q: the client's %q was not replaced", got, c.ids[0])
			}
			waitRecord(t, logs, got)
		})
	}
}

// Records logged with an exchange's context carry its id, whatever logger
// the handler uses, once wrapped by Handler.
func TestHandlerAddsID(t *testing.T) {
	logs := &testutil.LogBuffer{}
	logger := slog.New(accesslog.Handler(slog.NewTextHandler(logs, nil))).With("route", "r")
	logger.InfoContext(accesslog.WithID(context.Background(), "abc"), "guest says", "stream", "stderr")
	logger.InfoContext(context.Background(), "no exchange")
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 || !strings.HasSuffix(lines[0], "route=r stream=stderr request_id=abc") || strings.Contains(lines[1], "request_id") {
		t.Fatalf("records:\n%s", logs.String())
	}
}

// A cancelled exchange (its client went away) is a 499 at INFO; a handler
// failure is a 500 at ERROR, an overloaded one a 503 at WARN.
func TestLevels(t *testing.T) {
	for _, c := range []struct {
		name   string
		err    error
		cancel bool
		status string
		level  string
	}{
		{"client gone", context.Canceled, true, "499", "INFO"},
		{"failed", server.ErrHandlerFailed, false, "500", "ERROR"},
		{"overloaded", server.ErrOverloaded, false, "503", "WARN"},
		{"too large", server.ErrTooLarge, false, "413", "INFO"},
	} {
		t.Run(c.name, func(t *testing.T) {
			logger, logs := textLog()
			ctx, cancel := context.WithCancel(context.Background())
			h := accesslog.New(server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
				if c.cancel {
					cancel()
				}
				return c.err
			}), logger)
			x := &server.Exchange{Env: server.Env{abi.EnvTransport: "raw"}, Reader: strings.NewReader(""), Writer: server.NewStreamWriter(io.Discard)}
			if err := h.Serve(ctx, x); !errors.Is(err, c.err) {
				t.Fatalf("err %v", err)
			}
			cancel()
			r := records(t, logs)
			if len(r) != 1 || r[0]["status"] != c.status || r[0]["level"] != c.level || r[0]["err"] == "" {
				t.Fatalf("records %v, want status %s at %s", r, c.status, c.level)
			}
		})
	}
}

func TestJSONDurations(t *testing.T) {
	logs := &testutil.LogBuffer{}
	slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{ReplaceAttr: accesslog.JSONDurations})).
		Info("shutting down", "timeout", 10*time.Second, "duration", 1250*time.Microsecond)
	if s := logs.String(); !strings.Contains(s, `"timeout_ms":10000,"duration_ms":1.25}`) {
		t.Fatalf("record %s", s)
	}
}

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for range 10000 {
		id := accesslog.NewID()
		if len(id) != 16 || !accesslog.ValidID(id) || seen[id] {
			t.Fatalf("id %q (seen before: %v)", id, seen[id])
		}
		seen[id] = true
	}
}

// BenchmarkExchange is the access log's own cost per exchange: a request
// id, the meters and one record (text, JSON: to io.Discard; off: none),
// around a handler that writes 14 bytes.
func BenchmarkExchange(b *testing.B) {
	for _, c := range []struct {
		name   string
		logger *slog.Logger
	}{
		{"text", slog.New(slog.NewTextHandler(io.Discard, nil))},
		{"json", slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{ReplaceAttr: accesslog.JSONDurations}))},
		{"off", nil},
	} {
		b.Run(c.name, func(b *testing.B) {
			h := accesslog.New(server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
				_, err := x.Writer.Write([]byte("Hello, world!\n"))
				return err
			}), c.logger)
			env := server.Env{abi.EnvTransport: "http", abi.EnvListener: "web", abi.EnvRequestMethod: "GET", abi.EnvPathInfo: "/"}
			w := server.NewStreamWriter(io.Discard)
			b.ReportAllocs()
			for b.Loop() {
				h.Serve(context.Background(), &server.Exchange{Env: env, Reader: strings.NewReader(""), Writer: w})
			}
		})
	}
}

// A handler that writes a little and then fails: the HTTP transport still
// holds the bytes back and answers 500 instead, and the access record says
// what the client got, not the status the handler set. One that flushed
// first keeps its 200 (the connection is cut).
func TestFailureAfterWrite(t *testing.T) {
	logger, logs := textLog()
	h := accesslog.New(server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
		io.WriteString(x.Writer, "x")
		if x.Env[abi.EnvPathInfo] == "/flushed" {
			x.Writer.Flush()
		}
		return fmt.Errorf("%w: trap after a write", server.ErrHandlerFailed)
	}), logger)
	base := testutil.URL(testutil.Serve(t, "tcp://127.0.0.1:0", "http", h, transport.Options{}))
	for _, c := range []struct {
		path   string
		status string
	}{{"/held", "500"}, {"/flushed", "200"}} {
		resp, err := http.Get(base + c.path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if fmt.Sprint(resp.StatusCode) != c.status {
			t.Fatalf("%s: client got %d, want %s", c.path, resp.StatusCode, c.status)
		}
		if r := waitRecord(t, logs, resp.Header.Get("X-Request-Id")); r["status"] != c.status {
			t.Errorf("%s: access record status=%s, the client got %s (record %v)", c.path, r["status"], c.status, r)
		}
	}
}
