;; Bad module: imports env.foo, from a module the server does not provide.
(module
  (import "env" "foo" (func $foo))
  (memory (export "memory") 1)
  (func (export "bubble_handle") (result i32) (call $foo) (i32.const 0)))
