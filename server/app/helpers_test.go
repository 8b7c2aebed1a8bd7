package app_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/internal/testapp"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/app"
	"github.com/bubblewasm/bubblewasm/server/config"
)

// waitLog waits (bounded) until one line of the log contains all of want:
// a record can be written just after the client saw the response.
func waitLog(t testing.TB, logs *testutil.LogBuffer, want ...string) string {
	t.Helper()
	var line string
	testutil.Eventually(t, fmt.Sprintf("a log line with %q", want), func() bool {
		for l := range strings.SplitSeq(logs.String(), "\n") {
			ok := true
			for _, w := range want {
				ok = ok && strings.Contains(l, w)
			}
			if ok {
				line = l
				return true
			}
		}
		return false
	})
	return line
}

// header is the common head of every test configuration: the listener on
// a free loopback port, the compilation cache the repository's tests share
// (not one in the test's directory: wasmtime may still be writing to its
// cache when the test's directory is removed).
const header = `
engine = %q
cache_dir = %q
shutdown_timeout = "5s"

[[listener]]
name = "web"
address = "tcp://127.0.0.1:0"
`

var testCacheDir = filepath.Join(os.TempDir(), "bubblewasm-test-cache")

// writeConfig compiles testdata/NAME.wat for each of wats into a temporary
// directory as NAME.wasm, writes body (after the common header) there as
// bubble.toml and returns its path.
func writeConfig(t testing.TB, engine, body string, wats ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range wats {
		src, err := os.ReadFile(filepath.Join("testdata", name+".wat"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".wasm"), testutil.WAT(t, string(src)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "bubble.toml")
	if err := os.WriteFile(path, []byte(fmt.Sprintf(header, engine, testCacheDir)+body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// loadConfig reads a configuration as `bubblewasm run -c` does.
func loadConfig(t testing.TB, path string) *config.Config {
	t.Helper()
	cfg, err := config.LoadWith(path, config.Options{
		ValidateAddress: func(s string) error { _, err := server.ParseAddress(s); return err },
		ValidatePattern: func(s string) error { _, err := server.ParsePattern(s); return err },
	})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// start serves body (see writeConfig) until the test ends and returns the
// base URL and the captured log.
func start(t testing.TB, engine, body string, wats ...string) (string, *testutil.LogBuffer) {
	t.Helper()
	logger, logs := testutil.CaptureLogger(t)
	cfg := loadConfig(t, writeConfig(t, engine, body, wats...))
	addrs := testapp.Start(t, cfg, app.Options{Logger: logger})
	return testutil.URL(addrs[0]), logs
}

// client bounds every request so that no test can hang on a broken server.
var client = &http.Client{Timeout: time.Minute}

// do sends a request with headers given as "Name: value" strings and reads
// the whole response.
func do(t testing.TB, method, url, body string, headers ...string) (int, string) {
	t.Helper()
	resp := send(t, client, method, url, body, headers...)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, url, err)
	}
	return resp.StatusCode, string(b)
}

// doErr is do for goroutines other than the test's.
func doErr(method, url, body string, headers ...string) (int, string, error) {
	resp, err := sendErr(context.Background(), client, method, url, body, headers...)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// send sends a request and returns the response, body unread.
func send(t testing.TB, c *http.Client, method, url, body string, headers ...string) *http.Response {
	t.Helper()
	resp, err := sendErr(context.Background(), c, method, url, body, headers...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return resp
}

func sendErr(ctx context.Context, c *http.Client, method, url, body string, headers ...string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(k, strings.TrimSpace(v))
	}
	return c.Do(req)
}

// readLine reads one line (with its newline) from a streamed response.
func readLine(t testing.TB, r *bufio.Reader) string {
	t.Helper()
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("reading a line: %q, %v", line, err)
	}
	return line
}

// parkedIn counts the goroutines parked in a select statement of fn, such
// as "events.(*MemorySignals).Wait(": the first frame outside package
// runtime of a goroutine whose status is [select]. It is exact where a
// counter incremented before the wait would not be: a goroutine counted
// here has registered itself and is asleep.
func parkedIn(fn string) int {
	buf := make([]byte, 16<<10*runtime.NumGoroutine()+1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for g := range bytes.SplitSeq(buf, []byte("\n\n")) {
		head, frames, _ := bytes.Cut(g, []byte("\n"))
		if !bytes.Contains(head, []byte(" [select")) {
			continue
		}
		for line := range bytes.SplitSeq(frames, []byte("\n")) {
			if len(line) == 0 || line[0] == '\t' || bytes.HasPrefix(line, []byte("runtime.")) {
				continue
			}
			if bytes.Contains(line, []byte(fn)) {
				count++
			}
			break
		}
	}
	return count
}

const (
	signalWait    = "events.(*MemorySignals).Wait("
	brokerFetch   = "events.(*subscription).fetchLocked("
	goroutineWait = 20 * time.Second
)

// goroutinesBack waits (bounded) until the goroutine count is back to at
// most baseline and fails the test with a dump of the excess otherwise.
func goroutinesBack(t testing.TB, baseline int) {
	t.Helper()
	deadline := time.Now().Add(goroutineWait)
	for runtime.NumGoroutine() > baseline {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines did not return to the baseline of %d: %d now\n%s", baseline, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * time.Millisecond)
	}
}
