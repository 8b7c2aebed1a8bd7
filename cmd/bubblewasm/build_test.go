package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// repoRoot is the bubblewasm source tree (the tests run in cmd/bubblewasm).
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// writeTree writes files (path -> content) under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func isWasm(t *testing.T, p string) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil || !bytes.HasPrefix(b, []byte("\x00asm")) {
		t.Fatalf("%s is not a built module: %v", p, err)
	}
}

// goHandler is the source of a Go SDK handler module named name (go.mod,
// handler.go) that builds against this source tree.
func goHandler(t *testing.T, name string) map[string]string {
	root := repoRoot(t)
	return map[string]string{
		"go.mod":     "module " + name + "\n\ngo " + goVersion(root) + "\n\nrequire github.com/bubblewasm/bubblewasm v0.0.0\n\nreplace github.com/bubblewasm/bubblewasm => " + root + "\n",
		"handler.go": "package main\n\nimport bubble \"github.com/bubblewasm/bubblewasm/guest-sdk/go\"\n\nfunc init() {\n\tbubble.Handle(func(*bubble.Request) *bubble.Response { return &bubble.Response{Body: []byte(\"go\\n\")} })\n}\n\nfunc main() {}\n",
	}
}

const watHandler = `(module
  (import "bubblewasm_v1" "write" (func $write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "hi\n")
  (func (export "bubble_handle") (result i32) (drop (call $write (i32.const 0) (i32.const 3))) (i32.const 0)))`

// TestBuildEveryRecipe builds one config whose routes use every recipe of
// the convention, each with its own toolchain.
func TestBuildEveryRecipe(t *testing.T) {
	t.Setenv("RUSTC", "/usr/bin/rustc") // Debian's; a rustup rustc on PATH may lack wasm32-wasi
	cgi, err := os.ReadFile("../../server/wasm/testdata/cgi/echo.c")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := os.ReadFile("../../server/wasm/testdata/cgi/echo.rs")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"bubble.toml": `
[[route]]
name = "prebuilt"
module = "vendor/prebuilt.wasm"
[[route]]
name = "wat"
module = "out/hello.wasm"
[[route]]
name = "wat2"
module = "out/hello.wasm"
[[route]]
name = "cgi"
module = "cgi.wasm"
[[route]]
name = "rust"
module = "rs.wasm"
[[route]]
name = "custom"
module = "out/custom.wasm"
build = "wat2wasm src/custom.wat -o \"$OUT\""
[[route]]
name = "script"
module = "script.wasm"
[[route]]
name = "gohello"
module = "gohello.wasm"
`,
		"out/hello.wat":   watHandler,
		"cgi.c":           string(cgi),
		"rs.rs":           string(rs),
		"src/custom.wat":  watHandler,
		"script/build.sh": "set -e\nwat2wasm m.wat -o \"$1\"\n",
		"script/m.wat":    watHandler,
	})
	writeTree(t, filepath.Join(dir, "gohello"), goHandler(t, "gohello"))
	cfg := filepath.Join(dir, "bubble.toml")

	code, out := runCLI(t, "build", "--dry-run", "-c", cfg)
	if code != exitOK || !strings.Contains(out, "[6/6] route gohello (go): (cd "+filepath.Join(dir, "gohello")+" && GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -o "+filepath.Join(dir, "gohello.wasm")+" .)") {
		t.Fatalf("dry run: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "cgi.wasm")); err == nil {
		t.Fatal("--dry-run built something")
	}

	code, out = runCLI(t, "build", "-c", cfg)
	want := []string{
		"route prebuilt: no build recipe for " + filepath.Join(dir, "vendor/prebuilt.wasm") + "; skipped",
		"[1/6] building routes wat, wat2 (wat)...",
		"[2/6] building route cgi (c)...",
		"[3/6] building route rust (rust)...",
		"[4/6] building route custom (wat)...",
		"[5/6] building route script (wat)...",
		"[6/6] building route gohello (go)...",
		"built 6 module(s)",
	}
	if code != exitOK || strings.TrimSpace(out) != strings.Join(want, "\n") {
		t.Fatalf("exit %d; output:\n%s\nwant:\n%s", code, out, strings.Join(want, "\n"))
	}
	for _, m := range []string{"out/hello.wasm", "cgi.wasm", "rs.wasm", "out/custom.wasm", "script.wasm", "gohello.wasm"} {
		isWasm(t, filepath.Join(dir, m))
	}
	if in := inspectJSON(t, filepath.Join(dir, "cgi.wasm")); in.ABI != "cgi" {
		t.Fatalf("cgi.wasm: abi %q", in.ABI)
	}
	if in := inspectJSON(t, filepath.Join(dir, "gohello.wasm")); in.ABI != "v1" || !in.Loadable {
		t.Fatalf("gohello.wasm: abi %q %v", in.ABI, in.Problems)
	}

	// One route: no [i/n] counter.
	code, out = runCLI(t, "build", "-c", cfg, "--route", "custom")
	if code != exitOK || !strings.HasPrefix(out, "building route custom (wat)...\n") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}

func TestBuildFailures(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"bubble.toml":    "[[route]]\nname = \"ok\"\nmodule = \"ok.wasm\"\n[[route]]\nname = \"broken\"\nmodule = \"broken.wasm\"\n",
		"ok.wat":         watHandler,
		"broken.c":       "int main(void) { return missing_function(; }\n",
		"none.toml":      "[[route]]\nmodule = \"elsewhere/x.wasm\"\n",
		"silent.toml":    "[[route]]\nname = \"silent\"\nmodule = \"never.wasm\"\nbuild = \"true\"\n",
		"badconfig.toml": "[[route]]\nmodule = \"x.wasm\"\nbuild = 1\n",
	})
	cfg := filepath.Join(dir, "bubble.toml")
	cases := []struct {
		name string
		env  map[string]string
		args []string
		code int
		want []string
	}{
		{"compile error", nil, []string{"build", "-c", cfg}, exitConfig, []string{
			"[1/2] building route ok (wat)...", "[2/2] building route broken (c)...",
			"$ (cd " + dir + " && clang --target=wasm32-wasi -O2 -o " + filepath.Join(dir, "broken.wasm") + " broken.c)",
			"broken.c:1:", "error:", "bubblewasm: route broken: building " + filepath.Join(dir, "broken.wasm") + " failed: exit status 1"}},
		{"missing toolchain", map[string]string{"WASI_CC": "/nonexistent/clang"}, []string{"build", "-c", cfg, "-r", "broken"}, exitConfig, []string{
			"route broken: /nonexistent/clang not found on PATH (Debian: apt-get install clang lld wasi-libc libclang-rt-dev-wasm32)"}},
		{"recipe writes nothing", nil, []string{"build", "-c", filepath.Join(dir, "silent.toml")}, exitConfig, []string{
			"route silent: the recipe succeeded but did not write " + filepath.Join(dir, "never.wasm")}},
		{"nothing to build", nil, []string{"build", "-c", filepath.Join(dir, "none.toml")}, exitOK, []string{
			"route route1: no build recipe for", "nothing to build: no route of"}},
		{"unknown route", nil, []string{"build", "-c", cfg, "--route", "nope"}, exitUsage, []string{`has no route "nope"`}},
		{"arguments", nil, []string{"build", "x.toml"}, exitUsage, []string{"build takes no arguments (use -c FILE)"}},
		{"missing config", nil, []string{"build", "-c", filepath.Join(dir, "nope.toml")}, exitConfig, []string{"no such file"}},
		{"bad config", nil, []string{"build", "-c", filepath.Join(dir, "badconfig.toml")}, exitConfig, []string{"badconfig.toml:3: route[1].build: must be a string, not integer"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			code, out := runCLI(t, c.args...)
			for _, w := range c.want {
				if code != c.code || !strings.Contains(out, w) {
					t.Fatalf("exit %d, want %d; output must contain %q:\n%s", code, c.code, w, out)
				}
			}
		})
	}
}

// TestBuildNeverOverwritesSource reproduces a route whose module named its
// C source by mistake: once build wrote wasm over hello.c. Now the config
// is refused, and a file named .wasm that holds no module is not written.
func TestBuildNeverOverwritesSource(t *testing.T) {
	cSource := "int main(void) { return 0; }\n"
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"source.toml":    "[[route]]\nname = \"hello\"\nmodule = \"hello/hello.c\"\n",
		"hello/hello.c":  cSource,
		"hello/build.sh": "set -e\nclang --target=wasm32-wasi -O2 -o \"$1\" hello.c\n",
		"recipe.toml":    "[[route]]\nname = \"named\"\nmodule = \"named.wasm\"\nbuild = \"wat2wasm m.wat -o \\\"$OUT\\\"\"\n",
		"named.wasm":     cSource, // a source file given a .wasm name
		"m.wat":          watHandler,
		"empty.toml":     "[[route]]\nname = \"empty\"\nmodule = \"empty.wasm\"\nbuild = \"wat2wasm m.wat -o \\\"$OUT\\\"\"\n",
		"empty.wasm":     "",
		"dir.toml":       "[[route]]\nname = \"dir\"\nmodule = \"dir.wasm\"\nbuild = \"true\"\n",
		"dir.wasm/x":     "",
	})
	unchanged := func(p string) {
		t.Helper()
		if b, err := os.ReadFile(filepath.Join(dir, p)); err != nil || string(b) != cSource {
			t.Fatalf("%s was changed (%v):\n%q", p, err, b)
		}
	}
	for _, args := range [][]string{{"build", "-c", filepath.Join(dir, "source.toml")}, {"build", "-n", "-c", filepath.Join(dir, "source.toml")}} {
		code, out := runCLI(t, args...)
		if want := `source.toml:3: route[1].module: "hello/hello.c" does not end in .wasm`; code != exitConfig || !strings.Contains(out, want) {
			t.Fatalf("%q: exit %d, want %d and %q:\n%s", args, code, exitConfig, want, out)
		}
		unchanged("hello/hello.c")
	}

	code, out := runCLI(t, "build", "-c", filepath.Join(dir, "recipe.toml"))
	want := "route named: " + filepath.Join(dir, "named.wasm") + " exists and is not a wasm module (it does not start with \\0asm); refusing to overwrite it"
	if code != exitConfig || !strings.Contains(out, want) || strings.Contains(out, "building") {
		t.Fatalf("exit %d, want %d and %q before any build:\n%s", code, exitConfig, want, out)
	}
	unchanged("named.wasm")

	code, out = runCLI(t, "build", "-c", filepath.Join(dir, "dir.toml"))
	if want := "route dir: " + filepath.Join(dir, "dir.wasm") + " is a directory"; code != exitConfig || !strings.Contains(out, want) {
		t.Fatalf("exit %d, want %d and %q:\n%s", code, exitConfig, want, out)
	}

	// An empty file (an interrupted build) and a module are rebuilt.
	for range 2 {
		if code, out := runCLI(t, "build", "-c", filepath.Join(dir, "empty.toml")); code != exitOK {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		isWasm(t, filepath.Join(dir, "empty.wasm"))
	}
}
