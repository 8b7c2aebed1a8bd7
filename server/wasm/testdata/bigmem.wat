;; Hostile: declares an initial memory of 32 pages (2 MiB). With a route cap
;; of 16 pages the module must be refused at load time.
(module
  (memory (export "memory") 32)
  (func (export "bubble_handle") (result i32)
    (i32.const 0)))
