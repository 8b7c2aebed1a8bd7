package abi

import (
	"context"
	"errors"
	"time"
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
)

// ErrDenied is the result of an extension call on a channel, signal or
// store the route was not granted.
const ErrDenied int32 = -8

// MaxSubscriptionID is the longest subscription id subscribe writes.
const MaxSubscriptionID = 64

// Errors the services behind the extensions return; ErrorCode maps them.
var (
	// ErrNotGranted: the route may not use this channel, signal or store.
	ErrNotGranted = errors.New("not granted to this route")
	// ErrGone: the subscription does not exist (dropped, or never was).
	ErrGone = errors.New("subscription gone")
	// ErrInvalidName: a channel, signal or key name the service refuses.
	ErrInvalidName = errors.New("invalid name")
)

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

// Extended is implemented by an Exchange whose route grants extensions.
// A nil result means the route has no grant for that extension.
type Extended interface {
	PubSub() PubSub
	Signals() Signals
	KV() KV
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
	}
}

// extErrorCode maps a service error to a negative result.
func extErrorCode(err error) int32 {
	switch {
	case errors.Is(err, ErrNotGranted):
		return ErrDenied
	case errors.Is(err, ErrGone):
		return ErrNotFound
	case errors.Is(err, ErrInvalidName):
		return ErrInvalid
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

func publish(x Exchange, mem Memory, stack []uint64) error {
	ch, err := span(PubSubModule+".publish", mem, u32(stack[0]), u32(stack[1]))
	if err != nil {
		return err
	}
	msg, err := span(PubSubModule+".publish", mem, u32(stack[2]), u32(stack[3]))
	if err != nil {
		return err
	}
	ps := pubsubOf(x)
	if ps == nil {
		result(stack, ErrDenied)
		return nil
	}
	n, err := ps.Publish(string(ch), append([]byte(nil), msg...))
	if err != nil {
		result(stack, extErrorCode(err))
		return nil
	}
	result(stack, int32(min(n, 1<<30)))
	return nil
}

func pubsubOf(x Exchange) PubSub {
	if e := extended(x); e != nil {
		return e.PubSub()
	}
	return nil
}

func subscribe(x Exchange, mem Memory, stack []uint64) error {
	ch, err := span(PubSubModule+".subscribe", mem, u32(stack[0]), u32(stack[1]))
	if err != nil {
		return err
	}
	buf, err := span(PubSubModule+".subscribe", mem, u32(stack[2]), u32(stack[3]))
	if err != nil {
		return err
	}
	ps := pubsubOf(x)
	switch {
	case ps == nil:
		result(stack, ErrDenied)
		return nil
	case len(buf) < MaxSubscriptionID:
		result(stack, ErrInvalid) // checked first: subscribing is not idempotent
		return nil
	}
	id, err := ps.Subscribe(string(ch))
	if err != nil {
		result(stack, extErrorCode(err))
		return nil
	}
	result(stack, int32(copy(buf, id)))
	return nil
}

func fetch(x Exchange, mem Memory, stack []uint64) error {
	id, err := span(PubSubModule+".fetch", mem, u32(stack[0]), u32(stack[1]))
	if err != nil {
		return err
	}
	buf, err := span(PubSubModule+".fetch", mem, u32(stack[3]), u32(stack[4]))
	if err != nil {
		return err
	}
	ps := pubsubOf(x)
	if ps == nil {
		result(stack, ErrDenied)
		return nil
	}
	msg, size, err := ps.Next(string(id), millis(stack[2]), len(buf))
	if err != nil {
		result(stack, extErrorCode(err))
		return nil
	}
	copy(buf, msg)
	result(stack, int32(size))
	return nil
}

func unsubscribe(x Exchange, mem Memory, stack []uint64) error {
	id, err := span(PubSubModule+".unsubscribe", mem, u32(stack[0]), u32(stack[1]))
	if err != nil {
		return err
	}
	ps := pubsubOf(x)
	if ps == nil {
		result(stack, ErrDenied)
		return nil
	}
	if err := ps.Unsubscribe(string(id)); err != nil {
		result(stack, extErrorCode(err))
		return nil
	}
	result(stack, 0)
	return nil
}

func signalsOf(x Exchange) Signals {
	if e := extended(x); e != nil {
		return e.Signals()
	}
	return nil
}

func wait(x Exchange, mem Memory, stack []uint64) error {
	name, err := span(SignalModule+".wait", mem, u32(stack[0]), u32(stack[1]))
	if err != nil {
		return err
	}
	buf, err := span(SignalModule+".wait", mem, u32(stack[3]), u32(stack[4]))
	if err != nil {
		return err
	}
	s := signalsOf(x)
	if s == nil {
		result(stack, ErrDenied)
		return nil
	}
	payload, err := s.Wait(string(name), millis(stack[2]))
	if err != nil {
		result(stack, extErrorCode(err))
		return nil
	}
	copy(buf, payload) // a one-shot event: a longer payload is truncated, its size returned
	result(stack, int32(len(payload)))
	return nil
}

func send(x Exchange, mem Memory, stack []uint64) error {
	name, err := span(SignalModule+".send", mem, u32(stack[0]), u32(stack[1]))
	if err != nil {
		return err
	}
	payload, err := span(SignalModule+".send", mem, u32(stack[2]), u32(stack[3]))
	if err != nil {
		return err
	}
	s := signalsOf(x)
	if s == nil {
		result(stack, ErrDenied)
		return nil
	}
	n, err := s.Send(string(name), append([]byte(nil), payload...))
	if err != nil {
		result(stack, extErrorCode(err))
		return nil
	}
	result(stack, int32(min(n, 1<<30)))
	return nil
}

func kvOf(x Exchange) KV {
	if e := extended(x); e != nil {
		return e.KV()
	}
	return nil
}

func kvGet(x Exchange, mem Memory, stack []uint64) error {
	key, err := span(KVModule+".get", mem, u32(stack[0]), u32(stack[1]))
	if err != nil {
		return err
	}
	buf, err := span(KVModule+".get", mem, u32(stack[2]), u32(stack[3]))
	if err != nil {
		return err
	}
	kv := kvOf(x)
	if kv == nil {
		result(stack, ErrDenied)
		return nil
	}
	v, ok, err := kv.Get(string(key))
	switch {
	case err != nil:
		result(stack, extErrorCode(err))
	case !ok:
		result(stack, ErrNotFound)
	default:
		fill(stack, buf, v)
	}
	return nil
}

func kvSet(x Exchange, mem Memory, stack []uint64) error {
	key, err := span(KVModule+".set", mem, u32(stack[0]), u32(stack[1]))
	if err != nil {
		return err
	}
	value, err := span(KVModule+".set", mem, u32(stack[2]), u32(stack[3]))
	if err != nil {
		return err
	}
	kv := kvOf(x)
	if kv == nil {
		result(stack, ErrDenied)
		return nil
	}
	if err := kv.Set(string(key), append([]byte(nil), value...), millis(stack[4])); err != nil {
		result(stack, extErrorCode(err))
		return nil
	}
	result(stack, 0)
	return nil
}

func kvDelete(x Exchange, mem Memory, stack []uint64) error {
	key, err := span(KVModule+".delete", mem, u32(stack[0]), u32(stack[1]))
	if err != nil {
		return err
	}
	kv := kvOf(x)
	if kv == nil {
		result(stack, ErrDenied)
		return nil
	}
	if err := kv.Delete(string(key)); err != nil {
		result(stack, extErrorCode(err))
		return nil
	}
	result(stack, 0)
	return nil
}
