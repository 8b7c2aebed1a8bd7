package config

import (
	"strings"
	"testing"
)

// max_waiting: the default, a value, and hostile values named by file,
// line and key.
func TestRouteMaxWaiting(t *testing.T) {
	const route = "[[route]]\nmodule = \"a.wasm\"\n"
	for _, c := range []struct {
		name, body string
		want       int
		err        string
	}{
		{"default", route, 0, ""}, // the server's default
		{"set", route + "max_waiting = 3\n", 3, ""},
		{"largest", route + "max_waiting = 1048576\n", MaxMaxWaiting, ""},
		{"zero", route + "max_waiting = 0\n", 0, "bubble.toml:3: route[1].max_waiting: must be at least 1, got 0"},
		{"negative", route + "max_waiting = -1\n", 0, "bubble.toml:3: route[1].max_waiting: must be at least 1, got -1"},
		{"huge", route + "max_waiting = 9223372036854775807\n", 0, "bubble.toml:3: route[1].max_waiting: must be at most 1048576, got 9223372036854775807"},
		{"string", route + "max_waiting = \"many\"\n", 0, "bubble.toml:3: route[1].max_waiting: must be an integer, not string"},
		{"float", route + "max_waiting = 1.5\n", 0, "bubble.toml:3: route[1].max_waiting: must be an integer"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Parse("bubble.toml", []byte(c.body))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Routes[0].MaxWaiting; got != c.want {
				t.Errorf("MaxWaiting %d, want %d", got, c.want)
			}
		})
	}
}
