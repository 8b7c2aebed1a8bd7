package server

import (
	"errors"
	"fmt"
	"net"
)

// Hijacker is implemented by a ResponseWriter whose transport can hand its
// connection over to the handler, as an HTTP/1.1 request that upgrades the
// connection to another protocol (WebSocket) needs.
//
// After a successful Hijack the transport neither reads nor writes the
// connection again and ends it when the handler returns: the handler owns
// what goes over it until then, the response to the request included.
type Hijacker interface {
	// Hijack takes the connection over. It returns the connection and the
	// bytes the transport already read from it past the request, which
	// come before anything read from the connection. It fails with
	// ErrNotHijackable when the response has begun or the request body
	// has not been read to its end.
	Hijack() (conn net.Conn, buffered []byte, err error)
}

// ErrNotHijackable is returned by Hijack when the connection cannot be
// handed over.
var ErrNotHijackable = errors.New("connection cannot be taken over")

// Hijack takes over the connection of w, or of the writer w wraps: a
// wrapper (one that counts statuses, say) exposes the writer inside with
// an Unwrap() ResponseWriter method, as net/http's ResponseController
// expects. It fails with ErrNotHijackable when no writer in the chain is a
// Hijacker.
func Hijack(w ResponseWriter) (net.Conn, []byte, error) {
	for {
		switch t := w.(type) {
		case Hijacker:
			return t.Hijack()
		case interface{ Unwrap() ResponseWriter }:
			w = t.Unwrap()
		default:
			return nil, nil, fmt.Errorf("%w: %T is not an HTTP/1.1 connection's", ErrNotHijackable, w)
		}
	}
}

// CanHijack reports whether Hijack may succeed on w: whether some writer
// in its chain is a Hijacker.
func CanHijack(w ResponseWriter) bool {
	for {
		switch t := w.(type) {
		case Hijacker:
			return true
		case interface{ Unwrap() ResponseWriter }:
			w = t.Unwrap()
		default:
			return false
		}
	}
}
