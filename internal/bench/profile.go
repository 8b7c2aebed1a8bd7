package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"syscall"
	"time"

	"github.com/google/pprof/profile"

	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/app"
	"github.com/bubblewasm/bubblewasm/server/config"
)

// pinnedEnv marks the re-executed, pinned profile process.
const pinnedEnv = "BUBBLEWASM_BENCH_PINNED"

// runProfile is `bench profile`: it serves a hello module in this process
// exactly as `bubblewasm run` would (same config path, same app), pinned
// to one CPU with GOMAXPROCS=1, loads it with wrk at the fixed offered load
// from the other CPU, records a CPU profile of the measured load, and
// prints where each request's CPU goes, layer by layer (see layers).
func runProfile(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("profile", flag.ExitOnError)
	module := fs.String("module", "bin/modules/hello-wat.wasm", "the module to serve")
	engine := fs.String("engine", "wazero", "wazero or wasmtime")
	instances := fs.String("instances", "pool", "the route's lifecycle (instances key)")
	native := fs.Bool("native", false, "profile the native net/http baseline instead")
	dur := fs.Duration("dur", 20*time.Second, "profiled load (pprof samples at 100 Hz: at ~0.4 CPU, 20 s gives ~800 samples)")
	warm := fs.Duration("warm", 2*time.Second, "unmeasured load first")
	conns := fs.Int("c", 32, "wrk connections")
	think := fs.Int("think", 3, "ms each connection waits before each request")
	out := fs.String("o", "bin/profile.pb.gz", "write the CPU profile here (go tool pprof reads it)")
	top := fs.Int("top", 25, "also list the top N functions by own CPU")
	fs.Parse(args)
	if err := need("wrk", "the load generator: apt-get install wrk (make deps does)"); err != nil {
		return err
	}
	serverCPU, wrkCPU := cpuPinning()
	if serverCPU != "" && os.Getenv(pinnedEnv) == "" {
		return reexecPinned(ctx, serverCPU)
	}

	work, err := os.MkdirTemp("", "bubblewasm-profile-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := l.Addr().String()
	what := "native net/http"
	var stop func()
	if *native {
		stop = serveNativeOn(l)
	} else {
		l.Close() // the app binds it again, as `run` does
		s := scenario{module: helloModule{file: filepath.Base(*module)}, engine: *engine, lifecycle: *instances}
		what = fmt.Sprintf("%s on %s, instances = %q", *module, *engine, *instances)
		if stop, err = serveApp(ctx, s, filepath.Dir(*module), work, addr); err != nil {
			return err
		}
	}
	defer stop()
	ld := load{conns: *conns, thinkMs: *think, cpu: wrkCPU}
	if err := ld.writeScript(work); err != nil {
		return err
	}
	url := "http://" + addr + "/"
	if _, err := ld.run(ctx, url, *warm); err != nil {
		return err
	}
	var buf bytes.Buffer
	cpu0 := processCPU()
	if err := pprof.StartCPUProfile(&buf); err != nil {
		return err
	}
	w, err := ld.run(ctx, url, *dur)
	pprof.StopCPUProfile()
	cpu := processCPU() - cpu0
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		return err
	}
	p, err := profile.Parse(&buf)
	if err != nil {
		return err
	}
	b := breakdown(p)
	fmt.Printf("### Where the time goes: %s\n\n", what)
	fmt.Printf("`bench profile`: %d requests at %.0f req/s (wrk -c%d, %d ms think time, %s), server pinned to one CPU with GOMAXPROCS=1. "+
		"Process CPU %s µs/req (getrusage); the profile saw %s µs/req. Each sample goes to the innermost frame of a layer "+
		"(runtime frames such as malloc count for their caller; see internal/bench/layers.go). Profile: %s.\n\n",
		w.requests, w.rps, *conns, *think, *dur, micros(cpu/time.Duration(max(w.requests, 1))),
		micros(b.total/time.Duration(max(w.requests, 1))), *out)
	b.writeTable(os.Stdout, w.requests)
	if *top > 0 {
		b.writeTop(os.Stdout, w.requests, *top)
	}
	return nil
}

// reexecPinned runs this command again pinned to cpu with GOMAXPROCS=1.
func reexecPinned(ctx context.Context, cpu string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "taskset", append([]string{"-c", cpu, self}, os.Args[1:]...)...)
	cmd.Env = append(os.Environ(), pinnedEnv+"=1", "GOMAXPROCS=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			os.Exit(exit.ExitCode())
		}
		return err
	}
	return nil
}

// serveApp serves the scenario's configuration in this process as `run`
// does: the config loaded and checked, the app built, bound and serving.
func serveApp(ctx context.Context, s scenario, modules, work, addr string) (stop func(), err error) {
	path, err := s.config(work, modules, filepath.Join(work, "cache"), addr)
	if err != nil {
		return nil, err
	}
	cfg, err := config.LoadWith(path, config.Options{
		ValidateAddress: func(s string) error { _, err := server.ParseAddress(s); return err },
		ValidatePattern: func(s string) error { _, err := server.ParsePattern(s); return err },
	})
	if err != nil {
		return nil, err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.New(ctx, cfg, app.Options{Logger: logger})
	if err != nil {
		return nil, err
	}
	if _, err := a.Listen(ctx); err != nil {
		a.Close(ctx)
		return nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Serve(sctx) }()
	return func() { cancel(); <-done; a.Close(context.Background()) }, nil
}

// serveNativeOn serves the native baseline on l.
func serveNativeOn(l net.Listener) (stop func()) {
	body := []byte("Hello, world!\n")
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(body)
	})}
	go srv.Serve(l)
	return func() { srv.Close() }
}

// processCPU is this process's user and system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// layerCPU is a profile's CPU time by layer and by function.
type layerCPU struct {
	total   time.Duration
	layers  map[string]time.Duration
	funcs   map[string]time.Duration // own CPU of each leaf function
	funcLay map[string]string        // the layer each leaf function's samples went to (the last seen)
}

// breakdown sums a CPU profile's samples by layer.
func breakdown(p *profile.Profile) layerCPU {
	vi := len(p.SampleType) - 1
	for i, st := range p.SampleType {
		if st.Type == "cpu" {
			vi = i
		}
	}
	b := layerCPU{layers: map[string]time.Duration{}, funcs: map[string]time.Duration{}, funcLay: map[string]string{}}
	for _, s := range p.Sample {
		v := time.Duration(s.Value[vi])
		var stack []string // leaf first, inlined frames included
		for _, loc := range s.Location {
			for _, line := range loc.Line {
				if line.Function != nil {
					stack = append(stack, line.Function.Name)
				}
			}
		}
		layer := classify(stack)
		b.total += v
		b.layers[layer] += v
		leaf := "(unknown)"
		if len(stack) > 0 {
			leaf = stack[0]
		}
		b.funcs[leaf] += v
		b.funcLay[leaf] = layer
	}
	return b
}

// writeTable writes the layers in the order of the layers table, with
// their CPU per request and share.
func (b layerCPU) writeTable(w io.Writer, requests int64) {
	fmt.Fprintln(w, "| layer | µs/req | share |")
	fmt.Fprintln(w, "|---|---:|---:|")
	for _, name := range layerNames() {
		v := b.layers[name]
		if v == 0 {
			continue
		}
		fmt.Fprintf(w, "| %s | %s | %.0f%% |\n", name, micros(v/time.Duration(max(requests, 1))), 100*float64(v)/float64(max(b.total, 1)))
	}
	fmt.Fprintf(w, "| **total** | **%s** | 100%% |\n\n", micros(b.total/time.Duration(max(requests, 1))))
}

// writeTop lists the n functions with the most own CPU.
func (b layerCPU) writeTop(w io.Writer, requests int64, n int) {
	names := make([]string, 0, len(b.funcs))
	for f := range b.funcs {
		names = append(names, f)
	}
	slices.SortFunc(names, func(x, y string) int { return int(b.funcs[y] - b.funcs[x]) })
	fmt.Fprintf(w, "Top %d functions by own CPU:\n\n| function | layer | µs/req | share |\n|---|---|---:|---:|\n", min(n, len(names)))
	for _, f := range names[:min(n, len(names))] {
		fmt.Fprintf(w, "| `%s` | %s | %s | %.1f%% |\n", f, b.funcLay[f], micros(b.funcs[f]/time.Duration(max(requests, 1))),
			100*float64(b.funcs[f])/float64(max(b.total, 1)))
	}
	fmt.Fprintln(w)
}
