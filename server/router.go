package server

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/bubblewasm/bubblewasm/abi"
)

// Pattern matches one env value. ParsePattern reads three forms:
//
//   - exact: no '*', '?' or '['; the value must be equal.
//   - prefix: "BASE/*" with no other metacharacter; matches BASE itself and
//     everything below "BASE/". On PATH_INFO it mounts the route at BASE:
//     SCRIPT_NAME gains BASE and PATH_INFO keeps the rest, as in WSGI.
//   - glob: anything else, with path.Match rules ('*' does not cross '/');
//     a lone "*" matches any value.
//
// An env key that is absent matches no pattern.
type Pattern struct {
	kind  patternKind
	value string // the exact value, the prefix base, or the glob
}

type patternKind int

const (
	exactPattern patternKind = iota
	prefixPattern
	globPattern
	anyPattern
)

// ParsePattern parses a route pattern.
func ParsePattern(s string) (Pattern, error) {
	const meta = "*?[\\"
	switch {
	case s == "*":
		return Pattern{kind: anyPattern}, nil
	case strings.HasSuffix(s, "/*") && !strings.ContainsAny(s[:len(s)-2], meta):
		return Pattern{kind: prefixPattern, value: s[:len(s)-2]}, nil
	case !strings.ContainsAny(s, meta):
		return Pattern{kind: exactPattern, value: s}, nil
	}
	if _, err := path.Match(s, ""); err != nil {
		return Pattern{}, fmt.Errorf("pattern %q: %w", s, err)
	}
	return Pattern{kind: globPattern, value: s}, nil
}

// String returns the pattern as ParsePattern reads it.
func (p Pattern) String() string {
	switch p.kind {
	case anyPattern:
		return "*"
	case prefixPattern:
		return p.value + "/*"
	}
	return p.value
}

// Exact returns the value an exact pattern matches, and whether p is one.
func (p Pattern) Exact() (string, bool) { return p.value, p.kind == exactPattern }

// Match reports whether v matches.
func (p Pattern) Match(v string) bool {
	switch p.kind {
	case exactPattern:
		return v == p.value
	case prefixPattern:
		n := len(p.value)
		return len(v) >= n && v[:n] == p.value && (len(v) == n || v[n] == '/')
	case anyPattern:
		return true
	}
	ok, _ := path.Match(p.value, v)
	return ok
}

// Route sends the exchanges whose env matches every pattern to Handler.
type Route struct {
	// Name is set as bubble.route on the exchanges the route takes.
	Name string
	// Match maps env keys to patterns; a route with none takes everything.
	Match map[string]Pattern
	// Handler serves the route's exchanges.
	Handler Handler
}

// Router passes each exchange to the first route that matches it.
//
// The router indexes its routes by one env key: the key that the most
// routes constrain with an exact or a prefix pattern (PATH_INFO in
// practice). Exact values are looked up in a map, prefix bases by the
// value's '/'-separated prefixes; routes without such a pattern on the key
// (globs, "*", other keys only) are candidates for every exchange. The
// candidates are tried in route order with all their patterns, so the
// first matching route wins exactly as in a scan of the list, and the cost
// of a lookup does not grow with the number of indexed routes. A router of
// a few routes scans them.
type Router struct {
	routes []route
	index  *routeIndex // nil for a few routes or none with exact or prefix patterns
}

// route is a Route as the router tries it: its patterns in a slice, which
// is cheaper to walk for every exchange than the map.
type route struct {
	name    string
	handler Handler
	conds   []condition // PATH_INFO first, then by key
	mount   string      // the base of a prefix pattern on PATH_INFO
	mounts  bool
}

type condition struct {
	key     string
	pattern Pattern
}

// NewRouter returns a router that tries routes in order.
func NewRouter(routes ...Route) *Router {
	r := &Router{routes: make([]route, len(routes))}
	for i, rt := range routes {
		c := route{name: rt.Name, handler: rt.Handler}
		for key, p := range rt.Match {
			c.conds = append(c.conds, condition{key, p})
		}
		slices.SortFunc(c.conds, func(a, b condition) int {
			if (a.key == abi.EnvPathInfo) != (b.key == abi.EnvPathInfo) {
				if a.key == abi.EnvPathInfo {
					return -1
				}
				return 1
			}
			return strings.Compare(a.key, b.key)
		})
		if p, ok := rt.Match[abi.EnvPathInfo]; ok && p.kind == prefixPattern {
			c.mount, c.mounts = p.value, true
		}
		r.routes[i] = c
	}
	r.index = newRouteIndex(r.routes)
	return r
}

// Serve passes x to the first matching route, after setting bubble.route and
// splitting SCRIPT_NAME/PATH_INFO for a prefix match on PATH_INFO. Without a
// match it returns an error wrapping ErrNoRoute.
func (r *Router) Serve(ctx context.Context, x *Exchange) error {
	i := r.first(x.Env)
	if i < 0 {
		return fmt.Errorf("%w %s", ErrNoRoute, describe(x.Env))
	}
	rt := &r.routes[i]
	x.Env[abi.EnvRoute] = rt.name
	if rt.mounts {
		x.Env[abi.EnvScriptName] += rt.mount
		x.Env[abi.EnvPathInfo] = x.Env[abi.EnvPathInfo][len(rt.mount):]
	}
	return rt.handler.Serve(ctx, x)
}

// first returns the index of the first route that matches env, or -1.
func (r *Router) first(env Env) int {
	if r.index != nil {
		return r.index.first(r.routes, env)
	}
	for i := range r.routes {
		if r.routes[i].matches(env) {
			return i
		}
	}
	return -1
}

// pattern returns the route's pattern on key, if it has one.
func (rt *route) pattern(key string) (Pattern, bool) {
	for _, c := range rt.conds {
		if c.key == key {
			return c.pattern, true
		}
	}
	return Pattern{}, false
}

func (rt *route) matches(env Env) bool {
	for _, c := range rt.conds {
		v, ok := env[c.key]
		if !ok || !c.pattern.Match(v) {
			return false
		}
	}
	return true
}

// describe names an unrouted exchange for error messages.
func describe(env Env) string {
	if m, ok := env[abi.EnvRequestMethod]; ok {
		return m + " " + env[abi.EnvPathInfo]
	}
	return "the " + env[abi.EnvTransport] + " exchange on listener " + env[abi.EnvListener]
}
