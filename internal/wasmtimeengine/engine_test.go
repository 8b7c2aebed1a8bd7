//go:build cgo

package wasmtimeengine_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/internal/wasmtimeengine"
	"github.com/bubblewasm/bubblewasm/server/wasm"
)

func newEngine(t testing.TB, cacheDir string) wasm.Engine {
	t.Helper()
	e, err := wasmtimeengine.New(cacheDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(context.Background()) })
	return e
}

func compile(t testing.TB, e wasm.Engine, wat string, limits wasm.Limits) wasm.Module {
	t.Helper()
	m, err := e.Compile(context.Background(), testutil.WAT(t, wat), limits)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(context.Background()) })
	return m
}

func instantiate(t testing.TB, m wasm.Module, cfg wasm.InstanceConfig) wasm.Instance {
	t.Helper()
	if cfg.Init == nil {
		cfg.Init = &exchange{}
	}
	inst, err := m.Instantiate(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inst.Close(context.Background()) })
	return inst
}

// exchange is a minimal abi.Exchange.
type exchange struct {
	env map[string]string
	out bytes.Buffer
	mu  sync.Mutex
	log []string
}

func (x *exchange) Env(k string) (string, bool)         { v, ok := x.env[k]; return v, ok }
func (x *exchange) EnvKeys() []string                   { return nil }
func (x *exchange) Read([]byte) (int, error)            { return 0, io.EOF }
func (x *exchange) Write(p []byte) (int, error)         { return x.out.Write(p) }
func (x *exchange) Flush() error                        { return nil }
func (x *exchange) SetStatus(int) bool                  { return true }
func (x *exchange) SetHeader(_, _ string, _ bool) int32 { return 0 }
func (x *exchange) Log(_ slog.Level, msg string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.log = append(x.log, msg)
}

// spinWAT loops forever in bubble_handle, with env_get calls in the loop
// when the env has "host", and writes "done" first when it has "finite"
// (then it spins 2^28 turns and returns).
const spinWAT = `(module
  (import "bubblewasm_v1" "env_get" (func $env_get (param i32 i32 i32 i32) (result i32)))
  (import "bubblewasm_v1" "write" (func $write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "host")
  (data (i32.const 8) "finite")
  (data (i32.const 16) "done")
  (func (export "bubble_handle") (result i32)
    (local $i i32)
    (if (i32.ge_s (call $env_get (i32.const 8) (i32.const 6) (i32.const 64) (i32.const 0)) (i32.const 0))
      (then
        (loop $count
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $count (i32.lt_u (local.get $i) (i32.const 0x10000000))))
        (drop (call $write (i32.const 16) (i32.const 4)))
        (return (i32.const 0))))
    (if (i32.ge_s (call $env_get (i32.const 0) (i32.const 4) (i32.const 64) (i32.const 0)) (i32.const 0))
      (then (loop $host
        (drop (call $env_get (i32.const 0) (i32.const 4) (i32.const 64) (i32.const 0)))
        (br $host))))
    (loop $spin (br $spin))
    (i32.const 0)))`

// A guest that never returns stops promptly when its context ends, by
// deadline or by cancellation, with or without host calls in its loop, and
// the error says which.
func TestInterrupt(t *testing.T) {
	m := compile(t, newEngine(t, ""), spinWAT, wasm.Limits{})
	for _, variant := range []string{"spin", "host"} {
		t.Run(variant+"/deadline", func(t *testing.T) {
			inst := instantiate(t, m, wasm.InstanceConfig{})
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := inst.Handle(ctx, &exchange{env: map[string]string{variant: ""}})
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("got %v, want an error wrapping context.DeadlineExceeded", err)
			}
			if d := time.Since(start); d > time.Second {
				t.Fatalf("the guest stopped %s after a 100ms deadline", d)
			}
			t.Logf("stopped after %s: %v", time.Since(start), err)
		})
		t.Run(variant+"/cancel", func(t *testing.T) {
			inst := instantiate(t, m, wasm.InstanceConfig{})
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(100*time.Millisecond, cancel)
			start := time.Now()
			_, err := inst.Handle(ctx, &exchange{env: map[string]string{variant: ""}})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("got %v, want an error wrapping context.Canceled", err)
			}
			if d := time.Since(start); d > time.Second {
				t.Fatalf("the guest stopped %s after its context was cancelled at 100ms", d)
			}
		})
	}
	t.Run("done before the call", func(t *testing.T) {
		inst := instantiate(t, m, wasm.InstanceConfig{})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		x := &exchange{env: map[string]string{"finite": ""}}
		if _, err := inst.Handle(ctx, x); !errors.Is(err, context.Canceled) || x.out.Len() != 0 {
			t.Fatalf("got %v and output %q, want context.Canceled and no run", err, x.out.String())
		}
	})
	// Cancelling one call stops its store only: another instance of the
	// module, running at the same time on the same engine, finishes.
	t.Run("other stores run on", func(t *testing.T) {
		victim, other := instantiate(t, m, wasm.InstanceConfig{}), instantiate(t, m, wasm.InstanceConfig{})
		x := &exchange{env: map[string]string{"finite": ""}}
		var otherErr error
		var wg sync.WaitGroup
		wg.Go(func() { _, otherErr = other.Handle(context.Background(), x) })
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(20*time.Millisecond, cancel)
		if _, err := victim.Handle(ctx, &exchange{}); !errors.Is(err, context.Canceled) {
			t.Errorf("victim: %v", err)
		}
		wg.Wait()
		if otherErr != nil || x.out.String() != "done" {
			t.Fatalf("the other instance: %v, output %q", otherErr, x.out.String())
		}
	})
}

// A trap in a host function keeps the *abi.GuestError, and the message has
// a bounded wasm stack trace.
func TestHostErrorIsWrapped(t *testing.T) {
	m := compile(t, newEngine(t, ""), `(module
  (import "bubblewasm_v1" "write" (func $write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func $deep (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (call $write (i32.const 65535) (i32.const 2)))
      (else (call $deep (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "bubble_handle") (result i32) (call $deep (i32.const 100))))`, wasm.Limits{})
	inst := instantiate(t, m, wasm.InstanceConfig{})
	_, err := inst.Handle(context.Background(), &exchange{})
	var ge *abi.GuestError
	if !errors.As(err, &ge) || ge.Func != abi.FuncWrite {
		t.Fatalf("got %v, want a *abi.GuestError from write", err)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "guest error in bubblewasm_v1.write: range [65535, 65537) is outside guest memory of 65536 bytes\nwasm stack trace:\n\t") ||
		!strings.HasSuffix(msg, "more frames") || strings.Count(msg, "\n") > 33 {
		t.Fatalf("message:\n%s", msg)
	}
}

// Host functions work during the start section and initialization, and
// fail cleanly (no crash) when there is no exchange to serve.
func TestInitHostCalls(t *testing.T) {
	const wat = `(module
  (import "bubblewasm_v1" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "from start")
  (data (i32.const 16) "from init")
  (func $start (call $log (i32.const 0) (i32.const 0) (i32.const 10)))
  (start $start)
  (func (export "bubble_init") (result i32) (call $log (i32.const 0) (i32.const 16) (i32.const 9)) (i32.const 0))
  (func (export "bubble_handle") (result i32) (i32.const 0)))`
	m := compile(t, newEngine(t, ""), wat, wasm.Limits{})
	x := &exchange{}
	instantiate(t, m, wasm.InstanceConfig{Init: x})
	if strings.Join(x.log, "|") != "from start|from init" {
		t.Fatalf("init logs %q", x.log)
	}
	_, err := m.Instantiate(context.Background(), wasm.InstanceConfig{})
	if err == nil || !strings.Contains(err.Error(), "outside an exchange") {
		t.Fatalf("instantiate without an init exchange: %v", err)
	}
}

// WASI output reaches the writers during the call, from _initialize and
// from bubble_handle; other WASI functions work; a nil writer discards.
func TestWASIOutput(t *testing.T) {
	const wat = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "bubblewasm_v1" "write" (func $write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "init\n")
  (data (i32.const 200) "out\n")
  (data (i32.const 300) "err\n")
  (func $print (param $fd i32) (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "_initialize") (call $print (i32.const 1) (i32.const 100) (i32.const 5)))
  (func (export "bubble_handle") (result i32)
    (call $print (i32.const 1) (i32.const 200) (i32.const 4))
    (call $print (i32.const 2) (i32.const 300) (i32.const 4))
    (if (call $random_get (i32.const 400) (i32.const 16)) (then (unreachable)))
    (if (call $clock (i32.const 0) (i64.const 1) (i32.const 504)) (then (unreachable)))
    (if (i64.eqz (i64.load (i32.const 504))) (then (unreachable)))
    (drop (call $write (i32.const 400) (i32.const 16)))
    (i32.const 0)))`
	m := compile(t, newEngine(t, ""), wat, wasm.Limits{})
	var stdout, stderr bytes.Buffer
	inst := instantiate(t, m, wasm.InstanceConfig{Stdout: &stdout, Stderr: &stderr})
	if stdout.String() != "init\n" {
		t.Fatalf("stdout after instantiation: %q", stdout.String())
	}
	x := &exchange{}
	if code, err := inst.Handle(context.Background(), x); code != 0 || err != nil {
		t.Fatalf("Handle: %d, %v", code, err)
	}
	if stdout.String() != "init\nout\n" || stderr.String() != "err\n" {
		t.Fatalf("stdout %q, stderr %q", stdout.String(), stderr.String())
	}
	if bytes.Equal(x.out.Bytes(), make([]byte, 16)) {
		t.Fatal("random_get wrote zeros")
	}
	quiet := instantiate(t, m, wasm.InstanceConfig{})
	if code, err := quiet.Handle(context.Background(), &exchange{}); code != 0 || err != nil {
		t.Fatalf("Handle without writers: %d, %v", code, err)
	}
}

func TestGlobalAndMemorySize(t *testing.T) {
	m := compile(t, newEngine(t, ""), `(module
  (memory (export "memory") 2)
  (global (export "g32") (mut i32) (i32.const -2))
  (global (export "g64") i64 (i64.const 1234567890123))
  (func (export "bubble_handle") (result i32) (drop (memory.grow (i32.const 1))) (i32.const 0)))`, wasm.Limits{MemoryPages: 16})
	inst := instantiate(t, m, wasm.InstanceConfig{})
	if v, ok := inst.Global("g32"); !ok || v != 0xfffffffe {
		t.Errorf("g32 = %#x, %v", v, ok)
	}
	if v, ok := inst.Global("g64"); !ok || v != 1234567890123 {
		t.Errorf("g64 = %d, %v", v, ok)
	}
	if _, ok := inst.Global("memory"); ok {
		t.Error("a memory export read as a global")
	}
	if _, ok := inst.Global("nope"); ok {
		t.Error("a missing global was found")
	}
	if got := inst.MemorySize(); got != 2*65536 {
		t.Errorf("memory %d bytes, want 2 pages", got)
	}
	inst.Handle(context.Background(), &exchange{})
	if got := inst.MemorySize(); got != 3*65536 {
		t.Errorf("memory %d bytes after growing, want 3 pages", got)
	}
}

func TestCompileErrors(t *testing.T) {
	e := newEngine(t, "")
	_, err := e.Compile(context.Background(), testutil.WAT(t, `(module (memory (export "memory") 32))`), wasm.Limits{MemoryPages: 16})
	if err == nil || !strings.Contains(err.Error(), "min 32 pages (2 MiB) over limit of 16 pages (1 MiB)") {
		t.Errorf("initial memory over the cap: %v", err)
	}
	if _, err := e.Compile(context.Background(), []byte("\x00asm\x01\x00\x00\x00junk"), wasm.Limits{}); err == nil || strings.Contains(err.Error(), "\n") {
		t.Errorf("junk: %q, want a one-line error", err)
	}
	// Imports nobody provides fail at instantiation with a clear message.
	for wat, want := range map[string]string{
		`(module (import "env" "f" (func)) (memory (export "memory") 1) (func (export "bubble_handle") (result i32) (i32.const 0)))`:              "function env.f, which bubblewasm does not provide",
		`(module (import "env" "m" (memory 1)) (func (export "bubble_handle") (result i32) (i32.const 0)))`:                                       "memory env.m, which bubblewasm does not provide",
		`(module (import "bubblewasm_v1" "nope" (func)) (memory (export "memory") 1) (func (export "bubble_handle") (result i32) (i32.const 0)))`: "bubblewasm_v1.nope, which ABI v1 does not have",
	} {
		m := compile(t, e, wat, wasm.Limits{})
		if _, err := m.Instantiate(context.Background(), wasm.InstanceConfig{}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want %q", err, want)
		}
	}
}

// With a cache directory, compiled code lands in its wasmtime subdirectory
// and a second engine gets it from there.
func TestCompilationCache(t *testing.T) {
	dir := t.TempDir()
	const wat = `(module (memory (export "memory") 1) (func (export "bubble_handle") (result i32) (i32.const 7)))`
	for round := range 2 {
		m := compile(t, newEngine(t, dir), wat, wasm.Limits{})
		if code, err := instantiate(t, m, wasm.InstanceConfig{}).Handle(context.Background(), &exchange{}); code != 7 || err != nil {
			t.Fatalf("round %d: %d, %v", round, code, err)
		}
	}
	var files []string
	filepath.WalkDir(filepath.Join(dir, "wasmtime"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) == 0 {
		t.Fatal("nothing cached")
	}
	t.Logf("cache: %q", files)
}

// goCommand builds testdata/command for wasip1.
func goCommand(t *testing.T) []byte {
	out := filepath.Join(t.TempDir(), "command.wasm")
	cmd := exec.Command("go", "build", "-o", out, "./testdata/command")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the command: %v\n%s", err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// RunCommand behaves on wasmtime as on wazero: arguments, environment,
// streamed stdin, stdout, stderr and the exit status.
func TestRunCommandParity(t *testing.T) {
	bin := goCommand(t)
	input := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	type result struct {
		code           uint32
		stdout, stderr string
	}
	results := map[string]map[string]result{}
	for _, e := range testutil.Engines() {
		m, err := e.New(t).Compile(context.Background(), bin, wasm.Limits{MemoryPages: 1024})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close(context.Background())
		results[e.Name] = map[string]result{}
		for _, exit := range []string{"0", "3"} {
			var stdout, stderr bytes.Buffer
			code, err := wasm.RunCommand(context.Background(), m, wasm.InstanceConfig{
				Stdin:   &slowReader{r: bytes.NewReader(input)},
				Stdout:  &stdout,
				Stderr:  &stderr,
				Environ: []string{"EXIT=" + exit, "A=b=c"},
				Args:    []string{"prog", "x y"},
			})
			if err != nil {
				t.Fatalf("%s: %v", e.Name, err)
			}
			results[e.Name][exit] = result{code, stdout.String(), stderr.String()}
		}
	}
	for name, rs := range results {
		for exit, r := range rs {
			head, body, _ := strings.Cut(strings.TrimPrefix(r.stdout, "args=[\"prog\" \"x y\"]\n"), "\n")
			if r.code != map[string]uint32{"0": 0, "3": 3}[exit] || head != `env=["EXIT=`+exit+`" "A=b=c"]` ||
				body != string(input) || r.stderr != "copied 1048576 bytes, err <nil>\n" {
				t.Errorf("%s, EXIT=%s: code %d, stdout %.120q (%d bytes), stderr %q", name, exit, r.code, r.stdout, len(r.stdout), r.stderr)
			}
		}
	}
}

// slowReader returns at most 1000 bytes per read. (It never returns
// (0, nil): wazero takes that for the end of stdin, where this adapter
// reads again.)
type slowReader struct{ r io.Reader }

func (s *slowReader) Read(p []byte) (int, error) { return s.r.Read(p[:min(len(p), 1000)]) }

func TestRunCommandExitAndTimeout(t *testing.T) {
	e := newEngine(t, "")
	exit := compile(t, e, `(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") (call $exit (i32.const 42))))`, wasm.Limits{})
	if code, err := wasm.RunCommand(context.Background(), exit, wasm.InstanceConfig{}); code != 42 || err != nil {
		t.Errorf("proc_exit(42): %d, %v", code, err)
	}
	ret := compile(t, e, `(module (memory (export "memory") 1) (func (export "_start")))`, wasm.Limits{})
	if code, err := wasm.RunCommand(context.Background(), ret, wasm.InstanceConfig{}); code != 0 || err != nil {
		t.Errorf("_start returns: %d, %v", code, err)
	}
	trap := compile(t, e, `(module (memory (export "memory") 1) (func (export "_start") (unreachable)))`, wasm.Limits{})
	if _, err := wasm.RunCommand(context.Background(), trap, wasm.InstanceConfig{}); err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("trap: %v", err)
	}
	spin := compile(t, e, `(module (memory (export "memory") 1) (func (export "_start") (loop $l (br $l))))`, wasm.Limits{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := wasm.RunCommand(ctx, spin, wasm.InstanceConfig{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("infinite loop: %v", err)
	}
}

// A runaway recursion traps at wasmtime's native stack limit, which the
// message names.
func TestStackOverflow(t *testing.T) {
	m := compile(t, newEngine(t, ""), `(module
  (memory (export "memory") 1)
  (func $down (param i64) (result i64) (i64.add (call $down (local.get 0)) (i64.const 1)))
  (func (export "bubble_handle") (result i32) (i32.wrap_i64 (call $down (i64.const 0)))))`, wasm.Limits{})
	_, err := instantiate(t, m, wasm.InstanceConfig{}).Handle(context.Background(), &exchange{})
	want := fmt.Sprintf("call stack exhausted (wasmtime's native stack limit of %d KiB)\nwasm stack trace:", wasmtimeengine.MaxWasmStack()>>10)
	if err == nil || !strings.Contains(err.Error(), want) || len(err.Error()) > 4096 {
		t.Fatalf("got %.300v, want %q", err, want)
	}
}

// The first instances of a new engine, made at once on every core (routes
// load in parallel), share the engine's host function types: the C API
// fills a type's lists lazily in a cell that is not safe for threads, and
// a race there aborted the process ("reentrant init"). Each round is a new
// engine, so every round races on first use.
func TestFirstInstancesAtOnce(t *testing.T) {
	const wat = `(module
  (import "bubblewasm_v1" "env_get" (func (param i32 i32 i32 i32) (result i32)))
  (import "bubblewasm_v1" "env_keys" (func (param i32 i32) (result i32)))
  (import "bubblewasm_v1" "env_all" (func (param i32 i32) (result i32)))
  (import "bubblewasm_v1" "read" (func (param i32 i32) (result i32)))
  (import "bubblewasm_v1" "write" (func (param i32 i32) (result i32)))
  (import "bubblewasm_v1" "log" (func (param i32 i32 i32)))
  (memory (export "memory") 1)
  (func (export "bubble_handle") (result i32) (i32.const 0)))`
	bin := testutil.WAT(t, wat)
	for range 30 {
		e := newEngine(t, "")
		mods := make([]wasm.Module, 8)
		for i := range mods {
			m, err := e.Compile(context.Background(), bin, wasm.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			mods[i] = m
		}
		start := make(chan struct{})
		var wg sync.WaitGroup
		errs := make(chan error, len(mods))
		for _, m := range mods {
			wg.Go(func() {
				<-start
				inst, err := m.Instantiate(context.Background(), wasm.InstanceConfig{Init: &exchange{}})
				if err != nil {
					errs <- err
					return
				}
				inst.Close(context.Background())
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		for _, m := range mods {
			m.Close(context.Background())
		}
	}
}
