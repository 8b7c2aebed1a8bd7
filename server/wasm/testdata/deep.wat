;; Hostile but finite: recurses 600000 frames deep (the frames of recurse.wat)
;; and returns 0, so the exchange succeeds. The engine has to grow its call
;; stack to hold it; with a pool, that stack may stay with the instance.
(module
  (memory (export "memory") 1)
  (func $down (param $n i64) (result i64)
    (local $a i64) (local $b i64)
    (if (i64.ge_u (local.get $n) (i64.const 600000)) (then (return (i64.const 0))))
    (local.set $a (i64.add (local.get $n) (i64.const 1)))
    (local.set $b (call $down (local.get $a)))
    (i64.add (local.get $a) (local.get $b)))
  (func (export "bubble_handle") (result i32)
    (drop (call $down (i64.const 0)))
    (i32.const 0)))
