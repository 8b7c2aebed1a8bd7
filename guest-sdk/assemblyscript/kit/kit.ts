// The conformance kit (guest-sdk/CONFORMANCE.md) written with the
// AssemblyScript SDK's public API. Build: ../build-kit.sh OUT.wasm
// The extension cases (/pubsub, /signal, /kv, /dial, /http) make the module import
// every extension: it loads only on a route that grants them all.
import * as bubble from "../assembly/bubble";
export { bubble_handle, bubble_init } from "../assembly/bubble";

function kit(): i32 {
  let path = bubble.envGet("PATH_INFO");
  if (path === null) return echo(); // line transport: no PATH_INFO
  if (path == "/env") return env();
  if (path == "/keys") return keys();
  if (path == "/echo") return echo();
  if (path == "/status") return status();
  if (path == "/log") return logs();
  if (path == "/fail") return 1;
  if (path == "/trap") unreachable();
  if (path == "/committed") return committed();
  if (path == "/invalid") return invalid();
  if (path == "/flush") return flushed();
  if (path == "/park") return park();
  if (path == "/pubsub") return pubsubCase();
  if (path == "/signal") return signalCase();
  if (path == "/kv") return kvCase();
  if (path == "/dial") return dialCase();
  if (path == "/http") return httpCase();
  bubble.setStatus(404);
  return put("unknown case " + path);
}

// put writes s and turns the result into bubble_handle's.
function put(s: string): i32 {
  return bubble.writeString(s) < 0 ? 1 : 0;
}

function query(): string {
  let q = bubble.envGet("QUERY_STRING");
  return q !== null ? q : "";
}

function env(): i32 {
  let v = bubble.envGet(query());
  if (v === null) {
    bubble.setStatus(404);
    return put("missing");
  }
  return put(v);
}

function keys(): i32 {
  let ks = bubble.envKeys();
  let out = "";
  for (let i = 0; i < ks.length; i++) out += ks[i] + "\n";
  return put(out);
}

// One buffer for every exchange of an instance; exchanges never overlap.
const buf = new Uint8Array(32 << 10);

function copyBody(): i32 {
  while (true) {
    let n = bubble.read(buf);
    if (n == 0) return 0;
    if (n < 0) {
      bubble.log(bubble.Level.Error, "kit: read: " + bubble.errorName(n));
      return 1;
    }
    if (bubble.write(buf.subarray(0, n)) < 0) return 1;
  }
}

function echo(): i32 {
  let ct = bubble.envGet("CONTENT_TYPE");
  if (ct !== null && bubble.setHeader("Content-Type", ct) < 0) return 1;
  return copyBody();
}

function status(): i32 {
  let code = I32.parseInt(query());
  if (bubble.setStatus(code) < 0) return 1;
  if (bubble.setHeader("X-Kit", "a") < 0) return 1;
  if (bubble.addHeader("X-Kit", "b") < 0) return 1;
  return put("ok");
}

function logs(): i32 {
  bubble.log(bubble.Level.Debug, "kit debug");
  bubble.log(bubble.Level.Info, "kit info");
  bubble.log(bubble.Level.Warn, "kit warn");
  bubble.log(bubble.Level.Error, "kit error");
  return put("logged");
}

function committed(): i32 {
  if (put("x") != 0) return 1;
  let r = bubble.setStatus(500);
  return put(r == bubble.Err.Committed ? "committed-ok" : "got " + bubble.errorName(r));
}

function invalid(): i32 {
  let r = bubble.setHeader("bad name", "v");
  return put(r == bubble.Err.Invalid ? "invalid-ok" : "got " + bubble.errorName(r));
}

function flushed(): i32 {
  if (put("first") != 0) return 1;
  if (bubble.flush() < 0) return 1;
  return copyBody();
}

// park parks twice for 1 ms with "kit" in the stash; each resumed run
// reports its count, why it woke and the stash.
function park(): i32 {
  let n = bubble.resumed();
  if (n == 0) {
    if (bubble.parkTimeout(0) != bubble.Err.Invalid) return put("bad");
    if (bubble.setHeader("X-Kit-Park", "1") < 0) return 1;
    if (bubble.stash(Uint8Array.wrap(String.UTF8.encode("kit"))) < 0) return 1;
    if (put("0;") != 0) return 1;
    return bubble.parkTimeout(1) < 0 ? 1 : 0;
  }
  let st = bubble.state();
  let w = bubble.wake();
  let line = n.toString() + ":" + (w !== null ? w : "") + ":" + (st !== null ? String.UTF8.decode(st.buffer) : "") + ";";
  if (put(line) != 0) return 1;
  if (n < 2) return bubble.parkTimeout(1) < 0 ? 1 : 0;
  return 0;
}

// outcome names a result in lower case without ERR_ ("notfound",
// "timeout", "denied", "toolarge", ...); "ok" for a success.
function outcome(r: i32): string {
  if (r >= 0) return "ok";
  return bubble.errorName(r).substring(4).replaceAll("_", "").toLowerCase();
}

// failed answers 500 naming the step that failed where the case expects
// success, and the SDK's error.
function failed(step: string, r: i32): i32 {
  bubble.setStatus(500);
  return put(step + ": " + bubble.errorName(r));
}

function text(b: Uint8Array): string {
  return String.UTF8.decodeUnsafe(b.dataStart, <usize>b.length);
}

function pubsubCase(): i32 {
  let id = bubble.subscribe("kit.ps");
  if (id === null) return failed("pubsub: subscribe", bubble.lastError());
  let n = bubble.publishString("kit.ps", "hello");
  if (n < 0) return failed("pubsub: publish", n);
  let msg = bubble.fetch(id, 1000);
  if (msg === null) return failed("pubsub: fetch", bubble.lastError());
  let r = bubble.unsubscribe(id);
  if (r < 0) return failed("pubsub: unsubscribe", r);
  let gone = bubble.fetch(id, 0) === null ? outcome(bubble.lastError()) : "ok";
  let denied = outcome(bubble.publishString("other", "x"));
  return put("pubsub " + n.toString() + " " + text(msg) + " " + gone + " " + denied);
}

function signalCase(): i32 {
  let woken = bubble.sendSignal("kit.sig", Uint8Array.wrap(String.UTF8.encode("x")));
  if (woken < 0) return failed("signal: send", woken);
  let waited = bubble.waitSignal("kit.sig", 1) === null ? outcome(bubble.lastError()) : "ok";
  let denied = outcome(bubble.sendSignal("nope", new Uint8Array(0)));
  return put("signal " + woken.toString() + " " + waited + " " + denied);
}

function kvCase(): i32 {
  let r = bubble.kvSetString("kit.k", query(), 0);
  if (r < 0) return failed("kv: set", r);
  let v = bubble.kvGet("kit.k");
  if (v === null) return failed("kv: get", bubble.lastError());
  r = bubble.kvDelete("kit.k");
  if (r < 0) return failed("kv: delete", r);
  let gone = bubble.kvGet("kit.k") === null ? outcome(bubble.lastError()) : "ok";
  let tooLarge = outcome(bubble.kvSetString("a".repeat(300), "x"));
  return put("kv " + text(v) + " " + gone + " " + tooLarge);
}

function dialCase(): i32 {
  let reply = bubble.dialCallString("echo", query(), 0);
  if (reply === null) return failed("dial: call", bubble.lastError());
  let r = text(reply);
  if (r.endsWith("\n")) r = r.substring(0, r.length - 1);
  let status = bubble.dialStatus();
  if (status < 0) return failed("dial: status", status);
  let denied = bubble.dialCallString("nope", "x") === null ? outcome(bubble.lastError()) : "ok";
  return put("dial " + r + " " + status.toString() + " " + denied);
}

// adler32 continues the Adler-32 sum of CONFORMANCE.md over the first n
// bytes of buf.
function adler32(sum: u32, buf: Uint8Array, n: i32): u32 {
  let a = sum & 0xffff;
  let b = sum >> 16;
  for (let i = 0; i < n; i++) {
    a = (a + <u32>buf[i]) % 65521;
    b = (b + a) % 65521;
  }
  return (b << 16) | a;
}

function httpCase(): i32 {
  let r = bubble.httpRequest("GET", query(), ["X-Kit", "kit"]);
  if (r === null) return failed("http: request", bubble.lastError());
  let echo = r.header("X-Kit-Echo");
  // Streams: one buffer, never the whole body.
  let buf = new Uint8Array(4096);
  let len = 0;
  let sum: u32 = 1;
  while (true) {
    let n = r.read(buf);
    if (n == 0) break;
    if (n < 0) return failed("http: read", n);
    len += n;
    sum = adler32(sum, buf, n);
  }
  let c = r.close();
  if (c < 0) return failed("http: close", c);
  let other = bubble.httpGet("http://127.0.0.2/kit");
  let denied = other === null ? outcome(bubble.lastError()) : "ok";
  if (other !== null) other.close();
  return put("http " + r.status.toString() + " " + (echo !== null ? echo : "none") + " " +
    len.toString() + " " + sum.toString() + " " + denied);
}

// Registered last: top-level code runs in order, so the globals above are
// initialized before the handler can run.
bubble.handle(kit);
