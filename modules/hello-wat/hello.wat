;; hello.wat: the smallest bubblewasm_v1 handler, for benchmarks. It sets
;; Content-Type: text/plain and writes "Hello, world!\n"; it has no WASI
;; imports and no _initialize.
;;
;; Build: wat2wasm modules/hello-wat/hello.wat -o hello.wasm
(module
  (import "bubblewasm_v1" "set_header"
    (func $set_header (param i32 i32 i32 i32) (result i32)))
  (import "bubblewasm_v1" "write"
    (func $write (param i32 i32) (result i32)))

  (memory (export "memory") 1)

  (data (i32.const 0) "Content-Type")  ;; 0..12
  (data (i32.const 16) "text/plain")   ;; 16..26
  (data (i32.const 32) "Hello, world!\n") ;; 32..46

  ;; bubble_handle returns 0 on success and 1 when a host call failed.
  (func (export "bubble_handle") (result i32)
    (if (i32.lt_s (call $set_header (i32.const 0) (i32.const 12)
                                    (i32.const 16) (i32.const 10))
                  (i32.const 0))
      (then (return (i32.const 1))))
    (if (i32.lt_s (call $write (i32.const 32) (i32.const 14)) (i32.const 0))
      (then (return (i32.const 1))))
    (i32.const 0)))
