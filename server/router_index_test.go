package server_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/server"
)

// The router indexes its routes; these tests compare it with a plain scan
// of the routes in order (linearRoute below), on fixed and random tables.

// routeSpec is a route as the tests write it: env key to pattern text.
type routeSpec map[string]string

// routed is what routing one env did: the route taken ("" for none) and the
// SCRIPT_NAME and PATH_INFO its handler saw.
type routed struct {
	route, script, path string
}

// linearRoute is the reference: the first route whose patterns all match
// env, with a prefix pattern on PATH_INFO mounting its base.
func linearRoute(t *testing.T, specs []routeSpec, env server.Env) routed {
	for i, spec := range specs {
		ok := true
		for key, s := range spec {
			v, present := env[key]
			if !present || !mustPattern(t, s).Match(v) {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		script, path := env[abi.EnvScriptName], env[abi.EnvPathInfo]
		if base, ok := prefixBase(spec[abi.EnvPathInfo]); ok {
			script, path = script+base, path[len(base):]
		}
		return routed{fmt.Sprint("r", i), script, path}
	}
	return routed{}
}

// prefixBase returns the base of a prefix pattern "BASE/*", as
// server.ParsePattern reads it.
func prefixBase(s string) (string, bool) {
	base, ok := strings.CutSuffix(s, "/*")
	return base, ok && !strings.ContainsAny(base, "*?[\\")
}

// indexedRouter builds a server.Router from specs; route calls it.
type indexedRouter struct {
	router *server.Router
	got    routed
}

// newIndexedRouter builds a router of specs followed by routes that match
// nothing and leave the choice of the indexed key alone, so that even a
// short table is indexed (the router scans a few routes instead).
func newIndexedRouter(t *testing.T, specs []routeSpec) *indexedRouter {
	ir := &indexedRouter{}
	indexable := false
	for _, spec := range specs {
		for _, s := range spec {
			_, prefix := prefixBase(s)
			indexable = indexable || prefix || !strings.ContainsAny(s, "*?[\\")
		}
	}
	for range server.MinIndexedRoutes {
		specs = append(specs[:len(specs):len(specs)], routeSpec{"NEVER_SET": "never*"})
	}
	routes := make([]server.Route, len(specs))
	for i, spec := range specs {
		m := make(map[string]server.Pattern, len(spec))
		for key, s := range spec {
			m[key] = mustPattern(t, s)
		}
		name := fmt.Sprint("r", i)
		routes[i] = server.Route{Name: name, Match: m, Handler: server.HandlerFunc(func(_ context.Context, x *server.Exchange) error {
			ir.got = routed{name, x.Env[abi.EnvScriptName], x.Env[abi.EnvPathInfo]}
			return nil
		})}
	}
	ir.router = server.NewRouter(routes...)
	if ir.router.Indexed() != indexable {
		t.Fatalf("router indexed: %v, want %v", ir.router.Indexed(), indexable)
	}
	return ir
}

func (ir *indexedRouter) route(t *testing.T, env server.Env) routed {
	ir.got = routed{}
	err := ir.router.Serve(context.Background(), &server.Exchange{Env: env.Clone()})
	if err != nil && !errors.Is(err, server.ErrNoRoute) {
		t.Fatal(err)
	}
	if (err == nil) != (ir.got.route != "") {
		t.Fatalf("Serve returned %v and routed to %q", err, ir.got.route)
	}
	return ir.got
}

func TestRouterIndexFixed(t *testing.T) {
	env := func(kv ...string) server.Env {
		e := server.Env{abi.EnvScriptName: ""}
		for i := 0; i < len(kv); i += 2 {
			e[kv[i]] = kv[i+1]
		}
		return e
	}
	path := func(p string) server.Env { return env(abi.EnvPathInfo, p, abi.EnvRequestMethod, "GET") }
	many := make([]routeSpec, 1000)
	for i := range many {
		many[i] = routeSpec{abi.EnvPathInfo: fmt.Sprintf("/r%d/*", i)}
	}
	for _, tc := range []struct {
		name   string
		specs  []routeSpec
		env    server.Env
		want   string // the route name, "" for none
		script string // SCRIPT_NAME seen by the route
	}{
		{"exact", []routeSpec{{abi.EnvPathInfo: "/a"}, {abi.EnvPathInfo: "/b"}}, path("/b"), "r1", ""},
		{"prefix shadows later exact", []routeSpec{{abi.EnvPathInfo: "/a/*"}, {abi.EnvPathInfo: "/a/b"}}, path("/a/b"), "r0", "/a"},
		{"exact before prefix", []routeSpec{{abi.EnvPathInfo: "/a/b"}, {abi.EnvPathInfo: "/a/*"}}, path("/a/b"), "r0", ""},
		{"glob before exact", []routeSpec{{abi.EnvPathInfo: "/*"}, {abi.EnvPathInfo: "/a"}, {abi.EnvPathInfo: "/?"}}, path("/a"), "r0", ""},
		{"glob between", []routeSpec{{abi.EnvPathInfo: "/x"}, {abi.EnvPathInfo: "/[ab]"}, {abi.EnvPathInfo: "/a"}}, path("/a"), "r1", ""},
		{"shorter prefix first", []routeSpec{{abi.EnvPathInfo: "/a/*"}, {abi.EnvPathInfo: "/a/b/*"}}, path("/a/b/c"), "r0", "/a"},
		{"longer prefix first", []routeSpec{{abi.EnvPathInfo: "/a/b/*"}, {abi.EnvPathInfo: "/a/*"}}, path("/a/b/c"), "r0", "/a/b"},
		{"prefix base itself", []routeSpec{{abi.EnvPathInfo: "/a/*"}}, path("/a"), "r0", "/a"},
		{"prefix not a segment", []routeSpec{{abi.EnvPathInfo: "/r1/*"}, {abi.EnvPathInfo: "*"}}, path("/r10/x"), "r1", ""},
		{"root prefix", []routeSpec{{abi.EnvPathInfo: "/*"}}, path("/a/b"), "r0", ""},
		{"empty path under root prefix", []routeSpec{{abi.EnvPathInfo: "/*"}}, path(""), "r0", ""},
		{"base ending in slash", []routeSpec{{abi.EnvPathInfo: "/a//*"}}, path("/a//b"), "r0", "/a/"},
		{"other key fails", []routeSpec{{abi.EnvPathInfo: "/a", abi.EnvRequestMethod: "POST"}, {abi.EnvPathInfo: "/a"}}, path("/a"), "r1", ""},
		{"key absent", []routeSpec{{abi.EnvPathInfo: "/a"}, {abi.EnvTransport: "line"}}, env(abi.EnvTransport, "line"), "r1", ""},
		{"no route", []routeSpec{{abi.EnvPathInfo: "/a"}, {abi.EnvPathInfo: "/b/*"}}, path("/c"), "", ""},
		{"catch-all last", []routeSpec{{abi.EnvPathInfo: "/a"}, {}}, path("/c"), "r1", ""},
		{"indexed on another key", []routeSpec{{"HTTP_HOST": "a"}, {"HTTP_HOST": "b", abi.EnvPathInfo: "/*"}, {"HTTP_HOST": "b"}},
			env("HTTP_HOST", "b", abi.EnvPathInfo, "/x"), "r1", ""},
		{"deep path", []routeSpec{{abi.EnvPathInfo: "/a/*"}}, path("/a" + strings.Repeat("/", 10000)), "r0", "/a"},
		{"last of many", many, path("/r999/x"), "r999", "/r999"},
		{"first of many", many, path("/r0"), "r0", "/r0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := newIndexedRouter(t, tc.specs).route(t, tc.env)
			if got.route != tc.want || got.route != "" && got.script != tc.script {
				t.Errorf("routed to %q with SCRIPT_NAME %q, want %q with %q", got.route, got.script, tc.want, tc.script)
			}
			if want := linearRoute(t, tc.specs, tc.env); got != want {
				t.Errorf("indexed router: %+v, linear scan: %+v", got, want)
			}
		})
	}
}

// randomVocabulary is what random routes and envs are made of, small so
// that routes match often.
var (
	randomSegments = []string{"a", "b", "ab", "", "r1", "r10"}
	randomMethods  = []string{"GET", "POST", "PUT"}
	randomHosts    = []string{"a.example", "b.example", "a", "a/b"}
)

func randomPath(rng *rand.Rand) string {
	var b strings.Builder
	if rng.IntN(8) != 0 {
		b.WriteByte('/')
	}
	for n := rng.IntN(4); n > 0; n-- {
		b.WriteString(randomSegments[rng.IntN(len(randomSegments))])
		if n > 1 || rng.IntN(4) == 0 {
			b.WriteByte('/')
		}
	}
	return b.String()
}

// randomPattern returns a pattern over values such as value() returns:
// exact, prefix ("BASE/*"), glob or "*".
func randomPattern(rng *rand.Rand, value func() string, globs []string) string {
	switch rng.IntN(10) {
	case 0, 1, 2, 3:
		return value()
	case 4, 5, 6:
		return strings.TrimSuffix(value(), "/") + "/*"
	case 7, 8:
		return globs[rng.IntN(len(globs))]
	}
	return "*"
}

// routerSeed replays a failure of TestRouterIndexMatchesLinearScan.
var routerSeed = flag.Uint64("router-seed", 0, "seed of TestRouterIndexMatchesLinearScan (0: random)")

func TestRouterIndexMatchesLinearScan(t *testing.T) {
	seed := *routerSeed
	if seed == 0 {
		seed = rand.Uint64()
	}
	rng := rand.New(rand.NewPCG(seed, 0))
	keys := []struct {
		name  string
		value func() string
		globs []string
	}{
		{abi.EnvPathInfo, func() string { return randomPath(rng) }, []string{"/*", "/*/b", "/a*", "/?", "/[ab]/*", "/a/*/*"}},
		{abi.EnvRequestMethod, func() string { return randomMethods[rng.IntN(len(randomMethods))] }, []string{"P*", "G?T", "[GP]*"}},
		{"HTTP_HOST", func() string { return randomHosts[rng.IntN(len(randomHosts))] }, []string{"*.example", "a*", "?"}},
	}
	const tables, envsPerTable = 300, 30
	for range tables {
		// Each table weighs the keys differently, so that the index is
		// sometimes built on a key other than PATH_INFO.
		weight := []int{rng.IntN(4), rng.IntN(4), rng.IntN(4)}
		specs := make([]routeSpec, 1+rng.IntN(200))
		for i := range specs {
			specs[i] = routeSpec{}
			for k, key := range keys {
				if rng.IntN(4) < weight[k] {
					specs[i][key.name] = randomPattern(rng, key.value, key.globs)
				}
			}
		}
		ir := newIndexedRouter(t, specs)
		for range envsPerTable {
			env := server.Env{abi.EnvScriptName: []string{"", "/app"}[rng.IntN(2)]}
			for _, key := range keys {
				if rng.IntN(6) != 0 {
					env[key.name] = key.value()
				}
			}
			if got, want := ir.route(t, env), linearRoute(t, specs, env); got != want {
				t.Fatalf("seed %d (-router-seed): env %v on routes %v:\nindexed router: %+v\nlinear scan:    %+v", seed, env, specs, got, want)
			}
		}
	}
}
