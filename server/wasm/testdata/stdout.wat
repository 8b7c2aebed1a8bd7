;; stdout.wat: prints two lines to WASI stdout and one unterminated line to
;; stderr, then answers "ok". The host must turn each line into a log record
;; tagged with the route and the stream.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "bubblewasm_v1" "write" (func $write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "first line\nsecond line\n")
  (data (i32.const 200) "to stderr")
  (data (i32.const 300) "ok")
  (func $print (param $fd i32) (param $ptr i32) (param $len i32)
    ;; iovec at 0: {ptr, len}; nwritten at 8
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "bubble_handle") (result i32)
    (call $print (i32.const 1) (i32.const 100) (i32.const 23))
    (call $print (i32.const 2) (i32.const 200) (i32.const 9))
    (drop (call $write (i32.const 300) (i32.const 2)))
    (i32.const 0)))
