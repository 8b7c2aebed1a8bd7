package app_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/internal/testapp"

	"github.com/bubblewasm/bubblewasm/server/config"
)

// TestManyWaiters parks manyWaiters HTTP clients (10,000; fewer under the
// race detector, see waiters_norace_test.go) in wait.wat on one signal name,
// fresh instances on one route, then wakes them all with one send. The
// clients run in a child process (this test binary again, as
// TestWaiterClients), so each process holds one end of each connection
// (both ends in one process would need over 20,000 descriptors, at or over
// common hard limits, 20,000 where this was written) and the server's
// memory is measured alone.
//
// On wasmtime a guest blocked in a host call holds an OS thread (the cgo
// call it runs on cannot be parked), so the test runs wasmtimeWaiters
// clients there, measures the threads per waiter and logs why it does not
// run the full count when that would pass the process's thread limit.
func TestManyWaiters(t *testing.T) {
	for _, engine := range testapp.Engines(t) {
		t.Run(engine, func(t *testing.T) {
			n := manyWaiters
			if engine == config.EngineWasmtime {
				n = wasmtimeWaiters
			}
			m := runWaiters(t, engine, n)
			if engine != config.EngineWasmtime || n >= manyWaiters {
				return
			}
			// One thread per blocked guest is structural (a guest runs on
			// the thread of a cgo call, which stays with it while the host
			// function waits), so the app bounds wasmtime guest runs across
			// all routes ([limits] wasmtime_exchanges; see
			// TestWasmtimeSlowBodies).
			t.Logf("not running %d waiters on wasmtime: a blocked guest holds an OS thread (%d waiters took the process from %d to %d threads); [limits] wasmtime_exchanges bounds them",
				manyWaiters, n, m.threadsBefore, m.threadsDuring)
		})
	}
}

// waiterMetrics are the server's thread counts before the waiters came,
// while they were parked, and after they left.
type waiterMetrics struct {
	threadsBefore, threadsDuring, threads int
}

const (
	envWaitersAddr    = "BUBBLEWASM_TEST_WAITERS_ADDR"
	envWaitersN       = "BUBBLEWASM_TEST_WAITERS_N"
	envWaitersPayload = "BUBBLEWASM_TEST_WAITERS_PAYLOAD"
	waitersPrefix     = "WAITERS "
)

func runWaiters(t *testing.T, engine string, n int) waiterMetrics {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	raiseFileLimit(t, n+1024)

	base, _ := start(t, engine, `
[[route]]
name = "wait"
module = "wait.wasm"
match = { PATH_INFO = "/wait" }
signals = ["job.*"]
instances = "fresh"
max_concurrency = `+strconv.Itoa(n+100)+`
memory = "64KiB"
timeout = "3m"

[[route]]
name = "send"
module = "send.wasm"
match = { PATH_INFO = "/send" }
signals = ["job.*"]
`, "wait", "send")
	// Warm up (the first exchange starts what stays), then measure.
	if _, body := do(t, "GET", base+"/wait?warmup", "", "X-Timeout-Ms: -1"); body != "waiting\ntimeout\n" {
		t.Fatalf("warm-up: %q", body)
	}
	client.CloseIdleConnections()
	before := measure()

	payload := fmt.Sprintf("wake-%d", time.Now().UnixNano())
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestWaiterClients$", "-test.count=1")
	cmd.Env = append(os.Environ(), envWaitersAddr+"="+strings.TrimPrefix(base, "http://"),
		envWaitersN+"="+strconv.Itoa(n), envWaitersPayload+"="+payload)
	cmd.Stderr = os.Stderr
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 16)
	exited := make(chan struct{})
	var exitErr error // set before exited is closed
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if s, ok := strings.CutPrefix(sc.Text(), waitersPrefix); ok {
				select {
				case lines <- s:
				case <-ctx.Done():
				}
			}
		}
		close(lines)
		exitErr = cmd.Wait()
		close(exited)
	}()
	defer func() {
		cancel() // kills the child if it is still running
		<-exited
	}()
	next := func(what string) string {
		select {
		case l, ok := <-lines:
			if !ok {
				<-exited
				t.Fatalf("the client process ended before %s: %v", what, exitErr)
			}
			return l
		case <-ctx.Done():
			t.Fatalf("no %s within the test's deadline", what)
		}
		return ""
	}

	// Every client has read "waiting", so every guest has streamed and is
	// in, or about to enter, the wait.
	if l := next("the clients' readiness"); l != fmt.Sprintf("ready %d of %d", n, n) {
		t.Fatalf("client process: %s", l)
	}
	during := measure()
	// Now make sure that each of them is parked in the wait, so that one
	// send must wake every one.
	for parked := 0; parked != n; {
		if ctx.Err() != nil {
			t.Fatalf("only %d of %d guests parked in the wait", parked, n)
		}
		parked = parkedIn(signalWait)
	}
	status, body := do(t, "POST", base+"/send?all", payload)
	if status != 200 || body != fmt.Sprintf("%d\n", n) {
		t.Fatalf("one send: %d %q, want it to wake all %d", status, body, n)
	}
	if l := next("the clients' results"); l != fmt.Sprintf("done %d of %d got the payload", n, n) {
		t.Fatalf("client process: %s", l)
	}
	<-exited
	if exitErr != nil {
		t.Fatalf("client process: %v", exitErr)
	}
	client.CloseIdleConnections()
	goroutinesBack(t, before.goroutines)
	after := measure()

	per := func(a, b uint64) float64 { return (float64(a) - float64(b)) / float64(n) }
	t.Logf("%s, %d waiters parked: per waiter %.1f KiB of Go heap in use (HeapInuse), %.1f KiB of goroutine stacks (StackInuse), %.1f KiB of memory obtained from the OS (Sys), %.1f KiB resident (VmRSS); %.2f goroutines and %.3f OS threads per waiter (%d -> %d goroutines, %d -> %d threads); after: %d goroutines, %d threads, heap in use %.1f MiB (%.1f MiB before)",
		engine, n, per(during.heapInuse, before.heapInuse)/1024, per(during.stackInuse, before.stackInuse)/1024,
		per(during.sys, before.sys)/1024, per(during.rss, before.rss)/1024,
		float64(during.goroutines-before.goroutines)/float64(n), float64(during.threads-before.threads)/float64(n),
		before.goroutines, during.goroutines, before.threads, during.threads,
		after.goroutines, after.threads, float64(after.heapInuse)/(1<<20), float64(before.heapInuse)/(1<<20))
	return waiterMetrics{threadsBefore: before.threads, threadsDuring: during.threads, threads: after.threads}
}

type snapshot struct {
	heapInuse, stackInuse, sys, rss uint64
	goroutines, threads             int
}

// measure collects garbage, then reads the runtime's and the kernel's view
// of this process. (Twice: what sync.Pools held survives the first.)
func measure() snapshot {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s := snapshot{heapInuse: ms.HeapInuse, stackInuse: ms.StackInuse, sys: ms.Sys, goroutines: runtime.NumGoroutine()}
	status, _ := os.ReadFile("/proc/self/status")
	for line := range strings.SplitSeq(string(status), "\n") {
		k, v, _ := strings.Cut(line, ":")
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.ParseUint(f[0], 10, 64)
		switch k {
		case "Threads":
			s.threads = int(n)
		case "VmRSS":
			s.rss = n << 10 // kB
		}
	}
	return s
}

// raiseFileLimit raises the soft limit on open files to need, up to the
// hard limit, and skips the test when the hard limit is lower.
func raiseFileLimit(t *testing.T, need int) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur >= uint64(need) {
		return
	}
	if lim.Max < uint64(need) {
		t.Skipf("this test needs %d open files per process; the hard limit is %d (raise it: ulimit -Hn %d)", need, lim.Max, need)
	}
	lim.Cur = uint64(need)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatalf("raising the open-file limit to %d: %v", need, err)
	}
}

// TestWaiterClients is TestManyWaiters' client process; run by itself it
// skips. It opens N connections with a minimal GET /wait?all each, reports
// "ready N of N" once every one has read "waiting", then "done K of N got
// the payload" once every response has ended.
func TestWaiterClients(t *testing.T) {
	addr := os.Getenv(envWaitersAddr)
	if addr == "" {
		t.Skip("the client process of TestManyWaiters")
	}
	n, _ := strconv.Atoi(os.Getenv(envWaitersN))
	payload := os.Getenv(envWaitersPayload)
	raiseFileLimit(t, n+256)
	deadline := time.Now().Add(150 * time.Second)
	req := []byte("GET /wait?all HTTP/1.1\r\nHost: waiters\r\nX-Timeout-Ms: 150000\r\nConnection: close\r\n\r\n")
	want := "signalled: " + payload + "\n"

	var (
		waiting, finished sync.WaitGroup
		ready, got        atomic.Int64
		mu                sync.Mutex
		firstErr          error
		dialers           = make(chan struct{}, 32) // bounds the connections being set up
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr == nil {
			firstErr = err
		}
	}
	report := func() error {
		mu.Lock()
		defer mu.Unlock()
		if firstErr != nil {
			fmt.Printf("%sfirst error: %v\n", waitersPrefix, firstErr)
		}
		return firstErr
	}
	waiting.Add(n)
	finished.Add(n)
	for i := range n {
		dialers <- struct{}{}
		go func() {
			defer finished.Done()
			setUp := false
			defer func() {
				if !setUp {
					<-dialers
					waiting.Done()
				}
			}()
			c, err := net.DialTimeout("tcp", addr, 30*time.Second)
			if err != nil {
				fail(fmt.Errorf("client %d: %w", i, err))
				return
			}
			defer c.Close()
			c.SetDeadline(deadline)
			if _, err := c.Write(req); err != nil {
				fail(fmt.Errorf("client %d: %w", i, err))
				return
			}
			br := bufio.NewReaderSize(c, 512)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				fail(fmt.Errorf("client %d: %w", i, err))
				return
			}
			body := bufio.NewReaderSize(resp.Body, 64)
			line, err := body.ReadString('\n')
			if line != "waiting\n" {
				fail(fmt.Errorf("client %d: %d, first line %q, %v", i, resp.StatusCode, line, err))
				return
			}
			ready.Add(1)
			setUp = true
			<-dialers
			waiting.Done()
			rest, err := io.ReadAll(body)
			if string(rest) != want {
				fail(fmt.Errorf("client %d: after waiting %q, %v", i, rest, err))
				return
			}
			got.Add(1)
		}()
	}
	waiting.Wait()
	fmt.Printf("%sready %d of %d\n", waitersPrefix, ready.Load(), n)
	report()
	finished.Wait()
	err := report()
	fmt.Printf("%sdone %d of %d got the payload\n", waitersPrefix, got.Load(), n)
	if err != nil {
		t.Fatal(err)
	}
}
