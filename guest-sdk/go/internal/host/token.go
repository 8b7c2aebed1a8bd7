package host

// ValidHeaderName reports whether name is a non-empty RFC 9110 token.
func ValidHeaderName(name string) bool {
	if name == "" {
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
// HTAB (RFC 9110 §5.5).
func ValidHeaderValue(value string) bool {
	for i := 0; i < len(value); i++ {
		if c := value[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// ResponseHeaderOK reports whether the host accepts name: value from
// set_header or add_header on any response (ABI.md): a valid name and
// value, not one of the headers the host owns the framing with, and a
// Content-Length that is a plain decimal number.
func ResponseHeaderOK(name, value string) bool {
	if !ValidHeaderName(name) || !ValidHeaderValue(value) {
		return false
	}
	switch CanonicalHeaderKey(name) {
	case "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade", "Trailer", "Te":
		return false
	case "Content-Length":
		if value == "" || len(value) > 18 || len(value) > 1 && value[0] == '0' {
			return false
		}
		for i := 0; i < len(value); i++ {
			if value[i] < '0' || value[i] > '9' {
				return false
			}
		}
	}
	return true
}

func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	for i := 0; i < len(tokenPunct); i++ {
		if c == tokenPunct[i] {
			return true
		}
	}
	return false
}

const tokenPunct = "!#$%&'*+-.^_`|~"

// CanonicalHeaderKey returns name in the canonical form of net/textproto
// ("content-type" becomes "Content-Type"). A name that is not a token is
// returned unchanged.
func CanonicalHeaderKey(name string) string {
	if !ValidHeaderName(name) {
		return name
	}
	upper := true
	canonical := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
			canonical = false
			break
		}
		upper = c == '-'
	}
	if canonical {
		return name
	}
	b := []byte(name)
	upper = true
	for i, c := range b {
		if upper && 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		} else if !upper && 'A' <= c && c <= 'Z' {
			b[i] = c - 'A' + 'a'
		}
		upper = c == '-'
	}
	return string(b)
}
