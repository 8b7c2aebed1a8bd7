package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// The route key vars: values the route's module is given, resolved here,
// when the file is loaded, so that a missing one stops the server before
// anything binds rather than failing requests later.
//
//	[route.vars]
//	greeting = "hello"                       # a literal
//	db_password = { env = "DB_PASSWORD" }    # the host's environment variable
//	api_key = { file = "/run/secrets/api" }  # a file's contents, one trailing newline removed
//
// Every value is treated as a secret, literals included: nothing the host
// prints needs a value, a literal may be a token pasted into a private
// file, and one rule is easier to audit than two. So errors name the
// variable, the environment variable or the file, never the value, and
// Route.Vars holds wasm.Secret values, which print as "[redacted]".

// Limits on route variables (the guest's side of them is server/wasm).
const (
	// MaxVarNameBytes bounds a variable's name.
	MaxVarNameBytes = wasm.MaxVarNameBytes
	// MaxVarBytes bounds one value; a file may have one newline more.
	MaxVarBytes = wasm.MaxVarBytes
	// MaxVars bounds a route's variables.
	MaxVars = wasm.MaxVars
	// MaxVarsBytes bounds a route's values together.
	MaxVarsBytes = wasm.MaxVarsBytes
)

// varSourceKeys are the keys of a variable's table form.
var varSourceKeys = []string{"env", "file"}

// routeVars reads a route's vars table into r.Vars.
func (c *checker) routeVars(t table, r *Route) {
	f, ok := c.get(t, "vars")
	if !ok {
		return
	}
	m, ok := f.v.(map[string]any)
	if !ok {
		c.errorf(f.path, f.line, "must be a table of name = \"value\", { env = \"NAME\" } or { file = \"PATH\" }, not %s", typeName(f.v))
		return
	}
	if _, hasModule := c.get(t, "module"); !hasModule {
		c.errorf(f.path, f.line, "only valid on a route with a module")
		return
	}
	if len(m) > MaxVars {
		c.errorf(f.path, f.line, "%d variables, at most %d", len(m), MaxVars)
		return
	}
	vars := make(map[string]wasm.Secret, len(m))
	total := 0
	for _, name := range sortedKeys(m) {
		p := keyPath(f.path, name)
		line := c.lineOf(p, f.line)
		if err := wasm.CheckVarName(name); err != nil {
			c.errorf(p, line, "invalid variable name: %v", err)
			continue
		}
		v, ok := c.varValue(field{p, line, m[name]})
		if !ok {
			continue
		}
		switch {
		case len(v) > MaxVarBytes:
			c.errorf(p, line, "the value is %s, at most %s", formatSize(int64(len(v))), formatSize(MaxVarBytes))
			continue
		case strings.IndexByte(v, 0) >= 0:
			c.errorf(p, line, "the value contains a NUL byte")
			continue
		}
		total += len(v)
		vars[name] = wasm.Secret(v)
	}
	if total > MaxVarsBytes {
		c.errorf(f.path, f.line, "the values total %s, at most %s", formatSize(int64(total)), formatSize(MaxVarsBytes))
		return
	}
	r.Vars = vars
}

// varValue resolves one variable: a literal string, or a table naming an
// environment variable or a file. With Options.SkipVarSources the sources
// are checked but not read, and the value is "".
func (c *checker) varValue(f field) (string, bool) {
	switch v := f.v.(type) {
	case string:
		return v, true
	case map[string]any:
		src := table{m: v, path: f.path, line: f.line}
		c.unknownKeys(src, varSourceKeys)
		var set []string
		for _, k := range varSourceKeys {
			if _, ok := v[k]; ok {
				set = append(set, k)
			}
		}
		if len(set) != 1 {
			c.errorf(f.path, f.line, "want exactly one of env or file, got %d", len(set))
			return "", false
		}
		sf, _ := c.get(src, set[0])
		if set[0] == "env" {
			return c.varFromEnv(sf)
		}
		return c.varFromFile(sf)
	}
	c.errorf(f.path, f.line, "must be a string, { env = \"NAME\" } or { file = \"PATH\" }, not %s", typeName(f.v))
	return "", false
}

// varFromEnv reads the host environment variable f names.
func (c *checker) varFromEnv(f field) (string, bool) {
	name, ok := c.name(f)
	if !ok {
		return "", false
	}
	if strings.ContainsAny(name, "=\x00") {
		c.errorf(f.path, f.line, "invalid environment variable name %q", name)
		return "", false
	}
	if c.opts.SkipVarSources {
		return "", true
	}
	lookup := c.opts.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	v, ok := lookup(name)
	if !ok {
		c.errorf(f.path, f.line, "environment variable %s is not set", name)
		return "", false
	}
	return v, true
}

// varFromFile reads the file f names, relative to the config file's
// directory.
func (c *checker) varFromFile(f field) (string, bool) {
	path, ok := c.path(f)
	if !ok || c.opts.SkipVarSources {
		return "", ok
	}
	v, err := readVarFile(path)
	if err != nil {
		c.errorf(f.path, f.line, "%v", err)
		return "", false
	}
	return v, true
}

// errNotRegular refuses what could block or never end: a FIFO, a device.
var errNotRegular = errors.New("not a regular file")

// readVarFile returns a regular file's contents without one trailing
// newline (LF or CRLF), reading no more than MaxVarBytes and that newline:
// a longer file is an error. Errors name the file, not its contents.
func readVarFile(path string) (string, error) {
	fi, err := os.Stat(path) // before opening: opening a FIFO blocks
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s: %w", path, errNotRegular)
	}
	file, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer file.Close()
	b, err := io.ReadAll(io.LimitReader(file, MaxVarBytes+3))
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	s := string(b)
	if t, ok := strings.CutSuffix(s, "\n"); ok {
		s = strings.TrimSuffix(t, "\r")
	}
	if len(s) > MaxVarBytes {
		return "", fmt.Errorf("%s is larger than %s", path, formatSize(MaxVarBytes))
	}
	return s, nil
}
