package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"
)

// fixedOptions configure the fixed-load pass.
type fixedOptions struct {
	bin       string // bin/bubblewasm
	self      string // this program, which serves the native baseline
	modules   string // directory of the hello modules
	work      string // configs and the compilation cache
	rounds    int
	warm      time.Duration // unmeasured load after each start
	dur       time.Duration // measured load
	every     int           // native runs again after this many scenarios
	serverCPU string        // taskset CPU of the server, "" not pinned
	load      load
	tick      time.Duration
	progress  io.Writer
}

// measurement is one measured run of one scenario.
type measurement struct {
	scenario scenario
	round    int
	wrk      wrkRun
	cpu      time.Duration // server CPU during the measured load
	peakRSS  int64
	ready    time.Duration // from exec to the first 200
	err      error         // the scenario could not run
}

// cpuPerRequest is the server's CPU per request of the run.
func (m measurement) cpuPerRequest() time.Duration {
	if m.wrk.requests == 0 {
		return 0
	}
	return m.cpu / time.Duration(m.wrk.requests)
}

// runFixed measures every scenario in every round, native first in each
// round and again after every o.every scenarios, so that drift over a
// round shows and each bubblewasm figure has a native one near it.
func runFixed(ctx context.Context, o fixedOptions, scenarios []scenario) []measurement {
	var out []measurement
	unavailable := map[string]bool{} // lifecycles the server refused: tried once
	for round := 1; round <= o.rounds; round++ {
		out = append(out, o.measure(ctx, scenario{}, round))
		for i, s := range scenarios {
			if ctx.Err() != nil {
				return out
			}
			if unavailable[s.lifecycle] {
				continue
			}
			m := o.measure(ctx, s, round)
			if m.err != nil && refusedLifecycle(m.err) {
				unavailable[s.lifecycle] = true
			}
			out = append(out, m)
			if (i+1)%o.every == 0 || i == len(scenarios)-1 {
				out = append(out, o.measure(ctx, scenario{}, round))
			}
		}
	}
	return out
}

// measure starts the scenario's server, waits until it answers, loads it
// for o.warm unmeasured, then for o.dur while reading its CPU time, and
// stops it.
func (o fixedOptions) measure(ctx context.Context, s scenario, round int) (m measurement) {
	m = measurement{scenario: s, round: round}
	defer func() {
		if m.err != nil {
			fmt.Fprintf(o.progress, "r%d %-24s error: %v\n", round, s.key(), m.err)
		} else {
			fmt.Fprintf(o.progress, "r%d %-24s %7.0f req/s %7.1f µs/req  ready %s\n", round, s.key(), m.wrk.rps,
				float64(m.cpuPerRequest().Nanoseconds())/1e3, m.ready.Round(time.Millisecond))
		}
	}()
	addr, err := freeAddr()
	if err != nil {
		m.err = err
		return m
	}
	url := "http://" + addr + "/"
	args := []string{o.self, "native", "-addr", addr}
	if !s.native() {
		cfg, err := s.config(o.work, o.modules, o.work+"/cache", addr)
		if err != nil {
			m.err = err
			return m
		}
		args = []string{o.bin, "run", "-c", cfg}
	}
	start := time.Now()
	srv, err := startServer(args, o.serverCPU)
	if err != nil {
		m.err = err
		return m
	}
	defer srv.stop()
	if m.ready, err = srv.waitReady(ctx, url, start, 2*time.Minute); err != nil {
		m.err = err
		return m
	}
	if o.warm > 0 {
		if _, err := o.load.run(ctx, url, o.warm); err != nil {
			m.err = err
			return m
		}
	}
	t0, err := cpuTicks(srv.pid())
	if err != nil {
		m.err = err
		return m
	}
	if m.wrk, err = o.load.run(ctx, url, o.dur); err != nil {
		m.err = err
		return m
	}
	t1, err := cpuTicks(srv.pid())
	if err != nil {
		m.err = err
		return m
	}
	m.cpu = time.Duration(t1-t0) * o.tick
	m.peakRSS = peakRSS(srv.pid())
	return m
}

// refusedLifecycle reports a server that exited at start on its
// configuration (exit status 3) naming the instances key: this build does
// not know the lifecycle.
func refusedLifecycle(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "server exited (exit status 3)") && strings.Contains(msg, "instances")
}

// cpuPinning returns the CPUs of the server and of wrk, as the peer
// harness pins them, or none on a machine with fewer than two CPUs.
func cpuPinning() (serverCPU, wrkCPU string) {
	if runtime.NumCPU() < 2 {
		return "", ""
	}
	return "1", "0"
}
