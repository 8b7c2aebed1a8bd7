package events

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bubblewasm/bubblewasm/internal/testutil"
)

func newBroker(t testing.TB, opts BrokerOptions) *MemoryBroker {
	t.Helper()
	b := NewMemoryBroker(opts, nil)
	t.Cleanup(func() { b.Close() })
	return b
}

func subscribe(t testing.TB, b Broker, channel string, opts SubscribeOptions) SubID {
	t.Helper()
	id, err := b.Subscribe(context.Background(), channel, opts)
	if err != nil {
		t.Fatalf("Subscribe(%q): %v", channel, err)
	}
	return id
}

func publish(t testing.TB, b Broker, channel, msg string) int {
	t.Helper()
	n, err := b.Publish(context.Background(), channel, []byte(msg))
	if err != nil {
		t.Fatalf("Publish(%q, %q): %v", channel, msg, err)
	}
	return n
}

func fetchStrings(t testing.TB, b Broker, id SubID, max int) []string {
	t.Helper()
	msgs, err := b.Fetch(context.Background(), id, max, 0)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = string(m)
	}
	return out
}

// subState returns the subscription behind id, or nil once it is gone.
func (b *MemoryBroker) sub(id SubID) *subscription {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.subs[id]
}

func (s *subscription) state() (queued, buf, fetchers int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.q.n, len(s.q.buf), s.fetchers
}

// counts returns the broker's index sizes.
func (b *MemoryBroker) counts() (subs, channels, heap int) {
	b.mu.RLock()
	subs, channels = len(b.subs), len(b.channels)
	b.mu.RUnlock()
	b.jmu.Lock()
	defer b.jmu.Unlock()
	return subs, channels, len(b.idle)
}

func waitFetching(t testing.TB, b *MemoryBroker, id SubID, n int) {
	t.Helper()
	testutil.Eventually(t, fmt.Sprintf("%d Fetch calls waiting", n), func() bool {
		s := b.sub(id)
		if s == nil {
			return false
		}
		_, _, f := s.state()
		return f == n
	})
}

func TestSubIDFormat(t *testing.T) {
	b := newBroker(t, BrokerOptions{})
	re := regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`)
	seen := map[SubID]bool{}
	for range 2000 {
		id := subscribe(t, b, "c", SubscribeOptions{})
		if !re.MatchString(string(id)) {
			t.Fatalf("ID %q is not 22 URL-safe characters", id)
		}
		if seen[id] {
			t.Fatalf("duplicate ID %q", id)
		}
		seen[id] = true
	}
}

func TestBrokerArgumentErrors(t *testing.T) {
	b := newBroker(t, BrokerOptions{MaxMessageBytes: 8, MaxQueueSize: 50, MaxSubscriptions: 2})
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		call func() error
		want error
	}{
		{"publish bad channel", func() error { _, err := b.Publish(ctx, "a b", nil); return err }, ErrBadName},
		{"publish empty channel", func() error { _, err := b.Publish(ctx, "", nil); return err }, ErrBadName},
		{"publish too large", func() error { _, err := b.Publish(ctx, "c", make([]byte, 9)); return err }, ErrTooLarge},
		{"publish at limit", func() error { _, err := b.Publish(ctx, "c", make([]byte, 8)); return err }, nil},
		{"subscribe bad channel", func() error { _, err := b.Subscribe(ctx, "c*", SubscribeOptions{}); return err }, ErrBadName},
		{"queue too large", func() error { _, err := b.Subscribe(ctx, "c", SubscribeOptions{QueueSize: 51}); return err }, ErrBadOption},
		{"queue negative", func() error { _, err := b.Subscribe(ctx, "c", SubscribeOptions{QueueSize: -1}); return err }, ErrBadOption},
		{"bad overflow", func() error { _, err := b.Subscribe(ctx, "c", SubscribeOptions{Overflow: 7}); return err }, ErrBadOption},
		{"fetch unknown", func() error { _, err := b.Fetch(ctx, "nope", 0, 0); return err }, ErrSubscriptionGone},
		{"unsubscribe unknown", func() error { return b.Unsubscribe(ctx, "nope") }, ErrSubscriptionGone},
		{"subscribe 1", func() error { _, err := b.Subscribe(ctx, "c", SubscribeOptions{QueueSize: 50}); return err }, nil},
		{"subscribe 2", func() error { _, err := b.Subscribe(ctx, "c", SubscribeOptions{}); return err }, nil},
		{"subscribe 3: full", func() error { _, err := b.Subscribe(ctx, "c", SubscribeOptions{}); return err }, ErrFull},
	} {
		if err := tc.call(); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := b.Publish(cancelled, "c", nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Publish with a cancelled ctx: %v", err)
	}
	if _, err := b.Fetch(cancelled, "x", 0, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("Fetch with a cancelled ctx: %v", err)
	}

	b.Close()
	for name, err := range map[string]error{
		"publish":     func() error { _, err := b.Publish(ctx, "c", nil); return err }(),
		"subscribe":   func() error { _, err := b.Subscribe(ctx, "c", SubscribeOptions{}); return err }(),
		"fetch":       func() error { _, err := b.Fetch(ctx, "x", 0, 0); return err }(),
		"unsubscribe": b.Unsubscribe(ctx, "x"),
	} {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestPublishCopiesMessage(t *testing.T) {
	b := newBroker(t, BrokerOptions{})
	id := subscribe(t, b, "c", SubscribeOptions{})
	buf := []byte("hello")
	publish(t, b, "c", "")
	b.Publish(context.Background(), "c", buf)
	copy(buf, "XXXXX") // the guest reuses its memory
	got := fetchStrings(t, b, id, 0)
	if len(got) != 2 || got[0] != "" || got[1] != "hello" {
		t.Fatalf("got %q", got)
	}
	if n := publish(t, b, "other", "x"); n != 0 {
		t.Fatalf("publish to a channel nobody subscribed: delivered %d", n)
	}
}

func TestFetchMaxAndOrder(t *testing.T) {
	b := newBroker(t, BrokerOptions{})
	id := subscribe(t, b, "c", SubscribeOptions{QueueSize: 100})
	for i := range 10 {
		publish(t, b, "c", strconv.Itoa(i))
	}
	for _, tc := range []struct {
		max  int
		want string
	}{
		{3, "[0 1 2]"},
		{1, "[3]"},
		{0, "[4 5 6 7 8 9]"},
		{5, "[]"},
	} {
		if got := fmt.Sprint(fetchStrings(t, b, id, tc.max)); got != tc.want {
			t.Errorf("Fetch(max %d) = %s, want %s", tc.max, got, tc.want)
		}
	}
}

// TestDropSubscriber is the comet chat's rule: with a queue of 10, the 11th
// message nobody fetched drops the participant; one that keeps fetching
// survives.
func TestDropSubscriber(t *testing.T) {
	b := newBroker(t, BrokerOptions{})
	slow := subscribe(t, b, "chat", SubscribeOptions{QueueSize: 10, Overflow: DropSubscriber})
	fast := subscribe(t, b, "chat", SubscribeOptions{QueueSize: 10, Overflow: DropSubscriber})
	for i := range 10 {
		if n := publish(t, b, "chat", strconv.Itoa(i)); n != 2 {
			t.Fatalf("message %d delivered to %d, want 2", i, n)
		}
	}
	if got := len(fetchStrings(t, b, fast, 0)); got != 10 {
		t.Fatalf("fast fetched %d", got)
	}
	if n := publish(t, b, "chat", "10"); n != 1 {
		t.Fatalf("11th message delivered to %d, want 1 (the fast one)", n)
	}
	if _, err := b.Fetch(context.Background(), slow, 0, time.Hour); !errors.Is(err, ErrSubscriptionGone) {
		t.Fatalf("Fetch of the dropped subscriber: %v, want ErrSubscriptionGone", err)
	}
	if err := b.Unsubscribe(context.Background(), slow); !errors.Is(err, ErrSubscriptionGone) {
		t.Fatalf("Unsubscribe of the dropped subscriber: %v", err)
	}
	if got := fetchStrings(t, b, fast, 0); fmt.Sprint(got) != "[10]" {
		t.Fatalf("fast got %q", got)
	}
	if subs, chans, heap := b.counts(); subs != 1 || chans != 1 || heap != 1 {
		t.Fatalf("indexes: %d subscriptions, %d channels, %d heap entries; want 1, 1, 1", subs, chans, heap)
	}
}

func TestDropOldest(t *testing.T) {
	b := newBroker(t, BrokerOptions{})
	id := subscribe(t, b, "c", SubscribeOptions{QueueSize: 10, Overflow: DropOldest})
	for i := range 25 {
		if n := publish(t, b, "c", strconv.Itoa(i)); n != 1 {
			t.Fatalf("message %d delivered to %d", i, n)
		}
	}
	want := "[15 16 17 18 19 20 21 22 23 24]"
	if got := fmt.Sprint(fetchStrings(t, b, id, 0)); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

// TestSlowConsumerBounded: a subscriber that never fetches costs at most
// its queue, and Publish never waits for it.
func TestSlowConsumerBounded(t *testing.T) {
	b := newBroker(t, BrokerOptions{})
	id := subscribe(t, b, "c", SubscribeOptions{QueueSize: 10, Overflow: DropOldest})
	msg := make([]byte, 1024)
	for i := range 10_000 {
		if n, err := b.Publish(context.Background(), "c", msg); err != nil || n != 1 {
			t.Fatalf("publish %d: %d, %v", i, n, err)
		}
	}
	queued, buf, _ := b.sub(id).state()
	if queued != 10 || buf > 10 {
		t.Fatalf("queue holds %d messages in a buffer of %d, want 10 in ≤ 10", queued, buf)
	}
}

// TestFanOutInOrder: thousands of subscribers, fetching while the messages
// are published, each get every message exactly once and in order.
func TestFanOutInOrder(t *testing.T) {
	const subscribers, messages = 3000, 300
	b := newBroker(t, BrokerOptions{})
	ctx := testCtx(t)
	ids := make([]SubID, subscribers)
	for i := range ids {
		ids[i] = subscribe(t, b, "news", SubscribeOptions{QueueSize: messages})
	}
	errs := make(chan error, subscribers)
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			next := 0
			for next < messages {
				msgs, err := b.Fetch(ctx, id, 1+i%7, guard)
				if err != nil {
					errs <- fmt.Errorf("subscriber %d after %d messages: %w", i, next, err)
					return
				}
				for _, m := range msgs {
					if string(m) != strconv.Itoa(next) {
						errs <- fmt.Errorf("subscriber %d: got %q, want %d", i, m, next)
						return
					}
					next++
				}
			}
		})
	}
	for i := range messages {
		if n := publish(t, b, "news", strconv.Itoa(i)); n != subscribers {
			t.Fatalf("message %d delivered to %d of %d", i, n, subscribers)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestConcurrentPublishersOneOrder: publishes to one channel are
// serialised, so every subscriber sees the same order.
func TestConcurrentPublishersOneOrder(t *testing.T) {
	const publishers, each, subscribers = 4, 250, 50
	b := newBroker(t, BrokerOptions{})
	ids := make([]SubID, subscribers)
	for i := range ids {
		ids[i] = subscribe(t, b, "c", SubscribeOptions{QueueSize: publishers * each})
	}
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Go(func() {
			for i := range each {
				b.Publish(context.Background(), "c", []byte(fmt.Sprintf("%d/%d", p, i)))
			}
		})
	}
	wg.Wait()
	want := fmt.Sprint(fetchStrings(t, b, ids[0], 0))
	for _, id := range ids[1:] {
		if got := fmt.Sprint(fetchStrings(t, b, id, 0)); got != want {
			t.Fatal("two subscribers saw different orders")
		}
	}
}

func TestFetchWakesOnPublish(t *testing.T) {
	goroutineBaseline(t)
	b := newBroker(t, BrokerOptions{})
	id := subscribe(t, b, "c", SubscribeOptions{})
	done := make(chan fetchResult, 1)
	go func() {
		msgs, err := b.Fetch(testCtx(t), id, 0, guard)
		done <- fetchResult{msgs, err}
	}()
	waitFetching(t, b, id, 1)
	publish(t, b, "c", "wake")
	r := recv(t, done)
	if r.err != nil || len(r.msgs) != 1 || string(r.msgs[0]) != "wake" {
		t.Fatalf("Fetch = %q, %v", r.msgs, r.err)
	}
}

// TestFetchTimeout: a timeout is an empty result, not an error, and the
// subscription lives on.
func TestFetchTimeout(t *testing.T) {
	b := newBroker(t, BrokerOptions{})
	id := subscribe(t, b, "c", SubscribeOptions{})
	for _, timeout := range []time.Duration{0, -1, time.Millisecond, 20 * time.Millisecond} {
		msgs, err := b.Fetch(testCtx(t), id, 0, timeout)
		if err != nil || len(msgs) != 0 {
			t.Fatalf("Fetch(timeout %v) = %q, %v; want no messages and no error", timeout, msgs, err)
		}
	}
	publish(t, b, "c", "still here")
	if got := fetchStrings(t, b, id, 0); len(got) != 1 {
		t.Fatalf("after timeouts: %q", got)
	}
}

// TestFetchTimeoutExact checks, on synctest's fake clock, that Fetch waits
// for its whole timeout and no longer.
func TestFetchTimeoutExact(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := NewMemoryBroker(BrokerOptions{}, nil)
		defer b.Close()
		id := subscribe(t, b, "c", SubscribeOptions{})
		start := time.Now()
		msgs, err := b.Fetch(t.Context(), id, 0, 3*time.Second)
		if err != nil || msgs != nil || time.Since(start) != 3*time.Second {
			t.Fatalf("Fetch = %q, %v after %v", msgs, err, time.Since(start))
		}
	})
}

func TestFetchContextCancel(t *testing.T) {
	goroutineBaseline(t)
	b := newBroker(t, BrokerOptions{})
	id := subscribe(t, b, "c", SubscribeOptions{})
	ctx, cancel := context.WithCancel(testCtx(t))
	done := make(chan fetchResult, 1)
	go func() {
		msgs, err := b.Fetch(ctx, id, 0, time.Hour)
		done <- fetchResult{msgs, err}
	}()
	waitFetching(t, b, id, 1)
	cancel()
	if r := recv(t, done); !errors.Is(r.err, context.Canceled) || r.msgs != nil {
		t.Fatalf("Fetch after cancel = %q, %v", r.msgs, r.err)
	}
	waitFetching(t, b, id, 0)
	publish(t, b, "c", "x")
	if got := fetchStrings(t, b, id, 0); len(got) != 1 {
		t.Fatalf("subscription unusable after a cancelled Fetch: %q", got)
	}
}

func TestUnsubscribeWakesFetch(t *testing.T) {
	goroutineBaseline(t)
	b := newBroker(t, BrokerOptions{})
	id := subscribe(t, b, "c", SubscribeOptions{})
	done := make(chan fetchResult, 3)
	for range 3 {
		go func() {
			msgs, err := b.Fetch(testCtx(t), id, 0, time.Hour)
			done <- fetchResult{msgs, err}
		}()
	}
	waitFetching(t, b, id, 3)
	if err := b.Unsubscribe(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if r := recv(t, done); !errors.Is(r.err, ErrSubscriptionGone) {
			t.Fatalf("waiting Fetch after Unsubscribe: %v", r.err)
		}
	}
	if subs, chans, heap := b.counts(); subs+chans+heap != 0 {
		t.Fatalf("indexes not empty: %d subscriptions, %d channels, %d heap entries", subs, chans, heap)
	}
	if n := publish(t, b, "c", "x"); n != 0 {
		t.Fatalf("delivered to %d after Unsubscribe", n)
	}
}

// TestConcurrentFetchers: 200 Fetch loops share one subscription while
// 1,000 messages are published; each message reaches exactly one of them,
// and each loop sees its messages in publish order.
func TestConcurrentFetchers(t *testing.T) {
	goroutineBaseline(t)
	const fetchers, messages = 200, 1000
	b := newBroker(t, BrokerOptions{})
	id := subscribe(t, b, "c", SubscribeOptions{QueueSize: messages})
	ctx, stop := context.WithCancel(testCtx(t))
	defer stop()
	var received atomic.Int64
	got := make([][]int, fetchers)
	errs := make(chan error, fetchers)
	var wg sync.WaitGroup
	for f := range fetchers {
		wg.Go(func() {
			for {
				msgs, err := b.Fetch(ctx, id, 1+f%5, guard)
				if errors.Is(err, context.Canceled) {
					return
				}
				if err != nil {
					errs <- err
					return
				}
				for _, m := range msgs {
					n, _ := strconv.Atoi(string(m))
					got[f] = append(got[f], n)
				}
				if received.Add(int64(len(msgs))) == messages {
					stop()
				}
			}
		})
	}
	for i := range messages {
		publish(t, b, "c", strconv.Itoa(i))
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seen := make([]int, messages)
	for f, ns := range got {
		for i, n := range ns {
			seen[n]++
			if i > 0 && n <= ns[i-1] {
				t.Errorf("fetcher %d: %d after %d", f, n, ns[i-1])
			}
		}
	}
	for n, c := range seen {
		if c != 1 {
			t.Errorf("message %d received %d times", n, c)
		}
	}
}

func TestCloseWakesEveryone(t *testing.T) {
	goroutineBaseline(t)
	b := NewMemoryBroker(BrokerOptions{}, nil)
	const n = 100
	ids := make([]SubID, 10)
	for i := range ids {
		ids[i] = subscribe(t, b, "c"+strconv.Itoa(i%3), SubscribeOptions{})
	}
	done := make(chan error, n)
	for i := range n {
		go func() {
			_, err := b.Fetch(testCtx(t), ids[i%len(ids)], 0, time.Hour)
			done <- err
		}()
	}
	for _, id := range ids {
		waitFetching(t, b, id, n/len(ids))
	}
	b.Close()
	for range n {
		if err := recv(t, done); !errors.Is(err, ErrClosed) {
			t.Fatalf("waiting Fetch after Close: %v", err)
		}
	}
}

// TestIdleTimeout uses real time: a subscription nobody fetches is dropped
// once its idle timeout has passed (polled, no assertion on when).
func TestIdleTimeout(t *testing.T) {
	goroutineBaseline(t)
	b := newBroker(t, BrokerOptions{})
	idle := subscribe(t, b, "c", SubscribeOptions{IdleTimeout: 20 * time.Millisecond})
	forever := subscribe(t, b, "c", SubscribeOptions{IdleTimeout: -1})
	testutil.Eventually(t, "the idle subscription dropped", func() bool { return b.sub(idle) == nil })
	if _, err := b.Fetch(context.Background(), idle, 0, 0); !errors.Is(err, ErrSubscriptionGone) {
		t.Fatalf("Fetch of an idle-dropped subscription: %v", err)
	}
	if b.sub(forever) == nil {
		t.Fatal("a subscription without idle timeout was dropped")
	}
	if subs, chans, heap := b.counts(); subs != 1 || chans != 1 || heap != 0 {
		t.Fatalf("indexes: %d subscriptions, %d channels, %d heap entries", subs, chans, heap)
	}
	b.Close() // stops the janitor's timer before the goroutine check
}

// TestIdleTimeoutFakeClock checks the idle rule exactly on synctest's
// clock: fetching (or waiting in Fetch) keeps a subscription alive, and
// one that stops fetching is dropped exactly one timeout after its last
// Fetch ended, with a waiting Fetch woken.
func TestIdleTimeoutFakeClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := NewMemoryBroker(BrokerOptions{DefaultIdleTimeout: 10 * time.Second}, nil)
		defer b.Close()
		ctx := t.Context()
		never := subscribe(t, b, "c", SubscribeOptions{})
		poller := subscribe(t, b, "c", SubscribeOptions{})
		waiter := subscribe(t, b, "c", SubscribeOptions{})

		// The waiter sits in one Fetch for far longer than its timeout.
		waited := make(chan error, 1)
		go func() {
			_, err := b.Fetch(ctx, waiter, 0, time.Minute)
			waited <- err
		}()
		// The poller fetches every 9 s, then stops.
		for range 5 {
			time.Sleep(9 * time.Second)
			if _, err := b.Fetch(ctx, poller, 0, 0); err != nil {
				t.Fatalf("poller dropped while fetching every 9s: %v", err)
			}
		}
		synctest.Wait()
		if b.sub(never) != nil {
			t.Fatal("never-fetched subscription survived 45s with a 10s timeout")
		}
		stoppedAt := time.Now()
		time.Sleep(10*time.Second - time.Nanosecond)
		synctest.Wait()
		if b.sub(poller) == nil {
			t.Fatal("poller dropped before its timeout")
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if b.sub(poller) != nil {
			t.Fatalf("poller alive %v after its last Fetch", time.Since(stoppedAt))
		}
		if b.sub(waiter) == nil {
			t.Fatal("a subscription with a waiting Fetch was dropped")
		}
		// The waiter's Fetch times out at 60s; 10s later it is dropped.
		if err := <-waited; err != nil {
			t.Fatalf("waiter's Fetch: %v", err)
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if b.sub(waiter) != nil {
			t.Fatal("waiter not dropped 10s after its Fetch ended")
		}
	})
}

// TestIdleSweepBounded: one janitor pass looks at no more than sweepBatch
// subscriptions; further passes finish the job.
func TestIdleSweepBounded(t *testing.T) {
	b := newBroker(t, BrokerOptions{DefaultIdleTimeout: time.Hour})
	const n = 2*sweepBatch + 100
	for range n {
		subscribe(t, b, "c", SubscribeOptions{})
	}
	later := b.now() + int64(2*time.Hour)
	for pass, want := range []int{n - sweepBatch, n - 2*sweepBatch, 0} {
		b.sweepAt(later)
		if subs, _, heap := b.counts(); subs != want || heap != want {
			t.Fatalf("after pass %d: %d subscriptions, %d heap entries; want %d", pass+1, subs, heap, want)
		}
	}
	if _, chans, _ := b.counts(); chans != 0 {
		t.Fatalf("%d channels left", chans)
	}
}

// TestChurn subscribes, publishes, fetches and unsubscribes from many
// goroutines at once (for the race detector), then checks that the
// indexes are empty.
func TestChurn(t *testing.T) {
	goroutineBaseline(t)
	b := newBroker(t, BrokerOptions{DefaultIdleTimeout: time.Millisecond})
	ctx := testCtx(t)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for i := range 300 {
				ch := "c" + strconv.Itoa(r.IntN(4))
				opts := SubscribeOptions{QueueSize: 1 + r.IntN(5), Overflow: Overflow(r.IntN(2)), IdleTimeout: time.Duration(r.IntN(3)-1) * time.Millisecond}
				id, err := b.Subscribe(ctx, ch, opts)
				if err != nil {
					t.Error(err)
					return
				}
				for range r.IntN(8) {
					b.Publish(ctx, "c"+strconv.Itoa(r.IntN(4)), []byte{byte(i)})
				}
				_, err = b.Fetch(ctx, id, r.IntN(3), time.Duration(r.IntN(2))*time.Millisecond)
				if err != nil && !errors.Is(err, ErrSubscriptionGone) {
					t.Error(err)
				}
				if err := b.Unsubscribe(ctx, id); err != nil && !errors.Is(err, ErrSubscriptionGone) {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if subs, chans, heap := b.counts(); subs+chans+heap != 0 {
		t.Fatalf("indexes not empty: %d subscriptions, %d channels, %d heap entries", subs, chans, heap)
	}
	b.Close()
}

// TestRing compares the ring with a plain slice under random operations.
func TestRing(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, limit := range []int{1, 2, 3, 10, 100} {
		var q ring
		var model [][]byte
		next := 0
		for range 5000 {
			switch op := r.IntN(10); {
			case op < 6:
				m := []byte(strconv.Itoa(next))
				next++
				if q.n == limit {
					q.dropOldest()
					model = model[1:]
				}
				q.push(m, limit)
				model = append(model, m)
			default:
				max := r.IntN(limit + 2)
				got := q.take(max)
				k := len(model)
				if max >= 1 && max < k {
					k = max
				}
				if fmt.Sprint(got) != fmt.Sprint(model[:k]) {
					t.Fatalf("limit %d: take(%d) = %q, want %q", limit, max, got, model[:k])
				}
				model = model[k:]
			}
			if q.n != len(model) || len(q.buf) > limit {
				t.Fatalf("limit %d: ring holds %d in %d, model %d", limit, q.n, len(q.buf), len(model))
			}
		}
	}
}

// BenchmarkMemoryPerSubscriber measures the heap cost of subscriptions
// with empty queues, and what 10 queued messages (shared by all) add.
func BenchmarkMemoryPerSubscriber(b *testing.B) {
	const n = 10_000
	var empty, queued int64
	msg := make([]byte, 100)
	for b.Loop() {
		br := NewMemoryBroker(BrokerOptions{}, nil)
		h0, _ := heapStats()
		for range n {
			subscribe(b, br, "chat", SubscribeOptions{QueueSize: 10})
		}
		h1, _ := heapStats()
		for range 10 {
			br.Publish(context.Background(), "chat", msg)
		}
		h2, _ := heapStats()
		br.Close()
		empty += int64(h1-h0) / n
		queued += int64(h2-h1) / n
	}
	b.ReportMetric(float64(empty)/float64(b.N), "B/sub")
	b.ReportMetric(float64(queued)/float64(b.N), "B/sub-10-queued")
}

// TestHugeTimeouts: durations near the int64 limit mean "never", not a
// wrapped-around "already".
func TestHugeTimeouts(t *testing.T) {
	b := newBroker(t, BrokerOptions{})
	id := subscribe(t, b, "c", SubscribeOptions{IdleTimeout: math.MaxInt64})
	b.sweepAt(b.now() + int64(1000*time.Hour))
	if b.sub(id) == nil {
		t.Fatal("subscription with a huge idle timeout dropped")
	}
	k := newKV(t, KVOptions{})
	ctx := context.Background()
	if err := k.Set(ctx, "ns", "k", []byte("v"), math.MaxInt64); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := k.Get(ctx, "ns", "k"); !ok {
		t.Fatal("key with a huge ttl expired")
	}
}
