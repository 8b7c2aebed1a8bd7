package server_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/server"
)

func TestParsePatternMatch(t *testing.T) {
	cases := []struct {
		pattern string
		match   []string
		noMatch []string
	}{
		{"/chat", []string{"/chat"}, []string{"/chat/", "/chatter", "/cha", "", "/CHAT", "/chat/pull"}},
		{"/chat/*", []string{"/chat", "/chat/", "/chat/pull", "/chat/a/b/c"}, []string{"/chatter", "/chat.x", "/cha", "", "/other/chat/x", "chat/x"}},
		{"/*", []string{"", "/", "/a", "/a/b"}, []string{"a", "x/"}},
		{"*.example.com", []string{"www.example.com", "a-b.example.com", ".example.com"}, []string{"example.com", "a.b/c.example.com", "www.example.org", "www.example.com.evil"}},
		{"/a/*/c", []string{"/a/b/c", "/a/xyz/c", "/a//c"}, []string{"/a/b/d/c", "/a/b/c/", "/a/c"}},
		{"*", []string{"", "anything", "/a/b/c", "a b"}, nil},
		{"GET", []string{"GET"}, []string{"get", "POST", ""}},
		{"/file?.txt", []string{"/file1.txt", "/fileA.txt"}, []string{"/file.txt", "/file12.txt"}},
		{"/v[12]/*", []string{"/v1/x", "/v2/x"}, []string{"/v3/x", "/v1", "/v1/x/y"}},
		{"", []string{""}, []string{"/", "x"}},
	}
	for _, c := range cases {
		p, err := server.ParsePattern(c.pattern)
		if err != nil {
			t.Fatalf("ParsePattern(%q): %v", c.pattern, err)
		}
		if p.String() != c.pattern {
			t.Errorf("ParsePattern(%q).String() = %q", c.pattern, p.String())
		}
		for _, v := range c.match {
			if !p.Match(v) {
				t.Errorf("pattern %q should match %q", c.pattern, v)
			}
		}
		for _, v := range c.noMatch {
			if p.Match(v) {
				t.Errorf("pattern %q should not match %q", c.pattern, v)
			}
		}
	}
}

func TestParsePatternBad(t *testing.T) {
	for _, s := range []string{"[", "/a/[b", "[]a]", "/x/\\", "a[b-]/*"} {
		p, err := server.ParsePattern(s)
		if err == nil {
			t.Errorf("ParsePattern(%q) = %v, want an error", s, p)
			continue
		}
		if !strings.Contains(err.Error(), s) {
			t.Errorf("ParsePattern(%q) error %q does not quote the pattern", s, err)
		}
	}
}

func mustPattern(t *testing.T, s string) server.Pattern {
	t.Helper()
	p, err := server.ParsePattern(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// seen records what the handler of a route saw.
type seen struct {
	route string
	env   server.Env
}

func recorder(name string, got *[]seen) server.Handler {
	return server.HandlerFunc(func(ctx context.Context, x *server.Exchange) error {
		*got = append(*got, seen{name, x.Env.Clone()})
		return nil
	})
}

func httpEnv(method, path string) server.Env {
	return server.Env{
		abi.EnvTransport:     "http",
		abi.EnvListener:      "web",
		abi.EnvRequestMethod: method,
		abi.EnvScriptName:    "",
		abi.EnvPathInfo:      path,
		"HTTP_HOST":          "www.example.com",
	}
}

func TestRouter(t *testing.T) {
	var got []seen
	r := server.NewRouter(
		server.Route{Name: "post-chat", Match: map[string]server.Pattern{
			abi.EnvRequestMethod: mustPattern(t, "POST"),
			abi.EnvPathInfo:      mustPattern(t, "/chat/*"),
		}, Handler: recorder("post-chat", &got)},
		server.Route{Name: "chat", Match: map[string]server.Pattern{
			abi.EnvPathInfo: mustPattern(t, "/chat/*"),
		}, Handler: recorder("chat", &got)},
		// Shadowed: "chat" matches everything this one would.
		server.Route{Name: "chat-pull", Match: map[string]server.Pattern{
			abi.EnvPathInfo: mustPattern(t, "/chat/pull"),
		}, Handler: recorder("chat-pull", &got)},
		server.Route{Name: "static", Match: map[string]server.Pattern{
			abi.EnvPathInfo: mustPattern(t, "/static/*.css"),
		}, Handler: recorder("static", &got)},
		server.Route{Name: "vhost", Match: map[string]server.Pattern{
			"HTTP_HOST": mustPattern(t, "*.example.org"),
		}, Handler: recorder("vhost", &got)},
		server.Route{Name: "needs-header", Match: map[string]server.Pattern{
			"HTTP_X_TOKEN": mustPattern(t, "*"),
		}, Handler: recorder("needs-header", &got)},
		server.Route{Name: "lines", Match: map[string]server.Pattern{
			abi.EnvTransport: mustPattern(t, "line"),
		}, Handler: recorder("lines", &got)},
	)

	cases := []struct {
		name        string
		env         server.Env
		route       string // "" = no route
		script, pth string
	}{
		{"prefix below", httpEnv("GET", "/chat/pull"), "chat", "/chat", "/pull"},
		{"prefix base", httpEnv("GET", "/chat"), "chat", "/chat", ""},
		{"prefix slash", httpEnv("GET", "/chat/"), "chat", "/chat", "/"},
		{"prefix deep", httpEnv("GET", "/chat/a/b"), "chat", "/chat", "/a/b"},
		{"first match wins", httpEnv("POST", "/chat/pull"), "post-chat", "/chat", "/pull"},
		{"AND: method alone is not enough", httpEnv("POST", "/other"), "", "", ""},
		{"not a prefix of a longer word", httpEnv("GET", "/chatter"), "", "", ""},
		{"glob on PATH_INFO does not split", httpEnv("GET", "/static/site.css"), "static", "", "/static/site.css"},
		{"glob does not cross /", httpEnv("GET", "/static/a/site.css"), "", "", ""},
		{"glob on a header", func() server.Env { e := httpEnv("GET", "/x"); e["HTTP_HOST"] = "api.example.org"; return e }(), "vhost", "", "/x"},
		{"lone * needs the key present", func() server.Env { e := httpEnv("GET", "/x"); e["HTTP_X_TOKEN"] = ""; return e }(), "needs-header", "", "/x"},
		{"absent key never matches", httpEnv("GET", "/x"), "", "", ""},
		{"other transport", server.Env{abi.EnvTransport: "line", abi.EnvListener: "l", abi.EnvLineNumber: "3"}, "lines", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got = nil
			x := &server.Exchange{Env: c.env.Clone()}
			err := r.Serve(context.Background(), x)
			if c.route == "" {
				if !errors.Is(err, server.ErrNoRoute) {
					t.Fatalf("err = %v, want ErrNoRoute", err)
				}
				if server.StatusOf(err) != 404 {
					t.Fatalf("StatusOf(%v) = %d", err, server.StatusOf(err))
				}
				if len(got) != 0 {
					t.Fatalf("handler %q ran for an unrouted exchange", got[0].route)
				}
				if _, ok := x.Env[abi.EnvRoute]; ok {
					t.Fatalf("bubble.route set without a match: %q", x.Env[abi.EnvRoute])
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].route != c.route {
				t.Fatalf("served by %v, want exactly route %q", got, c.route)
			}
			env := got[0].env
			if env[abi.EnvRoute] != c.route {
				t.Errorf("bubble.route = %q, want %q", env[abi.EnvRoute], c.route)
			}
			if _, isHTTP := c.env[abi.EnvPathInfo]; isHTTP {
				if env[abi.EnvScriptName] != c.script || env[abi.EnvPathInfo] != c.pth {
					t.Errorf("SCRIPT_NAME, PATH_INFO = %q, %q; want %q, %q", env[abi.EnvScriptName], env[abi.EnvPathInfo], c.script, c.pth)
				}
				if env[abi.EnvScriptName]+env[abi.EnvPathInfo] != c.env[abi.EnvPathInfo] {
					t.Errorf("SCRIPT_NAME+PATH_INFO = %q, want the original path %q", env[abi.EnvScriptName]+env[abi.EnvPathInfo], c.env[abi.EnvPathInfo])
				}
			}
		})
	}
}

func TestRouterNoRouteError(t *testing.T) {
	r := server.NewRouter(server.Route{Name: "only", Match: map[string]server.Pattern{
		abi.EnvPathInfo: mustPattern(t, "/only"),
	}, Handler: server.HandlerFunc(func(context.Context, *server.Exchange) error { return nil })})

	err := r.Serve(context.Background(), &server.Exchange{Env: httpEnv("DELETE", "/missing/thing")})
	if !errors.Is(err, server.ErrNoRoute) {
		t.Fatalf("err = %v, want ErrNoRoute", err)
	}
	if !strings.Contains(err.Error(), "DELETE /missing/thing") {
		t.Errorf("error %q should name the method and path", err)
	}

	err = r.Serve(context.Background(), &server.Exchange{Env: server.Env{abi.EnvTransport: "line", abi.EnvListener: "lines"}})
	if !errors.Is(err, server.ErrNoRoute) {
		t.Fatalf("err = %v, want ErrNoRoute", err)
	}
	if !strings.Contains(err.Error(), "line") || !strings.Contains(err.Error(), "lines") {
		t.Errorf("error %q should name the transport and listener", err)
	}

	// A router with no routes routes nothing.
	if err := server.NewRouter().Serve(context.Background(), &server.Exchange{Env: httpEnv("GET", "/")}); !errors.Is(err, server.ErrNoRoute) {
		t.Fatalf("empty router: err = %v, want ErrNoRoute", err)
	}
}

func TestRouterCatchAllAndErrors(t *testing.T) {
	boom := errors.New("boom")
	var ran []string
	r := server.NewRouter(
		server.Route{Name: "fails", Match: map[string]server.Pattern{abi.EnvPathInfo: mustPattern(t, "/fail")},
			Handler: server.HandlerFunc(func(context.Context, *server.Exchange) error { ran = append(ran, "fails"); return boom })},
		server.Route{Name: "all", Handler: server.HandlerFunc(func(_ context.Context, x *server.Exchange) error {
			ran = append(ran, "all:"+x.Env[abi.EnvRoute])
			return nil
		})},
	)
	// The handler's error comes back unchanged, and no later route runs.
	if err := r.Serve(context.Background(), &server.Exchange{Env: httpEnv("GET", "/fail")}); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the handler's", err)
	}
	// A route without Match takes everything, including envs with no PATH_INFO.
	if err := r.Serve(context.Background(), &server.Exchange{Env: server.Env{abi.EnvTransport: "raw"}}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(ran, ",") != "fails,all:all" {
		t.Fatalf("ran %v", ran)
	}
}

func TestRouterNestedMounts(t *testing.T) {
	// A prefix route inside a prefix route mounts below the outer mount, as
	// WSGI middleware composes SCRIPT_NAME.
	var got []seen
	inner := server.NewRouter(server.Route{Name: "inner", Match: map[string]server.Pattern{
		abi.EnvPathInfo: mustPattern(t, "/v1/*"),
	}, Handler: recorder("inner", &got)})
	outer := server.NewRouter(server.Route{Name: "outer", Match: map[string]server.Pattern{
		abi.EnvPathInfo: mustPattern(t, "/api/*"),
	}, Handler: inner})
	if err := outer.Serve(context.Background(), &server.Exchange{Env: httpEnv("GET", "/api/v1/users")}); err != nil {
		t.Fatal(err)
	}
	env := got[0].env
	if env[abi.EnvScriptName] != "/api/v1" || env[abi.EnvPathInfo] != "/users" || env[abi.EnvRoute] != "inner" {
		t.Fatalf("SCRIPT_NAME %q PATH_INFO %q route %q", env[abi.EnvScriptName], env[abi.EnvPathInfo], env[abi.EnvRoute])
	}
}
