package hello_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/internal/testapp"

	"github.com/bubblewasm/bubblewasm/internal/testbuild"
	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/app"
	"github.com/bubblewasm/bubblewasm/server/config"
)

// startExample serves examples/hello/bubble.toml as written, except that the
// listeners move to a free port and a temporary socket, the modules are
// built from the current source and every route runs on engine. It returns
// an HTTP client per listener.
func startExample(t *testing.T, engine string, extraModules ...string) (web, local *http.Client, base string) {
	t.Helper()
	cfg, err := config.Load("bubble.toml")
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "hello.sock")
	for i := range cfg.Listeners {
		switch cfg.Listeners[i].Name {
		case "web":
			cfg.Listeners[i].Address = "tcp://127.0.0.1:0"
		case "local":
			cfg.Listeners[i].Address = "unix://" + sock
		}
	}
	for i := range cfg.Routes {
		cfg.Routes[i].Module = testbuild.Module(t, strings.TrimSuffix(filepath.Base(cfg.Routes[i].Module), ".wasm"))
		cfg.Routes[i].Engine = engine
	}
	for _, name := range extraModules {
		cfg.Routes = append(cfg.Routes, config.Route{Name: name, Module: testbuild.Module(t, name),
			Match: map[string]string{"PATH_INFO": "/" + name + "/*"}, Engine: engine, Instances: "fresh",
			MaxConcurrency: 4, Timeout: 10 * time.Second, Memory: config.DefaultMemory})
		// Put the extra route first so it wins over hello's catch-all.
		cfg.Routes = append(cfg.Routes[len(cfg.Routes)-1:], cfg.Routes[:len(cfg.Routes)-1]...)
	}
	addrs := testapp.Start(t, cfg, app.Options{Logger: slog.New(slog.DiscardHandler)})
	for _, addr := range addrs {
		if addr.Network == "tcp" {
			base = "http://" + strings.TrimPrefix(addr.String(), "tcp://")
		}
	}
	local = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return server.Address{Network: "unix", Path: sock}.Dial(ctx)
	}}}
	return http.DefaultClient, local, base
}

func TestHelloOverTCP(t *testing.T) {
	for _, engine := range testapp.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			web, _, base := startExample(t, engine)
			for query, want := range map[string]string{"": "Hello, world!\n", "?name=Ada": "Hello, Ada!\n", "?name=J%C3%BCrgen": "Hello, Jürgen!\n"} {
				resp, err := web.Get(base + "/" + query)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || string(body) != want || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
					t.Errorf("GET /%s: %d %q %q, want 200 %q", query, resp.StatusCode, body, resp.Header.Get("Content-Type"), want)
				}
			}
		})
	}
}

// TestEnvdumpSeesPrefixMount serves envdump under /envdump/* next to the
// example's routes and checks the env a real request produces.
func TestEnvdumpSeesPrefixMount(t *testing.T) {
	for _, engine := range testapp.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			web, _, base := startExample(t, engine, "envdump")
			req, _ := http.NewRequest("POST", base+"/envdump/a/b?x=1", strings.NewReader("body"))
			req.Header.Set("X-Custom", "yes")
			req.Header.Set("Content-Type", "text/plain")
			resp, err := web.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var env map[string]string
			if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
				t.Fatal(err)
			}
			want := map[string]string{
				"REQUEST_METHOD": "POST", "SCRIPT_NAME": "/envdump", "PATH_INFO": "/a/b", "QUERY_STRING": "x=1",
				"REQUEST_URI": "/envdump/a/b?x=1", "CONTENT_LENGTH": "4", "CONTENT_TYPE": "text/plain",
				"HTTP_X_CUSTOM": "yes", "bubble.route": "envdump", "bubble.listener": "web", "bubble.transport": "http",
				"bubble.network": "tcp", "SERVER_NAME": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1",
			}
			for k, v := range want {
				if env[k] != v {
					t.Errorf("env[%s] = %q, want %q", k, env[k], v)
				}
			}
		})
	}
}

// TestEchoStreams100MB sends 100 MB through the echo module over the unix
// socket and checks every byte comes back, while the whole process (server,
// guest and client) allocates far less than the body: nothing buffers it.
func TestEchoStreams100MB(t *testing.T) {
	for _, engine := range testapp.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			_, local, _ := startExample(t, engine)
			const size = 100 << 20
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			src := &pattern{left: size}
			sent := sha256.New()
			resp, err := local.Post("http://local/", "application/octet-stream", io.TeeReader(src, sent))
			if err != nil {
				t.Fatal(err)
			}
			got := sha256.New()
			n, err := io.Copy(got, resp.Body)
			resp.Body.Close()
			if err != nil || n != size {
				t.Fatalf("echoed %d bytes (err %v), want %d", n, err, size)
			}
			if string(got.Sum(nil)) != string(sent.Sum(nil)) {
				t.Fatal("echoed bytes differ from the sent ones")
			}
			runtime.ReadMemStats(&after)
			// Buffering the body anywhere would allocate at least its 100 MB; the
			// streaming path allocates per-request structures and fixed buffers.
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > size/4 {
				t.Fatalf("the process allocated %d MB while streaming %d MB: something buffers the body", alloc>>20, size>>20)
			} else {
				t.Logf("allocated %.1f MB while streaming %d MB", float64(alloc)/(1<<20), size>>20)
			}
		})
	}
}

// pattern is a reader of left bytes of a repeating pattern, allocation-free.
type pattern struct{ left, off int }

func (p *pattern) Read(b []byte) (int, error) {
	if p.left == 0 {
		return 0, io.EOF
	}
	n := min(len(b), p.left)
	for i := range b[:n] {
		b[i] = byte((p.off + i) * 131 >> 3)
	}
	p.off += n
	p.left -= n
	return n, nil
}
