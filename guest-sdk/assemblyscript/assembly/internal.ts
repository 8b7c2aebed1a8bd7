// State and helpers the SDK's files share; not part of the public API.

// @ts-ignore: decorator
@inline const ERR_IO: i32 = -5;
// @ts-ignore: decorator
@inline const ERR_TOO_LARGE: i32 = -7;
// @ts-ignore: decorator
@inline const ERR_LAST: i32 = -9; // the lowest code ABI version 1 defines

let lastErr: i32 = 0;

/** The error of the last call that returned null (bubble.lastError). */
export function getLastError(): i32 {
  return lastErr;
}

/** Records code as the last error and returns null, for `return fail(n)`. */
export function fail<T>(code: i32): T | null {
  lastErr = code < ERR_LAST ? ERR_IO : code;
  return null;
}

/** An unknown negative code is ERR_IO (ABI.md). */
// @ts-ignore: decorator
@inline
export function code(r: i32): i32 {
  return r < ERR_LAST ? ERR_IO : r;
}

/** A string's UTF-8 bytes, for a host call; keep the result in a local while its pointer is in use. */
export function utf8(s: string): ArrayBuffer {
  return String.UTF8.encode(s);
}

/**
 * The ABI's size negotiation with fresh buffers: calls fn with first bytes,
 * then with as many as it asks for, and returns the bytes in an array of
 * their exact size; null (see lastError) for a negative result.
 */
export function negotiateBytes(first: i32, fn: (ptr: usize, len: usize) => i32): Uint8Array | null {
  let buf = new Uint8Array(first);
  let n = fn(buf.dataStart, <usize>buf.length);
  while (n > buf.length) {
    buf = new Uint8Array(n);
    n = fn(buf.dataStart, <usize>buf.length);
  }
  if (n < 0) return fail<Uint8Array>(n);
  return n == buf.length ? buf : buf.slice(0, n);
}

const probe = memory.data(1);

/**
 * Reads a stream to its end through fn (read's signature: n > 0 bytes, 0
 * at the end, a negative code), up to max bytes: null on an error (see
 * lastError), or ERR_TOO_LARGE past max.
 */
export function readAllWith(fn: (ptr: usize, len: usize) => i32, max: i32): Uint8Array | null {
  if (max < 0) max = 0;
  let cap = max < 4096 ? max : 4096;
  let buf = new ArrayBuffer(cap);
  let len = 0;
  while (true) {
    if (len == cap) {
      if (cap >= max) {
        // Full at max: one more byte means too large.
        let n = fn(probe, 1);
        if (n == 0) break;
        return fail<Uint8Array>(n < 0 ? n : ERR_TOO_LARGE);
      }
      cap = cap > max / 2 ? max : cap * 2;
      let grown = new ArrayBuffer(cap);
      memory.copy(changetype<usize>(grown), changetype<usize>(buf), <usize>len);
      buf = grown;
    }
    let n = fn(changetype<usize>(buf) + <usize>len, <usize>(cap - len));
    if (n == 0) break;
    if (n < 0) return fail<Uint8Array>(n);
    len += n;
  }
  return Uint8Array.wrap(buf, 0, len);
}
