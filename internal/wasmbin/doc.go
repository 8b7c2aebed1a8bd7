// Package wasmbin reads WebAssembly binary modules with bounded work, for
// the load-time rewrites (server/wasm) and `bubblewasm inspect`, before any
// engine sees a byte.
//
// Parse walks the structure of every section of a WebAssembly 2.0 module:
// types, imports, functions, tables, memories, globals and their constant
// expressions, exports, the start function, element segments, the data
// count, code entries (their sizes and local declarations), data segments,
// and the "name" custom section's subsections. It stops at the first error,
// which names the section and the byte offset where reading failed.
// Module.Instructions decodes a function body on demand: every
// WebAssembly 2.0 instruction with its immediates, the 0xfc and 0xfd
// prefixes included, so that a caller can find the instructions it cares
// about (the snapshot analysis looks for those that change tables and
// segments).
//
// # Bounds
//
// Work and memory are linear in the size of the input, whatever the input
// claims:
//
//   - every vector count is checked against the bytes left in its section
//     before anything is allocated for it (each element takes at least one
//     byte, most more);
//   - every LEB128 number is decoded strictly (at most 5 bytes for 32 bits,
//     unused bits zero or sign), so no reader loops on a long number;
//   - the one quantity a few bytes can multiply — local variables, which a
//     function declares as (count, type) pairs — is capped: MaxFunctionLocals
//     per function, as wasmtime's parser does, and MaxModuleLocals in all.
//
// # What is not checked
//
// Instructions inside function bodies, type rules and index ranges are
// validation, the engine's job (server/wasm has the engine validate a
// module before rewriting it). Where the two engines disagree, the reader
// settles it, so a module loads on both or on neither: it refuses
// encodings outside the feature set both are configured for (WebAssembly
// 2.0: no GC types, tags, 64-bit memories, extended constant expressions),
// and a constant expression that reads a global other than an imported
// immutable one (2.0's rule, which wazero does not apply).
//
// # Custom sections
//
// Custom sections are recorded (name, offset, size); their framing (a name
// that fits its section and is UTF-8) is checked, since a malformed one
// makes the module malformed. Their contents are opaque, except the "name"
// section: a well-formed one is decoded into Names, a malformed one is
// ignored (NamesError says why), as the specification's appendix asks of
// the name section. Encode and EncodeNames let a caller rebuild a module
// from the sections it keeps.
package wasmbin
