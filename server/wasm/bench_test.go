package wasm_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// benchModules returns the benchmark guests: the WAT hello and the Go SDK
// hello, built here so the benchmarks need no prior `make build`.
func benchModules(b *testing.B) map[string][]byte {
	src, err := os.ReadFile("testdata/hello.wat")
	if err != nil {
		b.Fatal(err)
	}
	out := filepath.Join(b.TempDir(), "hello.wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, "../../modules/hello")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if msg, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("build Go hello: %v\n%s", err, msg)
	}
	goHello, err := os.ReadFile(out)
	if err != nil {
		b.Fatal(err)
	}
	return map[string][]byte{"wat": testutil.WAT(b, string(src)), "go": goHello}
}

// BenchmarkCompile, BenchmarkInstantiate and BenchmarkHandle separate the
// three costs of serving a module: compiling it (with a warm on-disk cache),
// making an instance, and one exchange on a reused instance.
func BenchmarkCompile(b *testing.B) {
	for name, bin := range benchModules(b) {
		for _, e := range testutil.Engines() {
			b.Run(e.Name+"/"+name, func(b *testing.B) {
				engine := e.New(b)
				ctx := context.Background()
				for b.Loop() {
					m, err := engine.Compile(ctx, bin, wasm.Limits{MemoryPages: 1024})
					if err != nil {
						b.Fatal(err)
					}
					m.Close(ctx)
				}
			})
		}
	}
}

func BenchmarkInstantiate(b *testing.B) {
	for name, bin := range benchModules(b) {
		for _, e := range testutil.Engines() {
			b.Run(e.Name+"/"+name, func(b *testing.B) {
				ctx := context.Background()
				m, err := e.New(b).Compile(ctx, bin, wasm.Limits{MemoryPages: 1024})
				if err != nil {
					b.Fatal(err)
				}
				defer m.Close(ctx)
				for b.Loop() {
					inst, err := m.Instantiate(ctx, wasm.InstanceConfig{})
					if err != nil {
						b.Fatal(err)
					}
					inst.Close(ctx)
				}
			})
		}
	}
}

// BenchmarkHandle runs whole exchanges through wasm.Handler, without a
// network, for both lifecycles.
func BenchmarkHandle(b *testing.B) {
	for name, bin := range benchModules(b) {
		for _, e := range testutil.Engines() {
			for _, life := range []wasm.Lifecycle{wasm.Snapshot, wasm.Pool, wasm.Fresh} {
				b.Run(e.Name+"/"+name+"/"+string(life), func(b *testing.B) {
					ctx := context.Background()
					h, err := wasm.New(ctx, e.New(b), bin, wasm.Options{Lifecycle: life})
					if err != nil {
						b.Fatal(err)
					}
					defer h.Close(ctx)
					env := server.Env{"REQUEST_METHOD": "GET", "PATH_INFO": "/", "QUERY_STRING": "", "HTTP_HOST": "localhost"}
					for b.Loop() {
						w := &nullWriter{header: http.Header{}}
						if err := h.Serve(ctx, &server.Exchange{Env: env.Clone(), Reader: http.NoBody, Writer: w}); err != nil {
							b.Fatal(err)
						}
						if w.n == 0 {
							b.Fatal("no output")
						}
					}
				})
			}
		}
	}
}

type nullWriter struct {
	header http.Header
	n      int
}

func (w *nullWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }
func (w *nullWriter) Header() http.Header         { return w.header }
func (w *nullWriter) SetStatus(int) bool          { return w.n == 0 }
func (w *nullWriter) Committed() bool             { return w.n > 0 }
func (w *nullWriter) Flush() error                { return nil }

// BenchmarkRestore is an exchange on a route whose module was unloaded
// (wasm.Residency, one resident, two routes served in turn): the module
// loaded again from the spill file and the warm compilation cache, and
// initialized again for its snapshot, then the exchange; set against
// BenchmarkHandle, the price of a request to an unloaded route.
func BenchmarkRestore(b *testing.B) {
	for name, bin := range benchModules(b) {
		for _, e := range testutil.Engines() {
			b.Run(e.Name+"/"+name, func(b *testing.B) {
				engine := e.New(b)
				r, err := wasm.NewResidency(1, b.TempDir())
				if err != nil {
					b.Fatal(err)
				}
				defer r.Close()
				hs := []*wasm.Handler{
					mustHandler(b, engine, bin, wasm.Options{Name: "a", Residency: r}),
					mustHandler(b, engine, bin, wasm.Options{Name: "b", Residency: r}),
				}
				w := &nullWriter{header: http.Header{}}
				i := 0
				for b.Loop() {
					i++
					w.n = 0
					if err := serveOnce(context.Background(), hs[i%2], "", w); err != nil {
						b.Fatal(err)
					}
				}
				if s := hs[0].Stats(); s.Restores == 0 {
					b.Fatal("no restore")
				}
			})
		}
	}
}
