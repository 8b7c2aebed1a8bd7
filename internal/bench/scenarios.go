package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// What the bench measures is data: a new lifecycle, module or engine is one
// line below.

// helloModule is a hello-world handler: each answers GET / with 200 and
// "Hello, world!\n", as the native baseline does.
type helloModule struct {
	name  string // the table's name for it
	short string // in scenario names and -only patterns
	file  string // in the modules directory (`make build` puts them there)
}

var helloModules = []helloModule{
	{"WAT hello", "wat", "hello-wat.wasm"},
	{"C hello", "c", "hello-c.wasm"},
	{"Rust hello", "rust", "hello-rust.wasm"},
	{"Go hello", "go", "hello.wasm"},
}

// engines are the values of a route's engine key.
var engines = []string{"wazero", "wasmtime"}

// lifecycles are the values of a route's instances key, in table order;
// "default" leaves the key out (the server's default lifecycle). A value
// the server under test does not know gets no figures, only a note.
var lifecycles = []string{"fresh", "pool", "snapshot"}

// scenario is one server the bench measures: native net/http, or a hello
// module on an engine in a lifecycle.
type scenario struct {
	module    helloModule // zero for native
	engine    string
	lifecycle string
}

func (s scenario) native() bool { return s.module.file == "" }

// key names the scenario in -only patterns and in progress lines:
// "native", "wat/wazero/pool", ...
func (s scenario) key() string {
	if s.native() {
		return "native"
	}
	return s.module.short + "/" + s.engine + "/" + s.lifecycle
}

// plan returns the scenarios whose keys match only (every one when only is
// nil), native first.
func plan(only *regexp.Regexp) []scenario {
	var out []scenario
	for _, m := range helloModules {
		for _, e := range engines {
			for _, l := range lifecycles {
				s := scenario{module: m, engine: e, lifecycle: l}
				if only == nil || only.MatchString(s.key()) {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// config writes the scenario's bubblewasm configuration into dir and
// returns its path: one listener on addr, one route serving the module.
func (s scenario) config(dir, modules, cacheDir, addr string) (string, error) {
	mod, err := filepath.Abs(filepath.Join(modules, s.module.file))
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(mod); err != nil {
		return "", fmt.Errorf("%w (run `make build` first)", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "engine = %q\ncache_dir = %q\nlog_level = \"warn\"\n\n", s.engine, cacheDir)
	fmt.Fprintf(&b, "[[listener]]\naddress = \"tcp://%s\"\n\n", addr)
	fmt.Fprintf(&b, "[[route]]\nmodule = %q\nmax_concurrency = 256\n", mod)
	if s.lifecycle != "default" {
		fmt.Fprintf(&b, "instances = %q\n", s.lifecycle)
	}
	path := filepath.Join(dir, strings.ReplaceAll(s.key(), "/", "-")+".toml")
	return path, os.WriteFile(path, []byte(b.String()), 0o644)
}
