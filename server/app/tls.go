package app

import (
	"crypto/tls"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"

	"github.com/bubblewasm/bubblewasm/server/config"
)

// listenerTLS is the TLS of a listener: every handshake takes the current
// tls.Config (certificates chosen by SNI, minimum version, client CAs),
// which a reload replaces after reading the files again, and so does a
// change of the files themselves (tls_watch.go). Connections already open
// keep the settings they were made with.
type listenerTLS struct {
	cur    atomic.Pointer[tls.Config]
	logger *slog.Logger

	mu     sync.Mutex
	files  *config.TLS // what cur was read from
	protos []string    // ALPN protocols offered (NextProtos)
	watch  *certWatch  // nil until watched, or when the files cannot be
}

// newListenerTLS reads the files of t; protos are the application
// protocols offered by ALPN (nil for none).
func newListenerTLS(t *config.TLS, protos []string, logger *slog.Logger) (*listenerTLS, error) {
	cfg, err := t.Config()
	if err != nil {
		return nil, err
	}
	lt := &listenerTLS{logger: logger}
	lt.set(t, protos, cfg)
	return lt, nil
}

// set makes cfg, read from files, the configuration of new handshakes.
func (lt *listenerTLS) set(files *config.TLS, protos []string, cfg *tls.Config) {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	lt.files, lt.protos = files, protos
	cfg.NextProtos = protos
	lt.cur.Store(cfg)
	if lt.watch != nil {
		lt.watch.rewatch(files)
	}
}

// wrap serves ln's connections over TLS.
func (lt *listenerTLS) wrap(ln net.Listener) net.Listener {
	return tls.NewListener(ln, &tls.Config{
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) { return lt.cur.Load(), nil },
	})
}

// alpn returns the application protocols a TLS listener offers: h2 and
// http/1.1 on an "http" listener (http/1.1 alone with http2 = false).
func alpn(l listener) []string {
	switch {
	case l.Transport != config.TransportHTTP:
		return nil
	case l.HTTP2:
		return []string{"h2", "http/1.1"}
	}
	return []string{"http/1.1"}
}
