package main

import (
	"bytes"
	"cmp"
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
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/pprof/profile"

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
	from := fs.String("from", "", "summarize this profile (written by an earlier bench profile) instead of running one")
	top := fs.Int("top", 25, "also list the top N functions by own CPU")
	fs.Parse(args)
	if *from != "" {
		return summarizeProfile(*from, *top)
	}
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
	p, err := profile.Parse(&buf)
	if err != nil {
		return err
	}
	// What the summary needs beyond the samples goes into the profile's
	// comments, so that -from can summarize it again.
	p.Comments = append(p.Comments,
		"bench-what: "+what,
		fmt.Sprintf("bench-load: %d requests at %.0f req/s (wrk -c%d, %d ms think time, %s)", w.requests, w.rps, *conns, *think, *dur),
		fmt.Sprintf("bench-requests: %d", w.requests),
		fmt.Sprintf("bench-process-cpu-ns: %d", cpu.Nanoseconds()))
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	if err := errors.Join(p.Write(f), f.Close()); err != nil {
		return err
	}
	return summarizeProfile(*out, *top)
}

// summarizeProfile prints the layer table of a profile that bench profile
// wrote.
func summarizeProfile(path string, top int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	p, err := profile.Parse(f)
	if err != nil {
		return err
	}
	facts := map[string]string{}
	for _, c := range p.Comments {
		if k, v, ok := strings.Cut(c, ": "); ok && strings.HasPrefix(k, "bench-") {
			facts[k] = v
		}
	}
	requests, _ := strconv.ParseInt(facts["bench-requests"], 10, 64)
	cpuNs, _ := strconv.ParseInt(facts["bench-process-cpu-ns"], 10, 64)
	if requests <= 0 {
		return fmt.Errorf("%s: not written by bench profile (no request count in its comments)", path)
	}
	b := breakdown(p)
	fmt.Printf("#### Where the time goes: %s\n\n", facts["bench-what"])
	fmt.Printf("`bench profile`: %s, server pinned to one CPU with GOMAXPROCS=1. "+
		"Process CPU %s µs/req (getrusage); the profile saw %s µs/req. Each sample goes to the innermost frame of a layer "+
		"(runtime frames such as malloc count for their caller; see internal/bench/layers.go). Profile: %s.\n\n",
		facts["bench-load"], micros(time.Duration(cpuNs/requests)), micros(b.total/time.Duration(requests)), path)
	b.writeTable(os.Stdout, requests)
	if top > 0 {
		b.writeTop(os.Stdout, requests, top)
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
	cfg, err := config.LoadWith(path, app.ConfigOptions())
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

// layerCPU is a profile's CPU time by layer and by leaf function.
type layerCPU struct {
	total   time.Duration
	layers  map[string]time.Duration
	callers map[[2]string]time.Duration // a byCaller layer's time by {layer, caller}
	funcs   map[leafKey]time.Duration   // own CPU of each leaf function, by the layer it was charged to
}

type leafKey struct{ fn, layer string }

// breakdown sums a CPU profile's samples by layer.
func breakdown(p *profile.Profile) layerCPU {
	vi := len(p.SampleType) - 1
	for i, st := range p.SampleType {
		if st.Type == "cpu" {
			vi = i
		}
	}
	b := layerCPU{layers: map[string]time.Duration{}, callers: map[[2]string]time.Duration{}, funcs: map[leafKey]time.Duration{}}
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
		layer, caller := classify(stack)
		b.total += v
		b.layers[layer] += v
		if caller != "" {
			b.callers[[2]string{layer, caller}] += v
		}
		leaf := "(unknown)"
		if len(stack) > 0 {
			leaf = stack[0]
		}
		b.funcs[leafKey{leaf, layer}] += v
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
		for _, caller := range layerNames() {
			if c := b.callers[[2]string{name, caller}]; c > 0 {
				fmt.Fprintf(w, "| … called from %s | %s | |\n", caller, micros(c/time.Duration(max(requests, 1))))
			}
		}
	}
	fmt.Fprintf(w, "| **total** | **%s** | 100%% |\n\n", micros(b.total/time.Duration(max(requests, 1))))
}

// writeTop lists the n leaf functions (by layer) with the most own CPU.
func (b layerCPU) writeTop(w io.Writer, requests int64, n int) {
	keys := make([]leafKey, 0, len(b.funcs))
	for k := range b.funcs {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y leafKey) int {
		if c := cmp.Compare(b.funcs[y], b.funcs[x]); c != 0 {
			return c
		}
		return cmp.Compare(x.fn+x.layer, y.fn+y.layer)
	})
	keys = keys[:min(n, len(keys))]
	fmt.Fprintf(w, "Top %d functions by own CPU:\n\n| function | layer | µs/req | share |\n|---|---|---:|---:|\n", len(keys))
	for _, k := range keys {
		fmt.Fprintf(w, "| `%s` | %s | %s | %.1f%% |\n", k.fn, k.layer, micros(b.funcs[k]/time.Duration(max(requests, 1))),
			100*float64(b.funcs[k])/float64(max(b.total, 1)))
	}
	fmt.Fprintln(w)
}
