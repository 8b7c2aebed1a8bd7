package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// startExample is a configuration whose start the bench times, and the
// request it sends first.
type startExample struct {
	name, config       string
	method, path, body string
}

// defaultStartExamples: the one with the most modules (six Go modules, one
// per route) and the one with one module on several routes.
var defaultStartExamples = []startExample{
	{name: "examples/rpc", config: "examples/rpc/bubble.toml", method: http.MethodPost, path: "/rpc",
		body: `{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}`},
	{name: "examples/chat", config: "examples/chat/bubble.toml", method: http.MethodGet, path: "/"},
}

// startOptions configure start-time measurements.
type startOptions struct {
	bin      string
	bins     []namedBin // several binaries, measured interleaved (bench start)
	cpu      string     // "" = not pinned (the default: start uses every core)
	coldRuns int
	warmRuns int
	progress io.Writer
}

type namedBin struct{ name, path string }

// startResult is the starts of one example with one binary.
type startResult struct{ cold, warm []startRun }

// startRun is one start: from exec to the listener accepting, and the
// first request's latency after that.
type startRun struct {
	ready, first time.Duration
}

// runStart is `bench start`: start and first-request times of example
// configurations, cold (empty compilation cache) and warm, for one or more
// binaries measured interleaved (-bin before=/path -bin after=bin/bubblewasm).
func runStart(ctx context.Context, args []string, w io.Writer) error {
	fs := flag.NewFlagSet("start", flag.ExitOnError)
	var bins binFlags
	fs.Var(&bins, "bin", "NAME=PATH of a bubblewasm binary (repeatable; default bin/bubblewasm)")
	cold := fs.Int("cold", 2, "cold starts per example and binary (each with an empty cache)")
	warm := fs.Int("warm", 3, "warm starts per example and binary")
	pin := fs.Bool("pin", false, "pin the server to one CPU with GOMAXPROCS=1")
	fs.Parse(args)
	o := startOptions{bins: bins, coldRuns: *cold, warmRuns: *warm, progress: os.Stderr}
	if len(o.bins) == 0 {
		o.bins = []namedBin{{"bin/bubblewasm", "bin/bubblewasm"}}
	}
	if *pin {
		o.cpu, _ = cpuPinning()
	}
	examples := defaultStartExamples
	if fs.NArg() > 0 {
		examples = slices.DeleteFunc(slices.Clone(examples), func(e startExample) bool { return !slices.Contains(fs.Args(), e.name) })
	}
	return o.table(ctx, w, examples)
}

// table measures every example with every binary and writes a markdown
// table of medians.
func (o startOptions) table(ctx context.Context, w io.Writer, examples []startExample) error {
	bins := o.bins
	if len(bins) == 0 {
		bins = []namedBin{{"", o.bin}}
	}
	results := map[string]*startResult{}
	for _, ex := range examples {
		if err := checkModules(ex.config); err != nil {
			return err
		}
		for _, b := range bins {
			results[ex.name+"\x00"+b.name] = &startResult{}
		}
	}
	// Interleaved: a cold start (an empty cache) and a warm one (the cache
	// it filled) of one binary, then the next, so that the machine's load
	// affects each alike. Warm starts past the cold ones reuse the last
	// cache.
	caches := map[*startResult]string{}
	defer func() {
		for _, dir := range caches {
			os.RemoveAll(dir)
		}
	}()
	for i := range max(o.coldRuns, o.warmRuns, 1) {
		for _, ex := range examples {
			for _, b := range bins {
				r := results[ex.name+"\x00"+b.name]
				run := func(kind string, into *[]startRun) error {
					sr, err := o.once(ctx, b.path, ex, caches[r])
					if err != nil {
						return fmt.Errorf("%s %s %s start: %w", ex.name, b.name, kind, err)
					}
					fmt.Fprintf(o.progress, "start %-14s %-10s %-4s ready %-8s first request %s\n", ex.name, b.name, kind,
						sr.ready.Round(time.Millisecond), sr.first.Round(10*time.Microsecond))
					*into = append(*into, sr)
					return nil
				}
				if i < o.coldRuns || caches[r] == "" {
					os.RemoveAll(caches[r])
					dir, err := os.MkdirTemp("", "bubblewasm-bench-cache-")
					if err != nil {
						return err
					}
					caches[r] = dir
					var cold []startRun
					if err := run("cold", &cold); err != nil {
						return err
					}
					if i < o.coldRuns {
						r.cold = append(r.cold, cold...)
					}
				}
				if i < o.warmRuns {
					if err := run("warm", &r.warm); err != nil {
						return err
					}
				}
			}
		}
	}
	pinned := ""
	if o.cpu != "" {
		pinned = ", server pinned to one CPU"
	}
	fmt.Fprintf(w, "### Start and first request\n\n")
	fmt.Fprintf(w, "From exec to the listener accepting (every route's module loaded: read, validated, compiled, its initialization run), "+
		"then the first request on a new connection. Cold: an empty compilation cache; warm: the cache a cold start filled. "+
		"Medians of %d cold and %d warm starts; %d CPUs%s.\n\n", o.coldRuns, o.warmRuns, runtime.NumCPU(), pinned)
	head := []string{"example"}
	if len(o.bins) > 0 {
		head = append(head, "binary")
	}
	head = append(head, "cold start", "warm start", "first request (warm)")
	fmt.Fprintf(w, "| %s |\n|---|%s\n", strings.Join(head, " | "), strings.Repeat("---:|", len(head)-1))
	ready := func(s startRun) time.Duration { return s.ready }
	first := func(s startRun) time.Duration { return s.first }
	for _, ex := range examples {
		for _, b := range bins {
			r := results[ex.name+"\x00"+b.name]
			cells := []string{ex.name + " (" + countRoutes(ex.config) + ")"}
			if len(o.bins) > 0 {
				cells = append(cells, b.name)
			}
			cells = append(cells, short(median(r.cold, ready)), short(median(r.warm, ready)), short(median(r.warm, first)))
			fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
		}
	}
	fmt.Fprintln(w)
	return nil
}

// once starts bin on ex's configuration with its listeners replaced by one
// on a free loopback port, the compilation cache under cacheHome, and
// measures its start and first request.
func (o startOptions) once(ctx context.Context, bin string, ex startExample, cacheHome string) (startRun, error) {
	addr, err := freeAddr()
	if err != nil {
		return startRun{}, err
	}
	start := time.Now()
	srv, err := startServer([]string{bin, "run", "-c", ex.config, "--listen", "tcp://" + addr, "--log-level", "warn"}, o.cpu,
		"XDG_CACHE_HOME="+cacheHome)
	if err != nil {
		return startRun{}, err
	}
	defer srv.stop()
	var r startRun
	deadline := time.Now().Add(5 * time.Minute)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			r.ready = time.Since(start)
			c.Close()
			break
		}
		select {
		case werr := <-srv.exited:
			srv.exited <- werr
			return r, fmt.Errorf("server exited (%v): %s", werr, firstLines(srv.stderr.String(), 3))
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return r, fmt.Errorf("not listening within 5 minutes")
		}
	}
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{DisableKeepAlives: true}}
	req, _ := http.NewRequestWithContext(ctx, ex.method, "http://"+addr+ex.path, strings.NewReader(ex.body))
	if ex.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	t0 := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return r, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	r.first = time.Since(t0)
	if resp.StatusCode != http.StatusOK {
		return r, fmt.Errorf("first request: status %d", resp.StatusCode)
	}
	return r, nil
}

// checkModules reports modules of a configuration that are not built.
func checkModules(config string) error {
	b, err := os.ReadFile(config)
	if err != nil {
		return err
	}
	for line := range strings.Lines(string(b)) {
		v, ok := strings.CutPrefix(strings.TrimSpace(line), "module = ")
		if !ok {
			continue
		}
		path := filepath.Join(filepath.Dir(config), strings.Trim(v, `"'`))
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("%s: %w (bin/bubblewasm build -c %s builds it)", config, err, config)
		}
	}
	return nil
}

// countRoutes says how many routes and distinct modules a configuration has.
func countRoutes(config string) string {
	b, _ := os.ReadFile(config)
	routes, modules := 0, map[string]bool{}
	for line := range strings.Lines(string(b)) {
		line = strings.TrimSpace(line)
		if line == "[[route]]" {
			routes++
		}
		if v, ok := strings.CutPrefix(line, "module = "); ok {
			modules[v] = true
		}
	}
	return fmt.Sprintf("%d routes, %d module%s", routes, len(modules), map[bool]string{true: "", false: "s"}[len(modules) == 1])
}

// binFlags is a repeatable -bin NAME=PATH flag.
type binFlags []namedBin

func (b *binFlags) String() string { return fmt.Sprint(*b) }

func (b *binFlags) Set(v string) error {
	name, path, ok := strings.Cut(v, "=")
	if !ok {
		name, path = v, v
	}
	*b = append(*b, namedBin{name, path})
	return nil
}
