// Package host is the guest SDK's view of the bubblewasm_v1 host imports.
//
// Every raw call goes through [Current], a [Host]. In a wasip1 build it is
// the real set of imports; elsewhere it panics until a test installs a fake
// through [Serve]. The package also holds the registered handler, so that
// package bubble (which registers it) and package bubbletest (which runs it)
// share one registry without importing each other's internals.
//
// It must stay small and import almost nothing: it is linked into every
// guest module. The ABI's result codes, limits and rules come from the leaf
// package abi/spec, shared with the host.
package host

import (
	"sync"

	"github.com/bubblewasm/bubblewasm/abi/spec"
)

// Host is the raw import surface of ABI version 1. Buffers and strings stand
// for (ptr, len) pairs; results are the ABI's i32 results, unchanged.
type Host interface {
	EnvGet(key string, buf []byte) int32
	EnvKeys(buf []byte) int32
	EnvAll(buf []byte) int32
	Read(buf []byte) int32
	Write(buf []byte) int32
	Flush() int32
	SetStatus(code int32) int32
	SetHeader(name, value string) int32
	AddHeader(name, value string) int32
	Log(level int32, msg string)
}

// PubSub is the raw surface of the bubblewasm_pubsub_v1 extension. id is
// the buffer subscribe fills (at least 64 bytes); timeouts are milliseconds,
// negative for "do not wait".
//
// The extensions are separate interfaces, not part of [Host], and the real
// imports sit behind functions (PubSubHost, SignalHost, KVHost) rather than
// in methods of the value stored in Current: a Go or TinyGo module then
// imports an extension module only when its code calls the extension, which
// the server requires (a module importing an extension its route does not
// grant is refused). Methods of a type stored in an interface could be kept
// by the linker, for instance when the program uses reflect's Method.
type PubSub interface {
	Publish(channel string, msg []byte) int32
	Subscribe(channel string, id []byte) int32
	Fetch(id string, timeoutMS int32, buf []byte) int32
	Unsubscribe(id string) int32
}

// Signals is the raw surface of the bubblewasm_signal_v1 extension.
type Signals interface {
	SignalWait(name string, timeoutMS int32, buf []byte) int32
	SignalSend(name string, payload []byte) int32
}

// KV is the raw surface of the bubblewasm_kv_v1 extension.
type KV interface {
	KVGet(key string, buf []byte) int32
	KVSet(key string, value []byte, ttlMS int32) int32
	KVDelete(key string) int32
}

// Dial is the raw surface of the bubblewasm_dial_v1 extension: call sends
// a request to a named target and returns the reply's length (size
// negotiation: a longer reply than buf is kept for DialReply), DialReply
// copies the exchange's last reply, DialStatus returns its status.
type Dial interface {
	DialCall(target string, req []byte, timeoutMS int32, buf []byte) int32
	DialReply(buf []byte) int32
	DialStatus() int32
}

// Park is the raw surface of the bubblewasm_park_v1 module: register a
// wait (message, signal, sleep), drop it (cancel), stash state for the
// next run and read it back (state), and read the waking signal's payload.
type Park interface {
	ParkMessage(id string, timeoutMS int32) int32
	ParkSignal(name string, timeoutMS int32) int32
	ParkSleep(timeoutMS int32) int32
	ParkCancel() int32
	ParkStash(state []byte) int32
	ParkState(buf []byte) int32
	ParkPayload(buf []byte) int32
}

// HTTP is the raw surface of the bubblewasm_http_v1 extension: request
// sends a request (headers as "Name: value\n" lines) and returns a
// response handle; status, headers (size negotiation), read and close
// work on a handle.
type HTTP interface {
	HTTPRequest(method, url string, headers, body []byte, timeoutMS int32) int32
	HTTPStatus(handle int32) int32
	HTTPHeaders(handle int32, buf []byte) int32
	HTTPRead(handle int32, buf []byte) int32
	HTTPClose(handle int32) int32
}

// HTTPHost returns the outbound HTTP surface, as PubSubHost does.
func HTTPHost() HTTP {
	if h, ok := Current.(HTTP); ok {
		return h
	}
	return httpImports()
}

// ParkHost returns the park surface, as PubSubHost does.
func ParkHost() Park {
	if p, ok := Current.(Park); ok {
		return p
	}
	return parkImports()
}

// DialHost returns the dial surface, as PubSubHost does.
func DialHost() Dial {
	if d, ok := Current.(Dial); ok {
		return d
	}
	return dialImports()
}

// PubSubHost returns the pub/sub surface: Current's when it has one (a fake
// host), else the real imports (outside wasip1: a stand-in that panics).
func PubSubHost() PubSub {
	if p, ok := Current.(PubSub); ok {
		return p
	}
	return pubsubImports()
}

// SignalHost returns the signal surface, as PubSubHost does.
func SignalHost() Signals {
	if s, ok := Current.(Signals); ok {
		return s
	}
	return signalImports()
}

// KVHost returns the key-value surface, as PubSubHost does.
func KVHost() KV {
	if k, ok := Current.(KV); ok {
		return k
	}
	return kvImports()
}

// Current is the host the SDK calls. Only [Serve] replaces it.
var Current Host = defaultHost()

var handler func() int32

// Register installs the exchange handler. It panics if one is registered
// already: a module has exactly one handler.
func Register(fn func() int32) {
	if handler != nil {
		panic("bubble: a handler is already registered (Handle or HandleStream called twice)")
	}
	handler = fn
}

// Registered reports whether a handler has been registered.
func Registered() bool { return handler != nil }

// Unregister removes the handler; the SDK's own tests use it.
func Unregister() { handler = nil }

// Handle runs the registered handler for one exchange and returns the value
// for bubble_handle.
func Handle() int32 {
	if handler == nil {
		Current.Log(spec.LogError, NoHandler)
		return 1
	}
	return handler()
}

// NoHandler is the message logged when an exchange arrives and no handler
// was registered.
const NoHandler = "bubble: no handler registered; call bubble.Handle or bubble.HandleStream from an init function"

var mu sync.Mutex

// Serve runs the registered handler with h as the host and returns its
// result. Calls are serialized, since the SDK keeps its host in a global.
func Serve(h Host) int32 {
	mu.Lock()
	defer mu.Unlock()
	saved := Current
	Current = h
	defer func() { Current = saved }()
	return Handle()
}

// CodeOf maps an error to an ABI result code, or returns false. Package
// bubble sets it so that fakes can turn its Errno values back into codes.
var CodeOf = func(error) (int32, bool) { return 0, false }
