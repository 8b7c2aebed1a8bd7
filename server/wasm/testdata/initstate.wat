;; State made by every step of initialization, which a snapshot must keep:
;; a data segment, the start function (sets $started to 40), _initialize
;; (adds 1) and bubble_init (adds 1 and logs "init ran"). Each exchange
;; answers "started=N data=D" and then spoils all of it: under the snapshot
;; lifecycle every exchange answers "started=42 data=initial".
(module
  (import "bubblewasm_v1" "write" (func $write (param i32 i32) (result i32)))
  (import "bubblewasm_v1" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "started=   data=initial")
  (data (i32.const 64) "init ran")
  (global $started (mut i32) (i32.const 0))
  (func $start (global.set $started (i32.const 40)))
  (start $start)
  (func (export "_initialize") (global.set $started (i32.add (global.get $started) (i32.const 1))))
  (func (export "bubble_init") (result i32)
    (global.set $started (i32.add (global.get $started) (i32.const 1)))
    (call $log (i32.const 1) (i32.const 64) (i32.const 8))
    (i32.const 0))
  (func (export "bubble_handle") (result i32)
    (i32.store8 (i32.const 8) (i32.add (i32.const 48) (i32.div_u (global.get $started) (i32.const 10))))
    (i32.store8 (i32.const 9) (i32.add (i32.const 48) (i32.rem_u (global.get $started) (i32.const 10))))
    (drop (call $write (i32.const 0) (i32.const 10)))
    (drop (call $write (i32.const 10) (i32.const 13)))
    (global.set $started (i32.const 99))
    (memory.fill (i32.const 16) (i32.const 88) (i32.const 7))
    (i32.const 0)))
