package app_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server/app"
	"github.com/bubblewasm/bubblewasm/server/config"
)

// BenchmarkReloadScale starts an app of 10,000 routes (/rN/*, each
// answering "rN") and reloads it with one route's timeout changed, then
// with the module file of one route (its own) rewritten. It reports the start time
// (start-ms), each reload's time (reload-ms: the timeout change;
// reload-module-ms: the module change), and what the started app holds:
// the heap in use per route (heap-B/route) and the process's resident set
// (rss-MB, from /proc; 0 elsewhere). The modules sub-benchmarks serve one
// module file for every route, or 100 distinct files.
func BenchmarkReloadScale(b *testing.B) {
	for _, modules := range []int{1, 100} {
		b.Run(fmt.Sprintf("modules=%d", modules), func(b *testing.B) {
			for b.Loop() {
				reloadScale(b, 10_000, modules)
			}
		})
	}
}

func reloadScale(b *testing.B, routes, modules int) {
	dir := b.TempDir()
	for m := range modules {
		writeVersion(b, filepath.Join(dir, fmt.Sprintf("m%d.wasm", m)), "m"+strconv.Itoa(m))
	}
	writeVersion(b, filepath.Join(dir, "own.wasm"), "own")
	module := func(i int) string { // r0 has a file of its own
		if i == 0 {
			return "own"
		}
		return "m" + strconv.Itoa(i%modules)
	}
	body := func(timeout int) string {
		var sb strings.Builder
		for i := range routes {
			t := 30
			if i == routes/2 {
				t = timeout
			}
			fmt.Fprintf(&sb, "[[route]]\nname = \"r%d\"\nmodule = \"%s.wasm\"\nmatch = { PATH_INFO = \"/r%d/*\" }\ntimeout = \"%ds\"\n",
				i, module(i), i, t)
		}
		return sb.String()
	}
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	began := time.Now()
	cfg := reloadConfig(b, dir, body(30))
	a, addrs := serveApp(b, cfg, app.Options{})
	started := time.Since(began)
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	rss := residentMB()

	reload := func(cfg *config.Config) time.Duration {
		began := time.Now()
		if err := a.Reload(context.Background(), cfg); err != nil {
			b.Fatal(err)
		}
		return time.Since(began)
	}
	reloaded := reload(reloadConfig(b, dir, body(31)))
	writeVersion(b, filepath.Join(dir, "own.wasm"), "changed")
	moduleReloaded := reload(reloadConfig(b, dir, body(31)))
	base := testutil.URL(addrs[0])
	if status, got := do(b, "GET", base+"/r0/", ""); status != 200 || got != "changed\n" {
		b.Fatalf("after the reload, /r0/: %d %q", status, got)
	}
	last := routes - 1
	if status, got := do(b, "GET", base+fmt.Sprintf("/r%d/", last), ""); status != 200 || strings.TrimSpace(got) == "" {
		b.Fatalf("after the reload, the last route: %d %q", status, got)
	}
	b.ReportMetric(float64(started.Milliseconds()), "start-ms")
	b.ReportMetric(float64(reloaded.Milliseconds()), "reload-ms")
	b.ReportMetric(float64(moduleReloaded.Milliseconds()), "reload-module-ms")
	b.ReportMetric(float64(int64(after.HeapInuse)-int64(before.HeapInuse))/float64(routes), "heap-B/route")
	b.ReportMetric(rss, "rss-MB")
}

// residentMB is the process's resident set in MB (VmRSS), 0 where /proc
// does not say.
func residentMB() float64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
