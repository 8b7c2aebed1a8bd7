;; Grows its memory by a page in every exchange and keeps the request body
;; at the start of the new page. It answers "pages=N", N the memory's size
;; when the exchange began, followed by the first 32 bytes of the last page
;; when there is more than one: what the exchange before it kept there.
(module
  (import "bubblewasm_v1" "read" (func $read (param i32 i32) (result i32)))
  (import "bubblewasm_v1" "write" (func $write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "pages=")
  (func (export "bubble_handle") (result i32)
    (local $pages i32) (local $at i32) (local $n i32) (local $r i32)
    (local.set $pages (memory.size))
    (i32.store8 (i32.const 6) (i32.add (i32.const 48) (i32.rem_u (local.get $pages) (i32.const 10))))
    (drop (call $write (i32.const 0) (i32.const 7)))
    (if (i32.gt_u (local.get $pages) (i32.const 1))
      (then
        (local.set $at (i32.mul (i32.sub (local.get $pages) (i32.const 1)) (i32.const 65536)))
        (memory.copy (i32.const 64) (local.get $at) (i32.const 32))
        (drop (call $write (i32.const 64) (i32.const 32)))))
    (if (i32.lt_s (memory.grow (i32.const 1)) (i32.const 0)) (then (return (i32.const 0))))
    (local.set $at (i32.mul (local.get $pages) (i32.const 65536)))
    (block $eof
      (loop $rd
        (br_if $eof (i32.ge_u (local.get $n) (i32.const 32)))
        (local.set $r (call $read (i32.add (local.get $at) (local.get $n)) (i32.sub (i32.const 32) (local.get $n))))
        (br_if $eof (i32.le_s (local.get $r) (i32.const 0)))
        (local.set $n (i32.add (local.get $n) (local.get $r)))
        (br $rd)))
    (i32.const 0)))
