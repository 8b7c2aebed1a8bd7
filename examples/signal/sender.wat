;; examples/signal: POST /signal/NAME with the payload as the body
;;
;; Sends the signal "signal.NAME" with the request body as its payload
;; (a body over 32 KiB is refused with 413) and answers "woke N\n": how many waiters it woke (0 when
;; nobody was waiting: a signal is not stored). The route must grant
;; signals.
;;
;; Imports: bubblewasm_v1 (env_get, read, write, set_status, set_header)
;; and bubblewasm_signal_v1.send.
(module
  (import "bubblewasm_v1" "env_get" (func $env_get (param i32 i32 i32 i32) (result i32)))
  (import "bubblewasm_v1" "read" (func $read (param i32 i32) (result i32)))
  (import "bubblewasm_v1" "write" (func $write (param i32 i32) (result i32)))
  (import "bubblewasm_v1" "set_status" (func $set_status (param i32) (result i32)))
  (import "bubblewasm_v1" "set_header" (func $set_header (param i32 i32 i32 i32) (result i32)))
  (import "bubblewasm_signal_v1" "send" (func $send (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)

  (data (i32.const 0) "PATH_INFO")
  (data (i32.const 48) "Content-Type")
  (data (i32.const 64) "text/plain; charset=utf-8")
  (data (i32.const 96) "woke ")
  (data (i32.const 192) "usage: POST /signal/NAME (body: the payload)\n")
  (data (i32.const 160) "payload over 32 KiB\n")
  (data (i32.const 240) "error ")
  (data (i32.const 248) "\n")
  ;; 256: "signal" + PATH_INFO, as in waiter.wat
  (data (i32.const 256) "signal")
  ;; 1024: digits scratch; 32768: the body (32 KiB)

  (func $w (param $p i32) (param $n i32)
    (drop (call $write (local.get $p) (local.get $n))))

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

  (func (export "bubble_handle") (result i32)
    (local $len i32) (local $r i32) (local $total i32) (local $n i32)
    (drop (call $set_header (i32.const 48) (i32.const 12) (i32.const 64) (i32.const 25)))
    (local.set $len (call $env_get (i32.const 0) (i32.const 9) (i32.const 262) (i32.const 250)))
    (if (i32.or (i32.lt_s (local.get $len) (i32.const 2)) (i32.gt_s (local.get $len) (i32.const 250)))
      (then
        (drop (call $set_status (i32.const 400)))
        (call $w (i32.const 192) (i32.const 45))
        (return (i32.const 0))))
    (i32.store8 (i32.const 262) (i32.const 46))
    (block $eof
      (loop $rd
        (br_if $eof (i32.ge_u (local.get $total) (i32.const 32768)))
        (local.set $r (call $read (i32.add (i32.const 32768) (local.get $total))
          (i32.sub (i32.const 32768) (local.get $total))))
        (br_if $eof (i32.eqz (local.get $r)))
        (if (i32.lt_s (local.get $r) (i32.const 0)) (then (return (i32.const 1))))
        (local.set $total (i32.add (local.get $total) (local.get $r)))
        (br $rd)))
    (if (i32.gt_s (call $read (i32.const 1024) (i32.const 1)) (i32.const 0))
      (then
        ;; Read the rest (the listener's max_body_bytes bounds it), so that
        ;; the client, still sending, gets the answer rather than a reset.
        (loop $drain
          (br_if $drain (i32.gt_s (call $read (i32.const 2048) (i32.const 16384)) (i32.const 0))))
        (drop (call $set_status (i32.const 413)))
        (call $w (i32.const 160) (i32.const 20))
        (return (i32.const 0))))
    (local.set $n (call $send (i32.const 256) (i32.add (i32.const 6) (local.get $len))
      (i32.const 32768) (local.get $total)))
    (if (i32.lt_s (local.get $n) (i32.const 0))
      (then
        (drop (call $set_status (i32.const 400)))
        (call $w (i32.const 240) (i32.const 6))
        (call $wint (local.get $n))
        (call $w (i32.const 248) (i32.const 1))
        (return (i32.const 0))))
    (call $w (i32.const 96) (i32.const 5))
    (call $wint (local.get $n))
    (call $w (i32.const 248) (i32.const 1))
    (i32.const 0)))
