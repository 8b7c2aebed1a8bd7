;; Bad module: bubble_init returns 7 (non-zero), so every instance is
;; rejected and loading must fail.
(module
  (memory (export "memory") 1)
  (func (export "bubble_init") (result i32) (i32.const 7))
  (func (export "bubble_handle") (result i32) (i32.const 0)))
