;; Conformance: instance reuse and exclusivity. A mutable global counts the
;; exchanges this instance has served; the response body is
;;     "inst=<ID> n=<N> ok"
;; where N is that count (1 on a fresh instance) and ID is the X-Id request
;; header of the first exchange the instance served, so the test can group
;; responses by instance.
;;
;; Exclusivity: a global busy flag is held for the whole call; a call that
;; finds it set answers "overlap". The exchange copies its own X-Id into
;; memory, reads the whole request body 16 bytes at a time (many host calls,
;; where another exchange could interleave), then compares the stored copy
;; with the header again and answers "mismatch" when it changed.
;;
;; Failures, chosen by QUERY_STRING after the counter was incremented:
;; "trap" executes `unreachable`; "fail" returns 1.
(module
  (import "bubblewasm_v1" "env_get" (func $env_get (param i32 i32 i32 i32) (result i32)))
  (import "bubblewasm_v1" "read" (func $read (param i32 i32) (result i32)))
  (import "bubblewasm_v1" "write" (func $write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "QUERY_STRING")
  (data (i32.const 16) "HTTP_X_ID")
  (data (i32.const 32) "inst=")
  (data (i32.const 40) " n=")
  (data (i32.const 48) " ok")
  (data (i32.const 56) "overlap")
  (data (i32.const 64) "mismatch")
  ;; 256: query value; 512: this exchange's id; 768: id read again;
  ;; 1024: itoa scratch; 1280: instance id; 2048: output; 4096: body chunk.
  (global $n (mut i32) (i32.const 0))
  (global $busy (mut i32) (i32.const 0))
  (global $idlen (mut i32) (i32.const 0))
  (global $instset (mut i32) (i32.const 0))
  (global $instlen (mut i32) (i32.const 0))
  (global $out (mut i32) (i32.const 2048))

  (func $emit (param $ptr i32) (param $len i32)
    (memory.copy (global.get $out) (local.get $ptr) (local.get $len))
    (global.set $out (i32.add (global.get $out) (local.get $len))))

  ;; emit_u appends the unsigned decimal of $v.
  (func $emit_u (param $v i32)
    (local $len i32)
    (loop $d
      (i32.store8 (i32.add (i32.const 1024) (local.get $len))
        (i32.add (i32.const 48) (i32.rem_u (local.get $v) (i32.const 10))))
      (local.set $len (i32.add (local.get $len) (i32.const 1)))
      (local.set $v (i32.div_u (local.get $v) (i32.const 10)))
      (br_if $d (i32.ne (local.get $v) (i32.const 0))))
    (loop $r
      (local.set $len (i32.sub (local.get $len) (i32.const 1)))
      (i32.store8 (global.get $out) (i32.load8_u (i32.add (i32.const 1024) (local.get $len))))
      (global.set $out (i32.add (global.get $out) (i32.const 1)))
      (br_if $r (i32.ne (local.get $len) (i32.const 0)))))

  (func $memeq (param $a i32) (param $b i32) (param $n i32) (result i32)
    (block $no
      (loop $l
        (if (i32.eqz (local.get $n)) (then (return (i32.const 1))))
        (br_if $no (i32.ne (i32.load8_u (local.get $a)) (i32.load8_u (local.get $b))))
        (local.set $a (i32.add (local.get $a) (i32.const 1)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $l)))
    (i32.const 0))

  (func $answer (param $ptr i32) (param $len i32) (result i32)
    (global.set $out (i32.const 2048))
    (call $emit (local.get $ptr) (local.get $len))
    (drop (call $write (i32.const 2048) (local.get $len)))
    (i32.const 0))

  (func (export "bubble_handle") (result i32)
    (local $len i32) (local $q i32) (local $r i32)
    (if (global.get $busy)
      (then (return (call $answer (i32.const 56) (i32.const 7)))))
    (global.set $busy (i32.const 1))
    (global.set $n (i32.add (global.get $n) (i32.const 1)))

    (local.set $len (call $env_get (i32.const 16) (i32.const 9) (i32.const 512) (i32.const 64)))
    (if (i32.or (i32.lt_s (local.get $len) (i32.const 0)) (i32.gt_s (local.get $len) (i32.const 64)))
      (then (local.set $len (i32.const 0))))
    (global.set $idlen (local.get $len))
    (if (i32.eqz (global.get $instset))
      (then
        (memory.copy (i32.const 1280) (i32.const 512) (local.get $len))
        (global.set $instlen (local.get $len))
        (global.set $instset (i32.const 1))))

    (local.set $q (call $env_get (i32.const 0) (i32.const 12) (i32.const 256) (i32.const 16)))
    (if (i32.eq (local.get $q) (i32.const 4))
      (then
        ;; "trap" and "fail" as little-endian i32
        (if (i32.eq (i32.load (i32.const 256)) (i32.const 0x70617274)) (then unreachable))
        (if (i32.eq (i32.load (i32.const 256)) (i32.const 0x6c696166)) (then (return (i32.const 1))))))

    (block $eof
      (loop $rd
        (local.set $r (call $read (i32.const 4096) (i32.const 16)))
        (br_if $eof (i32.eqz (local.get $r)))
        (if (i32.lt_s (local.get $r) (i32.const 0)) (then (return (i32.const 2))))
        (br $rd)))

    (local.set $len (call $env_get (i32.const 16) (i32.const 9) (i32.const 768) (i32.const 64)))
    (if (i32.or (i32.lt_s (local.get $len) (i32.const 0)) (i32.gt_s (local.get $len) (i32.const 64)))
      (then (local.set $len (i32.const 0))))
    (if (i32.or (i32.ne (local.get $len) (global.get $idlen))
                (i32.eqz (call $memeq (i32.const 512) (i32.const 768) (local.get $len))))
      (then (return (call $answer (i32.const 64) (i32.const 8)))))

    (global.set $out (i32.const 2048))
    (call $emit (i32.const 32) (i32.const 5))
    (call $emit (i32.const 1280) (global.get $instlen))
    (call $emit (i32.const 40) (i32.const 3))
    (call $emit_u (global.get $n))
    (call $emit (i32.const 48) (i32.const 3))
    (drop (call $write (i32.const 2048) (i32.sub (global.get $out) (i32.const 2048))))
    (global.set $busy (i32.const 0))
    (i32.const 0)))
