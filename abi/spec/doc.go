// Package spec holds the values and rules of ABI version 1 (../ABI.md) that
// both sides of the ABI need: the result codes and their names, the log
// levels, the size limits of arguments, the rules for response headers and
// the rules for channel, signal and namespace names with their grant
// patterns.
//
// It is the one home of those values. Package abi (the host side) and
// package server/events use it, and so does the Go guest SDK, which is
// compiled into every Go handler module. That is why spec is a leaf: it
// imports only package strings, which the guest SDK links anyway (never
// fmt, reflect or net, which add hundreds of KiB to a module), and
// declares no variable that needs initializing, so a guest pays only for
// the constants and functions it uses. Package abi, which implements the host functions, imports context,
// net, log/slog and fmt, and a guest must not link it.
//
// The names of imports and exports (bubblewasm_v1, read, bubble_handle)
// stay in package abi: a Go guest spells them in //go:wasmimport and
// //go:wasmexport directives, which cannot refer to constants, and the
// guest SDK's tests check those directives against abi.Modules.
//
// Functions that check text take a string or a byte slice ([Text]), so the
// host checks guest memory in place and a guest checks its strings, with
// the same code.
package spec
