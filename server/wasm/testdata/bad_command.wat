;; Bad module: a WASI command module. It exports _start (and memory) but no
;; bubble_handle, like a plain `main` program built for wasip1.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") (call $exit (i32.const 0))))
