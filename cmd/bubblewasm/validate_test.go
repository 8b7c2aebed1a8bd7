package main

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// TestValidateBindsNothing validates a config whose listeners are taken
// (a held TCP port) or would be created (a unix socket): validate loads
// and compiles everything, succeeds, and binds neither, where run fails
// to bind (exit 4). Bad configs and modules exit as run does.
func TestValidateBindsNothing(t *testing.T) {
	dir := t.TempDir()
	mod := buildWAT(t, dir, helloWAT)
	junk := filepath.Join(dir, "junk.wasm")
	os.WriteFile(junk, []byte("\x00asm\x01\x00\x00\x00garbage"), 0o644)
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	sock := filepath.Join(dir, "v.sock")
	listeners := "[[listener]]\naddress = \"tcp://" + held.Addr().String() + "\"\n[[listener]]\naddress = \"unix://" + sock + "\"\n"
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o644)
		return p
	}
	good := write("bubble.toml", listeners+"[[route]]\nname = \"hello\"\nmodule = \"m.wasm\"\n")

	if code, out := runCLI(t, "run", "-c", good); code != exitListen {
		t.Fatalf("run: exit %d, want %d (the port is held):\n%s", code, exitListen, out)
	}
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"config", []string{"validate", "-c", good}, exitOK, good + ": ok: 1 route(s) loaded, nothing bound"},
		{"config after flags", []string{"validate", "--log-level", "debug", "-c", good}, exitOK, "ok: 1 route(s)"},
		{"module", []string{"validate", mod}, exitOK, "(command line): ok: 1 route(s) loaded"},
		{"module and --listen after it", []string{"validate", mod, "--listen", "tcp://" + held.Addr().String()}, exitOK, "ok"},
		{"bad module", []string{"validate", "-c", write("bad.toml", listeners+"[[route]]\nname = \"bad\"\nmodule = \"junk.wasm\"\n")}, exitConfig, "bad.toml:5: route bad: module " + junk},
		{"bad key", []string{"validate", "-c", write("key.toml", listeners+"[[route]]\nmodule = \"m.wasm\"\ntimout = \"1s\"\n")}, exitConfig, "key.toml:7: route[1].timout"},
		{"missing module", []string{"validate", filepath.Join(dir, "nope.wasm")}, exitConfig, "no such file"},
		{"missing module with a build command", []string{"validate", "-c", write("unbuilt.toml", listeners+"[[route]]\nname = \"later\"\nmodule = \"later.wasm\"\nbuild = \"true\"\n")}, exitConfig,
			"unbuilt.toml:5: route later: module " + filepath.Join(dir, "later.wasm") + ": file does not exist: run `bubblewasm build -c " + filepath.Join(dir, "unbuilt.toml") + "` first (the route's build command writes it)"},
		{"module and config", []string{"validate", "-c", good, mod}, exitUsage, "validate takes a module or --config, not both"},
		{"two modules", []string{"validate", mod, mod}, exitUsage, "validate takes one module, got 2 arguments"},
		{"unknown flag after the module", []string{"validate", mod, "--nope"}, exitUsage, "flag provided but not defined: -nope"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out := runCLI(t, tc.args...)
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Fatalf("exit %d, want %d; output must contain %q:\n%s", code, tc.code, tc.want, out)
			}
			if _, err := os.Lstat(sock); err == nil {
				t.Fatalf("validate created the unix socket %s", sock)
			}
		})
	}

	// Without -c or a module: bubble.toml in the working directory.
	t.Chdir(dir)
	if code, out := runCLI(t, "validate"); code != exitOK || !strings.Contains(out, "bubble.toml: ok") {
		t.Fatalf("validate in %s: exit %d:\n%s", dir, code, out)
	}
	t.Chdir(t.TempDir())
	if code, out := runCLI(t, "validate"); code != exitConfig || !strings.Contains(out, "bubble.toml: no such file") {
		t.Fatalf("validate without bubble.toml: exit %d:\n%s", code, out)
	}
}

// TestFlagsAfterArguments gives every command its flags after its
// arguments, as users type them.
func TestFlagsAfterArguments(t *testing.T) {
	dir := t.TempDir()
	mod := buildWAT(t, dir, helloWAT)
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()

	// run: --listen after the module is used (the port is held: exit 4).
	code, out := runCLI(t, "run", mod, "--listen", "tcp://"+held.Addr().String(), "--log-format", "json")
	if code != exitListen || !strings.Contains(out, "address already in use") {
		t.Fatalf("run MODULE --listen: exit %d, want %d:\n%s", code, exitListen, out)
	}
	code, out = runCLI(t, "run", mod, "--listen=tcp://"+held.Addr().String())
	if code != exitListen {
		t.Fatalf("run MODULE --listen=ADDR: exit %d, want %d:\n%s", code, exitListen, out)
	}
	code, out = runCLI(t, "run", mod, "--log-format", "yaml")
	if code != exitUsage || !strings.Contains(out, `--log-format: "yaml" is not text or json`) {
		t.Fatalf("run MODULE --log-format yaml: exit %d, want %d:\n%s", code, exitUsage, out)
	}

	// inspect: --json after the module.
	code, out = runCLI(t, "inspect", mod, "--json")
	var in Inspection
	if code != exitOK || json.Unmarshal([]byte(out), &in) != nil || in.ABI != "v1" {
		t.Fatalf("inspect MODULE --json: exit %d:\n%s", code, out)
	}

	// build: -n after -c's value; new: --sdk after the name.
	writeTree(t, dir, map[string]string{"b/bubble.toml": "[[route]]\nmodule = \"x.wasm\"\nbuild = \"true\"\n"})
	code, out = runCLI(t, "build", "-c", filepath.Join(dir, "b/bubble.toml"), "-n")
	if code != exitOK || !strings.Contains(out, "route route1 (sh): (cd ") {
		t.Fatalf("build -c FILE -n: exit %d:\n%s", code, out)
	}
	root := repoRoot(t)
	t.Chdir(dir)
	code, out = runCLI(t, "new", "c", "proj", "--sdk", root)
	if code != exitOK || !strings.Contains(readFile(filepath.Join(dir, "proj", "bubble.toml")), "module") {
		t.Fatalf("new LANG NAME --sdk: exit %d:\n%s", code, out)
	}

	// --help after an argument shows the command's help.
	code, out = runCLI(t, "run", mod, "--help")
	if code != exitOK || !strings.Contains(out, "bubblewasm run - serve a module") {
		t.Fatalf("run MODULE --help: exit %d:\n%s", code, out)
	}
}

func TestFlagsFirst(t *testing.T) {
	cmds := []*cli.Command{runCommand(), inspectCommand()}
	for _, tc := range []struct{ in, want string }{
		{"bubblewasm run m.wasm --listen A", "bubblewasm run --listen A m.wasm"},
		{"bubblewasm run m.wasm -l A -t line", "bubblewasm run -l A -t line m.wasm"},
		{"bubblewasm run m.wasm --listen=A", "bubblewasm run --listen=A m.wasm"},
		{"bubblewasm run --listen A m.wasm", "bubblewasm run --listen A m.wasm"},
		{"bubblewasm inspect m.wasm --json", "bubblewasm inspect --json m.wasm"},
		{"bubblewasm inspect m.wasm --json x.wasm", "bubblewasm inspect --json m.wasm x.wasm"}, // a bool flag takes no value
		{"bubblewasm run m.wasm --nope v", "bubblewasm run --nope m.wasm v"},                   // unknown: left to the parser
		{"bubblewasm run m.wasm -- --listen A", "bubblewasm run -- m.wasm --listen A"},         // after --: positional
		{"bubblewasm run m.wasm --listen", "bubblewasm run --listen m.wasm"},                   // a missing value: the parser says so
		{"bubblewasm run - --listen A", "bubblewasm run --listen A -"},
		{"bubblewasm --version", "bubblewasm --version"},
		{"bubblewasm -h run m.wasm -h", "bubblewasm -h run -h"},
		{"bubblewasm run m.wasm --help -- x", "bubblewasm run --help"},
		{"bubblewasm nope m.wasm --x", "bubblewasm nope m.wasm --x"},
	} {
		if got := strings.Join(flagsFirst(cmds, strings.Fields(tc.in)), " "); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}

func TestVersionFlag(t *testing.T) {
	_, want := runCLI(t, "version")
	for _, flag := range []string{"--version", "-v"} {
		code, out := runCLI(t, flag)
		if code != exitOK || out != want || !slices.Contains(strings.Fields(out), "bubblewasm") {
			t.Fatalf("%s: exit %d:\n%s\nwant:\n%s", flag, code, out, want)
		}
	}
	if code, out := runCLI(t, "nope"); code != exitUsage || !strings.Contains(out, `unknown command "nope"`) {
		t.Fatalf("unknown command: exit %d:\n%s", code, out)
	}
}
