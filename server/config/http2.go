package config

import "github.com/bubblewasm/bubblewasm/server/transport"

// HTTP/2 on an "http" listener: the keys http2 (over TLS, by ALPN), h2c
// (cleartext) and max_concurrent_streams.

const (
	// DefaultHTTP2 offers HTTP/2 by ALPN on TLS "http" listeners.
	DefaultHTTP2 = true
	// DefaultH2C leaves cleartext HTTP/2 off: a client must ask for it
	// with a listener that turns it on.
	DefaultH2C = false
	// DefaultMaxConcurrentStreams caps the streams an HTTP/2 connection
	// runs at once (RFC 9113 §5.1.2 recommends allowing at least 100).
	DefaultMaxConcurrentStreams = transport.DefaultMaxConcurrentStreams
	// MaxMaxConcurrentStreams bounds max_concurrent_streams: each stream
	// may hold a running exchange, so a connection is kept from asking
	// for more than a process serves at once.
	MaxMaxConcurrentStreams = 10_000
)

var http2Keys = []string{"http2", "h2c", "max_concurrent_streams"}

// listenerHTTP2 reads a listener's http2, h2c and max_concurrent_streams:
// "http" socket listeners only; h2c on plain (not TLS) sockets only.
func (c *checker) listenerHTTP2(t table, l *Listener, scheme string, transportOK bool) {
	isHTTP := l.Transport == TransportHTTP && scheme != "amqp" && scheme != "amqps"
	if isHTTP {
		l.HTTP2, l.H2C, l.MaxConcurrentStreams = DefaultHTTP2, DefaultH2C, DefaultMaxConcurrentStreams
	}
	for _, k := range http2Keys {
		f, ok := c.get(t, k)
		if !ok {
			continue
		}
		if scheme == "amqp" || scheme == "amqps" {
			c.errorf(f.path, f.line, "only valid with a tcp://, tls://, unix:// or systemd:// address")
			continue
		}
		if transportOK && !isHTTP {
			c.errorf(f.path, f.line, "only valid with transport = %q, not %q", TransportHTTP, l.Transport)
			continue
		}
		if k == "max_concurrent_streams" {
			if n, ok := c.bounded(f, 1, MaxMaxConcurrentStreams); ok && isHTTP {
				l.MaxConcurrentStreams = n
			}
			continue
		}
		b, isBool := f.v.(bool)
		switch {
		case !isBool:
			c.errorf(f.path, f.line, "must be true or false, not %s", typeName(f.v))
		case k == "http2":
			l.HTTP2 = b
		case b && l.TLS != nil:
			c.errorf(f.path, f.line, "cleartext HTTP/2 on a TLS listener: HTTP/2 over TLS is http2 = true (the default)")
		default:
			l.H2C = b
		}
	}
}
