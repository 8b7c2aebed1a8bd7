;; WebSocket test handler. On websocket.event=open: output "welcome" and
;; follow the channel "news". On a message: "trap" traps; "follow NAME"
;; follows NAME and answers "following"; "env:KEY" answers env KEY; other
;; input (up to 60 KiB) is echoed.
(module
  (import "bubblewasm_v1" "read" (func $read (param i32 i32) (result i32)))
  (import "bubblewasm_v1" "write" (func $write (param i32 i32) (result i32)))
  (import "bubblewasm_v1" "env_get" (func $env_get (param i32 i32 i32 i32) (result i32)))
  (import "bubblewasm_v1" "set_header" (func $set_header (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "trap")
  (data (i32.const 8) "follow ")
  (data (i32.const 16) "env:")
  (data (i32.const 32) "X-Bubble-Follow")
  (data (i32.const 64) "websocket.event")
  (data (i32.const 96) "open")
  (data (i32.const 104) "news")
  (data (i32.const 112) "welcome")
  (data (i32.const 128) "following")
  ;; memeq reports whether n bytes at a and b are equal.
  (func $memeq (param $a i32) (param $b i32) (param $n i32) (result i32)
    (block $ne
      (loop $l
        (if (i32.eqz (local.get $n)) (then (return (i32.const 1))))
        (br_if $ne (i32.ne (i32.load8_u (local.get $a)) (i32.load8_u (local.get $b))))
        (local.set $a (i32.add (local.get $a) (i32.const 1)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $l)))
    (i32.const 0))
  (func (export "bubble_handle") (result i32)
    (local $n i32) (local $total i32)
    ;; the open event
    (if (i32.and
          (i32.eq (call $env_get (i32.const 64) (i32.const 15) (i32.const 2048) (i32.const 1024)) (i32.const 4))
          (call $memeq (i32.const 2048) (i32.const 96) (i32.const 4)))
      (then
        (drop (call $set_header (i32.const 32) (i32.const 15) (i32.const 104) (i32.const 4)))
        (drop (call $write (i32.const 112) (i32.const 7)))
        (return (i32.const 0))))
    (block $eof
      (loop $rd
        (br_if $eof (i32.ge_u (local.get $total) (i32.const 61440)))
        (local.set $n (call $read (i32.add (i32.const 4096) (local.get $total)) (i32.sub (i32.const 61440) (local.get $total))))
        (br_if $eof (i32.le_s (local.get $n) (i32.const 0)))
        (local.set $total (i32.add (local.get $total) (local.get $n)))
        (br $rd)))
    (if (i32.and (i32.eq (local.get $total) (i32.const 4)) (call $memeq (i32.const 4096) (i32.const 0) (i32.const 4)))
      (then unreachable))
    (if (i32.and (i32.gt_u (local.get $total) (i32.const 7)) (call $memeq (i32.const 4096) (i32.const 8) (i32.const 7)))
      (then
        (drop (call $set_header (i32.const 32) (i32.const 15) (i32.const 4103) (i32.sub (local.get $total) (i32.const 7))))
        (drop (call $write (i32.const 128) (i32.const 9)))
        (return (i32.const 0))))
    (if (i32.and (i32.gt_u (local.get $total) (i32.const 4)) (call $memeq (i32.const 4096) (i32.const 16) (i32.const 4)))
      (then
        (local.set $n (call $env_get (i32.const 4100) (i32.sub (local.get $total) (i32.const 4)) (i32.const 2048) (i32.const 1024)))
        (if (i32.gt_s (local.get $n) (i32.const 0))
          (then (drop (call $write (i32.const 2048) (local.get $n)))))
        (return (i32.const 0))))
    (drop (call $write (i32.const 4096) (local.get $total)))
    (i32.const 0)))
