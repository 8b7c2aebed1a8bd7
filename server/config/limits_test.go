package config

import (
	"testing"
	"time"
)

func TestLimits(t *testing.T) {
	runGood(t, []goodCase{
		{"defaults are zero (the server fills them in)", route1, func(c *Config) any {
			return []any{c.Limits, c.Routes[0].InitTimeout, c.Routes[0].PoolIdleTimeout}
		}, []any{Limits{}, time.Duration(0), time.Duration(0)}},
		{"limits table", "[limits]\nwasmtime_exchanges = 32768\nmemory_budget = \"1MiB\"\n" + route1, func(c *Config) any { return c.Limits },
			Limits{WasmtimeExchanges: MaxWasmtimeExchanges, MemoryBudget: MinMemoryBudget}},
		{"inline limits", "limits = { memory_budget = 2147483648 }\n" + route1, func(c *Config) any { return c.Limits },
			Limits{MemoryBudget: 2 << 30}},
		{"route lifetimes", "[[route]]\nmodule = \"m.wasm\"\ninstances = \"pool\"\ninit_timeout = \"1m30s\"\npool_idle_timeout = \"1ms\"\n",
			func(c *Config) any { return []time.Duration{c.Routes[0].InitTimeout, c.Routes[0].PoolIdleTimeout} },
			[]time.Duration{90 * time.Second, time.Millisecond}},
	})
}
