package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// fixedLua is wrk's script for a fixed offered load: every connection waits
// thinkMs before each request, so 32 connections offer about 8-10k req/s,
// below what every server measured can take. Server and wrk then use less
// than the two cores together, and the server's CPU per request does not
// depend on how busy it is (the peer harness's fixed.lua).
const fixedLua = "function delay()\n  return %d\nend\n"

// wrkRun is what one wrk run reports.
type wrkRun struct {
	requests int64
	rps      float64
	p50, p99 time.Duration
	non2xx   int64
	sockErr  string // wrk's "Socket errors" line, "" when none
}

// load is a wrk command line: where it runs and what it offers.
type load struct {
	conns   int
	thinkMs int
	cpu     string // taskset CPU list for wrk, "" not pinned
	script  string // path of the fixed-load script
}

// writeScript writes the fixed-load script into dir.
func (l *load) writeScript(dir string) error {
	l.script = filepath.Join(dir, "fixed.lua")
	return os.WriteFile(l.script, fmt.Appendf(nil, fixedLua, l.thinkMs), 0o644)
}

// run runs wrk against url for d; wrk's -d bounds it, and a context bounds
// wrk itself in case it hangs.
func (l *load) run(ctx context.Context, url string, d time.Duration) (wrkRun, error) {
	ctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	args := []string{"wrk", "-t1", "-c" + strconv.Itoa(l.conns), "-d" + durArg(d), "--latency", "-s", l.script, url}
	if l.cpu != "" {
		args = append([]string{"taskset", "-c", l.cpu}, args...)
	}
	out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return wrkRun{}, fmt.Errorf("wrk: %w: %s", err, out)
	}
	return parseWrk(string(out))
}

// durArg formats d for wrk, which takes whole seconds (or ms with "ms").
func durArg(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.Itoa(int(d/time.Second)) + "s"
	}
	return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
}

var (
	wrkRPS      = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	wrkRequests = regexp.MustCompile(`(\d+) requests in`)
	wrkNon2xx   = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	wrkSockErr  = regexp.MustCompile(`Socket errors: (.*)`)
	wrkPct      = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$`)
)

// parseWrk reads wrk's report (with --latency).
func parseWrk(out string) (wrkRun, error) {
	var r wrkRun
	m := wrkRPS.FindStringSubmatch(out)
	n := wrkRequests.FindStringSubmatch(out)
	if m == nil || n == nil {
		return r, fmt.Errorf("wrk: unexpected output: %q", out)
	}
	r.rps, _ = strconv.ParseFloat(m[1], 64)
	r.requests, _ = strconv.ParseInt(n[1], 10, 64)
	for _, p := range wrkPct.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(p[2], 64)
		d := time.Duration(v * float64(map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[p[3]]))
		if p[1] == "50" {
			r.p50 = d
		} else {
			r.p99 = d
		}
	}
	if m := wrkNon2xx.FindStringSubmatch(out); m != nil {
		r.non2xx, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := wrkSockErr.FindStringSubmatch(out); m != nil {
		r.sockErr = strings.TrimSpace(m[1])
	}
	return r, nil
}
