package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// builtin = "static": root relative to the config file's directory, the
// dotfiles default, and hostile values named by file, line and key.
func TestRouteStatic(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "www"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "file.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	const static = "[[route]]\nbuiltin = \"static\"\n"
	for _, c := range []struct {
		name, body string
		root       string
		dotfiles   bool
		err        string
	}{
		{"relative root", static + "root = \"www\"\n", filepath.Join(dir, "www"), false, ""},
		{"absolute root", static + "root = \"" + filepath.Join(dir, "www") + "\"\n", filepath.Join(dir, "www"), false, ""},
		{"dotfiles", static + "root = \"www\"\ndotfiles = true\n", filepath.Join(dir, "www"), true, ""},
		{"dotfiles false", static + "root = \"www\"\ndotfiles = false\n", filepath.Join(dir, "www"), false, ""},
		{"no root", static, "", false, "bubble.toml:1: route[1].root: required key is missing"},
		{"missing root", static + "root = \"nowhere\"\n", "", false, "bubble.toml:3: route[1].root: stat " + filepath.Join(dir, "nowhere") + ": no such file or directory"},
		{"root is a file", static + "root = \"file.txt\"\n", "", false, "bubble.toml:3: route[1].root: " + filepath.Join(dir, "file.txt") + " is not a directory"},
		{"empty root", static + "root = \"\"\n", "", false, "bubble.toml:3: route[1].root: must not be empty"},
		{"root not a string", static + "root = 7\n", "", false, "bubble.toml:3: route[1].root: must be a string"},
		{"root with NUL", static + "root = \"www\\u0000\"\n", "", false, "bubble.toml:3: route[1].root: must not contain NUL"},
		{"dotfiles string", static + "root = \"www\"\ndotfiles = \"yes\"\n", "", false, "bubble.toml:4: route[1].dotfiles: must be true or false, not string"},
		{"dotfiles number", static + "root = \"www\"\ndotfiles = 1\n", "", false, "bubble.toml:4: route[1].dotfiles: must be true or false, not integer"},
		{"root with module", "[[route]]\nmodule = \"a.wasm\"\nroot = \"www\"\n", "", false, `bubble.toml:3: route[1].root: only valid with builtin = "static"`},
		{"dotfiles with module", "[[route]]\nmodule = \"a.wasm\"\ndotfiles = true\n", "", false, `bubble.toml:3: route[1].dotfiles: only valid with builtin = "static"`},
		{"root on longpoll", "[[route]]\nbuiltin = \"longpoll\"\nchannel = \"c\"\nroot = \"www\"\n", "", false, `bubble.toml:4: route[1].root: only valid with builtin = "static"`},
		{"static and module", static + "root = \"www\"\nmodule = \"a.wasm\"\n", "", false, "a route has one of module, transport or builtin, not module and builtin"},
		{"channel on static", static + "root = \"www\"\nchannel = \"c\"\n", "", false, `bubble.toml:4: route[1].channel: only valid with builtin = "longpoll"`},
		{"unknown key", static + "root = \"www\"\nindex = \"home.html\"\n", "", false, `bubble.toml:4: route[1].index: unknown key`},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Parse(filepath.Join(dir, "bubble.toml"), []byte(c.body))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			r := cfg.Routes[0]
			if r.Builtin != BuiltinStatic || r.Root != c.root || r.Dotfiles != c.dotfiles {
				t.Errorf("builtin %q root %q dotfiles %v, want static %q %v", r.Builtin, r.Root, r.Dotfiles, c.root, c.dotfiles)
			}
		})
	}
}
