package fakehost

import (
	"net/http"
	"slices"
	"strconv"
	"sync"

	"github.com/bubblewasm/bubblewasm/abi/spec"
	"github.com/bubblewasm/bubblewasm/guest-sdk/go/internal/host"
)

// Defaults of the broker, those of a route without a [pubsub] table.
const (
	DefaultQueueSize       = 64
	DefaultMaxMessageBytes = 64 << 10
)

// Message is one pub/sub message, or one signal (Channel is its name).
type Message struct {
	Channel string
	Data    []byte
}

// Config is the route's side of the extensions: its grants and limits.
type Config struct {
	PubSub  []string // channel patterns (route key pubsub); nil grants none
	Signals []string // signal name patterns (route key signals); nil grants none
	KV      string   // namespace (route key kv); "" grants none

	QueueSize       int // per subscription, overflow drops it; 0 means DefaultQueueSize
	MaxMessageBytes int // 0 means DefaultMaxMessageBytes
	// MaxSubscriptions caps the live subscriptions (ERR_FULL beyond); 0
	// means no cap.
	MaxSubscriptions int
	// KVMaxKeys caps the namespace's keys (ERR_FULL for a new key beyond,
	// as a namespace with eviction "reject" answers); 0 means no cap.
	KVMaxKeys int

	// OnWait answers a signal wait that no preset signal (PresetSignal)
	// answers: ok false times it out. nil times out every such wait.
	OnWait func(name string, timeoutMS int) (payload []byte, ok bool)

	// Dial are the route's dial targets (route key dial): each answers a
	// call with the reply and its status, or an error (mapped to its ABI
	// code as a read error is). A name not in it is ERR_DENIED.
	Dial map[string]func(req []byte, timeoutMS int) (reply []byte, status int, err error)

	// Outbound is the route's outbound list (route key outbound); nil
	// grants no outbound HTTP. HTTP serves the requests within it (nil:
	// 502 Bad Gateway to each).
	Outbound []string
	HTTP     http.Handler
}

// Ext is the extensions' host side, shared by the exchanges of one test:
// a broker, signals and a key-value store, under the Config that Config
// returns at each call (nil: the zero Config, which grants nothing). Time
// does not pass: a fetch or wait with nothing to return times out at once,
// whatever its timeout, and TTLs are recorded but never expire.
type Ext struct {
	Config func() Config

	mu        sync.Mutex
	subs      map[string]*subscription
	nextSub   int
	published []Message
	presets   map[string][][]byte
	sent      []Message
	kv        map[string]Entry
}

// Entry is a stored key-value pair's value and the TTL it was set with.
type Entry struct {
	Value []byte
	TTLMS int
}

type subscription struct {
	channel string
	queue   [][]byte
}

func (e *Ext) config() Config {
	if e.Config == nil {
		return Config{}
	}
	return e.Config()
}

// Publish queues msg on every subscription of channel; it returns how many
// queued it. A subscription whose queue is full is dropped instead. With
// record, the message is kept for Published.
func (e *Ext) Publish(channel string, msg []byte, record bool) int {
	size := e.config().QueueSize
	if size <= 0 {
		size = DefaultQueueSize
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	msg = slices.Clone(msg)
	if msg == nil {
		msg = []byte{}
	}
	if record {
		e.published = append(e.published, Message{channel, msg})
	}
	n := 0
	for id, s := range e.subs {
		switch {
		case s.channel != channel:
		case len(s.queue) >= size:
			delete(e.subs, id)
		default:
			s.queue = append(s.queue, msg)
			n++
		}
	}
	return n
}

// Subscribe creates a subscription to channel and returns its id.
func (e *Ext) Subscribe(channel string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.subs == nil {
		e.subs = map[string]*subscription{}
	}
	e.nextSub++
	id := "fake-sub-" + strconv.Itoa(e.nextSub)
	e.subs[id] = &subscription{channel: channel}
	return id
}

// Queued returns the messages waiting in subscription id and whether it
// exists.
func (e *Ext) Queued(id string) ([][]byte, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.subs[id]
	if !ok {
		return nil, false
	}
	return slices.Clone(s.queue), true
}

// Unsubscribe ends subscription id and reports whether it existed.
func (e *Ext) Unsubscribe(id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.subs[id]
	delete(e.subs, id)
	return ok
}

// Published returns the messages the guests published, in order.
func (e *Ext) Published() []Message {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.published)
}

// PresetSignal makes the next wait on name return payload at once.
func (e *Ext) PresetSignal(name string, payload []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.presets == nil {
		e.presets = map[string][][]byte{}
	}
	e.presets[name] = append(e.presets[name], slices.Clone(payload))
}

// Sent returns the signals the guests sent, in order.
func (e *Ext) Sent() []Message {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.sent)
}

// Get returns the entry of key.
func (e *Ext) Get(key string) (Entry, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	v, ok := e.kv[key]
	return v, ok
}

// Set stores value under key with a TTL in milliseconds (≤ 0: none).
func (e *Ext) Set(key string, value []byte, ttlMS int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.kv == nil {
		e.kv = map[string]Entry{}
	}
	value = slices.Clone(value)
	if value == nil {
		value = []byte{}
	}
	e.kv[key] = Entry{value, max(ttlMS, 0)}
}

func (e *Ext) has(key string) bool {
	_, ok := e.Get(key)
	return ok
}

func (e *Ext) subscriptions() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.subs)
}

// Delete removes key.
func (e *Ext) Delete(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.kv, key)
}

// Keys returns the stored keys in ascending order.
func (e *Ext) Keys() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	keys := make([]string, 0, len(e.kv))
	for k := range e.kv {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// The guest's side: the raw extension imports, checked as the real host
// checks them. A Host with a nil Ext denies every call.

var (
	_ host.PubSub  = (*Host)(nil)
	_ host.Signals = (*Host)(nil)
	_ host.KV      = (*Host)(nil)
	_ host.Dial    = (*Host)(nil)
)

// ext returns the extensions' state and configuration; without an Ext, an
// empty one that grants nothing.
func (h *Host) ext() (*Ext, Config) {
	if h.Ext == nil {
		return new(Ext), Config{}
	}
	return h.Ext, h.Ext.config()
}

// channelCheck returns 0 when the guest may use the channel or signal name
// under patterns, else the ABI code: ERR_DENIED without a grant or outside
// it, ERR_INVALID for a bad name.
func channelCheck(patterns []string, name string) int32 {
	switch {
	case patterns == nil:
		return spec.ErrDenied
	case !spec.ValidName(name):
		return spec.ErrInvalid
	case !spec.Granted(patterns, name):
		return spec.ErrDenied
	}
	return 0
}

// Publish implements bubblewasm_pubsub_v1.publish.
func (h *Host) Publish(channel string, msg []byte) int32 {
	e, c := h.ext()
	if code := channelCheck(c.PubSub, channel); code != 0 {
		return code
	}
	limit := c.MaxMessageBytes
	if limit <= 0 {
		limit = DefaultMaxMessageBytes
	}
	if len(msg) > limit {
		return spec.ErrTooLarge
	}
	return int32(e.Publish(channel, msg, true))
}

// Subscribe implements bubblewasm_pubsub_v1.subscribe.
func (h *Host) Subscribe(channel string, id []byte) int32 {
	e, c := h.ext()
	switch {
	case c.PubSub == nil:
		return spec.ErrDenied
	case len(id) < spec.MaxSubscriptionID:
		return spec.ErrInvalid
	}
	if code := channelCheck(c.PubSub, channel); code != 0 {
		return code
	}
	if c.MaxSubscriptions > 0 && e.subscriptions() >= c.MaxSubscriptions {
		return spec.ErrFull
	}
	return int32(copy(id, e.Subscribe(channel)))
}

// Fetch implements bubblewasm_pubsub_v1.fetch. An empty queue times out at
// once, whatever timeoutMS says.
func (h *Host) Fetch(id string, timeoutMS int32, buf []byte) int32 {
	e, c := h.ext()
	if c.PubSub == nil {
		return spec.ErrDenied
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.subs[id]
	switch {
	case !ok:
		return spec.ErrNotFound
	case len(s.queue) == 0:
		return spec.ErrTimeout
	}
	msg := s.queue[0]
	if len(msg) <= len(buf) {
		copy(buf, msg)
		s.queue = s.queue[1:]
	}
	return int32(len(msg))
}

// Unsubscribe implements bubblewasm_pubsub_v1.unsubscribe.
func (h *Host) Unsubscribe(id string) int32 {
	e, c := h.ext()
	switch {
	case c.PubSub == nil:
		return spec.ErrDenied
	case !e.Unsubscribe(id):
		return spec.ErrNotFound
	}
	return 0
}

// SignalWait implements bubblewasm_signal_v1.wait: a preset signal, else
// OnWait, else ERR_TIMEOUT at once. The payload is cut to buf, its full
// length returned.
func (h *Host) SignalWait(name string, timeoutMS int32, buf []byte) int32 {
	e, c := h.ext()
	if code := channelCheck(c.Signals, name); code != 0 {
		return code
	}
	e.mu.Lock()
	q := e.presets[name]
	if len(q) > 0 {
		e.presets[name] = q[1:]
		e.mu.Unlock()
		copy(buf, q[0])
		return int32(len(q[0]))
	}
	e.mu.Unlock()
	if c.OnWait != nil {
		if p, ok := c.OnWait(name, int(timeoutMS)); ok {
			copy(buf, p)
			return int32(len(p))
		}
	}
	return spec.ErrTimeout
}

// SignalSend implements bubblewasm_signal_v1.send. No exchange waits while
// another runs here, so it wakes nobody and returns 0; Sent records it.
func (h *Host) SignalSend(name string, payload []byte) int32 {
	e, c := h.ext()
	if code := channelCheck(c.Signals, name); code != 0 {
		return code
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sent = append(e.sent, Message{name, slices.Clone(payload)})
	return 0
}

// KVGet implements bubblewasm_kv_v1.get.
func (h *Host) KVGet(key string, buf []byte) int32 {
	e, c := h.ext()
	if c.KV == "" {
		return spec.ErrDenied
	}
	v, ok := e.Get(key)
	if !ok {
		return spec.ErrNotFound
	}
	return fill(buf, v.Value)
}

// KVSet implements bubblewasm_kv_v1.set; the TTL is recorded, not applied.
func (h *Host) KVSet(key string, value []byte, ttlMS int32) int32 {
	e, c := h.ext()
	switch {
	case c.KV == "":
		return spec.ErrDenied
	case key == "":
		return spec.ErrInvalid
	case len(key) > spec.MaxKeyBytes:
		return spec.ErrTooLarge
	case c.KVMaxKeys > 0 && !e.has(key) && len(e.Keys()) >= c.KVMaxKeys:
		return spec.ErrFull
	}
	e.Set(key, value, int(ttlMS))
	return 0
}

// KVDelete implements bubblewasm_kv_v1.delete.
func (h *Host) KVDelete(key string) int32 {
	e, c := h.ext()
	if c.KV == "" {
		return spec.ErrDenied
	}
	e.Delete(key)
	return 0
}

// DialCall implements bubblewasm_dial_v1.call: the target's function
// answers at once.
func (h *Host) DialCall(target string, req []byte, timeoutMS int32, buf []byte) int32 {
	_, c := h.ext()
	h.dialed = false
	f, ok := c.Dial[target]
	if !ok || f == nil {
		return spec.ErrDenied
	}
	reply, status, err := f(slices.Clone(req), int(timeoutMS))
	if err != nil {
		return code(err)
	}
	h.dialed, h.reply, h.status = true, slices.Clone(reply), status
	return fill(buf, reply)
}

// DialReply implements bubblewasm_dial_v1.reply.
func (h *Host) DialReply(buf []byte) int32 {
	if _, c := h.ext(); c.Dial == nil {
		return spec.ErrDenied
	}
	if !h.dialed {
		return spec.ErrNotFound
	}
	return fill(buf, h.reply)
}

// DialStatus implements bubblewasm_dial_v1.status.
func (h *Host) DialStatus() int32 {
	if _, c := h.ext(); c.Dial == nil {
		return spec.ErrDenied
	}
	if !h.dialed {
		return spec.ErrNotFound
	}
	return int32(h.status)
}
