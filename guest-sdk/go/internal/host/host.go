// Package host is the guest SDK's view of the bubblewasm_v1 host imports.
//
// Every raw call goes through [Current], a [Host]. In a wasip1 build it is
// the real set of imports; elsewhere it panics until a test installs a fake
// through [Serve]. The package also holds the registered handler, so that
// package bubble (which registers it) and package bubbletest (which runs it)
// share one registry without importing each other's internals.
//
// It must stay small and import almost nothing: it is linked into every
// guest module.
package host

import "sync"

// Result codes of ABI version 1 (see abi/ABI.md).
const (
	ErrNotFound  int32 = -1
	ErrInvalid   int32 = -2
	ErrCommitted int32 = -3
	ErrClosed    int32 = -4
	ErrIO        int32 = -5
	ErrTimeout   int32 = -6
	ErrTooLarge  int32 = -7
)

// Host is the raw import surface of ABI version 1. Buffers and strings stand
// for (ptr, len) pairs; results are the ABI's i32 results, unchanged.
type Host interface {
	EnvGet(key string, buf []byte) int32
	EnvKeys(buf []byte) int32
	Read(buf []byte) int32
	Write(buf []byte) int32
	Flush() int32
	SetStatus(code int32) int32
	SetHeader(name, value string) int32
	AddHeader(name, value string) int32
	Log(level int32, msg string)
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
		Current.Log(8, NoHandler)
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
