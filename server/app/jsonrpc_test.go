package app_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/internal/testapp"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
)

// rpcConfig serves JSON-RPC on a unix socket (sock) and under POST /rpc,
// with the methods echo (rpcecho.wat) and spin (spin.wat).
const rpcConfig = `
[[listener]]
name = "rpc"
address = "unix://%s"
transport = "jsonrpc"
max_line_bytes = "1MiB"
max_batch = 2000
idle_timeout = "1h"

[[route]]
name = "rpc"
match = { PATH_INFO = "/rpc", REQUEST_METHOD = "POST" }
transport = "jsonrpc"
max_batch = 2000
timeout = "5m"

[[route]]
name = "echo"
match = { "jsonrpc.method" = "echo" }
module = "rpcecho.wasm"

[[route]]
name = "spin"
match = { "jsonrpc.method" = "spin" }
module = "spin.wasm"
timeout = "5m"
`

// rpcBatch is a batch of n calls of method, params [i], ids i.
func rpcBatch(method string, n int) string {
	calls := make([]string, n)
	for i := range calls {
		calls[i] = fmt.Sprintf(`{"jsonrpc":"2.0","method":%q,"params":[%d],"id":%d}`, method, i, i)
	}
	return "[" + strings.Join(calls, ",") + "]"
}

// countLines counts the log lines that contain every one of want.
func countLines(logs *testutil.LogBuffer, want ...string) int {
	n := 0
	for l := range strings.SplitSeq(logs.String(), "\n") {
		ok := l != ""
		for _, w := range want {
			ok = ok && strings.Contains(l, w)
		}
		if ok {
			n++
		}
	}
	return n
}

// summaryField reads key=N off a "jsonrpc request stopped" line.
func summaryField(t *testing.T, line, key string) int {
	t.Helper()
	for f := range strings.FieldsSeq(line) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("%s in %q: %v", key, line, err)
			}
			return n
		}
	}
	t.Fatalf("no %s in %q", key, line)
	return 0
}

// TestJSONRPCBatchClientGone is issue 8's "work for nobody" attack on
// real modules, on each engine: a client sends a long batch and leaves.
// Calls not started by then never start, those running are interrupted,
// and the log gets one summary line instead of one line per call.
func TestJSONRPCBatchClientGone(t *testing.T) {
	for _, engine := range testapp.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			sock := filepath.Join(t.TempDir(), "rpc.sock")
			url, logs := start(t, engine, fmt.Sprintf(rpcConfig, sock), "rpcecho", "spin")

			t.Run("unix socket", func(t *testing.T) {
				// The whole batch, then the client closes: without a final
				// newline the batch is only complete at EOF, so the client is
				// gone before the first answer is written.
				const calls = 2000
				c, err := net.Dial("unix", sock)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := c.Write([]byte(rpcBatch("echo", calls))); err != nil {
					t.Fatal(err)
				}
				c.Close()
				line := waitLog(t, logs, "jsonrpc request stopped", "listener=rpc")
				if ran := summaryField(t, line, "finished") + summaryField(t, line, "cancelled"); ran >= calls/2 {
					t.Fatalf("%d of %d calls ran for a client that had left: %s", ran, calls, line)
				}
				if n := countLines(logs, "jsonrpc call failed"); n != 0 {
					t.Fatalf("%d log lines for failed calls, want none", n)
				}
			})

			t.Run("http", func(t *testing.T) {
				// Eight calls spin (the batch's concurrency); the client
				// cancels the request; they are interrupted and the other 92
				// never start.
				const calls = 100
				before := countLines(logs, "msg=spinning")
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				req, _ := http.NewRequestWithContext(ctx, "POST", url+"/rpc", strings.NewReader(rpcBatch("spin", calls)))
				errc := make(chan error, 1)
				go func() {
					resp, err := client.Do(req)
					if err == nil {
						resp.Body.Close()
					}
					errc <- err
				}()
				testutil.Eventually(t, "8 spinning calls", func() bool { return countLines(logs, "msg=spinning") == before+8 })
				cancel()
				line := waitLog(t, logs, "jsonrpc request stopped", "route=rpc")
				if c, n := summaryField(t, line, "cancelled"), summaryField(t, line, "not_started"); c != 8 || n != calls-8 {
					t.Fatalf("%s: want 8 cancelled and %d not started", line, calls-8)
				}
				if n := countLines(logs, "msg=spinning"); n != before+8 {
					t.Fatalf("%d calls started, want 8", n-before)
				}
				if n := countLines(logs, "jsonrpc call failed"); n != 0 {
					t.Fatalf("%d log lines for failed calls, want none", n)
				}
				if err := <-errc; err == nil {
					t.Fatal("the cancelled request succeeded")
				}
			})

			// The server is still fine: a call on the socket is answered.
			c, err := net.Dial("unix", sock)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(time.Minute))
			fmt.Fprintln(c, `{"jsonrpc":"2.0","method":"echo","params":{"ok":true},"id":"after"}`)
			if got := readLine(t, bufio.NewReader(c)); got != `{"jsonrpc":"2.0","result":{"ok":true},"id":"after"}`+"\n" {
				t.Fatalf("after the attacks: %q", got)
			}
		})
	}
}
