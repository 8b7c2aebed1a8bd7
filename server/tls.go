package server

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
	"time"

	"github.com/bubblewasm/bubblewasm/abi"
)

// HandshakeTimeout bounds a TLS handshake on a listener's connection: a
// client that has not finished it by then is dropped.
const HandshakeTimeout = 10 * time.Second

// handshake completes the TLS handshake of conn, if it is a TLS
// connection, and adds the tls.* keys to env. ok is false when the
// handshake failed: then the connection must be closed.
func handshake(ctx context.Context, conn *timeoutConn, env Env) (ok bool, err error) {
	tc, isTLS := conn.Conn.(*tls.Conn)
	if !isTLS {
		return true, nil
	}
	ctx, cancel := context.WithTimeout(ctx, HandshakeTimeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		return false, err
	}
	TLSEnv(env, tc.ConnectionState())
	return true, nil
}

// TLSEnv adds the tls.* keys of a connection's TLS state to env.
func TLSEnv(env Env, st tls.ConnectionState) {
	env[abi.EnvTLSVersion] = strings.TrimPrefix(tls.VersionName(st.Version), "TLS ")
	env[abi.EnvTLSCipher] = tls.CipherSuiteName(st.CipherSuite)
	if st.ServerName != "" {
		env[abi.EnvTLSServerName] = st.ServerName
	}
	if len(st.VerifiedChains) > 0 && len(st.VerifiedChains[0]) > 0 {
		env[abi.EnvTLSClientSubject] = st.VerifiedChains[0][0].Subject.String()
	}
}

// TLSState returns the TLS state of a listener's connection (its
// NegotiatedProtocol is what ALPN chose), and false for a plain one.
func TLSState(c net.Conn) (tls.ConnectionState, bool) {
	if tc, ok := c.(*timeoutConn); ok {
		c = tc.Conn
	}
	if tc, ok := c.(*tls.Conn); ok {
		return tc.ConnectionState(), true
	}
	return tls.ConnectionState{}, false
}
