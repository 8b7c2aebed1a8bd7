;; named.wat: writes "hello\n" through a named function, so that the
;; load-time stack guard rewrites it and its name section is re-encoded
;; (compile_test.go: the rewritten binary, and so the cache key, is the
;; same at every start).
(module $named
  (import "bubblewasm_v1" "write" (func $write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "hello\n")
  (func $say (param $n i32) (result i32)
    (call $write (i32.const 0) (local.get $n)))
  (func $handle (export "bubble_handle") (result i32)
    (drop (call $say (i32.const 6)))
    (i32.const 0)))
