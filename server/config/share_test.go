package config

import "testing"

// [limits] route_share: the default and values.
func TestRouteShare(t *testing.T) {
	get := func(c *Config) any { return c.Limits.Share() }
	runGood(t, []goodCase{
		{"default", "[limits]\n" + route1, get, DefaultRouteShare},
		{"half", "[limits]\nroute_share = 0.5\n" + route1, get, 0.5},
		{"whole", "[limits]\nroute_share = 1\n" + route1, get, 1.0},
		{"smallest", "[limits]\nroute_share = 0.01\n" + route1, get, 0.01},
	})
}

// [limits] route_share: hostile values named by file, line and key.
func TestRouteShareErrors(t *testing.T) {
	const at = "bubble.toml:2: limits.route_share: "
	const rng = "must be from 0.01 to 1 (a fraction of each shared limit), got "
	runBad(t, []badCase{
		{"zero", "[limits]\nroute_share = 0\n" + route1, at + rng + "0"},
		{"negative", "[limits]\nroute_share = -0.5\n" + route1, at + rng + "-0.5"},
		{"over one", "[limits]\nroute_share = 1.5\n" + route1, at + rng + "1.5"},
		{"huge", "[limits]\nroute_share = 9223372036854775807\n" + route1, at + rng + "9.223372036854776e+18"},
		{"nan", "[limits]\nroute_share = nan\n" + route1, at + rng + "NaN"},
		{"inf", "[limits]\nroute_share = inf\n" + route1, at + rng + "+Inf"},
		{"string", "[limits]\nroute_share = \"half\"\n" + route1, at + "must be a number from 0.01 to 1 (a fraction of each shared limit), not string"},
		{"percent", "[limits]\nroute_share = \"50%\"\n" + route1, at + "must be a number from 0.01 to 1 (a fraction of each shared limit), not string"},
	})
}
