package app_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bubblewasm/bubblewasm/internal/testapp"
	"github.com/bubblewasm/bubblewasm/internal/testbuild"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server/app"
	"github.com/bubblewasm/bubblewasm/server/config"
)

// TestRouteVars serves envdump on two routes, one with variables from a
// literal, the environment and a file, and a looping module with the same
// variables: the first route's guest sees them as var.NAME, the other
// route sees none, and no log line of the whole run, at debug level, from
// load to shutdown, holds a value.
func TestRouteVars(t *testing.T) {
	secrets := map[string]string{
		"greeting":    "literal-Zq81-secret",
		"db_password": "env-Kx52-secret",
		"api_key":     "file-Wm07-secret",
	}
	t.Setenv("BUBBLEWASM_TEST_DB_PASSWORD", secrets["db_password"])
	envdump := testbuild.Module(t, "envdump")
	vars := fmt.Sprintf("[route.vars]\ngreeting = %q\ndb_password = { env = \"BUBBLEWASM_TEST_DB_PASSWORD\" }\napi_key = { file = \"api_key\" }\n", secrets["greeting"])
	body := fmt.Sprintf(`
[[route]]
name = "a"
match = { PATH_INFO = "/a/*" }
module = %q
%s
[[route]]
name = "spin"
match = { PATH_INFO = "/spin" }
module = "spin.wasm"
timeout = "1s"
%s
[[route]]
name = "b"
match = { PATH_INFO = "/b/*" }
module = %q
`, envdump, vars, vars, envdump)
	path := writeConfig(t, config.EngineWazero, body, "spin")
	if err := os.WriteFile(filepath.Join(filepath.Dir(path), "api_key"), []byte(secrets["api_key"]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	logger, logs := testutil.CaptureLogger(t)
	t.Run("serve", func(t *testing.T) {
		cfg := loadConfig(t, path)
		addrs := testapp.Start(t, cfg, app.Options{Logger: logger})
		base := testutil.URL(addrs[0])

		env := envOf(t, base+"/a/x")
		for name, want := range secrets {
			if got := env["var."+name]; got != want {
				t.Errorf("route a: var.%s = %q, want %q", name, got, want)
			}
		}
		// A client cannot plant a var. key, nor see another route's.
		env = envOf(t, base+"/b/x", "Var-Greeting: forged", "Var.Greeting: forged")
		for k := range env {
			if strings.HasPrefix(k, "var.") {
				t.Errorf("route b sees %s", k)
			}
		}
		for _, s := range secrets {
			for k, v := range env {
				if strings.Contains(v, s) {
					t.Errorf("route b: %s holds a value of route a", k)
				}
			}
		}
		if code, _ := do(t, "GET", base+"/spin", ""); code != 504 {
			t.Errorf("spin: %d, want 504", code)
		}
		if code, _ := do(t, "GET", base+"/nowhere", ""); code != 404 {
			t.Errorf("no route: %d, want 404", code)
		}
		waitLog(t, logs, "spin")
	})
	// The server has stopped: every line it wrote is in logs.
	all := logs.String()
	if !strings.Contains(all, "route=spin status=504") || !strings.Contains(all, "shutting down") {
		t.Fatalf("the capture holds no records:\n%s", all)
	}
	for name, s := range secrets {
		if strings.Contains(all, s) {
			t.Errorf("the log holds the value of %s", name)
		}
	}
}

// envOf gets url from envdump and decodes the env it answers with.
func envOf(t *testing.T, url string, headers ...string) map[string]string {
	t.Helper()
	code, body := do(t, "GET", url, "", headers...)
	if code != 200 {
		t.Fatalf("GET %s: %d %s", url, code, body)
	}
	var env map[string]string
	if err := json.Unmarshal([]byte(body), &env); err != nil {
		t.Fatalf("GET %s: %v: %s", url, err, body)
	}
	return env
}
