// Package abi is bubblewasm's guest–host contract, version 1.
//
// It owns three things: the normative document (ABI.md, and ENV.md for the
// environment keys), a Go constant for every import, export, error code and
// env key named there, and the host side of every core import, written once
// against two small interfaces — [Memory] (the guest's linear memory) and
// [Exchange] (the host's view of one unit of work) — so that each wasm engine
// is only an adapter that moves parameters in and results out.
//
// The values and rules both sides of the ABI need (result codes, log
// levels, size limits, header and name rules) live in the leaf package
// abi/spec, which the Go guest SDK imports; this package re-exports them
// under the names it has always had, for host code.
//
// The package depends on the standard library and abi/spec only.
package abi
