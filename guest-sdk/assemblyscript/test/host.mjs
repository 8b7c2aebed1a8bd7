// A bubblewasm_v1 host in JavaScript, for testing handlers under Node.js
// without the server. It enforces the rules of abi/ABI.md that a guest can
// observe: pointer ranges (a bad one traps), size negotiation, end of input,
// metadata commit on the first write or flush, header name tokens and
// CR/LF/NUL-free values, status 200-999, and the no-exchange state during
// _initialize and bubble_init. WASI is stubbed: random_get and fd_write
// (stdout/stderr lines become log records) work, everything else returns
// ENOSYS.
//
//   import { load } from "./host.mjs";
//   const guest = await load("hello.wasm");
//   const res = guest.serve({ env: { PATH_INFO: "/" }, body: "hi" });
//   // res: { code, trap, status, headers, body, logs, flushes, parked }
//
// A handler that parks (bubblewasm_park_v1) leaves its wait in res.parked
// ({ on: "message" | "signal" | "timeout", name, timeoutMs }); the host
// grants every wait. guest.resume(res, { wake, payload }) runs the next run
// as the server does: the same exchange (env plus bubble.resume and
// bubble.wake, the rest of the input, the output, status and headers so
// far, the stash) on a new instance (or the pooled one, with pool: true).
//
// serve() uses a fresh instance by default; { pool: true } reuses one
// instance across calls (discarded after a trap or a non-zero result), as
// the server's pool lifecycle does.
import { readFileSync } from "node:fs";
import { randomFillSync } from "node:crypto";
import { extImports } from "./ext.mjs";

export const Err = Object.freeze({
  NotFound: -1, Invalid: -2, Committed: -3, Closed: -4, IO: -5, Timeout: -6, TooLarge: -7, Denied: -8, Full: -9,
});

export const Level = Object.freeze({ Debug: -4, Info: 0, Warn: 4, Error: 8 });

const enc = new TextEncoder();
const dec = new TextDecoder();
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function toBytes(x) {
  if (x === undefined || x === null) return new Uint8Array(0);
  if (typeof x === "string") return enc.encode(x);
  return new Uint8Array(x);
}

// canonical turns "x-kit" into "X-Kit", as Go's net/textproto does.
export function canonical(name) {
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_, d, c) => d + c.toUpperCase());
}

function compareBytes(a, b) {
  return Buffer.compare(Buffer.from(enc.encode(a)), Buffer.from(enc.encode(b)));
}

// Exchange is the state of one call of bubble_handle (or of initialization,
// when init is true).
class Exchange {
  constructor({ env = {}, body, chunk = Infinity, closed = false, init = false, ext = null }) {
    this.env = init ? {} : env;
    this.input = init ? new Uint8Array(0) : toBytes(body);
    this.pos = 0;
    this.chunk = chunk;
    this.closed = closed || init;
    this.init = init;
    this.committed = init;
    this.status = 200;
    this.headers = [];
    this.out = [];
    this.flushes = [];
    this.logs = [];
    this.written = 0;
    this.park = null; // the wait this run registered
    this.stash = null;
    this.payload = null; // the waking signal's
    this.resumes = 0;
    this.ext = ext; // the ExtHost (ext.mjs) granting the extensions, or null
    this.reply = null; // the last dial reply
    this.http = null; // the open outbound responses
  }

  result() {
    return {
      status: this.status,
      headers: this.headers,
      body: Buffer.concat(this.out.map((b) => Buffer.from(b))),
      logs: this.logs,
      flushes: this.flushes,
    };
  }

  header(name) {
    const c = canonical(name);
    return this.headers.filter(([n]) => n === c).map(([, v]) => v);
  }
}

export class Guest {
  constructor(module) {
    this.module = module;
    this.pooled = null;
    this.x = null; // the current Exchange
    this.memory = null;
  }

  // mem checks a (ptr, len) pair like the host does and returns a view.
  mem(fn, ptr, len) {
    ptr >>>= 0;
    len >>>= 0;
    const size = this.memory.buffer.byteLength;
    if (ptr + len > size) {
      throw new Error(`bubblewasm_v1.${fn}: range [${ptr}, ${ptr + len}) is outside memory (${size} bytes)`);
    }
    return new Uint8Array(this.memory.buffer, ptr, len);
  }

  str(fn, ptr, len) {
    return dec.decode(this.mem(fn, ptr, len));
  }

  // fill implements size negotiation: writes data when it fits.
  fill(fn, data, ptr, len) {
    const buf = this.mem(fn, ptr, len);
    if (data.length <= buf.length) buf.set(data);
    return data.length;
  }

  imports() {
    const g = this;
    const bubble = {
      env_get(kp, kl, bp, bl) {
        const key = g.str("env_get", kp, kl);
        g.mem("env_get", bp, bl);
        if (!Object.hasOwn(g.x.env, key)) return Err.NotFound;
        return g.fill("env_get", enc.encode(String(g.x.env[key])), bp, bl);
      },
      env_keys(bp, bl) {
        const keys = Object.keys(g.x.env).sort(compareBytes);
        return g.fill("env_keys", enc.encode(keys.map((k) => k + "\0").join("")), bp, bl);
      },
      read(bp, bl) {
        const buf = g.mem("read", bp, bl);
        if (bl === 0) return Err.Invalid;
        const x = g.x;
        const n = Math.min(bl, x.input.length - x.pos, x.chunk);
        buf.set(x.input.subarray(x.pos, x.pos + n));
        x.pos += n;
        return n;
      },
      write(bp, bl) {
        const buf = g.mem("write", bp, bl);
        const x = g.x;
        if (x.closed) return Err.Closed;
        x.committed = true;
        x.out.push(buf.slice());
        x.written += bl;
        return bl;
      },
      flush() {
        const x = g.x;
        if (x.closed) return Err.Closed;
        x.committed = true;
        x.flushes.push(x.written);
        return 0;
      },
      set_status(code) {
        if (code < 200 || code > 999) return Err.Invalid;
        if (g.x.committed) return Err.Committed;
        g.x.status = code;
        return 0;
      },
      set_header(np, nl, vp, vl) {
        return g.header("set_header", np, nl, vp, vl, false);
      },
      add_header(np, nl, vp, vl) {
        return g.header("add_header", np, nl, vp, vl, true);
      },
      log(level, mp, ml) {
        g.x.logs.push({ level, msg: g.str("log", mp, ml) });
      },
    };
    const park = (on, name, timeoutMs) => {
      const x = g.x;
      if (timeoutMs <= 0 || x.park !== null) return Err.Invalid;
      if (x.init) return Err.Closed;
      x.park = { on, name, timeoutMs };
      return 0;
    };
    const parkImports = {
      message(ip, il, t) {
        return park("message", g.str("message", ip, il), t);
      },
      signal(np, nl, t) {
        const name = g.str("signal", np, nl);
        if (nl === 0 || nl > 256) return Err.Invalid;
        return park("signal", name, t);
      },
      sleep(t) {
        return park("timeout", "", t);
      },
      cancel() {
        g.x.park = null;
        return 0;
      },
      stash(bp, bl) {
        const buf = g.mem("stash", bp, bl);
        if (bl > 4096) return Err.TooLarge;
        if (g.x.init) return Err.Closed;
        g.x.stash = buf.slice();
        return 0;
      },
      state(bp, bl) {
        g.mem("state", bp, bl);
        if (g.x.stash === null) return Err.NotFound;
        return g.fill("state", g.x.stash, bp, bl);
      },
      payload(bp, bl) {
        g.mem("payload", bp, bl);
        if (g.x.payload === null) return Err.NotFound;
        return g.fill("payload", g.x.payload, bp, bl);
      },
    };
    const wasi = {
      random_get(bp, bl) {
        randomFillSync(g.mem("random_get", bp, bl));
        return 0;
      },
      fd_write(fd, iovs, iovsLen, nwritten) {
        const view = new DataView(g.memory.buffer);
        let total = 0;
        let text = "";
        for (let i = 0; i < iovsLen; i++) {
          const p = view.getUint32(iovs + 8 * i, true);
          const l = view.getUint32(iovs + 8 * i + 4, true);
          text += g.str("fd_write", p, l);
          total += l;
        }
        for (const line of text.split("\n").filter((l) => l !== "")) {
          g.x.logs.push({ level: fd === 2 ? Level.Error : Level.Info, msg: line, stream: fd === 2 ? "stderr" : "stdout" });
        }
        view.setUint32(nwritten, total, true);
        return 0;
      },
    };
    const ext = extImports(g);
    const obj = {};
    for (const imp of WebAssembly.Module.imports(this.module)) {
      if (imp.kind !== "function") throw new Error(`unsupported import ${imp.module}.${imp.name} (${imp.kind})`);
      let fn;
      if (imp.module === "bubblewasm_v1") fn = bubble[imp.name];
      else if (imp.module === "bubblewasm_park_v1") fn = parkImports[imp.name];
      else if (Object.hasOwn(ext, imp.module)) fn = ext[imp.module][imp.name];
      else if (imp.module === "wasi_snapshot_preview1") fn = wasi[imp.name] ?? (() => 52 /* ENOSYS */);
      if (!fn) throw new Error(`the module imports ${imp.module}.${imp.name}, which bubblewasm does not provide`);
      (obj[imp.module] ??= {})[imp.name] = fn;
    }
    return obj;
  }

  header(fn, np, nl, vp, vl, add) {
    const name = this.str(fn, np, nl);
    const value = this.str(fn, vp, vl);
    if (!TOKEN.test(name) || /[\x00-\x08\x0a-\x1f\x7f]/.test(value)) return Err.Invalid;
    const x = this.x;
    const c = canonical(name);
    // The host owns the framing of the response (ABI.md).
    if (["Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade", "Trailer", "Te"].includes(c)) return Err.Invalid;
    if (c === "Content-Length" && (!/^(0|[1-9][0-9]{0,17})$/.test(value) || (add && x.headers.some(([n]) => n === c)))) return Err.Invalid;
    if (x.committed) return Err.Committed;
    if (!add) x.headers = x.headers.filter(([n]) => n !== c);
    x.headers.push([c, value]);
    return 0;
  }

  // instantiate makes an instance and runs _initialize and bubble_init, as
  // the server does. It throws when either fails.
  instantiate() {
    const inst = new WebAssembly.Instance(this.module, this.imports());
    const { memory, bubble_handle, _initialize, bubble_init } = inst.exports;
    if (!(memory instanceof WebAssembly.Memory)) throw new Error("the module exports no memory");
    if (typeof bubble_handle !== "function") throw new Error("the module exports no bubble_handle");
    this.memory = memory;
    this.x = new Exchange({ init: true });
    try {
      if (_initialize) _initialize();
      if (bubble_init) {
        const r = bubble_init();
        if (r !== 0) throw new Error(`bubble_init returned ${r}: ${JSON.stringify(this.x.logs)}`);
      }
    } finally {
      this.initLogs = this.x.logs;
      this.x = null;
    }
    return inst;
  }

  // serve runs one exchange. req: { env, body (string or bytes), chunk (max
  // bytes per read), closed (writes fail with ERR_CLOSED), pool, ext (an
  // ExtHost of ext.mjs granting the extensions) }.
  serve(req = {}) {
    return this.run(new Exchange(req), req.pool);
  }

  // resume runs the handler again after the park res ended in, on the same
  // exchange: { wake: "message" | "signal" | "timeout" | "shutdown",
  // payload (the signal's), pool }.
  resume(res, { wake = "timeout", payload = null, pool = false } = {}) {
    const x = res.exchange;
    if (!x || x.park === null) throw new Error("resume of an exchange that is not parked");
    x.resumes++;
    x.env = { ...x.env, "bubble.resume": String(x.resumes), "bubble.wake": wake };
    x.payload = payload === null ? null : toBytes(payload);
    return this.run(x, pool);
  }

  run(x, pool) {
    let inst = pool ? this.pooled : null;
    if (!inst) inst = this.instantiate();
    this.memory = inst.exports.memory;
    this.x = x;
    x.park = null;
    let code = 0;
    let trap = null;
    try {
      code = inst.exports.bubble_handle();
    } catch (e) {
      trap = e;
    } finally {
      this.x = null;
    }
    this.pooled = pool && trap === null && code === 0 ? inst : null;
    if (trap !== null || code !== 0) x.park = null; // a failed run's wait is dropped
    return { code, trap, ...x.result(), header: (n) => x.header(n), memoryBytes: inst.exports.memory.buffer.byteLength,
      parked: x.park, exchange: x, openResponses: x.http ? x.http.open.size : 0 };
  }
}

// load compiles a module from a path or bytes.
export async function load(wasm) {
  const bytes = typeof wasm === "string" ? readFileSync(wasm) : wasm;
  return new Guest(await WebAssembly.compile(bytes));
}
