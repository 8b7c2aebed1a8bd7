;; Bad module: bubble_init traps (unreachable), so loading must fail.
(module
  (memory (export "memory") 1)
  (func (export "bubble_init") (result i32) unreachable)
  (func (export "bubble_handle") (result i32) (i32.const 0)))
