package config

import "testing"

// [limits] resident_modules: the default (every module loaded) and values.
func TestResidentModules(t *testing.T) {
	get := func(c *Config) any { return c.Limits.ResidentModules }
	runGood(t, []goodCase{
		{"default", "[limits]\n" + route1, get, 0},
		{"one", "[limits]\nresident_modules = 1\n" + route1, get, 1},
		{"many", "[limits]\nresident_modules = 200\n" + route1, get, 200},
		{"largest", "[limits]\nresident_modules = 1000000\n" + route1, get, MaxResidentModules},
	})
}

// [limits] resident_modules: hostile values named by file, line and key.
func TestResidentModulesErrors(t *testing.T) {
	const at = "bubble.toml:2: limits.resident_modules: "
	runBad(t, []badCase{
		{"zero", "[limits]\nresident_modules = 0\n" + route1, at + "must be at least 1, got 0"},
		{"negative", "[limits]\nresident_modules = -3\n" + route1, at + "must be at least 1, got -3"},
		{"over", "[limits]\nresident_modules = 1000001\n" + route1, at + "must be at most 1000000, got 1000001 (leave it out to keep every module loaded)"},
		{"huge", "[limits]\nresident_modules = 9223372036854775807\n" + route1, at + "must be at most 1000000, got 9223372036854775807 (leave it out to keep every module loaded)"},
		{"float", "[limits]\nresident_modules = 1.5\n" + route1, at + "must be an integer, not float"},
		{"string", "[limits]\nresident_modules = \"all\"\n" + route1, at + "must be an integer, not string"},
	})
}
