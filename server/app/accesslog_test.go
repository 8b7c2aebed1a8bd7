package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/bubblewasm/bubblewasm/internal/testapp"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server/accesslog"
	"github.com/bubblewasm/bubblewasm/server/app"
	"github.com/bubblewasm/bubblewasm/server/config"
)

const accessRoutes = `
[[listener]]
name = "lines"
address = "tcp://127.0.0.1:0"
transport = "line"

[[route]]
name = "flood"
module = "flood.wasm"
match = { PATH_INFO = "/flood" }
pubsub = ["chat"]

[[route]]
name = "news"
builtin = "longpoll"
channel = "news"
match = { PATH_INFO = "/news" }
timeout = "60s"

[[route]]
name = "hello"
module = "named.wasm"
match = { "bubble.transport" = "line" }
`

// accessRecords decodes the JSON access records logged so far.
func accessRecords(t *testing.T, logs *testutil.LogBuffer) []map[string]any {
	var out []map[string]any
	for l := range strings.SplitSeq(logs.String(), "\n") {
		if l == "" {
			continue
		}
		var r map[string]any
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("access record %q: %v", l, err)
		}
		out = append(out, r)
	}
	return out
}

// accessRecord waits for the one record that has every field of want.
func accessRecord(t *testing.T, logs *testutil.LogBuffer, want map[string]any) map[string]any {
	t.Helper()
	var found map[string]any
	testutil.Eventually(t, fmt.Sprintf("an access record with %v", want), func() bool {
		for _, r := range accessRecords(t, logs) {
			ok := true
			for k, v := range want {
				ok = ok && fmt.Sprint(r[k]) == fmt.Sprint(v)
			}
			if ok {
				found = r
				return true
			}
		}
		return false
	})
	return found
}

// The access log of a running app, in JSON: an HTTP request served by a
// module (whose log records and stdout lines carry the request id), a 404,
// a line exchange, and a long poll whose client leaves (a 499 at INFO, and
// no warning or error in the server log).
func TestAccessLog(t *testing.T) {
	logger, logs := testutil.CaptureLogger(t)
	access := &testutil.LogBuffer{}
	accessLogger := slog.New(slog.NewJSONHandler(access, &slog.HandlerOptions{ReplaceAttr: accesslog.JSONDurations}))
	cfg := loadConfig(t, writeConfig(t, config.EngineWazero, accessRoutes, "flood", "named"))
	addrs := testapp.Start(t, cfg, app.Options{Logger: logger, AccessLog: accessLogger})
	base := testutil.URL(addrs[0])
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("access log:\n%s", access.String())
		}
	})

	t.Run("guest records", func(t *testing.T) {
		for _, op := range []string{"log", "stdout"} {
			resp := send(t, client, "GET", base+"/flood", "", "X-Op: "+op, "X-Count: 3", "X-Len: 5", "X-Level: 0", "X-Request-Id: req-"+op)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(body) != "done 3\n" || resp.Header.Get("X-Request-Id") != "req-"+op {
				t.Fatalf("%s: %d %q, X-Request-Id %q", op, resp.StatusCode, body, resp.Header.Get("X-Request-Id"))
			}
			r := accessRecord(t, access, map[string]any{"request_id": "req-" + op})
			for k, v := range map[string]any{"level": "INFO", "msg": "exchange", "listener": "web", "transport": "http", "route": "flood",
				"method": "GET", "path": "/flood", "status": 200, "bytes_in": 0, "bytes_out": 7} {
				if fmt.Sprint(r[k]) != fmt.Sprint(v) {
					t.Errorf("%s: %s=%v, want %v (record %v)", op, k, r[k], v, r)
				}
			}
			if d, ok := r["duration_ms"].(float64); !ok || d <= 0 {
				t.Errorf("duration_ms %v, want a positive number", r["duration_ms"])
			}
			if n := len(linesWith(logs, "xxxxx", "request_id=req-"+op)); n != 3 {
				t.Errorf("%s: %d guest records carry the request id, want 3", op, n)
			}
		}
	})

	t.Run("not found", func(t *testing.T) {
		code, _ := do(t, "GET", base+"/favicon.ico", "", "X-Request-Id: fav")
		if code != 404 {
			t.Fatalf("status %d", code)
		}
		accessRecord(t, access, map[string]any{"request_id": "fav", "status": 404, "level": "INFO", "route": ""})
		for _, l := range linesWith(logs, "request_id=fav") {
			if strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") {
				t.Errorf("a 404 is not a warning: %s", l)
			}
		}
	})

	t.Run("line", func(t *testing.T) {
		conn := testutil.Dial(t, addrs[1])
		fmt.Fprint(conn, "hi\n")
		if line, err := bufio.NewReader(conn).ReadString('\n'); err != nil || line != "hello\n" {
			t.Fatalf("answer %q, %v", line, err)
		}
		r := accessRecord(t, access, map[string]any{"listener": "lines", "line": "1"})
		for k, v := range map[string]any{"transport": "line", "route": "hello", "status": 200, "bytes_in": 2, "bytes_out": 6} {
			if fmt.Sprint(r[k]) != fmt.Sprint(v) {
				t.Errorf("%s=%v, want %v (record %v)", k, r[k], v, r)
			}
		}
	})

	t.Run("client leaves a long poll", func(t *testing.T) {
		waiting := parkedIn(brokerFetch)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			resp, err := sendErr(ctx, client, "GET", base+"/news?timeout=50", "", "X-Request-Id: gone")
			if err == nil {
				resp.Body.Close()
			}
			done <- err
		}()
		testutil.Eventually(t, "the poll waiting", func() bool { return parkedIn(brokerFetch) > waiting })
		cancel()
		<-done
		accessRecord(t, access, map[string]any{"request_id": "gone", "status": 499, "level": "INFO", "route": "news"})
		for _, l := range linesWith(logs, "request_id=gone") {
			if strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") {
				t.Errorf("a client that left is not a warning: %s", l)
			}
		}
		for _, l := range linesWith(logs, "level=ERROR") {
			t.Errorf("error in the server log: %s", l)
		}
	})
}
