package config

import "testing"

// rate_limit and rate_burst: defaults and values.
func TestRouteRateLimit(t *testing.T) {
	get := func(c *Config) any { return c.Routes[0].RateLimit }
	runGood(t, []goodCase{
		{"absent", route1, get, RateLimit{}},
		{"unlimited", route1 + "rate_limit = 0\n", get, RateLimit{}},
		{"integer", route1 + "rate_limit = 100\n", get, RateLimit{PerSecond: 100, Burst: 100}},
		{"fraction", route1 + "rate_limit = 0.5\n", get, RateLimit{PerSecond: 0.5, Burst: 1}},
		{"fraction rounds up", route1 + "rate_limit = 2.5\n", get, RateLimit{PerSecond: 2.5, Burst: 3}},
		{"burst", route1 + "rate_limit = 10\nrate_burst = 50\n", get, RateLimit{PerSecond: 10, Burst: 50}},
		{"largest", route1 + "rate_limit = 1e9\n", get, RateLimit{PerSecond: 1e9, Burst: 1e9}},
	})
}

// rate_limit and rate_burst: hostile values named by file, line and key.
func TestRouteRateLimitErrors(t *testing.T) {
	const at3, at4 = "bubble.toml:3: route[1].rate_limit: ", "bubble.toml:4: route[1].rate_burst: "
	runBad(t, []badCase{
		{"negative", route1 + "rate_limit = -1\n", at3 + "must be at least 0 (0 is unlimited), got -1"},
		{"nan", route1 + "rate_limit = nan\n", at3 + "must be at least 0 (0 is unlimited), got NaN"},
		{"inf", route1 + "rate_limit = inf\n", at3 + "must be at most 1e+09 requests per second, got +Inf"},
		{"huge", route1 + "rate_limit = 9223372036854775807\n", at3 + "must be at most 1e+09 requests per second, got 9.223372036854776e+18"},
		{"string", route1 + "rate_limit = \"100/s\"\n", at3 + "must be a number of requests per second, not string"},
		{"bool", route1 + "rate_limit = true\n", at3 + "must be a number of requests per second, not boolean"},
		{"burst zero", route1 + "rate_limit = 1\nrate_burst = 0\n", at4 + "must be at least 1, got 0"},
		{"burst negative", route1 + "rate_limit = 1\nrate_burst = -5\n", at4 + "must be at least 1, got -5"},
		{"burst huge", route1 + "rate_limit = 1\nrate_burst = 9223372036854775807\n", at4 + "must be at most 1073741824, got 9223372036854775807"},
		{"burst float", route1 + "rate_limit = 1\nrate_burst = 1.5\n", at4 + "must be an integer, not float"},
		{"burst garbage", route1 + "rate_limit = 1\nrate_burst = \"lots\"\n", at4 + "must be an integer, not string"},
		{"burst alone", route1 + "rate_burst = 5\n", "bubble.toml:3: route[1].rate_burst: only valid with rate_limit above 0"},
	})
}
