package server

import "github.com/bubblewasm/bubblewasm/abi"

// routeIndex narrows the routes an exchange can match to a few candidates
// by the value of one env key: the key that the most routes constrain with
// an exact or a prefix pattern. Every candidate is still checked in full,
// and candidates are tried in route order, so the first matching route wins
// as in a plain scan.
type routeIndex struct {
	key string
	// exact maps a value to the routes whose pattern on key is that value;
	// prefix maps a prefix base to the routes whose pattern on key is
	// "BASE/*". Each list is in route order.
	exact, prefix map[string][]int32
	// prefixLen[n] says whether some prefix base is n bytes long, so a
	// lookup hashes only the prefixes of the value that can be bases (a
	// value with many '/' costs no more than its bases allow).
	prefixLen []bool
	// always lists, in order, the routes without an exact or prefix
	// pattern on key: they are candidates for every exchange.
	always []int32
}

// minIndexedRoutes is the fewest routes an index is built for: a scan of
// a few routes costs less than the index's map lookups and merge.
const minIndexedRoutes = 8

// newRouteIndex indexes routes, or returns nil when there are too few or
// no route constrains a key by an exact or prefix pattern.
func newRouteIndex(routes []route) *routeIndex {
	if len(routes) < minIndexedRoutes {
		return nil
	}
	counts := make(map[string]int)
	for _, rt := range routes {
		for _, c := range rt.conds {
			if c.pattern.kind == exactPattern || c.pattern.kind == prefixPattern {
				counts[c.key]++
			}
		}
	}
	key, best := "", 0
	for k, n := range counts {
		if n > best || n == best && k != key && (k == abi.EnvPathInfo || key != abi.EnvPathInfo && k < key) {
			key, best = k, n
		}
	}
	if best == 0 {
		return nil
	}
	ix := &routeIndex{key: key, exact: make(map[string][]int32), prefix: make(map[string][]int32)}
	for i, rt := range routes {
		p, ok := rt.pattern(key)
		switch {
		case ok && p.kind == exactPattern:
			ix.exact[p.value] = append(ix.exact[p.value], int32(i))
		case ok && p.kind == prefixPattern:
			ix.prefix[p.value] = append(ix.prefix[p.value], int32(i))
			if n := len(p.value); n >= len(ix.prefixLen) {
				ix.prefixLen = append(ix.prefixLen, make([]bool, n+1-len(ix.prefixLen))...)
			}
			ix.prefixLen[len(p.value)] = true
		default:
			ix.always = append(ix.always, int32(i))
		}
	}
	return ix
}

// candidates appends to lists the route lists env can match: the always
// list, the exact list of env's value for the key and the list of every
// prefix base that the value equals or continues with '/'.
func (ix *routeIndex) candidates(env Env, lists [][]int32) [][]int32 {
	if len(ix.always) > 0 {
		lists = append(lists, ix.always)
	}
	v, ok := env[ix.key]
	if !ok {
		return lists
	}
	if l := ix.exact[v]; l != nil {
		lists = append(lists, l)
	}
	for n := min(len(v), len(ix.prefixLen)-1); n >= 0; n-- {
		if ix.prefixLen[n] && (n == len(v) || v[n] == '/') {
			if l := ix.prefix[v[:n]]; l != nil {
				lists = append(lists, l)
			}
		}
	}
	return lists
}

// first returns the index of the first route in routes that matches env,
// or -1: it merges the candidate lists (each in route order) and checks
// each candidate's patterns in that order.
func (ix *routeIndex) first(routes []route, env Env) int {
	var buf [8][]int32
	lists := ix.candidates(env, buf[:0])
	for {
		next := -1
		for j, l := range lists {
			if len(l) > 0 && (next < 0 || l[0] < lists[next][0]) {
				next = j
			}
		}
		if next < 0 {
			return -1
		}
		i := lists[next][0]
		lists[next] = lists[next][1:]
		if routes[i].matches(env) {
			return int(i)
		}
	}
}
