package events

import (
	"crypto/rand"
	"encoding/base64"
)

// idBytes is the entropy of a subscription ID: 128 bits.
const idBytes = 16

// newID returns 128 random bits from crypto/rand in unpadded URL-safe
// base64 (22 characters of [A-Za-z0-9_-]), safe in a cookie, a URL or a
// header without escaping. crypto/rand.Read does not fail (Go ≥ 1.24).
func newID() SubID {
	var b [idBytes]byte
	rand.Read(b[:])
	return SubID(base64.RawURLEncoding.EncodeToString(b[:]))
}
