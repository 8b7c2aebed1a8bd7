package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/bubblewasm/bubblewasm/internal/testapp"
	"github.com/bubblewasm/bubblewasm/internal/testbuild"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server/app"
)

// outboundAPI is the local server the test module calls, and what it saw.
type outboundAPI struct {
	*httptest.Server
	active  atomic.Int32  // /hold and /slow requests under way
	arrived chan struct{} // a /slow request arrived
	ended   chan struct{} // a /slow request's context ended
}

func newOutboundAPI(t *testing.T, outside string) *outboundAPI {
	a := &outboundAPI{arrived: make(chan struct{}, 16), ended: make(chan struct{}, 16)}
	mux := http.NewServeMux()
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Echo", r.Header.Get("X-A"))
		w.WriteHeader(201)
		fmt.Fprintf(w, "%s %s %s", r.Method, r.URL.Path, body)
	})
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		for i := range 10 {
			fmt.Fprintf(w, "line%d;", i)
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, strings.Repeat("b", 100)) })
	mux.HandleFunc("/redir-in", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/echo", http.StatusFound) })
	mux.HandleFunc("/redir-out", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, outside, http.StatusFound) })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		a.active.Add(1)
		defer a.active.Add(-1)
		a.arrived <- struct{}{}
		<-r.Context().Done() // never answers
		a.ended <- struct{}{}
	})
	mux.HandleFunc("/hold", func(w http.ResponseWriter, r *http.Request) {
		a.active.Add(1)
		defer a.active.Add(-1)
		io.WriteString(w, "start")
		w.(http.Flusher).Flush()
		<-r.Context().Done() // streams until the client goes away
	})
	a.Server = httptest.NewServer(mux)
	t.Cleanup(a.Close)
	return a
}

// outboundCall is the JSON call the test module makes.
type outboundCall struct {
	Method    string              `json:",omitempty"`
	URL       string              `json:",omitempty"`
	Header    map[string][]string `json:",omitempty"`
	Body      string              `json:",omitempty"`
	TimeoutMs int                 `json:",omitempty"`
	Chunk     int                 `json:",omitempty"`
	Open      int                 `json:",omitempty"`
	Trap      bool                `json:",omitempty"`
	Spin      bool                `json:",omitempty"`
}

func (c outboundCall) json() string {
	b, _ := json.Marshal(c)
	return string(b)
}

// The outbound extension end to end, on each engine: a Go module built
// with the SDK calls a local HTTP server through bubblewasm_http_v1.
func TestOutbound(t *testing.T) {
	module := testbuild.Path(t, "testdata/outbound")
	outside := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "outside") }))
	defer outside.Close()
	api := newOutboundAPI(t, outside.URL)
	port := api.Listener.Addr().(*net.TCPAddr).Port
	routes := fmt.Sprintf(`
[[route]]
name = "out"
module = %[1]q
match = { PATH_INFO = "/out" }
outbound = [%[2]q]
outbound_max_request_bytes = 16
outbound_max_response_bytes = 64

[[route]]
name = "strict"
module = %[1]q
match = { PATH_INFO = "/strict" }
outbound = ["http://localhost:%[3]d"]

[[route]]
name = "short"
module = %[1]q
match = { PATH_INFO = "/short" }
timeout = "1s"
outbound = [%[2]q]
`, module, api.URL, port)
	for _, engine := range testapp.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			base, logs := start(t, engine, routes)
			call := func(route string, c outboundCall) (int, string) {
				t.Helper()
				return do(t, "POST", base+"/"+route, c.json())
			}
			expect := func(name, route string, c outboundCall, want ...string) {
				t.Helper()
				status, got := call(route, c)
				for _, w := range want {
					if status != 200 || !strings.Contains(got, w) {
						t.Fatalf("%s: %d %q; want 200 and %q\nlog:\n%s", name, status, got, w, logs)
					}
				}
			}
			expect("GET", "out", outboundCall{URL: api.URL + "/echo", Header: map[string][]string{"X-A": {"a1"}}, Chunk: 512},
				"status 201\nheader X-Echo: a1\nbody GET /echo \nreads 1\n")
			expect("POST", "out", outboundCall{Method: "POST", URL: api.URL + "/echo?q=1", Body: "sixteen bytes!!!", Chunk: 512},
				"status 201\n", "body POST /echo sixteen bytes!!!\n")
			expect("streamed in chunks", "out", outboundCall{URL: api.URL + "/stream", Chunk: 7},
				"body line0;line1;line2;line3;line4;line5;line6;line7;line8;line9;\nreads ") // reads: 9 or more, as the server's flushes arrive
			expect("response over the cap", "out", outboundCall{URL: api.URL + "/big", Chunk: 10},
				"body "+strings.Repeat("b", 64)+"\nread error bubble: http.read: ERR_TOO_LARGE\n")
			expect("request body over the cap", "out", outboundCall{Method: "POST", URL: api.URL + "/echo", Body: "seventeen bytes!!"},
				"error bubble: http.request: ERR_TOO_LARGE\n")
			expect("outside the list", "out", outboundCall{URL: outside.URL + "/"}, "error bubble: http.request: ERR_DENIED\n")
			expect("a name that resolves to loopback", "strict", outboundCall{URL: fmt.Sprintf("http://localhost:%d/echo", port)},
				"error bubble: http.request: ERR_DENIED\n")
			expect("redirect inside", "out", outboundCall{URL: api.URL + "/redir-in", Chunk: 512}, "status 201\n", "body GET /echo \n")
			expect("redirect outside", "out", outboundCall{URL: api.URL + "/redir-out", Chunk: 512}, "status 302\n")
			expect("Host header", "out", outboundCall{URL: api.URL + "/echo", Header: map[string][]string{"Host": {"evil.example"}}},
				"error bubble: http.request: ERR_INVALID\n")
			expect("slow server", "out", outboundCall{URL: api.URL + "/slow", TimeoutMs: 100}, "error bubble: http.request: ERR_TIMEOUT\n")
			<-api.arrived // expect went on only if the call reached the server
			<-api.ended
			expect("nine open", "out", outboundCall{URL: api.URL + "/echo", Open: 9},
				strings.Repeat("status 201\nheader X-Echo: \n", 8)+"error bubble: http.request: ERR_FULL\n")

			t.Run("client disconnects", func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() {
					_, err := sendErr(ctx, client, "POST", base+"/out", outboundCall{URL: api.URL + "/slow"}.json())
					done <- err
				}()
				<-api.arrived
				cancel()
				<-done
				<-api.ended // the outbound request was cancelled with the exchange
			})
			t.Run("trap with responses open", func(t *testing.T) {
				status, _ := call("out", outboundCall{URL: api.URL + "/hold", Open: 3, Trap: true})
				if status != 500 {
					t.Errorf("status %d, want 500", status)
				}
				testutil.Eventually(t, "the held requests to end", func() bool { return api.active.Load() == 0 })
			})
			t.Run("timeout with responses open", func(t *testing.T) {
				status, _ := call("short", outboundCall{URL: api.URL + "/hold", Open: 3, Spin: true})
				if status != 504 && status != 500 && status != 503 {
					t.Errorf("status %d, want a timeout's", status)
				}
				testutil.Eventually(t, "the held requests to end", func() bool { return api.active.Load() == 0 })
			})
		})
	}
}

// A module that imports bubblewasm_http_v1 on a route without outbound is
// refused at load, naming the key.
func TestOutboundNotGranted(t *testing.T) {
	module := testbuild.Path(t, "testdata/outbound")
	cfg := loadConfig(t, writeConfig(t, "wazero", fmt.Sprintf("[[route]]\nmodule = %q\n", module)))
	_, err := app.New(context.Background(), cfg, app.Options{Logger: testutil.Logger(t)})
	if err == nil || !strings.Contains(err.Error(), "bubblewasm_http_v1") || !strings.Contains(err.Error(), `outbound = ["https://api.example.com"]`) {
		t.Fatalf("load: %v", err)
	}
}
