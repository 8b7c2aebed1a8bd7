package config

import "testing"

func TestAdmin(t *testing.T) {
	runGood(t, []goodCase{
		{"off by default", route1, func(c *Config) any { return c.Admin }, Admin{}},
		{"the table alone: loopback default", "[admin]\n" + route1, func(c *Config) any { return c.Admin },
			Admin{Address: DefaultAdminAddress}},
		{"tcp address", "[admin]\naddress = \"tcp://[::1]:0\"\n" + route1, func(c *Config) any { return c.Admin },
			Admin{Address: "tcp://[::1]:0"}},
		{"inline unix address", "admin = { address = \"unix:///run/admin.sock\" }\n" + route1, func(c *Config) any { return c.Admin },
			Admin{Address: "unix:///run/admin.sock"}},
	})
	runBad(t, []badCase{
		{"not a table", "admin = \"tcp://127.0.0.1:9464\"\n" + route1, "bubble.toml:1: admin: must be a table, not string"},
		{"unknown key", "[admin]\nport = 9464\n" + route1, "bubble.toml:2: admin.port: unknown key (allowed: address)"},
		{"address empty", "[admin]\naddress = \"\"\n" + route1, "bubble.toml:2: admin.address: must not be empty"},
		{"address integer", "[admin]\naddress = 9464\n" + route1, "bubble.toml:2: admin.address: must be a string, not integer"},
		{"address negative", "[admin]\naddress = -1\n" + route1, "bubble.toml:2: admin.address: must be a string, not integer"},
		{"address array", "[admin]\naddress = [\"tcp://127.0.0.1:1\"]\n" + route1, "bubble.toml:2: admin.address: must be a string, not array"},
		{"address garbage", "[admin]\naddress = \"\\u0000:/x\"\n" + route1,
			"bubble.toml:2: admin.address: invalid address \"\\x00:/x\": want tcp://host:port, tls://host:port, unix://path, systemd://NAME or amqp://host/?queue=NAME"},
		{"address without scheme", "[admin]\naddress = \"127.0.0.1:9464\"\n" + route1,
			"bubble.toml:2: admin.address: invalid address \"127.0.0.1:9464\": want tcp://host:port, tls://host:port, unix://path, systemd://NAME or amqp://host/?queue=NAME"},
		{"address amqp", "[admin]\naddress = \"amqp://guest:guest@127.0.0.1/?queue=x\"\n" + route1,
			"bubble.toml:2: admin.address: invalid address \"amqp://guest:guest@127.0.0.1/?queue=x\": the admin listener serves HTTP on tcp://host:port or unix://path"},
		{"address tls", "[admin]\naddress = \"tls://127.0.0.1:9464\"\n" + route1,
			"bubble.toml:2: admin.address: invalid address \"tls://127.0.0.1:9464\": the admin listener serves HTTP on tcp://host:port or unix://path"},
		{"address empty after scheme", "[admin]\naddress = \"tcp://\"\n" + route1,
			"bubble.toml:2: admin.address: invalid address \"tcp://\": nothing after tcp://"},
	})
}
