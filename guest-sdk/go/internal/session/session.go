// Package session holds the stored form of the SDK's sessions, shared by
// package bubble (which loads and saves sessions) and package bubbletest
// (which lets tests make and inspect them). See bubble.Session for the
// format.
package session

import (
	"slices"
	"strings"
)

// Cookie is the cookie that carries a session's id.
const Cookie = "bubble_session"

// KeyPrefix prefixes a session's id in its key-value key.
const KeyPrefix = "session:"

// IDBytes is the entropy of a session id: 128 bits, written as 32
// lowercase hex digits.
const IDBytes = 16

// FormatID writes random bytes as an id.
func FormatID(b []byte) string {
	const hex = "0123456789abcdef"
	id := make([]byte, 0, 2*len(b))
	for _, c := range b {
		id = append(id, hex[c>>4], hex[c&15])
	}
	return string(id)
}

// ValidID reports whether id has the form of the ids FormatID writes for
// IDBytes bytes.
func ValidID(id string) bool {
	if len(id) != 2*IDBytes {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// SetCookie is the Set-Cookie value of a new session id.
func SetCookie(id string) string {
	return Cookie + "=" + id + "; Path=/; HttpOnly; SameSite=Lax"
}

// CookieValues returns the values of every cookie called name in a Cookie
// header ("a=1; b=2"; HTTP_COOKIE joins repeated headers with "; "), in
// order, with surrounding spaces and double quotes removed.
func CookieValues(header, name string) []string {
	var values []string
	for header != "" {
		var pair string
		pair, header, _ = strings.Cut(header, ";")
		k, v, ok := strings.Cut(pair, "=")
		if !ok || strings.Trim(k, " \t") != name {
			continue
		}
		v = strings.Trim(v, " \t")
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		values = append(values, v)
	}
	return values
}

// escapes are the bytes escaped in the stored form.
const escapes = "%=\r\n"

// Encode returns the stored form of values: one "key=value\n" line per key
// in ascending key order, with '%', '=', CR and LF inside keys and values
// written as %25, %3D, %0D and %0A.
func Encode(values map[string]string) []byte {
	keys := make([]string, 0, len(values))
	size := 0
	for k, v := range values {
		keys = append(keys, k)
		size += len(k) + len(v) + 2
	}
	slices.Sort(keys)
	b := make([]byte, 0, size)
	for _, k := range keys {
		b = appendEscaped(b, k)
		b = append(b, '=')
		b = appendEscaped(b, values[k])
		b = append(b, '\n')
	}
	return b
}

func appendEscaped(b []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		if c := s[i]; strings.IndexByte(escapes, c) >= 0 {
			b = append(b, '%', hex[c>>4], hex[c&15])
		} else {
			b = append(b, c)
		}
	}
	return b
}

// Decode parses the stored form. It accepts any %XX escape (either case),
// keeps malformed escapes as they are, skips lines without '=' and lets a
// later line win over an earlier one with the same key. It never fails.
func Decode(data []byte) map[string]string {
	values := map[string]string{}
	s := string(data)
	for s != "" {
		var line string
		line, s, _ = strings.Cut(s, "\n")
		if k, v, ok := strings.Cut(line, "="); ok {
			values[unescape(k)] = unescape(v)
		}
	}
	return values
}

func unescape(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if ok1 && ok2 {
				b = append(b, hi<<4|lo)
				i += 2
				continue
			}
		}
		b = append(b, s[i])
	}
	return string(b)
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
