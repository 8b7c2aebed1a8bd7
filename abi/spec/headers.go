package spec

// Text is what the checks of this package read: a Go string (a guest's
// argument) or a byte slice (guest memory, read in place by the host).
type Text interface{ ~string | ~[]byte }

// Response header rules of set_header and add_header (ABI.md). The host
// owns the framing of every response: a guest names what a response is, the
// host decides how its bytes travel.

// ResponseHeaderOK reports whether a guest may send the header name: value
// on any response, whatever else the response holds. The name must be an
// RFC 9110 token ([ValidHeaderName]) and not a [HostOwnedHeader]; the value
// must hold no control byte other than HTAB ([ValidHeaderValue]); a
// Content-Length value must be a plain decimal number of 1 to 18 digits
// without a superfluous leading zero (the host then holds the body to it).
func ResponseHeaderOK[T Text](name, value T) bool {
	if !ValidHeaderName(name) || !ValidHeaderValue(value) || HostOwnedHeader(name) {
		return false
	}
	return !equalFold(name, "content-length") || validContentLength(value)
}

// ValidHeaderName reports whether name is a non-empty RFC 9110 token.
func ValidHeaderName[T Text](name T) bool {
	if len(name) == 0 {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !isTokenChar(name[i]) {
			return false
		}
	}
	return true
}

// ValidHeaderValue reports whether value holds no control byte other than
// HTAB: no 0x00-0x08, 0x0A-0x1F or 0x7F (RFC 9110 §5.5). Bytes from 0x80 up
// (obs-text) are allowed.
func ValidHeaderValue[T Text](value T) bool {
	for i := 0; i < len(value); i++ {
		if c := value[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// HostOwnedHeader reports whether a response header belongs to the host's
// framing of the response, so that a guest may not set it: Connection,
// Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade, Trailer and TE,
// in any case. Content-Length is not among them; see ResponseHeaderOK.
func HostOwnedHeader[T Text](name T) bool {
	for _, h := range [...]string{"connection", "keep-alive", "proxy-connection",
		"transfer-encoding", "upgrade", "trailer", "te"} {
		if equalFold(name, h) {
			return true
		}
	}
	return false
}

// equalFold reports whether s equals lower, a lower-case ASCII string,
// ignoring the case of ASCII letters.
func equalFold[T Text](s T, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// validContentLength reports whether v is 1 to 18 decimal digits without a
// superfluous leading zero.
func validContentLength[T Text](v T) bool {
	if len(v) == 0 || len(v) > 18 || len(v) > 1 && v[0] == '0' {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return true
}

// isTokenChar reports whether c is an RFC 9110 tchar.
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}
