package app_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bubblewasm/bubblewasm/internal/testbuild"
)

// BenchmarkOutbound measures what one outbound GET costs a handler: a
// module (wazero) answering each request with one GET to a local hello
// server, the same module refused at once (the module's own cost), and a
// native Go handler doing the same GET with net/http, or none. The
// outbound overhead per call is (module GET - module refused) against
// (native GET - native none), or, with less noise from the module's own
// cost, (x20 - x1) / 19 on each side: 20 GETs in one exchange.
func BenchmarkOutbound(b *testing.B) {
	module := testbuild.Path(b, "testdata/outbound")
	hello := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") }))
	defer hello.Close()
	base, _ := start(b, "wazero", fmt.Sprintf("[[route]]\nmodule = %q\noutbound = [%q]\n", module, hello.URL))
	native := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/none" {
			io.WriteString(w, "none")
			return
		}
		for range max(len(r.URL.Query().Get("n")), 1) { // n=xxxx: four GETs
			resp, err := http.Get(hello.URL + "/")
			if err != nil {
				http.Error(w, err.Error(), 502)
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			w.Write(body)
		}
	}))
	defer native.Close()
	run := func(b *testing.B, url, body, want string) {
		for b.Loop() {
			status, got := do(b, "POST", url, body)
			if status != 200 || !strings.Contains(got, want) {
				b.Fatalf("%d %q", status, got)
			}
		}
	}
	b.Run("module-get", func(b *testing.B) {
		run(b, base+"/", outboundCall{URL: hello.URL + "/", Chunk: 512}.json(), "body hello")
	})
	b.Run("module-refused", func(b *testing.B) {
		run(b, base+"/", outboundCall{URL: "http://192.0.2.1/"}.json(), "ERR_DENIED")
	})
	b.Run("module-get-x20", func(b *testing.B) {
		run(b, base+"/", outboundCall{URL: hello.URL + "/", Chunk: 512, Open: 20}.json(), "body hello")
	})
	b.Run("native-get", func(b *testing.B) { run(b, native.URL+"/get", "", "hello") })
	b.Run("native-get-x20", func(b *testing.B) { run(b, native.URL+"/get?n="+strings.Repeat("x", 20), "", "hello") })
	b.Run("native-none", func(b *testing.B) { run(b, native.URL+"/none", "", "none") })
}
