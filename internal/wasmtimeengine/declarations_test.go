//go:build cgo

package wasmtimeengine

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// declarationsCheck is a C file that includes wasmtime's headers and then
// cshim.h. A function or typedef that cshim.h declares differently from
// wasmtime is a conflicting redeclaration, and a macro defined differently
// a redefinition warning: both fail the compile. The memory creator's
// structs, which C allows to be defined only once, are compared field by
// field: same size, same offsets, same types.
const declarationsCheck = `#include <wasmtime.h>
#include <wasi.h>

#define BW_CHECK
#include "cshim.h"

#define SAME_SIZE(theirs, ours) \
	_Static_assert(sizeof(theirs) == sizeof(ours), #ours ": size differs from " #theirs);
#define SAME_FIELD(theirs, ours, f) \
	_Static_assert(offsetof(theirs, f) == offsetof(ours, f), #ours "." #f ": offset differs"); \
	_Static_assert(__builtin_types_compatible_p(__typeof__(((theirs *)0)->f), __typeof__(((ours *)0)->f)), \
		#ours "." #f ": type differs");

SAME_SIZE(wasmtime_linear_memory_t, bw_check_wasmtime_linear_memory_t)
SAME_FIELD(wasmtime_linear_memory_t, bw_check_wasmtime_linear_memory_t, env)
SAME_FIELD(wasmtime_linear_memory_t, bw_check_wasmtime_linear_memory_t, get_memory)
SAME_FIELD(wasmtime_linear_memory_t, bw_check_wasmtime_linear_memory_t, grow_memory)
SAME_FIELD(wasmtime_linear_memory_t, bw_check_wasmtime_linear_memory_t, finalizer)

SAME_SIZE(wasmtime_memory_creator_t, bw_check_wasmtime_memory_creator_t)
SAME_FIELD(wasmtime_memory_creator_t, bw_check_wasmtime_memory_creator_t, env)
SAME_FIELD(wasmtime_memory_creator_t, bw_check_wasmtime_memory_creator_t, new_memory)
SAME_FIELD(wasmtime_memory_creator_t, bw_check_wasmtime_memory_creator_t, finalizer)
`

// TestDeclarationsMatchWasmtime checks cshim.h against the headers of the
// wasmtime-go in go.mod, those of the libwasmtime the binary links.
func TestDeclarationsMatchWasmtime(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/bytecodealliance/wasmtime-go/v39").Output()
	mod := strings.TrimSpace(string(out))
	if err != nil || mod == "" {
		t.Skipf("skipped: wasmtime-go's source (and its C headers) is not in the module cache: %v", err)
	}
	include := filepath.Join(mod, "build", "include")
	if _, err := os.Stat(filepath.Join(include, "wasmtime.h")); err != nil {
		t.Fatalf("wasmtime-go no longer has its C headers where this test looks: %v", err)
	}
	here, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	cc := []string{"cc"}
	if out, err := exec.Command("go", "env", "CC").Output(); err == nil && len(strings.Fields(string(out))) > 0 {
		cc = strings.Fields(string(out))
	}
	src := filepath.Join(t.TempDir(), "check.c")
	if err := os.WriteFile(src, []byte(declarationsCheck), 0o644); err != nil {
		t.Fatal(err)
	}
	args := append(cc[1:], "-fsyntax-only", "-Werror", "-I", include, "-I", here, src)
	if out, err := exec.Command(cc[0], args...).CombinedOutput(); err != nil {
		t.Fatalf("cshim.h does not match wasmtime's headers in %s (%s %s): %v\n%s",
			include, cc[0], strings.Join(args, " "), err, out)
	}
}
