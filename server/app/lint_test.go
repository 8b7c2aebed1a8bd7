package app_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/bubblewasm/bubblewasm/server/config"
)

// TestMatchWarnings loads routes whose matches are likely mistakes: each
// gets a warning at load naming the route, its line and the likely fix,
// and the server still serves.
func TestMatchWarnings(t *testing.T) {
	url, logs := start(t, config.EngineWazero, `
[[route]]
name = "lower"
match = { path = "/a" }
module = "named.wasm"
[[route]]
name = "method"
match = { REQUEST_METHOD = "get", PATH_INFO = "/b" }
module = "named.wasm"
[[route]]
name = "typo"
match = { PATH_INF = "/c" }
module = "named.wasm"
[[route]]
name = "header"
match = { User-Agent = "curl/*" }
module = "named.wasm"
[[route]]
name = "fine"
match = { HTTP_HOST = "x", "jsonrpc.method" = "sum", "amqp.header.kind" = "a", REQUEST_METHOD = "POST" }
module = "named.wasm"
[[route]]
name = "all"
module = "named.wasm"
[[route]]
name = "shadowed"
match = { PATH_INFO = "/d" }
module = "named.wasm"
[[route]]
name = "shadowed2"
module = "named.wasm"
`, "named")
	for _, want := range [][]string{
		{`level=WARN msg="match key that no transport sets`, "line=10 route=lower key=path likely=PATH_INFO"},
		{`level=WARN msg="match value in the wrong case`, "line=14 route=method key=REQUEST_METHOD value=get likely=GET"},
		{`level=WARN msg="match key that no transport sets`, "route=typo key=PATH_INF likely=PATH_INFO"},
		{`level=WARN msg="match key that no transport sets`, "route=header key=User-Agent likely=HTTP_USER_AGENT"},
		{`level=WARN msg="route never reached: an earlier route has no match`, "route=shadowed catch_all=all catch_all_line=30"},
		{`level=WARN msg="route never reached`, "route=shadowed2 catch_all=all"},
	} {
		// The warnings are logged before New returns: no waiting.
		if !slices.ContainsFunc(strings.Split(logs.String(), "\n"), func(line string) bool {
			return strings.Contains(line, want[0]) && strings.Contains(line, want[1])
		}) {
			t.Errorf("no log line with %q", want)
		}
	}
	if got := logs.String(); strings.Contains(got, "route=fine") || strings.Count(got, "level=WARN") != 6 {
		t.Fatalf("want exactly the 6 warnings above:\n%s", got)
	}
	if code, _ := do(t, "GET", url+"/d", ""); code != 200 {
		t.Fatalf("GET /d: %d", code)
	}
}
