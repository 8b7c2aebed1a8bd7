package main

import (
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/internal/testapp"

	"github.com/bubblewasm/bubblewasm/server/app"
	"github.com/bubblewasm/bubblewasm/server/config"
)

// serveConfig serves a config file as `bubblewasm run -c` would, on a free
// loopback port instead of its listeners, and returns the base URL.
func serveConfig(t *testing.T, file string) string {
	t.Helper()
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	addrs := testapp.Start(t, cfg, app.Options{Logger: slog.New(slog.DiscardHandler), Listen: []string{"tcp://127.0.0.1:0"}})
	return "http://" + strings.TrimPrefix(addrs[0].String(), "tcp://")
}

func httpGetBody(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: time.Minute}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// runSteps runs the shell commands `new` printed, from the directory it ran
// in, with `bubblewasm` being this test's in-process CLI: build and run
// steps are checked by the caller, the others run in sh.
func printedSteps(t *testing.T, out string) []string {
	t.Helper()
	_, after, ok := strings.Cut(out, "build and serve it:\n\n")
	if !ok {
		t.Fatalf("no commands printed:\n%s", out)
	}
	var steps []string
	for _, line := range strings.Split(strings.TrimSpace(after), "\n") {
		step, _, _ := strings.Cut(strings.TrimSpace(line), "#")
		steps = append(steps, strings.TrimSpace(step))
	}
	return steps
}

// TestNewRoundTrip scaffolds a project per language, builds it with the
// commands `new` printed (both `bubblewasm build` and the script) and
// serves it.
func TestNewRoundTrip(t *testing.T) {
	cases := []struct {
		lang, want string
		extra      func(t *testing.T, dir string)
	}{
		{"go", "Hello from greeter! You asked for /x\n", func(t *testing.T, dir string) {
			// The scaffold's own test runs on the SDK's in-memory host.
			cmd := exec.Command("go", "test", "./...")
			cmd.Dir = dir
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("go test in the scaffold: %v\n%s", err, msg)
			}
		}},
		{"tinygo", "Hello from greeter! You asked for /x\n", nil},
		{"c", "Hello from greeter! You asked for /x\n", nil},
		{"rust", "Hello from greeter! You asked for /x\n", nil},
		{"assemblyscript", "Hello from greeter! You asked for /x\n", nil},
	}
	for _, c := range cases {
		t.Run(c.lang, func(t *testing.T) { // not parallel: urfave/cli's run is not safe for concurrent use
			parent := t.TempDir()
			dir := filepath.Join(parent, "greeter")
			code, out := runCLI(t, "new", c.lang, dir)
			if code != exitOK || !strings.Contains(out, "created "+dir+" ("+c.lang+"): ") || !strings.Contains(out, "using the "+c.lang+" SDK of "+repoRoot(t)) {
				t.Fatalf("exit %d:\n%s", code, out)
			}
			steps := printedSteps(t, out)
			want := []string{"cd " + dir, "bubblewasm build", "bubblewasm run", "curl http://127.0.0.1:8080/"}
			if strings.Join(steps, "\n") != strings.Join(want, "\n") {
				t.Fatalf("printed steps %q, want %q", steps, want)
			}
			for _, f := range []string{"bubble.toml", "build.sh", "README.md", ".gitignore"} {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Fatal(err)
				}
			}
			// The alternative the output names: sh build.sh.
			cmd := exec.Command("sh", "build.sh")
			cmd.Dir = dir
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("sh build.sh: %v\n%s", err, msg)
			}
			isWasm(t, filepath.Join(dir, "greeter.wasm"))
			os.Remove(filepath.Join(dir, "greeter.wasm"))

			// `bubblewasm build` in the project (-c: the tests do not chdir).
			code, out = runCLI(t, "build", "-c", filepath.Join(dir, "bubble.toml"))
			if code != exitOK || !strings.Contains(out, "building route greeter ("+c.lang+")...") {
				t.Fatalf("build: exit %d\n%s", code, out)
			}
			if in := inspectJSON(t, filepath.Join(dir, "greeter.wasm")); in.ABI != "v1" || !in.Loadable {
				t.Fatalf("built module: abi %q, problems %q", in.ABI, in.Problems)
			}
			base := serveConfig(t, filepath.Join(dir, "bubble.toml"))
			if status, body := httpGetBody(t, base+"/x"); status != 200 || body != c.want {
				t.Fatalf("GET /x: %d %q, want 200 %q", status, body, c.want)
			}
			if c.extra != nil {
				c.extra(t, dir)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "full")
	os.MkdirAll(full, 0o755)
	os.WriteFile(filepath.Join(full, "x"), nil, 0o644)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no arguments", []string{"new"}, "new takes LANG and NAME"},
		{"unknown language", []string{"new", "cobol", filepath.Join(dir, "x")}, `unknown language "cobol" (have go`},
		{"bad name", []string{"new", "go", filepath.Join(dir, "1st")}, `project name "1st"`},
		{"not empty", []string{"new", "go", full}, full + " already exists and is not empty"},
		{"bad --sdk", []string{"new", "--sdk", dir, "go", filepath.Join(dir, "y")}, "not a bubblewasm source tree"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out := runCLI(t, c.args...)
			if code != exitUsage || !strings.Contains(out, c.want) {
				t.Fatalf("exit %d, want %d; output must contain %q:\n%s", code, exitUsage, c.want, out)
			}
		})
	}
}

// TestNewGoWithoutTree runs `new go` away from any source tree: a
// development build asks for --sdk, a release build requires its version.
func TestNewGoWithoutTree(t *testing.T) {
	exe, _ := os.Executable()
	if isSourceTree(filepath.Dir(exe)) {
		t.Skip("the test binary lives in the source tree")
	}
	t.Chdir(t.TempDir())
	code, out := runCLI(t, "new", "go", "a")
	if code != exitUsage || !strings.Contains(out, "pass --sdk PATH") {
		t.Fatalf("dev build: exit %d\n%s", code, out)
	}
	defer func(v string) { version = v }(version)
	version = "v1.2.3"
	code, out = runCLI(t, "new", "go", "b")
	gomod, _ := os.ReadFile(filepath.Join("b", "go.mod"))
	if code != exitOK || !strings.Contains(string(gomod), "require github.com/bubblewasm/bubblewasm v1.2.3\n") ||
		strings.Contains(string(gomod), "replace") || !strings.Contains(out, "  go mod tidy\n") {
		t.Fatalf("release build: exit %d\n%s\ngo.mod:\n%s", code, out, gomod)
	}
}
