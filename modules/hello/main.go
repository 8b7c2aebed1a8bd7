// Command hello is a bubblewasm handler that greets: "Hello, world!" or,
// with the query string name=X, "Hello, X!". Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o hello.wasm ./modules/hello
package main

import (
	"strings"

	bubble "github.com/bubblewasm/bubblewasm/guest-sdk/go"
)

func init() { bubble.Handle(hello) }

// main is never run: the module is a reactor and init registers the handler.
func main() {}

func hello(req *bubble.Request) *bubble.Response {
	name := queryParam(req.Env["QUERY_STRING"], "name")
	if name == "" {
		name = "world"
	}
	h := bubble.Header{}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	return &bubble.Response{Header: h, Body: []byte("Hello, " + name + "!\n")}
}

// queryParam returns the decoded value of the first key=value pair in the
// URL query q whose decoded key is key. It stands in for net/url, which would
// add about 900 KiB to the module.
func queryParam(q, key string) string {
	for q != "" {
		var pair string
		pair, q, _ = strings.Cut(q, "&")
		k, v, _ := strings.Cut(pair, "=")
		if unescape(k) == key {
			return unescape(v)
		}
	}
	return ""
}

// unescape decodes '+' and %XX escapes in a query component. A malformed
// escape is kept as it is.
func unescape(s string) string {
	if !strings.ContainsAny(s, "+%") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b = append(b, ' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}
