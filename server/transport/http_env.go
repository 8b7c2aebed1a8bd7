package transport

import (
	"errors"
	"strconv"
	"strings"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/server"
)

// fieldInfo is how a header field name goes into env: under key, unless
// skip. Repeated fields are joined with ", " ("; " for Cookie).
type fieldInfo struct {
	key  string
	skip bool
}

// maxCachedKeys caps the header names a connection remembers the env key
// of, beyond the common ones.
const maxCachedKeys = 64

// commonFields are the env keys of common header names, as clients spell
// them (canonical and lower case), so that a request does not build them.
var commonFields = func() map[string]fieldInfo {
	m := map[string]fieldInfo{}
	for _, name := range []string{
		"Accept", "Accept-Charset", "Accept-Encoding", "Accept-Language", "Authorization",
		"Cache-Control", "Connection", "Content-Length", "Content-Type", "Cookie", "Dnt",
		"Expect", "Forwarded", "Host", "If-Match", "If-Modified-Since", "If-None-Match",
		"If-Range", "Keep-Alive", "Origin", "Pragma", "Priority", "Proxy", "Range", "Referer",
		"Sec-Ch-Ua", "Sec-Ch-Ua-Mobile", "Sec-Ch-Ua-Platform", "Sec-Fetch-Dest",
		"Sec-Fetch-Mode", "Sec-Fetch-Site", "Sec-Fetch-User", "Te", "Traceparent",
		"Tracestate", "Trailer", "Transfer-Encoding", "Upgrade", "Upgrade-Insecure-Requests",
		"User-Agent", "Via", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto",
		"X-Real-Ip", "X-Request-Id", "X-Requested-With",
	} {
		info := envKey(name)
		m[name] = info
		m[strings.ToLower(name)] = info
	}
	return m
}()

// envKey returns the env key of a header field name: HTTP_ and the name
// in upper case with '-' as '_' (RFC 3875 §4.1.18). Fields the framing
// owns (Host, Content-Length, Transfer-Encoding) and two kinds of spoofing
// are left out of env: names with '_' (X_User and X-User would both be
// HTTP_X_USER, and a front proxy sets only the second), and Proxy
// (httpoxy: HTTP_PROXY passes for a proxy setting, in CGI above all).
func envKey(name string) fieldInfo {
	if strings.IndexByte(name, '_') >= 0 {
		return fieldInfo{skip: true}
	}
	b := make([]byte, 0, len(abi.EnvHTTPPrefix)+len(name))
	b = append(b, abi.EnvHTTPPrefix...)
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c == '-':
			b = append(b, '_')
		case 'a' <= c && c <= 'z':
			b = append(b, c-'a'+'A')
		default:
			b = append(b, c)
		}
	}
	switch key := string(b); key {
	case "HTTP_HOST", "HTTP_CONTENT_LENGTH", "HTTP_TRANSFER_ENCODING", "HTTP_PROXY":
		return fieldInfo{skip: true}
	case "HTTP_CONTENT_TYPE":
		return fieldInfo{key: abi.EnvContentType}
	default:
		return fieldInfo{key: key}
	}
}

// fieldKey is envKey through the common names and the connection's cache.
func (c *httpConn) fieldKey(name string) fieldInfo {
	if info, ok := commonFields[name]; ok {
		return info
	}
	if info, ok := c.keys[name]; ok {
		return info
	}
	info := envKey(name)
	if len(c.keys) < maxCachedKeys {
		c.keys[name] = info
	}
	return info
}

// requestLine is what env says of a request besides its header fields,
// in HTTP/1 and HTTP/2 alike.
type requestLine struct {
	method, target, path, query, proto string
	https                              bool
}

// requestEnv fills env with a connection's keys (base) and the CGI keys of
// a request: the request line, its cleaned path and the URL scheme.
func requestEnv(env server.Env, base []envPair, r requestLine) {
	for _, p := range base {
		env[p.k] = p.v
	}
	env[abi.EnvTransport] = "http"
	env[abi.EnvRequestMethod] = r.method
	env[abi.EnvRequestURI] = r.target
	env[abi.EnvScriptName] = ""
	env[abi.EnvPathInfo] = r.path
	env[abi.EnvQueryString] = r.query
	env[abi.EnvServerProtocol] = r.proto
	if r.https {
		env[abi.EnvURLScheme] = "https"
		env[abi.EnvHTTPS] = "on"
	} else {
		env[abi.EnvURLScheme] = "http"
	}
}

// joinFields joins the values of a repeated field into its env value:
// with ", ", or "; " for Cookie (RFC 9110 §5.3, RFC 6265 §5.4).
func joinFields(key string, values []string) string {
	if key == "HTTP_COOKIE" {
		return strings.Join(values, "; ")
	}
	return strings.Join(values, ", ")
}

// buildEnv fills the connection's env map with the request's env: the
// connection's keys, the CGI keys and the HTTP_* fields. path is the
// request's cleaned path (cleanPath). The map is reused by the next
// request: a handler must not keep Env after it returns (server.Exchange).
func (c *httpConn) buildEnv(path string) server.Env {
	r, env := &c.req, c.env
	clear(env)
	requestEnv(env, c.base, requestLine{method: r.method, target: r.target, path: path, query: r.query, proto: r.proto, https: c.https})
	if r.length >= 0 {
		if len(r.rawLen) > 1 && r.rawLen[0] == '0' {
			env[abi.EnvContentLength] = strconv.FormatInt(r.length, 10)
		} else {
			env[abi.EnvContentLength] = r.rawLen
		}
	}
	env["HTTP_HOST"] = r.host
	var dups map[string][]string // the values of fields that repeat, in order
	for _, f := range r.fields {
		info := c.fieldKey(f.name)
		if info.skip {
			continue
		}
		old, ok := env[info.key]
		if !ok {
			env[info.key] = f.value
			continue
		}
		// Joined at the end, once: joining field by field is quadratic in
		// a head of thousands of repeats.
		if dups == nil {
			dups = c.dups
		}
		if vs, ok := dups[info.key]; ok {
			dups[info.key] = append(vs, f.value)
		} else {
			dups[info.key] = []string{old, f.value}
		}
	}
	for key, vs := range dups {
		env[key] = joinFields(key, vs)
	}
	if len(dups) > maxCachedKeys {
		c.dups = map[string][]string{} // do not keep a large one
	} else {
		clear(dups)
	}
	return env
}

// errBadPath is a request path the transport refuses (400).
var errBadPath = errors.New("bad request path")

// cleanPath returns the path that routes see as PATH_INFO: the request's
// percent-decoded path with its dot segments removed (RFC 3986 §5.2.4),
// so that "/public/%2e%2e/admin" is "/admin", never a "/public/..." that a
// prefix route would take. A "%2F" is decoded to "/" before that, like any
// other escape, so it separates segments as a plain "/" does; REQUEST_URI
// keeps the target exactly as sent. A path that climbs above the root or
// holds a NUL (from "%00") is refused.
func cleanPath(p string) (string, error) {
	if strings.IndexByte(p, 0) >= 0 {
		return "", errBadPath
	}
	if !strings.HasPrefix(p, "/") || !hasDotSegment(p) {
		return p, nil // "*", a CONNECT authority, or nothing to remove
	}
	segs := strings.Split(p[1:], "/")
	out := make([]string, 0, len(segs))
	trailing := false
	for i, s := range segs {
		last := i == len(segs)-1
		switch s {
		case ".":
			trailing = last
		case "..":
			if len(out) == 0 {
				return "", errBadPath
			}
			out = out[:len(out)-1]
			trailing = last
		default:
			out = append(out, s)
			trailing = false
		}
	}
	clean := "/" + strings.Join(out, "/")
	if trailing && len(out) > 0 {
		clean += "/"
	}
	return clean, nil
}

// hasDotSegment reports whether a path that starts with "/" has a "." or
// ".." segment.
func hasDotSegment(p string) bool {
	for i := 0; i < len(p); i++ {
		if p[i] != '/' || i+1 >= len(p) || p[i+1] != '.' {
			continue
		}
		rest := p[i+1:]
		if rest == "." || rest == ".." || strings.HasPrefix(rest, "./") || strings.HasPrefix(rest, "../") {
			return true
		}
	}
	return false
}
