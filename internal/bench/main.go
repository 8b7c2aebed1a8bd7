// Command bench measures what the peer harness measures (../shared/peers
// in the project's workspace): the server CPU each request costs at a
// fixed offered load from a load generator in another process, as a ratio
// to native Go net/http measured in the same run. `make bench` runs it
// after `make build`.
//
//	bench [flags]            the fixed-load table and the start-time table (markdown)
//	bench native -addr A     the native net/http baseline server
//	bench start [flags]      start and first-request time of example configs
//	bench profile [flags]    where a request's server CPU goes (pprof, in-process)
//	bench readme FILE.md README.md   copy a bench report into README.md
//
// Each server under test is a separate process bound to 127.0.0.1, pinned
// to CPU 1 with GOMAXPROCS=1 while wrk runs pinned to CPU 0, each wrk
// connection waiting 3 ms before every request (~9k req/s offered, under
// every server's capacity, so both processes together use less than the
// two cores and the host does not throttle). The server's CPU time is read
// from /proc/PID/stat before and after the measured load. Every load is
// bounded by wrk's -d.
//
// Knobs (flags, or the environment variables named in their help):
// ROUNDS, FIXED_DUR, WARM, CONNS, THINK_MS, BENCH_ONLY (a regexp over
// scenario keys such as "native|wat/wazero/"), BENCH_START=0 to skip the
// start-time table. The defaults take about 7 minutes on 2 cores;
// FIXED_DUR=2s ROUNDS=1 about 2.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd, args := "run", os.Args[1:]
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "run":
		err = runBench(ctx, args)
	case "native":
		err = serveNative(ctx, args)
	case "start":
		err = runStart(ctx, args, os.Stdout)
	case "profile":
		err = runProfile(ctx, args)
	case "readme":
		err = runReadme(args)
	default:
		err = fmt.Errorf("unknown command %q (run, native, start, profile, readme)", cmd)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// runBench is the default command: the fixed-load table, then the start
// table, on stdout and in -out.
func runBench(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	bin := fs.String("bin", "bin/bubblewasm", "the bubblewasm binary under test")
	modules := fs.String("modules", "bin/modules", "directory of the hello modules")
	work := fs.String("work", "bin/bench-work", "configs, compilation cache and the report")
	out := fs.String("out", "bin/bench.md", "also write the report here [BENCH_OUT]")
	rounds := fs.Int("rounds", 2, "rounds; figures are medians over them [ROUNDS]")
	dur := fs.Duration("dur", 5*time.Second, "measured load per run [FIXED_DUR]")
	warm := fs.Duration("warm", time.Second, "unmeasured load after each start [WARM]")
	conns := fs.Int("c", 32, "wrk connections [CONNS]")
	think := fs.Int("think", 3, "ms each connection waits before each request [THINK_MS]")
	only := fs.String("only", "", "regexp: only scenarios whose key (wat/wazero/pool, ...) matches; native always runs [BENCH_ONLY]")
	every := fs.Int("native-every", 8, "native runs again after this many scenarios")
	start := fs.Bool("start", true, "also measure the examples' start and first request [BENCH_START]")
	fs.Parse(args)
	if err := flagsFromEnv(fs, map[string]string{"out": "BENCH_OUT", "rounds": "ROUNDS", "dur": "FIXED_DUR", "warm": "WARM",
		"c": "CONNS", "think": "THINK_MS", "only": "BENCH_ONLY", "start": "BENCH_START"}); err != nil {
		return err
	}

	if err := need("wrk", "the load generator: apt-get install wrk (make deps does)"); err != nil {
		return err
	}
	var filter *regexp.Regexp
	if *only != "" {
		var err error
		if filter, err = regexp.Compile(*only); err != nil {
			return fmt.Errorf("-only: %w", err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(*work, "cache"), 0o755); err != nil {
		return err
	}
	serverCPU, wrkCPU := cpuPinning()
	o := fixedOptions{
		bin: *bin, self: self, modules: *modules, work: *work,
		rounds: max(*rounds, 1), warm: *warm, dur: *dur, every: max(*every, 1),
		serverCPU: serverCPU, load: load{conns: *conns, thinkMs: *think, cpu: wrkCPU},
		tick: clockTick(), progress: os.Stderr,
	}
	if err := o.load.writeScript(*work); err != nil {
		return err
	}
	scenarios := plan(filter)
	fmt.Fprintf(os.Stderr, "bench: %d scenarios + native, %d round(s), %s each (+%s warm-up)\n", len(scenarios), o.rounds, o.dur, o.warm)
	ms := runFixed(ctx, o, scenarios)

	report := &reportWriter{}
	fmt.Fprintf(report, "%s\n", describeHost(*bin))
	writeFixedTable(report, o, ms)
	if *start && ctx.Err() == nil {
		so := startOptions{bin: *bin, coldRuns: 1, warmRuns: 3, progress: os.Stderr} // not pinned: loading uses every core
		if err := so.table(ctx, report, defaultStartExamples); err != nil {
			fmt.Fprintf(report, "Start times not measured: %v\n\n", err)
		}
	}
	os.Stdout.Write(report.b)
	if *out != "" {
		if err := os.WriteFile(*out, report.b, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "bench: report in %s (`make bench-readme` copies it into README.md)\n", *out)
	}
	return ctx.Err()
}

// reportWriter collects the report.
type reportWriter struct{ b []byte }

func (r *reportWriter) Write(p []byte) (int, error) { r.b = append(r.b, p...); return len(p), nil }

// describeHost is the report's first line: when, where, what.
func describeHost(bin string) string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if m := regexp.MustCompile(`(?m)^model name\s*:\s*(.*)$`).FindSubmatch(b); m != nil {
			model = string(m[1])
		}
	}
	version := "?"
	if out, err := exec.Command(bin, "version").Output(); err == nil {
		version = firstLines(string(out), 1)
	}
	return fmt.Sprintf("Measured by `make bench` on %s: %d × %s, %s, %s.\n",
		time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), model, runtime.Version(), version)
}

// serveNative is the baseline: Go net/http answering "Hello, world!\n"
// with Content-Type text/plain, as the hello modules do.
func serveNative(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("native", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:18080", "listen address (loopback)")
	fs.Parse(args)
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	body := []byte("Hello, world!\n")
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(body)
	})}
	go func() { <-ctx.Done(); srv.Close() }()
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func need(tool, hint string) error {
	if _, err := exec.LookPath(tool); err != nil {
		return fmt.Errorf("%s not found: %s", tool, hint)
	}
	return nil
}

// flagsFromEnv sets each flag not given on the command line from its
// environment variable, when that is set.
func flagsFromEnv(fs *flag.FlagSet, env map[string]string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for name, key := range env {
		if v := os.Getenv(key); v != "" && !given[name] {
			if err := fs.Set(name, v); err != nil {
				return fmt.Errorf("%s=%q: %w", key, v, err)
			}
		}
	}
	return nil
}

var _ io.Writer = (*reportWriter)(nil)
