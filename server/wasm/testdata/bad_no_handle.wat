;; Bad module: exports memory and a function, but no bubble_handle.
(module
  (memory (export "memory") 1)
  (func (export "handle") (result i32) (i32.const 0)))
