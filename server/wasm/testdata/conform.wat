;; Conformance: exercises every ABI v1 host function over HTTP and reports
;; each result so the test can check them against ABI.md.
;;
;; bubble_init logs "conform: init" (info), then calls every other import
;; while there is no exchange yet and keeps the results (line 6 below):
;;   env_get(HTTP_X_TEST), env_keys, read, write(4 bytes), write(0 bytes),
;;   flush, set_status(201), set_header, add_header
;; ABI.md wants -1 (ERR_NOT_FOUND), 0, 0, ERR_CLOSED x3, ERR_COMMITTED x3.
;; It returns 0.
;;
;; bubble_handle, in order (the number is the result's index in line 1):
;;   0 env_get(HTTP_X_TEST) into a 2-byte buffer      -> full length n
;;   1 the bytes around that buffer are untouched     -> 1
;;   2 env_get(HTTP_X_TEST) into an n-byte buffer     -> n
;;   3 env_get(HTTP_X_TEST) into a 64-byte buffer     -> n
;;   4 env_get(NO_SUCH_KEY)                           -> ERR_NOT_FOUND
;;   5 env_keys(buf, 0)                               -> total size t
;;   6 env_keys(buf, t)                               -> t
;;   7 read(buf, 0)                                   -> ERR_INVALID
;;   8 total body bytes read, 7 bytes per read, until read returns 0
;;   9 number of reads that returned > 0
;;  10 the negative read result that stopped the loop, or 0 at end of input
;;  11 read once more after end of input             -> 0
;;  12 set_status(99)                                 -> ERR_INVALID
;;  13 set_status(1000)                               -> ERR_INVALID
;;  14 set_status(201)                                -> 0
;;  15 set_header("X-Single", "one")                  -> 0
;;  16 add_header("X-Multi", "a")                     -> 0
;;  17 add_header("X-Multi", "b")                     -> 0
;;  18 set_header("X-Replaced", "old")                -> 0
;;  19 set_header("X-Replaced", "new")                -> 0
;;  20 set_header("Bad Name", "one")                  -> ERR_INVALID
;;  21 set_header("Bad:Name", "one")                  -> ERR_INVALID
;;  22 set_header("", "one")                          -> ERR_INVALID
;;  23 set_header("X-Single", "bad\r\nvalue")         -> ERR_INVALID
;;  24 set_header("X-Single", "bad\0value")           -> ERR_INVALID
;;  25 add_header("Bad Name", "a")                    -> ERR_INVALID
;;  26 add_header("x-multi", "c")                     -> 0 (same header as X-Multi)
;; then log(info, "conform: hello from guest"), log(warn, "conform: a warning"),
;; log(error, "conform: line one\nline two") (one record).
;;
;; First write (commits status 201 and the headers), lines:
;;   1: results 0..26, each followed by ","
;;   2: the value of HTTP_X_TEST
;;   3: env_keys' output (keys each followed by NUL)
;;   4: the request body as read
;; Then, after the commit:
;;  27 first write returned its length               -> 1 (boolean)
;;  28 set_status(202)                                -> ERR_COMMITTED
;;  29 set_header("X-Late", "late")                   -> ERR_COMMITTED
;;  30 add_header("X-Late", "late")                   -> ERR_COMMITTED
;;  31 set_status(99)                                 -> ERR_INVALID (wins)
;;  32 set_header("Bad Name", "one")                  -> ERR_INVALID (wins)
;;  33 flush()                                        -> 0
;;  34 write(buf, 0)                                  -> 0
;; and a second write sends line 5: results 27..34, each followed by ",",
;; and line 6: the init-time results, each followed by ",".
(module
  (import "bubblewasm_v1" "env_get" (func $env_get (param i32 i32 i32 i32) (result i32)))
  (import "bubblewasm_v1" "env_keys" (func $env_keys (param i32 i32) (result i32)))
  (import "bubblewasm_v1" "read" (func $read (param i32 i32) (result i32)))
  (import "bubblewasm_v1" "write" (func $write (param i32 i32) (result i32)))
  (import "bubblewasm_v1" "flush" (func $flush (result i32)))
  (import "bubblewasm_v1" "set_status" (func $set_status (param i32) (result i32)))
  (import "bubblewasm_v1" "set_header" (func $set_header (param i32 i32 i32 i32) (result i32)))
  (import "bubblewasm_v1" "add_header" (func $add_header (param i32 i32 i32 i32) (result i32)))
  (import "bubblewasm_v1" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 2)
  (data (i32.const 0) "HTTP_X_TEST")
  (data (i32.const 16) "NO_SUCH_KEY")
  (data (i32.const 32) "X-Single")
  (data (i32.const 48) "one")
  (data (i32.const 56) "X-Multi")
  (data (i32.const 64) "a")
  (data (i32.const 68) "b")
  (data (i32.const 72) "X-Replaced")
  (data (i32.const 88) "old")
  (data (i32.const 96) "new")
  (data (i32.const 104) "Bad Name")
  (data (i32.const 112) "bad\r\nvalue")
  (data (i32.const 128) "conform: hello from guest")
  (data (i32.const 160) "conform: a warning")
  (data (i32.const 192) "conform: init")
  (data (i32.const 224) "X-Late")
  (data (i32.const 232) "late")
  (data (i32.const 240) "Bad:Name")
  (data (i32.const 256) "bad\00value")
  (data (i32.const 272) ",\n")
  (data (i32.const 280) "x-multi")
  (data (i32.const 288) "c")
  (data (i32.const 296) "conform: line one\nline two")
  ;; 40000: init-time results, nine i32s
  ;; 512: 2-byte buffer inside 16 sentinel bytes; 1024: value; 2048: keys
  ;; (4096); 8192: body (8192); 16384: output; 32768: itoa scratch.
  (global $out (mut i32) (i32.const 16384))

  (func $emit (param $ptr i32) (param $len i32)
    (memory.copy (global.get $out) (local.get $ptr) (local.get $len))
    (global.set $out (i32.add (global.get $out) (local.get $len))))

  ;; res appends the signed decimal of $v and a comma.
  (func $res (param $v i32)
    (local $len i32) (local $u i32)
    (local.set $u (local.get $v))
    (if (i32.lt_s (local.get $v) (i32.const 0))
      (then (i32.store8 (global.get $out) (i32.const 45))
            (global.set $out (i32.add (global.get $out) (i32.const 1)))
            (local.set $u (i32.sub (i32.const 0) (local.get $v)))))
    (loop $d
      (i32.store8 (i32.add (i32.const 32768) (local.get $len))
        (i32.add (i32.const 48) (i32.rem_u (local.get $u) (i32.const 10))))
      (local.set $len (i32.add (local.get $len) (i32.const 1)))
      (local.set $u (i32.div_u (local.get $u) (i32.const 10)))
      (br_if $d (i32.ne (local.get $u) (i32.const 0))))
    (loop $r
      (local.set $len (i32.sub (local.get $len) (i32.const 1)))
      (i32.store8 (global.get $out) (i32.load8_u (i32.add (i32.const 32768) (local.get $len))))
      (global.set $out (i32.add (global.get $out) (i32.const 1)))
      (br_if $r (i32.ne (local.get $len) (i32.const 0))))
    (call $emit (i32.const 272) (i32.const 1)))

  (func $nl (call $emit (i32.const 273) (i32.const 1)))

  (func (export "bubble_init") (result i32)
    (call $log (i32.const 0) (i32.const 192) (i32.const 13))
    (i32.store (i32.const 40000) (call $env_get (i32.const 0) (i32.const 11) (i32.const 1024) (i32.const 64)))
    (i32.store (i32.const 40004) (call $env_keys (i32.const 2048) (i32.const 64)))
    (i32.store (i32.const 40008) (call $read (i32.const 8192) (i32.const 16)))
    (i32.store (i32.const 40012) (call $write (i32.const 48) (i32.const 3)))
    (i32.store (i32.const 40016) (call $write (i32.const 48) (i32.const 0)))
    (i32.store (i32.const 40020) (call $flush))
    (i32.store (i32.const 40024) (call $set_status (i32.const 201)))
    (i32.store (i32.const 40028) (call $set_header (i32.const 32) (i32.const 8) (i32.const 48) (i32.const 3)))
    (i32.store (i32.const 40032) (call $add_header (i32.const 32) (i32.const 8) (i32.const 48) (i32.const 3)))
    (i32.const 0))

  (func (export "bubble_handle") (result i32)
    (local $n i32) (local $i i32) (local $ok i32) (local $t i32)
    (local $total i32) (local $chunks i32) (local $r i32) (local $rerr i32) (local $room i32)
    (local $w i32)

    ;; 0, 1: size negotiation with a buffer that is too small
    (memory.fill (i32.const 504) (i32.const 0xAA) (i32.const 24))
    (local.set $n (call $env_get (i32.const 0) (i32.const 11) (i32.const 512) (i32.const 2)))
    (call $res (local.get $n))
    (local.set $ok (i32.const 1))
    (local.set $i (i32.const 504))
    (loop $chk
      (if (i32.ne (i32.load8_u (local.get $i)) (i32.const 0xAA)) (then (local.set $ok (i32.const 0))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $chk (i32.lt_u (local.get $i) (i32.const 528))))
    (call $res (local.get $ok))
    ;; 2, 3
    (call $res (call $env_get (i32.const 0) (i32.const 11) (i32.const 1024) (local.get $n)))
    (call $res (call $env_get (i32.const 0) (i32.const 11) (i32.const 1024) (i32.const 64)))
    ;; 4
    (call $res (call $env_get (i32.const 16) (i32.const 11) (i32.const 1024) (i32.const 64)))
    ;; 5, 6
    (local.set $t (call $env_keys (i32.const 2048) (i32.const 0)))
    (call $res (local.get $t))
    (if (i32.gt_u (local.get $t) (i32.const 4096))
      (then (call $res (i32.const -99)) (local.set $t (i32.const 0)))
      (else (call $res (call $env_keys (i32.const 2048) (local.get $t)))))
    ;; 7
    (call $res (call $read (i32.const 8192) (i32.const 0)))
    ;; 8, 9, 10: stream the body 7 bytes at a time
    (block $done
      (loop $rd
        (local.set $room (i32.sub (i32.const 8192) (local.get $total)))
        (br_if $done (i32.eqz (local.get $room)))
        (if (i32.gt_u (local.get $room) (i32.const 7)) (then (local.set $room (i32.const 7))))
        (local.set $r (call $read (i32.add (i32.const 8192) (local.get $total)) (local.get $room)))
        (br_if $done (i32.eqz (local.get $r)))
        (if (i32.lt_s (local.get $r) (i32.const 0))
          (then (local.set $rerr (local.get $r)) (br $done)))
        (local.set $total (i32.add (local.get $total) (local.get $r)))
        (local.set $chunks (i32.add (local.get $chunks) (i32.const 1)))
        (br $rd)))
    (call $res (local.get $total))
    (call $res (local.get $chunks))
    (call $res (local.get $rerr))
    ;; 11
    (call $res (call $read (i32.const 8192) (i32.const 7)))
    ;; 12, 13, 14
    (call $res (call $set_status (i32.const 99)))
    (call $res (call $set_status (i32.const 1000)))
    (call $res (call $set_status (i32.const 201)))
    ;; 15..19
    (call $res (call $set_header (i32.const 32) (i32.const 8) (i32.const 48) (i32.const 3)))
    (call $res (call $add_header (i32.const 56) (i32.const 7) (i32.const 64) (i32.const 1)))
    (call $res (call $add_header (i32.const 56) (i32.const 7) (i32.const 68) (i32.const 1)))
    (call $res (call $set_header (i32.const 72) (i32.const 10) (i32.const 88) (i32.const 3)))
    (call $res (call $set_header (i32.const 72) (i32.const 10) (i32.const 96) (i32.const 3)))
    ;; 20..25
    (call $res (call $set_header (i32.const 104) (i32.const 8) (i32.const 48) (i32.const 3)))
    (call $res (call $set_header (i32.const 240) (i32.const 8) (i32.const 48) (i32.const 3)))
    (call $res (call $set_header (i32.const 32) (i32.const 0) (i32.const 48) (i32.const 3)))
    (call $res (call $set_header (i32.const 32) (i32.const 8) (i32.const 112) (i32.const 10)))
    (call $res (call $set_header (i32.const 32) (i32.const 8) (i32.const 256) (i32.const 9)))
    (call $res (call $add_header (i32.const 104) (i32.const 8) (i32.const 64) (i32.const 1)))
    ;; 26
    (call $res (call $add_header (i32.const 280) (i32.const 7) (i32.const 288) (i32.const 1)))
    (call $nl)
    ;; logs
    (call $log (i32.const 0) (i32.const 128) (i32.const 25))
    (call $log (i32.const 4) (i32.const 160) (i32.const 18))
    (call $log (i32.const 8) (i32.const 296) (i32.const 26))
    ;; lines 2, 3, 4
    (call $emit (i32.const 1024) (local.get $n))
    (call $nl)
    (call $emit (i32.const 2048) (local.get $t))
    (call $nl)
    (call $emit (i32.const 8192) (local.get $total))
    (call $nl)
    (local.set $w (i32.sub (global.get $out) (i32.const 16384)))
    (local.set $r (call $write (i32.const 16384) (local.get $w)))

    ;; line 5
    (global.set $out (i32.const 16384))
    (call $res (i32.eq (local.get $r) (local.get $w)))
    (call $res (call $set_status (i32.const 202)))
    (call $res (call $set_header (i32.const 224) (i32.const 6) (i32.const 232) (i32.const 4)))
    (call $res (call $add_header (i32.const 224) (i32.const 6) (i32.const 232) (i32.const 4)))
    (call $res (call $set_status (i32.const 99)))
    (call $res (call $set_header (i32.const 104) (i32.const 8) (i32.const 48) (i32.const 3)))
    (call $res (call $flush))
    (call $res (call $write (i32.const 0) (i32.const 0)))
    (call $nl)
    ;; line 6
    (local.set $i (i32.const 40000))
    (loop $init
      (call $res (i32.load (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br_if $init (i32.lt_u (local.get $i) (i32.const 40036))))
    (call $nl)
    (drop (call $write (i32.const 16384) (i32.sub (global.get $out) (i32.const 16384))))
    (i32.const 0)))
