;; Grows memory one page at a time until memory.grow returns -1 and answers
;; "pages=<memory.size>\n" (at most 9999 pages are reported right).
(module
  (import "bubblewasm_v1" "write" (func $write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "pages=0000\n")
  (func (export "bubble_handle") (result i32)
    (local $n i32) (local $i i32)
    (block $full
      (loop $grow
        (br_if $full (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
        (br_if $grow (i32.lt_u (memory.size) (i32.const 9999)))))
    (local.set $n (memory.size))
    (local.set $i (i32.const 9))
    (loop $d
      (i32.store8 (local.get $i) (i32.add (i32.const 48) (i32.rem_u (local.get $n) (i32.const 10))))
      (local.set $n (i32.div_u (local.get $n) (i32.const 10)))
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (br_if $d (i32.ge_u (local.get $i) (i32.const 6))))
    (drop (call $write (i32.const 0) (i32.const 11)))
    (i32.const 0)))
