// Outbound HTTP (bubblewasm_http_v1; route key outbound = ["https://api.example.com"]),
// re-exported by bubble.ts. Only URLs under an entry of the route's
// outbound list are reachable; a name that resolves to a private, loopback
// or link-local address is refused unless the entry names that address.
// Redirects are followed (at most 10) while every hop stays in the list.
//
//   let r = bubble.httpGet("https://api.example.com/v1/items");
//   if (r === null) return fail(bubble.lastError());
//   let body = r.readAll(1 << 20);
//   r.close();
import { Err } from "./bubble";
import { code, fail, negotiateBytes, readAllWith, utf8 } from "./internal";

// @ts-ignore: decorator
@external("bubblewasm_http_v1", "request")
declare function host_http_request(methodPtr: usize, methodLen: usize, urlPtr: usize, urlLen: usize,
  headersPtr: usize, headersLen: usize, bodyPtr: usize, bodyLen: usize, timeoutMs: i32): i32;
// @ts-ignore: decorator
@external("bubblewasm_http_v1", "status")
declare function host_http_status(handle: i32): i32;
// @ts-ignore: decorator
@external("bubblewasm_http_v1", "headers")
declare function host_http_headers(handle: i32, bufPtr: usize, bufLen: usize): i32;
// @ts-ignore: decorator
@external("bubblewasm_http_v1", "read")
declare function host_http_read(handle: i32, bufPtr: usize, bufLen: usize): i32;
// @ts-ignore: decorator
@external("bubblewasm_http_v1", "close")
declare function host_http_close(handle: i32): i32;

// The handle of the response being read, for the functions passed to the
// shared helpers (AssemblyScript has no closures).
let current: i32 = 0;

/**
 * An outbound response: its status, its headers, and its body through
 * read, readAll or readString. Close it when done (an exchange has at most
 * 8 open at once); the host closes what is left open when the exchange ends.
 */
export class HttpResponse {
  constructor(
    /** The host's handle. */
    public readonly handle: i32,
    /** The HTTP status code, such as 200. */
    public readonly status: i32,
  ) {}

  /**
   * The headers as flat name/value pairs ([name0, value0, name1, ...]),
   * names canonical ("Content-Type"), in a stable order; null on an error
   * (see lastError).
   */
  headers(): string[] | null {
    current = this.handle;
    let raw = negotiateBytes(1024, (p: usize, l: usize): i32 => host_http_headers(current, p, l));
    if (raw === null) return null;
    let out = new Array<string>();
    let lines = String.UTF8.decodeUnsafe(raw.dataStart, <usize>raw.length).split("\n");
    for (let i = 0; i < lines.length; i++) {
      let line = lines[i];
      let colon = line.indexOf(":");
      if (colon < 0) continue;
      let value = line.substring(colon + 1);
      while (value.startsWith(" ")) value = value.substring(1);
      out.push(line.substring(0, colon));
      out.push(value);
    }
    return out;
  }

  /** The first value of header name (case-insensitive), or null. */
  header(name: string): string | null {
    let hs = this.headers();
    if (hs === null) return null;
    let want = name.toLowerCase();
    for (let i = 0; i + 1 < hs.length; i += 2) {
      if (hs[i].toLowerCase() == want) return hs[i + 1];
    }
    return null;
  }

  /**
   * Reads body bytes into buf: n > 0, 0 at the end of the body, or
   * Err.TooLarge (past the route's response cap), Err.Timeout, Err.Closed,
   * Err.IO, Err.NotFound (closed). An empty buf reads nothing (0).
   */
  read(buf: Uint8Array): i32 {
    if (buf.length == 0) return 0;
    return code(host_http_read(this.handle, buf.dataStart, <usize>buf.length));
  }

  /** Reads the rest of the body, up to max bytes; null on an error (see lastError; Err.TooLarge past max). */
  readAll(max: i32 = i32.MAX_VALUE): Uint8Array | null {
    current = this.handle;
    return readAllWith((p: usize, l: usize): i32 => host_http_read(current, p, l), max);
  }

  /** readAll as UTF-8 text. */
  readString(max: i32 = i32.MAX_VALUE): string | null {
    let b = this.readAll(max);
    if (b === null) return null;
    return String.UTF8.decodeUnsafe(b.dataStart, <usize>b.length);
  }

  /** Closes the response, dropping the rest of its body: 0 or Err.NotFound (closed already). */
  close(): i32 {
    return code(host_http_close(this.handle));
  }
}

// The ABI's header encoding, "Name: value\n" lines, from flat pairs; null
// when a name is empty or holds a colon, space or control byte, or a value
// holds CR, LF or NUL (they would break the encoding).
function encodeHeaders(headers: string[]): string | null {
  let out = "";
  for (let i = 0; i + 1 < headers.length; i += 2) {
    let name = headers[i];
    let value = headers[i + 1];
    if (name.length == 0) return null;
    for (let j = 0; j < name.length; j++) {
      let c = name.charCodeAt(j);
      if (c <= 0x20 || c == 0x3a || c >= 0x7f) return null;
    }
    for (let j = 0; j < value.length; j++) {
      let c = value.charCodeAt(j);
      if (c == 0x0d || c == 0x0a || c == 0) return null;
    }
    out += name + ": " + value + "\n";
  }
  return out;
}

/**
 * Sends a request and waits for the response's status line and headers.
 * headers are flat name/value pairs (["Accept", "application/json"]; a
 * name may repeat); the host sets Host, Content-Length,
 * Transfer-Encoding and Connection itself (sending one is Err.Invalid).
 * timeoutMs <= 0 means the route's outbound timeout. Returns the response
 * or null (see lastError): Err.Denied (URL outside the route's outbound
 * list, or resolving to an address its entry does not allow), Err.Invalid
 * (bad method, URL or header; an odd-length headers array), Err.TooLarge
 * (body over the route's cap), Err.Timeout, Err.Closed, Err.IO (DNS,
 * connection or TLS failure), Err.Full (8 responses open already).
 */
export function httpRequest(method: string, url: string, headers: string[] = [], body: Uint8Array | null = null, timeoutMs: i32 = 0): HttpResponse | null {
  if (headers.length % 2 != 0) return fail<HttpResponse>(Err.Invalid);
  let hs = encodeHeaders(headers);
  if (hs === null) return fail<HttpResponse>(Err.Invalid);
  let m = utf8(method);
  let u = utf8(url);
  let h = utf8(hs);
  let b = body !== null ? body : new Uint8Array(0);
  let handle = host_http_request(changetype<usize>(m), <usize>m.byteLength, changetype<usize>(u), <usize>u.byteLength,
    changetype<usize>(h), <usize>h.byteLength, b.dataStart, <usize>b.length, timeoutMs);
  if (handle < 0) return fail<HttpResponse>(handle);
  let status = host_http_status(handle);
  if (status < 0) {
    host_http_close(handle);
    return fail<HttpResponse>(status);
  }
  return new HttpResponse(handle, status);
}

/** Sends a GET request for url with the route's outbound timeout. */
export function httpGet(url: string): HttpResponse | null {
  return httpRequest("GET", url);
}
