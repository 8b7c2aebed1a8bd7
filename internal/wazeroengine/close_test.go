//go:build linux

package wazeroengine_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// TestCloseFreesMachineCode: modules closed give their machine code back,
// on an engine with a compilation cache in memory and on disk. A server
// that keeps a few modules loaded and replaces one after another (a
// Residency unloading the least recently used, reloads) must not hold the
// code of every module it ever compiled: here 5 stay open while 60 are
// compiled and closed in turn, and the code held stays that of a handful.
// The machine code of wazero's compiled modules is in anonymous executable
// mappings (two pages at least each), which /proc/self/maps lists.
func TestCloseFreesMachineCode(t *testing.T) {
	for name, dir := range map[string]string{"memory cache": "", "file cache": t.TempDir()} {
		t.Run(name, func(t *testing.T) {
			e := newEngine(t, dir)
			ctx := context.Background()
			compile := func(i int) wasm.Module {
				// Distinct bytes, so that no two share a compilation.
				bin := testutil.WAT(t, fmt.Sprintf(`(module (func (export "f%d") (result i32) (i32.const %d)))`, i, i))
				m, err := e.Compile(ctx, bin, wasm.Limits{})
				if err != nil {
					t.Fatal(err)
				}
				return m
			}
			const open, churn = 5, 60
			var mods []wasm.Module
			for i := range open {
				mods = append(mods, compile(i))
			}
			base := codePages(t)
			for i := open; i < open+churn; i++ {
				if err := mods[0].Close(ctx); err != nil {
					t.Fatal(err)
				}
				mods = append(mods[1:], compile(i))
			}
			testutil.Eventually(t, "the machine code of the closed modules to be unmapped", func() bool {
				runtime.GC()
				return codePages(t)-base < 2*open
			})
			for _, m := range mods {
				m.Close(ctx)
			}
		})
	}
}

// codePages is the size of the process's anonymous executable mappings,
// in pages (adjacent mappings merge, so their number says little).
func codePages(t testing.TB) int {
	t.Helper()
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		t.Skip("no /proc/self/maps")
	}
	defer f.Close()
	n := 0
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) == 5 && strings.HasPrefix(fields[1], "r-x") && fields[4] == "0" {
			var lo, hi uint64
			if _, err := fmt.Sscanf(fields[0], "%x-%x", &lo, &hi); err == nil {
				n += int((hi - lo) / uint64(os.Getpagesize()))
			}
		}
	}
	return n
}
