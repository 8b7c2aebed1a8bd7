;; Bad module: an ABI v1 handler built as a command, as
;; `GOOS=wasip1 GOARCH=wasm go build` without -buildmode=c-shared makes one.
;; It exports _start (which sets up its runtime) and bubble_handle, and no
;; _initialize: a handler never runs _start.
(module
  (import "bubblewasm_v1" "write" (func $write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start"))
  (func (export "bubble_handle") (result i32) (i32.const 0)))
