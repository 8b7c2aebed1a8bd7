package events

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// BenchmarkPublish publishes 100-byte messages to n subscribers that never
// fetch (DropOldest, queue 10: the steady state of a full queue).
func BenchmarkPublish(b *testing.B) {
	for _, n := range []int{1, 100, 10_000} {
		b.Run(fmt.Sprintf("subs=%d", n), func(b *testing.B) {
			br := newBroker(b, BrokerOptions{})
			for range n {
				subscribe(b, br, "c", SubscribeOptions{Overflow: DropOldest})
			}
			msg := make([]byte, 100)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if k, err := br.Publish(ctx, "c", msg); err != nil || k != n {
					b.Fatal(k, err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/delivery")
		})
	}
}

// BenchmarkFetchRoundTrip publishes one message and fetches it on the same
// goroutine: the cost without any wake-up.
func BenchmarkFetchRoundTrip(b *testing.B) {
	br := newBroker(b, BrokerOptions{})
	id := subscribe(b, br, "c", SubscribeOptions{})
	msg := make([]byte, 100)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		br.Publish(ctx, "c", msg)
		if msgs, err := br.Fetch(ctx, id, 0, time.Second); err != nil || len(msgs) != 1 {
			b.Fatal(msgs, err)
		}
	}
}

// BenchmarkFetchWake is a ping-pong: a Fetch waiting in another goroutine
// is woken by each Publish, and the publisher waits for the answer on a
// second subscription, so every iteration is two park/wake cycles.
func BenchmarkFetchWake(b *testing.B) {
	br := newBroker(b, BrokerOptions{})
	ping := subscribe(b, br, "ping", SubscribeOptions{})
	pong := subscribe(b, br, "pong", SubscribeOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for {
			if _, err := br.Fetch(ctx, ping, 0, time.Minute); err != nil {
				return
			}
			br.Publish(ctx, "pong", nil)
		}
	}()
	b.ReportAllocs()
	for b.Loop() {
		br.Publish(ctx, "ping", nil)
		if _, err := br.Fetch(ctx, pong, 0, time.Minute); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSubscribe is Subscribe + Unsubscribe with 10,000 other
// subscriptions present.
func BenchmarkSubscribe(b *testing.B) {
	br := newBroker(b, BrokerOptions{})
	for range 10_000 {
		subscribe(b, br, "c", SubscribeOptions{})
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		id, err := br.Subscribe(ctx, "c", SubscribeOptions{})
		if err != nil {
			b.Fatal(err)
		}
		br.Unsubscribe(ctx, id)
	}
}

// BenchmarkSignalSendWake is a ping-pong between two goroutines, each
// waiting for the other's signal. Signals are not stored, so a sender
// retries until its peer is parked (yielding in between): the figure is
// the cost of one park, one Send and one wake-up, twice.
func BenchmarkSignalSendWake(b *testing.B) {
	s := newSignals(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	send := func(name string) {
		for ctx.Err() == nil {
			if n, _ := s.Send(ctx, name, nil); n == 1 {
				return
			}
			runtime.Gosched()
		}
	}
	go func() {
		for {
			if _, err := s.Wait(ctx, "ping", time.Minute); err != nil {
				return
			}
			send("pong")
		}
	}()
	b.ReportAllocs()
	for b.Loop() {
		go send("ping") // concurrently, so that this goroutine can park
		if _, err := s.Wait(ctx, "pong", time.Minute); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkKVSetGet(b *testing.B) {
	k := newKV(b, KVOptions{})
	ctx := context.Background()
	v := make([]byte, 100)
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = "key" + strconv.Itoa(i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		key := keys[i%len(keys)]
		i++
		if err := k.Set(ctx, "ns", key, v, time.Minute); err != nil {
			b.Fatal(err)
		}
		if _, ok, _ := k.Get(ctx, "ns", key); !ok {
			b.Fatal("missing")
		}
	}
}
