;; Hostile: writes 64 KiB at a time for ever (until write fails). Against a
;; client that never reads, every write eventually blocks in the host; the
;; route timeout must still end the exchange.
(module
  (import "bubblewasm_v1" "write" (func $write (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "bubble_handle") (result i32)
    (loop $more
      (br_if $more (i32.ge_s (call $write (i32.const 0) (i32.const 65536)) (i32.const 0))))
    (i32.const 1)))
