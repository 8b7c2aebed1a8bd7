// Unit tests of the AssemblyScript SDK under Node.js: the kit, the modules
// hello-as and echo-as and the fixtures in fixtures/ are compiled with
// asbuild.sh and run against the JavaScript host in host.mjs.
//
//   npm test          (in guest-sdk/assemblyscript)
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { load, Err, Level } from "./host.mjs";
import { ExtHost } from "./ext.mjs";

const sdk = join(dirname(fileURLToPath(import.meta.url)), "..");
const repo = join(sdk, "..", "..");
const sources = {
  kit: join(sdk, "kit", "kit.ts"),
  hello: join(repo, "modules", "hello-as", "hello.ts"),
  echo: join(repo, "modules", "echo-as", "echo.ts"),
  sdk: join(sdk, "test", "fixtures", "sdk.ts"),
  noreg: join(sdk, "test", "fixtures", "noreg.ts"),
  twice: join(sdk, "test", "fixtures", "twice.ts"),
  ext: join(sdk, "test", "fixtures", "ext.ts"),
};
const guests = {};
const wasmPath = {};

before(async () => {
  const out = mkdtempSync(join(tmpdir(), "bubble-as-test-"));
  process.on("exit", () => rmSync(out, { recursive: true, force: true }));
  const run = promisify(execFile);
  await run("bash", [join(sdk, "install.sh")]); // once, before the parallel builds
  await Promise.all(Object.entries(sources).map(async ([name, src]) => {
    wasmPath[name] = join(out, name + ".wasm");
    await run("bash", [join(sdk, "asbuild.sh"), src, wasmPath[name]]);
    guests[name] = await load(wasmPath[name]);
  }));
});

const text = (r) => r.body.toString("utf8");

function ok(r) {
  assert.equal(r.trap, null, r.trap && r.trap.message);
  assert.equal(r.code, 0, JSON.stringify(r.logs));
  return r;
}

for (const pool of [false, true]) {
  const life = pool ? "pool" : "fresh";

  test(`kit (${life}): every CONFORMANCE.md case`, () => {
    const g = guests.kit;
    const serve = (path, more = {}) =>
      g.serve({ pool, ...more, env: { ...(path === null ? {} : { PATH_INFO: path }), ...more.env } });

    const long = "L".repeat(10 << 10);
    assert.equal(text(ok(serve("/env", { env: { QUERY_STRING: "HTTP_X_LONG", HTTP_X_LONG: long } }))), long);
    assert.equal(text(ok(serve("/env", { env: { QUERY_STRING: "REQUEST_METHOD", REQUEST_METHOD: "GET" } }))), "GET");
    let r = ok(serve("/env", { env: { QUERY_STRING: "NOPE" } }));
    assert.deepEqual([r.status, text(r)], [404, "missing"]);

    const env = { PATH_INFO: "/keys", "bubble.route": "kit", REQUEST_METHOD: "GET", HTTP_ACCEPT: "*/*", a: "1", Z: "2" };
    r = ok(g.serve({ pool, env }));
    assert.equal(text(r), Object.keys(env).sort().map((k) => k + "\n").join(""));

    const body = new Uint8Array(1 << 20).map((_, i) => (i * 7919) & 0xff);
    r = ok(serve("/echo", { body, chunk: 5000, env: { CONTENT_TYPE: "application/x-kit" } }));
    assert.ok(Buffer.from(body).equals(r.body));
    assert.deepEqual(r.header("Content-Type"), ["application/x-kit"]);
    r = ok(serve("/echo"));
    assert.deepEqual([r.status, r.body.length, r.header("content-type")], [200, 0, []]);

    r = ok(serve("/status", { env: { QUERY_STRING: "201" } }));
    assert.deepEqual([r.status, r.header("X-Kit"), text(r)], [201, ["a", "b"], "ok"]);

    r = ok(serve("/log"));
    assert.equal(text(r), "logged");
    assert.deepEqual(r.logs, [
      { level: Level.Debug, msg: "kit debug" }, { level: Level.Info, msg: "kit info" },
      { level: Level.Warn, msg: "kit warn" }, { level: Level.Error, msg: "kit error" },
    ]);

    r = serve("/fail");
    assert.deepEqual([r.trap, r.code, r.body.length], [null, 1, 0]);
    r = serve("/trap");
    assert.ok(r.trap instanceof WebAssembly.RuntimeError, String(r.trap));
    assert.equal(r.body.length, 0);

    r = ok(serve("/committed"));
    assert.deepEqual([r.status, text(r)], [200, "xcommitted-ok"]);
    assert.equal(text(ok(serve("/invalid"))), "invalid-ok");

    r = ok(serve("/flush", { body: "rest", chunk: 1 }));
    assert.deepEqual([text(r), r.flushes], ["firstrest", [5]]);

    // The line transport sends no PATH_INFO: echo.
    assert.equal(text(ok(serve(null, { body: "one line" }))), "one line");
  });

  test(`hello-as and echo-as (${life})`, () => {
    let r = ok(guests.hello.serve({ pool, env: { QUERY_STRING: "" } }));
    assert.deepEqual([text(r), r.header("Content-Type")], ["Hello, world!\n", ["text/plain; charset=utf-8"]]);
    r = ok(guests.hello.serve({ pool, env: { QUERY_STRING: "a=1&name=J%C3%BCrgen+M&name=x" } }));
    assert.equal(text(r), "Hello, Jürgen M!\n");
    assert.equal(text(ok(guests.hello.serve({ pool, env: { QUERY_STRING: "name=%zz%41" } }))), "Hello, %zzA!\n");
    r = ok(guests.echo.serve({ pool, body: "ping", env: { CONTENT_TYPE: "text/x" } }));
    assert.deepEqual([text(r), r.header("content-type")], ["ping", ["text/x"]]);
  });

  test(`sdk fixture (${life}): size negotiation, UTF-8, limits, errors`, () => {
    const g = guests.sdk;
    const serve = (path, more = {}) => g.serve({ pool, ...more, env: { PATH_INFO: path, ...more.env } });
    const key = "K".repeat(2000);
    const value = "välue ".repeat(1000);
    assert.equal(text(ok(serve("/env", { env: { QUERY_STRING: key, [key]: value } }))), value);
    assert.equal(text(ok(serve("/env", { env: { QUERY_STRING: "E", E: "" } }))), "");
    assert.equal(text(ok(serve("/env", { env: { QUERY_STRING: "nope" } }))), "(null)");
    assert.equal(text(ok(serve("/env-bytes", { env: { QUERY_STRING: "B", B: value } }))), value);
    assert.equal(text(ok(serve("/has", { env: { QUERY_STRING: "B", B: "x" } }))), "yes");
    assert.equal(text(ok(serve("/has", { env: { QUERY_STRING: "C" } }))), "no");

    const many = {};
    for (let i = 0; i < 300; i++) many["KEY_" + String(i).padStart(4, "0")] = "v";
    const r0 = ok(serve("/keys", { env: { ...many, "é": "1" } }));
    assert.equal(text(r0), ["KEY_0000", ...Object.keys(many).slice(1), "PATH_INFO", "é"].join("\n"));

    const body = "x".repeat(10000);
    assert.equal(text(ok(serve("/readall", { body, chunk: 333, env: { QUERY_STRING: "10000" } }))), body);
    assert.equal(text(ok(serve("/readall", { body, env: { QUERY_STRING: "9999" } }))), "ERR_TOO_LARGE");
    assert.equal(text(ok(serve("/readall", { body: "", env: { QUERY_STRING: "0" } }))), "");
    assert.equal(text(ok(serve("/readall", { body: "a", env: { QUERY_STRING: "0" } }))), "ERR_TOO_LARGE");
    assert.equal(text(ok(serve("/readstring", { body: "héllo ✓", chunk: 2 }))), "7:héllo ✓");
    assert.equal(text(ok(serve("/read-empty"))), "ERR_INVALID");

    assert.equal(text(ok(serve("/bigwrite"))), "é".repeat(3000) + ":6000");
    assert.equal(text(ok(serve("/errors"))),
      "OK,OK,ERR_NOT_FOUND,ERR_INVALID,ERR_COMMITTED,ERR_CLOSED,ERR_IO,ERR_TIMEOUT,ERR_TOO_LARGE,ERR_DENIED,ERR_FULL,ERR_IO,ERR_IO");
    assert.equal(text(ok(serve("/status"))), "xERR_INVALID,ERR_INVALID,ERR_COMMITTED");

    let r = ok(serve("/headers"));
    assert.equal(text(r), "OK,OK,OK,ERR_INVALID,ERR_INVALID,ERR_INVALID,ERR_INVALID,OK");
    assert.deepEqual([r.header("X-Long")[0].length, r.header("X-Multi"), r.header("X-Utf8")], [2000, ["1", "2"], ["ünïcode"]]);

    r = ok(serve("/log"));
    assert.deepEqual(r.logs, [{ level: Level.Warn, msg: "w".repeat(3000) }, { level: 3, msg: "odd level ✓" }]);

    // A write to a closed peer reports ERR_CLOSED.
    r = serve("/bigwrite", { closed: true });
    assert.equal(r.code, 1);

    assert.equal(text(ok(serve("/random"))), "ok");
    r = ok(serve("/trace"));
    assert.deepEqual(r.logs, [{ level: Level.Debug, msg: "trace: tr 1.5 2.0" }]);
    assert.equal(serve("/fail").code, 7);
  });

  test(`sdk fixture (${life}): abort logs the message and traps`, () => {
    const g = guests.sdk;
    for (const [path, q, msg] of [
      ["/assert", "", /^abort: boom at .*sdk\.ts:\d+:\d+$/],
      ["/throw", "", /^abort: thrown at .*sdk\.ts:\d+:\d+$/],
      ["/oob", "5", /^abort: Index out of range at ~lib\/array\.ts:\d+:\d+$/],
    ]) {
      const r = g.serve({ pool, env: { PATH_INFO: path, QUERY_STRING: q } });
      assert.ok(r.trap instanceof WebAssembly.RuntimeError, `${path}: ${r.trap}`);
      assert.equal(r.logs.length, 1, JSON.stringify(r.logs));
      assert.equal(r.logs[0].level, Level.Error);
      assert.match(r.logs[0].msg, msg);
    }
  });
}

test("sdk fixture: _initialize sees no exchange", () => {
  const r = ok(guests.sdk.serve({ env: { PATH_INFO: "/init" } }));
  assert.equal(text(r), "ERR_CLOSED,ERR_CLOSED,ERR_COMMITTED,ERR_COMMITTED,(null),0");
});

test("pool: memory stays put over many exchanges (the collector runs after each)", () => {
  const g = guests.sdk;
  const env = { PATH_INFO: "/garbage", ...Object.fromEntries(Array.from({ length: 50 }, (_, i) => ["K" + i, "v".repeat(100)])) };
  const first = ok(g.serve({ pool: true, env }));
  for (let i = 0; i < 3000; i++) ok(g.serve({ pool: true, env }));
  const last = ok(g.serve({ pool: true, env }));
  assert.equal(text(last), text(first));
  assert.equal(last.memoryBytes, first.memoryBytes);
  assert.ok(last.memoryBytes <= 128 << 10, `memory ${last.memoryBytes}`);
});

test("registration mistakes are reported at instantiation", () => {
  assert.throws(() => guests.noreg.instantiate(), /bubble_init returned 1.*no handler registered/);
  assert.throws(() => guests.twice.instantiate(), WebAssembly.RuntimeError);
  assert.match(guests.twice.initLogs[0].msg, /^abort: bubble: a handler is registered already$/);
});

test("every module imports only bubblewasm_v1 and what it uses (WASI for Math.random, the park module, extensions)", () => {
  // A module importing an extension does not load on a route without its grant.
  const uses = {
    sdk: ["wasi_snapshot_preview1", "bubblewasm_park_v1"],
    kit: ["bubblewasm_park_v1", "bubblewasm_pubsub_v1", "bubblewasm_signal_v1", "bubblewasm_kv_v1", "bubblewasm_dial_v1", "bubblewasm_http_v1"],
    ext: ["bubblewasm_pubsub_v1", "bubblewasm_signal_v1", "bubblewasm_kv_v1", "bubblewasm_dial_v1", "bubblewasm_http_v1"],
  };
  for (const [name, g] of Object.entries(guests)) {
    const mods = new Set(WebAssembly.Module.imports(g.module).map((i) => i.module));
    mods.delete("bubblewasm_v1");
    for (const m of uses[name] ?? []) assert.ok(mods.delete(m), `${name} imports ${m}`);
    assert.deepEqual([...mods], [], name);
    const exports = WebAssembly.Module.exports(g.module).map((e) => e.name).sort();
    assert.deepEqual(exports, ["_initialize", "bubble_handle", "bubble_init", "memory"], name);
  }
});

test("the host stub itself: a bad pointer traps", () => {
  const g = guests.echo;
  g.instantiate();
  g.x = { env: {} };
  assert.throws(() => g.imports().bubblewasm_v1.env_get(0, 10, 1 << 30, 4), /outside memory/);
  g.x = null;
  assert.equal(Err.Committed, -3);
});

test("kit: /park parks twice and keeps output, header and stash", () => {
  const g = guests.kit;
  for (const pool of [false, true]) {
    let r = ok(g.serve({ pool, env: { PATH_INFO: "/park" } }));
    assert.deepEqual(r.parked, { on: "timeout", name: "", timeoutMs: 1 });
    r = ok(g.resume(r, { pool }));
    assert.notEqual(r.parked, null);
    r = ok(g.resume(r, { pool }));
    assert.equal(r.parked, null);
    assert.equal(text(r), "0;1:timeout:kit;2:timeout:kit;");
    assert.deepEqual(r.header("X-Kit-Park"), ["1"]);
  }
});

test("park functions: refusals, a signal's payload, a long stash, names at the limit", () => {
  const g = guests.sdk;
  const name = "sig." + "n".repeat(252); // 256 bytes: the longest name
  const tooLong = ok(g.serve({ env: { PATH_INFO: "/park", QUERY_STRING: name + "n" } }));
  assert.match(text(tooLong), new RegExp(`,${Err.Invalid};$`));
  assert.equal(tooLong.parked, null);
  let r = ok(g.serve({ env: { PATH_INFO: "/park", QUERY_STRING: name } }));
  assert.equal(text(r), `${Err.Invalid},${Err.Invalid},${Err.TooLarge},true,true,${Err.Invalid},0;`);
  assert.deepEqual(r.parked, { on: "signal", name, timeoutMs: 100 });
  r = ok(g.resume(r, { wake: "signal", payload: "the payload" }));
  assert.equal(r.parked, null);
  assert.match(text(r), /;signal:the payload:3000$/);
  r = ok(g.serve({ env: { PATH_INFO: "/park", QUERY_STRING: "sub-1" } }));
  assert.deepEqual(r.parked, { on: "message", name: "sub-1", timeoutMs: 100 });
  assert.match(text(ok(g.resume(r, { wake: "message" }))), /;message:null:3000$/);
});

// The /http case's upstream (CONFORMANCE.md): GET /up?TOKEN answers 203,
// X-Kit-Echo, a 10,000-byte X-Kit-Pad and TOKEN repeated to 100,000 bytes.
const upstreamBody = (token) => token.repeat(Math.ceil(100000 / token.length)).slice(0, 100000);

// adler32 is CONFORMANCE.md's checksum (RFC 1950).
function adler32(s) {
  let a = 1, b = 0;
  for (const c of Buffer.from(s)) {
    a = (a + c) % 65521;
    b = (b + a) % 65521;
  }
  return (b * 65536 + a) >>> 0;
}

// The grants of CONFORMANCE.md, with a line echo worker as "echo" and the
// /http case's upstream on http://127.0.0.1:9.
const kitGrants = () => new ExtHost({
  pubsub: ["kit.*"], signals: ["kit.*"], kv: true,
  dial: { echo: { status: 0, worker: (req) => Buffer.concat([req, Buffer.from("\n")]) } },
  outbound: {
    allow: ["http://127.0.0.1:9"],
    server: (req) => ({
      status: 203,
      headers: [["x-kit-echo", req.headers.find(([k]) => k === "X-Kit")?.[1] ?? ""], ["x-kit-pad", "p".repeat(10000)]],
      body: upstreamBody(req.url.split("?")[1]),
    }),
  },
});

test("kit: the extension cases", () => {
  const g = guests.kit;
  for (const pool of [false, true]) {
    const ext = kitGrants();
    for (const [path, q, want] of [
      ["/pubsub", "", "pubsub 1 hello notfound denied"],
      ["/signal", "", "signal 0 timeout denied"],
      ["/kv", "v1", "kv v1 notfound toolarge"],
      ["/dial", "ping", "dial ping 0 denied"],
      ["/http", "http://127.0.0.1:9/up?tok", `http 203 kit 100000 ${adler32(upstreamBody("tok"))} denied`],
    ]) {
      const r = ok(g.serve({ pool, ext, env: { PATH_INFO: path, QUERY_STRING: q } }));
      assert.deepEqual([r.status, text(r)], [200, want], path);
    }
    assert.equal(ext.subs.size, 0, "the kit unsubscribed");
    assert.equal(ext.store.size, 0, "the kit deleted its key");
    // Without the grants a step fails visibly.
    const r = ok(g.serve({ pool, env: { PATH_INFO: "/kv" } }));
    assert.deepEqual([r.status, text(r)], [500, "kv: set: ERR_DENIED"]);
  }
});

const extHost = () => new ExtHost({
  pubsub: ["chat.*"], signals: ["sig.*"], kv: true,
  dial: {
    echo: { worker: (req) => Buffer.concat([req, Buffer.from("\n")]) },
    big: { worker: () => "b".repeat(100000) },
    amqp: { status: 201, worker: (req) => req.toString().toUpperCase() },
    down: { worker: () => Err.IO },
  },
  outbound: {
    allow: ["https://api.example.com/v1"],
    server: (req) => {
      if (req.url.endsWith("/fail")) return Err.IO;
      const hs = req.headers.map(([k, v]) => `[${k}=${v}]`).join("");
      return {
        status: req.url.endsWith("/missing") ? 404 : 200,
        headers: [["x-b", "2"], ["content-type", "text/plain"], ["x-b", "3"]],
        body: `${req.method} ${req.url} ${hs}${req.body}`,
        readError: req.url.endsWith("/huge") ? Err.TooLarge : 0,
      };
    },
  },
});

test("extension wrappers: size negotiation, payloads, errors", () => {
  const g = guests.ext;
  const ext = extHost();
  const serve = (path) => text(ok(g.serve({ ext, env: { PATH_INFO: path } })));
  assert.equal(serve("/pubsub"),
    "1,1,short,5000,ERR_TIMEOUT,-2,-7,0,-1,ERR_NOT_FOUND,ERR_DENIED");
  ext.signalLater("sig.a", "payload");
  ext.signalLater("sig.b", "x".repeat((64 << 10) + 10));
  ext.signalLater("sig.c", "0123456789");
  assert.equal(serve("/signal"), `payload,${64 << 10},4,ERR_TIMEOUT,0,-8`);
  assert.deepEqual(ext.sent.map(([n, p]) => [n, Buffer.from(p).toString()]), [["sig.e", "p"]]);
  assert.equal(serve("/kv"), "ERR_NOT_FOUND,0,3000,0,välue,0,0,ERR_NOT_FOUND,0,-7,-7");
  assert.equal(serve("/dial"),
    "-1,ERR_NOT_FOUND,ping\n,0,100000,A\nB,201,ERR_INVALID,ERR_DENIED,ERR_DENIED,ERR_IO,-1");
  // Without grants every call is denied.
  assert.equal(text(ok(g.serve({ env: { PATH_INFO: "/kv" } }))).split(",")[1], String(Err.Denied));
});

test("outbound http wrappers against the fake host", () => {
  const g = guests.ext;
  const ext = extHost();
  let r = ok(g.serve({ ext, env: { PATH_INFO: "/http" } }));
  assert.equal(text(r), [
    "200", "Content-Type|text/plain|X-B|2|X-B|3", "text/plain", "5", "POST ",
    "https://api.example.com/v1/items [X-A=1][X-A=2]payload", "0", "0", "0", "-1",
    "404", "ERR_TOO_LARGE", "ERR_TOO_LARGE",
  ].join(","));
  assert.deepEqual(ext.requests[0].headers, [["X-A", "1"], ["X-A", "2"]]);
  assert.equal(r.openResponses, 3, "the handler left three open; the host closes them at the end");
  r = ok(g.serve({ ext, env: { PATH_INFO: "/http-errors" } }));
  assert.equal(text(r), [
    "ERR_DENIED", "ERR_DENIED", "ERR_DENIED", "ERR_INVALID", "ERR_IO",
    "ERR_INVALID", "ERR_INVALID", "ERR_INVALID", "ERR_INVALID", "ERR_INVALID", "ERR_INVALID", "ERR_INVALID", "ERR_INVALID",
    "ERR_INVALID", "ERR_TOO_LARGE", "8", "ERR_FULL", "ok",
  ].join(","));
  r = ok(g.serve({ env: { PATH_INFO: "/http" } }));
  assert.equal(text(r), "ERR_DENIED");
});
