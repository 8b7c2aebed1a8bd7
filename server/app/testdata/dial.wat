;; Imports bubblewasm_dial_v1 (to test the grant check) and answers nothing.
(module
  (import "bubblewasm_dial_v1" "call" (func $call (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "bubble_handle") (result i32)
    (drop (call $call (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)))
    (i32.const 0)))
