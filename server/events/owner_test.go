package events

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// A subscription remembers its channel and owner, and Info answers an
// unknown or ended ID as Fetch does.
func TestInfo(t *testing.T) {
	b := newBroker(t, BrokerOptions{})
	a := subscribe(t, b, "chat.a", SubscribeOptions{Owner: "route-a"})
	anon := subscribe(t, b, "chat", SubscribeOptions{})
	for _, tc := range []struct {
		id   SubID
		info SubInfo
		err  error
	}{
		{a, SubInfo{Channel: "chat.a", Owner: "route-a"}, nil},
		{anon, SubInfo{Channel: "chat"}, nil},
		{"unknown", SubInfo{}, ErrSubscriptionGone},
		{"", SubInfo{}, ErrSubscriptionGone},
	} {
		info, err := b.Info(tc.id)
		if info != tc.info || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
			t.Errorf("Info(%q) = %+v, %v; want %+v, %v", tc.id, info, err, tc.info, tc.err)
		}
	}
	if err := b.Unsubscribe(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Info(a); !errors.Is(err, ErrSubscriptionGone) {
		t.Errorf("Info after Unsubscribe: %v", err)
	}
	b.Close()
	if _, err := b.Info(anon); !errors.Is(err, ErrClosed) {
		t.Errorf("Info after Close: %v", err)
	}
}

// One owner at its MaxOwned gets ErrFull while others still subscribe; a
// subscription that ends in any way (unsubscribed, overflowed, idle) gives
// its place back.
func TestMaxOwned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBroker(t, BrokerOptions{DefaultIdleTimeout: time.Minute})
		hog := SubscribeOptions{Owner: "hog", MaxOwned: 3, QueueSize: 1}
		ids := make([]SubID, 3)
		for i := range ids {
			ids[i] = subscribe(t, b, "chat", hog)
		}
		if _, err := b.Subscribe(context.Background(), "chat", hog); !errors.Is(err, ErrFull) {
			t.Fatalf("4th subscription of a 3-cap owner: %v, want ErrFull", err)
		}
		// Others are not affected, whatever their own cap.
		subscribe(t, b, "chat", SubscribeOptions{Owner: "other", MaxOwned: 1})
		subscribe(t, b, "chat", SubscribeOptions{Owner: "free"})
		subscribe(t, b, "chat", SubscribeOptions{Owner: "free"})

		// Unsubscribe gives a place back.
		if err := b.Unsubscribe(context.Background(), ids[0]); err != nil {
			t.Fatal(err)
		}
		ids[0] = subscribe(t, b, "chat", hog)
		// So does an overflow (queue of 1, DropSubscriber): the 2nd message
		// drops every hog subscription.
		publish(t, b, "chat", "1")
		publish(t, b, "chat", "2")
		for range 3 {
			subscribe(t, b, "chat", hog)
		}
		if _, err := b.Subscribe(context.Background(), "chat", hog); !errors.Is(err, ErrFull) {
			t.Fatalf("over the cap again: %v, want ErrFull", err)
		}
		// And idling out.
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		for range 3 {
			subscribe(t, b, "chat", hog)
		}
		if n := b.ownedBy("hog"); n != 3 {
			t.Fatalf("hog owns %d, want 3", n)
		}
	})
}

// The broker-wide cap still applies, and a cap of its own below it lets
// other owners in when one owner is at its cap.
func TestMaxOwnedUnderBrokerCap(t *testing.T) {
	b := newBroker(t, BrokerOptions{MaxSubscriptions: 4})
	for range 2 {
		subscribe(t, b, "chat", SubscribeOptions{Owner: "a", MaxOwned: 2})
	}
	subscribe(t, b, "chat", SubscribeOptions{Owner: "b", MaxOwned: 2})
	subscribe(t, b, "chat", SubscribeOptions{Owner: "c"})
	if _, err := b.Subscribe(context.Background(), "chat", SubscribeOptions{Owner: "d"}); !errors.Is(err, ErrFull) {
		t.Fatalf("over the broker's cap: %v", err)
	}
	if _, err := b.Subscribe(context.Background(), "chat", SubscribeOptions{Owner: "d", MaxOwned: -1}); !errors.Is(err, ErrBadOption) {
		t.Fatalf("negative MaxOwned: %v", err)
	}
}

func (b *MemoryBroker) ownedBy(owner string) int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.owned[owner]
}
