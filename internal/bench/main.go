// Command bench measures hello-world requests/s through bubblewasm and, in
// the same run, through a native Go net/http handler, and prints each
// bubblewasm figure as a ratio to the native one. `make bench` runs it after
// `make build`, which leaves the modules in bin/modules.
//
// Every server binds 127.0.0.1:0; each scenario runs a bounded number of
// requests for a bounded time from keep-alive clients in this process, so
// client and server share the machine the same way in every scenario.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bubblewasm/bubblewasm/server"
	"github.com/bubblewasm/bubblewasm/server/app"
	"github.com/bubblewasm/bubblewasm/server/transport"
	"github.com/bubblewasm/bubblewasm/server/wasm"
)

type scenario struct {
	name   string
	module string // "" = native net/http
	life   wasm.Lifecycle
}

type result struct {
	requests int64
	errors   int64
	elapsed  time.Duration
	p50, p99 time.Duration
}

func main() {
	duration := flag.Duration("duration", 3*time.Second, "load time per scenario")
	maxRequests := flag.Int64("requests", 500000, "most requests per scenario")
	conc := flag.Int("c", 16, "concurrent keep-alive connections")
	modDir := flag.String("modules", "bin/modules", "directory of the built modules")
	flag.Parse()

	scenarios := []scenario{
		{name: "native net/http"},
		{name: "wat hello, pool", module: "hello-wat.wasm", life: wasm.Pool},
		{name: "wat hello, fresh", module: "hello-wat.wasm", life: wasm.Fresh},
		{name: "go-sdk hello, pool", module: "hello.wasm", life: wasm.Pool},
		{name: "go-sdk hello, fresh", module: "hello.wasm", life: wasm.Fresh},
	}
	engine, err := app.NewEngine("wazero", "")
	if err != nil {
		fail(err)
	}
	fmt.Printf("bench: %d connections, %s or %d requests per scenario, GOMAXPROCS=%d\n\n", *conc, *duration, *maxRequests, runtime.GOMAXPROCS(0))
	const row = "%-22s %9s %7s %10s %10s %7s\n"
	fmt.Printf(row, "scenario", "req/s", "ratio", "p50", "p99", "errors")
	var native float64
	for _, sc := range scenarios {
		url, stop := start(sc, engine, *modDir)
		load(url, *conc, 300*time.Millisecond, 5000) // warm up: caches, pools, connections
		r := load(url, *conc, *duration, *maxRequests)
		stop()
		rps := float64(r.requests) / r.elapsed.Seconds()
		if sc.module == "" {
			native = rps
		}
		fmt.Printf(row, sc.name, fmt.Sprintf("%.0f", rps), fmt.Sprintf("%.3f", rps/native),
			r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond), fmt.Sprint(r.errors))
	}
	fmt.Println("\nratio = scenario req/s ÷ native net/http req/s, measured in this run")
}

// start serves one scenario on 127.0.0.1:0 and returns its URL.
func start(sc scenario, engine wasm.Engine, modDir string) (string, func()) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	url := "http://" + l.Addr().String() + "/"
	if sc.module == "" {
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, "Hello, world!\n")
		})}
		go srv.Serve(l)
		return url, func() { srv.Close() }
	}
	h, err := wasm.Load(context.Background(), engine, modDir+"/"+sc.module, wasm.Options{Name: sc.name, Lifecycle: sc.life, MaxConcurrency: 1024})
	if err != nil {
		fail(fmt.Errorf("%w (run `make build` first)", err))
	}
	logger := slog.New(slog.DiscardHandler)
	th, _ := transport.Default().New("http", h, transport.Options{Logger: logger})
	srv := server.NewServer(logger, server.Listener{Name: "bench", Listener: l, Handler: th})
	go srv.Serve()
	return url, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		h.Close(ctx)
	}
}

// load runs keep-alive GETs from conc goroutines until d passes or max
// requests are sent.
func load(url string, conc int, d time.Duration, max int64) result {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc}}
	defer client.CloseIdleConnections()
	var sent, errs atomic.Int64
	lat := make([][]time.Duration, conc)
	deadline := time.Now().Add(d)
	begin := time.Now()
	var wg sync.WaitGroup
	for i := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && sent.Add(1) <= max {
				t0 := time.Now()
				resp, err := client.Get(url)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				if err != nil {
					errs.Add(1)
					continue
				}
				lat[i] = append(lat[i], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(begin)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	r := result{requests: int64(len(all)), errors: errs.Load(), elapsed: elapsed}
	if len(all) > 0 {
		r.p50, r.p99 = all[len(all)/2], all[len(all)*99/100]
	}
	return r
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}
