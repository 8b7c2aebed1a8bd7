package wasm

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"github.com/bubblewasm/bubblewasm/abi"
)

// Route variables (Options.Vars) are values the configuration gives one
// route's module: literals, host environment variables or secret files,
// resolved when the configuration is loaded. An ABI v1 guest sees each as
// the env key "var.NAME"; a CGI program as the environment variable NAME
// upper-cased (db_password becomes DB_PASSWORD). No other route sees them,
// and the host never prints a value: Secret formats as "[redacted]" in
// every fmt verb, in slog records and in JSON, and no error or log line
// of this package carries one. Guests are not given them while they
// initialize (bubble_init, _initialize), only for exchanges, so a
// snapshot's memory never holds one the module did not copy itself.
//
// Names are [a-z][a-z0-9_]*, at most MaxVarNameBytes: lower case like the
// other dotted env keys, and so that the CGI name is one-to-one with it.
// A name whose CGI form would shadow a CGI meta-variable (PATH_INFO,
// SERVER_SOFTWARE, ...), a request header (HTTP_*) or a host key
// (BUBBLE_*) is refused. In the CGI environment a variable replaces any
// other key translated to the same name (AMQP_HEADER_X from a message, say):
// a client cannot override a route's variable.

// Limits on route variables.
const (
	// MaxVarNameBytes bounds a variable's name.
	MaxVarNameBytes = 64
	// MaxVarBytes bounds one variable's value.
	MaxVarBytes = 64 << 10
	// MaxVars bounds a route's variables.
	MaxVars = 256
	// MaxVarsBytes bounds a route's variables' values together.
	MaxVarsBytes = 1 << 20
)

// Secret is a value the host passes to a guest but never prints: fmt
// verbs, slog and encoding/json all see "[redacted]". string(s) is the
// value.
type Secret string

const redacted = "[redacted]"

// Format prints "[redacted]" whatever the verb (%v, %+v, %#v, %s, %q, ...).
func (Secret) Format(f fmt.State, _ rune) { io.WriteString(f, redacted) }

// LogValue hides the value from slog.
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText hides the value from encoding/json and other text encoders.
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// cgiReserved are the CGI meta-variables (RFC 3875, plus REQUEST_URI and
// REMOTE_PORT that the host sets too): a variable may not take their name.
var cgiReserved = []string{
	"AUTH_TYPE", "CONTENT_LENGTH", "CONTENT_TYPE", "GATEWAY_INTERFACE", "PATH_INFO", "PATH_TRANSLATED",
	"QUERY_STRING", "REMOTE_ADDR", "REMOTE_HOST", "REMOTE_IDENT", "REMOTE_PORT", "REMOTE_USER",
	"REQUEST_METHOD", "REQUEST_URI", "SCRIPT_NAME", "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL",
	"SERVER_SOFTWARE",
}

// CGIVarName is the environment variable a CGI program sees a route
// variable as: its name upper-cased.
func CGIVarName(name string) string { return strings.ToUpper(name) }

// CheckVarName says why name cannot name a route variable, or returns nil.
func CheckVarName(name string) error {
	if name == "" || len(name) > MaxVarNameBytes {
		return fmt.Errorf("want 1 to %d bytes", MaxVarNameBytes)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || i > 0 && ('0' <= c && c <= '9' || c == '_')) {
			return errors.New("want a lower-case letter, then lower-case letters, digits or '_'")
		}
	}
	cgi := CGIVarName(name)
	switch {
	case slices.Contains(cgiReserved, cgi):
		return fmt.Errorf("%s is a CGI meta-variable", cgi)
	case strings.HasPrefix(cgi, abi.EnvHTTPPrefix):
		return fmt.Errorf("%s would pass for a request header (HTTP_*)", cgi)
	case strings.HasPrefix(cgi, "BUBBLE_"):
		return fmt.Errorf("%s would pass for a host key (bubble.*)", cgi)
	}
	return nil
}

// routeVars are a route's variables keyed as the guest sees them.
type routeVars struct {
	values map[string]Secret // env key "var.NAME" -> value
	keys   []string          // the env keys, sorted
	bytes  int               // the values' total size
}

// newRouteVars checks vars against the names and limits above; its
// errors name variables, never values.
func newRouteVars(vars map[string]Secret) (routeVars, error) {
	if len(vars) > MaxVars {
		return routeVars{}, fmt.Errorf("vars: %d variables, at most %d", len(vars), MaxVars)
	}
	rv := routeVars{values: make(map[string]Secret, len(vars))}
	for name, v := range vars {
		if err := CheckVarName(name); err != nil {
			return routeVars{}, fmt.Errorf("vars: invalid name %q: %w", name, err)
		}
		if len(v) > MaxVarBytes {
			return routeVars{}, fmt.Errorf("vars: %s: the value is %d bytes, at most %d", name, len(v), MaxVarBytes)
		}
		if strings.IndexByte(string(v), 0) >= 0 {
			return routeVars{}, fmt.Errorf("vars: %s: the value contains a NUL byte", name)
		}
		rv.bytes += len(v)
		key := abi.EnvVarPrefix + name
		rv.values[key] = v
		rv.keys = append(rv.keys, key)
	}
	if rv.bytes > MaxVarsBytes {
		return routeVars{}, fmt.Errorf("vars: the values total %d bytes, at most %d", rv.bytes, MaxVarsBytes)
	}
	slices.Sort(rv.keys)
	return rv, nil
}

// isVarKey reports a key under the reserved prefix.
func isVarKey(key string) bool { return strings.HasPrefix(key, abi.EnvVarPrefix) }

// A nil *routeVars is a route without variables.

// env looks key up: a var.* key among the route's variables only (a layer
// below cannot plant one), any other in the exchange's env.
func (rv *routeVars) env(env map[string]string, key string) (string, bool) {
	if isVarKey(key) {
		if rv == nil {
			return "", false
		}
		v, ok := rv.values[key]
		return string(v), ok
	}
	v, ok := env[key]
	return v, ok
}

// envKeys returns the exchange's keys without any var.* ones, with the
// route's variables' keys, sorted.
func (rv *routeVars) envKeys(keys []string) []string {
	var own []string
	if rv != nil {
		own = rv.keys
	}
	if len(own) == 0 && !slices.ContainsFunc(keys, isVarKey) {
		return keys
	}
	keys = slices.DeleteFunc(keys, isVarKey)
	keys = append(keys, own...)
	slices.Sort(keys)
	return keys
}

// cgi adds the route's variables to a CGI environment, replacing what
// had their names.
func (rv *routeVars) cgi(vars map[string]string) {
	if rv == nil {
		return
	}
	for key, v := range rv.values {
		vars[CGIVarName(strings.TrimPrefix(key, abi.EnvVarPrefix))] = string(v)
	}
}
