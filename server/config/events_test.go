package config

import "testing"

func TestGuestLimitsGood(t *testing.T) {
	r := func(c *Config) GuestLimits { return c.Routes[0].Guest }
	runGood(t, []goodCase{
		{"route defaults", route1, func(c *Config) any { return r(c) }, GuestLimits{LogRate: 100, LogBurst: 1000, MaxSubscriptions: 16384}},
		{"route keys", route1 + "log_rate = 1\nlog_burst = 1\nmax_subscriptions = 1\n", func(c *Config) any { return r(c) }, GuestLimits{LogRate: 1, LogBurst: 1, MaxSubscriptions: 1}},
		{"guest_log defaults", route1, func(c *Config) any { return c.GuestLog }, GuestLog{Rate: 1000, Burst: 10_000}},
		{"guest_log", "[guest_log]\nrate = 7\nburst = 9\n" + route1, func(c *Config) any { return c.GuestLog }, GuestLog{Rate: 7, Burst: 9}},
		{"kv defaults", route1, func(c *Config) any { return c.KV }, KV{Eviction: "reject", MaxKeys: 10_000, MaxBytes: 16 << 20, MaxValueBytes: 64 << 10}},
		{"kv lru", "[kv]\neviction = \"lru\"\n" + route1, func(c *Config) any { return c.KV.Eviction }, "lru"},
		{"kv soonest-expiry", "[kv]\neviction = \"soonest-expiry\"\nmax_keys = 1\nmax_bytes = 10\nmax_value_bytes = 10\n" + route1,
			func(c *Config) any { return c.KV }, KV{Eviction: "soonest-expiry", MaxKeys: 1, MaxBytes: 10, MaxValueBytes: 10}},
		{"pubsub max_subscriptions", "[pubsub]\nmax_subscriptions = 3\n" + route1, func(c *Config) any { return c.PubSub.MaxSubscriptions }, 3},
		{"pubsub max_subscriptions default", route1, func(c *Config) any { return c.PubSub.MaxSubscriptions }, 1 << 20},
		{"pubsub_scope", route1 + "pubsub = [\"chat\"]\npubsub_scope = \"chat-app\"\n", func(c *Config) any { return r(c).PubSubScope }, "chat-app"},
	})
}

func TestGuestLimitsBad(t *testing.T) {
	runBad(t, []badCase{
		{"log_rate zero", route1 + "log_rate = 0\n", "bubble.toml:3: route[1].log_rate: must be at least 1, got 0"},
		{"log_rate negative", route1 + "log_rate = -5\n", "bubble.toml:3: route[1].log_rate: must be at least 1, got -5"},
		{"log_rate string", route1 + "log_rate = \"100/s\"\n", "bubble.toml:3: route[1].log_rate: must be an integer, not string"},
		{"log_rate float", route1 + "log_rate = 0.5\n", "bubble.toml:3: route[1].log_rate: must be an integer, not float"},
		{"log_burst zero", route1 + "log_burst = 0\n", "bubble.toml:3: route[1].log_burst: must be at least 1, got 0"},
		{"max_subscriptions zero", route1 + "max_subscriptions = 0\n", "bubble.toml:3: route[1].max_subscriptions: must be at least 1, got 0"},
		{"max_subscriptions huge", route1 + "max_subscriptions = -9223372036854775808\n",
			"bubble.toml:3: route[1].max_subscriptions: must be at least 1, got -9223372036854775808"},
		{"pubsub_scope without pubsub", route1 + "pubsub_scope = \"chat\"\n", "bubble.toml:3: route[1].pubsub_scope: only valid with a pubsub grant"},
		{"pubsub_scope empty", route1 + "pubsub = [\"chat\"]\npubsub_scope = \"\"\n", "bubble.toml:4: route[1].pubsub_scope: must not be empty"},
		{"pubsub_scope space", route1 + "pubsub = [\"chat\"]\npubsub_scope = \"a b\"\n",
			`bubble.toml:4: route[1].pubsub_scope: must be 1 to 256 bytes of printable ASCII without spaces, got "a b"`},
		{"pubsub_scope not a string", route1 + "pubsub = [\"chat\"]\npubsub_scope = 1\n", "bubble.toml:4: route[1].pubsub_scope: must be a string, not integer"},
		{"guest_log not a table", "guest_log = 5\n" + route1, "bubble.toml:1: guest_log: must be a table, not integer"},
		{"guest_log unknown key", "[guest_log]\nlines = 5\n" + route1, "bubble.toml:2: guest_log.lines: unknown key (allowed: rate, burst)"},
		{"guest_log rate zero", "[guest_log]\nrate = 0\n" + route1, "bubble.toml:2: guest_log.rate: must be at least 1, got 0"},
		{"guest_log burst bool", "[guest_log]\nburst = true\n" + route1, "bubble.toml:2: guest_log.burst: must be an integer, not boolean"},
		{"pubsub max_subscriptions zero", "[pubsub]\nmax_subscriptions = 0\n" + route1, "bubble.toml:2: pubsub.max_subscriptions: must be at least 1, got 0"},
		{"kv not a table", "kv = \"lru\"\n" + route1, "bubble.toml:1: kv: must be a table, not string"},
		{"kv unknown key", "[kv]\nevict = \"lru\"\n" + route1,
			"bubble.toml:2: kv.evict: unknown key (allowed: eviction, max_keys, max_bytes, max_value_bytes)"},
		{"kv unknown eviction", "[kv]\neviction = \"random\"\n" + route1,
			`bubble.toml:2: kv.eviction: unknown eviction policy "random" (allowed: "reject", "lru", "soonest-expiry")`},
		{"kv max_keys zero", "[kv]\nmax_keys = 0\n" + route1, "bubble.toml:2: kv.max_keys: must be at least 1, got 0"},
		{"kv max_bytes zero", "[kv]\nmax_bytes = 0\n" + route1, "bubble.toml:2: kv.max_bytes: must be at least 1B, got 0B"},
		{"kv max_bytes bad unit", "[kv]\nmax_bytes = \"1 parsec\"\n" + route1,
			`bubble.toml:2: kv.max_bytes: invalid size "1 parsec": unknown unit "parsec" (allowed: B, KB, MB, GB, KiB, MiB, GiB)`},
		{"kv max_value_bytes over max_bytes", "[kv]\nmax_bytes = \"1KiB\"\nmax_value_bytes = \"2KiB\"\n" + route1,
			"bubble.toml:3: kv.max_value_bytes: must be at most max_bytes (1KiB), got 2KiB"},
		{"kv max_value_bytes over 1GiB", "[kv]\nmax_value_bytes = \"2GiB\"\n" + route1, "bubble.toml:2: kv.max_value_bytes: must be at most 1GiB, got 2GiB"},
	})
}
