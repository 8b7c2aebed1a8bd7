package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/internal/testapp"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
)

// spinWAT is a handler whose _initialize never returns.
const spinWAT = `(module
  (memory (export "memory") 1)
  (func (export "_initialize") (loop $l (br $l)))
  (func (export "bubble_handle") (result i32) (i32.const 0)))`

// TestInitNeverReturns: a route whose init never returns makes `run` exit 3
// naming the route and the bound, within init_timeout, with nothing bound;
// the healthy route of the same file serves once the bad route is gone. On
// every engine.
func TestInitNeverReturns(t *testing.T) {
	dir := t.TempDir()
	spinDir, helloDir := filepath.Join(dir, "spin"), filepath.Join(dir, "hello")
	os.Mkdir(spinDir, 0o755)
	os.Mkdir(helloDir, 0o755)
	spin, hello := buildWAT(t, spinDir, spinWAT), buildWAT(t, helloDir, helloWAT)
	for _, engine := range testapp.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			addr := freePort(t)
			healthy := fmt.Sprintf("engine = %q\n[[listener]]\naddress = \"tcp://%s\"\n[[route]]\nname = \"hello\"\nmodule = %q\nmatch = { PATH_INFO = \"/hello\" }\n", engine, addr, hello)
			bad := filepath.Join(dir, engine+"-bad.toml")
			os.WriteFile(bad, []byte(healthy+fmt.Sprintf("[[route]]\nname = \"spin\"\nmodule = %q\ninit_timeout = \"300ms\"\n", spin)), 0o644)
			code, out := runCLI(t, "run", "-c", bad)
			if code != exitConfig || !strings.Contains(out, "route spin: module "+spin+": instantiate: init did not finish within init_timeout 300ms") {
				t.Fatalf("exit %d, want %d naming the route and the bound:\n%s", code, exitConfig, out)
			}
			if l, err := net.Listen("tcp", addr); err != nil {
				t.Fatalf("the config's address was left bound: %v", err)
			} else {
				l.Close()
			}

			good := filepath.Join(dir, engine+"-good.toml")
			os.WriteFile(good, []byte(healthy), 0o644)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var buf testutil.LogBuffer
			exited := make(chan int, 1)
			go func() { exited <- run(ctx, []string{"bubblewasm", "run", "-c", good}, &buf, &buf) }()
			var body string
			for deadline := time.Now().Add(time.Minute); body != "hi from wasm\n"; {
				if time.Now().After(deadline) {
					t.Fatalf("the healthy config never served /hello:\n%s", buf.String())
				}
				select {
				case code := <-exited:
					t.Fatalf("run exited %d:\n%s", code, buf.String())
				case <-time.After(10 * time.Millisecond):
				}
				if resp, err := http.Get("http://" + addr + "/hello"); err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					body = string(b)
				}
			}
			cancel()
			if code := <-exited; code != exitOK {
				t.Fatalf("exit %d after the context ended:\n%s", code, buf.String())
			}
		})
	}
}
