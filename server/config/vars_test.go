package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// secretValue is in every hostile case below: no error may show it.
const secretValue = "s3cr3t-VALUE"

// varsDir writes the files the cases read and returns the directory.
func varsDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"plain":    secretValue,
		"newline":  secretValue + "\n",
		"crlf":     secretValue + "\r\n",
		"twolines": secretValue + "\n\n",
		"max":      strings.Repeat("x", MaxVarBytes) + "\n",
		"huge":     strings.Repeat(secretValue, MaxVarBytes/len(secretValue)+1),
		"nul":      secretValue + "\x00",
		"half":     strings.Repeat("h", MaxVarBytes-len(secretValue)),
	}
	for name, s := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "unreadable"), []byte(secretValue), 0o000); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func parseVars(t *testing.T, dir, src string) (*Config, error) {
	t.Helper()
	env := map[string]string{"DB_PASSWORD": secretValue, "EMPTY": ""}
	return ParseWith(filepath.Join(dir, "bubble.toml"), []byte(src), Options{
		LookupEnv: func(name string) (string, bool) { v, ok := env[name]; return v, ok },
	})
}

// TestRouteVars: literals, environment variables and files resolved at
// load, under each form TOML allows.
func TestRouteVars(t *testing.T) {
	dir := varsDir(t)
	for _, c := range []struct {
		name, src string
		want      map[string]wasm.Secret
	}{
		{"none", route1, nil},
		{"empty table", route1 + "[route.vars]\n", map[string]wasm.Secret{}},
		{"all sources", route1 + "[route.vars]\ngreeting = \"hello\"\ndb_password = { env = \"DB_PASSWORD\" }\napi_key = { file = \"plain\" }\nempty = { env = \"EMPTY\" }\n",
			map[string]wasm.Secret{"greeting": "hello", "db_password": secretValue, "api_key": secretValue, "empty": ""}},
		{"inline", route1 + "vars = { a = \"1\", b = { file = \"newline\" } }\n", map[string]wasm.Secret{"a": "1", "b": secretValue}},
		{"dotted", route1 + "vars.a = \"1\"\nvars.b.env = \"DB_PASSWORD\"\n", map[string]wasm.Secret{"a": "1", "b": secretValue}},
		{"crlf trimmed", route1 + "vars.a.file = \"crlf\"\n", map[string]wasm.Secret{"a": secretValue}},
		{"one newline trimmed", route1 + "vars.a.file = \"twolines\"\n", map[string]wasm.Secret{"a": secretValue + "\n"}},
		{"absolute path", route1 + fmt.Sprintf("vars.a.file = %q\n", filepath.Join(dir, "plain")), map[string]wasm.Secret{"a": secretValue}},
		{"largest file", route1 + "vars.a.file = \"max\"\n", map[string]wasm.Secret{"a": wasm.Secret(strings.Repeat("x", MaxVarBytes))}},
		{"longest name", route1 + "vars." + strings.Repeat("n", MaxVarNameBytes) + " = \"x\"\n", map[string]wasm.Secret{strings.Repeat("n", MaxVarNameBytes): "x"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := parseVars(t, dir, c.src)
			if err != nil {
				t.Fatal(err)
			}
			got := cfg.Routes[0].Vars
			if len(got) != len(c.want) || (got == nil) != (c.want == nil) {
				t.Fatalf("Vars has %d entries (nil %v), want %d", len(got), got == nil, len(c.want))
			}
			for k, v := range c.want {
				if got[k] != v {
					t.Errorf("Vars[%s] differs (%d bytes, want %d)", k, len(got[k]), len(v))
				}
			}
		})
	}
}

// TestRouteVarsHostile: every problem is FILE:LINE: KEY and names the
// variable, never its value.
func TestRouteVarsHostile(t *testing.T) {
	dir := varsDir(t)
	many := route1 + "[route.vars]\n"
	for i := range MaxVars + 1 {
		many += fmt.Sprintf("v%d = \"x\"\n", i)
	}
	total := route1 + "[route.vars]\n"
	for i := range MaxVarsBytes/MaxVarBytes + 1 {
		total += fmt.Sprintf("v%d.file = \"half\"\nw%d = %q\n", i, i, secretValue)
	}
	file := filepath.Join(dir, "bubble.toml")
	for _, c := range []struct{ name, src, want string }{
		{"missing env", route1 + "[route.vars]\ndb = { env = \"NOT_SET\" }\n", ":4: route[1].vars.db.env: environment variable NOT_SET is not set"},
		{"missing file", route1 + "vars.key.file = \"nope\"\n", ":3: route[1].vars.key.file: stat " + filepath.Join(dir, "nope") + ": no such file or directory"},
		{"directory", route1 + "vars.key.file = \".\"\n", ":3: route[1].vars.key.file: " + dir + ": not a regular file"},
		{"fifo", route1 + "vars.key.file = \"fifo\"\n", ":3: route[1].vars.key.file: " + filepath.Join(dir, "fifo") + ": not a regular file"},
		{"device", route1 + "vars.key.file = \"/dev/zero\"\n", ":3: route[1].vars.key.file: /dev/zero: not a regular file"},
		{"read fails", route1 + "vars.key.file = \"/proc/self/mem\"\n", ":3: route[1].vars.key.file: reading /proc/self/mem: read /proc/self/mem: input/output error"},
		{"huge file", route1 + "vars.key.file = \"huge\"\n", ":3: route[1].vars.key.file: " + filepath.Join(dir, "huge") + " is larger than 64KiB"},
		{"NUL in file", route1 + "vars.key.file = \"nul\"\n", ":3: route[1].vars.key: the value contains a NUL byte"},
		{"NUL literal", route1 + "vars.key = \"" + secretValue + "\\u0000\"\n", ":3: route[1].vars.key: the value contains a NUL byte"},
		{"huge literal", route1 + "vars.key = \"" + strings.Repeat(secretValue, MaxVarBytes/len(secretValue)+1) + "\"\n", ":3: route[1].vars.key: the value is 65544B, at most 64KiB"},
		{"upper case name", route1 + "vars.DB_PASSWORD = \"" + secretValue + "\"\n", ":3: route[1].vars.DB_PASSWORD: invalid variable name: want a lower-case letter, then lower-case letters, digits or '_'"},
		{"dotted name", route1 + "vars.\"a.b\" = \"" + secretValue + "\"\n", ":3: route[1].vars.\"a.b\": invalid variable name"},
		{"empty name", route1 + "vars.\"\" = \"" + secretValue + "\"\n", ":3: route[1].vars.\"\": invalid variable name: want 1 to 64 bytes"},
		{"long name", route1 + "vars." + strings.Repeat("n", MaxVarNameBytes+1) + " = \"x\"\n", ":3: route[1].vars." + strings.Repeat("n", MaxVarNameBytes+1) + ": invalid variable name: want 1 to 64 bytes"},
		{"CGI name", route1 + "vars.path_info = \"" + secretValue + "\"\n", ":3: route[1].vars.path_info: invalid variable name: PATH_INFO is a CGI meta-variable"},
		{"header name", route1 + "vars.http_proxy = \"" + secretValue + "\"\n", ":3: route[1].vars.http_proxy: invalid variable name: HTTP_PROXY would pass for a request header (HTTP_*)"},
		{"host name", route1 + "vars.bubble_route = \"x\"\n", ":3: route[1].vars.bubble_route: invalid variable name: BUBBLE_ROUTE would pass for a host key (bubble.*)"},
		{"integer", route1 + "vars.n = 42\n", ":3: route[1].vars.n: must be a string, { env = \"NAME\" } or { file = \"PATH\" }, not integer"},
		{"array", route1 + "vars.n = [\"" + secretValue + "\"]\n", ":3: route[1].vars.n: must be a string, { env = \"NAME\" } or { file = \"PATH\" }, not array"},
		{"not a table", route1 + "vars = \"" + secretValue + "\"\n", ":3: route[1].vars: must be a table of name = \"value\", { env = \"NAME\" } or { file = \"PATH\" }, not string"},
		{"both sources", route1 + "vars.n = { env = \"DB_PASSWORD\", file = \"plain\" }\n", ":3: route[1].vars.n: want exactly one of env or file, got 2"},
		{"no source", route1 + "vars.n = {}\n", ":3: route[1].vars.n: want exactly one of env or file, got 0"},
		{"unknown source", route1 + "vars.n = { value = \"" + secretValue + "\" }\n", ":3: route[1].vars.n.value: unknown key (allowed: env, file)"},
		{"env not a string", route1 + "vars.n = { env = 1 }\n", ":3: route[1].vars.n.env: must be a string, not integer"},
		{"env empty", route1 + "vars.n = { env = \"\" }\n", ":3: route[1].vars.n.env: must not be empty"},
		{"env with =", route1 + "vars.n = { env = \"A=B\" }\n", ":3: route[1].vars.n.env: invalid environment variable name \"A=B\""},
		{"file empty", route1 + "vars.n = { file = \"\" }\n", ":3: route[1].vars.n.file: must not be empty"},
		{"file NUL", route1 + "vars.n = { file = \"a\\u0000b\" }\n", ":3: route[1].vars.n.file: must not contain NUL"},
		{"transport route", "[[route]]\ntransport = \"jsonrpc\"\nvars.a = \"" + secretValue + "\"\n", ":3: route[1].vars: only valid on a route with a module"},
		{"too many", many, ":3: route[1].vars: 257 variables, at most 256"},
		{"too much", total, ":3: route[1].vars: the values total 1088KiB, at most 1MiB"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseVars(t, dir, c.src)
			if err == nil || !strings.Contains(err.Error(), file+c.want) {
				t.Fatalf("error %v\nwant %q", err, file+c.want)
			}
			if strings.Contains(err.Error(), secretValue) {
				t.Errorf("the error shows a value: %v", err)
			}
		})
	}
}

// TestRouteVarsSyntax: TOML's own errors about a vars table (a name given
// twice, a broken value) keep the value out too.
func TestRouteVarsSyntax(t *testing.T) {
	for _, src := range []string{
		route1 + "[route.vars]\ndb = \"" + secretValue + "\"\ndb = \"" + secretValue + "\"\n",
		route1 + "[route.vars]\ndb = { env = \"DB_PASSWORD\" }\ndb = \"" + secretValue + "\"\n",
		route1 + "[route.vars]\ndb = \"" + secretValue + "\n",
		route1 + "[route.vars]\ndb = \"" + secretValue + "\" x\n",
		route1 + "[route.vars]\ndb = '''" + secretValue + "\n",
		route1 + "[route.vars]\ndb = \"" + secretValue + "\\q\"\n",
		route1 + "[route.vars]\ndb = " + secretValue + "\n",
	} {
		_, err := Parse("bubble.toml", []byte(src))
		if err == nil {
			t.Errorf("no error for:\n%s", src)
			continue
		}
		if !strings.HasPrefix(err.Error(), "bubble.toml:") {
			t.Errorf("error %q names no file", err)
		}
		if strings.Contains(err.Error(), secretValue) {
			t.Errorf("the error shows the value: %v", err)
		}
	}
}

// TestRouteVarsProcessEnv reads the process's environment by default, and
// SkipVarSources (bubblewasm build) reads neither it nor files.
func TestRouteVarsProcessEnv(t *testing.T) {
	t.Setenv("BUBBLEWASM_TEST_SECRET", secretValue)
	src := route1 + "[route.vars]\na = { env = \"BUBBLEWASM_TEST_SECRET\" }\n"
	cfg, err := Parse("bubble.toml", []byte(src))
	if err != nil || cfg.Routes[0].Vars["a"] != secretValue {
		t.Fatalf("err %v, value found %v", err, err == nil && cfg.Routes[0].Vars["a"] == secretValue)
	}
	src += "b = { env = \"BUBBLEWASM_TEST_UNSET\" }\nc = { file = \"/nonexistent/secret\" }\n"
	if _, err := Parse("bubble.toml", []byte(src)); err == nil {
		t.Fatal("unset variable and missing file accepted")
	}
	cfg, err = ParseWith("bubble.toml", []byte(src), Options{SkipVarSources: true})
	if err != nil {
		t.Fatal(err)
	}
	if v := cfg.Routes[0].Vars; len(v) != 3 || v["a"] != "" || v["b"] != "" || v["c"] != "" {
		t.Errorf("SkipVarSources: %d vars, values %q %q %q", len(v), v["a"], v["b"], v["c"])
	}
	if _, err := ParseWith("bubble.toml", []byte(route1+"vars.Bad = \"x\"\n"), Options{SkipVarSources: true}); err == nil {
		t.Error("SkipVarSources skips the name check")
	}
}

// TestRouteVarsUnreadable: a file the process may not read (not as root,
// which reads anything).
func TestRouteVarsUnreadable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads files whatever their mode")
	}
	dir := varsDir(t)
	_, err := parseVars(t, dir, route1+"vars.key.file = \"unreadable\"\n")
	want := filepath.Join(dir, "bubble.toml") + ":3: route[1].vars.key.file: open " + filepath.Join(dir, "unreadable") + ": permission denied"
	if err == nil || err.Error() != want {
		t.Fatalf("error %v, want %q", err, want)
	}
}

// TestRouteVarsNeverPrinted: a loaded Config printed with %+v (as the
// fuzz test does on failure) shows no value.
func TestRouteVarsNeverPrinted(t *testing.T) {
	dir := varsDir(t)
	cfg, err := parseVars(t, dir, route1+"[route.vars]\na = \""+secretValue+"\"\nb.env = \"DB_PASSWORD\"\nc.file = \"plain\"\n")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg.Routes), fmt.Sprint(cfg.Routes[0])} {
		if strings.Contains(s, secretValue) {
			t.Errorf("printed a value: %s", s)
		}
	}
}
