package events

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// isClosed reports whether ch is closed, without waiting.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// A subscription's Watch is ready when a message is queued (at once when
// one is already), takes nothing, and tells a gone subscription and a
// closed broker apart from nothing having happened.
func TestBrokerWatch(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		setup func(b *MemoryBroker, id SubID) // before Watch
		event func(b *MemoryBroker, id SubID) // after Watch; nil: none
		want  error
		ready bool
	}{
		{"nothing happens", nil, nil, ErrTimeout, false},
		{"a message arrives", nil, func(b *MemoryBroker, id SubID) { b.Publish(ctx, "c", []byte("m")) }, nil, true},
		{"a message was queued", func(b *MemoryBroker, id SubID) { b.Publish(ctx, "c", []byte("m")) }, nil, nil, true},
		{"unsubscribed", nil, func(b *MemoryBroker, id SubID) { b.Unsubscribe(ctx, id) }, ErrSubscriptionGone, true},
		{"overflowed", nil, func(b *MemoryBroker, id SubID) {
			for range 3 {
				b.Publish(ctx, "c", []byte("m"))
			}
		}, ErrSubscriptionGone, true},
		{"broker closed", nil, func(b *MemoryBroker, id SubID) { b.Close() }, ErrClosed, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBroker(t, BrokerOptions{})
			id := subscribe(t, b, "c", SubscribeOptions{QueueSize: 2})
			if tc.setup != nil {
				tc.setup(b, id)
			}
			w, err := b.Watch(id)
			if err != nil {
				t.Fatal(err)
			}
			if tc.event != nil {
				tc.event(b, id)
			}
			if got := isClosed(w.Ready()); got != tc.ready {
				t.Fatalf("Ready closed: %v, want %v", got, tc.ready)
			}
			for range 2 { // idempotent
				if p, err := w.Stop(); p != nil || !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
					t.Fatalf("Stop: %q, %v; want %v", p, err, tc.want)
				}
			}
			if s := b.sub(id); s != nil {
				if _, _, f := s.state(); f != 0 {
					t.Errorf("%d fetchers left after Stop", f)
				}
			}
			if tc.want == nil { // the message is still there for a Fetch
				if got := fetchStrings(t, b, id, 0); len(got) != 1 || got[0] != "m" {
					t.Errorf("Fetch after the watch: %q, want [m]", got)
				}
			}
		})
	}
	b := newBroker(t, BrokerOptions{})
	if _, err := b.Watch("no-such-id"); !errors.Is(err, ErrSubscriptionGone) {
		t.Errorf("Watch of an unknown id: %v", err)
	}
	id := subscribe(t, b, "c", SubscribeOptions{})
	b.Close()
	if _, err := b.Watch(id); !errors.Is(err, ErrClosed) {
		t.Errorf("Watch after Close: %v", err)
	}
}

// A watched subscription does not idle out, however long the watch; it
// idles out its timeout after Stop.
func TestBrokerWatchKeepsAlive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := NewMemoryBroker(BrokerOptions{DefaultIdleTimeout: 10 * time.Second}, nil)
		defer b.Close()
		id := subscribe(t, b, "c", SubscribeOptions{})
		w, err := b.Watch(id)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if b.sub(id) == nil {
			t.Fatal("a watched subscription idled out")
		}
		w.Stop()
		time.Sleep(10*time.Second + time.Nanosecond)
		synctest.Wait()
		if b.sub(id) != nil {
			t.Fatal("the subscription stayed 10s after its watch stopped")
		}
	})
}

// Many watches of one subscription share its wake-up: one message readies
// them all.
func TestBrokerWatchMany(t *testing.T) {
	b := newBroker(t, BrokerOptions{})
	id := subscribe(t, b, "c", SubscribeOptions{})
	ws := make([]Watch, 100)
	for i := range ws {
		w, err := b.Watch(id)
		if err != nil {
			t.Fatal(err)
		}
		ws[i] = w
	}
	publish(t, b, "c", "m")
	for i, w := range ws {
		if !isClosed(w.Ready()) {
			t.Fatalf("watch %d not ready after the message", i)
		}
		if _, err := w.Stop(); err != nil {
			t.Fatalf("watch %d: %v", i, err)
		}
	}
}

// A signal Watch counts as a waiter from the moment it is made: a Send
// after it wakes it (and counts it), even when nobody selects on Ready yet;
// a Send after Stop does not; Close ends it.
func TestSignalWatch(t *testing.T) {
	ctx := context.Background()
	s := newSignals(t)
	w, err := s.Watch("x")
	if err != nil {
		t.Fatal(err)
	}
	if isClosed(w.Ready()) {
		t.Fatal("ready before any send")
	}
	if n, _ := s.Send(ctx, "x", []byte("p1")); n != 1 {
		t.Fatalf("Send woke %d, want the watch", n)
	}
	if !isClosed(w.Ready()) {
		t.Fatal("not ready after the send")
	}
	if p, err := w.Stop(); err != nil || string(p) != "p1" {
		t.Fatalf("Stop: %q, %v; want p1", p, err)
	}

	w, _ = s.Watch("x")
	if p, err := w.Stop(); p != nil || !errors.Is(err, ErrTimeout) {
		t.Fatalf("Stop before any send: %q, %v; want ErrTimeout", p, err)
	}
	if n, _ := s.Send(ctx, "x", nil); n != 0 || s.waiting("x") != 0 {
		t.Fatalf("a stopped watch was woken (%d) or still waits (%d)", n, s.waiting("x"))
	}

	w, _ = s.Watch("x")
	s.Send(ctx, "x", []byte("p2"))
	if p, err := w.Stop(); err != nil || string(p) != "p2" { // sent before Stop: honoured
		t.Fatalf("Stop after an unobserved send: %q, %v", p, err)
	}

	w, _ = s.Watch("x")
	s.Close()
	if !isClosed(w.Ready()) {
		t.Fatal("Close did not ready the watch")
	}
	if _, err := w.Stop(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Stop after Close: %v", err)
	}
	if _, err := s.Watch("x"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Watch after Close: %v", err)
	}
	if _, err := newSignals(t).Watch("a b"); !errors.Is(err, ErrBadName) {
		t.Fatalf("Watch of a bad name: %v", err)
	}
}
