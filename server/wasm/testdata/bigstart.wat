;; Memory use: an instance that starts with 32 pages (2 MiB) of memory and
;; answers "big".
(module
  (import "bubblewasm_v1" "write" (func $write (param i32 i32) (result i32)))
  (memory (export "memory") 32)
  (data (i32.const 0) "big")
  (func (export "bubble_handle") (result i32)
    (drop (call $write (i32.const 0) (i32.const 3)))
    (i32.const 0)))
