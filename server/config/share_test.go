package config

import (
	"strings"
	"testing"
)

// [limits] route_share: the default, values, and hostile values named by
// file, line and key.
func TestRouteShare(t *testing.T) {
	for _, c := range []struct {
		name, body string
		want       float64
		err        string
	}{
		{"default", "[limits]\n", DefaultRouteShare, ""},
		{"half", "[limits]\nroute_share = 0.5\n", 0.5, ""},
		{"whole", "[limits]\nroute_share = 1\n", 1, ""},
		{"smallest", "[limits]\nroute_share = 0.01\n", 0.01, ""},
		{"zero", "[limits]\nroute_share = 0\n", 0, "bubble.toml:2: limits.route_share: must be from 0.01 to 1 (a fraction of each shared limit), got 0"},
		{"negative", "[limits]\nroute_share = -0.5\n", 0, "bubble.toml:2: limits.route_share: must be from 0.01 to 1"},
		{"over one", "[limits]\nroute_share = 1.5\n", 0, "bubble.toml:2: limits.route_share: must be from 0.01 to 1 (a fraction of each shared limit), got 1.5"},
		{"huge", "[limits]\nroute_share = 9223372036854775807\n", 0, "bubble.toml:2: limits.route_share: must be from 0.01 to 1"},
		{"nan", "[limits]\nroute_share = nan\n", 0, "bubble.toml:2: limits.route_share: must be from 0.01 to 1"},
		{"inf", "[limits]\nroute_share = inf\n", 0, "bubble.toml:2: limits.route_share: must be from 0.01 to 1"},
		{"string", "[limits]\nroute_share = \"half\"\n", 0, "bubble.toml:2: limits.route_share: must be a number from 0.01 to 1 (a fraction of each shared limit), not string"},
		{"percent", "[limits]\nroute_share = \"50%\"\n", 0, "bubble.toml:2: limits.route_share: must be a number"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Parse("bubble.toml", []byte(c.body+"[[route]]\nmodule = \"a.wasm\"\n"))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Limits.Share(); got != c.want {
				t.Errorf("Share() %v, want %v", got, c.want)
			}
		})
	}
}
