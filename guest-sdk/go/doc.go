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
// # Testing
//
// Outside wasip1 the host imports are replaced by an in-memory fake:
// package bubbletest runs the registered handler with plain go test.
//
// Functions of this package work only during an exchange, on the goroutine
// that runs the handler.
package bubble
