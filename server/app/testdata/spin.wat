;; Logs "spinning" (info), then loops until the host interrupts it: a call
;; that runs until its exchange is cancelled or times out.
(module
  (import "bubblewasm_v1" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "spinning")
  (func (export "bubble_handle") (result i32)
    (call $log (i32.const 0) (i32.const 0) (i32.const 8))
    (loop $forever (br $forever))
    (i32.const 0)))
