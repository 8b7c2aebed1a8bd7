package bubbletest

import (
	"crypto/rand"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/bubblewasm/bubblewasm/guest-sdk/go/internal/fakehost"
	"github.com/bubblewasm/bubblewasm/guest-sdk/go/internal/session"
)

// Host is the host side of the extensions (pub/sub, signals, key-value),
// which outlives exchanges: the route's grants and an in-memory broker,
// signals and store that keep their state from one exchange to the next.
// Exchanges use it when they name it ([Exchange].Host, or [Host.Serve]).
//
// The zero Host grants nothing, like a route without pubsub, signals and
// kv keys: every extension call fails with bubble.ErrDenied. Set the grants
// as bubble.toml would:
//
//	h := &bubbletest.Host{PubSub: []string{"chat.*"}, Signals: []string{"*"}, KV: "app"}
//	rec := h.Serve(map[string]string{"PATH_INFO": "/join"}, nil)
//
// Time does not pass: a Fetch with an empty queue and a WaitSignal with no
// preset signal (and no OnWait answer) fail with bubble.ErrTimeout at once,
// whatever their timeout, and key-value TTLs are recorded (KVTTL) but never
// expire. Names are checked as the server checks them: channel and signal
// names outside the grant fail with ErrDenied, malformed ones with
// ErrInvalid, and messages over MaxMessageBytes with ErrTooLarge.
//
// A Host must not be copied after first use. Its methods may be called
// between exchanges and from OnWait.
type Host struct {
	// PubSub are the channel patterns the route grants (its pubsub key):
	// "*" every channel, "chat.*" chat and every channel below it, "chat.?"
	// globs per dot-separated level, anything else one channel exactly.
	// nil grants no pub/sub.
	PubSub []string
	// Signals are the signal name patterns the route grants (its signals
	// key), in the same forms; nil grants no signals.
	Signals []string
	// KV is the route's key-value namespace (its kv key); "" grants none.
	KV string

	// QueueSize bounds each subscription's queue; a message that finds it
	// full drops the subscription (the server's default policy), so the
	// next Fetch fails with bubble.ErrSubscriptionGone. 0 means 64.
	QueueSize int
	// MaxMessageBytes caps a published message; 0 means 64 KiB.
	MaxMessageBytes int
	// MaxSubscriptions caps the live subscriptions, as the route's
	// max_subscriptions does: Subscribe beyond it fails with
	// bubble.ErrFull. 0 means no cap.
	MaxSubscriptions int
	// KVMaxKeys caps the namespace's keys, as [kv] max_keys does with
	// eviction "reject": setting a new key beyond it fails with
	// bubble.ErrFull. 0 means no cap.
	KVMaxKeys int

	// OnWait, if not nil, answers a WaitSignal that no preset signal
	// (Signal) answers, with the payload and true, or false for a
	// timeout. It runs during the exchange and may call the Host's methods.
	OnWait func(name string, timeoutMs int) (payload []byte, ok bool)

	// Dial are the route's dial targets (its dial key), by name: each
	// answers bubble.Call at once with the reply, its status (what
	// bubble.CallStatus returns: 0 for a socket target, the worker's
	// status for an AMQP one) or an error (a bubble.Errno is returned as
	// itself, deadline errors as ErrTimeout, anything else as ErrIO). A
	// name not in it fails with ErrDenied; nil grants no dial.
	Dial map[string]func(req []byte, timeoutMs int) (reply []byte, status int, err error)

	// Outbound is the route's outbound list (its outbound key): the URLs
	// bubble.FetchHTTP may request, checked as the server checks them (a
	// URL outside it fails with ErrDenied). nil grants no outbound HTTP.
	Outbound []string
	// HTTP serves the requests bubble.FetchHTTP makes within Outbound, in
	// memory: no network, no name resolution, redirects answered as they
	// are. nil answers each with 502 Bad Gateway. An httptest.Server's
	// handler or an http.ServeMux fits.
	HTTP http.Handler

	once sync.Once
	ext  *fakehost.Ext
}

// Message is a pub/sub message, or a signal (Channel is the signal's name
// and Data its payload).
type Message = fakehost.Message

// state returns the fake's state, which reads h's settings at each call.
func (h *Host) state() *fakehost.Ext {
	h.once.Do(func() {
		h.ext = &fakehost.Ext{Config: func() fakehost.Config {
			return fakehost.Config{PubSub: h.PubSub, Signals: h.Signals, KV: h.KV,
				QueueSize: h.QueueSize, MaxMessageBytes: h.MaxMessageBytes, MaxSubscriptions: h.MaxSubscriptions, KVMaxKeys: h.KVMaxKeys,
				OnWait: h.OnWait, Dial: h.Dial, Outbound: h.Outbound, HTTP: h.HTTP}
		}}
	})
	return h.ext
}

// Serve runs the registered handler for one exchange with env and body,
// with h as its host.
func (h *Host) Serve(env map[string]string, body io.Reader) *Recorder {
	return Exchange{Env: env, Body: body, Host: h}.Serve()
}

// Subscribe creates a subscription to channel, as a handler would without
// the grant check, and returns its id. Use it to hand a handler an id, or
// to receive what handlers publish (Queued).
func (h *Host) Subscribe(channel string) string { return h.state().Subscribe(channel) }

// Publish queues msg on every subscription of channel, as another
// exchange's bubble.Publish would (without the grant and size checks), and
// returns how many subscriptions it reached. It is not listed by
// Published.
func (h *Host) Publish(channel string, msg []byte) int {
	return h.state().Publish(channel, msg, false)
}

// Queued returns the messages waiting in subscription id, oldest first,
// and whether the subscription exists.
func (h *Host) Queued(id string) ([][]byte, bool) { return h.state().Queued(id) }

// Unsubscribe drops subscription id, as an overflow or an idle timeout
// would, and reports whether it existed.
func (h *Host) Unsubscribe(id string) bool { return h.state().Unsubscribe(id) }

// Published returns every message the handlers published, in order, with
// the channel each went to (whether or not anyone subscribed).
func (h *Host) Published() []Message { return h.state().Published() }

// Signal makes the next WaitSignal on name return payload at once. Calls
// queue up: each answers one wait.
func (h *Host) Signal(name string, payload []byte) { h.state().PresetSignal(name, payload) }

// Sent returns every signal the handlers sent, in order. In the fake a
// send wakes nobody (no other exchange is waiting while one runs), so
// bubble.SendSignal returns 0.
func (h *Host) Sent() []Message { return h.state().Sent() }

// KVGet returns the value stored under key and whether there is one.
func (h *Host) KVGet(key string) ([]byte, bool) {
	e, ok := h.state().Get(key)
	return e.Value, ok
}

// KVTTL returns the TTL in milliseconds that key was last set with; 0 for
// none or a missing key.
func (h *Host) KVTTL(key string) int {
	e, _ := h.state().Get(key)
	return e.TTLMS
}

// KVSet stores value under key without a TTL.
func (h *Host) KVSet(key string, value []byte) { h.state().Set(key, value, 0) }

// KVDelete removes key.
func (h *Host) KVDelete(key string) { h.state().Delete(key) }

// KVKeys returns the stored keys in ascending order.
func (h *Host) KVKeys() []string { return h.state().Keys() }

// NewSession stores a session with values, as a handler's
// bubble.Session.Save would, and returns its id: serve an exchange with
// the env key HTTP_COOKIE set to "bubble_session=" + id to test a handler
// with a session in place (a logged-in user).
func (h *Host) NewSession(values map[string]string) string {
	var b [session.IDBytes]byte
	rand.Read(b[:])
	id := session.FormatID(b[:])
	h.state().Set(session.KeyPrefix+id, session.Encode(values), 0)
	return id
}

// Session returns the stored values of session id and whether it is
// stored.
func (h *Host) Session(id string) (map[string]string, bool) {
	e, ok := h.state().Get(session.KeyPrefix + id)
	if !ok {
		return nil, false
	}
	return session.Decode(e.Value), true
}

// Cookie returns the value of the cookie name that the response sets
// (the first Set-Cookie header for it) and whether it sets one. Pass it on
// as HTTP_COOKIE "name=value" to the next exchange.
func (r *Recorder) Cookie(name string) (string, bool) {
	for _, c := range r.Header.Values("Set-Cookie") {
		pair, _, _ := strings.Cut(c, ";")
		if k, v, ok := strings.Cut(pair, "="); ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}
