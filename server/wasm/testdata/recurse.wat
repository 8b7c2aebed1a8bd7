;; Hostile: unbounded recursion. $down calls itself with no base case, so the
;; engine must trap with a stack overflow. Each frame carries a few live
;; locals so frames are not trivially small.
(module
  (memory (export "memory") 1)
  (func $down (param $n i64) (result i64)
    (local $a i64) (local $b i64)
    (local.set $a (i64.add (local.get $n) (i64.const 1)))
    (local.set $b (call $down (local.get $a)))
    (i64.add (local.get $a) (local.get $b)))
  (func (export "bubble_handle") (result i32)
    (i32.wrap_i64 (call $down (i64.const 0)))))
