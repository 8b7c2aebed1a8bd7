// Command envdump is a bubblewasm handler that answers with its whole env as
// one JSON object, keys sorted. Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o envdump.wasm ./modules/envdump
package main

import (
	"slices"
	"unicode/utf8"

	bubble "github.com/bubblewasm/bubblewasm/guest-sdk/go"
)

func init() { bubble.Handle(envdump) }

// main is never run: the module is a reactor and init registers the handler.
func main() {}

func envdump(req *bubble.Request) *bubble.Response {
	keys := make([]string, 0, len(req.Env))
	for k := range req.Env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b := []byte{'{'}
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendJSONString(b, req.Env[k])
	}
	b = append(b, '}', '\n')
	h := bubble.Header{}
	h.Set("Content-Type", "application/json")
	return &bubble.Response{Header: h, Body: b}
}

// appendJSONString appends s as a JSON string, as encoding/json does with
// HTML escaping off: control characters escaped, invalid UTF-8 replaced by
// U+FFFD, U+2028 and U+2029 escaped for JavaScript. It stands in for
// encoding/json, which would add about 1.2 MiB to the module.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\b':
				b = append(b, '\\', 'b')
			case c == '\f':
				b = append(b, '\\', 'f')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
