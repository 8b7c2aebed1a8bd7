;; JSON-RPC echo: a call's result is its params (at most 64 KiB; no
;; params: an empty output, which the transport answers as null).
(module
  (import "bubblewasm_v1" "read" (func $read (param i32 i32) (result i32)))
  (import "bubblewasm_v1" "write" (func $write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "bubble_handle") (result i32)
    (local $n i32) (local $total i32)
    (block $eof
      (loop $rd
        (br_if $eof (i32.ge_u (local.get $total) (i32.const 65536)))
        (local.set $n (call $read (local.get $total) (i32.sub (i32.const 65536) (local.get $total))))
        (br_if $eof (i32.le_s (local.get $n) (i32.const 0)))
        (local.set $total (i32.add (local.get $total) (local.get $n)))
        (br $rd)))
    (drop (call $write (i32.const 0) (local.get $total)))
    (i32.const 0)))
