package abi

import (
	"net/textproto"
)

// Response header rules of set_header and add_header (ABI.md). The host
// owns the framing of every response: a guest names what a response is, the
// host decides how its bytes travel. Names, values and the budget are
// checked here once, for ABI v1 handlers and CGI programs alike.

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
// framing of the response, so that a guest may not set it: Connection,
// Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade, Trailer and TE.
// Content-Length is not among them; see CheckResponseHeader.
func HostOwnedHeader(name string) bool {
	switch textproto.CanonicalMIMEHeaderKey(name) {
	case "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade", "Trailer", "Te":
		return true
	}
	return false
}

// CheckResponseHeader returns ErrInvalid when a guest may not send the
// header name: value on any response, whatever else the response holds,
// and 0 when it may. The name must be an RFC 9110 token and not a
// HostOwnedHeader; the value must hold no control byte other than HTAB
// (RFC 9110 §5.5); a Content-Length value must be a plain decimal number
// (the host then holds the body to it).
func CheckResponseHeader(name, value []byte) int32 {
	if !ValidHeaderName(name) || !ValidHeaderValue(value) || HostOwnedHeader(string(name)) {
		return ErrInvalid
	}
	if isContentLength(name) && !validContentLength(value) {
		return ErrInvalid
	}
	return 0
}

func isContentLength(name []byte) bool {
	const cl = "content-length"
	if len(name) != len(cl) {
		return false
	}
	for i, c := range name {
		if c|0x20 != cl[i] && c != '-' {
			return false
		}
	}
	return true
}

// validContentLength reports whether v is 1 to 18 decimal digits without a
// superfluous leading zero.
func validContentLength(v []byte) bool {
	if len(v) == 0 || len(v) > 18 || len(v) > 1 && v[0] == '0' {
		return false
	}
	for _, c := range v {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
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
