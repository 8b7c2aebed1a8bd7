// Package abi is bubblewasm's guest–host contract, version 1.
//
// It owns three things: the normative document (ABI.md, and ENV.md for the
// environment keys), a Go constant for every import, export, error code and
// env key named there, and the host side of every core import, written once
// against two small interfaces — [Memory] (the guest's linear memory) and
// [Exchange] (the host's view of one unit of work) — so that each wasm engine
// is only an adapter that moves parameters in and results out.
//
// The package depends on the standard library only.
package abi
