package wasm_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// gatedRequest sends a POST whose body waits for gate (so its exchange,
// once running, blocks reading it; a nil gate sends no body) and delivers
// its result.
func gatedRequest(url string, gate <-chan struct{}) <-chan httpResult {
	c := make(chan httpResult, 1)
	go func() {
		var body io.Reader = http.NoBody
		if gate != nil {
			body = &gatedReader{gate: gate, r: strings.NewReader("body")}
		}
		r, err := httpDoErr("POST", url, body, nil)
		if err != nil {
			r.body = err.Error()
		}
		c <- r
	}()
	return c
}

// With max_concurrency 1 and a queue of 2, one exchange runs, two wait, and
// every further one is refused at once: 503 with Retry-After, answered
// while the running exchange is still blocked (so without waiting for any
// timeout). The three admitted ones then succeed, one at a time.
func TestQueueRefusesBeyondItsBound(t *testing.T) {
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			logger, logs := testutil.CaptureLogger(t)
			eng := &countingEngine{Engine: e.New(t)}
			h := mustHandler(t, eng, watModule(t, "counter"), wasm.Options{Name: "q", Logger: logger,
				MaxConcurrency: 1, Queue: 2, QueueTimeout: time.Minute, Timeout: 2 * time.Minute})
			base := serveHTTP(t, logger, mount("/q", h))

			gate := make(chan struct{})
			var admitted []<-chan httpResult
			admitted = append(admitted, gatedRequest(base+"/q", gate))
			testutil.Eventually(t, "one exchange running", func() bool { return eng.running.Load() == 1 })
			for i := range 2 {
				admitted = append(admitted, gatedRequest(base+"/q", gate))
				testutil.Eventually(t, fmt.Sprintf("%d exchanges queued", i+1), func() bool { return h.Queued() == i+1 })
			}

			const refused = 5
			results := make([]httpResult, refused)
			errs := make([]error, refused)
			var wg sync.WaitGroup
			for i := range refused {
				wg.Go(func() { results[i], errs[i] = httpDoErr("POST", base+"/q", bytes.NewReader(nil), nil) })
			}
			wg.Wait() // the gate is still closed: none of these waited for a slot
			for i, r := range results {
				if errs[i] != nil {
					t.Fatalf("request %d: %v", i, errs[i])
				}
				if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") != "1" {
					t.Errorf("request %d beyond the queue: %d Retry-After %q %q, want 503 Retry-After 1", i, r.status, r.header.Get("Retry-After"), r.body)
				}
			}
			if got := h.QueueRejected(); got != refused {
				t.Errorf("QueueRejected %d, want %d", got, refused)
			}
			if eng.running.Load() != 1 || h.Queued() != 2 {
				t.Errorf("%d running, %d queued, want 1 and 2", eng.running.Load(), h.Queued())
			}
			waitLog(t, logs, "1 exchanges running and 2 waiting")

			close(gate)
			for i, c := range admitted {
				if r := <-c; r.status != 200 || !strings.HasPrefix(r.body, "inst=") {
					t.Errorf("admitted request %d: %d %q, want 200", i, r.status, r.body)
				}
			}
			if p := eng.peak.Load(); p != 1 {
				t.Errorf("%d exchanges ran at once, max_concurrency is 1", p)
			}
			if h.Queued() != 0 {
				t.Errorf("%d still queued", h.Queued())
			}
		})
	}
}

// An exchange that finds every slot taken is refused with 503 at once with
// no queue, and after QueueTimeout with one; the route's timeout is far
// longer and plays no part.
func TestQueueTimeoutAndNoQueue(t *testing.T) {
	e := testutil.Engines()[0]
	for _, c := range []struct {
		name    string
		queue   int
		timeout time.Duration
		log     string
	}{
		{"no queue", wasm.NoQueue, 0, "1 exchanges running and 0 waiting"},
		{"queue timeout", 1, 50 * time.Millisecond, "no slot of 1 freed within queue_timeout 50ms"},
	} {
		t.Run(c.name, func(t *testing.T) {
			logger, logs := testutil.CaptureLogger(t)
			eng := &countingEngine{Engine: e.New(t)}
			h := mustHandler(t, eng, watModule(t, "counter"), wasm.Options{Name: "q", Logger: logger,
				MaxConcurrency: 1, Queue: c.queue, QueueTimeout: c.timeout, Timeout: 2 * time.Minute})
			base := serveHTTP(t, logger, mount("/q", h))

			gate := make(chan struct{})
			running := gatedRequest(base+"/q", gate)
			testutil.Eventually(t, "one exchange running", func() bool { return eng.running.Load() == 1 })
			r := httpDo(t, "POST", base+"/q", bytes.NewReader(nil), nil)
			if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") != "1" {
				t.Errorf("got %d Retry-After %q %q, want 503 Retry-After 1", r.status, r.header.Get("Retry-After"), r.body)
			}
			if got := h.QueueRejected(); got != 1 {
				t.Errorf("QueueRejected %d, want 1", got)
			}
			waitLog(t, logs, c.log)
			close(gate)
			if r := <-running; r.status != 200 {
				t.Errorf("the running exchange: %d %q", r.status, r.body)
			}
		})
	}
}

// A parked exchange was admitted already: when a signal wakes many at once
// while every slot is taken, they wait for a slot outside the queue, so
// none is refused even with no queue at all.
func TestResumedExchangesSkipTheQueue(t *testing.T) {
	const parked = 10
	logger, _ := testutil.CaptureLogger(t)
	ce := &countingEngine{Engine: testutil.Engines()[0].New(t)}
	ev := &fakeEvents{}
	h := mustHandler(t, ce, watModule(t, "park"), wasm.Options{Name: "park", Logger: logger,
		MaxConcurrency: 1, Queue: wasm.NoQueue, Timeout: 2 * time.Minute, Services: ev.services()})
	base := serveHTTP(t, logger, mount("/*", h))
	var results []<-chan httpResult
	for i := range parked { // one at a time: with no queue, arrivals at once would be refused
		results = append(results, gatedRequest(base+"/s?room", nil))
		testutil.Eventually(t, fmt.Sprintf("%d exchanges parked", i+1), func() bool { return h.Parked() == i+1 })
	}
	// The slot is taken: /i reads its body first, which waits for gate.
	gate := make(chan struct{})
	blocker := gatedRequest(base+"/i", gate)
	testutil.Eventually(t, "the slot taken", func() bool { return ce.running.Load() == 1 })
	if n := ev.fire("room", []byte("hi")); n != parked {
		t.Fatalf("the signal readied %d watches, want %d", n, parked)
	}
	testutil.Eventually(t, "every woken exchange waiting for the slot (or refused)", func() bool { return h.Resuming()+int(h.QueueRejected()) == parked })
	if n := h.QueueRejected(); n != 0 {
		t.Errorf("%d woken exchanges refused, want none", n)
	}
	close(gate)
	want := "first\n" + resumed("signal", "room", "hi", 1)
	for _, c := range results {
		if r := <-c; r.status != 200 || r.body != want {
			t.Errorf("a resumed exchange: %d %q, want 200 %q", r.status, r.body, want)
		}
	}
	if r := <-blocker; r.status != 200 {
		t.Errorf("the exchange that held the slot: %d %q", r.status, r.body)
	}
	if p := ce.peak.Load(); p != 1 {
		t.Errorf("%d runs at once, over max_concurrency 1", p)
	}
}
