package config

// The [limits] key resident_modules: how many routes keep their module
// loaded (compiled code, snapshot image) when routes outnumber what the
// machine should hold in memory; the least recently used idle ones are
// unloaded and loaded again by their next exchange (wasm.Residency).

// MaxResidentModules is the largest resident_modules accepted: far above
// any server's routes, and small enough that a typo of a few digits too
// many is caught.
const MaxResidentModules = 1_000_000

// residentModules reads [limits] resident_modules.
func (c *checker) residentModules(t table, cfg *Config) {
	f, ok := c.get(t, "resident_modules")
	if !ok {
		return
	}
	n, ok := c.integer(f, 1)
	if !ok {
		return
	}
	if n > MaxResidentModules {
		c.errorf(f.path, f.line, "must be at most %d, got %d (leave it out to keep every module loaded)", MaxResidentModules, n)
		return
	}
	cfg.Limits.ResidentModules = n
}
