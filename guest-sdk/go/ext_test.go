package bubble_test

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	bubble "github.com/bubblewasm/bubblewasm/guest-sdk/go"
	"github.com/bubblewasm/bubblewasm/guest-sdk/go/bubbletest"
)

// run registers fn, serves one exchange on h and fails the test if the
// handler failed.
func run(t *testing.T, h *bubbletest.Host, env map[string]string, fn func(x *bubble.Exchange) error) *bubbletest.Recorder {
	t.Helper()
	stream(t, fn)
	rec := bubbletest.Exchange{Env: env, Host: h}.Serve()
	if rec.Code != 0 {
		t.Fatalf("handler failed: code %d, logs %v", rec.Code, rec.Logs)
	}
	return rec
}

// is reports a mismatch between err and want (nil for success).
func is(t *testing.T, what string, err error, want error) {
	t.Helper()
	if want == nil && err != nil || want != nil && !errors.Is(err, want) {
		t.Errorf("%s: error %v, want %v", what, err, want)
	}
}

func TestPubSub(t *testing.T) {
	h := &bubbletest.Host{PubSub: []string{"chat.*"}}
	var id string
	run(t, h, nil, func(*bubble.Exchange) error {
		n, err := bubble.Publish("chat.room1", []byte("before anyone listens"))
		if n != 0 || err != nil {
			t.Errorf("Publish without subscribers = %d, %v", n, err)
		}
		id, err = bubble.Subscribe("chat.room1")
		if err != nil || id == "" || len(id) > bubble.MaxSubscriptionID {
			t.Errorf("Subscribe = %q, %v", id, err)
		}
		if n, err := bubble.Publish("chat.room1", []byte("hello")); n != 1 || err != nil {
			t.Errorf("Publish = %d, %v", n, err)
		}
		if n, err := bubble.Publish("chat.room1", nil); n != 1 || err != nil {
			t.Errorf("Publish(empty) = %d, %v", n, err)
		}
		if n, err := bubble.Publish("chat.room2", []byte("elsewhere")); n != 0 || err != nil {
			t.Errorf("Publish(room2) = %d, %v", n, err)
		}
		return nil
	})

	// The subscription outlives the exchange; the test publishes too.
	if n := h.Publish("chat.room1", []byte("from the test")); n != 1 {
		t.Errorf("Host.Publish reached %d subscriptions", n)
	}
	if q, ok := h.Queued(id); !ok || len(q) != 3 {
		t.Errorf("Queued = %q, %v", q, ok)
	}
	run(t, h, nil, func(*bubble.Exchange) error {
		for _, want := range []string{"hello", "", "from the test"} {
			msg, err := bubble.Fetch(id, 1000)
			if err != nil || string(msg) != want || msg == nil {
				t.Errorf("Fetch = %q, %v; want %q", msg, err, want)
			}
		}
		_, err := bubble.Fetch(id, 1000)
		is(t, "Fetch on an empty queue", err, bubble.ErrTimeout)
		is(t, "Unsubscribe", bubble.Unsubscribe(id), nil)
		_, err = bubble.Fetch(id, 0)
		is(t, "Fetch after Unsubscribe", err, bubble.ErrSubscriptionGone)
		is(t, "Unsubscribe twice", bubble.Unsubscribe(id), bubble.ErrSubscriptionGone)
		if err == nil || err.Error() != "bubble: pubsub.fetch: ERR_NOT_FOUND" {
			t.Errorf("message %q", err)
		}
		return nil
	})

	// A subscription the host dropped (overflow, idling) is gone.
	id = h.Subscribe("chat.room1")
	if !h.Unsubscribe(id) || h.Unsubscribe(id) {
		t.Error("Host.Unsubscribe")
	}
	run(t, h, nil, func(*bubble.Exchange) error {
		_, err := bubble.Fetch(id, 0)
		is(t, "Fetch after Host.Unsubscribe", err, bubble.ErrSubscriptionGone)
		return nil
	})

	var got []string
	for _, m := range h.Published() {
		got = append(got, m.Channel+":"+string(m.Data))
	}
	want := []string{"chat.room1:before anyone listens", "chat.room1:hello", "chat.room1:", "chat.room2:elsewhere"}
	if !slices.Equal(got, want) {
		t.Errorf("Published = %q, want %q", got, want)
	}
}

// A message longer than the first buffer stays queued and comes whole with
// the second call; a message of exactly the first buffer's size fits it.
func TestFetchSizeNegotiation(t *testing.T) {
	h := &bubbletest.Host{PubSub: []string{"*"}}
	id := h.Subscribe("big")
	sizes := []int{2047, 2048, 2049, 60000, 1}
	for i, n := range sizes {
		h.Publish("big", bytes.Repeat([]byte{byte('a' + i)}, n))
	}
	run(t, h, nil, func(*bubble.Exchange) error {
		for i, n := range sizes {
			msg, err := bubble.Fetch(id, 0)
			if err != nil || !bytes.Equal(msg, bytes.Repeat([]byte{byte('a' + i)}, n)) {
				t.Errorf("message %d: %d bytes, %v; want %d", i, len(msg), err, n)
			}
			if cap(msg) != n {
				t.Errorf("message %d: capacity %d for %d bytes", i, cap(msg), n)
			}
		}
		return nil
	})
	if q, _ := h.Queued(id); len(q) != 0 {
		t.Errorf("%d messages left", len(q))
	}
}

func TestPubSubLimitsAndNames(t *testing.T) {
	h := &bubbletest.Host{PubSub: []string{"chat.*", "news"}, QueueSize: 2, MaxMessageBytes: 10}
	run(t, h, nil, func(*bubble.Exchange) error {
		_, err := bubble.Publish("other", nil)
		is(t, "publish outside the grant", err, bubble.ErrDenied)
		_, err = bubble.Publish("news.sports", nil)
		is(t, "publish below an exact grant", err, bubble.ErrDenied)
		_, err = bubble.Subscribe("other")
		is(t, "subscribe outside the grant", err, bubble.ErrDenied)
		for _, bad := range []string{"", "chat.a b", "chat.*", "chat.\x00", strings.Repeat("x", 257)} {
			_, err = bubble.Publish(bad, nil)
			is(t, "publish to "+bad, err, bubble.ErrInvalid)
			_, err = bubble.Subscribe(bad)
			is(t, "subscribe to "+bad, err, bubble.ErrInvalid)
		}
		_, err = bubble.Publish("news", []byte("12345678901"))
		is(t, "message over the limit", err, bubble.ErrTooLarge)
		if err == nil || err.Error() != "bubble: pubsub.publish: ERR_TOO_LARGE" {
			t.Errorf("message %q", err)
		}

		// A queue that overflows drops its subscription.
		id, err := bubble.Subscribe("chat")
		is(t, "subscribe", err, nil)
		for i := range 3 {
			n, err := bubble.Publish("chat", []byte("m"))
			if want := min(1, 2-i); n != max(want, 0) || err != nil {
				t.Errorf("publish %d = %d, %v", i, n, err)
			}
		}
		_, err = bubble.Fetch(id, 0)
		is(t, "fetch after overflow", err, bubble.ErrSubscriptionGone)
		return nil
	})
}

// A store at capacity fails with ErrFull, which is not ErrTooLarge; a new
// name with an empty segment is invalid.
func TestFullStores(t *testing.T) {
	h := &bubbletest.Host{PubSub: []string{"chat.*"}, KV: "app", MaxSubscriptions: 2, KVMaxKeys: 2}
	run(t, h, nil, func(*bubble.Exchange) error {
		for range 2 {
			_, err := bubble.Subscribe("chat")
			is(t, "subscribe", err, nil)
		}
		_, err := bubble.Subscribe("chat")
		is(t, "subscribe over the cap", err, bubble.ErrFull)
		if err == nil || err.Error() != "bubble: pubsub.subscribe: ERR_FULL" || errors.Is(err, bubble.ErrTooLarge) {
			t.Errorf("subscribe over the cap: %v", err)
		}
		for _, bad := range []string{"chat.", "chat..x", ".chat"} {
			_, err = bubble.Publish(bad, nil)
			is(t, "publish to "+bad, err, bubble.ErrInvalid)
		}
		is(t, "set k1", bubble.KVSet("k1", []byte("v"), 0), nil)
		is(t, "set k2", bubble.KVSet("k2", []byte("v"), 0), nil)
		is(t, "set k3 in a full namespace", bubble.KVSet("k3", []byte("v"), 0), bubble.ErrFull)
		is(t, "replace k2", bubble.KVSet("k2", []byte("w"), 0), nil)
		is(t, "a key over 256 bytes", bubble.KVSet(strings.Repeat("k", 257), nil, 0), bubble.ErrTooLarge)
		return nil
	})
	// A session cannot be saved in a full namespace.
	var saveErr error
	run(t, h, nil, func(x *bubble.Exchange) error {
		s, err := bubble.LoadSession(x)
		is(t, "load", err, nil)
		saveErr = s.Save(0)
		return nil
	})
	is(t, "save a new session in a full namespace", saveErr, bubble.ErrFull)
}

// Without a grant every extension call fails with ERR_DENIED, including on
// a Host that grants the other extensions.
func TestExtensionsDenied(t *testing.T) {
	for name, h := range map[string]*bubbletest.Host{
		"no host":   nil,
		"zero host": {},
		"others":    {KV: "x"}, // pub/sub and signals only
	} {
		run(t, h, nil, func(*bubble.Exchange) error {
			_, err := bubble.Publish("a", nil)
			is(t, name+": Publish", err, bubble.ErrDenied)
			_, err = bubble.Subscribe("a")
			is(t, name+": Subscribe", err, bubble.ErrDenied)
			_, err = bubble.Fetch("id", 0)
			is(t, name+": Fetch", err, bubble.ErrDenied)
			is(t, name+": Unsubscribe", bubble.Unsubscribe("id"), bubble.ErrDenied)
			_, err = bubble.WaitSignal("a", 0)
			is(t, name+": WaitSignal", err, bubble.ErrDenied)
			_, err = bubble.SendSignal("a", nil)
			is(t, name+": SendSignal", err, bubble.ErrDenied)
			if err == nil || err.Error() != "bubble: signal.send: ERR_DENIED" {
				t.Errorf("message %q", err)
			}
			if h != nil && h.KV != "" {
				return nil
			}
			_, _, err = bubble.KVGet("k")
			is(t, name+": KVGet", err, bubble.ErrDenied)
			is(t, name+": KVSet", bubble.KVSet("k", nil, 0), bubble.ErrDenied)
			is(t, name+": KVDelete", bubble.KVDelete("k"), bubble.ErrDenied)
			return nil
		})
	}
}

func TestSignals(t *testing.T) {
	var waits []string
	h := &bubbletest.Host{
		Signals: []string{"room.*"},
		OnWait: func(name string, timeoutMs int) ([]byte, bool) {
			waits = append(waits, name)
			return []byte("from OnWait"), name == "room.b"
		},
	}
	h.Signal("room.a", []byte("first"))
	h.Signal("room.a", nil)
	run(t, h, nil, func(*bubble.Exchange) error {
		p, err := bubble.WaitSignal("room.a", 30000)
		if string(p) != "first" || err != nil {
			t.Errorf("WaitSignal = %q, %v", p, err)
		}
		p, err = bubble.WaitSignal("room.a", 30000)
		if p == nil || len(p) != 0 || err != nil {
			t.Errorf("WaitSignal = %q, %v; want an empty payload", p, err)
		}
		_, err = bubble.WaitSignal("room.a", 10)
		is(t, "WaitSignal with nothing preset", err, bubble.ErrTimeout)
		p, err = bubble.WaitSignal("room.b", -1)
		if string(p) != "from OnWait" || err != nil {
			t.Errorf("WaitSignal(room.b) = %q, %v", p, err)
		}
		_, err = bubble.WaitSignal("lobby", 0)
		is(t, "WaitSignal outside the grant", err, bubble.ErrDenied)
		_, err = bubble.WaitSignal("room.a?", 0)
		is(t, "WaitSignal on a bad name", err, bubble.ErrInvalid)
		if n, err := bubble.SendSignal("room.c", []byte("wake")); n != 0 || err != nil {
			t.Errorf("SendSignal = %d, %v", n, err)
		}
		_, err = bubble.SendSignal("lobby", nil)
		is(t, "SendSignal outside the grant", err, bubble.ErrDenied)
		return nil
	})
	if !slices.Equal(waits, []string{"room.a", "room.b"}) {
		t.Errorf("OnWait saw %q", waits)
	}
	if s := h.Sent(); len(s) != 1 || s[0].Channel != "room.c" || string(s[0].Data) != "wake" {
		t.Errorf("Sent = %v", s)
	}
}

// A signal payload is cut to MaxSignalPayload: the host cannot send the
// rest again.
func TestSignalPayloadTooLarge(t *testing.T) {
	h := &bubbletest.Host{Signals: []string{"*"}}
	big := bytes.Repeat([]byte("x"), bubble.MaxSignalPayload+1)
	h.Signal("s", big[:bubble.MaxSignalPayload])
	h.Signal("s", big)
	run(t, h, nil, func(*bubble.Exchange) error {
		p, err := bubble.WaitSignal("s", 0)
		if len(p) != bubble.MaxSignalPayload || err != nil {
			t.Errorf("WaitSignal = %d bytes, %v", len(p), err)
		}
		p, err = bubble.WaitSignal("s", 0)
		if len(p) != bubble.MaxSignalPayload || !errors.Is(err, bubble.ErrTooLarge) {
			t.Errorf("WaitSignal = %d bytes, %v; want the cut payload and ErrTooLarge", len(p), err)
		}
		return nil
	})
}

func TestKV(t *testing.T) {
	h := &bubbletest.Host{KV: "app"}
	h.KVSet("preset", []byte("by the test"))
	big := bytes.Repeat([]byte("0123456789"), 100000)
	run(t, h, nil, func(*bubble.Exchange) error {
		v, ok, err := bubble.KVGet("missing")
		if v != nil || ok || err != nil {
			t.Errorf("KVGet(missing) = %q, %v, %v", v, ok, err)
		}
		v, ok, err = bubble.KVGet("preset")
		if string(v) != "by the test" || !ok || err != nil {
			t.Errorf("KVGet(preset) = %q, %v, %v", v, ok, err)
		}
		is(t, "KVSet", bubble.KVSet("empty", nil, 0), nil)
		v, ok, err = bubble.KVGet("empty")
		if v == nil || len(v) != 0 || !ok || err != nil {
			t.Errorf("KVGet(empty) = %q, %v, %v", v, ok, err)
		}
		is(t, "KVSet big", bubble.KVSet("big", big, 60000), nil)
		v, ok, err = bubble.KVGet("big")
		if !bytes.Equal(v, big) || !ok || err != nil {
			t.Errorf("KVGet(big) = %d bytes, %v, %v", len(v), ok, err)
		}
		is(t, "KVSet negative TTL", bubble.KVSet("neg", []byte("n"), -5), nil)
		is(t, "KVDelete", bubble.KVDelete("preset"), nil)
		is(t, "KVDelete missing", bubble.KVDelete("preset"), nil)
		return nil
	})
	if got := h.KVKeys(); !slices.Equal(got, []string{"big", "empty", "neg"}) {
		t.Errorf("KVKeys = %q", got)
	}
	if v, ok := h.KVGet("big"); !ok || !bytes.Equal(v, big) || h.KVTTL("big") != 60000 || h.KVTTL("neg") != 0 {
		t.Errorf("big: %d bytes, %v, TTL %d; neg TTL %d", len(v), ok, h.KVTTL("big"), h.KVTTL("neg"))
	}
	h.KVDelete("big")
	if _, ok := h.KVGet("big"); ok {
		t.Error("KVDelete left the key")
	}
}

// A TTL beyond the ABI's i32 is cut to its maximum, not wrapped.
func TestKVLongTTL(t *testing.T) {
	h := &bubbletest.Host{KV: "app"}
	run(t, h, nil, func(*bubble.Exchange) error {
		return bubble.KVSet("k", []byte("v"), 1<<40)
	})
	if ttl := h.KVTTL("k"); ttl != 1<<31-1 {
		t.Errorf("TTL %d", ttl)
	}
}
