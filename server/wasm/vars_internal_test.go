package wasm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/bubblewasm/bubblewasm/server"
)

func TestCheckVarName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"greeting", true}, {"db_password", true}, {"a1_b2", true}, {strings.Repeat("a", MaxVarNameBytes), true},
		{"", false}, {strings.Repeat("a", MaxVarNameBytes+1), false},
		{"Greeting", false}, {"DB", false}, {"1abc", false}, {"_x", false}, {"a-b", false}, {"a.b", false},
		{"a b", false}, {"é", false}, {"a\x00", false},
		{"path_info", false}, {"server_software", false}, {"gateway_interface", false}, {"request_uri", false},
		{"http_proxy", false}, {"http_x", false}, {"bubble_route", false}, {"bubble_x", false},
		{"http", true}, {"bubble", true}, {"path_infos", true},
	} {
		if err := CheckVarName(tc.name); (err == nil) != tc.ok {
			t.Errorf("CheckVarName(%q) = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

func TestNewRouteVarsLimits(t *testing.T) {
	big := Secret(strings.Repeat("s", MaxVarBytes))
	tooMany := map[string]Secret{}
	for i := range MaxVars + 1 {
		tooMany[fmt.Sprintf("v%d", i)] = "x"
	}
	total := map[string]Secret{}
	for i := range MaxVarsBytes/MaxVarBytes + 1 {
		total[fmt.Sprintf("v%d", i)] = big
	}
	for name, tc := range map[string]struct {
		vars map[string]Secret
		want string
	}{
		"max value":  {map[string]Secret{"a": big}, ""},
		"too large":  {map[string]Secret{"a": big + "s"}, "a: the value is 65537 bytes, at most 65536"},
		"NUL":        {map[string]Secret{"a": "top\x00secret"}, "a: the value contains a NUL byte"},
		"bad name":   {map[string]Secret{"Bad": "topsecret"}, `invalid name "Bad"`},
		"too many":   {tooMany, "257 variables, at most 256"},
		"too much":   {total, "the values total 1114112 bytes, at most 1048576"},
		"reserved":   {map[string]Secret{"path_info": "topsecret"}, "PATH_INFO is a CGI meta-variable"},
		"http":       {map[string]Secret{"http_host": "topsecret"}, "HTTP_HOST would pass for a request header"},
		"empty name": {map[string]Secret{"": "topsecret"}, "want 1 to 64 bytes"},
	} {
		_, err := newRouteVars(tc.vars)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: got %v, want %q", name, err, tc.want)
		case err != nil && strings.Contains(err.Error(), "secret"):
			t.Errorf("%s: the error shows the value: %v", name, err)
		}
	}
	many := map[string]Secret{}
	for i := range MaxVars {
		many[fmt.Sprintf("v%d", i)] = "x"
	}
	if _, err := newRouteVars(many); err != nil {
		t.Errorf("%d variables: %v", MaxVars, err)
	}
}

// TestRouteVarsEnv: the guest sees the route's variables under var., and
// no var. key that a layer below put in the exchange's env.
func TestRouteVarsEnv(t *testing.T) {
	rv, err := newRouteVars(map[string]Secret{"db_password": "hunter2", "greeting": "hello"})
	if err != nil {
		t.Fatal(err)
	}
	env := server.Env{"PATH_INFO": "/x", "var.planted": "by a client", "var.greeting": "forged", "zz": "1"}
	hx := &hostExchange{x: &server.Exchange{Env: env}, vars: &rv}
	want := []string{"PATH_INFO", "var.db_password", "var.greeting", "zz"}
	if got := hx.EnvKeys(); !slices.Equal(got, want) {
		t.Errorf("EnvKeys = %q, want %q", got, want)
	}
	for key, want := range map[string]string{"var.greeting": "hello", "var.db_password": "hunter2", "PATH_INFO": "/x"} {
		if v, ok := hx.Env(key); !ok || v != want {
			t.Errorf("Env(%q) = %q, %v; want %q", key, v, ok, want)
		}
	}
	if v, ok := hx.Env("var.planted"); ok {
		t.Errorf("Env(var.planted) = %q: a planted var. key reached the guest", v)
	}
	// A route without variables (and an initializing instance: nil).
	for _, vars := range []*routeVars{nil, {}} {
		hx := &hostExchange{x: &server.Exchange{Env: env}, vars: vars}
		if got := hx.EnvKeys(); !slices.Equal(got, []string{"PATH_INFO", "zz"}) {
			t.Errorf("no vars: EnvKeys = %q", got)
		}
		if _, ok := hx.Env("var.greeting"); ok {
			t.Error("no vars: var.greeting found")
		}
	}
	got := cgiEnviron(server.Env{"AMQP_HEADER_DB_PASSWORD": "by a client", "var.planted": "x", "amqp.header.greeting": "y"}, &rv)
	wantCGI := []string{"AMQP_HEADER_DB_PASSWORD=by a client", "AMQP_HEADER_GREETING=y", "DB_PASSWORD=hunter2", "GATEWAY_INTERFACE=CGI/1.1",
		"GREETING=hello", "SERVER_SOFTWARE=bubblewasm"}
	if !slices.Equal(got, wantCGI) {
		t.Errorf("cgiEnviron = %q, want %q", got, wantCGI)
	}
	// A variable replaces a translated key of its name.
	rv2, _ := newRouteVars(map[string]Secret{"line_number": "mine"})
	if got := cgiEnviron(server.Env{"line.number": "3"}, &rv2); !slices.Contains(got, "LINE_NUMBER=mine") {
		t.Errorf("cgiEnviron = %q, want LINE_NUMBER=mine", got)
	}
}

// TestSecretNeverPrints: every way the host might print a value shows
// "[redacted]".
func TestSecretNeverPrints(t *testing.T) {
	s := Secret("hunter2")
	opts := Options{Name: "r", Vars: map[string]Secret{"db_password": s}}
	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%10s"} {
		out = append(out, fmt.Sprintf(verb, s), fmt.Sprintf(verb, opts), fmt.Sprintf(verb, opts.Vars))
	}
	out = append(out, fmt.Sprint(s), fmt.Sprintln(opts.Vars))
	j, err := json.Marshal(opts.Vars)
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, string(j))
	var buf bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&buf, nil), slog.NewJSONHandler(&buf, nil)} {
		slog.New(h).Info("x", "v", s, "vars", opts.Vars, "any", any(s))
	}
	out = append(out, buf.String())
	for _, o := range out {
		if strings.Contains(o, "hunter2") || strings.Contains(o, "68756e74657232") {
			t.Errorf("printed the value: %s", o)
		}
	}
	if string(s) != "hunter2" {
		t.Fatal("string(s) must be the value")
	}
}
