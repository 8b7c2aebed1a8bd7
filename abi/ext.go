package abi

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bubblewasm/bubblewasm/abi/spec"
)

// Extension import modules. A module that imports one gets it only on a
// route whose configuration grants it (capabilities, not ambient authority).
const (
	// PubSubModule holds publish, subscribe, fetch and unsubscribe.
	PubSubModule = "bubblewasm_pubsub_v1"
	// SignalModule holds wait and send.
	SignalModule = "bubblewasm_signal_v1"
	// KVModule holds get, set and delete on the route's key-value namespace.
	KVModule = "bubblewasm_kv_v1"
	// DialModule holds call, reply and status: request/reply calls to the
	// route's dial targets (workers on a socket or an AMQP queue).
	DialModule = "bubblewasm_dial_v1"
	// HTTPModule holds request, status, headers, read and close: HTTP
	// requests to the origins the route's outbound key allows
	// (outbound.go).
	HTTPModule = "bubblewasm_http_v1"
)

// Size limits of the extensions' arguments (package spec). The host checks
// them before it copies anything out of guest memory.
const (
	// MaxSubscriptionID is the longest subscription id subscribe writes;
	// a longer id passed to fetch or unsubscribe is ERR_NOT_FOUND.
	MaxSubscriptionID = spec.MaxSubscriptionID
	// MaxNameBytes is the longest channel or signal name (ERR_INVALID
	// beyond).
	MaxNameBytes = spec.MaxNameBytes
	// MaxKeyBytes is the longest key-value key: set answers ERR_TOO_LARGE
	// beyond it, get ERR_NOT_FOUND and delete 0.
	MaxKeyBytes = spec.MaxKeyBytes
	// MaxTargetBytes is the longest dial target name (ERR_DENIED beyond:
	// no route names one).
	MaxTargetBytes = spec.MaxTargetBytes
)

// Errors the services behind the extensions return; ErrorCode maps them.
var (
	// ErrNotGranted: the route may not use this channel, signal or store.
	ErrNotGranted = errors.New("not granted to this route")
	// ErrGone: the subscription does not exist (dropped, or never was), or
	// another route made it.
	ErrGone = errors.New("subscription gone")
	// ErrInvalidName: a channel, signal or key name the service refuses.
	ErrInvalidName = errors.New("invalid name")
	// ErrCapacity: a store or service is at capacity (ErrFull).
	ErrCapacity = errors.New("capacity reached")
)

// The byte slices the extensions' methods below receive (messages,
// payloads, values, requests) alias guest memory and are valid only during
// the call: an implementation checks their size against its limits first
// and copies what it keeps, so that a guest cannot make the host copy more
// than a limit allows.

// PubSub is a route's view of the broker, bound to one exchange.
type PubSub interface {
	// Publish sends msg to every subscription of channel.
	Publish(channel string, msg []byte) (delivered int, err error)
	// Subscribe creates a subscription that outlives the exchange.
	Subscribe(channel string) (id string, err error)
	// Next returns the next message of subscription id, waiting up to
	// timeout (bounded by the exchange's deadline). A message longer than
	// limit is not consumed: Next returns only its size.
	Next(id string, timeout time.Duration, limit int) (msg []byte, size int, err error)
	// Unsubscribe ends a subscription.
	Unsubscribe(id string) error
}

// Signals is a route's view of named signals, bound to one exchange.
type Signals interface {
	// Wait parks until Send on name, the timeout, or the exchange's end.
	Wait(name string, timeout time.Duration) (payload []byte, err error)
	// Send wakes every waiter of name with payload.
	Send(name string, payload []byte) (woken int, err error)
}

// KV is a route's key-value namespace, bound to one exchange.
type KV interface {
	Get(key string) (value []byte, ok bool, err error)
	// Set stores value; ttl 0 keeps it until deleted or evicted.
	Set(key string, value []byte, ttl time.Duration) error
	Delete(key string) error
}

// Dial is a route's view of its dial targets (route key dial), bound to one
// exchange. It keeps the exchange's last reply, which reply and status read.
type Dial interface {
	// Call sends req to the target named target and waits for one reply,
	// up to timeout (0: until the exchange's deadline). status is the
	// reply's status when the target's transport carries one (an AMQP
	// worker's x-bubble-status), else 0. A target the route does not name
	// is ErrNotGranted.
	Call(target string, req []byte, timeout time.Duration) (reply []byte, status int, err error)
	// Last returns the last reply Call got in this exchange, if any.
	Last() (reply []byte, status int, ok bool)
}

// Extended is implemented by an Exchange whose route grants extensions.
// A nil result means the route has no grant for that extension.
type Extended interface {
	PubSub() PubSub
	Signals() Signals
	KV() KV
	Dial() Dial
	Outbound() Outbound
}

// HostModule is one import module the host provides.
type HostModule struct {
	Name  string
	Funcs []Func
}

// Modules returns every host module of this ABI version: the core module
// first, then the extensions.
func Modules() []HostModule {
	return []HostModule{
		{ModuleName, Funcs()},
		{PubSubModule, []Func{
			{"publish", []string{"channel_ptr", "channel_len", "msg_ptr", "msg_len"}, 1, publish},
			{"subscribe", []string{"channel_ptr", "channel_len", "id_ptr", "id_cap"}, 1, subscribe},
			{"fetch", []string{"id_ptr", "id_len", "timeout_ms", "buf_ptr", "buf_len"}, 1, fetch},
			{"unsubscribe", []string{"id_ptr", "id_len"}, 1, unsubscribe},
		}},
		{SignalModule, []Func{
			{"wait", []string{"name_ptr", "name_len", "timeout_ms", "buf_ptr", "buf_len"}, 1, wait},
			{"send", []string{"name_ptr", "name_len", "payload_ptr", "payload_len"}, 1, send},
		}},
		{KVModule, []Func{
			{"get", []string{"key_ptr", "key_len", "buf_ptr", "buf_len"}, 1, kvGet},
			{"set", []string{"key_ptr", "key_len", "value_ptr", "value_len", "ttl_ms"}, 1, kvSet},
			{"delete", []string{"key_ptr", "key_len"}, 1, kvDelete},
		}},
		{DialModule, []Func{
			{"call", []string{"target_ptr", "target_len", "req_ptr", "req_len", "timeout_ms", "buf_ptr", "buf_len"}, 1, dialCall},
			{"reply", []string{"buf_ptr", "buf_len"}, 1, dialReply},
			{"status", nil, 1, dialStatus},
		}},
		{HTTPModule, httpFuncs()},
		{ParkModule, parkFuncs()},
	}
}

// extErrorCode maps a service error to a negative result.
func extErrorCode(err error) int32 {
	switch {
	case errors.Is(err, ErrNotGranted):
		return ErrDenied
	case errors.Is(err, ErrGone):
		return ErrNotFound
	case errors.Is(err, ErrInvalidName), errors.Is(err, ErrInvalidRequest):
		return ErrInvalid
	case errors.Is(err, ErrCapacity):
		return ErrFull
	case errors.Is(err, context.DeadlineExceeded):
		return ErrTimeout
	}
	return ErrorCode(err)
}

func extended(x Exchange) Extended {
	e, _ := x.(Extended)
	return e
}

// millis converts a guest's timeout; negative means "no wait".
func millis(v uint64) time.Duration {
	ms := int32(uint32(v))
	if ms < 0 {
		return 0
	}
	return time.Duration(ms) * time.Millisecond
}

// spans reads the (ptr, len) pairs that start at the given stack slots.
func spans(fn string, mem Memory, stack []uint64, slots ...int) ([][]byte, error) {
	out := make([][]byte, len(slots))
	for i, s := range slots {
		b, err := span(fn, mem, u32(stack[s]), u32(stack[s+1]))
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

// finish sets a call's result: n, or the error's code. n is clamped to
// [0, 2^30] so that no service (or worker status) can pass the guest a
// negative value the ABI does not define.
func finish(stack []uint64, n int, err error) error {
	if err != nil {
		result(stack, extErrorCode(err))
	} else {
		result(stack, int32(min(max(n, 0), 1<<30)))
	}
	return nil
}

// service returns the extension's binding for x, or nil when the route
// grants none.
func service[T any](x Exchange, get func(Extended) T) (T, bool) {
	var zero T
	e := extended(x)
	if e == nil {
		return zero, false
	}
	v := get(e)
	return v, any(v) != nil
}

func pubsubOf(e Extended) PubSub     { return e.PubSub() }
func signalsOf(e Extended) Signals   { return e.Signals() }
func kvOf(e Extended) KV             { return e.KV() }
func dialOf(e Extended) Dial         { return e.Dial() }
func outboundOf(e Extended) Outbound { return e.Outbound() }

// tooLong reports whether a name, id or key passed by the guest exceeds
// max bytes, so that it is refused before it is copied into a string.
func tooLong(b []byte, max int) bool { return len(b) > max }

func publish(x Exchange, mem Memory, stack []uint64) error {
	b, err := spans(PubSubModule+".publish", mem, stack, 0, 2)
	if err != nil {
		return err
	}
	ps, ok := service(x, pubsubOf)
	switch {
	case !ok:
		return finish(stack, 0, ErrNotGranted)
	case tooLong(b[0], MaxNameBytes):
		return finish(stack, 0, ErrInvalidName)
	}
	n, err := ps.Publish(string(b[0]), b[1])
	return finish(stack, n, err)
}

func subscribe(x Exchange, mem Memory, stack []uint64) error {
	b, err := spans(PubSubModule+".subscribe", mem, stack, 0, 2)
	if err != nil {
		return err
	}
	ps, ok := service(x, pubsubOf)
	switch {
	case !ok:
		return finish(stack, 0, ErrNotGranted)
	case len(b[1]) < MaxSubscriptionID:
		result(stack, ErrInvalid) // checked first: subscribing is not idempotent
		return nil
	case tooLong(b[0], MaxNameBytes):
		return finish(stack, 0, ErrInvalidName)
	}
	id, err := ps.Subscribe(string(b[0]))
	if err == nil && len(id) > MaxSubscriptionID {
		err = fmt.Errorf("subscription id of %d bytes exceeds %d", len(id), MaxSubscriptionID) // a host bug: ERR_IO
	}
	return finish(stack, copy(b[1], id), err)
}

func fetch(x Exchange, mem Memory, stack []uint64) error {
	b, err := spans(PubSubModule+".fetch", mem, stack, 0, 3)
	if err != nil {
		return err
	}
	ps, ok := service(x, pubsubOf)
	switch {
	case !ok:
		return finish(stack, 0, ErrNotGranted)
	case tooLong(b[0], MaxSubscriptionID):
		return finish(stack, 0, ErrGone)
	}
	msg, size, err := ps.Next(string(b[0]), millis(stack[2]), len(b[1]))
	if err == nil && size <= len(b[1]) {
		copy(b[1], msg)
	}
	return finish(stack, size, err)
}

func unsubscribe(x Exchange, mem Memory, stack []uint64) error {
	b, err := spans(PubSubModule+".unsubscribe", mem, stack, 0)
	if err != nil {
		return err
	}
	ps, ok := service(x, pubsubOf)
	switch {
	case !ok:
		return finish(stack, 0, ErrNotGranted)
	case tooLong(b[0], MaxSubscriptionID):
		return finish(stack, 0, ErrGone)
	}
	return finish(stack, 0, ps.Unsubscribe(string(b[0])))
}

func wait(x Exchange, mem Memory, stack []uint64) error {
	b, err := spans(SignalModule+".wait", mem, stack, 0, 3)
	if err != nil {
		return err
	}
	s, ok := service(x, signalsOf)
	switch {
	case !ok:
		return finish(stack, 0, ErrNotGranted)
	case tooLong(b[0], MaxNameBytes):
		return finish(stack, 0, ErrInvalidName)
	}
	payload, err := s.Wait(string(b[0]), millis(stack[2]))
	copy(b[1], payload) // a one-shot event: a longer payload is truncated, its size returned
	return finish(stack, len(payload), err)
}

func send(x Exchange, mem Memory, stack []uint64) error {
	b, err := spans(SignalModule+".send", mem, stack, 0, 2)
	if err != nil {
		return err
	}
	s, ok := service(x, signalsOf)
	switch {
	case !ok:
		return finish(stack, 0, ErrNotGranted)
	case tooLong(b[0], MaxNameBytes):
		return finish(stack, 0, ErrInvalidName)
	}
	n, err := s.Send(string(b[0]), b[1])
	return finish(stack, n, err)
}

func kvGet(x Exchange, mem Memory, stack []uint64) error {
	b, err := spans(KVModule+".get", mem, stack, 0, 2)
	if err != nil {
		return err
	}
	kv, ok := service(x, kvOf)
	switch {
	case !ok:
		return finish(stack, 0, ErrNotGranted)
	case tooLong(b[0], MaxKeyBytes): // can never have been stored
		result(stack, ErrNotFound)
		return nil
	}
	v, found, err := kv.Get(string(b[0]))
	if err == nil && !found {
		result(stack, ErrNotFound)
		return nil
	}
	if err == nil && len(v) <= len(b[1]) {
		copy(b[1], v) // size negotiation: written only when it fits
	}
	return finish(stack, len(v), err)
}

func kvSet(x Exchange, mem Memory, stack []uint64) error {
	b, err := spans(KVModule+".set", mem, stack, 0, 2)
	if err != nil {
		return err
	}
	kv, ok := service(x, kvOf)
	switch {
	case !ok:
		return finish(stack, 0, ErrNotGranted)
	case tooLong(b[0], MaxKeyBytes):
		return finish(stack, 0, ErrInputTooLarge)
	}
	return finish(stack, 0, kv.Set(string(b[0]), b[1], millis(stack[4])))
}

func kvDelete(x Exchange, mem Memory, stack []uint64) error {
	b, err := spans(KVModule+".delete", mem, stack, 0)
	if err != nil {
		return err
	}
	kv, ok := service(x, kvOf)
	switch {
	case !ok:
		return finish(stack, 0, ErrNotGranted)
	case tooLong(b[0], MaxKeyBytes): // can never have been stored
		return finish(stack, 0, nil)
	}
	return finish(stack, 0, kv.Delete(string(b[0])))
}

// dialCall sends a request and waits for the reply. Size negotiation: a
// reply longer than buf_len is not written, its length is returned and
// reply copies it without calling again.
func dialCall(x Exchange, mem Memory, stack []uint64) error {
	b, err := spans(DialModule+".call", mem, stack, 0, 2, 5)
	if err != nil {
		return err
	}
	d, ok := service(x, dialOf)
	if !ok || tooLong(b[0], MaxTargetBytes) {
		return finish(stack, 0, ErrNotGranted)
	}
	timeout := time.Duration(0) // zero or negative: the exchange's deadline alone
	if ms := int32(uint32(stack[4])); ms > 0 {
		timeout = time.Duration(ms) * time.Millisecond
	}
	reply, _, err := d.Call(string(b[0]), b[1], timeout)
	if err == nil && len(reply) <= len(b[2]) {
		copy(b[2], reply)
	}
	return finish(stack, len(reply), err)
}

// dialReply copies the exchange's last reply (size negotiation).
func dialReply(x Exchange, mem Memory, stack []uint64) error {
	b, err := spans(DialModule+".reply", mem, stack, 0)
	if err != nil {
		return err
	}
	d, ok := service(x, dialOf)
	if !ok {
		return finish(stack, 0, ErrNotGranted)
	}
	reply, _, ok := d.Last()
	if !ok {
		result(stack, ErrNotFound)
		return nil
	}
	fill(stack, b[0], reply)
	return nil
}

// dialStatus returns the last reply's status (0: its transport carries
// none).
func dialStatus(x Exchange, _ Memory, stack []uint64) error {
	d, ok := service(x, dialOf)
	if !ok {
		return finish(stack, 0, ErrNotGranted)
	}
	_, status, ok := d.Last()
	if !ok {
		result(stack, ErrNotFound)
		return nil
	}
	return finish(stack, status, nil)
}
