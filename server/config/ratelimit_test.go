package config

import (
	"strings"
	"testing"
)

// rate_limit and rate_burst: defaults, values, and hostile values named by
// file, line and key.
func TestRouteRateLimit(t *testing.T) {
	const route = "[[route]]\nmodule = \"a.wasm\"\n"
	for _, c := range []struct {
		name, body string
		want       RateLimit
		err        string
	}{
		{"absent", route, RateLimit{}, ""},
		{"unlimited", route + "rate_limit = 0\n", RateLimit{}, ""},
		{"integer", route + "rate_limit = 100\n", RateLimit{PerSecond: 100, Burst: 100}, ""},
		{"fraction", route + "rate_limit = 0.5\n", RateLimit{PerSecond: 0.5, Burst: 1}, ""},
		{"fraction rounds up", route + "rate_limit = 2.5\n", RateLimit{PerSecond: 2.5, Burst: 3}, ""},
		{"burst", route + "rate_limit = 10\nrate_burst = 50\n", RateLimit{PerSecond: 10, Burst: 50}, ""},
		{"largest", route + "rate_limit = 1e9\n", RateLimit{PerSecond: 1e9, Burst: 1e9}, ""},
		{"negative", route + "rate_limit = -1\n", RateLimit{}, "bubble.toml:3: route[1].rate_limit: must be at least 0 (0 is unlimited), got -1"},
		{"nan", route + "rate_limit = nan\n", RateLimit{}, "bubble.toml:3: route[1].rate_limit: must be at least 0"},
		{"inf", route + "rate_limit = inf\n", RateLimit{}, "bubble.toml:3: route[1].rate_limit: must be at most 1e+09 requests per second, got +Inf"},
		{"huge", route + "rate_limit = 9223372036854775807\n", RateLimit{}, "bubble.toml:3: route[1].rate_limit: must be at most 1e+09"},
		{"string", route + "rate_limit = \"100/s\"\n", RateLimit{}, "bubble.toml:3: route[1].rate_limit: must be a number of requests per second, not string"},
		{"bool", route + "rate_limit = true\n", RateLimit{}, "bubble.toml:3: route[1].rate_limit: must be a number of requests per second, not bool"},
		{"burst zero", route + "rate_limit = 1\nrate_burst = 0\n", RateLimit{}, "bubble.toml:4: route[1].rate_burst: must be at least 1, got 0"},
		{"burst negative", route + "rate_limit = 1\nrate_burst = -5\n", RateLimit{}, "bubble.toml:4: route[1].rate_burst: must be at least 1, got -5"},
		{"burst huge", route + "rate_limit = 1\nrate_burst = 9223372036854775807\n", RateLimit{}, "bubble.toml:4: route[1].rate_burst: must be at most 1073741824"},
		{"burst float", route + "rate_limit = 1\nrate_burst = 1.5\n", RateLimit{}, "bubble.toml:4: route[1].rate_burst: must be an integer"},
		{"burst garbage", route + "rate_limit = 1\nrate_burst = \"lots\"\n", RateLimit{}, "bubble.toml:4: route[1].rate_burst: must be an integer, not string"},
		{"burst alone", route + "rate_burst = 5\n", RateLimit{}, "bubble.toml:3: route[1].rate_burst: only valid with rate_limit above 0"},
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
			if got := cfg.Routes[0].RateLimit; got != c.want {
				t.Errorf("RateLimit %+v, want %+v", got, c.want)
			}
		})
	}
}
