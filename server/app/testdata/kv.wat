;; Key-value through bubblewasm_kv_v1 on the route's namespace, one
;; operation per exchange, chosen by request headers:
;;
;;   X-Op: set     X-Key: K  [X-Ttl-Ms: ttl, default 0]  body = value -> "ok\n"
;;   X-Op: get     X-Key: K  [X-Buf: first buffer, default 24576]
;;       -> "value: <v>\n", or, when v did not fit the first buffer, the
;;          guest gets it again with a buffer of the announced size:
;;          "retried value: <v>\n"
;;   X-Op: delete  X-Key: K  -> "ok\n"
;;
;; Any negative result is answered "error <code>\n" (ERR_NOT_FOUND is -1).
(module
  (import "bubblewasm_v1" "env_get" (func $env_get (param i32 i32 i32 i32) (result i32)))
  (import "bubblewasm_v1" "read" (func $read (param i32 i32) (result i32)))
  (import "bubblewasm_v1" "write" (func $write (param i32 i32) (result i32)))
  (import "bubblewasm_kv_v1" "get" (func $get (param i32 i32 i32 i32) (result i32)))
  (import "bubblewasm_kv_v1" "set" (func $set (param i32 i32 i32 i32 i32) (result i32)))
  (import "bubblewasm_kv_v1" "delete" (func $delete (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "HTTP_X_OP")
  (data (i32.const 16) "HTTP_X_KEY")
  (data (i32.const 32) "HTTP_X_TTL_MS")
  (data (i32.const 48) "HTTP_X_BUF")
  (data (i32.const 96) "error ")
  (data (i32.const 104) "\n")
  (data (i32.const 112) "ok\n")
  (data (i32.const 128) "value: ")
  (data (i32.const 144) "retried value: ")
  (data (i32.const 176) "bad op\n")
  ;; 256: op; 272: key (256 bytes); 704: X-Ttl-Ms digits; 720: X-Buf
  ;; digits; 1024: itoa scratch; 8192: value (24576 bytes)

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

  (func $result (param $code i32) (result i32)
    (if (i32.eqz (local.get $code))
      (then (call $w (i32.const 112) (i32.const 3)) (return (i32.const 0))))
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

  (func $num (param $kptr i32) (param $klen i32) (param $buf i32) (param $def i32) (result i32)
    (local $n i32)
    (local.set $n (call $env_get (local.get $kptr) (local.get $klen) (local.get $buf) (i32.const 16)))
    (if (i32.or (i32.le_s (local.get $n) (i32.const 0)) (i32.gt_s (local.get $n) (i32.const 16)))
      (then (return (local.get $def))))
    (call $atoi (local.get $buf) (local.get $n)))

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
    (local $op i32) (local $key i32) (local $buf i32) (local $r i32)
    (local.set $op (call $env_get (i32.const 0) (i32.const 9) (i32.const 256) (i32.const 16)))
    (local.set $key (call $env_get (i32.const 16) (i32.const 10) (i32.const 272) (i32.const 256)))
    (if (i32.or (i32.lt_s (local.get $key) (i32.const 0)) (i32.gt_s (local.get $key) (i32.const 256)))
      (then (local.set $key (i32.const 0))))
    (if (i32.le_s (local.get $op) (i32.const 0))
      (then (call $w (i32.const 176) (i32.const 7)) (return (i32.const 0))))

    ;; 's'et
    (if (i32.eq (i32.load8_u (i32.const 256)) (i32.const 115))
      (then
        (return (call $result (call $set (i32.const 272) (local.get $key) (i32.const 8192) (call $body)
          (call $num (i32.const 32) (i32.const 13) (i32.const 704) (i32.const 0)))))))

    ;; 'g'et
    (if (i32.eq (i32.load8_u (i32.const 256)) (i32.const 103))
      (then
        (local.set $buf (call $num (i32.const 48) (i32.const 10) (i32.const 720) (i32.const 24576)))
        (if (i32.gt_u (local.get $buf) (i32.const 24576)) (then (local.set $buf (i32.const 24576))))
        (local.set $r (call $get (i32.const 272) (local.get $key) (i32.const 8192) (local.get $buf)))
        (if (i32.lt_s (local.get $r) (i32.const 0)) (then (return (call $result (local.get $r)))))
        (if (i32.le_s (local.get $r) (local.get $buf))
          (then
            (call $w (i32.const 128) (i32.const 7))
            (call $w (i32.const 8192) (local.get $r))
            (call $w (i32.const 104) (i32.const 1))
            (return (i32.const 0))))
        (if (i32.gt_u (local.get $r) (i32.const 24576)) (then (return (call $result (i32.const -7)))))
        (local.set $buf (local.get $r))
        (local.set $r (call $get (i32.const 272) (local.get $key) (i32.const 8192) (local.get $buf)))
        (if (i32.lt_s (local.get $r) (i32.const 0)) (then (return (call $result (local.get $r)))))
        (call $w (i32.const 144) (i32.const 15))
        (call $w (i32.const 8192) (select (local.get $r) (local.get $buf) (i32.le_s (local.get $r) (local.get $buf))))
        (call $w (i32.const 104) (i32.const 1))
        (return (i32.const 0))))

    ;; 'd'elete
    (if (i32.eq (i32.load8_u (i32.const 256)) (i32.const 100))
      (then (return (call $result (call $delete (i32.const 272) (local.get $key))))))

    (call $w (i32.const 176) (i32.const 7))
    (i32.const 0)))
