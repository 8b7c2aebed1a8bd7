package cgi_test

import (
	"io"
	"log/slog"
	"net/http"
	"os"
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

// startExample serves bubble.toml as written, except that the listener
// moves to a free port and the module is built from cgi-bin/hello.c into a
// temporary directory with the command `bubblewasm build` runs.
func startExample(t *testing.T) string {
	t.Helper()
	cfg, err := config.Load("bubble.toml")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "hello.wasm")
	cmd := exec.Command("clang", "--target=wasm32-wasi", "-O2", "-o", out, "cgi-bin/hello.c")
	if root := os.Getenv("WASI_SYSROOT"); root != "" {
		cmd.Args = append(cmd.Args, "--sysroot="+root)
	}
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s\n(install the Debian packages clang lld wasi-libc libclang-rt-dev-wasm32; `make deps` does it)", cmd.Args, err, msg)
	}
	if len(cfg.Routes) != 1 || cfg.Routes[0].ABI != config.ABICGI {
		t.Fatalf("bubble.toml: want one route with abi = \"cgi\", got %+v", cfg.Routes)
	}
	cfg.Routes[0].Module = out
	cfg.Listeners[0].Address = "tcp://127.0.0.1:0"
	cfg.Listeners[0].MaxBodyBytes = 1 << 20
	addrs := testapp.Start(t, cfg, app.Options{Logger: slog.New(slog.DiscardHandler)})
	return "http://" + strings.TrimPrefix(addrs[0].String(), "tcp://")
}

var client = &http.Client{Timeout: time.Minute}

func do(t *testing.T, method, url string, body io.Reader) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	return testutil.Fetch(t, client, req)
}

func TestCGIExample(t *testing.T) {
	base := startExample(t)
	for query, want := range map[string]string{"": "Hello, world!\n", "?name=Ada": "Hello, Ada!\n", "?x=1&name=Ada+L": "Hello, Ada L!\n"} {
		resp, body := do(t, "GET", base+"/"+query, nil)
		if resp.StatusCode != 200 || body != want || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Errorf("GET /%s: %d %q %q, want 200 %q", query, resp.StatusCode, resp.Header.Get("Content-Type"), body, want)
		}
	}
	resp, body := do(t, "POST", base+"/", strings.NewReader(strings.Repeat("x", 200_000)))
	if resp.StatusCode != 200 || body != "received 200000 bytes\n" {
		t.Errorf("POST: %d %q", resp.StatusCode, body)
	}
	// One byte over the listener's body limit (so that the server reads the
	// whole body and the client can finish sending it): the program's read
	// fails, it exits non-zero before writing, and the client learns why.
	resp, _ = do(t, "POST", base+"/", strings.NewReader(strings.Repeat("x", 1<<20+1)))
	if resp.StatusCode != 413 {
		t.Errorf("POST over max_body_bytes: %d, want 413", resp.StatusCode)
	}
	resp, body = do(t, "DELETE", base+"/", nil)
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, POST" || body != "DELETE is not allowed here\n" {
		t.Errorf("DELETE: %d %v %q", resp.StatusCode, resp.Header, body)
	}
}
