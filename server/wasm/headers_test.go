package wasm_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// headerBombWAT adds a 1 MiB header value in a loop until the host says
// no, then answers with the code it got and how many adds succeeded.
const headerBombWAT = `(module
  (import "bubblewasm_v1" "add_header" (func $add (param i32 i32 i32 i32) (result i32)))
  (import "bubblewasm_v1" "write" (func $write (param i32 i32) (result i32)))
  (memory (export "memory") 32 32) ;; 2 MiB
  (data (i32.const 0) "X-Bomb")
  (func (export "bubble_handle") (result i32)
    (local $r i32) (local $n i32)
    (memory.fill (i32.const 1024) (i32.const 97) (i32.const 1048576))
    (block $done
      (loop $more
        (local.set $r (call $add (i32.const 0) (i32.const 6) (i32.const 1024) (i32.const 1048576)))
        (br_if $done (i32.ne (local.get $r) (i32.const 0)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br_if $done (i32.ge_u (local.get $n) (i32.const 100000)))
        (br $more)))
    (i32.store (i32.const 16) (local.get $r))
    (i32.store (i32.const 20) (local.get $n))
    (drop (call $write (i32.const 16) (i32.const 8)))
    (i32.const 0)))`

// headerCountWAT adds small headers until the host says no.
const headerCountWAT = `(module
  (import "bubblewasm_v1" "add_header" (func $add (param i32 i32 i32 i32) (result i32)))
  (import "bubblewasm_v1" "write" (func $write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "Set-Cookie")
  (data (i32.const 32) "a=b")
  (func (export "bubble_handle") (result i32)
    (local $r i32) (local $n i32)
    (block $done
      (loop $more
        (local.set $r (call $add (i32.const 0) (i32.const 10) (i32.const 32) (i32.const 3)))
        (br_if $done (i32.ne (local.get $r) (i32.const 0)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br_if $done (i32.ge_u (local.get $n) (i32.const 1000000)))
        (br $more)))
    (i32.store (i32.const 64) (local.get $r))
    (i32.store (i32.const 68) (local.get $n))
    (drop (call $write (i32.const 64) (i32.const 8)))
    (i32.const 0)))`

// framingWAT tries headers that belong to the host's framing, then sets a
// Content-Length and writes exactly that many bytes. Its body is the result
// of each call, one byte each (the low byte of the i32), then "hello".
const framingWAT = `(module
  (import "bubblewasm_v1" "set_header" (func $set (param i32 i32 i32 i32) (result i32)))
  (import "bubblewasm_v1" "add_header" (func $add (param i32 i32 i32 i32) (result i32)))
  (import "bubblewasm_v1" "write" (func $write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "Content-Length")          ;; 0, 14
  (data (i32.const 16) "Transfer-Encoding")      ;; 16, 17
  (data (i32.const 48) "Connection")             ;; 48, 10
  (data (i32.const 64) "chunked")                ;; 64, 7
  (data (i32.const 80) "12")                     ;; 80, 2
  (data (i32.const 96) "100")                    ;; 96, 3
  (data (i32.const 112) "X-Esc")                 ;; 112, 5
  (data (i32.const 128) "a\01bb")                 ;; 128, 4
  (data (i32.const 144) "upgrade")               ;; 144, 7
  (data (i32.const 160) "h2c")                   ;; 160, 3
  (data (i32.const 176) "hello, world")          ;; 176, 12
  (func $rec (param $at i32) (param $r i32)
    (i32.store8 (i32.add (i32.const 512) (local.get $at)) (local.get $r)))
  (func (export "bubble_handle") (result i32)
    (call $rec (i32.const 0) (call $set (i32.const 16) (i32.const 17) (i32.const 64) (i32.const 7)))
    (call $rec (i32.const 1) (call $add (i32.const 48) (i32.const 10) (i32.const 64) (i32.const 7)))
    (call $rec (i32.const 2) (call $set (i32.const 144) (i32.const 7) (i32.const 160) (i32.const 3)))
    (call $rec (i32.const 3) (call $add (i32.const 112) (i32.const 5) (i32.const 128) (i32.const 4)))
    (call $rec (i32.const 4) (call $set (i32.const 0) (i32.const 14) (i32.const 96) (i32.const 3)))
    (call $rec (i32.const 5) (call $add (i32.const 0) (i32.const 14) (i32.const 80) (i32.const 2)))
    (call $rec (i32.const 6) (call $set (i32.const 0) (i32.const 14) (i32.const 80) (i32.const 2)))
    (drop (call $write (i32.const 512) (i32.const 7)))
    (drop (call $write (i32.const 176) (i32.const 5)))
    (i32.const 0)))`

// bufferedTrapWAT writes a little and then traps: nothing reached the wire.
const bufferedTrapWAT = `(module
  (import "bubblewasm_v1" "write" (func $write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "partial")
  (func (export "bubble_handle") (result i32)
    (drop (call $write (i32.const 0) (i32.const 7)))
    unreachable))`

func le32(b string, at int) int32 {
	return int32(uint32(b[at]) | uint32(b[at+1])<<8 | uint32(b[at+2])<<16 | uint32(b[at+3])<<24)
}

func TestResponseHeaderBudget(t *testing.T) {
	for _, eng := range testutil.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			e := eng.New(t)
			logger, _ := testutil.CaptureLogger(t)
			bomb := mustHandler(t, e, testutil.WAT(t, headerBombWAT), wasm.Options{Name: "bomb", Logger: logger, Lifecycle: wasm.Pool})
			count := mustHandler(t, e, testutil.WAT(t, headerCountWAT), wasm.Options{Name: "count", Logger: logger,
				ResponseHeaders: abi.HeaderLimits{MaxCount: 7}})
			hello := mustHandler(t, e, watModule(t, "hello"), wasm.Options{Name: "hello", Logger: logger})
			base := serveHTTP(t, logger, mount("/bomb", bomb), mount("/count", count), mount("/hello", hello))
			for range 4 {
				r := httpGet(t, base+"/bomb")
				if r.status != 200 || len(r.body) != 8 {
					t.Fatalf("/bomb: %d %q", r.status, r.body)
				}
				if code, n := le32(r.body, 0), le32(r.body, 4); code != abi.ErrTooLarge || n != 0 {
					t.Fatalf("/bomb: add_header answered %d after %d adds, want ERR_TOO_LARGE at once (a 1 MiB value is over the 64 KiB budget)", code, n)
				}
				if len(r.header["X-Bomb"]) != 0 {
					t.Fatal("/bomb: a header over the budget was sent")
				}
			}
			r := httpGet(t, base+"/count")
			if code, n := le32(r.body, 0), le32(r.body, 4); code != abi.ErrTooLarge || n != 7 || len(r.header["Set-Cookie"]) != 7 {
				t.Fatalf("/count: %d after %d adds, %d sent; want ERR_TOO_LARGE after 7", code, n, len(r.header["Set-Cookie"]))
			}
			expectHealthy(t, base)
		})
	}
}

func TestResponseFramingIsTheHosts(t *testing.T) {
	for _, eng := range testutil.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			e := eng.New(t)
			logger, _ := testutil.CaptureLogger(t)
			framing := mustHandler(t, e, testutil.WAT(t, framingWAT), wasm.Options{Name: "framing", Logger: logger})
			base := serveHTTP(t, logger, mount("/framing", framing))
			// Two responses pipelined on one connection: the second must
			// start where the first one's single Content-Length says.
			c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(time.Minute))
			io.WriteString(c, "GET /framing HTTP/1.1\r\nHost: x\r\n\r\nGET /framing HTTP/1.1\r\nHost: x\r\n\r\n")
			br := bufio.NewReader(c)
			for i := range 2 {
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("response %d: %v", i+1, err)
				}
				body, err := io.ReadAll(resp.Body)
				if err != nil {
					t.Fatalf("response %d body: %v", i+1, err)
				}
				want := string([]byte{0xfe, 0xfe, 0xfe, 0xfe, 0, 0xfe, 0}) + "hello"
				if resp.StatusCode != 200 || string(body) != want {
					t.Fatalf("response %d: %d %q, want results %q", i+1, resp.StatusCode, body, want)
				}
				if got := resp.Header.Values("Content-Length"); len(got) != 1 || got[0] != "12" {
					t.Fatalf("response %d: Content-Length %q, want one, 12", i+1, got)
				}
				if resp.Header.Get("Connection") != "" || len(resp.TransferEncoding) != 0 || resp.Header.Get("Upgrade") != "" {
					t.Fatalf("response %d: framing headers from the guest: %v", i+1, resp.Header)
				}
			}
		})
	}
}

// A trap after output that was only held by the host is answered 500, the
// same on every engine.
func TestTrapAfterBufferedWriteIs500(t *testing.T) {
	for _, eng := range testutil.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			e := eng.New(t)
			logger, _ := testutil.CaptureLogger(t)
			h := mustHandler(t, e, testutil.WAT(t, bufferedTrapWAT), wasm.Options{Name: "trap", Logger: logger})
			hello := mustHandler(t, e, watModule(t, "hello"), wasm.Options{Name: "hello", Logger: logger})
			base := serveHTTP(t, logger, mount("/trap", h), mount("/hello", hello))
			for i := range 3 {
				r := httpGet(t, base+"/trap")
				if r.status != 500 || strings.Contains(r.body, "partial") {
					t.Fatalf("request %d: %d %q, want a 500 without the held bytes", i+1, r.status, r.body)
				}
			}
			expectHealthy(t, base)
		})
	}
}
