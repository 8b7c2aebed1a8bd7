;; Hostile: a table bomb. The funcref table has no maximum, and bubble_handle
;; grows it by 2^20 elements at a time until table.grow fails (at most 5000
;; times), then answers the final table size as a decimal. Limits.MemoryPages
;; does not cover tables: each element is host memory (8 bytes in wazero),
;; up to 2^32-1 elements.
(module
  (import "bubblewasm_v1" "write" (func $write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (table $t 0 funcref)
  (func (export "bubble_handle") (result i32)
    (local $i i32) (local $v i32) (local $len i32) (local $p i32)
    (block $done
      (loop $grow
        (br_if $done (i32.eq (table.grow $t (ref.null func) (i32.const 0x100000)) (i32.const -1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $grow (i32.lt_u (local.get $i) (i32.const 5000)))))
    ;; decimal digits of table.size, reversed at 64, then copied to 0
    (local.set $v (table.size $t))
    (loop $d
      (i32.store8 (i32.add (i32.const 64) (local.get $len))
        (i32.add (i32.const 48) (i32.rem_u (local.get $v) (i32.const 10))))
      (local.set $len (i32.add (local.get $len) (i32.const 1)))
      (local.set $v (i32.div_u (local.get $v) (i32.const 10)))
      (br_if $d (i32.ne (local.get $v) (i32.const 0))))
    (loop $r
      (i32.store8 (local.get $p)
        (i32.load8_u (i32.add (i32.const 63) (i32.sub (local.get $len) (local.get $p)))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br_if $r (i32.lt_u (local.get $p) (local.get $len))))
    (drop (call $write (i32.const 0) (local.get $len)))
    (i32.const 0)))
