package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bubblewasm/bubblewasm/internal/testbuild"
	"github.com/bubblewasm/bubblewasm/internal/wasmbin/wasmbintest"
)

func inspectJSON(t *testing.T, path string) Inspection {
	t.Helper()
	code, out := runCLI(t, "inspect", "--json", path)
	if code != exitOK {
		t.Fatalf("inspect --json %s: exit %d\n%s", path, code, out)
	}
	var in Inspection
	if err := json.Unmarshal([]byte(out), &in); err != nil {
		t.Fatalf("inspect --json output is not JSON: %v\n%s", err, out)
	}
	return in
}

func importModule(in Inspection, name string) *ImportModule {
	i := slices.IndexFunc(in.ImportModules, func(m ImportModule) bool { return m.Name == name })
	if i < 0 {
		return nil
	}
	return &in.ImportModules[i]
}

// TestInspectRepoModules inspects the repository's own modules: the WAT
// hello, a Go SDK module and the C CGI test program.
func TestInspectRepoModules(t *testing.T) {
	dir := t.TempDir()
	wat, err := os.ReadFile("../../modules/hello-wat/hello.wat")
	if err != nil {
		t.Fatal(err)
	}
	helloWat := buildWAT(t, dir, string(wat))

	t.Run("hello-wat text", func(t *testing.T) {
		code, out := runCLI(t, "inspect", helloWat)
		for _, want := range []string{
			"abi:       v1 (loadable by this host)",
			"bubblewasm_v1: the bubblewasm ABI v1",
			"    write (i32, i32) -> (i32)",
			"  func   bubble_handle () -> (i32)",
			"  memory memory",
			"0: initial 1 pages (64.0 KiB), no maximum; exported as memory",
		} {
			if code != exitOK || !strings.Contains(out, want) {
				t.Fatalf("exit %d; output lacks %q:\n%s", code, want, out)
			}
		}
	})

	t.Run("go module json", func(t *testing.T) {
		in := inspectJSON(t, testbuild.Module(t, "hello"))
		if in.ABI != "v1" || !in.Loadable || len(in.Problems) > 0 {
			t.Fatalf("abi %q loadable %v problems %v", in.ABI, in.Loadable, in.Problems)
		}
		core, wasi := importModule(in, "bubblewasm_v1"), importModule(in, "wasi_snapshot_preview1")
		if core == nil || core.Kind != "abi" || !core.Provided || wasi == nil || wasi.Kind != "wasi" || !wasi.Provided {
			t.Fatalf("import modules: %+v", in.ImportModules)
		}
		if i := slices.IndexFunc(core.Imports, func(f ImportInfo) bool { return f.Name == "env_all" }); i < 0 || core.Imports[i].Signature != "(i32, i32) -> (i32)" {
			t.Fatalf("bubblewasm_v1 imports: %+v", core.Imports)
		}
		if i := slices.IndexFunc(in.Exports, func(e ExportInfo) bool { return e.Name == "bubble_handle" }); i < 0 || in.Exports[i].Signature != "() -> (i32)" {
			t.Fatalf("exports: %+v", in.Exports)
		}
		if len(in.Memories) != 1 || in.Memories[0].MinPages == 0 || !slices.Equal(in.Memories[0].Exports, []string{"memory"}) {
			t.Fatalf("memories: %+v", in.Memories)
		}
		if len(in.Tables) != 1 || in.Tables[0].Type != "funcref" {
			t.Fatalf("tables: %+v", in.Tables)
		}
		if !slices.ContainsFunc(in.CustomSections, func(s CustomSectionIn) bool { return s.Name == "name" && s.Size > 0 }) {
			t.Fatalf("custom sections: %+v", in.CustomSections)
		}
		if st, _ := os.Stat(in.File); in.Size != st.Size() || in.Functions == 0 {
			t.Fatalf("size %d functions %d", in.Size, in.Functions)
		}
	})

	t.Run("C CGI program", func(t *testing.T) {
		out := filepath.Join(dir, "cgi.wasm")
		cmd := exec.Command("clang", "--target=wasm32-wasi", "-O2", "-o", out, "../../server/wasm/testdata/cgi/echo.c")
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s\n(Debian packages: clang lld wasi-libc libclang-rt-dev-wasm32)", cmd.Args, err, msg)
		}
		in := inspectJSON(t, out)
		if in.ABI != "cgi" || !in.Loadable || importModule(in, "bubblewasm_v1") != nil || importModule(in, "wasi_snapshot_preview1") == nil {
			t.Fatalf("%+v", in)
		}
	})
}

// TestInspectDetails covers what the repository's modules do not have: an
// extension import, imported tables and memories, limits with a maximum, a
// module that is not loadable.
func TestInspectDetails(t *testing.T) {
	dir := t.TempDir()
	mod := watAll(t, dir, `(module
  (import "bubblewasm_kv" "get" (func (param i32 i32) (result i32)))
  (import "host" "table" (table 2 10 funcref))
  (import "host" "g" (global i32))
  (memory (export "memory") (export "mem2") 2 16)
  (table 1 externref)
  (global (mut i32) (i32.const 0))
  (func (export "bubble_handle") (result i32) (i32.const 0)))`)
	// wabt 1.0.32 parses but drops @custom annotations: append the section.
	f, err := os.OpenFile(mod, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("\x00\x09\x05extraabc"))
	f.Close()
	in := inspectJSON(t, mod)
	if in.ABI != "v1" || in.Loadable || len(in.Problems) != 3 || !strings.Contains(in.Problems[2], "imports the global host.g, which this host does not provide") ||
		!strings.Contains(in.Problems[0], "bubblewasm_kv.get from a module this server does not provide") {
		t.Fatalf("abi %q loadable %v problems %q", in.ABI, in.Loadable, in.Problems)
	}
	kv, host := importModule(in, "bubblewasm_kv"), importModule(in, "host")
	if kv == nil || kv.Kind != "extension" || kv.Provided || host == nil || host.Kind != "unknown" ||
		len(host.Imports) != 2 || host.Imports[0].Kind != "table" || host.Imports[1].Kind != "global" {
		t.Fatalf("import modules: %+v", in.ImportModules)
	}
	if m := in.Memories; len(m) != 1 || m[0].MinPages != 2 || m[0].MaxPages == nil || *m[0].MaxPages != 16 || !slices.Equal(m[0].Exports, []string{"memory", "mem2"}) {
		t.Fatalf("memories: %+v", in.Memories)
	}
	if tb := in.Tables; len(tb) != 2 || !tb[0].Imported || tb[0].Min != 2 || tb[0].Max == nil || *tb[0].Max != 10 || tb[1].Type != "externref" || tb[1].Max != nil {
		t.Fatalf("tables: %+v", in.Tables)
	}
	if in.Globals != 1 || in.Functions != 1 {
		t.Fatalf("globals %d functions %d", in.Globals, in.Functions)
	}
	if cs := in.CustomSections; len(cs) != 1 || cs[0].Name != "extra" || cs[0].Size != 9 {
		t.Fatalf("custom sections: %+v", cs)
	}

	none := buildWAT(t, dir, `(module (func (export "run")))`)
	code, out := runCLI(t, "inspect", none)
	if code != exitOK || !strings.Contains(out, "abi:       unknown (not loadable: it exports neither bubble_handle") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}

// watAll is buildWAT with every wabt feature.
func watAll(t *testing.T, dir, src string) string {
	t.Helper()
	in, out := filepath.Join(dir, "all.wat"), filepath.Join(dir, "all.wasm")
	os.WriteFile(in, []byte(src), 0o644)
	if msg, err := exec.Command("wat2wasm", "--enable-all", in, "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm (Debian package wabt): %v\n%s", err, msg)
	}
	return out
}

func TestInspectErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(data), 0o644)
		return p
	}
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"junk", []string{"inspect", write("junk.wasm", "#!/bin/sh\necho hi\n")}, exitConfig, "junk.wasm: not a WebAssembly module: header at byte 0: no \\0asm magic number"},
		{"truncated", []string{"inspect", write("short.wasm", "\x00asm\x01\x00\x00\x00\x01\x80")}, exitConfig, "short.wasm: not a WebAssembly module"},
		{"invalid body", []string{"inspect", "--json", write("bad.wasm", "\x00asm\x01\x00\x00\x00\x0a\x01\x05")}, exitConfig, "bad.wasm: not a"},
		{"component", []string{"inspect", write("comp.wasm", "\x00asm\x0d\x00\x01\x00")}, exitConfig, "version 0d000100, want 1"},
		{"missing", []string{"inspect", filepath.Join(dir, "nope.wasm")}, exitConfig, "no such file"},
		{"no argument", []string{"inspect"}, exitUsage, "inspect takes one module"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out := runCLI(t, c.args...)
			if code != c.code || !strings.Contains(out, c.want) {
				t.Fatalf("exit %d, want %d; output must contain %q:\n%s", code, c.code, c.want, out)
			}
		})
	}
}

// TestInspectHostile inspects the count bombs and other hostile binaries:
// each gives a clear error naming the section and offset and exit code 3
// (wazero's decoder used to die of `fatal error: out of memory` on them),
// or, when only the name section is malformed, a description that shows it
// ignored.
func TestInspectHostile(t *testing.T) {
	dir := t.TempDir()
	for i, c := range wasmbintest.Hostile() {
		t.Run(c.Name, func(t *testing.T) {
			path := filepath.Join(dir, fmt.Sprintf("hostile%d.wasm", i))
			if err := os.WriteFile(path, c.Bin, 0o644); err != nil {
				t.Fatal(err)
			}
			code, out := runCLI(t, "inspect", path)
			switch {
			case c.Reader != "":
				if code != exitConfig || !strings.Contains(out, "not a WebAssembly module: ") || !strings.Contains(out, c.Reader) {
					t.Fatalf("exit %d, want %d and %q:\n%s", code, exitConfig, c.Reader, out)
				}
			case c.Names:
				if code != exitOK || !strings.Contains(out, "  name: ") || !strings.Contains(out, "(ignored: malformed: custom \"name\" section at byte ") {
					t.Fatalf("exit %d, want %d and the name section shown as ignored:\n%s", code, exitOK, out)
				}
			case strings.Contains(c.Load, "invalid module"):
				if code != exitConfig || !strings.Contains(out, "not a valid WebAssembly module: ") {
					t.Fatalf("exit %d, want %d and the engine's validation error:\n%s", code, exitConfig, out)
				}
			default:
				if code != exitOK || !strings.Contains(out, "not loadable") {
					t.Fatalf("exit %d, want %d and not loadable:\n%s", code, exitOK, out)
				}
			}
		})
	}
}

// TestInspectEmptyLastCustomSection inspects a valid handler whose last
// custom section is empty, which wazero's decoder refused (wasmtime and
// wabt accept it).
func TestInspectEmptyLastCustomSection(t *testing.T) {
	dir := t.TempDir()
	mod := buildWAT(t, dir, helloWAT)
	f, err := os.OpenFile(mod, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("\x00\x04\x03abc"))
	f.Close()
	code, out := runCLI(t, "inspect", mod)
	if code != exitOK || !strings.Contains(out, "(loadable by this host)") || !strings.Contains(out, "  abc: 4 bytes") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}

// An extension import is listed with the route key that grants it.
func TestInspectGrant(t *testing.T) {
	mod := watAll(t, t.TempDir(), `(module
  (import "bubblewasm_http_v1" "close" (func (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "bubble_handle") (result i32) (i32.const 0)))`)
	in := inspectJSON(t, mod)
	if m := importModule(in, "bubblewasm_http_v1"); m == nil || m.Kind != "extension" || !m.Provided || m.Grant != "outbound" {
		t.Fatalf("import modules: %+v", in.ImportModules)
	}
}
