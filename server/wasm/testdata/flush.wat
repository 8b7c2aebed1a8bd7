;; Conformance: flush pushes output to the peer before the exchange ends.
;; bubble_handle writes "first\n" and flushes, then reads the request body to
;; its end (the client sends the body only after it has seen "first\n"),
;; then writes "second <body length>\n".
(module
  (import "bubblewasm_v1" "read" (func $read (param i32 i32) (result i32)))
  (import "bubblewasm_v1" "write" (func $write (param i32 i32) (result i32)))
  (import "bubblewasm_v1" "flush" (func $flush (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "first\n")
  (data (i32.const 16) "second ")
  (func (export "bubble_handle") (result i32)
    (local $r i32) (local $total i32)
    (if (i32.ne (call $write (i32.const 0) (i32.const 6)) (i32.const 6)) (then (return (i32.const 1))))
    (if (i32.ne (call $flush) (i32.const 0)) (then (return (i32.const 2))))
    (block $eof
      (loop $rd
        (local.set $r (call $read (i32.const 1024) (i32.const 512)))
        (br_if $eof (i32.eqz (local.get $r)))
        (if (i32.lt_s (local.get $r) (i32.const 0)) (then (return (i32.const 3))))
        (local.set $total (i32.add (local.get $total) (local.get $r)))
        (br $rd)))
    ;; "second " then the length as up to 5 digits, then "\n"
    (i32.store8 (i32.const 23) (i32.add (i32.const 48) (i32.rem_u (i32.div_u (local.get $total) (i32.const 10000)) (i32.const 10))))
    (i32.store8 (i32.const 24) (i32.add (i32.const 48) (i32.rem_u (i32.div_u (local.get $total) (i32.const 1000)) (i32.const 10))))
    (i32.store8 (i32.const 25) (i32.add (i32.const 48) (i32.rem_u (i32.div_u (local.get $total) (i32.const 100)) (i32.const 10))))
    (i32.store8 (i32.const 26) (i32.add (i32.const 48) (i32.rem_u (i32.div_u (local.get $total) (i32.const 10)) (i32.const 10))))
    (i32.store8 (i32.const 27) (i32.add (i32.const 48) (i32.rem_u (local.get $total) (i32.const 10))))
    (i32.store8 (i32.const 28) (i32.const 10))
    (drop (call $write (i32.const 16) (i32.const 13)))
    (i32.const 0)))
