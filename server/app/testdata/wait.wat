;; Signals: wait for job.<QUERY_STRING>.
;;
;; bubble_handle writes "waiting\n" and flushes it (the client sees it
;; before the guest parks), then calls
;;     bubblewasm_signal_v1.wait("job." + QUERY_STRING, timeout, buf, 4096)
;; where timeout is the X-Timeout-Ms request header in milliseconds
;; (default 30000; may be negative: "do not wait"). It then writes one of
;;     "signalled: <payload, at most 4096 bytes>\n"
;;     "timeout\n"                 (ERR_TIMEOUT)
;;     "error <code>\n"            (any other negative result, e.g. -8)
;; and returns 0. The same module is the 10,000-waiter test's waiter.
(module
  (import "bubblewasm_v1" "env_get" (func $env_get (param i32 i32 i32 i32) (result i32)))
  (import "bubblewasm_v1" "write" (func $write (param i32 i32) (result i32)))
  (import "bubblewasm_v1" "flush" (func $flush (result i32)))
  (import "bubblewasm_signal_v1" "wait" (func $wait (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "QUERY_STRING")
  (data (i32.const 16) "HTTP_X_TIMEOUT_MS")
  (data (i32.const 48) "waiting\n")
  (data (i32.const 64) "signalled: ")
  (data (i32.const 80) "timeout\n")
  (data (i32.const 96) "error ")
  (data (i32.const 112) "\n")
  ;; 256: the signal name, "job." then the query (at 260, at most 252 bytes)
  (data (i32.const 256) "job.")
  ;; 512: timeout digits; 1024: itoa scratch; 8192: payload (4096 bytes)

  (func $w (param $p i32) (param $n i32)
    (drop (call $write (local.get $p) (local.get $n))))

  ;; $wint writes the signed decimal of $v.
  (func $wint (param $v i32)
    (local $u i32) (local $i i32)
    (local.set $u (local.get $v))
    (if (i32.lt_s (local.get $v) (i32.const 0))
      (then (local.set $u (i32.sub (i32.const 0) (local.get $v)))))
    (local.set $i (i32.const 1040))
    (loop $d
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (i32.store8 (local.get $i) (i32.add (i32.const 48) (i32.rem_u (local.get $u) (i32.const 10))))
      (local.set $u (i32.div_u (local.get $u) (i32.const 10)))
      (br_if $d (i32.ne (local.get $u) (i32.const 0))))
    (if (i32.lt_s (local.get $v) (i32.const 0))
      (then
        (local.set $i (i32.sub (local.get $i) (i32.const 1)))
        (i32.store8 (local.get $i) (i32.const 45))))
    (call $w (local.get $i) (i32.sub (i32.const 1040) (local.get $i))))

  ;; $atoi parses an optionally negative decimal (stops at a non-digit).
  (func $atoi (param $p i32) (param $n i32) (result i32)
    (local $v i32) (local $neg i32) (local $c i32) (local $end i32)
    (local.set $end (i32.add (local.get $p) (local.get $n)))
    (if (i32.and (i32.gt_s (local.get $n) (i32.const 0)) (i32.eq (i32.load8_u (local.get $p)) (i32.const 45)))
      (then
        (local.set $neg (i32.const 1))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $c (i32.sub (i32.load8_u (local.get $p)) (i32.const 48)))
        (br_if $done (i32.gt_u (local.get $c) (i32.const 9)))
        (local.set $v (i32.add (i32.mul (local.get $v) (i32.const 10)) (local.get $c)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $l)))
    (select (i32.sub (i32.const 0) (local.get $v)) (local.get $v) (local.get $neg)))

  (func (export "bubble_handle") (result i32)
    (local $q i32) (local $t i32) (local $len i32) (local $n i32)
    (local.set $q (call $env_get (i32.const 0) (i32.const 12) (i32.const 260) (i32.const 252)))
    (if (i32.lt_s (local.get $q) (i32.const 0)) (then (local.set $q (i32.const 0))))
    (if (i32.gt_s (local.get $q) (i32.const 252)) (then (return (i32.const 1))))
    (local.set $t (i32.const 30000))
    (local.set $len (call $env_get (i32.const 16) (i32.const 17) (i32.const 512) (i32.const 32)))
    (if (i32.and (i32.gt_s (local.get $len) (i32.const 0)) (i32.le_s (local.get $len) (i32.const 32)))
      (then (local.set $t (call $atoi (i32.const 512) (local.get $len)))))
    (if (i32.ne (call $write (i32.const 48) (i32.const 8)) (i32.const 8)) (then (return (i32.const 2))))
    (if (i32.ne (call $flush) (i32.const 0)) (then (return (i32.const 3))))
    (local.set $n (call $wait (i32.const 256) (i32.add (i32.const 4) (local.get $q))
      (local.get $t) (i32.const 8192) (i32.const 4096)))
    (if (i32.ge_s (local.get $n) (i32.const 0))
      (then
        (call $w (i32.const 64) (i32.const 11))
        (call $w (i32.const 8192)
          (select (local.get $n) (i32.const 4096) (i32.le_s (local.get $n) (i32.const 4096))))
        (call $w (i32.const 112) (i32.const 1))
        (return (i32.const 0))))
    (if (i32.eq (local.get $n) (i32.const -6))
      (then
        (call $w (i32.const 80) (i32.const 8))
        (return (i32.const 0))))
    (call $w (i32.const 96) (i32.const 6))
    (call $wint (local.get $n))
    (call $w (i32.const 112) (i32.const 1))
    (i32.const 0)))
