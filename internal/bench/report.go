package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// row is a scenario's figures: medians over its measured runs.
type row struct {
	scenario        scenario
	runs            int
	cpu             time.Duration // per request
	rps             float64
	p50, p99, ready time.Duration
	peakRSS         int64
	errors          string
}

// summarize groups measurements by scenario, in the order of first
// appearance, and takes medians. It returns the rows, the runs that
// failed (one error per scenario), and the lifecycles the server refused.
func summarize(ms []measurement) (rows []row, failed []measurement, refused []string) {
	byKey := map[string][]measurement{}
	var order []string
	for _, m := range ms {
		k := m.scenario.key()
		if m.err != nil {
			if refusedLifecycle(m.err) {
				if !slices.Contains(refused, m.scenario.lifecycle) {
					refused = append(refused, m.scenario.lifecycle)
				}
			} else if !slices.ContainsFunc(failed, func(f measurement) bool { return f.scenario.key() == k }) {
				failed = append(failed, m)
			}
			continue
		}
		if byKey[k] == nil {
			order = append(order, k)
		}
		byKey[k] = append(byKey[k], m)
	}
	for _, k := range order {
		runs := byKey[k]
		r := row{scenario: runs[0].scenario, runs: len(runs)}
		r.cpu = median(runs, func(m measurement) time.Duration { return m.cpuPerRequest() })
		r.rps = float64(median(runs, func(m measurement) time.Duration { return time.Duration(m.wrk.rps) }))
		r.p50 = median(runs, func(m measurement) time.Duration { return m.wrk.p50 })
		r.p99 = median(runs, func(m measurement) time.Duration { return m.wrk.p99 })
		r.ready = median(runs, func(m measurement) time.Duration { return m.ready })
		r.peakRSS = int64(median(runs, func(m measurement) time.Duration { return time.Duration(m.peakRSS) }))
		var non2xx int64
		var sock []string
		for _, m := range runs {
			non2xx += m.wrk.non2xx
			if m.wrk.sockErr != "" {
				sock = append(sock, m.wrk.sockErr)
			}
		}
		r.errors = "0"
		if non2xx > 0 || len(sock) > 0 {
			r.errors = strings.TrimSpace(fmt.Sprintf("%s %s", ifNonZero(non2xx, "non-2xx %d"), strings.Join(sock, "; ")))
		}
		rows = append(rows, r)
	}
	return rows, failed, refused
}

// median returns the median of f over ms (the mean of the two middle
// values of an even count).
func median[T any](ms []T, f func(T) time.Duration) time.Duration {
	if len(ms) == 0 {
		return 0
	}
	vs := make([]time.Duration, len(ms))
	for i, m := range ms {
		vs[i] = f(m)
	}
	slices.Sort(vs)
	n := len(vs)
	return (vs[(n-1)/2] + vs[n/2]) / 2
}

func ifNonZero(n int64, format string) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(format, n)
}

// writeFixedTable writes the fixed-load pass as a markdown table, native
// first, then each module's rows by engine and lifecycle.
func writeFixedTable(w io.Writer, o fixedOptions, ms []measurement) {
	rows, failed, refused := summarize(ms)
	var native time.Duration
	for _, r := range rows {
		if r.scenario.native() {
			native = r.cpu
		}
	}
	slices.SortStableFunc(rows, func(a, b row) int { return order(a.scenario) - order(b.scenario) })
	pin := "server and wrk not pinned (fewer than 2 CPUs)"
	if o.serverCPU != "" {
		pin = fmt.Sprintf("server pinned to CPU %s with GOMAXPROCS=1, wrk on CPU %s", o.serverCPU, o.load.cpu)
	}
	fmt.Fprintf(w, "### Server CPU per request at a fixed offered load\n\n")
	fmt.Fprintf(w, "Hello world over HTTP/1.1 keep-alive on loopback: wrk with %d connections, each waiting %d ms before every request; "+
		"%s measured after %s of warm-up, %d round(s), medians; %s; server CPU from /proc/PID/stat. "+
		"**efficiency** = native net/http's CPU per request ÷ the row's, measured in the same run (1.00 = as cheap as Go net/http). "+
		"A row well below native's req/s is saturated at one core. start = from exec to the first 200 (compilation cache warm).\n\n",
		o.load.conns, o.load.thinkMs, o.dur, o.warm, o.rounds, pin)
	fmt.Fprintln(w, "| server | engine | lifecycle | CPU µs/req | efficiency | req/s | p50 | p99 | peak RSS | start | errors |")
	fmt.Fprintln(w, "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
	for _, r := range rows {
		name, engine, life := "native net/http", "", ""
		if !r.scenario.native() {
			name, engine, life = r.scenario.module.name, r.scenario.engine, r.scenario.lifecycle
		}
		eff := "–"
		if r.cpu > 0 && native > 0 {
			eff = fmt.Sprintf("%.2f", float64(native)/float64(r.cpu))
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %.0f MiB | %s | %s |\n",
			name, engine, life, micros(r.cpu), eff, thousands(r.rps), short(r.p50), short(r.p99),
			float64(r.peakRSS)/(1<<20), short(r.ready), r.errors)
	}
	fmt.Fprintln(w)
	var drift []string
	for _, m := range ms {
		if m.scenario.native() && m.err == nil {
			drift = append(drift, fmt.Sprintf("r%d %s", m.round, micros(m.cpuPerRequest())))
		}
	}
	if len(drift) > 0 {
		fmt.Fprintf(w, "Native CPU µs/req, run by run (drift over the run): %s.\n\n", strings.Join(drift, ", "))
	}
	if len(refused) > 0 {
		for _, l := range refused {
			fmt.Fprintf(w, "Lifecycle `%s`: not in this build (bubblewasm refused `instances = %q`).\n", l, l)
		}
		fmt.Fprintln(w)
	}
	for _, f := range failed {
		fmt.Fprintf(w, "- %s failed: %v\n", f.scenario.key(), f.err)
	}
	if len(failed) > 0 {
		fmt.Fprintln(w)
	}
}

// order sorts rows: native, then modules, engines and lifecycles in the
// order of their tables.
func order(s scenario) int {
	if s.native() {
		return -1
	}
	idx := func(list []string, v string) int { return slices.Index(list, v) }
	m := slices.IndexFunc(helloModules, func(h helloModule) bool { return h.file == s.module.file })
	return (m*len(engines)+idx(engines, s.engine))*len(lifecycles) + idx(lifecycles, s.lifecycle)
}

// micros formats a duration as µs with one decimal ("41.0").
func micros(d time.Duration) string {
	if d >= time.Millisecond {
		return thousands(float64(d.Microseconds()))
	}
	return fmt.Sprintf("%.1f", float64(d.Nanoseconds())/1e3)
}

// short formats a latency: "850 µs", "3.2 ms", "1.20 s".
func short(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%d µs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1e3)
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

// thousands formats a count with thousands separators ("9,120").
func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
