package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkPipeline is one hello-world request over a keep-alive
// connection, client and server in this process: native net/http, and the
// WAT hello through the whole bubblewasm pipeline as `bubblewasm run`
// serves it. Wall-clock figures are noisy on a shared machine; count
// instructions instead, which the client contributes alike to every case:
//
//	go test -c -o pipeline.test ./internal/bench
//	GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind ./pipeline.test -test.run XXX -test.bench 'Pipeline/wat-pool' -test.benchtime 4000x
//
// (run it twice with different counts: the difference over the difference
// in requests is the cost of one). It needs `make build`'s
// bin/modules/hello-wat.wasm.
func BenchmarkPipeline(b *testing.B) {
	modules, err := filepath.Abs("../../bin/modules")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(modules, "hello-wat.wasm")); err != nil {
		b.Skipf("%v (run make build first)", err)
	}
	for _, bc := range []struct {
		name string
		s    scenario
	}{
		{"native", scenario{}},
		{"wat-pool-wazero", scenario{module: helloModules[0], engine: "wazero", lifecycle: "pool"}},
		{"wat-fresh-wazero", scenario{module: helloModules[0], engine: "wazero", lifecycle: "fresh"}},
		{"wat-pool-wasmtime", scenario{module: helloModules[0], engine: "wasmtime", lifecycle: "pool"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			addr := l.Addr().String()
			var stop func()
			if bc.s.native() {
				stop = serveNativeOn(l)
			} else {
				l.Close()
				if stop, err = serveApp(context.Background(), bc.s, modules, b.TempDir(), addr); err != nil {
					b.Skip(err) // wasmtime in a build without cgo
				}
			}
			defer stop()
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			br := bufio.NewReader(conn)
			req := []byte("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench\r\n\r\n")
			for b.Loop() {
				if _, err := conn.Write(req); err != nil {
					b.Fatal(err)
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	}
}
