;; Parking (bubblewasm_park_v1): the first run stashes QUERY_STRING, writes
;; "first\n" and parks according to PATH_INFO's first letter:
;;
;;   /t  sleep 20 ms          /l  sleep 10 minutes
;;   /s  signal QUERY_STRING  /m  message QUERY_STRING (30 s)
;;   /f  as /t, flushing "first\n" before it parks
;;   /x  as /t, then fails (returns 1)
;;   /c  as /t, then cancels its wait
;;   /r  as /t, and parks again on each resumed run until resume is 3
;;   /i  reads 5 bytes of the body, then as /t; the resumed run reads the rest
;;   /b  stashes 4097 bytes (too large)
;;
;; A park function that fails sets the status to 600 minus its result
;; (ERR_FULL -9: 609) and writes "parkerr". A resumed run writes
;; "wake=W;state=S;payload=P;resume=N\n" (and /i "input=REST\n").
;; bubble_init checks that parking is refused while the instance starts.
(module
  (import "bubblewasm_v1" "env_get" (func $env_get (param i32 i32 i32 i32) (result i32)))
  (import "bubblewasm_v1" "read" (func $read (param i32 i32) (result i32)))
  (import "bubblewasm_v1" "write" (func $write (param i32 i32) (result i32)))
  (import "bubblewasm_v1" "flush" (func $flush (result i32)))
  (import "bubblewasm_v1" "set_status" (func $set_status (param i32) (result i32)))
  (import "bubblewasm_park_v1" "message" (func $park_message (param i32 i32 i32) (result i32)))
  (import "bubblewasm_park_v1" "signal" (func $park_signal (param i32 i32 i32) (result i32)))
  (import "bubblewasm_park_v1" "sleep" (func $park_sleep (param i32) (result i32)))
  (import "bubblewasm_park_v1" "cancel" (func $park_cancel (result i32)))
  (import "bubblewasm_park_v1" "stash" (func $stash (param i32 i32) (result i32)))
  (import "bubblewasm_park_v1" "state" (func $state (param i32 i32) (result i32)))
  (import "bubblewasm_park_v1" "payload" (func $payload (param i32 i32) (result i32)))
  (memory (export "memory") 3)
  (data (i32.const 0) "bubble.wake")
  (data (i32.const 16) "bubble.resume")
  (data (i32.const 32) "PATH_INFO")
  (data (i32.const 48) "QUERY_STRING")
  (data (i32.const 64) "first\n")
  (data (i32.const 80) "wake=")
  (data (i32.const 96) ";state=")
  (data (i32.const 112) ";payload=")
  (data (i32.const 128) ";resume=")
  (data (i32.const 144) "\n")
  (data (i32.const 148) "parkerr")
  (data (i32.const 160) "input=")

  ;; $copy writes n bytes at p when n >= 0 (a result that fitted).
  (func $put (param $p i32) (param $n i32)
    (if (i32.ge_s (local.get $n) (i32.const 0))
      (then (drop (call $write (local.get $p) (local.get $n))))))

  ;; $parkerr reports a failed park call r: status 600 - r, "parkerr".
  (func $parkerr (param $r i32) (result i32)
    (drop (call $set_status (i32.sub (i32.const 600) (local.get $r))))
    (drop (call $write (i32.const 148) (i32.const 7)))
    (i32.const 0))

  (func $first (result i32)
    (local $path i32) (local $q i32) (local $r i32) (local $op i32)
    (local.set $path (call $env_get (i32.const 32) (i32.const 9) (i32.const 1024) (i32.const 64)))
    (if (i32.lt_s (local.get $path) (i32.const 2)) (then (return (i32.const 10))))
    (local.set $op (i32.load8_u (i32.const 1025)))
    (local.set $q (call $env_get (i32.const 48) (i32.const 12) (i32.const 1100) (i32.const 256)))
    (if (i32.lt_s (local.get $q) (i32.const 0)) (then (local.set $q (i32.const 0))))
    (if (i32.eq (local.get $op) (i32.const 98)) ;; b
      (then (return (call $parkerr (call $stash (i32.const 0) (i32.const 4097))))))
    (local.set $r (call $stash (i32.const 1100) (local.get $q)))
    (if (i32.lt_s (local.get $r) (i32.const 0)) (then (return (call $parkerr (local.get $r)))))
    (if (i32.eq (local.get $op) (i32.const 105)) ;; i: read 5 bytes now
      (then (drop (call $read (i32.const 12288) (i32.const 5)))))
    (block $done
      (if (i32.eq (local.get $op) (i32.const 115)) ;; s
        (then (local.set $r (call $park_signal (i32.const 1100) (local.get $q) (i32.const 30000))) (br $done)))
      (if (i32.eq (local.get $op) (i32.const 109)) ;; m
        (then (local.set $r (call $park_message (i32.const 1100) (local.get $q) (i32.const 30000))) (br $done)))
      (if (i32.eq (local.get $op) (i32.const 108)) ;; l
        (then (local.set $r (call $park_sleep (i32.const 600000))) (br $done)))
      (local.set $r (call $park_sleep (i32.const 20))))
    (if (i32.lt_s (local.get $r) (i32.const 0)) (then (return (call $parkerr (local.get $r)))))
    (drop (call $write (i32.const 64) (i32.const 6)))
    (if (i32.eq (local.get $op) (i32.const 102)) ;; f
      (then (drop (call $flush))))
    (if (i32.eq (local.get $op) (i32.const 99)) ;; c
      (then (drop (call $park_cancel))))
    (if (i32.eq (local.get $op) (i32.const 120)) ;; x
      (then (return (i32.const 1))))
    (i32.const 0))

  (func $resumed (param $wake i32) (result i32)
    (local $n i32) (local $resume i32) (local $r i32)
    (drop (call $write (i32.const 80) (i32.const 5)))
    (call $put (i32.const 2048) (local.get $wake))
    (drop (call $write (i32.const 96) (i32.const 7)))
    (call $put (i32.const 4096) (call $state (i32.const 4096) (i32.const 8192)))
    (drop (call $write (i32.const 112) (i32.const 9)))
    (call $put (i32.const 65536) (call $payload (i32.const 65536) (i32.const 65536)))
    (drop (call $write (i32.const 128) (i32.const 8)))
    (local.set $n (call $env_get (i32.const 16) (i32.const 13) (i32.const 2200) (i32.const 16)))
    (call $put (i32.const 2200) (local.get $n))
    (drop (call $write (i32.const 144) (i32.const 1)))
    (local.set $resume (i32.load8_u (i32.const 2200)))
    (drop (call $env_get (i32.const 32) (i32.const 9) (i32.const 1024) (i32.const 64)))
    (if (i32.eq (i32.load8_u (i32.const 1025)) (i32.const 105)) ;; i: the rest of the input
      (then
        (drop (call $write (i32.const 160) (i32.const 6)))
        (block $eof
          (loop $rd
            (local.set $r (call $read (i32.const 12288) (i32.const 256)))
            (br_if $eof (i32.le_s (local.get $r) (i32.const 0)))
            (drop (call $write (i32.const 12288) (local.get $r)))
            (br $rd)))
        (drop (call $write (i32.const 144) (i32.const 1)))))
    (if (i32.and (i32.eq (i32.load8_u (i32.const 1025)) (i32.const 114)) ;; r
                 (i32.lt_u (local.get $resume) (i32.const 51))) ;; '3'
      (then
        (local.set $r (call $park_sleep (i32.const 20)))
        (if (i32.lt_s (local.get $r) (i32.const 0)) (then (return (i32.const 20))))))
    (i32.const 0))

  ;; While the instance initializes there is no exchange to park: every
  ;; registration and the stash answer ERR_CLOSED (-4), else init fails.
  (func (export "bubble_init") (result i32)
    (if (i32.ne (call $park_sleep (i32.const 10)) (i32.const -4)) (then (return (i32.const 1))))
    (if (i32.ne (call $stash (i32.const 0) (i32.const 1)) (i32.const -4)) (then (return (i32.const 2))))
    (if (i32.ne (call $state (i32.const 0) (i32.const 1)) (i32.const -1)) (then (return (i32.const 3))))
    (i32.const 0))

  (func (export "bubble_handle") (result i32)
    (local $wake i32)
    (local.set $wake (call $env_get (i32.const 0) (i32.const 11) (i32.const 2048) (i32.const 64)))
    (if (result i32) (i32.lt_s (local.get $wake) (i32.const 0))
      (then (call $first))
      (else (call $resumed (local.get $wake))))))
