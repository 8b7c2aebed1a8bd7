package wasm_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/abi"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server/wasm"
)

// fakeEvents is a pub/sub and signals binding that parks exchanges: its
// watches are fired by fire, by subscription id or signal name. The id
// "gone" is an unknown subscription, the signal "denied" is not granted.
type fakeEvents struct {
	mu      sync.Mutex
	watches map[string][]*fakeWatch
	stopped int
}

type fakeWatch struct {
	ev      *fakeEvents
	on      string // abi.WakeMessage or abi.WakeSignal
	ready   chan struct{}
	fired   bool
	payload []byte
}

func (w *fakeWatch) Ready() <-chan struct{} { return w.ready }

func (w *fakeWatch) Stop() (string, []byte) {
	w.ev.mu.Lock()
	defer w.ev.mu.Unlock()
	w.ev.stopped++
	if w.fired {
		return w.on, w.payload
	}
	for name, ws := range w.ev.watches {
		for i, x := range ws {
			if x == w {
				w.ev.watches[name] = append(ws[:i], ws[i+1:]...)
			}
		}
	}
	return "", nil
}

func (ev *fakeEvents) watch(name, on string) *fakeWatch {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	if ev.watches == nil {
		ev.watches = map[string][]*fakeWatch{}
	}
	w := &fakeWatch{ev: ev, on: on, ready: make(chan struct{})}
	ev.watches[name] = append(ev.watches[name], w)
	return w
}

// fire readies every watch of name and returns how many there were.
func (ev *fakeEvents) fire(name string, payload []byte) int {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	ws := ev.watches[name]
	delete(ev.watches, name)
	for _, w := range ws {
		w.fired, w.payload = true, payload
		close(w.ready)
	}
	return len(ws)
}

func (ev *fakeEvents) waiting(name string) int {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	return len(ev.watches[name])
}

func (ev *fakeEvents) WatchMessage(id string) (wasm.Watch, error) {
	if id == "gone" {
		return nil, abi.ErrGone
	}
	return ev.watch(id, abi.WakeMessage), nil
}

func (ev *fakeEvents) WatchSignal(name string) (wasm.Watch, error) {
	if name == "denied" {
		return nil, abi.ErrNotGranted
	}
	return ev.watch(name, abi.WakeSignal), nil
}

// The blocking calls of abi.PubSub and abi.Signals; the park module's
// tests do not use them.
func (ev *fakeEvents) Publish(string, []byte) (int, error) { return 0, errors.ErrUnsupported }
func (ev *fakeEvents) Subscribe(string) (string, error)    { return "", errors.ErrUnsupported }
func (ev *fakeEvents) Next(string, time.Duration, int) ([]byte, int, error) {
	return nil, 0, errors.ErrUnsupported
}
func (ev *fakeEvents) Unsubscribe(string) error                   { return errors.ErrUnsupported }
func (ev *fakeEvents) Wait(string, time.Duration) ([]byte, error) { return nil, errors.ErrUnsupported }
func (ev *fakeEvents) Send(string, []byte) (int, error)           { return 0, errors.ErrUnsupported }

var (
	_ abi.PubSub          = (*fakeEvents)(nil)
	_ abi.Signals         = (*fakeEvents)(nil)
	_ wasm.MessageWatcher = (*fakeEvents)(nil)
	_ wasm.SignalWatcher  = (*fakeEvents)(nil)
)

// services grants pub/sub and signals through ev.
func (ev *fakeEvents) services() wasm.Services {
	return wasm.Services{
		PubSub:  func(context.Context) abi.PubSub { return ev },
		Signals: func(context.Context) abi.Signals { return ev },
	}
}

// resumed is what park.wat writes on a resumed run.
func resumed(wake, state, payload string, n int) string {
	return fmt.Sprintf("wake=%s;state=%s;payload=%s;resume=%d\n", wake, state, payload, n)
}

// A parked exchange comes back with its stash, why it woke and its resume
// count, the same input and the output written before it parked; a wait
// of a failed run is dropped; the park functions' refusals reach the
// guest. On every engine and lifecycle.
func TestParkResumes(t *testing.T) {
	bin := watModule(t, "park")
	for _, e := range testutil.Engines() {
		for _, lc := range []wasm.Lifecycle{wasm.Fresh, wasm.Pool} {
			t.Run(e.Name+"/"+string(lc), func(t *testing.T) {
				logger, _ := testutil.CaptureLogger(t)
				h := mustHandler(t, e.New(t), bin, wasm.Options{Name: "park", Logger: logger, Lifecycle: lc})
				base := serveHTTP(t, logger, mount("/*", h))
				for _, c := range []struct {
					path, body string
					status     int
					want       string
				}{
					{"/t?abc", "", 200, "first\n" + resumed("timeout", "abc", "", 1)},
					{"/f?flushed", "", 200, "first\n" + resumed("timeout", "flushed", "", 1)},
					{"/r?q", "", 200, "first\n" + resumed("timeout", "q", "", 1) + resumed("timeout", "q", "", 2) + resumed("timeout", "q", "", 3)},
					{"/i", "hello, parked world", 200, "first\n" + resumed("timeout", "", "", 1) + "input=, parked world\n"},
					{"/c", "", 200, "first\n"},
					{"/x", "", 500, ""},
					{"/b", "", 600 + 7, "parkerr"},                        // ERR_TOO_LARGE
					{"/m?sub", "", 600 + 8, "parkerr"},                    // ERR_DENIED: no pubsub on this route
					{"/s?room", "", 600 + 8, "parkerr"},                   // ERR_DENIED: no signals
					{"/m?" + strings.Repeat("i", 65), "", 601, "parkerr"}, // ERR_NOT_FOUND: no id is that long
				} {
					var body *strings.Reader
					if c.body != "" {
						body = strings.NewReader(c.body)
					}
					var r httpResult
					if body != nil {
						r = httpDo(t, "POST", base+c.path, body, nil)
					} else {
						r = httpDo(t, "GET", base+c.path, nil, nil)
					}
					if r.status != c.status || (c.want != "" && r.body != c.want) {
						t.Errorf("%s: %d %q, want %d %q", c.path, r.status, r.body, c.status, c.want)
					}
				}
				if n := h.Waiting(); n != 0 {
					t.Errorf("%d places of max_waiting still taken after every exchange ended", n)
				}
			})
		}
	}
}

// Parked exchanges hold no instance and no slot: with max_concurrency 2,
// twenty exchanges park on one signal while no instance of a fresh route
// is alive (on a snapshot route, only the idle ones it keeps for the next
// exchanges), and one send resumes them all, each with its payload.
func TestParkHoldsNoInstance(t *testing.T) {
	const parked = 20
	bin := watModule(t, "park")
	for _, e := range testutil.Engines() {
		for _, life := range []wasm.Lifecycle{wasm.Fresh, wasm.Snapshot} {
			t.Run(e.Name+"/"+string(life), func(t *testing.T) {
				logger, _ := testutil.CaptureLogger(t)
				ce := &countingEngine{Engine: e.New(t)}
				ev := &fakeEvents{}
				h := mustHandler(t, ce, bin, wasm.Options{Name: "park", Logger: logger, Lifecycle: life, MaxConcurrency: 2, Services: ev.services()})
				base := serveHTTP(t, logger, mount("/*", h))
				results := make(chan httpResult, parked)
				errs := make(chan error, parked)
				for range parked {
					go func() {
						r, err := httpDoErr("GET", base+"/s?room", nil, nil)
						if err != nil {
							errs <- err
							return
						}
						results <- r
					}()
				}
				testutil.Eventually(t, fmt.Sprintf("%d exchanges parked", parked), func() bool { return h.Parked() == parked })
				if alive, idle := ce.made.Load()-ce.closed.Load(), h.Idle(); alive != int64(idle) {
					t.Errorf("%d instances alive while every exchange is parked, %d of them idle: want none in use", alive, idle)
				}
				if n := ev.fire("room", []byte("hi")); n != parked {
					t.Fatalf("the signal readied %d watches, want %d", n, parked)
				}
				want := "first\n" + resumed("signal", "room", "hi", 1)
				for range parked {
					select {
					case r := <-results:
						if r.status != 200 || r.body != want {
							t.Errorf("a resumed exchange: %d %q, want 200 %q", r.status, r.body, want)
						}
					case err := <-errs:
						t.Error(err)
					}
				}
				if p := ce.peak.Load(); p > 2 {
					t.Errorf("%d runs at once, over max_concurrency 2", p)
				}
				if n := h.Waiting(); n != 0 {
					t.Errorf("%d places still taken", n)
				}
			})
		}
	}
}

// A message wait resumes when the subscription is readied; an unknown
// subscription is ERR_NOT_FOUND at once; a signal outside the grant is
// ERR_DENIED; every refused watch is stopped.
func TestParkMessage(t *testing.T) {
	bin := watModule(t, "park")
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			logger, _ := testutil.CaptureLogger(t)
			ev := &fakeEvents{}
			h := mustHandler(t, e.New(t), bin, wasm.Options{Name: "park", Logger: logger, Services: ev.services()})
			base := serveHTTP(t, logger, mount("/*", h))
			done := make(chan httpResult, 1)
			go func() {
				r, _ := httpDoErr("GET", base+"/m?sub-1", nil, nil)
				done <- r
			}()
			testutil.Eventually(t, "the exchange parked on sub-1", func() bool { return h.Parked() == 1 && ev.waiting("sub-1") == 1 })
			ev.fire("sub-1", nil)
			if r := <-done; r.status != 200 || r.body != "first\n"+resumed("message", "sub-1", "", 1) {
				t.Errorf("message wake: %d %q", r.status, r.body)
			}
			if r := httpGet(t, base+"/m?gone"); r.status != 601 {
				t.Errorf("an unknown subscription: %d %q, want 601 (ERR_NOT_FOUND)", r.status, r.body)
			}
			if r := httpGet(t, base+"/s?denied"); r.status != 608 {
				t.Errorf("a signal outside the grant: %d %q, want 608 (ERR_DENIED)", r.status, r.body)
			}
		})
	}
}

// max_waiting bounds the parked exchanges: one more park is ERR_FULL. A
// client that goes away ends its park at once and frees its place.
func TestParkMaxWaiting(t *testing.T) {
	bin := watModule(t, "park")
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			logger, _ := testutil.CaptureLogger(t)
			h := mustHandler(t, e.New(t), bin, wasm.Options{Name: "park", Logger: logger, MaxWaiting: 3, Timeout: 10 * time.Minute})
			base := serveHTTP(t, logger, mount("/*", h))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var gone sync.WaitGroup
			for range 3 {
				req, _ := http.NewRequestWithContext(ctx, "GET", base+"/l", nil)
				gone.Go(func() {
					if resp, err := testClient.Do(req); err == nil {
						resp.Body.Close()
					}
				})
			}
			testutil.Eventually(t, "3 exchanges parked", func() bool { return h.Parked() == 3 })
			if r := httpGet(t, base+"/t"); r.status != 609 || r.body != "parkerr" {
				t.Errorf("a fourth park: %d %q, want 609 (ERR_FULL)", r.status, r.body)
			}
			cancel() // the three clients go away
			gone.Wait()
			testutil.Eventually(t, "the parks of the clients that left ended", func() bool { return h.Parked() == 0 && h.Waiting() == 0 })
			if r := httpGet(t, base+"/t?again"); r.status != 200 || r.body != "first\n"+resumed("timeout", "again", "", 1) {
				t.Errorf("a park after the clients left: %d %q", r.status, r.body)
			}
		})
	}
}

// Draining resumes every parked exchange with "shutdown" and refuses new
// parks (ERR_CLOSED); a park that outlives the exchange's deadline ends
// it as a timeout, without another run.
func TestParkDrainAndDeadline(t *testing.T) {
	bin := watModule(t, "park")
	for _, e := range testutil.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			logger, _ := testutil.CaptureLogger(t)
			drain := make(chan struct{})
			ce := &countingEngine{Engine: e.New(t)}
			h := mustHandler(t, ce, bin, wasm.Options{Name: "park", Logger: logger, Drain: drain, Timeout: 10 * time.Minute})
			short := mustHandler(t, e.New(t), bin, wasm.Options{Name: "short", Logger: logger, Timeout: 500 * time.Millisecond})
			base := serveHTTP(t, logger, mount("/short/*", short), mount("/*", h))

			if r := httpGet(t, base+"/short/l"); r.status != http.StatusGatewayTimeout {
				t.Errorf("a park past the deadline: %d %q, want 504", r.status, r.body)
			}
			done := make(chan httpResult, 1)
			go func() {
				r, _ := httpDoErr("GET", base+"/l?bye", nil, nil)
				done <- r
			}()
			testutil.Eventually(t, "the exchange parked", func() bool { return h.Parked() == 1 })
			handled := ce.handled.Load()
			close(drain)
			if r := <-done; r.status != 200 || r.body != "first\n"+resumed("shutdown", "bye", "", 1) {
				t.Errorf("drained: %d %q", r.status, r.body)
			}
			if n := ce.handled.Load() - handled; n != 1 {
				t.Errorf("%d runs after the drain, want the one resumed run", n)
			}
			if r := httpGet(t, base+"/t"); r.status != 604 {
				t.Errorf("a park while draining: %d %q, want 604 (ERR_CLOSED)", r.status, r.body)
			}
		})
	}
}
