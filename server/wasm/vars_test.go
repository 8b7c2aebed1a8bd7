package wasm_test

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// TestCGIVars serves the C CGI program, unmodified, with route variables
// on every engine: it sees them as upper-cased environment variables,
// replacing a translated key of the same name that a client could set,
// and a route without variables sees none. No log line holds a value.
func TestCGIVars(t *testing.T) {
	bin := cgiPrograms(t)["c"]
	const secret = "cgi-Pq33-secret"
	vars := map[string]wasm.Secret{"db_password": secret, "greeting": "hello world", "empty": ""}
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			engine := e.New(t)
			logger, logs := testutil.CaptureLogger(t)
			with := mustHandler(t, engine, bin, wasm.Options{Name: "with", Logger: logger, ABI: wasm.ABICGI, Vars: vars})
			without := mustHandler(t, engine, bin, wasm.Options{Name: "without", Logger: logger, ABI: wasm.ABICGI})
			base := serveHTTP(t, logger, mount("/with", with), mount("/without", without))

			environ := func(path string) []string {
				resp, body := cgiDo(t, "GET", base+path+"?environ", nil, http.Header{"Db-Password": {"forged"}})
				if resp.StatusCode != 200 {
					t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
				}
				return strings.Split(strings.TrimSuffix(body, "\n"), "\n")
			}
			got := environ("/with")
			for _, want := range []string{"DB_PASSWORD=" + secret, "GREETING=hello world", "EMPTY=", "HTTP_DB_PASSWORD=forged"} {
				if !slices.Contains(got, want) {
					t.Errorf("/with: no %q in %q", want, got)
				}
			}
			for _, v := range environ("/without") {
				if strings.HasPrefix(v, "DB_PASSWORD=") || strings.HasPrefix(v, "GREETING=") || strings.Contains(v, secret) {
					t.Errorf("/without sees %q", v)
				}
			}
			if strings.Contains(logs.String(), secret) {
				t.Error("the log holds the value")
			}
		})
	}
}

// TestVarsRefused: New refuses bad variables, naming them, not their values.
func TestVarsRefused(t *testing.T) {
	engine := testutil.Engines()[0].New(t)
	bin := watModule(t, "hello")
	for _, vars := range []map[string]wasm.Secret{
		{"Upper": "v-Secret"},
		{"path_info": "v-Secret"},
		{"big": wasm.Secret(strings.Repeat("v-Secret", wasm.MaxVarBytes/8+1))},
		{"nul": "v-Secret\x00"},
	} {
		_, err := wasm.New(context.Background(), engine, bin, wasm.Options{Vars: vars})
		if err == nil {
			t.Errorf("accepted: %q", slices.Sorted(maps.Keys(vars)))
			continue
		}
		if strings.Contains(err.Error(), "v-Secret") {
			t.Errorf("the error shows the value: %v", err)
		}
	}
}
