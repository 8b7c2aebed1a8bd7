;; Keeps the last request body in memory: each exchange answers with what
;; the exchange before it left at byte 1024 (its length at 1020), or
;; "none", then reads its own body (up to 64 bytes) there.
(module
  (import "bubblewasm_v1" "read" (func $read (param i32 i32) (result i32)))
  (import "bubblewasm_v1" "write" (func $write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "none")
  (func (export "bubble_handle") (result i32)
    (local $n i32) (local $r i32)
    (if (i32.load (i32.const 1020))
      (then (drop (call $write (i32.const 1024) (i32.load (i32.const 1020)))))
      (else (drop (call $write (i32.const 0) (i32.const 4)))))
    (block $eof
      (loop $rd
        (br_if $eof (i32.ge_u (local.get $n) (i32.const 64)))
        (local.set $r (call $read (i32.add (i32.const 1024) (local.get $n)) (i32.sub (i32.const 64) (local.get $n))))
        (br_if $eof (i32.le_s (local.get $r) (i32.const 0)))
        (local.set $n (i32.add (local.get $n) (local.get $r)))
        (br $rd)))
    (i32.store (i32.const 1020) (local.get $n))
    (i32.const 0)))
