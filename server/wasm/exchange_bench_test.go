package wasm_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/bubblewasm/bubblewasm/internal/testbuild"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// helloModules builds the hello modules the peer harness serves — WAT, C,
// Rust and the Go SDK's (modules/hello-*) — from source, so that the
// benchmarks measure the current code and need no `make build`.
func helloModules(b *testing.B) map[string][]byte {
	b.Helper()
	dir := b.TempDir()
	out := map[string][]byte{}
	read := func(name, path string) {
		bin, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		out[name] = bin
	}
	wat, err := filepath.Glob("../../modules/hello-wat/*.wat")
	if err != nil || len(wat) != 1 {
		b.Fatalf("modules/hello-wat: %v %v", wat, err)
	}
	src, err := os.ReadFile(wat[0])
	if err != nil {
		b.Fatal(err)
	}
	out["wat"] = testutil.WAT(b, string(src))
	for _, lang := range []string{"c", "rust"} {
		path := filepath.Join(dir, "hello-"+lang+".wasm")
		if msg, err := exec.Command("bash", "../../modules/hello-"+lang+"/build.sh", path).CombinedOutput(); err != nil {
			b.Fatalf("build hello-%s: %v\n%s", lang, err, msg)
		}
		read(lang, path)
	}
	read("go", testbuild.Module(b, "hello"))
	return out
}

// BenchmarkExchange measures one exchange through wasm.Handler, in
// process (no network, no HTTP), for the hello module of each language the
// peer harness serves, on every engine and lifecycle. Per-exchange CPU is
// ns/op: the benchmark runs one exchange at a time.
//
//	go test -run XXX -bench Exchange -count 6 ./server/wasm/ | benchstat -
func BenchmarkExchange(b *testing.B) {
	mods := helloModules(b)
	for _, e := range testutil.Engines() {
		for _, lang := range []string{"wat", "c", "rust", "go"} {
			for _, life := range []wasm.Lifecycle{wasm.Snapshot, wasm.Pool, wasm.Fresh} {
				b.Run(e.Name+"/"+lang+"/"+string(life), func(b *testing.B) {
					ctx := context.Background()
					h, err := wasm.New(ctx, e.New(b), mods[lang], wasm.Options{Lifecycle: life})
					if err != nil {
						b.Fatal(err)
					}
					defer h.Close(ctx)
					// The env of a keep-alive GET from wrk, as the HTTP
					// transport builds it: what the Go SDK copies into
					// Request.Env is part of the cost.
					env := server.Env{"REQUEST_METHOD": "GET", "PATH_INFO": "/", "QUERY_STRING": "", "HTTP_HOST": "localhost", "bubble.transport": "http",
						"SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1", "REMOTE_PORT": "41234", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "18080",
						"REQUEST_URI": "/", "SCRIPT_NAME": "", "HTTP_USER_AGENT": "wrk", "HTTP_ACCEPT": "*/*", "bubble.listener": "web", "bubble.route": "r0",
						"bubble.network": "tcp", "bubble.version": "1", "CONTENT_LENGTH": "", "CONTENT_TYPE": "", "HTTPS": "off", "bubble.url_scheme": "http"}
					w := &nullWriter{header: http.Header{}}
					x := &server.Exchange{Env: env, Reader: http.NoBody, Writer: w}
					defer reportCPU(b)()
					for b.Loop() {
						w.n = 0
						clear(w.header)
						if err := h.Serve(ctx, x); err != nil {
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

// BenchmarkRawWazero is the WAT hello's exchange on a bare wazero instance,
// as the peer harness's raw wazero host serves it: a reused instance, the
// output writer in the call's context, host functions that copy the
// response out of guest memory. What BenchmarkExchange costs beyond it is
// what the pipeline adds.
func BenchmarkRawWazero(b *testing.B) {
	ctx := context.Background()
	src, err := os.ReadFile("../../modules/hello-wat/hello.wat")
	if err != nil {
		b.Fatal(err)
	}
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	type key struct{}
	_, err = rt.NewHostModuleBuilder("bubblewasm_v1").
		NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, m api.Module, stack []uint64) {
		w := ctx.Value(key{}).(*nullWriter)
		name, _ := m.Memory().Read(uint32(stack[0]), uint32(stack[1]))
		value, _ := m.Memory().Read(uint32(stack[2]), uint32(stack[3]))
		w.header.Set(string(name), string(value))
		stack[0] = 0
	}), []api.ValueType{api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32}, []api.ValueType{api.ValueTypeI32}).Export("set_header").
		NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, m api.Module, stack []uint64) {
		w := ctx.Value(key{}).(io.Writer)
		buf, _ := m.Memory().Read(uint32(stack[0]), uint32(stack[1]))
		n, _ := w.Write(buf)
		stack[0] = uint64(n)
	}), []api.ValueType{api.ValueTypeI32, api.ValueTypeI32}, []api.ValueType{api.ValueTypeI32}).Export("write").
		Instantiate(ctx)
	if err != nil {
		b.Fatal(err)
	}
	mod, err := rt.InstantiateWithConfig(ctx, testutil.WAT(b, string(src)), wazero.NewModuleConfig().WithName(""))
	if err != nil {
		b.Fatal(err)
	}
	handle := mod.ExportedFunction("bubble_handle")
	w := &nullWriter{header: http.Header{}}
	var stack [1]uint64
	defer reportCPU(b)()
	for b.Loop() {
		w.n = 0
		if err := handle.CallWithStack(context.WithValue(ctx, key{}, w), stack[:]); err != nil || stack[0] != 0 {
			b.Fatal(err, stack[0])
		}
	}
}

// reportCPU reports the process's CPU time (user and system, every thread)
// per iteration as cpu-ns/op, from now until the returned function runs:
// the figure the peer harness compares, where ns/op also counts time the
// guest spends asleep.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

func cpuTime() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
