package wasm_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"testing"

	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server/transport"
	"github.com/bubblewasm/bubblewasm/server/wasm"
)

func TestSmokeHello(t *testing.T) {
	src, _ := os.ReadFile("testdata/hello.wat")
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			h, err := wasm.New(context.Background(), e.New(t), testutil.WAT(t, string(src)), wasm.Options{Name: "hello", Logger: testutil.Logger(t)})
			if err != nil {
				t.Fatal(err)
			}
			a := testutil.Serve(t, "tcp://127.0.0.1:0", "http", h, transport.Options{})
			resp, err := http.Get("http://" + a.String()[len("tcp://"):] + "/")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(body) != "Hello, world!\n" || resp.Header.Get("Content-Type") != "text/plain" {
				t.Fatalf("got %d %q %v", resp.StatusCode, body, resp.Header)
			}
		})
	}
}
