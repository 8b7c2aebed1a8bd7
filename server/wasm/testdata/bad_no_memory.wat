;; Bad module: exports bubble_handle but no memory named "memory".
(module
  (memory (export "mem") 1)
  (func (export "bubble_handle") (result i32) (i32.const 0)))
