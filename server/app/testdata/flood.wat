;; A guest that floods what the host does on its behalf, one operation per
;; exchange, chosen by request headers (X-Count: repetitions, default 1):
;;
;;   X-Op: log        X-Len: L  X-Level: V   log(V, L bytes of 'x'), X-Count times
;;   X-Op: stdout     X-Len: L               L bytes of 'x' and "\n" to stdout, X-Count times
;;   X-Op: deny                              publish "x" to "secret" (not granted), X-Count times
;;   X-Op: subscribe                         subscribe to "chat" X-Count times or until an error
;;
;; The answer is "done <n>\n", or "error <code> after <n>\n" at the first
;; negative result (n: the calls that succeeded).
(module
  (import "bubblewasm_v1" "env_get" (func $env_get (param i32 i32 i32 i32) (result i32)))
  (import "bubblewasm_v1" "write" (func $write (param i32 i32) (result i32)))
  (import "bubblewasm_v1" "log" (func $log (param i32 i32 i32)))
  (import "bubblewasm_pubsub_v1" "publish" (func $publish (param i32 i32 i32 i32) (result i32)))
  (import "bubblewasm_pubsub_v1" "subscribe" (func $subscribe (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  ;; 18 pages: room for a 1 MiB record and its newline at 65536.
  (memory (export "memory") 18)
  (data (i32.const 0) "HTTP_X_OP")
  (data (i32.const 16) "HTTP_X_COUNT")
  (data (i32.const 32) "HTTP_X_LEN")
  (data (i32.const 48) "HTTP_X_LEVEL")
  (data (i32.const 64) "secret")
  (data (i32.const 72) "chat")
  (data (i32.const 80) "\n")
  (data (i32.const 96) "error ")
  (data (i32.const 112) "done ")
  (data (i32.const 128) " after ")
  ;; 256: op; 272, 288, 304: digits of count, len, level; 1024: itoa
  ;; scratch; 2048: iovec; 2064: nwritten; 4096: subscription id (64);
  ;; 65536: the payload

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

  (func $num (param $kptr i32) (param $klen i32) (param $buf i32) (param $def i32) (result i32)
    (local $n i32)
    (local.set $n (call $env_get (local.get $kptr) (local.get $klen) (local.get $buf) (i32.const 16)))
    (if (i32.or (i32.le_s (local.get $n) (i32.const 0)) (i32.gt_s (local.get $n) (i32.const 16)))
      (then (return (local.get $def))))
    (call $atoi (local.get $buf) (local.get $n)))

  (func $done (param $n i32) (result i32)
    (call $w (i32.const 112) (i32.const 5))
    (call $wint (local.get $n))
    (call $w (i32.const 80) (i32.const 1))
    (i32.const 0))

  (func $fail (param $code i32) (param $n i32) (result i32)
    (call $w (i32.const 96) (i32.const 6))
    (call $wint (local.get $code))
    (call $w (i32.const 128) (i32.const 7))
    (call $wint (local.get $n))
    (call $w (i32.const 80) (i32.const 1))
    (i32.const 0))

  (func (export "bubble_handle") (result i32)
    (local $op i32) (local $count i32) (local $len i32) (local $level i32) (local $i i32) (local $r i32)
    (local.set $op (call $env_get (i32.const 0) (i32.const 9) (i32.const 256) (i32.const 16)))
    (if (i32.le_s (local.get $op) (i32.const 0)) (then (return (i32.const 1))))
    (local.set $count (call $num (i32.const 16) (i32.const 12) (i32.const 272) (i32.const 1)))
    (local.set $len (call $num (i32.const 32) (i32.const 10) (i32.const 288) (i32.const 1)))
    (local.set $level (call $num (i32.const 48) (i32.const 12) (i32.const 304) (i32.const 0)))
    (if (i32.gt_u (local.get $len) (i32.const 1048576)) (then (local.set $len (i32.const 1048576))))
    ;; the payload: len bytes of 'x', then "\n"
    (block $filled
      (loop $f
        (br_if $filled (i32.ge_u (local.get $i) (local.get $len)))
        (i32.store8 (i32.add (i32.const 65536) (local.get $i)) (i32.const 120))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $f)))
    (i32.store8 (i32.add (i32.const 65536) (local.get $len)) (i32.const 10))
    (i32.store (i32.const 2048) (i32.const 65536))
    (i32.store (i32.const 2052) (i32.add (local.get $len) (i32.const 1)))
    (local.set $i (i32.const 0))
    (block $end
      (loop $each
        (br_if $end (i32.ge_s (local.get $i) (local.get $count)))
        ;; 'l'og
        (if (i32.eq (i32.load8_u (i32.const 256)) (i32.const 108))
          (then (call $log (local.get $level) (i32.const 65536) (local.get $len))))
        ;; 's'tdout / 's'ubscribe: the second letter tells them apart
        (if (i32.eq (i32.load16_u (i32.const 256)) (i32.const 0x7473)) ;; "st"
          (then (drop (call $fd_write (i32.const 1) (i32.const 2048) (i32.const 1) (i32.const 2064)))))
        (if (i32.eq (i32.load16_u (i32.const 256)) (i32.const 0x7573)) ;; "su"
          (then
            (local.set $r (call $subscribe (i32.const 72) (i32.const 4) (i32.const 4096) (i32.const 64)))
            (if (i32.lt_s (local.get $r) (i32.const 0))
              (then (return (call $fail (local.get $r) (local.get $i)))))))
        ;; 'd'eny
        (if (i32.eq (i32.load8_u (i32.const 256)) (i32.const 100))
          (then
            (local.set $r (call $publish (i32.const 64) (i32.const 6) (i32.const 65536) (i32.const 1)))
            (if (i32.ne (local.get $r) (i32.const -8))
              (then (return (call $fail (local.get $r) (local.get $i)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))
    (call $done (local.get $i)))
)
