package config

import "strings"

// The [admin] table: the admin listener, which serves the app's metrics
// (/metrics) and health (/healthz, /readyz) over plain HTTP. It is off
// unless the table is present; `[admin]` alone serves it on
// DefaultAdminAddress.

// DefaultAdminAddress is where the admin listener binds when [admin] sets
// no address: loopback only, on a port no example uses and no
// Prometheus server claims (9090 is Prometheus's own).
const DefaultAdminAddress = "tcp://127.0.0.1:9464"

// Admin is the [admin] table.
type Admin struct {
	// Address is the admin listener's tcp:// or unix:// address; empty
	// when the table is absent (no admin listener).
	Address string
}

var adminKeys = []string{"address"}

// admin reads the [admin] table.
func (c *checker) admin(root table, cfg *Config) {
	t, ok := c.subtable(root, "admin", adminKeys)
	if !ok {
		return
	}
	cfg.Admin.Address = DefaultAdminAddress
	f, ok := c.get(t, "address")
	if !ok {
		return
	}
	s, ok := c.str(f)
	if !ok {
		return
	}
	if strings.HasPrefix(s, "amqp") || strings.HasPrefix(s, "tls://") {
		c.errorf(f.path, f.line, "invalid address %q: the admin listener serves HTTP on tcp://host:port or unix://path", s)
		return
	}
	if c.address(f, s) != "" {
		cfg.Admin.Address = s
	}
}
