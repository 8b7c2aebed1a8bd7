;; examples/signal: GET /wait/NAME[?timeout=SECONDS]
;;
;; cogen's wait_app, as a bubblewasm guest: it streams "I'm waiting for
;; some signal", waits up to SECONDS (default 10, at most 55) for someone to
;; send the signal "signal.NAME", then answers "Someone signaled me:
;; PAYLOAD" or "Your time is up!". The route must grant signals.
;;
;; Imports: bubblewasm_v1 (env_get, write, flush, set_status, set_header)
;; and bubblewasm_signal_v1.wait.
(module
  (import "bubblewasm_v1" "env_get" (func $env_get (param i32 i32 i32 i32) (result i32)))
  (import "bubblewasm_v1" "write" (func $write (param i32 i32) (result i32)))
  (import "bubblewasm_v1" "flush" (func $flush (result i32)))
  (import "bubblewasm_v1" "set_status" (func $set_status (param i32) (result i32)))
  (import "bubblewasm_v1" "set_header" (func $set_header (param i32 i32 i32 i32) (result i32)))
  (import "bubblewasm_signal_v1" "wait" (func $wait (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)

  (data (i32.const 0) "PATH_INFO")
  (data (i32.const 16) "QUERY_STRING")
  (data (i32.const 32) "timeout=")
  (data (i32.const 48) "Content-Type")
  (data (i32.const 64) "text/plain; charset=utf-8")
  (data (i32.const 96) "I'm waiting for some signal\n")
  (data (i32.const 128) "Someone signaled me: ")
  (data (i32.const 160) "Your time is up!\n")
  (data (i32.const 192) "usage: GET /wait/NAME[?timeout=SECONDS]\n")
  (data (i32.const 240) "error ")
  (data (i32.const 248) "\n")
  ;; 256: the signal name: "signal" then PATH_INFO ("/NAME", at 262), whose
  ;; slash becomes the dot of "signal.NAME"; at most 256 bytes in all.
  (data (i32.const 256) "signal")
  ;; 768: QUERY_STRING (256 bytes); 1024: digits scratch; 8192: the payload
  (global $payload_cap i32 (i32.const 4096))

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

  ;; $seconds finds timeout=N in the query string and returns N, or -1.
  (func $seconds (result i32)
    (local $len i32) (local $i i32) (local $p i32) (local $v i32) (local $c i32) (local $digits i32)
    (local.set $len (call $env_get (i32.const 16) (i32.const 12) (i32.const 768) (i32.const 256)))
    (if (i32.or (i32.lt_s (local.get $len) (i32.const 8)) (i32.gt_s (local.get $len) (i32.const 256)))
      (then (return (i32.const -1))))
    (block $notfound
      (loop $scan
        (br_if $notfound (i32.gt_s (i32.add (local.get $i) (i32.const 8)) (local.get $len)))
        (if (i32.and
              (i32.or (i32.eqz (local.get $i))
                      (i32.eq (i32.load8_u (i32.add (i32.const 767) (local.get $i))) (i32.const 38))) ;; '&'
              (i64.eq (i64.load (i32.add (i32.const 768) (local.get $i))) (i64.load (i32.const 32))))
          (then
            (local.set $p (i32.add (local.get $i) (i32.const 8)))
            (block $end
              (loop $num
                (br_if $end (i32.ge_s (local.get $p) (local.get $len)))
                (local.set $c (i32.sub (i32.load8_u (i32.add (i32.const 768) (local.get $p))) (i32.const 48)))
                (br_if $end (i32.gt_u (local.get $c) (i32.const 9)))
                (if (i32.lt_u (local.get $v) (i32.const 100000))
                  (then (local.set $v (i32.add (i32.mul (local.get $v) (i32.const 10)) (local.get $c)))))
                (local.set $digits (i32.const 1))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (br $num)))
            (if (local.get $digits) (then (return (local.get $v))))
            (return (i32.const -1))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $scan)))
    (i32.const -1))

  (func (export "bubble_handle") (result i32)
    (local $len i32) (local $secs i32) (local $n i32)
    (drop (call $set_header (i32.const 48) (i32.const 12) (i32.const 64) (i32.const 25)))
    ;; PATH_INFO is "/NAME": at least two bytes, and it must fit.
    (local.set $len (call $env_get (i32.const 0) (i32.const 9) (i32.const 262) (i32.const 250)))
    (if (i32.or (i32.lt_s (local.get $len) (i32.const 2)) (i32.gt_s (local.get $len) (i32.const 250)))
      (then
        (drop (call $set_status (i32.const 400)))
        (call $w (i32.const 192) (i32.const 40))
        (return (i32.const 0))))
    (i32.store8 (i32.const 262) (i32.const 46)) ;; "signal/NAME" -> "signal.NAME"

    (local.set $secs (call $seconds))
    (if (i32.lt_s (local.get $secs) (i32.const 0)) (then (local.set $secs (i32.const 10))))
    (if (i32.gt_s (local.get $secs) (i32.const 55)) (then (local.set $secs (i32.const 55))))

    ;; Stream the first line before waiting: the client sees it at once.
    (call $w (i32.const 96) (i32.const 28))
    (drop (call $flush))

    (local.set $n (call $wait (i32.const 256) (i32.add (i32.const 6) (local.get $len))
      (i32.mul (local.get $secs) (i32.const 1000)) (i32.const 8192) (global.get $payload_cap)))
    (if (i32.ge_s (local.get $n) (i32.const 0))
      (then
        (call $w (i32.const 128) (i32.const 21))
        ;; a signal is a one-shot event: a payload over the buffer is cut
        (call $w (i32.const 8192)
          (select (local.get $n) (global.get $payload_cap) (i32.le_s (local.get $n) (global.get $payload_cap))))
        (call $w (i32.const 248) (i32.const 1))
        (return (i32.const 0))))
    (if (i32.eq (local.get $n) (i32.const -6)) ;; ERR_TIMEOUT
      (then
        (call $w (i32.const 160) (i32.const 17))
        (return (i32.const 0))))
    (call $w (i32.const 240) (i32.const 6))
    (call $wint (local.get $n))
    (call $w (i32.const 248) (i32.const 1))
    (i32.const 0)))
