package transport

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/server"
)

// requestEnv builds a request's env from its connection's. path is the
// request's cleaned path (cleanPath).
func requestEnv(base server.Env, r *http.Request, path string) server.Env {
	env := base.Clone()
	env[abi.EnvTransport] = "http"
	env[abi.EnvRequestMethod] = r.Method
	env[abi.EnvRequestURI] = r.RequestURI
	env[abi.EnvScriptName] = ""
	env[abi.EnvPathInfo] = path
	env[abi.EnvQueryString] = r.URL.RawQuery
	env[abi.EnvServerProtocol] = r.Proto
	env[abi.EnvURLScheme] = "http"
	if r.TLS != nil {
		env[abi.EnvURLScheme] = "https"
	}
	if r.ContentLength > 0 || r.Header.Get("Content-Length") != "" {
		env[abi.EnvContentLength] = strconv.FormatInt(r.ContentLength, 10)
	}
	env["HTTP_HOST"] = r.Host
	for name, values := range r.Header {
		switch {
		case name == "Content-Type":
			env[abi.EnvContentType] = strings.Join(values, ", ")
			continue
		case name == "Content-Length", name == "Host":
			continue
		case name == "Proxy":
			// httpoxy: as HTTP_PROXY, a client's header would pass for the
			// proxy setting of the handler's environment (CGI above all).
			continue
		case strings.Contains(name, "_"):
			// X_Forwarded and X-Forwarded would both become HTTP_X_FORWARDED:
			// drop the underscore form so it cannot spoof the other.
			continue
		}
		sep := ", "
		if name == "Cookie" {
			sep = "; "
		}
		env[abi.EnvHTTPPrefix+strings.ToUpper(strings.ReplaceAll(name, "-", "_"))] = strings.Join(values, sep)
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
