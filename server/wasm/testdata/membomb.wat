;; Hostile: a memory bomb. bubble_handle first asks for 0xFFFFFFFF pages in one
;; memory.grow (must fail), then grows one page at a time until memory.grow
;; returns -1 (bounded to 70000 attempts, more than 4 GiB). It answers
;; "pages=<final memory.size> huge=<result of the huge grow>" so the test can
;; check that growth failed at the route's page cap.
(module
  (import "bubblewasm_v1" "write" (func $write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "pages=")
  (data (i32.const 8) " huge=")
  (global $out (mut i32) (i32.const 0))

  ;; itoa writes the signed decimal of $v at $dst and returns its length.
  (func $itoa (param $v i32) (param $dst i32) (result i32)
    (local $tmp i32) (local $len i32) (local $neg i32) (local $i i32) (local $u i32)
    (local.set $u (local.get $v))
    (if (i32.lt_s (local.get $v) (i32.const 0))
      (then (local.set $neg (i32.const 1))
            (local.set $u (i32.sub (i32.const 0) (local.get $v)))))
    ;; digits in reverse at 1024
    (loop $d
      (i32.store8 (i32.add (i32.const 1024) (local.get $len))
        (i32.add (i32.const 48) (i32.rem_u (local.get $u) (i32.const 10))))
      (local.set $len (i32.add (local.get $len) (i32.const 1)))
      (local.set $u (i32.div_u (local.get $u) (i32.const 10)))
      (br_if $d (i32.ne (local.get $u) (i32.const 0))))
    (if (local.get $neg)
      (then (i32.store8 (local.get $dst) (i32.const 45))
            (local.set $dst (i32.add (local.get $dst) (i32.const 1)))))
    (loop $r
      (local.set $len (i32.sub (local.get $len) (i32.const 1)))
      (i32.store8 (i32.add (local.get $dst) (local.get $i))
        (i32.load8_u (i32.add (i32.const 1024) (local.get $len))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $r (i32.ne (local.get $len) (i32.const 0))))
    (i32.add (local.get $i) (local.get $neg)))

  (func (export "bubble_handle") (result i32)
    (local $huge i32) (local $tries i32) (local $p i32)
    (local.set $huge (memory.grow (i32.const -1)))
    (block $done
      (loop $grow
        (br_if $done (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
        (local.set $tries (i32.add (local.get $tries) (i32.const 1)))
        (br_if $grow (i32.lt_u (local.get $tries) (i32.const 70000)))))
    ;; build "pages=N huge=M" at 2048
    (memory.copy (i32.const 2048) (i32.const 0) (i32.const 6))
    (local.set $p (i32.add (i32.const 2054) (call $itoa (memory.size) (i32.const 2054))))
    (memory.copy (local.get $p) (i32.const 8) (i32.const 6))
    (local.set $p (i32.add (local.get $p) (i32.const 6)))
    (local.set $p (i32.add (local.get $p) (call $itoa (local.get $huge) (local.get $p))))
    (drop (call $write (i32.const 2048) (i32.sub (local.get $p) (i32.const 2048))))
    (i32.const 0)))
