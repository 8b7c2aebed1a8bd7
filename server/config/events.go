package config

import (
	"strings"

	"github.com/bubblewasm/bubblewasm/server/internal/ratelog"
)

// Settings that bound what guests cost the host through the log and the
// event services: the guest log budget ([guest_log], route log_rate and
// log_burst), subscriptions ([pubsub] max_subscriptions, route
// max_subscriptions) and the key-value store ([kv]).

// Names of the [kv] eviction policies.
const (
	// EvictReject refuses a set on a full namespace (ERR_FULL).
	EvictReject = "reject"
	// EvictLRU evicts the least recently used keys to make room.
	EvictLRU = "lru"
	// EvictSoonestExpiry evicts the keys that expire soonest to make room;
	// keys without a ttl are never evicted.
	EvictSoonestExpiry = "soonest-expiry"
)

// Defaults of the guest-cost settings.
const (
	// DefaultGuestLogRate is the records per second all guests together
	// may log ([guest_log] rate).
	DefaultGuestLogRate = 1000
	// DefaultGuestLogBurst is the process-wide bucket ([guest_log] burst).
	DefaultGuestLogBurst = 10_000
	// DefaultLogRate is the records per second one route's guests may log
	// (route log_rate).
	DefaultLogRate = ratelog.DefaultRate
	// DefaultLogBurst is one route's bucket (route log_burst).
	DefaultLogBurst = ratelog.DefaultBurst
	// DefaultMaxSubscriptions is the process-wide subscription cap
	// ([pubsub] max_subscriptions).
	DefaultMaxSubscriptions = 1 << 20
	// DefaultRouteMaxSubscriptions is one route's subscription cap (route
	// max_subscriptions): room for well over 10,000 chat pages.
	DefaultRouteMaxSubscriptions = 16_384
	// DefaultEviction is the [kv] eviction policy.
	DefaultEviction = EvictReject
	// DefaultKVMaxKeys caps the keys of a namespace ([kv] max_keys).
	DefaultKVMaxKeys = 10_000
	// DefaultKVMaxBytes caps the bytes of a namespace ([kv] max_bytes).
	DefaultKVMaxBytes = 16 << 20
	// DefaultKVMaxValueBytes caps one value ([kv] max_value_bytes).
	DefaultKVMaxValueBytes = 64 << 10
)

// GuestLog is the [guest_log] table: the budget of log records shared by
// every route (guest log calls, stdout and stderr lines, and what the host
// logs on a guest's behalf), on top of each route's own.
type GuestLog struct {
	// Rate is the records per second let through in the long run.
	Rate int
	// Burst is how many records pass at once after a quiet spell.
	Burst int
}

// KV is the [kv] table: the limits and the eviction policy of every
// key-value namespace.
type KV struct {
	// Eviction is "reject", "lru" or "soonest-expiry".
	Eviction string
	// MaxKeys caps the live keys of a namespace.
	MaxKeys int
	// MaxBytes caps the sum of the keys' and values' lengths of a
	// namespace.
	MaxBytes int64
	// MaxValueBytes caps one value.
	MaxValueBytes int64
}

// GuestLimits are a route's limits on what its module costs the host
// beyond its exchanges, and the scope in which its subscriptions are
// shared and counted.
type GuestLimits struct {
	// LogRate is the log records per second the route's module may make
	// in the long run; the excess is dropped and counted.
	LogRate int
	// LogBurst is how many records pass at once after a quiet spell.
	LogBurst int
	// MaxSubscriptions caps the live subscriptions of the route's pub/sub
	// scope (ERR_FULL beyond).
	MaxSubscriptions int
	// PubSubScope names the routes that share subscriptions: a
	// subscription made on a route can be fetched from and ended on the
	// routes of the same scope only (and only within each one's pubsub
	// grant). "" is the route's own scope, shared with no other route.
	PubSubScope string
}

var (
	guestLogKeys = []string{"rate", "burst"}
	kvKeys       = []string{"eviction", "max_keys", "max_bytes", "max_value_bytes"}
	evictions    = []string{EvictReject, EvictLRU, EvictSoonestExpiry}
)

// DefaultGuestLimits returns a route's GuestLimits when the file sets none.
func DefaultGuestLimits() GuestLimits {
	return GuestLimits{LogRate: DefaultLogRate, LogBurst: DefaultLogBurst, MaxSubscriptions: DefaultRouteMaxSubscriptions}
}

// subtable returns root's table key, if present and a table.
func (c *checker) subtable(root table, key string, known []string) (table, bool) {
	f, ok := c.get(root, key)
	if !ok {
		return table{}, false
	}
	m, ok := f.v.(map[string]any)
	if !ok {
		c.errorf(f.path, f.line, "must be a table, not %s", typeName(f.v))
		return table{}, false
	}
	t := table{m: m, path: f.path, line: f.line}
	c.unknownKeys(t, known)
	return t, true
}

// guestLog reads the [guest_log] table.
func (c *checker) guestLog(root table, cfg *Config) {
	cfg.GuestLog = GuestLog{Rate: DefaultGuestLogRate, Burst: DefaultGuestLogBurst}
	t, ok := c.subtable(root, "guest_log", guestLogKeys)
	if !ok {
		return
	}
	if f, ok := c.get(t, "rate"); ok {
		if n, ok := c.integer(f, 1); ok {
			cfg.GuestLog.Rate = n
		}
	}
	if f, ok := c.get(t, "burst"); ok {
		if n, ok := c.integer(f, 1); ok {
			cfg.GuestLog.Burst = n
		}
	}
}

// kv reads the [kv] table.
func (c *checker) kv(root table, cfg *Config) {
	cfg.KV = KV{Eviction: DefaultEviction, MaxKeys: DefaultKVMaxKeys, MaxBytes: DefaultKVMaxBytes, MaxValueBytes: DefaultKVMaxValueBytes}
	t, ok := c.subtable(root, "kv", kvKeys)
	if !ok {
		return
	}
	if f, ok := c.get(t, "eviction"); ok {
		if s, ok := c.oneOf(f, "eviction policy", evictions); ok {
			cfg.KV.Eviction = s
		}
	}
	if f, ok := c.get(t, "max_keys"); ok {
		if n, ok := c.integer(f, 1); ok {
			cfg.KV.MaxKeys = n
		}
	}
	if f, ok := c.get(t, "max_bytes"); ok {
		if n, ok := c.size(f, 1, 1<<40); ok {
			cfg.KV.MaxBytes = n
		}
	}
	if f, ok := c.get(t, "max_value_bytes"); ok {
		if n, ok := c.size(f, 1, 1<<30); ok {
			if n > cfg.KV.MaxBytes {
				c.errorf(f.path, f.line, "must be at most max_bytes (%s), got %s", formatSize(cfg.KV.MaxBytes), formatSize(n))
			} else {
				cfg.KV.MaxValueBytes = n
			}
		}
	}
}

// pubsubMaxSubscriptions reads [pubsub] max_subscriptions.
func (c *checker) pubsubMaxSubscriptions(t table, p *PubSub) {
	p.MaxSubscriptions = DefaultMaxSubscriptions
	if f, ok := c.get(t, "max_subscriptions"); ok {
		if n, ok := c.integer(f, 1); ok {
			p.MaxSubscriptions = n
		}
	}
}

// routeGuest reads a route's log_rate, log_burst, max_subscriptions and
// pubsub_scope. It runs after the pubsub grant is read.
func (c *checker) routeGuest(t table, r *Route) {
	r.Guest = DefaultGuestLimits()
	if f, ok := c.get(t, "log_rate"); ok {
		if n, ok := c.integer(f, 1); ok {
			r.Guest.LogRate = n
		}
	}
	if f, ok := c.get(t, "log_burst"); ok {
		if n, ok := c.integer(f, 1); ok {
			r.Guest.LogBurst = n
		}
	}
	if f, ok := c.get(t, "max_subscriptions"); ok {
		if n, ok := c.integer(f, 1); ok {
			r.Guest.MaxSubscriptions = n
		}
	}
	if f, ok := c.get(t, "pubsub_scope"); ok {
		s, ok := c.name(f)
		switch {
		case !ok:
		case len(s) > 256 || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r > '~' }):
			c.errorf(f.path, f.line, "must be 1 to 256 bytes of printable ASCII without spaces, got %q", s)
		case r.PubSub == nil:
			c.errorf(f.path, f.line, "only valid with a pubsub grant")
		default:
			r.Guest.PubSubScope = s
		}
	}
}
