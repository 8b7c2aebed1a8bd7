;; Memory use: bubble_handle grows memory one page at a time until
;; memory.grow returns -1 (or 65536 pages), filling each new page so that
;; it is really resident, then reads the request body to its
;; end (so a client can hold the memory in use as long as it sends), and
;; answers "pages=<memory.size>".
(module
  (import "bubblewasm_v1" "read" (func $read (param i32 i32) (result i32)))
  (import "bubblewasm_v1" "write" (func $write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "pages=")

  (func (export "bubble_handle") (result i32)
    (local $old i32) (local $u i32) (local $len i32) (local $i i32)
    (block $full
      (loop $grow
        (local.set $old (memory.grow (i32.const 1)))
        (br_if $full (i32.eq (local.get $old) (i32.const -1)))
        (memory.fill (i32.mul (local.get $old) (i32.const 65536)) (i32.const 1) (i32.const 65536))
        (br_if $grow (i32.lt_u (memory.size) (i32.const 65536)))))
    ;; read the body to its end (or an error) into 4096..8191
    (block $eof
      (loop $in
        (br_if $eof (i32.le_s (call $read (i32.const 4096) (i32.const 4096)) (i32.const 0)))
        (br $in)))
    ;; "pages=" then the decimal of memory.size, reversed through 1024
    (local.set $u (memory.size))
    (loop $d
      (i32.store8 (i32.add (i32.const 1024) (local.get $len))
        (i32.add (i32.const 48) (i32.rem_u (local.get $u) (i32.const 10))))
      (local.set $len (i32.add (local.get $len) (i32.const 1)))
      (local.set $u (i32.div_u (local.get $u) (i32.const 10)))
      (br_if $d (i32.ne (local.get $u) (i32.const 0))))
    (loop $r
      (local.set $len (i32.sub (local.get $len) (i32.const 1)))
      (i32.store8 (i32.add (i32.const 6) (local.get $i))
        (i32.load8_u (i32.add (i32.const 1024) (local.get $len))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $r (i32.ne (local.get $len) (i32.const 0))))
    (drop (call $write (i32.const 0) (i32.add (i32.const 6) (local.get $i))))
    (i32.const 0)))
