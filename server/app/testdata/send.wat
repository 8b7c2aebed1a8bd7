;; Signals: send the request body to job.<QUERY_STRING>.
;;
;; bubble_handle reads the body (at most 32 KiB), calls
;;     bubblewasm_signal_v1.send("job." + QUERY_STRING, body)
;; and writes the number of waiters woken, "<n>\n", or "error <code>\n".
(module
  (import "bubblewasm_v1" "env_get" (func $env_get (param i32 i32 i32 i32) (result i32)))
  (import "bubblewasm_v1" "read" (func $read (param i32 i32) (result i32)))
  (import "bubblewasm_v1" "write" (func $write (param i32 i32) (result i32)))
  (import "bubblewasm_signal_v1" "send" (func $send (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "QUERY_STRING")
  (data (i32.const 96) "error ")
  (data (i32.const 112) "\n")
  (data (i32.const 256) "job.")
  ;; 1024: itoa scratch; 32768: body (32 KiB)

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
    (local $q i32) (local $r i32) (local $total i32) (local $n i32)
    (local.set $q (call $env_get (i32.const 0) (i32.const 12) (i32.const 260) (i32.const 252)))
    (if (i32.lt_s (local.get $q) (i32.const 0)) (then (local.set $q (i32.const 0))))
    (if (i32.gt_s (local.get $q) (i32.const 252)) (then (return (i32.const 1))))
    (block $eof
      (loop $rd
        (br_if $eof (i32.ge_u (local.get $total) (i32.const 32768)))
        (local.set $r (call $read (i32.add (i32.const 32768) (local.get $total))
          (i32.sub (i32.const 32768) (local.get $total))))
        (br_if $eof (i32.eqz (local.get $r)))
        (if (i32.lt_s (local.get $r) (i32.const 0)) (then (return (i32.const 2))))
        (local.set $total (i32.add (local.get $total) (local.get $r)))
        (br $rd)))
    (local.set $n (call $send (i32.const 256) (i32.add (i32.const 4) (local.get $q))
      (i32.const 32768) (local.get $total)))
    (if (i32.lt_s (local.get $n) (i32.const 0))
      (then (call $w (i32.const 96) (i32.const 6))))
    (call $wint (local.get $n))
    (call $w (i32.const 112) (i32.const 1))
    (i32.const 0)))
