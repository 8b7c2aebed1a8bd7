// bubblewasm guest SDK for AssemblyScript: the bubblewasm_v1 host ABI
// (abi/ABI.md) as plain functions with integer results.
//
// AssemblyScript has no exceptions, so every call that can fail returns a
// number: a length or count (>= 0) or one of the negative `Err` codes. A
// handler is a function `() => i32` registered with `handle` at top level;
// the entry file re-exports `bubble_handle` and `bubble_init`:
//
//   import * as bubble from "../../guest-sdk/assemblyscript/assembly/bubble";
//   export { bubble_handle, bubble_init } from "../../guest-sdk/assemblyscript/assembly/bubble";
//
//   bubble.handle((): i32 => {
//     bubble.setHeader("Content-Type", "text/plain");
//     return bubble.writeString("Hello\n") < 0 ? 1 : 0;
//   });
//
// Build with asbuild.sh (next to this directory's parent), which passes
// `--use abort=bubble_abort` and friends: the host provides no `env` module.

import { getLastError, readAllWith } from "./internal";

// The extensions: pub/sub, signals, key-value, dial (ext.ts) and outbound
// HTTP (http.ts). A module imports an extension only when it calls one of
// its functions (asc compiles only what is reachable), and a module that
// imports one loads only on a route that grants it.
export * from "./ext";
export * from "./http";

// ---------------------------------------------------------------------------
// Imports (module bubblewasm_v1). Pointers and lengths are u32 offsets.

// @ts-ignore: decorator
@external("bubblewasm_v1", "env_get")
declare function host_env_get(keyPtr: usize, keyLen: usize, bufPtr: usize, bufLen: usize): i32;
// @ts-ignore: decorator
@external("bubblewasm_v1", "env_keys")
declare function host_env_keys(bufPtr: usize, bufLen: usize): i32;
// @ts-ignore: decorator
@external("bubblewasm_v1", "read")
declare function host_read(bufPtr: usize, bufLen: usize): i32;
// @ts-ignore: decorator
@external("bubblewasm_v1", "write")
declare function host_write(bufPtr: usize, bufLen: usize): i32;
// @ts-ignore: decorator
@external("bubblewasm_v1", "flush")
declare function host_flush(): i32;
// @ts-ignore: decorator
@external("bubblewasm_v1", "set_status")
declare function host_set_status(code: i32): i32;
// @ts-ignore: decorator
@external("bubblewasm_v1", "set_header")
declare function host_set_header(namePtr: usize, nameLen: usize, valuePtr: usize, valueLen: usize): i32;
// @ts-ignore: decorator
@external("bubblewasm_v1", "add_header")
declare function host_add_header(namePtr: usize, nameLen: usize, valuePtr: usize, valueLen: usize): i32;
// @ts-ignore: decorator
@external("bubblewasm_v1", "log")
declare function host_log(level: i32, msgPtr: usize, msgLen: usize): void;
// Only imported when Math.random is used (see bubble_seed).
// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "random_get")
declare function wasi_random_get(bufPtr: usize, bufLen: usize): i32;

// ---------------------------------------------------------------------------
// Error codes and log levels.

/** Negative results of the host calls (ABI.md, "Error codes"). */
export enum Err {
  /** The env key does not exist (envGet returns null instead). */
  NotFound = -1,
  /** An argument is not acceptable: bad status, header name or value, empty read buffer. */
  Invalid = -2,
  /** Status and headers can no longer change: output was written or flushed. */
  Committed = -3,
  /** The peer went away or the output is closed. */
  Closed = -4,
  /** Input or output failed for another reason (also any unknown negative code). */
  IO = -5,
  /** The exchange's deadline passed during the call. */
  Timeout = -6,
  /** The input exceeds a configured limit (or readAll's max). */
  TooLarge = -7,
  /** An extension call outside the route's grant (raw extension imports). */
  Denied = -8,
  /** A store or service is at capacity: a full key-value namespace, a subscription cap. */
  Full = -9,
}

/** The ABI name of an error code ("ERR_COMMITTED"), or "OK" for n >= 0. */
export function errorName(code: i32): string {
  switch (code) {
    case Err.NotFound: return "ERR_NOT_FOUND";
    case Err.Invalid: return "ERR_INVALID";
    case Err.Committed: return "ERR_COMMITTED";
    case Err.Closed: return "ERR_CLOSED";
    case Err.Timeout: return "ERR_TIMEOUT";
    case Err.TooLarge: return "ERR_TOO_LARGE";
    case Err.Denied: return "ERR_DENIED";
    case Err.Full: return "ERR_FULL";
  }
  return code >= 0 ? "OK" : "ERR_IO";
}

/** Log levels, as Go's log/slog numbers them. The host clamps other values to these four. */
export enum Level {
  Debug = -4,
  Info = 0,
  Warn = 4,
  Error = 8,
}

// An unknown negative code means ERR_IO (ABI.md), so callers can compare
// against the Err members exhaustively.
// @ts-ignore: decorator
@inline
function result(r: i32): i32 {
  return r < Err.Full ? Err.IO : r;
}

// ---------------------------------------------------------------------------
// Scratch memory: small strings are UTF-8 encoded into static buffers, so
// the common calls do not allocate. Larger ones use a temporary buffer.

// @ts-ignore: decorator
@inline const SCRATCH: usize = 1024;
const scratch = memory.data(<i32>SCRATCH, 16); // keys, names, values, messages
const valueScratch = memory.data(<i32>SCRATCH, 16); // env values and key lists

// Keep temporary buffers reachable while raw pointers into them are in use
// (the incremental collector may run at any allocation).
let keep: ArrayBuffer | null = null;
let keepKey: ArrayBuffer | null = null;

// Encodes a and b (b may be empty) back to back and returns the address of
// a's bytes; b's follow at a's byte length. Sizes must come from
// String.UTF8.byteLength.
function encode2(a: string, aLen: usize, b: string, bLen: usize): usize {
  let p = scratch;
  if (aLen + bLen > SCRATCH) {
    let buf = new ArrayBuffer(<i32>(aLen + bLen));
    keep = buf;
    p = changetype<usize>(buf);
  }
  String.UTF8.encodeUnsafe(changetype<usize>(a), a.length, p);
  if (bLen > 0) String.UTF8.encodeUnsafe(changetype<usize>(b), b.length, p + aLen);
  return p;
}

// @ts-ignore: decorator
@inline
function utf8Len(s: string): usize {
  return <usize>String.UTF8.byteLength(s);
}

// ---------------------------------------------------------------------------
// Handler registration and the ABI exports.

let handler: (() => i32) | null = null;

/**
 * Registers fn as the module's handler. Call it once, at the top level of
 * the entry file (top-level code runs in `_initialize`, before any
 * exchange). fn returns 0 when the exchange succeeded; anything else fails
 * it (HTTP 500 when nothing was written yet). A second call aborts.
 */
export function handle(fn: () => i32): void {
  if (handler !== null) abort("bubble: a handler is registered already");
  handler = fn;
}

/**
 * The ABI's per-exchange entry point. Re-export it from the entry file:
 * `export { bubble_handle, bubble_init } from ".../bubble";`
 *
 * After the handler returns, the stack holds no references, so a full
 * garbage collection is safe here even with `--runtime minimal`, whose
 * collector never runs by itself: a pooled instance gives back what the
 * exchange allocated (with `--runtime stub`, __collect does nothing).
 */
export function bubble_handle(): i32 {
  let fn = handler;
  if (fn === null) return 1;
  let r = fn();
  keep = null;
  __collect();
  return r;
}

/** Rejects an instance whose module registered no handler. Re-export it too. */
export function bubble_init(): i32 {
  if (handler === null) {
    log(Level.Error, "bubble: no handler registered; call bubble.handle(fn) at the top level of the entry file");
    return 1;
  }
  return 0;
}

// ---------------------------------------------------------------------------
// Environment.

// Looks key up; on success the value's bytes are at lookupPtr and the
// length is returned. Returns -1 when absent.
let lookupPtr: usize = 0;

function lookup(key: string): i32 {
  let kLen = utf8Len(key);
  let k = encode2(key, kLen, "", 0);
  keepKey = keep; // the key's buffer, if it did not fit the scratch
  let n = host_env_get(k, kLen, valueScratch, SCRATCH);
  let ptr = valueScratch;
  let cap = <i32>SCRATCH;
  while (n > cap) { // size negotiation: retry with a buffer of n bytes
    cap = n;
    let buf = new ArrayBuffer(cap);
    keep = buf;
    ptr = changetype<usize>(buf);
    n = host_env_get(k, kLen, ptr, cap);
  }
  keepKey = null;
  lookupPtr = ptr;
  return n < 0 ? -1 : n;
}

/** The value of the env key (ENV.md), or null when it is absent. */
export function envGet(key: string): string | null {
  let n = lookup(key);
  if (n < 0) return null;
  let s = String.UTF8.decodeUnsafe(lookupPtr, <usize>n);
  keep = null;
  return s;
}

/** The raw bytes of the env key, or null when it is absent. */
export function envGetBytes(key: string): Uint8Array | null {
  let n = lookup(key);
  if (n < 0) return null;
  let out = new Uint8Array(n);
  memory.copy(out.dataStart, lookupPtr, <usize>n);
  keep = null;
  return out;
}

/** Whether the env has the key. */
export function envHas(key: string): bool {
  let kLen = utf8Len(key);
  let k = encode2(key, kLen, "", 0);
  let r = host_env_get(k, kLen, valueScratch, 0) >= 0;
  keep = null;
  return r;
}

/** Every env key, in ascending byte order. */
export function envKeys(): string[] {
  let ptr = valueScratch;
  let cap = <i32>SCRATCH;
  let n = host_env_keys(ptr, cap);
  while (n > cap) {
    cap = n;
    let buf = new ArrayBuffer(cap);
    keep = buf;
    ptr = changetype<usize>(buf);
    n = host_env_keys(ptr, cap);
  }
  let keys = new Array<string>();
  let start: usize = 0;
  for (let i: usize = 0; i < <usize>n; i++) {
    if (load<u8>(ptr + i) == 0) {
      keys.push(String.UTF8.decodeUnsafe(ptr + start, i - start));
      start = i + 1;
    }
  }
  keep = null;
  return keys;
}

// ---------------------------------------------------------------------------
// Input.

/**
 * Reads up to buf.length bytes of input into buf. Returns n > 0 bytes read,
 * 0 at the end of input (never "try again"), or a negative Err. An empty
 * buf is Err.Invalid.
 */
export function read(buf: Uint8Array): i32 {
  return result(host_read(buf.dataStart, <usize>buf.length));
}

/** Like read, into raw memory. */
export function readUnsafe(ptr: usize, len: usize): i32 {
  return result(host_read(ptr, len));
}

/** The error of the last readAll, readString or extension call that returned null. */
export function lastError(): i32 {
  return getLastError();
}

/**
 * Reads the whole input. Returns null on an error (see lastError), or
 * Err.TooLarge when the input exceeds max bytes.
 */
export function readAll(max: i32 = i32.MAX_VALUE): Uint8Array | null {
  return readAllWith((p: usize, l: usize): i32 => host_read(p, l), max);
}

/** Reads the whole input as UTF-8 text; null on an error (see lastError). */
export function readString(max: i32 = i32.MAX_VALUE): string | null {
  let b = readAll(max);
  if (b === null) return null;
  return String.UTF8.decodeUnsafe(b.dataStart, <usize>b.length);
}

// ---------------------------------------------------------------------------
// Output. The first write or flush commits the status and headers.

/** Writes all of data. Returns data.length or a negative Err. */
export function write(data: Uint8Array): i32 {
  return result(host_write(data.dataStart, <usize>data.length));
}

/** Like write, from raw memory. */
export function writeUnsafe(ptr: usize, len: usize): i32 {
  return result(host_write(ptr, len));
}

/** Writes s as UTF-8. Returns the number of bytes written or a negative Err. */
export function writeString(s: string): i32 {
  let n = utf8Len(s);
  let p = encode2(s, n, "", 0);
  let r = result(host_write(p, n));
  keep = null;
  return r;
}

/** Commits the metadata and pushes buffered output to the peer now. */
export function flush(): i32 {
  return result(host_flush());
}

/** Sets the status (200-999; default 200). 0, Err.Invalid or Err.Committed. */
export function setStatus(code: i32): i32 {
  return result(host_set_status(code));
}

function header(add: bool, name: string, value: string): i32 {
  let nLen = utf8Len(name);
  let vLen = utf8Len(value);
  let p = encode2(name, nLen, value, vLen);
  let r = add ? host_add_header(p, nLen, p + nLen, vLen) : host_set_header(p, nLen, p + nLen, vLen);
  keep = null;
  return result(r);
}

/**
 * Replaces every value of the response header name (case-insensitive) with
 * value. 0, Err.Invalid (name not a token, value with CR/LF/NUL) or
 * Err.Committed.
 */
export function setHeader(name: string, value: string): i32 {
  return header(false, name, value);
}

/** Appends value to the response header name; results as setHeader. */
export function addHeader(name: string, value: string): i32 {
  return header(true, name, value);
}

// ---------------------------------------------------------------------------
// Logging.

/** Writes one record to the server log at level (a Level or any number). */
export function log(level: i32, msg: string): void {
  let n = utf8Len(msg);
  let p = encode2(msg, n, "", 0);
  host_log(level, p, n);
  keep = null;
}

// ---------------------------------------------------------------------------
// Parking (bubblewasm_park_v1, granted to every route; abi/ABI.md).
//
// Instead of waiting inside a host call, holding the instance, a handler
// registers what it waits for and returns 0: the host frees the instance,
// keeps the exchange (connection, env, unread input, status, headers,
// output) and runs the handler again, on another instance, when the wait
// ends. Globals do not survive: keep what the next run needs with stash.

// @ts-ignore: decorator
@external("bubblewasm_park_v1", "message")
declare function host_park_message(idPtr: usize, idLen: usize, timeoutMs: i32): i32;
// @ts-ignore: decorator
@external("bubblewasm_park_v1", "signal")
declare function host_park_signal(namePtr: usize, nameLen: usize, timeoutMs: i32): i32;
// @ts-ignore: decorator
@external("bubblewasm_park_v1", "sleep")
declare function host_park_sleep(timeoutMs: i32): i32;
// @ts-ignore: decorator
@external("bubblewasm_park_v1", "cancel")
declare function host_park_cancel(): i32;
// @ts-ignore: decorator
@external("bubblewasm_park_v1", "stash")
declare function host_park_stash(bufPtr: usize, bufLen: usize): i32;
// @ts-ignore: decorator
@external("bubblewasm_park_v1", "state")
declare function host_park_state(bufPtr: usize, bufLen: usize): i32;
// @ts-ignore: decorator
@external("bubblewasm_park_v1", "payload")
declare function host_park_payload(bufPtr: usize, bufLen: usize): i32;

/** The most stash keeps, in bytes. */
export const MAX_STATE: i32 = 4096;

function parkOn(message: bool, name: string, timeoutMs: i32): i32 {
  let n = utf8Len(name);
  let p = encode2(name, n, "", 0);
  let r = message ? host_park_message(p, n, timeoutMs) : host_park_signal(p, n, timeoutMs);
  keep = null;
  return result(r);
}

/**
 * Parks the exchange, once the handler returns 0, until subscription id has
 * a message queued (or is gone) or timeoutMs pass. 0, Err.Invalid
 * (timeoutMs <= 0, a wait already registered in this run), Err.Denied (no
 * pubsub grant), Err.NotFound (an unknown subscription), Err.Closed (the
 * server is shutting down) or Err.Full (the route's max_waiting).
 */
export function parkMessage(id: string, timeoutMs: i32): i32 {
  return parkOn(true, id, timeoutMs);
}

/** Parks the exchange until a send on the signal name or timeoutMs pass; results as parkMessage. */
export function parkSignal(name: string, timeoutMs: i32): i32 {
  return parkOn(false, name, timeoutMs);
}

/** Parks the exchange for timeoutMs; results as parkMessage. */
export function parkTimeout(timeoutMs: i32): i32 {
  return result(host_park_sleep(timeoutMs));
}

/** Drops the wait this run registered, if any. */
export function unpark(): void {
  host_park_cancel();
}

/** Keeps a copy of state (at most MAX_STATE bytes) for the exchange's later runs. 0 or Err.TooLarge. */
export function stash(state: Uint8Array): i32 {
  if (state.length > MAX_STATE) return Err.TooLarge;
  return result(host_park_stash(state.dataStart, <usize>state.length));
}

// negotiate calls fn with the value scratch, then with a buffer of the
// size it asks for; the bytes, or null for a negative result.
function negotiate(fn: (ptr: usize, len: usize) => i32): Uint8Array | null {
  let ptr = valueScratch;
  let cap = <i32>SCRATCH;
  let n = fn(ptr, cap);
  while (n > cap) {
    cap = n;
    let buf = new ArrayBuffer(cap);
    keep = buf;
    ptr = changetype<usize>(buf);
    n = fn(ptr, cap);
  }
  if (n < 0) {
    keep = null;
    return null;
  }
  let out = new Uint8Array(n);
  memory.copy(out.dataStart, ptr, <usize>n);
  keep = null;
  return out;
}

/** What an earlier run of this exchange stashed, or null when nothing was. */
export function state(): Uint8Array | null {
  return negotiate((p: usize, l: usize): i32 => host_park_state(p, l));
}

/** The payload of the signal that woke this run, or null when no signal did. */
export function wakePayload(): Uint8Array | null {
  return negotiate((p: usize, l: usize): i32 => host_park_payload(p, l));
}

/**
 * How many times this exchange has been resumed: 0 on its first run, 1 on
 * the first resumed run, ...
 */
export function resumed(): i32 {
  let v = envGet("bubble.resume");
  return v === null ? 0 : I32.parseInt(v);
}

/** Why this run resumes a parked exchange: "message", "signal", "timeout", "shutdown"; null on a first run. */
export function wake(): string | null {
  return envGet("bubble.wake");
}

// ---------------------------------------------------------------------------
// Replacements for AssemblyScript's `env` imports, which bubblewasm does not
// provide. asbuild.sh aliases them with
//   --use abort=bubble_abort --use trace=bubble_trace --use seed=bubble_seed

const abortBuf = memory.data(512, 16);
// @ts-ignore: decorator
@inline const ABORT_CAP: usize = 512;

// Appends up to what fits of s (as UTF-8) at abortBuf+off; returns the new offset.
function abortAppend(off: usize, s: string): usize {
  let room = ABORT_CAP - off;
  let chars = s.length;
  if (<usize>chars * 3 > room) chars = <i32>(room / 3); // a UTF-16 unit is at most 3 bytes
  return off + String.UTF8.encodeUnsafe(changetype<usize>(s), chars, abortBuf + off);
}

function abortAppendU32(off: usize, v: u32): usize {
  let digits: usize = 1;
  for (let t = v; t >= 10; t /= 10) digits++;
  if (off + digits > ABORT_CAP) return off;
  for (let i = digits; i > 0; i--) {
    store<u8>(abortBuf + off + i - 1, 0x30 + v % 10);
    v /= 10;
  }
  return off + digits;
}

/**
 * AssemblyScript's abort (failed assert, out-of-bounds index, `throw`):
 * logs "abort: MSG at FILE:LINE:COL" at error level through the ABI, then
 * traps, which fails the exchange (HTTP 500) and discards the instance. It
 * does not allocate, so it also works when the heap is broken.
 */
// @ts-ignore: decorator
@global
export function bubble_abort(message: string | null = null, fileName: string | null = null, line: u32 = 0, column: u32 = 0): void {
  let off = abortAppend(0, "abort: ");
  if (message !== null) off = abortAppend(off, changetype<string>(message));
  else off = abortAppend(off, "(no message)");
  if (fileName !== null) {
    off = abortAppend(off, " at ");
    off = abortAppend(off, changetype<string>(fileName));
    off = abortAppend(off, ":");
    off = abortAppendU32(off, line);
    off = abortAppend(off, ":");
    off = abortAppendU32(off, column);
  }
  host_log(Level.Error, abortBuf, off);
  unreachable();
}

/** AssemblyScript's trace(): a debug record "trace: MSG a0 a1 ...". */
// @ts-ignore: decorator
@global
export function bubble_trace(message: string, n: i32 = 0, a0: f64 = 0, a1: f64 = 0, a2: f64 = 0, a3: f64 = 0, a4: f64 = 0): void {
  let s = "trace: " + message;
  if (n > 0) s += " " + a0.toString();
  if (n > 1) s += " " + a1.toString();
  if (n > 2) s += " " + a2.toString();
  if (n > 3) s += " " + a3.toString();
  if (n > 4) s += " " + a4.toString();
  log(Level.Debug, s);
}

/** Math.random's seed, from WASI random_get (imported only if used). */
// @ts-ignore: decorator
@global
export function bubble_seed(): f64 {
  let p = scratch;
  if (wasi_random_get(p, 8) != 0) unreachable();
  return reinterpret<f64>(load<u64>(p));
}
