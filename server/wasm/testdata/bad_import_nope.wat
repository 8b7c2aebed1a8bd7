;; Bad module: imports bubblewasm_v1.nope, which ABI v1 does not have.
(module
  (import "bubblewasm_v1" "nope" (func $nope (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "bubble_handle") (result i32) (call $nope (i32.const 0))))
