package signal_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/internal/testapp"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server/app"
	"github.com/bubblewasm/bubblewasm/server/config"
)

// loadExample reads bubble.toml as written, except that the listener moves
// to a free port, the modules are built from the .wat sources into a
// temporary directory (as `bubblewasm build` does: wat2wasm X.wat -o X.wasm)
// and every route runs on engine.
func loadExample(t *testing.T, engine string) *config.Config {
	t.Helper()
	cfg, err := config.Load("bubble.toml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for i, r := range cfg.Routes {
		name := strings.TrimSuffix(filepath.Base(r.Module), ".wasm")
		out := filepath.Join(dir, name+".wasm")
		if msg, err := exec.Command("wat2wasm", name+".wat", "-o", out).CombinedOutput(); err != nil {
			t.Fatalf("wat2wasm %s.wat: %v\n%s\n(Debian package wabt; `make deps` installs it)", name, err, msg)
		}
		cfg.Routes[i].Module = out
		cfg.Routes[i].Engine = engine
	}
	cfg.Listeners[0].Address = "tcp://127.0.0.1:0"
	cfg.CacheDir = filepath.Join(dir, "cache")
	return cfg
}

func startExample(t *testing.T, engine string) string {
	t.Helper()
	addrs := testapp.Start(t, loadExample(t, engine), app.Options{Logger: slog.New(slog.DiscardHandler)})
	return "http://" + strings.TrimPrefix(addrs[0].String(), "tcp://")
}

var client = &http.Client{Timeout: time.Minute}

func do(t *testing.T, method, url, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return testutil.Fetch(t, client, req)
}

// signal POSTs payload to /signal/NAME until a send wakes want waiters in
// all: a send that found nobody waiting yet is lost, so repeating it is
// harmless.
func signal(t *testing.T, base, name, payload string, want int) {
	t.Helper()
	woken := 0
	for deadline := time.Now().Add(20 * time.Second); woken < want; {
		if time.Now().After(deadline) {
			t.Fatalf("sends woke %d waiters in 20 s, want %d", woken, want)
		}
		resp, body := do(t, "POST", base+"/signal/"+name, payload)
		var n int
		if _, err := fmt.Sscanf(body, "woke %d\n", &n); err != nil || resp.StatusCode != 200 {
			t.Fatalf("POST /signal/%s: %d %q", name, resp.StatusCode, body)
		}
		woken += n
		if n == 0 {
			time.Sleep(time.Millisecond) // let the waiters reach the wait
		}
	}
	if woken != want {
		t.Fatalf("sends woke %d waiters, want %d", woken, want)
	}
}

// wait opens GET /wait/NAME... and returns the body once its first line
// has arrived.
func wait(t *testing.T, url string) *bufio.Reader {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Fatalf("GET %s: %d %q", url, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	r := bufio.NewReader(resp.Body)
	if line, err := r.ReadString('\n'); line != "I'm waiting for some signal\n" {
		t.Fatalf("GET %s: first line %q, %v", url, line, err)
	}
	return r
}

func TestSignalExample(t *testing.T) {
	for _, engine := range testapp.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			base := startExample(t, engine)

			t.Run("someone signals", func(t *testing.T) {
				r := wait(t, base+"/wait/abc?timeout=30")
				signal(t, base, "abc", "hello from the other terminal", 1)
				if rest, err := io.ReadAll(r); string(rest) != "Someone signaled me: hello from the other terminal\n" {
					t.Fatalf("after the signal: %q, %v", rest, err)
				}
			})

			t.Run("many waiters, one send", func(t *testing.T) {
				var readers []*bufio.Reader
				for range 3 {
					readers = append(readers, wait(t, base+"/wait/room"))
				}
				signal(t, base, "room", "all of you", 3)
				for _, r := range readers {
					if rest, _ := io.ReadAll(r); string(rest) != "Someone signaled me: all of you\n" {
						t.Fatalf("after the signal: %q", rest)
					}
				}
			})

			t.Run("your time is up", func(t *testing.T) {
				for _, q := range []string{"?timeout=1", "?x=1&timeout=1&y=2", "?timeout=0"} {
					resp, body := do(t, "GET", base+"/wait/nobody"+q, "")
					if resp.StatusCode != 200 || body != "I'm waiting for some signal\nYour time is up!\n" {
						t.Fatalf("GET /wait/nobody%s: %d %q", q, resp.StatusCode, body)
					}
				}
			})

			t.Run("a signal nobody waits for is lost", func(t *testing.T) {
				if resp, body := do(t, "POST", base+"/signal/nobody", "x"); resp.StatusCode != 200 || body != "woke 0\n" {
					t.Fatalf("%d %q", resp.StatusCode, body)
				}
			})

			t.Run("usage", func(t *testing.T) {
				if resp, body := do(t, "GET", base+"/wait/", ""); resp.StatusCode != 400 || !strings.HasPrefix(body, "usage: GET /wait/NAME") {
					t.Fatalf("GET /wait/: %d %q", resp.StatusCode, body)
				}
				// (An empty body: the module answers 400 without reading it,
				// and the server then closes the connection after a response
				// that did not say so, which can fail the next request.)
				if resp, body := do(t, "POST", base+"/signal/", ""); resp.StatusCode != 400 || !strings.HasPrefix(body, "usage: POST /signal/NAME") {
					t.Fatalf("POST /signal/: %d %q", resp.StatusCode, body)
				}
				if resp, body := do(t, "POST", base+"/signal/big", strings.Repeat("x", 32<<10+1)); resp.StatusCode != 413 {
					t.Fatalf("a payload over 32 KiB: %d %q", resp.StatusCode, body)
				}
				if resp, _ := do(t, "DELETE", base+"/wait/abc", ""); resp.StatusCode != 404 {
					t.Fatalf("DELETE /wait/abc: %d, want 404 (no route)", resp.StatusCode)
				}
			})
		})
	}
}

// Without `signals`, the configuration is refused before anything listens.
func TestSignalExampleNeedsTheGrant(t *testing.T) {
	cfg := loadExample(t, config.EngineWazero)
	cfg.Routes[0].Signals = nil
	_, err := app.New(context.Background(), cfg, app.Options{})
	if err == nil || !strings.Contains(err.Error(), "route wait: module ") ||
		!strings.Contains(err.Error(), "it imports bubblewasm_signal_v1.wait, but the route grants no signals (add signals = [...] to the route)") {
		t.Fatalf("app.New without the grant: %v", err)
	}
}
