// hello-as: the AssemblyScript twin of modules/hello. It answers
// "Hello, world!" or, with the query string name=X, "Hello, X!".
// Build: bash modules/hello-as/build.sh OUT.wasm
import * as bubble from "../../guest-sdk/assemblyscript/assembly/bubble";
export { bubble_handle, bubble_init } from "../../guest-sdk/assemblyscript/assembly/bubble";

function hello(): i32 {
  let q = bubble.envGet("QUERY_STRING");
  let name = q !== null ? queryParam(q, "name") : "";
  if (name.length == 0) name = "world";
  if (bubble.setHeader("Content-Type", "text/plain; charset=utf-8") < 0) return 1;
  return bubble.writeString("Hello, " + name + "!\n") < 0 ? 1 : 0;
}

// queryParam returns the decoded value of the first key=value pair in the
// query q whose decoded key is key, or "".
function queryParam(q: string, key: string): string {
  let pairs = q.split("&");
  for (let i = 0; i < pairs.length; i++) {
    let pair = pairs[i];
    let eq = pair.indexOf("=");
    let k = eq < 0 ? pair : pair.substring(0, eq);
    if (unescape(k) == key) return eq < 0 ? "" : unescape(pair.substring(eq + 1));
  }
  return "";
}

// unescape decodes '+' and %XX escapes (as UTF-8) in a query component. A
// malformed escape is kept as it is.
function unescape(s: string): string {
  if (s.indexOf("+") < 0 && s.indexOf("%") < 0) return s;
  let src = String.UTF8.encode(s);
  let p = changetype<usize>(src);
  let n = src.byteLength;
  let out = new Uint8Array(n);
  let j = 0;
  for (let i = 0; i < n; i++) {
    let c = load<u8>(p + <usize>i);
    if (c == 0x2b) {
      c = 0x20;
    } else if (c == 0x25 && i + 2 < n) {
      let hi = hex(load<u8>(p + <usize>i + 1));
      let lo = hex(load<u8>(p + <usize>i + 2));
      if (hi >= 0 && lo >= 0) {
        c = <u8>(hi << 4 | lo);
        i += 2;
      }
    }
    out[j++] = c;
  }
  return String.UTF8.decodeUnsafe(out.dataStart, <usize>j);
}

function hex(c: u8): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

bubble.handle(hello);
