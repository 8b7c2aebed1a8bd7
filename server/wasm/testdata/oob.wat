;; Hostile: out-of-bounds pointers to every host function. Memory is exactly
;; one page (65536 bytes). The first byte of QUERY_STRING picks one call:
;;
;;   "past"     ranges start beyond the end:      ptr = 0x10008, len = 4
;;   "overflow" ptr + len overflows 32 bits:      ptr = 0xFFFFFFF0, len = 0x20
;;
;;   a env_get key past       b env_get key overflow
;;   c env_get buf past       d env_get buf overflow
;;   e env_keys past          f env_keys overflow
;;   g read past              h read overflow
;;   i write past             j write overflow
;;   k set_header name past   l set_header name overflow
;;   m set_header value past  n set_header value overflow
;;   o add_header name past   p add_header name overflow
;;   q add_header value past  r add_header value overflow
;;   s log past               t log overflow
;;   w write(0x10001, 0)      zero length one byte past the end: invalid
;;   x write(0xFFFF, 2)       straddles the end
;;   z log(0, 0xFFFFFFFF, 1)  ptr + len is exactly 2^32 (wraps to 0)
;;   A write(1, 0xFFFFFFFF)   ptr + len is exactly 2^32 (wraps to 0)
;;   B env_all past           C env_all overflow
;;
;; Boundary cases that are valid and must not trap:
;;   u write(0x10000, 0)      zero length at the end: returns 0
;;   v env_get(QUERY_STRING, buf = [0xFFFF, 0x10000)) fits exactly: returns 1
;;   y read(0x10000, 0)       valid range, zero length: ERR_INVALID (-2)
;;
;; Every invalid case must trap (HTTP 500); a call that returns instead
;; makes the module answer "survived <result>" with status 200.
(module
  (import "bubblewasm_v1" "env_get" (func $env_get (param i32 i32 i32 i32) (result i32)))
  (import "bubblewasm_v1" "env_keys" (func $env_keys (param i32 i32) (result i32)))
  (import "bubblewasm_v1" "env_all" (func $env_all (param i32 i32) (result i32)))
  (import "bubblewasm_v1" "read" (func $read (param i32 i32) (result i32)))
  (import "bubblewasm_v1" "write" (func $write (param i32 i32) (result i32)))
  (import "bubblewasm_v1" "set_header" (func $set_header (param i32 i32 i32 i32) (result i32)))
  (import "bubblewasm_v1" "add_header" (func $add_header (param i32 i32 i32 i32) (result i32)))
  (import "bubblewasm_v1" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1 1)
  (data (i32.const 0) "QUERY_STRING")
  (data (i32.const 16) "X-A")
  (data (i32.const 24) "v")
  (data (i32.const 32) "survived ")
  ;; 64: query value; 128: output; 256: itoa scratch

  (func $itoa (param $v i32) (param $dst i32) (result i32)
    (local $len i32) (local $neg i32) (local $i i32) (local $u i32)
    (local.set $u (local.get $v))
    (if (i32.lt_s (local.get $v) (i32.const 0))
      (then (local.set $neg (i32.const 1))
            (local.set $u (i32.sub (i32.const 0) (local.get $v)))))
    (loop $d
      (i32.store8 (i32.add (i32.const 256) (local.get $len))
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
        (i32.load8_u (i32.add (i32.const 256) (local.get $len))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $r (i32.ne (local.get $len) (i32.const 0))))
    (i32.add (local.get $i) (local.get $neg)))

  (func (export "bubble_handle") (result i32)
    (local $c i32) (local $r i32) (local $n i32)
    (local.set $r (i32.const 12345))
    (if (i32.gt_s (call $env_get (i32.const 0) (i32.const 12) (i32.const 64) (i32.const 16)) (i32.const 0))
      (then (local.set $c (i32.load8_u (i32.const 64)))))

    ;; env_get
    (if (i32.eq (local.get $c) (i32.const 97)) ;; a
      (then (local.set $r (call $env_get (i32.const 0x10008) (i32.const 4) (i32.const 64) (i32.const 16)))))
    (if (i32.eq (local.get $c) (i32.const 98)) ;; b
      (then (local.set $r (call $env_get (i32.const 0xFFFFFFF0) (i32.const 0x20) (i32.const 64) (i32.const 16)))))
    (if (i32.eq (local.get $c) (i32.const 99)) ;; c
      (then (local.set $r (call $env_get (i32.const 0) (i32.const 12) (i32.const 0x10008) (i32.const 4)))))
    (if (i32.eq (local.get $c) (i32.const 100)) ;; d
      (then (local.set $r (call $env_get (i32.const 0) (i32.const 12) (i32.const 0xFFFFFFF0) (i32.const 0x20)))))
    ;; env_keys
    (if (i32.eq (local.get $c) (i32.const 101)) ;; e
      (then (local.set $r (call $env_keys (i32.const 0x10008) (i32.const 4)))))
    (if (i32.eq (local.get $c) (i32.const 102)) ;; f
      (then (local.set $r (call $env_keys (i32.const 0xFFFFFFF0) (i32.const 0x20)))))
    ;; env_all
    (if (i32.eq (local.get $c) (i32.const 66)) ;; B
      (then (local.set $r (call $env_all (i32.const 0x10008) (i32.const 4)))))
    (if (i32.eq (local.get $c) (i32.const 67)) ;; C
      (then (local.set $r (call $env_all (i32.const 0xFFFFFFF0) (i32.const 0x20)))))
    ;; read
    (if (i32.eq (local.get $c) (i32.const 103)) ;; g
      (then (local.set $r (call $read (i32.const 0x10008) (i32.const 4)))))
    (if (i32.eq (local.get $c) (i32.const 104)) ;; h
      (then (local.set $r (call $read (i32.const 0xFFFFFFF0) (i32.const 0x20)))))
    ;; write
    (if (i32.eq (local.get $c) (i32.const 105)) ;; i
      (then (local.set $r (call $write (i32.const 0x10008) (i32.const 4)))))
    (if (i32.eq (local.get $c) (i32.const 106)) ;; j
      (then (local.set $r (call $write (i32.const 0xFFFFFFF0) (i32.const 0x20)))))
    ;; set_header
    (if (i32.eq (local.get $c) (i32.const 107)) ;; k
      (then (local.set $r (call $set_header (i32.const 0x10008) (i32.const 4) (i32.const 24) (i32.const 1)))))
    (if (i32.eq (local.get $c) (i32.const 108)) ;; l
      (then (local.set $r (call $set_header (i32.const 0xFFFFFFF0) (i32.const 0x20) (i32.const 24) (i32.const 1)))))
    (if (i32.eq (local.get $c) (i32.const 109)) ;; m
      (then (local.set $r (call $set_header (i32.const 16) (i32.const 3) (i32.const 0x10008) (i32.const 4)))))
    (if (i32.eq (local.get $c) (i32.const 110)) ;; n
      (then (local.set $r (call $set_header (i32.const 16) (i32.const 3) (i32.const 0xFFFFFFF0) (i32.const 0x20)))))
    ;; add_header
    (if (i32.eq (local.get $c) (i32.const 111)) ;; o
      (then (local.set $r (call $add_header (i32.const 0x10008) (i32.const 4) (i32.const 24) (i32.const 1)))))
    (if (i32.eq (local.get $c) (i32.const 112)) ;; p
      (then (local.set $r (call $add_header (i32.const 0xFFFFFFF0) (i32.const 0x20) (i32.const 24) (i32.const 1)))))
    (if (i32.eq (local.get $c) (i32.const 113)) ;; q
      (then (local.set $r (call $add_header (i32.const 16) (i32.const 3) (i32.const 0x10008) (i32.const 4)))))
    (if (i32.eq (local.get $c) (i32.const 114)) ;; r
      (then (local.set $r (call $add_header (i32.const 16) (i32.const 3) (i32.const 0xFFFFFFF0) (i32.const 0x20)))))
    ;; log
    (if (i32.eq (local.get $c) (i32.const 115)) ;; s
      (then (call $log (i32.const 0) (i32.const 0x10008) (i32.const 4)) (local.set $r (i32.const 0))))
    (if (i32.eq (local.get $c) (i32.const 116)) ;; t
      (then (call $log (i32.const 0) (i32.const 0xFFFFFFF0) (i32.const 0x20)) (local.set $r (i32.const 0))))
    ;; edges
    (if (i32.eq (local.get $c) (i32.const 119)) ;; w
      (then (local.set $r (call $write (i32.const 0x10001) (i32.const 0)))))
    (if (i32.eq (local.get $c) (i32.const 120)) ;; x
      (then (local.set $r (call $write (i32.const 0xFFFF) (i32.const 2)))))
    (if (i32.eq (local.get $c) (i32.const 122)) ;; z
      (then (call $log (i32.const 0) (i32.const 0xFFFFFFFF) (i32.const 1)) (local.set $r (i32.const 0))))
    (if (i32.eq (local.get $c) (i32.const 65)) ;; A
      (then (local.set $r (call $write (i32.const 1) (i32.const 0xFFFFFFFF)))))
    ;; valid boundaries
    (if (i32.eq (local.get $c) (i32.const 117)) ;; u
      (then (local.set $r (call $write (i32.const 0x10000) (i32.const 0)))))
    (if (i32.eq (local.get $c) (i32.const 118)) ;; v
      (then (local.set $r (call $env_get (i32.const 0) (i32.const 12) (i32.const 0xFFFF) (i32.const 1)))))
    (if (i32.eq (local.get $c) (i32.const 121)) ;; y
      (then (local.set $r (call $read (i32.const 0x10000) (i32.const 0)))))

    (memory.copy (i32.const 128) (i32.const 32) (i32.const 9))
    (local.set $n (i32.add (i32.const 9) (call $itoa (local.get $r) (i32.const 137))))
    (drop (call $write (i32.const 128) (local.get $n)))
    (i32.const 0)))
