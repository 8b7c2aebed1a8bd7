// Package bubble is the Go guest SDK for bubblewasm: it turns a Go function
// into a WebAssembly request handler that speaks the bubblewasm_v1 host ABI.
//
// # Registering a handler: use init, keep main empty
//
// A handler module is a WASI reactor built with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o handler.wasm .
//
// The host runs the module's initializers and then calls bubble_handle once
// per exchange; main.main is never run. Register the handler from an init
// function and keep an empty main:
//
//	package main
//
//	import bubble "github.com/bubblewasm/bubblewasm/guest-sdk/go"
//
//	func init() {
//		bubble.Handle(func(req *bubble.Request) *bubble.Response {
//			return &bubble.Response{Body: []byte("Hello, world!\n")}
//		})
//	}
//
//	func main() {}
//
// A module registers exactly one handler, with [Handle] (the whole response
// returned at once) or [HandleStream] (input and output streamed through an
// [Exchange]). The SDK exports bubble_init, which rejects an instance whose
// module registered no handler.
//
// # Extensions: pub/sub, signals, key-value, sessions
//
// Beyond the core ABI the host offers three extensions, each an import
// module of its own that the route must grant in its configuration
// (pubsub = ["chat.*"], signals = ["room.*"], kv = "app"):
//
//   - pub/sub: [Publish], [Subscribe], [Fetch], [Unsubscribe] — queued
//     messages; a subscription lives on the host between exchanges;
//   - signals: [WaitSignal], [SendSignal] — park an exchange until another
//     one sends (long polling);
//   - key-value: [KVGet], [KVSet], [KVDelete], and on top of it cookie
//     sessions: [LoadSession], [RequestSession];
//   - outbound HTTP: [FetchHTTP] sends a request to a URL the route's
//     outbound list covers (outbound = ["https://api.example.com"]) and
//     streams the response body;
//   - parking (every route): [ParkMessage], [ParkSignal], [ParkTimeout]
//     hand a wait to the host, which frees the instance and runs the
//     handler again when the wait ends ([Resumed], [State], [Stash],
//     [WakePayload]).
//
// A call outside the grant fails with [ErrDenied]. A module imports an
// extension only if it calls one of its functions, and the server refuses
// a module that imports an extension its route does not grant, so a
// handler that does not use one needs no grant. Timeouts and TTLs are
// milliseconds as an int rather than a time.Duration: importing package
// time adds about 250 KiB to a Go module.
//
// # Testing
//
// Outside wasip1 the host imports are replaced by an in-memory fake:
// package bubbletest runs the registered handler with plain go test, and
// its Host grants and simulates the extensions.
//
// Functions of this package work only during an exchange, on the goroutine
// that runs the handler.
package bubble
