package app

import (
	"crypto/tls"
	"net"
	"sync/atomic"

	"github.com/bubblewasm/bubblewasm/server/config"
)

// listenerTLS is the TLS of a listener: every handshake takes the current
// tls.Config (certificates chosen by SNI, minimum version, client CAs),
// which a reload replaces after reading the files again. Connections
// already open keep the settings they were made with.
type listenerTLS struct {
	cur atomic.Pointer[tls.Config]
}

// newListenerTLS reads the files of t.
func newListenerTLS(t *config.TLS) (*listenerTLS, error) {
	cfg, err := t.Config()
	if err != nil {
		return nil, err
	}
	lt := &listenerTLS{}
	lt.cur.Store(cfg)
	return lt, nil
}

// wrap serves ln's connections over TLS.
func (lt *listenerTLS) wrap(ln net.Listener) net.Listener {
	return tls.NewListener(ln, &tls.Config{
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) { return lt.cur.Load(), nil },
	})
}
