;; Hostile: bubble_handle executes `unreachable` at once, so every exchange
;; traps. The host must answer 500 and keep serving other requests.
(module
  (memory (export "memory") 1)
  (func (export "bubble_handle") (result i32)
    unreachable))
