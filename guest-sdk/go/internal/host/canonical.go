package host

import "github.com/bubblewasm/bubblewasm/abi/spec"

// CanonicalHeaderKey returns name in the canonical form of net/textproto
// ("content-type" becomes "Content-Type"). A name that is not a token is
// returned unchanged.
func CanonicalHeaderKey(name string) string {
	if !spec.ValidHeaderName(name) {
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
