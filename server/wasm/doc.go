// Package wasm owns the route handler that runs WebAssembly modules: module
// loading and validation against the ABI, the instance lifecycle (a fresh
// instance per exchange, or a pool of reused ones), per-route limits
// (timeout, memory, concurrency and its bounded wait queue, queue.go), the
// process-wide bounds routes share (a
// gate on guest runs, a memory budget; resources.go), and the engine
// interface that each wasm
// runtime adapts to, and parking (park.go): an exchange whose run hands its
// wait to the host is held without an instance and run again when the
// wait ends; which routes keep their module loaded when there are more
// than the machine should hold (resident.go, with the spill file of
// spill.go); and the on-disk cache of modules prepared for compiling
// (prepared.go). The host functions themselves live in package abi and
// are shared by every engine.
package wasm
