package abi

import (
	"net/textproto"

	"github.com/bubblewasm/bubblewasm/abi/spec"
)

// Response header rules of set_header and add_header (ABI.md). The host
// owns the framing of every response: a guest names what a response is, the
// host decides how its bytes travel. Names and values are checked by the
// rules of package spec, the budget here, for ABI v1 handlers and CGI
// programs alike.

// Default response header budget (route keys max_response_headers and
// max_response_header_bytes).
const (
	// DefaultMaxResponseHeaders caps the header values of one response.
	DefaultMaxResponseHeaders = 100
	// DefaultMaxResponseHeaderBytes caps the bytes of one response's header
	// values, each counted as len(name)+len(value)+4 (": " and CRLF), as
	// they go on the wire.
	DefaultMaxResponseHeaderBytes = 64 << 10
)

// HostOwnedHeader reports whether a response header belongs to the host's
// framing of the response, so that a guest may not set it
// (spec.HostOwnedHeader): Connection, Keep-Alive, Proxy-Connection,
// Transfer-Encoding, Upgrade, Trailer and TE. Content-Length is not among
// them; see CheckResponseHeader.
func HostOwnedHeader(name string) bool { return spec.HostOwnedHeader(name) }

// CheckResponseHeader returns ErrInvalid when a guest may not send the
// header name: value on any response, whatever else the response holds,
// and 0 when it may. The rules are spec.ResponseHeaderOK's.
func CheckResponseHeader(name, value []byte) int32 {
	if !spec.ResponseHeaderOK(name, value) {
		return ErrInvalid
	}
	return 0
}

// HeaderLimits bound the response headers one exchange may set. Zero values
// mean the defaults.
type HeaderLimits struct {
	// MaxCount caps the number of header values.
	MaxCount int
	// MaxBytes caps their size as sent (name, value and 4 bytes each).
	MaxBytes int
}

// ResponseHeader applies set_header and add_header calls of one exchange
// to its response header map, keeping a tally of what they added against
// the limits. Headers put in the map by the host itself are not counted.
// The zero value has the default limits.
type ResponseHeader struct {
	Limits HeaderLimits
	count  int
	bytes  int
}

// Apply replaces (add=false) or appends to (add=true) the header name in h
// with value, which CheckResponseHeader already accepted. It returns 0,
// ErrInvalid for a second Content-Length value, or ErrTooLarge when the
// change would pass a limit; nothing changes unless it returns 0.
func (r *ResponseHeader) Apply(h map[string][]string, name, value string, add bool) int32 {
	maxCount, maxBytes := r.Limits.MaxCount, r.Limits.MaxBytes
	if maxCount <= 0 {
		maxCount = DefaultMaxResponseHeaders
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxResponseHeaderBytes
	}
	key := textproto.CanonicalMIMEHeaderKey(name)
	old := h[key]
	if add && key == "Content-Length" && len(old) > 0 {
		return ErrInvalid // two lengths are two framings
	}
	count, bytes := r.count+1, r.bytes+len(key)+len(value)+4
	if !add {
		// Values being replaced were counted if a guest set them; the
		// host's own never were, so the tally cannot go below zero.
		count = max(count-len(old), 1)
		for _, v := range old {
			bytes -= len(key) + len(v) + 4
		}
		bytes = max(bytes, len(key)+len(value)+4)
	}
	if count > maxCount || bytes > maxBytes {
		return ErrTooLarge
	}
	r.count, r.bytes = count, bytes
	if add {
		h[key] = append(old, value)
	} else {
		h[key] = []string{value}
	}
	return 0
}
