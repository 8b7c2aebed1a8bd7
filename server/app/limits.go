package app

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/bubblewasm/bubblewasm/server/config"
	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// Process-wide limits: one wasm.Gate for the wasmtime routes and one
// wasm.MemoryBudget for every wasm route, made from the [limits] table;
// one route may hold route_share of each.

// threadHeadroom is how many OS threads beyond the wasmtime gate the
// process keeps for itself: the Go runtime's own (one per P, sysmon, the
// garbage collector's), goroutines blocked in system calls such as file
// I/O, and wazero, whose guests run on goroutines and need no thread of
// their own while they wait.
const threadHeadroom = 2048

// sharedLimits are the bounds every route of one App shares.
type sharedLimits struct {
	wasmtime *wasm.Gate
	memory   *wasm.MemoryBudget
	resident *wasm.Residency // nil: every module stays loaded
}

// newSharedLimits makes the gate and the budget of cfg's [limits], filling
// in the defaults, and makes sure Go's thread limit stays above the gate
// (it is raised, never lowered: it is the process's, and aborting the
// process is what the gate is there to prevent). With resident_modules it
// makes the Residency, whose spill file goes in cacheDir (the system's
// temporary directory when empty).
func newSharedLimits(l config.Limits, cacheDir string) (sharedLimits, error) {
	n := l.WasmtimeExchanges
	if n <= 0 {
		n = config.DefaultWasmtimeExchanges
	}
	if need := n + threadHeadroom; need > maxThreads() {
		debug.SetMaxThreads(need)
	}
	budget := l.MemoryBudget
	if budget <= 0 {
		budget = DefaultMemoryBudget()
	}
	sl := sharedLimits{wasmtime: wasm.NewGateShare(n, l.Share()), memory: wasm.NewMemoryBudgetShare(budget, l.Share())}
	if l.ResidentModules > 0 {
		if cacheDir != "" {
			// The engine makes it too, after this.
			if err := os.MkdirAll(cacheDir, 0o755); err != nil {
				return sharedLimits{}, fmt.Errorf("[limits] resident_modules: cache_dir: %w", err)
			}
		}
		r, err := wasm.NewResidency(l.ResidentModules, cacheDir)
		if err != nil {
			return sharedLimits{}, fmt.Errorf("[limits] resident_modules: %w", err)
		}
		sl.resident = r
	}
	return sl, nil
}

// close releases what the limits hold (the Residency's spill file), once
// every route is closed.
func (l sharedLimits) close() error {
	if l.resident == nil {
		return nil
	}
	return l.resident.Close()
}

// maxThreads reads Go's thread limit (debug.SetMaxThreads both sets and
// returns it).
func maxThreads() int {
	n := debug.SetMaxThreads(1 << 20)
	debug.SetMaxThreads(n)
	return n
}

// DefaultMemoryBudget is the memory_budget when the configuration sets
// none: half the memory the process may use, that is the smaller of the
// machine's memory and the cgroup's limit, and 4GiB when neither can be
// read. The other half is left to the host's own heap (buffers,
// connections, compiled code) and to the rest of the machine.
func DefaultMemoryBudget() int64 {
	total := memTotal()
	if c := cgroupLimit(); c > 0 && (total <= 0 || c < total) {
		total = c
	}
	if total <= 0 {
		return 4 << 30
	}
	return max(total/2, config.MinMemoryBudget)
}

// memTotal is MemTotal from /proc/meminfo, in bytes; 0 when unknown.
func memTotal() int64 {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	return parseMemTotal(data)
}

// parseMemTotal reads the MemTotal line of /proc/meminfo ("MemTotal:
// 24684016 kB"), in bytes; 0 when there is none or it is not a number.
func parseMemTotal(meminfo []byte) int64 {
	s := bufio.NewScanner(bytes.NewReader(meminfo))
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "MemTotal:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil || kb <= 0 || kb > 1<<50 {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// cgroupLimit is the memory limit of the process's cgroup (v2
// memory.max, else v1 memory.limit_in_bytes), in bytes; 0 when there is
// none or it cannot be read.
func cgroupLimit() int64 {
	for _, f := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		if data, err := os.ReadFile(f); err == nil {
			return parseCgroupLimit(data)
		}
	}
	return 0
}

// parseCgroupLimit reads a cgroup memory limit file: a number of bytes, or
// "max" (v2) or a huge number (v1) for none, which is 0.
func parseCgroupLimit(data []byte) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	if err != nil || n <= 0 || n >= 1<<60 {
		return 0
	}
	return n
}

// gate is the shared bound of routes on engine: the wasmtime gate, or none.
func (l sharedLimits) gate(engine string) *wasm.Gate {
	if engine == config.EngineWasmtime {
		return l.wasmtime
	}
	return nil
}

// trimEvery is how often the app checks whether guests gave back enough
// memory to return it to the operating system.
const trimEvery = 5 * time.Second

// memoryUse is what trimmer reads of a wasm.MemoryBudget.
type memoryUse interface {
	Used() int64
	TakePeak() int64
}

// trimmer gives memory back to the operating system after a burst. Guest
// memories are unmapped as soon as their instances close, but what the
// host allocated for those instances and their exchanges (engine
// structures, buffers, goroutine stacks) is garbage in the Go heap, and
// with no allocation going on the collector would not run (and the
// scavenger not return it) until its forced collection, two minutes later.
// So when the guests' memory has fallen by a quarter of its recent high,
// and by at least trimMin, the trimmer collects and returns freed memory
// at once (debug.FreeOSMemory), checking every trimEvery.
type trimmer struct {
	use    memoryUse
	every  time.Duration
	free   func()
	logger *slog.Logger
}

// trimMin is the least drop in guest memory worth a collection.
const trimMin = 64 << 20

// run trims until ctx ends.
func (tr trimmer) run(ctx context.Context) {
	t := time.NewTicker(tr.every)
	defer t.Stop()
	high := tr.use.Used()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		used := tr.use.Used()
		high = max(high, used, tr.use.TakePeak())
		if drop := high - used; drop >= trimMin && drop >= high/4 {
			tr.free()
			tr.logger.Debug("memory given back after a burst", "guest_memory_high", high, "guest_memory_now", used)
			high = used
		}
	}
}
