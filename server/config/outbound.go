package config

import (
	"time"

	"github.com/bubblewasm/bubblewasm/server/outbound"
)

// The route keys of outbound HTTP (bubblewasm_http_v1): outbound lists the
// origins and URL prefixes the route's module may request; the others
// bound each call and are only valid with it.

// Defaults and bounds of the outbound keys.
const (
	// DefaultOutboundTimeout is outbound_timeout's default.
	DefaultOutboundTimeout = outbound.DefaultTimeout
	// DefaultOutboundMaxRequestBytes is outbound_max_request_bytes'
	// default.
	DefaultOutboundMaxRequestBytes = outbound.DefaultMaxRequestBytes
	// DefaultOutboundMaxResponseBytes is outbound_max_response_bytes'
	// default.
	DefaultOutboundMaxResponseBytes = outbound.DefaultMaxResponseBytes
	// MaxOutboundRequestBytes is the largest outbound_max_request_bytes.
	MaxOutboundRequestBytes = 1 << 30
	// MaxOutboundResponseBytes is the largest outbound_max_response_bytes.
	MaxOutboundResponseBytes = 1 << 40
	// MaxOutboundEntries is the longest outbound list.
	MaxOutboundEntries = 1024
)

// outboundKeys are the route keys of this file, in schema order.
var outboundKeys = []string{"outbound", "outbound_timeout", "outbound_max_request_bytes", "outbound_max_response_bytes"}

// Outbound is a route's outbound HTTP grant.
type Outbound struct {
	// Allow are the entries, as written: http:// or https:// URLs of an
	// origin with an optional path prefix (outbound.ParseEntry).
	Allow []string
	// Timeout bounds a call whose guest passes none.
	Timeout time.Duration
	// MaxRequestBytes caps a request body.
	MaxRequestBytes int64
	// MaxResponseBytes caps a response body.
	MaxResponseBytes int64
}

// routeOutbound reads a route's outbound keys: Route.Outbound stays nil
// without an outbound list, and the limit keys are refused then.
func (c *checker) routeOutbound(t table, r *Route) {
	f, ok := c.get(t, "outbound")
	if ok {
		r.Outbound = &Outbound{Allow: c.outboundList(f), Timeout: DefaultOutboundTimeout,
			MaxRequestBytes: DefaultOutboundMaxRequestBytes, MaxResponseBytes: DefaultOutboundMaxResponseBytes}
		if r.Module == "" && (r.Transport != "" || r.Builtin != "") {
			c.errorf(f.path, f.line, "only valid on a route with a module")
		}
	}
	for _, key := range outboundKeys[1:] {
		f, ok := c.get(t, key)
		if !ok {
			continue
		}
		if r.Outbound == nil {
			c.errorf(f.path, f.line, "only valid with outbound = [...]")
			continue
		}
		switch key {
		case "outbound_timeout":
			if d, ok := c.duration(f, 1); ok {
				r.Outbound.Timeout = d
			}
		case "outbound_max_request_bytes":
			if n, ok := c.size(f, 0, MaxOutboundRequestBytes); ok {
				r.Outbound.MaxRequestBytes = n
			}
		case "outbound_max_response_bytes":
			if n, ok := c.size(f, 1, MaxOutboundResponseBytes); ok {
				r.Outbound.MaxResponseBytes = n
			}
		}
	}
}

// outboundList reads the outbound entries.
func (c *checker) outboundList(f field) []string {
	list, ok := f.v.([]any)
	if !ok {
		c.errorf(f.path, f.line, `must be an array of URLs such as ["https://api.example.com"], not %s`, typeName(f.v))
		return []string{}
	}
	if len(list) > MaxOutboundEntries {
		c.errorf(f.path, f.line, "must have at most %d entries, got %d", MaxOutboundEntries, len(list))
		return []string{}
	}
	out := make([]string, 0, len(list))
	for i, v := range list {
		s, ok := v.(string)
		if !ok {
			c.errorf(f.path, f.line, "entry %d must be a URL string, not %s", i+1, typeName(v))
			continue
		}
		if _, err := outbound.ParseEntry(s); err != nil {
			c.errorf(f.path, f.line, "entry %d %q %v", i+1, s, err)
			continue
		}
		out = append(out, s)
	}
	return out
}
