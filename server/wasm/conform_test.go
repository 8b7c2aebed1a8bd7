package wasm_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// hiddenLength hides a reader's length from net/http so the request body is
// sent chunked.
type hiddenLength struct{ r io.Reader }

func (h hiddenLength) Read(p []byte) (int, error) { return h.r.Read(p) }

func parseResults(t testing.TB, line string) []int {
	t.Helper()
	fields := strings.Split(strings.TrimSuffix(line, ","), ",")
	out := make([]int, len(fields))
	for i, f := range fields {
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("result line %q: %v", line, err)
		}
		out[i] = n
	}
	return out
}

// logLine returns the captured log line holding msg.
func logLine(t testing.TB, logs *testutil.LogBuffer, msg string) string {
	t.Helper()
	waitLog(t, logs, msg)
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, msg) {
			return l
		}
	}
	return ""
}

// Every host function behaves as ABI.md says, seen from an HTTP client.
func TestABIConformanceOverHTTP(t *testing.T) {
	const value = "hello-conformance"
	body := strings.Repeat("abcdefghij", 20)
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			for _, lc := range allLifecycles {
				for _, framing := range []string{"content-length", "chunked"} {
					t.Run(string(lc)+"/"+framing, func(t *testing.T) {
						logger, logs := testutil.CaptureLogger(t)
						h := mustHandler(t, e.New(t), watModule(t, "conform"), wasm.Options{Name: "conform", Logger: logger, Lifecycle: lc})
						base := serveHTTP(t, logger, mount("/conform", h))
						var rb io.Reader = strings.NewReader(body)
						if framing == "chunked" {
							rb = hiddenLength{rb}
						}
						r := httpDo(t, "POST", base+"/conform", rb, http.Header{"X-Test": {value}})
						if r.status != http.StatusCreated {
							t.Fatalf("status %d, want 201 (body %q)", r.status, r.body)
						}
						t.Logf("response %d %v\n%q", r.status, r.header, r.body)
						lines := strings.Split(r.body, "\n")
						if len(lines) != 7 || lines[6] != "" {
							t.Fatalf("response has %d lines, want 6: %q", len(lines)-1, r.body)
						}
						res := parseResults(t, lines[0])
						keys := lines[2]
						n := len(value)
						want := []struct {
							name string
							want int
						}{
							{"env_get small buffer: full length", n},
							{"env_get small buffer: nothing written", 1},
							{"env_get exact buffer", n},
							{"env_get large buffer", n},
							{"env_get missing key", int(abi.ErrNotFound)},
							{"env_keys probe: total size", len(keys)},
							{"env_keys full", len(keys)},
							{"read zero-length buffer", int(abi.ErrInvalid)},
							{"body bytes read", len(body)},
							{"reads with data", -1}, // checked below
							{"read error", 0},
							{"read after end of input", 0},
							{"set_status 99", int(abi.ErrInvalid)},
							{"set_status 1000", int(abi.ErrInvalid)},
							{"set_status 201", 0},
							{"set_header X-Single", 0},
							{"add_header X-Multi a", 0},
							{"add_header X-Multi b", 0},
							{"set_header X-Replaced old", 0},
							{"set_header X-Replaced new", 0},
							{"set_header name with space", int(abi.ErrInvalid)},
							{"set_header name with colon", int(abi.ErrInvalid)},
							{"set_header empty name", int(abi.ErrInvalid)},
							{"set_header value with CRLF", int(abi.ErrInvalid)},
							{"set_header value with NUL", int(abi.ErrInvalid)},
							{"add_header name with space", int(abi.ErrInvalid)},
							{"add_header lower-case x-multi", 0},
						}
						if len(res) != len(want) {
							t.Fatalf("%d results, want %d: %q", len(res), len(want), lines[0])
						}
						for i, w := range want {
							if w.want != -1 && res[i] != w.want {
								t.Errorf("result %d (%s) = %d, want %d", i, w.name, res[i], w.want)
							}
						}
						if min := (len(body) + 6) / 7; res[9] < min || res[9] > len(body) {
							t.Errorf("%d reads returned data, want between %d and %d", res[9], min, len(body))
						}
						if lines[1] != value {
							t.Errorf("env_get value %q, want %q", lines[1], value)
						}
						if lines[3] != body {
							t.Errorf("body read back as %q", lines[3])
						}
						// env_keys: every key followed by NUL, ascending.
						if !strings.HasSuffix(keys, "\x00") {
							t.Errorf("env_keys output does not end with NUL: %q", keys)
						}
						list := strings.Split(strings.TrimSuffix(keys, "\x00"), "\x00")
						if !slices.IsSorted(list) {
							t.Errorf("env_keys not in ascending order: %q", list)
						}
						for _, k := range []string{"HTTP_X_TEST", abi.EnvRequestMethod, abi.EnvPathInfo, abi.EnvRoute, abi.EnvTransport} {
							if !slices.Contains(list, k) {
								t.Errorf("env_keys lacks %s: %q", k, list)
							}
						}
						post := parseResults(t, lines[4])
						wantPost := []int{1, int(abi.ErrCommitted), int(abi.ErrCommitted), int(abi.ErrCommitted), int(abi.ErrInvalid), int(abi.ErrInvalid), 0, 0}
						if !slices.Equal(post, wantPost) {
							t.Errorf("after commit: got %v, want %v (write ok, set_status, set_header, add_header, bad set_status, bad set_header, flush, empty write)", post, wantPost)
						}
						// During bubble_init there is no exchange (ABI.md).
						init := parseResults(t, lines[5])
						c, cl := int(abi.ErrCommitted), int(abi.ErrClosed)
						wantInit := []int{int(abi.ErrNotFound), 0, 0, cl, cl, cl, c, c, c}
						if !slices.Equal(init, wantInit) {
							t.Errorf("calls during bubble_init: got %v, want %v (env_get, env_keys, read, write, empty write, flush, set_status, set_header, add_header)", init, wantInit)
						}
						for name, vals := range map[string][]string{
							"X-Single":   {"one"},
							"X-Multi":    {"a", "b", "c"},
							"X-Replaced": {"new"},
							"X-Late":     nil,
							"Bad Name":   nil,
						} {
							if got := r.header.Values(name); !slices.Equal(got, vals) {
								t.Errorf("header %s = %q, want %q", name, got, vals)
							}
						}
						for msg, level := range map[string]string{
							`msg="conform: init"`:               "level=INFO",
							`msg="conform: hello from guest"`:   "level=INFO",
							`msg="conform: a warning"`:          "level=WARN",
							`msg="conform: line one\nline two"`: "level=ERROR", // one record
						} {
							l := logLine(t, logs, msg)
							for _, w := range []string{level, "route=conform", "source=guest"} {
								if !strings.Contains(l, w) {
									t.Errorf("log record %q lacks %q", l, w)
								}
							}
						}
					})
				}
			}
		})
	}
}

// Fresh and snapshot instances never share state; pooled ones are reused
// (the counter grows). Snapshot and pool instances serve one exchange at a
// time, even under concurrent load, and are reused.
func TestFreshVersusPool(t *testing.T) {
	const (
		sequential = 5
		concurrent = 32
	)
	reqBody := bytes.Repeat([]byte("0123456789abcdef"), 128) // 2 KiB: 128 reads of 16 bytes
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			for _, lc := range allLifecycles {
				t.Run(string(lc), func(t *testing.T) {
					logger, _ := testutil.CaptureLogger(t)
					eng := &countingEngine{Engine: e.New(t)}
					h := mustHandler(t, eng, watModule(t, "counter"), wasm.Options{Name: "counter", Logger: logger, Lifecycle: lc, PoolSize: 4, MaxConcurrency: 8})
					base := serveHTTP(t, logger, mount("/counter", h))

					for i := range sequential {
						id := fmt.Sprint("s", i)
						r := httpDo(t, "POST", base+"/counter", bytes.NewReader(reqBody), http.Header{"X-Id": {id}})
						if r.status != 200 {
							t.Fatalf("request %s: %d %q", id, r.status, r.body)
						}
						inst, n := parseCounter(t, r.body)
						switch lc {
						case wasm.Fresh, wasm.Snapshot:
							if inst != id || n != 1 {
								t.Fatalf("%s request %s saw inst=%s n=%d: state survived an exchange", lc, id, inst, n)
							}
						case wasm.Pool:
							if inst != "s0" || n != i+1 {
								t.Fatalf("pooled request %s saw inst=%s n=%d, want inst=s0 n=%d", id, inst, n, i+1)
							}
						}
					}

					type result struct {
						id, inst string
						n        int
					}
					// Every body waits for the gate, so that MaxConcurrency
					// exchanges are surely running at once before any ends.
					gate := make(chan struct{})
					results := make([]result, concurrent)
					errs := make([]error, concurrent)
					var wg sync.WaitGroup
					for i := range concurrent {
						wg.Go(func() {
							id := fmt.Sprint("c", i)
							r, err := httpDoErr("POST", base+"/counter", &gatedReader{gate: gate, r: bytes.NewReader(reqBody)}, http.Header{"X-Id": {id}})
							if err == nil && r.status != 200 {
								err = fmt.Errorf("%d %q", r.status, r.body)
							}
							if err == nil && !strings.HasPrefix(r.body, "inst=") {
								err = fmt.Errorf("request %s: %q (two exchanges shared an instance)", id, r.body)
							}
							if err != nil {
								errs[i] = err
								return
							}
							var inst, rest string
							fmt.Sscanf(r.body, "inst=%s n=%s", &inst, &rest)
							n, _ := strconv.Atoi(rest)
							results[i] = result{id, inst, n}
						})
					}
					testutil.Eventually(t, "MaxConcurrency exchanges running", func() bool { return eng.running.Load() == 8 })
					close(gate)
					wg.Wait()
					for _, err := range errs {
						if err != nil {
							t.Fatal(err)
						}
					}
					if p := eng.peak.Load(); p != 8 {
						t.Fatalf("%d exchanges at once, want MaxConcurrency 8", p)
					}
					byInst := map[string][]int{}
					for _, r := range results {
						byInst[r.inst] = append(byInst[r.inst], r.n)
						if lc != wasm.Pool && (r.inst != r.id || r.n != 1) {
							t.Errorf("%s request %s saw inst=%s n=%d", lc, r.id, r.inst, r.n)
						}
					}
					if lc == wasm.Snapshot {
						t.Logf("%d exchanges, %d instances made", concurrent+sequential, eng.made.Load())
						if eng.made.Load() >= int64(concurrent+sequential) {
							t.Errorf("snapshot made %d instances for %d exchanges: no reuse", eng.made.Load(), concurrent+sequential)
						}
					}
					if lc == wasm.Pool {
						reused := 0
						for inst, ns := range byInst {
							slices.Sort(ns)
							// One exchange at a time per instance: its counts
							// are distinct. Instance s0 started in the
							// sequential phase.
							first := 1
							if inst == "s0" {
								first = sequential + 1
							}
							for i, n := range ns {
								if n != first+i {
									t.Errorf("instance %s saw counts %v: want %d.. with no repeats or gaps", inst, ns, first)
									break
								}
							}
							reused += len(ns) - 1
						}
						t.Logf("%d concurrent requests ran on %d instances, %d of them on a reused one (%d instances made in all)", concurrent, len(byInst), reused, eng.made.Load())
						if eng.made.Load() >= int64(concurrent+sequential) {
							t.Errorf("the pool made %d instances for %d exchanges: no reuse", eng.made.Load(), concurrent+sequential)
						}
					}
				})
			}
		})
	}
}

// gatedReader blocks its first read until gate is closed. Its length is
// hidden, so the request is sent chunked and its headers go out at once.
type gatedReader struct {
	gate <-chan struct{}
	r    io.Reader
}

func (g *gatedReader) Read(p []byte) (int, error) {
	<-g.gate
	return g.r.Read(p)
}

// flush pushes output to the peer while the exchange still runs: the client
// sends the request body only after it has read what was flushed, so without
// a working flush the exchange could never end.
func TestFlushStreamsBeforeExchangeEnds(t *testing.T) {
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			for _, lc := range allLifecycles {
				t.Run(string(lc), func(t *testing.T) {
					logger, _ := testutil.CaptureLogger(t)
					base := serveHTTP(t, logger, mount("/flush", mustHandler(t, e.New(t), watModule(t, "flush"), wasm.Options{Name: "flush", Logger: logger, Lifecycle: lc})))
					c := dialHTTP(t, base)
					c.send(t, "POST /flush HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
					resp, err := http.ReadResponse(c.br, nil)
					if err != nil {
						t.Fatal(err)
					}
					defer resp.Body.Close()
					br := bufio.NewReader(resp.Body)
					first, err := br.ReadString('\n')
					if err != nil || first != "first\n" || resp.StatusCode != 200 {
						t.Fatalf("before the body was sent: %d %q %v", resp.StatusCode, first, err)
					}
					c.send(t, "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
					rest, err := io.ReadAll(br)
					if err != nil || string(rest) != "second 00011\n" {
						t.Fatalf("after the body: %q %v", rest, err)
					}
				})
			}
		})
	}
}
