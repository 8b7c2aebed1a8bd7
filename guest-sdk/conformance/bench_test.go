package conformance

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/app"
	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// BenchmarkKits measures every language's kit module on every engine:
//
//   - compile: a cold compile (a new engine without a cache each time),
//   - fresh: a new instance and one exchange (`/status`),
//   - pool: one exchange on a reused instance.
//
// The module's size is reported as the wasm-bytes metric. Run it with
//
//	go test -run XXX -bench Kits ./guest-sdk/conformance/
func BenchmarkKits(b *testing.B) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		b.Fatal(err)
	}
	out := b.TempDir()
	for _, k := range discover(b, root) {
		if k.script == "" || k.unsupported != "" {
			continue
		}
		k.build(context.Background(), root, filepath.Join(out, k.lang+".wasm"))
		if k.err != nil {
			b.Fatalf("%s: build-kit.sh: %v\n%s", k.lang, k.err, k.output)
		}
		for _, e := range openEngines(b) {
			if e.engine == nil {
				continue
			}
			prefix := k.lang + "/" + e.name + "/"
			b.Run(prefix+"compile", func(b *testing.B) {
				for b.Loop() {
					eng, err := app.NewEngine(e.name, "")
					if err != nil {
						b.Fatal(err)
					}
					m, err := eng.Compile(context.Background(), k.wasm, wasm.Limits{MemoryPages: 1024})
					if err != nil {
						b.Fatal(err)
					}
					m.Close(context.Background())
					eng.Close(context.Background())
				}
				b.ReportMetric(float64(len(k.wasm)), "wasm-bytes")
			})
			for _, lc := range lifecycles {
				b.Run(prefix+string(lc), func(b *testing.B) { benchExchange(b, e.engine, k.wasm, lc) })
			}
		}
	}
}

func benchExchange(b *testing.B, engine wasm.Engine, bin []byte, lc wasm.Lifecycle) {
	ctx := context.Background()
	h, err := wasm.New(ctx, engine, bin, wasm.Options{Lifecycle: lc, Logger: nil, Services: noGrants()})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close(ctx)
	env := server.Env{"REQUEST_METHOD": "GET", "PATH_INFO": "/status", "QUERY_STRING": "201", "bubble.transport": "http"}
	for b.Loop() {
		w := &benchWriter{header: http.Header{}}
		if err := h.Serve(ctx, &server.Exchange{Env: env.Clone(), Reader: http.NoBody, Writer: w}); err != nil {
			b.Fatal(err)
		}
		if w.status != 201 || w.n == 0 {
			b.Fatalf("kit answered %d with %d bytes, want 201 and a body", w.status, w.n)
		}
	}
}

type benchWriter struct {
	header http.Header
	status int
	n      int
}

func (w *benchWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = 200
	}
	w.n += len(p)
	return len(p), nil
}
func (w *benchWriter) Header() http.Header { return w.header }
func (w *benchWriter) SetStatus(c int) bool {
	if w.n > 0 {
		return false
	}
	w.status = c
	return true
}
func (w *benchWriter) Committed() bool { return w.n > 0 }
func (w *benchWriter) Flush() error    { return nil }
