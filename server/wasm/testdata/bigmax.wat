;; Hostile: starts at 1 page but declares a maximum of 100 pages, above a
;; route cap of 16. Either the host refuses it at load or growth must still
;; stop at the cap; bubble_handle grows by one page until that fails and
;; answers with the number of pages it reached, as one byte.
(module
  (import "bubblewasm_v1" "write" (func $write (param i32 i32) (result i32)))
  (memory (export "memory") 1 100)
  (func (export "bubble_handle") (result i32)
    (local $tries i32)
    (block $done
      (loop $grow
        (br_if $done (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
        (local.set $tries (i32.add (local.get $tries) (i32.const 1)))
        (br_if $grow (i32.lt_u (local.get $tries) (i32.const 200)))))
    (i32.store8 (i32.const 0) (memory.size))
    (drop (call $write (i32.const 0) (i32.const 1)))
    (i32.const 0)))
