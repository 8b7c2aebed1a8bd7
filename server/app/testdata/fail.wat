;; fail.wat: every exchange fails (bubble_handle returns 1: HTTP 500),
;; which closes its instance (metrics_test.go).
(module
  (memory (export "memory") 1)
  (func (export "bubble_handle") (result i32) (i32.const 1)))
