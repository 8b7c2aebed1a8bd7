;; Bad module: imports bubblewasm_v1.write with the wrong signature,
;; (i32) -> (i32) instead of (i32, i32) -> (i32).
(module
  (import "bubblewasm_v1" "write" (func $write (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "bubble_handle") (result i32) (call $write (i32.const 0))))
