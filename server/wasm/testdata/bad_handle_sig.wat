;; Bad module: bubble_handle has the wrong signature, (i32) -> () instead of
;; () -> (i32).
(module
  (memory (export "memory") 1)
  (func (export "bubble_handle") (param i32)))
