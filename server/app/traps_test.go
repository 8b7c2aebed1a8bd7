package app_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/bubblewasm/bubblewasm/internal/testutil"
)

// trapC traps in a function with a name; the call goes through a volatile
// pointer so that no optimizer inlines it away.
const trapC = `#include "bubble.h"
static int explode_here(int n) {
	if (n >= 0) __builtin_trap();
	return n;
}
static int (*volatile call)(int) = explode_here;
static int handle(void) { return call(bubble_write_str("x")); }
BUBBLE_HANDLER(handle)
`

var frameName = regexp.MustCompile(`\\t(?:\.|\d+: (?:0x[0-9a-f]+ - )?[^!\\]*!)([^(\\"]+)`)

// TestTrapNamesFunctions builds a C handler with the SDK's build script
// and makes it trap: the logged error names the trapping function and its
// callers, each frame once (the stack guard's wrappers left out), on
// every engine. The build keeps the "name" section and the host keeps it
// through its rewrites.
func TestTrapNamesFunctions(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "trap.c")
	if err := os.WriteFile(src, []byte(trapC), 0o644); err != nil {
		t.Fatal(err)
	}
	mod := filepath.Join(dir, "trap.wasm")
	if out, err := exec.Command("bash", "../../guest-sdk/c/build.sh", mod, src).CombinedOutput(); err != nil {
		t.Fatalf("guest-sdk/c/build.sh (make deps installs clang, lld, wasi-libc): %v\n%s", err, out)
	}
	trapOnEngines(t, mod, "", "/", func(t *testing.T, logs *testutil.LogBuffer) {
		line := waitLog(t, logs, "http exchange failed", "stack trace")
		// wazero: "\t.NAME(i32) i32"; wasmtime: "\t0: 0x1d - <unknown>!NAME".
		var frames []string
		for _, m := range frameName.FindAllStringSubmatch(line, -1) {
			frames = append(frames, m[1])
		}
		if want := []string{"explode_here", "handle", "bubble_handle"}; !slices.Equal(frames, want) {
			t.Errorf("frames %q, want %q (each once, named, no guard frames):\n%s", frames, want, line)
		}
	})
}

// trapOnEngines serves mod on every engine (on a route with the extra
// keys grants), sends GET path, which must fail with a 500, and runs check
// on the server log.
func trapOnEngines(t *testing.T, mod, grants, path string, check func(*testing.T, *testutil.LogBuffer)) {
	for _, eng := range testutil.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			url, logs := start(t, eng.Name, "[[route]]\nmodule = \""+mod+"\"\n"+grants)
			if code, _ := do(t, "GET", url+path, ""); code != 500 {
				t.Fatalf("status %d, want 500", code)
			}
			check(t, logs)
		})
	}
}

// TestGoPanicTraceOnce makes a Go handler panic (the Go SDK's conformance
// kit, /trap) and checks that the server log holds its trace once: the Go
// runtime's goroutine trace, with files and lines, from the guest's
// stderr; the exchange's error says where it is instead of repeating the
// frames as a wasm stack trace.
func TestGoPanicTraceOnce(t *testing.T) {
	mod := filepath.Join(t.TempDir(), "kit.wasm")
	if out, err := exec.Command("bash", "../../guest-sdk/go/build-kit.sh", mod).CombinedOutput(); err != nil {
		t.Fatalf("guest-sdk/go/build-kit.sh: %v\n%s", err, out)
	}
	// The kit imports every extension (its extension cases), so its route
	// grants them.
	grants := "pubsub = [\"kit.*\"]\nsignals = [\"kit.*\"]\nkv = \"kit\"\ndial = { echo = \"unix:///nonexistent/echo.sock\" }\noutbound = [\"http://127.0.0.1:9\"]\n"
	trapOnEngines(t, mod, grants, "/trap", func(t *testing.T, logs *testutil.LogBuffer) {
		waitLog(t, logs, "http exchange failed", "Go panic: its goroutine trace is in the guest's stderr")
		waitLog(t, logs, "stream=stderr", "guest-sdk/go/kit/main.go:")
		if n := strings.Count(logs.String(), "main.serve"); n != 1 {
			t.Fatalf("the panicking function main.serve is in the log %d times, want once:\n%s", n, logs.String())
		}
	})
}
