;; The smallest ABI v1 handler: writes a greeting, sets a header.
(module
  (import "bubblewasm_v1" "write" (func $write (param i32 i32) (result i32)))
  (import "bubblewasm_v1" "set_header" (func $set_header (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "Hello, world!\n")
  (data (i32.const 32) "Content-Type")
  (data (i32.const 48) "text/plain")
  (func (export "bubble_handle") (result i32)
    (drop (call $set_header (i32.const 32) (i32.const 12) (i32.const 48) (i32.const 10)))
    (drop (call $write (i32.const 0) (i32.const 14)))
    (i32.const 0)))
