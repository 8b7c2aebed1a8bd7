;; Writes a line to its WASI stdout, then closes stdout, and answers
;; "write=E1 close=E2" with the two errno values. A handler whose closed
;; stdout survived into the next exchange would answer "write=8" (EBADF)
;; there.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (import "bubblewasm_v1" "write" (func $write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "hello stdout\n")
  (data (i32.const 32) "write=   close=  ")
  (func $put2 (param $at i32) (param $v i32)
    (i32.store8 (local.get $at) (i32.add (i32.const 48) (i32.div_u (local.get $v) (i32.const 10))))
    (i32.store8 (i32.add (local.get $at) (i32.const 1)) (i32.add (i32.const 48) (i32.rem_u (local.get $v) (i32.const 10)))))
  (func (export "bubble_handle") (result i32)
    ;; iovec at 16: {ptr 0, len 13}; nwritten at 24
    (i32.store (i32.const 16) (i32.const 0))
    (i32.store (i32.const 20) (i32.const 13))
    (call $put2 (i32.const 38) (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))
    (call $put2 (i32.const 47) (call $fd_close (i32.const 1)))
    (drop (call $write (i32.const 32) (i32.const 17)))
    (i32.const 0)))
