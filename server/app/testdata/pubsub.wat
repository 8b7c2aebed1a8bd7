;; Pub/sub through bubblewasm_pubsub_v1, one operation per exchange, chosen
;; by request headers:
;;
;;   X-Op: publish      X-Channel: C   body = message
;;       -> "published <n>\n"
;;   X-Op: subscribe    X-Channel: C   [X-Buf: id_cap, default 64]
;;       -> the subscription id (no newline)
;;   X-Op: fetch        X-Sub: ID      [X-Buf: first buffer, default 24576]
;;                                     [X-Timeout-Ms: default 5000]
;;       -> "got: <message>\n" when it fit the first buffer, else the guest
;;          fetches again, without waiting, with a buffer of the announced
;;          size: "retried got: <message>\n"
;;   X-Op: announce     X-Sub: ID      [X-Buf, X-Timeout-Ms as for fetch]
;;       -> "got: <message>\n" when it fit, else "size <n>\n" without a
;;          retry: the message stays queued for the subscription's next fetch
;;   X-Op: unsubscribe  X-Sub: ID      -> "unsubscribed\n"
;;
;; Any negative result is answered "error <code>\n".
(module
  (import "bubblewasm_v1" "env_get" (func $env_get (param i32 i32 i32 i32) (result i32)))
  (import "bubblewasm_v1" "read" (func $read (param i32 i32) (result i32)))
  (import "bubblewasm_v1" "write" (func $write (param i32 i32) (result i32)))
  (import "bubblewasm_pubsub_v1" "publish" (func $publish (param i32 i32 i32 i32) (result i32)))
  (import "bubblewasm_pubsub_v1" "subscribe" (func $subscribe (param i32 i32 i32 i32) (result i32)))
  (import "bubblewasm_pubsub_v1" "fetch" (func $fetch (param i32 i32 i32 i32 i32) (result i32)))
  (import "bubblewasm_pubsub_v1" "unsubscribe" (func $unsubscribe (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "HTTP_X_OP")
  (data (i32.const 16) "HTTP_X_CHANNEL")
  (data (i32.const 32) "HTTP_X_SUB")
  (data (i32.const 48) "HTTP_X_BUF")
  (data (i32.const 64) "HTTP_X_TIMEOUT_MS")
  (data (i32.const 96) "error ")
  (data (i32.const 104) "\n")
  (data (i32.const 112) "published ")
  (data (i32.const 128) "got: ")
  (data (i32.const 144) "retried got: ")
  (data (i32.const 160) "unsubscribed\n")
  (data (i32.const 176) "bad op\n")
  (data (i32.const 192) "size ")
  ;; 256: op; 272: channel (256 bytes); 576: subscription id (128 bytes);
  ;; 704: X-Buf digits; 720: X-Timeout-Ms digits; 1024: itoa scratch;
  ;; 8192: message / body (24576 bytes)

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

  (func $err (param $code i32) (result i32)
    (call $w (i32.const 96) (i32.const 6))
    (call $wint (local.get $code))
    (call $w (i32.const 104) (i32.const 1))
    (i32.const 0))

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

  ;; $num returns the decimal header at key (kptr, klen), or $def.
  (func $num (param $kptr i32) (param $klen i32) (param $buf i32) (param $def i32) (result i32)
    (local $n i32)
    (local.set $n (call $env_get (local.get $kptr) (local.get $klen) (local.get $buf) (i32.const 16)))
    (if (i32.or (i32.le_s (local.get $n) (i32.const 0)) (i32.gt_s (local.get $n) (i32.const 16)))
      (then (return (local.get $def))))
    (call $atoi (local.get $buf) (local.get $n)))

  ;; $body reads the request body into 8192 (at most 24576 bytes).
  (func $body (result i32)
    (local $r i32) (local $total i32)
    (block $eof
      (loop $rd
        (br_if $eof (i32.ge_u (local.get $total) (i32.const 24576)))
        (local.set $r (call $read (i32.add (i32.const 8192) (local.get $total))
          (i32.sub (i32.const 24576) (local.get $total))))
        (br_if $eof (i32.le_s (local.get $r) (i32.const 0)))
        (local.set $total (i32.add (local.get $total) (local.get $r)))
        (br $rd)))
    (local.get $total))

  (func (export "bubble_handle") (result i32)
    (local $op i32) (local $ch i32) (local $sub i32) (local $buf i32) (local $r i32) (local $r2 i32)
    (local.set $op (call $env_get (i32.const 0) (i32.const 9) (i32.const 256) (i32.const 16)))
    (local.set $ch (call $env_get (i32.const 16) (i32.const 14) (i32.const 272) (i32.const 256)))
    (if (i32.or (i32.lt_s (local.get $ch) (i32.const 0)) (i32.gt_s (local.get $ch) (i32.const 256)))
      (then (local.set $ch (i32.const 0))))
    (local.set $sub (call $env_get (i32.const 32) (i32.const 10) (i32.const 576) (i32.const 128)))
    (if (i32.or (i32.lt_s (local.get $sub) (i32.const 0)) (i32.gt_s (local.get $sub) (i32.const 128)))
      (then (local.set $sub (i32.const 0))))
    (if (i32.le_s (local.get $op) (i32.const 0))
      (then (call $w (i32.const 176) (i32.const 7)) (return (i32.const 0))))

    ;; 'p'ublish
    (if (i32.eq (i32.load8_u (i32.const 256)) (i32.const 112))
      (then
        (local.set $r (call $publish (i32.const 272) (local.get $ch) (i32.const 8192) (call $body)))
        (if (i32.lt_s (local.get $r) (i32.const 0)) (then (return (call $err (local.get $r)))))
        (call $w (i32.const 112) (i32.const 10))
        (call $wint (local.get $r))
        (call $w (i32.const 104) (i32.const 1))
        (return (i32.const 0))))

    ;; 's'ubscribe
    (if (i32.eq (i32.load8_u (i32.const 256)) (i32.const 115))
      (then
        (local.set $buf (call $num (i32.const 48) (i32.const 10) (i32.const 704) (i32.const 64)))
        (if (i32.gt_u (local.get $buf) (i32.const 128)) (then (local.set $buf (i32.const 128))))
        (local.set $r (call $subscribe (i32.const 272) (local.get $ch) (i32.const 576) (local.get $buf)))
        (if (i32.lt_s (local.get $r) (i32.const 0)) (then (return (call $err (local.get $r)))))
        (call $w (i32.const 576) (local.get $r))
        (return (i32.const 0))))

    ;; 'f'etch, 'a'nnounce
    (if (i32.or (i32.eq (i32.load8_u (i32.const 256)) (i32.const 102))
                (i32.eq (i32.load8_u (i32.const 256)) (i32.const 97)))
      (then
        (local.set $buf (call $num (i32.const 48) (i32.const 10) (i32.const 704) (i32.const 24576)))
        (if (i32.gt_u (local.get $buf) (i32.const 24576)) (then (local.set $buf (i32.const 24576))))
        (local.set $r (call $fetch (i32.const 576) (local.get $sub)
          (call $num (i32.const 64) (i32.const 17) (i32.const 720) (i32.const 5000))
          (i32.const 8192) (local.get $buf)))
        (if (i32.lt_s (local.get $r) (i32.const 0)) (then (return (call $err (local.get $r)))))
        (if (i32.le_s (local.get $r) (local.get $buf))
          (then
            (call $w (i32.const 128) (i32.const 5))
            (call $w (i32.const 8192) (local.get $r))
            (call $w (i32.const 104) (i32.const 1))
            (return (i32.const 0))))
        (if (i32.eq (i32.load8_u (i32.const 256)) (i32.const 97))
          (then
            (call $w (i32.const 192) (i32.const 5))
            (call $wint (local.get $r))
            (call $w (i32.const 104) (i32.const 1))
            (return (i32.const 0))))
        ;; size negotiation: the message stayed queued; fetch it whole now
        (if (i32.gt_u (local.get $r) (i32.const 24576)) (then (return (call $err (local.get $r)))))
        (local.set $r2 (call $fetch (i32.const 576) (local.get $sub) (i32.const -1)
          (i32.const 8192) (local.get $r)))
        (if (i32.ne (local.get $r2) (local.get $r)) (then (return (call $err (local.get $r2)))))
        (call $w (i32.const 144) (i32.const 13))
        (call $w (i32.const 8192) (local.get $r))
        (call $w (i32.const 104) (i32.const 1))
        (return (i32.const 0))))

    ;; 'u'nsubscribe
    (if (i32.eq (i32.load8_u (i32.const 256)) (i32.const 117))
      (then
        (local.set $r (call $unsubscribe (i32.const 576) (local.get $sub)))
        (if (i32.lt_s (local.get $r) (i32.const 0)) (then (return (call $err (local.get $r)))))
        (call $w (i32.const 160) (i32.const 13))
        (return (i32.const 0))))

    (call $w (i32.const 176) (i32.const 7))
    (i32.const 0)))
