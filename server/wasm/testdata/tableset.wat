;; Keeps state in a table: each exchange swaps the two entries of its
;; function table with table.set, so the next exchange calls the other
;; function. A snapshot cannot capture a table: the module is refused under
;; instances = "snapshot" and served fresh by default.
(module
  (import "bubblewasm_v1" "write" (func $write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "AB")
  (type $f (func (result i32)))
  (table 2 funcref)
  (elem (i32.const 0) $a $b)
  (func $a (result i32) (i32.const 0))
  (func $b (result i32) (i32.const 1))
  (func (export "bubble_handle") (result i32)
    (local $t funcref)
    (drop (call $write (call_indirect (type $f) (i32.const 0)) (i32.const 1)))
    (local.set $t (table.get 0 (i32.const 0)))
    (table.set 0 (i32.const 0) (table.get 0 (i32.const 1)))
    (table.set 0 (i32.const 1) (local.get $t))
    (i32.const 0)))
