;; Reads the request body to its end (or a read error) and answers
;; "read <bytes>\n". A body sent slowly keeps the guest blocked in read.
(module
  (import "bubblewasm_v1" "read" (func $read (param i32 i32) (result i32)))
  (import "bubblewasm_v1" "write" (func $write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "read ")

  (func (export "bubble_handle") (result i32)
    (local $n i32) (local $total i32) (local $u i32) (local $len i32) (local $i i32)
    (block $eof
      (loop $in
        (local.set $n (call $read (i32.const 4096) (i32.const 4096)))
        (br_if $eof (i32.le_s (local.get $n) (i32.const 0)))
        (local.set $total (i32.add (local.get $total) (local.get $n)))
        (br $in)))
    (local.set $u (local.get $total))
    (loop $d
      (i32.store8 (i32.add (i32.const 1024) (local.get $len))
        (i32.add (i32.const 48) (i32.rem_u (local.get $u) (i32.const 10))))
      (local.set $len (i32.add (local.get $len) (i32.const 1)))
      (local.set $u (i32.div_u (local.get $u) (i32.const 10)))
      (br_if $d (i32.ne (local.get $u) (i32.const 0))))
    (loop $r
      (local.set $len (i32.sub (local.get $len) (i32.const 1)))
      (i32.store8 (i32.add (i32.const 5) (local.get $i))
        (i32.load8_u (i32.add (i32.const 1024) (local.get $len))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $r (i32.ne (local.get $len) (i32.const 0))))
    (i32.store8 (i32.add (i32.const 5) (local.get $i)) (i32.const 10))
    (drop (call $write (i32.const 0) (i32.add (i32.const 6) (local.get $i))))
    (i32.const 0)))
