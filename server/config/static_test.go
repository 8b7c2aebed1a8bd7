package config

import (
	"path/filepath"
	"strings"
	"testing"
)

// builtin = "static": root relative to the config file's directory (this
// package's, for Parse("bubble.toml")), the dotfiles default, and hostile
// values named by file, line and key.
func TestRouteStaticGood(t *testing.T) {
	const static = "[[route]]\nbuiltin = \"static\"\nroot = \"testdata\"\n"
	testdata := filepath.Join(wd(t), "testdata")
	root := func(c *Config) any { return []any{c.Routes[0].Builtin, c.Routes[0].Root, c.Routes[0].Dotfiles} }
	runGood(t, []goodCase{
		{"relative root", static, root, []any{BuiltinStatic, testdata, false}},
		{"absolute root", "[[route]]\nbuiltin = \"static\"\nroot = \"" + testdata + "\"\n", root, []any{BuiltinStatic, testdata, false}},
		{"dotfiles", static + "dotfiles = true\n", root, []any{BuiltinStatic, testdata, true}},
		{"dotfiles false", static + "dotfiles = false\n", root, []any{BuiltinStatic, testdata, false}},
	})
}

func TestRouteStaticBad(t *testing.T) {
	const static = "[[route]]\nbuiltin = \"static\"\n"
	const ok = static + "root = \"testdata\"\n"
	runBad(t, []badCase{
		{"no root", static, "bubble.toml:1: route[1].root: required key is missing"},
		{"missing root", static + "root = \"nowhere\"\n", "bubble.toml:3: route[1].root: stat " + filepath.Join(wd(t), "nowhere") + ": no such file or directory"},
		{"root is a file", static + "root = \"testdata/unknown_keys.toml\"\n", "bubble.toml:3: route[1].root: " + filepath.Join(wd(t), "testdata/unknown_keys.toml") + " is not a directory"},
		{"empty root", static + "root = \"\"\n", "bubble.toml:3: route[1].root: must not be empty"},
		{"root not a string", static + "root = 7\n", "bubble.toml:3: route[1].root: must be a string, not integer"},
		{"root with NUL", static + "root = \"testdata\\u0000\"\n", "bubble.toml:3: route[1].root: must not contain NUL"},
		{"dotfiles string", ok + "dotfiles = \"yes\"\n", "bubble.toml:4: route[1].dotfiles: must be true or false, not string"},
		{"dotfiles number", ok + "dotfiles = 1\n", "bubble.toml:4: route[1].dotfiles: must be true or false, not integer"},
		{"root with module", "[[route]]\nmodule = \"a.wasm\"\nroot = \"testdata\"\n", `bubble.toml:3: route[1].root: only valid with builtin = "static"`},
		{"dotfiles with module", "[[route]]\nmodule = \"a.wasm\"\ndotfiles = true\n", `bubble.toml:3: route[1].dotfiles: only valid with builtin = "static"`},
		{"root on longpoll", "[[route]]\nbuiltin = \"longpoll\"\nchannel = \"c\"\nroot = \"testdata\"\n", `bubble.toml:4: route[1].root: only valid with builtin = "static"`},
		{"static and module", ok + "module = \"a.wasm\"\n", "bubble.toml:2: route[1].builtin: a route has one of module, transport or builtin, not module and builtin"},
		{"channel on static", ok + "channel = \"c\"\n", `bubble.toml:4: route[1].channel: only valid with builtin = "longpoll"`},
		{"unknown key", ok + "index = \"home.html\"\n", "bubble.toml:4: route[1].index: unknown key (allowed: " + strings.Join(routeKeys, ", ") + ")"},
	})
}
