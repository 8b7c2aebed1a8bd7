;; Hostile: bubble_handle never returns. With QUERY_STRING "host" the loop
;; calls a host function (env_get) on every turn, so the interruption must
;; also work while the guest keeps crossing into the host; otherwise it is a
;; pure `br` loop with no calls at all. Only the route timeout can end it.
(module
  (import "bubblewasm_v1" "env_get" (func $env_get (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "QUERY_STRING")
  (func (export "bubble_handle") (result i32)
    (local $n i32)
    (local.set $n (call $env_get (i32.const 0) (i32.const 12) (i32.const 64) (i32.const 16)))
    ;; "host" = 0x74736f68 little-endian
    (if (i32.and (i32.eq (local.get $n) (i32.const 4))
                 (i32.eq (i32.load (i32.const 64)) (i32.const 0x74736f68)))
      (then
        (loop $spin_host
          (drop (call $env_get (i32.const 0) (i32.const 12) (i32.const 64) (i32.const 16)))
          (br $spin_host))))
    (loop $spin
      (br $spin))
    (i32.const 0)))
