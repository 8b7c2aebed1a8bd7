package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/internal/testutil"
	"github.com/bubblewasm/bubblewasm/server/config"
)

// The news channel over the long-poll builtin, and pubsub.wat allowed to
// publish to it. Queues hold 10 messages; the default overflow policy,
// drop-subscriber, ends a subscription that overflows.
const longpollRoutes = `
[pubsub]
queue_size = 10

[[route]]
name = "news"
builtin = "longpoll"
channel = "news"
match = { PATH_INFO = "/news" }
timeout = "30s"

[[route]]
name = "publisher"
module = "pubsub.wasm"
match = { PATH_INFO = "/publish" }
pubsub = ["news"]
`

type poll struct {
	Subscription string            `json:"subscription"`
	Messages     []json.RawMessage `json:"messages"`
}

// poller is one long-poll client: its cookie jar carries the subscription.
type poller struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newPoller(t *testing.T, base string) *poller {
	jar, _ := cookiejar.New(nil)
	return &poller{t, base, &http.Client{Jar: jar, Timeout: time.Minute}}
}

// poll GETs /news?timeout=SECONDS and decodes the answer; raw is the body.
func (p *poller) poll(timeout string) (res poll, raw string) {
	p.t.Helper()
	resp := send(p.t, p.c, "GET", p.base+"/news?timeout="+timeout, "")
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		p.t.Fatalf("poll: %d %q %v", resp.StatusCode, b, err)
	}
	if err := json.Unmarshal(b, &res); err != nil {
		p.t.Fatalf("poll: %q: %v", b, err)
	}
	var cookie string
	for _, c := range resp.Cookies() {
		if c.Name == "bubble_sub_news" {
			cookie = c.Value
		}
	}
	if cookie != res.Subscription || cookie == "" {
		p.t.Fatalf("poll: cookie %q for subscription %q", cookie, res.Subscription)
	}
	return res, string(b)
}

func messages(p poll) string {
	var s []string
	for _, m := range p.Messages {
		s = append(s, string(m))
	}
	return strings.Join(s, ",")
}

func publish(t *testing.T, base, msg string) int {
	t.Helper()
	status, body := do(t, "POST", base+"/news", msg)
	var res struct{ Delivered *int }
	if err := json.Unmarshal([]byte(body), &res); status != 200 || err != nil || res.Delivered == nil {
		t.Fatalf("publish: %d %q %v", status, body, err)
	}
	return *res.Delivered
}

func TestLongPollBuiltin(t *testing.T) {
	base, _ := start(t, config.EngineWazero, longpollRoutes, "pubsub")
	p := newPoller(t, base)

	// A first poll subscribes and, with nothing published, answers an
	// empty list (not null) at its timeout.
	first, raw := p.poll("0.1")
	if len(first.Subscription) != 22 || raw != fmt.Sprintf(`{"subscription":%q,"messages":[]}`+"\n", first.Subscription) {
		t.Fatalf("first poll: %q", raw)
	}
	sub := first.Subscription

	t.Run("a POST wakes a waiting GET", func(t *testing.T) {
		got := make(chan poll, 1)
		go func() {
			// Not p.poll: t.Fatal belongs to the test's goroutine.
			resp, err := sendErr(context.Background(), p.c, "GET", base+"/news?timeout=20", "")
			var res poll
			if err == nil {
				json.NewDecoder(resp.Body).Decode(&res)
				resp.Body.Close()
			}
			got <- res
		}()
		testutil.Eventually(t, "the GET to wait", func() bool { return parkedIn(brokerFetch) == 1 })
		if n := publish(t, base, "hello"); n != 1 {
			t.Fatalf("delivered to %d subscriptions, want 1", n)
		}
		res := <-got
		if res.Subscription != sub || messages(res) != `"hello"` {
			t.Fatalf("woken poll: %+v, want subscription %s with \"hello\"", res, sub)
		}
	})

	t.Run("a guest publishes with pubsub = [news]", func(t *testing.T) {
		status, body := do(t, "POST", base+"/publish", `{"n":1}`, "X-Op: publish", "X-Channel: news")
		if status != 200 || body != "published 1\n" {
			t.Fatalf("guest publish: %d %q", status, body)
		}
		// JSON messages are embedded as they are.
		if res, _ := p.poll("5"); res.Subscription != sub || messages(res) != `{"n":1}` {
			t.Fatalf("poll: %+v", res)
		}
		if _, body := do(t, "POST", base+"/publish", "x", "X-Op: publish", "X-Channel: other"); body != "error -8\n" {
			t.Fatalf("guest publish to an ungranted channel: %q", body)
		}
	})

	t.Run("messages between polls are queued in order", func(t *testing.T) {
		var want []string
		for i := range 10 { // exactly the queue size
			publish(t, base, fmt.Sprintf("m%d", i))
			want = append(want, fmt.Sprintf(`"m%d"`, i))
		}
		if res, _ := p.poll("5"); res.Subscription != sub || messages(res) != strings.Join(want, ",") {
			t.Fatalf("poll: %s %s, want %s", res.Subscription, messages(res), strings.Join(want, ","))
		}
	})

	// What a client sees when it falls behind: the eleventh message ends
	// its subscription (drop-subscriber: not counted as delivered), the
	// queued ten are discarded, and its next poll, presenting the old id
	// in its cookie, is served by a new subscription — a different id, a new
	// cookie, and only messages published after it. The response status
	// is 200 as usual: a changed id is the client's only sign of the gap.
	t.Run("overflow drops the subscription; the next poll starts anew", func(t *testing.T) {
		for i := range 10 {
			if n := publish(t, base, fmt.Sprintf("o%d", i)); n != 1 {
				t.Fatalf("message %d delivered to %d", i, n)
			}
		}
		if n := publish(t, base, "o10"); n != 0 {
			t.Fatalf("the overflowing message was delivered to %d subscriptions, want 0", n)
		}
		res, _ := p.poll("0.1")
		if res.Subscription == sub || len(res.Messages) != 0 {
			t.Fatalf("after the overflow: %+v, want a new subscription with no messages", res)
		}
		publish(t, base, "after")
		if again, _ := p.poll("5"); again.Subscription != res.Subscription || messages(again) != `"after"` {
			t.Fatalf("the new subscription: %+v", again)
		}
	})

	t.Run("each client has its own subscription", func(t *testing.T) {
		q := newPoller(t, base)
		other, _ := q.poll("0.01")
		mine, _ := p.poll("0.01")
		if other.Subscription == mine.Subscription {
			t.Fatal("two clients share a subscription")
		}
		if n := publish(t, base, "both"); n != 2 {
			t.Fatalf("delivered to %d, want 2", n)
		}
		a, _ := p.poll("5")
		b, _ := q.poll("5")
		if messages(a) != `"both"` || messages(b) != `"both"` {
			t.Fatalf("%+v %+v", a, b)
		}
	})
}

// Closing 100 clients that wait in a long poll ends their waits, and the
// goroutine count returns to what it was before they came.
func TestLongPollClientDisconnectLeaksNothing(t *testing.T) {
	base, _ := start(t, config.EngineWazero, longpollRoutes, "pubsub")
	// Warm up: the first exchange starts what stays (listener goroutines).
	newPoller(t, base).poll("0.01")
	client.CloseIdleConnections()

	const n = 100
	tr := &http.Transport{DisableKeepAlives: true}
	c := &http.Client{Transport: tr}
	runtime.GC()
	baseline := runtime.NumGoroutine()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			resp, err := sendErr(ctx, c, "GET", base+"/news?timeout=25", "")
			if err == nil {
				resp.Body.Close()
				err = fmt.Errorf("a poll answered %d before the clients left", resp.StatusCode)
			} else if ctx.Err() == nil {
				err = fmt.Errorf("poll: %w", err)
			} else {
				err = nil
			}
			errs <- err
		})
	}
	testutil.Eventually(t, fmt.Sprintf("%d polls to wait", n), func() bool { return parkedIn(brokerFetch) == n })
	peak := runtime.NumGoroutine()
	cancel() // the clients close their connections
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	testutil.Eventually(t, "every wait to end", func() bool { return parkedIn(brokerFetch) == 0 })
	tr.CloseIdleConnections()
	goroutinesBack(t, baseline)
	t.Logf("goroutines: %d before, %d with %d polls waiting (%.1f per poll, client included), back to %d",
		baseline, peak, n, float64(peak-baseline)/n, runtime.NumGoroutine())
}
