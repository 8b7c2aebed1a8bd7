package config

import (
	"math"

	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// Process-wide limits and the per-route settings that bound instance
// lifetimes: the [limits] table and the route keys init_timeout and
// pool_idle_timeout. Zero in the Config means "the default", which the
// server fills in (some defaults depend on the machine).

// Defaults of the [limits] table and of the route keys below.
const (
	// DefaultWasmtimeExchanges bounds wasmtime guest runs at once, process
	// wide. Each one that blocks in a host call holds an OS thread, and Go
	// aborts the process at its thread limit (10,000 by default).
	DefaultWasmtimeExchanges = 1024
	// MaxWasmtimeExchanges is the largest wasmtime_exchanges accepted: the
	// server raises Go's thread limit to stay above it, but the kernel's
	// (threads-max, ulimit -u) still applies.
	MaxWasmtimeExchanges = 32768
	// MinMemoryBudget is the smallest memory_budget accepted.
	MinMemoryBudget = 1 << 20
	// DefaultInitTimeout bounds a route's first instance at load
	// (instantiation, start function, _initialize, bubble_init).
	DefaultInitTimeout = wasm.DefaultInitTimeout
	// DefaultPoolIdleTimeout closes pooled instances idle this long.
	DefaultPoolIdleTimeout = wasm.DefaultPoolIdleTimeout
)

// Limits is the [limits] table: bounds shared by every route.
type Limits struct {
	// WasmtimeExchanges bounds the wasmtime guest runs (exchanges,
	// instantiation and init included) under way at once across all
	// routes; the excess waits, within its exchange's timeout, then gets
	// 503. 0 means DefaultWasmtimeExchanges.
	WasmtimeExchanges int
	// MemoryBudget bounds the linear memory of all instances of all routes,
	// in bytes; 0 lets the server derive it from the machine's memory.
	MemoryBudget int64
	// RouteShare is the fraction of each shared limit one route may hold
	// (share.go); 0 means DefaultRouteShare.
	RouteShare float64
	// ResidentModules bounds the routes that keep their module loaded
	// (resident.go); 0 keeps every module loaded.
	ResidentModules int
}

var limitsKeys = []string{"wasmtime_exchanges", "memory_budget", "route_share", "resident_modules"}

// limits reads the [limits] table.
func (c *checker) limits(root table, cfg *Config) {
	t, ok := c.subtable(root, "limits", limitsKeys)
	if !ok {
		return
	}
	if f, ok := c.get(t, "wasmtime_exchanges"); ok {
		if n, ok := c.integer(f, 1); ok {
			if n > MaxWasmtimeExchanges {
				c.errorf(f.path, f.line, "must be at most %d, got %d (each is an OS thread while its guest waits in a host call)", MaxWasmtimeExchanges, n)
			} else {
				cfg.Limits.WasmtimeExchanges = n
			}
		}
	}
	if f, ok := c.get(t, "memory_budget"); ok {
		if n, ok := c.size(f, MinMemoryBudget, math.MaxInt64); ok {
			cfg.Limits.MemoryBudget = n
		}
	}
	c.routeShare(t, cfg)
	c.residentModules(t, cfg)
}

// routeLimits reads a route's init_timeout and pool_idle_timeout.
func (c *checker) routeLimits(t table, r *Route, instancesOK bool) {
	if f, ok := c.get(t, "init_timeout"); ok {
		if d, ok := c.duration(f, 1); ok {
			r.InitTimeout = d
		}
	}
	if f, ok := c.get(t, "pool_idle_timeout"); ok {
		c.keptInstances(f, r.Instances, instancesOK)
		if d, ok := c.duration(f, 1); ok {
			r.PoolIdleTimeout = d
		}
	}
}

// keptInstances refuses a key about idle instances (pool_size,
// pool_idle_timeout) on a route whose instances are not kept between
// exchanges.
func (c *checker) keptInstances(f field, instances string, instancesOK bool) {
	if instancesOK && instances == InstancesFresh {
		c.errorf(f.path, f.line, "only valid where instances are kept between exchanges (instances = %q, the default, or %q), not with %q", InstancesSnapshot, InstancesPool, instances)
	}
}
