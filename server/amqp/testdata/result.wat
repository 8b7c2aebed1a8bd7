;; result.wat: the reliability tests' handler. It writes
;;
;;     <amqp.message_id> " " <amqp.redelivered> "\n" <the body, byte for byte>
;;
;; (a missing env key writes nothing in its place, so over HTTP the output
;; is " \n" followed by the body). The body is copied as bytes: whatever a
;; delivery holds, UTF-8 or not, comes back unchanged. At most 60 KiB of it.
(module
  (import "bubblewasm_v1" "env_get" (func $env_get (param i32 i32 i32 i32) (result i32)))
  (import "bubblewasm_v1" "read" (func $read (param i32 i32) (result i32)))
  (import "bubblewasm_v1" "write" (func $write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "amqp.message_id")   ;; 15 bytes
  (data (i32.const 32) "amqp.redelivered") ;; 16 bytes
  (data (i32.const 64) " \n")
  ;; 1024: message id (1 KiB); 2048: redelivered (16 B); 4096..65536: body

  ;; $env writes the value of the key at $k (length $kl) through a buffer
  ;; of $n bytes at $b, or nothing when it is missing or too long.
  (func $env (param $k i32) (param $kl i32) (param $b i32) (param $n i32) (result i32)
    (local $r i32)
    (local.set $r (call $env_get (local.get $k) (local.get $kl) (local.get $b) (local.get $n)))
    (if (i32.and (i32.gt_s (local.get $r) (i32.const 0)) (i32.le_s (local.get $r) (local.get $n)))
      (then (if (i32.lt_s (call $write (local.get $b) (local.get $r)) (i32.const 0))
        (then (return (i32.const 1))))))
    (i32.const 0))

  (func (export "bubble_handle") (result i32)
    (local $r i32)
    (if (call $env (i32.const 0) (i32.const 15) (i32.const 1024) (i32.const 1024)) (then (return (i32.const 1))))
    (if (i32.lt_s (call $write (i32.const 64) (i32.const 1)) (i32.const 0)) (then (return (i32.const 1))))
    (if (call $env (i32.const 32) (i32.const 16) (i32.const 2048) (i32.const 16)) (then (return (i32.const 1))))
    (if (i32.lt_s (call $write (i32.const 65) (i32.const 1)) (i32.const 0)) (then (return (i32.const 1))))
    (block $eof
      (loop $rd
        (local.set $r (call $read (i32.const 4096) (i32.const 61440)))
        (br_if $eof (i32.eqz (local.get $r)))
        (if (i32.lt_s (local.get $r) (i32.const 0)) (then (return (i32.const 2))))
        (if (i32.lt_s (call $write (i32.const 4096) (local.get $r)) (i32.const 0)) (then (return (i32.const 1))))
        (br $rd)))
    (i32.const 0)))
