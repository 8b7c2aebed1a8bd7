package events

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bubblewasm/bubblewasm/internal/rabbittest"
	"github.com/bubblewasm/bubblewasm/internal/testutil"
	amqp "github.com/rabbitmq/amqp091-go"
)

// newAMQP returns a connected AMQPBroker on url and exchange, closed when
// the test ends.
func newAMQP(t testing.TB, url, exchange string, bo BrokerOptions) *AMQPBroker {
	t.Helper()
	b := newAMQPDown(t, url, exchange, bo)
	testutil.Eventually(t, "AMQP broker connected", b.Connected)
	return b
}

// newAMQPDown is newAMQP without waiting for the connection.
func newAMQPDown(t testing.TB, url, exchange string, bo BrokerOptions) *AMQPBroker {
	t.Helper()
	b, err := NewAMQPBroker(AMQPOptions{URL: url, Exchange: exchange, Broker: bo,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// fetchN fetches until n messages came, failing after guard.
func fetchN(t testing.TB, b Broker, id SubID, n int) []string {
	t.Helper()
	ctx := testCtx(t)
	var out []string
	for len(out) < n {
		msgs, err := b.Fetch(ctx, id, n-len(out), guard)
		if err != nil {
			t.Fatalf("Fetch after %d of %d messages: %v", len(out), n, err)
		}
		if len(msgs) == 0 {
			t.Fatalf("no message after %v (%d of %d received)", guard, len(out), n)
		}
		for _, m := range msgs {
			out = append(out, string(m))
		}
	}
	return out
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestAMQPBrokerOptions(t *testing.T) {
	for _, url := range []string{"", "http://127.0.0.1/", "amqp://127.0.0.1:notaport/"} {
		if _, err := NewAMQPBroker(AMQPOptions{URL: url}, nil); !errors.Is(err, ErrBadOption) {
			t.Errorf("NewAMQPBroker(%q) = %v, want ErrBadOption", url, err)
		}
	}
	if _, err := NewAMQPBroker(AMQPOptions{URL: "amqp://127.0.0.1/", Exchange: strings.Repeat("x", 256)}, nil); !errors.Is(err, ErrBadOption) {
		t.Errorf("long exchange: %v, want ErrBadOption", err)
	}
}

// TestAMQPBrokerDown: with no server, the broker keeps trying, Publish
// says it is unavailable, local subscriptions work, and Close ends it all.
func TestAMQPBrokerDown(t *testing.T) {
	goroutineBaseline(t)
	b, err := NewAMQPBroker(AMQPOptions{URL: "amqp://guest:secret@" + closedPort(t) + "/", MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	_, err = b.Publish(ctx, "c", []byte("x"))
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Publish while down = %v, want ErrUnavailable", err)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("error shows the password: %v", err)
	}
	for _, tc := range []struct {
		name string
		want error
	}{{"a b", ErrBadName}, {strings.Repeat("n", 256), ErrBadName}} {
		if _, err := b.Publish(ctx, tc.name, nil); !errors.Is(err, tc.want) {
			t.Errorf("Publish(%.10q) = %v, want %v", tc.name, err, tc.want)
		}
		if _, err := b.Subscribe(ctx, tc.name, SubscribeOptions{}); !errors.Is(err, tc.want) {
			t.Errorf("Subscribe(%.10q) = %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := b.Publish(ctx, "c", make([]byte, 64<<10+1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Publish too large = %v, want ErrTooLarge", err)
	}
	id := subscribe(t, b, "c", SubscribeOptions{})
	if msgs, err := b.Fetch(ctx, id, 0, 0); err != nil || len(msgs) != 0 {
		t.Fatalf("Fetch = %q, %v; want nothing", msgs, err)
	}
	if err := b.Unsubscribe(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Publish(ctx, "c", nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Publish after Close = %v, want ErrClosed", err)
	}
	if _, err := b.Subscribe(ctx, "c", SubscribeOptions{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Subscribe after Close = %v, want ErrClosed", err)
	}
	b.Close() // idempotent
}

// TestAMQPBroker runs against one private RabbitMQ node; each subtest has
// its own exchange, so they do not see each other's messages.
func TestAMQPBroker(t *testing.T) {
	node := rabbittest.Start(t)
	url := node.URL()

	t.Run("TwoProcessesBothWays", func(t *testing.T) {
		a := newAMQP(t, url, "ex.both", BrokerOptions{})
		b := newAMQP(t, url, "ex.both", BrokerOptions{})
		sa := subscribe(t, a, "chat.room", SubscribeOptions{})
		sb := subscribe(t, b, "chat.room", SubscribeOptions{})
		if n := publish(t, a, "chat.room", "from a"); n != 1 {
			t.Errorf("Publish counted %d local subscribers, want 1", n)
		}
		publish(t, b, "chat.room", "from b")
		for name, id := range map[string]SubID{"a": sa, "b": sb} {
			br := map[string]*AMQPBroker{"a": a, "b": b}[name]
			got := fetchN(t, br, id, 2)
			slices.Sort(got)
			if !slices.Equal(got, []string{"from a", "from b"}) {
				t.Errorf("subscriber on %s got %q", name, got)
			}
		}
		// Another channel, another exchange: nothing leaks in.
		c := newAMQP(t, url, "ex.other", BrokerOptions{})
		publish(t, c, "chat.room", "other exchange")
		publish(t, a, "chat.other", "other channel")
		publish(t, a, "chat.room", "last")
		if got := fetchN(t, b, sb, 1); got[0] != "last" {
			t.Errorf("got %q, want only %q", got, "last")
		}
	})

	t.Run("SubscribeThenPublish", func(t *testing.T) {
		// A message published (anywhere) after Subscribe returns reaches
		// the subscription, with no wait in between.
		a := newAMQP(t, url, "ex.sub", BrokerOptions{})
		b := newAMQP(t, url, "ex.sub", BrokerOptions{})
		for i := range 50 {
			ch := "c" + strconv.Itoa(i)
			id := subscribe(t, b, ch, SubscribeOptions{})
			publish(t, a, ch, "m"+strconv.Itoa(i))
			if got := fetchN(t, b, id, 1); got[0] != "m"+strconv.Itoa(i) {
				t.Fatalf("got %q", got)
			}
		}
	})

	t.Run("OrderPerPublisher", func(t *testing.T) {
		const n = 2000
		bo := BrokerOptions{MaxQueueSize: 2 * n}
		p1 := newAMQP(t, url, "ex.order", bo)
		p2 := newAMQP(t, url, "ex.order", bo)
		r := newAMQP(t, url, "ex.order", bo)
		ids := []SubID{
			subscribe(t, r, "ord", SubscribeOptions{QueueSize: 2 * n}),
			subscribe(t, r, "ord", SubscribeOptions{QueueSize: 2 * n}),
			subscribe(t, p1, "ord", SubscribeOptions{QueueSize: 2 * n}),
		}
		var wg sync.WaitGroup
		for p, br := range map[string]*AMQPBroker{"x": p1, "y": p2} {
			wg.Go(func() {
				for i := range n {
					if _, err := br.Publish(context.Background(), "ord", []byte(p+strconv.Itoa(i))); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		var first []string
		for k, id := range ids {
			br := r
			if k == 2 {
				br = p1
			}
			got := fetchN(t, br, id, 2*n)
			next := map[byte]int{}
			for _, m := range got {
				i, _ := strconv.Atoi(m[1:])
				if i != next[m[0]] {
					t.Fatalf("subscriber %d: %q after %s%d", k, m, m[:1], next[m[0]]-1)
				}
				next[m[0]]++
			}
			// The subscribers of one process see one order.
			if k == 0 {
				first = got
			} else if k == 1 && !slices.Equal(got, first) {
				t.Errorf("two subscribers of one process saw different orders")
			}
		}
	})

	t.Run("ManySubscribers", func(t *testing.T) {
		const procs, channels, perChannel = 3, 10, 30
		var bs []*AMQPBroker
		for range procs {
			bs = append(bs, newAMQP(t, url, "ex.many", BrokerOptions{}))
		}
		type sub struct {
			b  *AMQPBroker
			ch int
			id SubID
		}
		var subs []sub
		for _, b := range bs {
			for c := range channels {
				for range perChannel {
					subs = append(subs, sub{b, c, subscribe(t, b, fmt.Sprintf("room.%d", c), SubscribeOptions{})})
				}
			}
		}
		for c := range channels {
			if n := publish(t, bs[c%procs], fmt.Sprintf("room.%d", c), fmt.Sprintf("hello %d", c)); n != perChannel {
				t.Errorf("Publish counted %d, want %d", n, perChannel)
			}
		}
		for _, s := range subs {
			if got := fetchN(t, s.b, s.id, 1); got[0] != fmt.Sprintf("hello %d", s.ch) {
				t.Fatalf("subscriber of room.%d got %q", s.ch, got)
			}
		}
		for _, s := range subs {
			if msgs, err := s.b.Fetch(context.Background(), s.id, 0, 0); err != nil || len(msgs) != 0 {
				t.Fatalf("extra messages: %q, %v", msgs, err)
			}
		}
	})

	t.Run("BindingsFollowSubscribers", func(t *testing.T) {
		a := newAMQP(t, url, "ex.bind", BrokerOptions{})
		b := newAMQP(t, url, "ex.bind", BrokerOptions{})
		ctx := testCtx(t)
		id1 := subscribe(t, b, "x", SubscribeOptions{})
		id2 := subscribe(t, b, "x", SubscribeOptions{})
		if !b.bindings()["x"] {
			t.Fatal("no binding after Subscribe")
		}
		if err := b.Unsubscribe(ctx, id1); err != nil {
			t.Fatal(err)
		}
		if !b.bindings()["x"] {
			t.Fatal("binding removed while a subscriber remains")
		}
		if err := b.Unsubscribe(ctx, id2); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, "binding removed after the last Unsubscribe", func() bool { return !b.bindings()["x"] })

		// A subscription dropped by overflow: the binding goes when the
		// next message for the channel arrives.
		id := subscribe(t, b, "y", SubscribeOptions{QueueSize: 1})
		publish(t, a, "y", "1")
		publish(t, a, "y", "2") // overflows
		publish(t, a, "y", "3") // finds no subscriber: unbinds
		testutil.Eventually(t, "binding removed after an overflow", func() bool { return !b.bindings()["y"] })
		if _, err := b.Fetch(ctx, id, 0, 0); !errors.Is(err, ErrSubscriptionGone) {
			t.Fatalf("Fetch = %v, want ErrSubscriptionGone", err)
		}
		// And a new subscriber binds again. The overflow may have unbound
		// at "2", with "3" still on its way through b's queue: then the new
		// subscriber may get "3" first (a message published before a
		// subscription can reach it on a broker of several nodes).
		id = subscribe(t, b, "y", SubscribeOptions{})
		publish(t, a, "y", "4")
		got := fetchN(t, b, id, 1)
		if got[0] == "3" {
			got = fetchN(t, b, id, 1)
		}
		if got[0] != "4" {
			t.Fatalf("got %q, want \"4\"", got)
		}
	})

	t.Run("CloseReleasesEverything", func(t *testing.T) {
		goroutineBaseline(t)
		a := newAMQP(t, url, "ex.close", BrokerOptions{})
		b := newAMQP(t, url, "ex.close", BrokerOptions{})
		id := subscribe(t, b, "c", SubscribeOptions{})
		publish(t, a, "c", "m")
		fetchN(t, b, id, 1)
		queue := b.cur.Load().queue

		done := make(chan fetchResult)
		go func() {
			msgs, err := b.Fetch(context.Background(), id, 0, guard)
			done <- fetchResult{msgs, err}
		}()
		testutil.Eventually(t, "Fetch waiting", func() bool {
			s, err := b.local.lookup(id)
			if err != nil {
				return false
			}
			_, _, f := s.state()
			return f == 1
		})
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		if r := recv(t, done); !errors.Is(r.err, ErrClosed) {
			t.Errorf("waiting Fetch = %v, want ErrClosed", r.err)
		}
		a.Close()
		if _, err := b.Publish(context.Background(), "c", nil); !errors.Is(err, ErrClosed) {
			t.Errorf("Publish after Close = %v", err)
		}
		// The server deleted the process's queue with its connection.
		conn, err := amqp.Dial(url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ch, err := conn.Channel()
		if err != nil {
			t.Fatal(err)
		}
		var aerr *amqp.Error
		if _, err := ch.QueueDeclarePassive(queue, false, true, true, false, nil); !errors.As(err, &aerr) || aerr.Code != amqp.NotFound {
			t.Errorf("queue %s after Close: %v, want NOT_FOUND", queue, err)
		}
	})
}

// BenchmarkAMQPBroker measures publish→receive across two brokers sharing
// one AMQP server: the latency of one message to a Fetch already waiting,
// and the throughput of a stream of 100-byte messages.
func BenchmarkAMQPBroker(b *testing.B) {
	node := rabbittest.Start(b)
	url := node.URL()

	b.Run("Latency", func(b *testing.B) {
		pub := newAMQP(b, url, "ex.latency", BrokerOptions{})
		sub := newAMQP(b, url, "ex.latency", BrokerOptions{})
		ctx := testCtx(b)
		id := subscribe(b, sub, "lat", SubscribeOptions{})
		var lat []time.Duration
		for i := 0; b.Loop(); i++ {
			start := time.Now()
			publish(b, pub, "lat", strconv.Itoa(i))
			msgs, err := sub.Fetch(ctx, id, 1, guard)
			if err != nil || len(msgs) != 1 {
				b.Fatalf("Fetch = %q, %v", msgs, err)
			}
			lat = append(lat, time.Since(start))
		}
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "median-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	})

	b.Run("Throughput", func(b *testing.B) {
		const batch = 1000 // published before the first is fetched
		pub := newAMQP(b, url, "ex.throughput", BrokerOptions{})
		sub := newAMQP(b, url, "ex.throughput", BrokerOptions{})
		ctx := testCtx(b)
		id := subscribe(b, sub, "tput", SubscribeOptions{QueueSize: batch})
		msg := make([]byte, 100)
		for b.Loop() {
			for range batch {
				if _, err := pub.Publish(ctx, "tput", msg); err != nil {
					b.Fatal(err)
				}
			}
			for got := 0; got < batch; {
				msgs, err := sub.Fetch(ctx, id, 0, guard)
				if err != nil || len(msgs) == 0 {
					b.Fatalf("after %d: Fetch = %d messages, %v", got, len(msgs), err)
				}
				got += len(msgs)
			}
		}
		b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "msg/s")
	})
}

// TestAMQPBrokerRestart: the server goes away and comes back; Publish
// fails meanwhile, subscriptions survive and receive again after the
// reconnection.
func TestAMQPBrokerRestart(t *testing.T) {
	node := rabbittest.Start(t)
	url := node.URL()
	a := newAMQP(t, url, "ex.restart", BrokerOptions{})
	b := newAMQP(t, url, "ex.restart", BrokerOptions{})
	ctx := testCtx(t)
	sa := subscribe(t, a, "c", SubscribeOptions{IdleTimeout: -1})
	sb := subscribe(t, b, "c", SubscribeOptions{IdleTimeout: -1})
	publish(t, a, "c", "before")
	fetchN(t, a, sa, 1)
	fetchN(t, b, sb, 1)

	node.Stop()
	testutil.Eventually(t, "both brokers notice the server is gone", func() bool { return !a.Connected() && !b.Connected() })
	if _, err := a.Publish(ctx, "c", []byte("lost")); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Publish while down = %v, want ErrUnavailable", err)
	}
	// Subscriptions stay alive, and new ones can be made.
	if msgs, err := b.Fetch(ctx, sb, 0, 0); err != nil || len(msgs) != 0 {
		t.Fatalf("Fetch while down = %q, %v", msgs, err)
	}
	sb2 := subscribe(t, b, "d", SubscribeOptions{IdleTimeout: -1})

	node.Restart()
	testutil.Eventually(t, "both brokers reconnected", func() bool { return a.Connected() && b.Connected() })
	publish(t, a, "c", "after a")
	publish(t, b, "c", "after b")
	publish(t, a, "d", "made while down")
	for _, x := range []struct {
		b  *AMQPBroker
		id SubID
	}{{a, sa}, {b, sb}} {
		got := fetchN(t, x.b, x.id, 2)
		slices.Sort(got)
		if !slices.Equal(got, []string{"after a", "after b"}) {
			t.Errorf("after restart got %q", got)
		}
	}
	if got := fetchN(t, b, sb2, 1); got[0] != "made while down" {
		t.Errorf("got %q", got)
	}
}
