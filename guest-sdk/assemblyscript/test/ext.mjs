// The extensions of the JavaScript test host (host.mjs): pub/sub, signals,
// key-value, dial and outbound HTTP, granted and configured by an ExtHost
// that exchanges share (serve({ ext })). Without one every call is
// ERR_DENIED, as on a route without the grants. The fake cannot wait:
// a fetch on an empty queue or a wait without a pending signal answers
// ERR_TIMEOUT at once.
//
//   const ext = new ExtHost({
//     pubsub: ["kit.*"], signals: ["kit.*"], kv: true,
//     dial: { echo: { status: 0, worker: (req) => Buffer.concat([req, Buffer.from("\n")]) } },
//     outbound: { allow: ["https://api.example.com"], server: (req) => ({ status: 200, headers: [], body: "x" }) },
//   });
//   guest.serve({ env, ext });
import { Err } from "./host.mjs";

const enc = new TextEncoder();
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const MAX_MESSAGE = 64 << 10;
const MAX_VALUE = 64 << 10;
const MAX_REPLY = 1 << 20;
const MAX_HTTP_BODY = 1 << 20;
const MAX_OPEN = 8;
const OWNED = ["host", "content-length", "transfer-encoding", "connection", "keep-alive", "proxy-connection", "upgrade", "te", "trailer"];

const bytes = (x) => (typeof x === "string" ? enc.encode(x) : new Uint8Array(x ?? []));

// validName: a channel, signal or namespace name as ABI.md defines it.
export function validName(name) {
  return name.length >= 1 && name.length <= 256 && /^[\x21-\x7e]+$/.test(name) && !/[*?[\]\\]/.test(name) &&
    name.split(".").every((s) => s !== "");
}

// matches: whether a grant pattern covers a name (ABI.md's rules).
export function matches(pattern, name) {
  const wild = (s) => /[*?]/.test(s);
  if (pattern === "*") return true;
  if (!wild(pattern)) return pattern === name;
  if (pattern.endsWith(".*") && !wild(pattern.slice(0, -2))) {
    const base = pattern.slice(0, -2);
    return name === base || name.startsWith(base + ".");
  }
  const ps = pattern.split(".");
  const ns = name.split(".");
  const glob = (p) => new RegExp("^" + p.replace(/[.+^${}()|\\]/g, "\\$&").replace(/\*/g, "[^.]*").replace(/\?/g, "[^.]") + "$");
  return ps.length === ns.length && ps.every((p, i) => glob(p).test(ns[i]));
}

function canonical(name) {
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_, d, c) => d + c.toUpperCase());
}

export class ExtHost {
  constructor({ pubsub = [], signals = [], kv = false, dial = {}, outbound = null } = {}) {
    Object.assign(this, { pubsub, signals, kv, dial, outbound });
    this.subs = new Map(); // id -> { channel, queue }
    this.nextSub = 0;
    this.store = new Map(); // key (latin1 string of the bytes) -> Uint8Array
    this.pending = new Map(); // signal name -> payload
    this.sent = []; // [name, payload] in order
    this.requests = []; // outbound requests, as the server saw them
  }

  // publish queues msg as another exchange would.
  publish(channel, msg) {
    let n = 0;
    for (const s of this.subs.values()) if (s.channel === channel) { s.queue.push(bytes(msg)); n++; }
    return n;
  }

  // signalLater makes the next wait on name return payload at once.
  signalLater(name, payload) {
    this.pending.set(name, bytes(payload));
  }
}

// extImports returns the five import modules of guest g (a host.mjs Guest,
// its exchange in g.x with g.x.ext the ExtHost or null).
export function extImports(g) {
  const host = () => g.x.ext ?? null;
  const checkName = (fn, patterns, p, l) => {
    const name = g.str(fn, p, l);
    if (!validName(name)) return [null, Err.Invalid];
    if (!patterns.some((pat) => matches(pat, name))) return [null, Err.Denied];
    return [name, 0];
  };
  const pubsub = {
    publish(cp, cl, mp, ml) {
      const h = host();
      const msg = g.mem("publish", mp, ml).slice();
      if (!h) return Err.Denied;
      const [ch, err] = checkName("publish", h.pubsub, cp, cl);
      if (err) return err;
      if (ml > MAX_MESSAGE) return Err.TooLarge;
      return h.publish(ch, msg);
    },
    subscribe(cp, cl, ip, il) {
      const h = host();
      g.mem("subscribe", ip, il);
      if (!h) return Err.Denied;
      if (il < 64) return Err.Invalid;
      const [ch, err] = checkName("subscribe", h.pubsub, cp, cl);
      if (err) return err;
      const id = `fake-subscription-${++h.nextSub}`;
      h.subs.set(id, { channel: ch, queue: [] });
      return g.fill("subscribe", enc.encode(id), ip, il);
    },
    fetch(ip, il, _t, bp, bl) {
      const h = host();
      const id = g.str("fetch", ip, il);
      g.mem("fetch", bp, bl);
      if (!h) return Err.Denied;
      const s = il <= 64 ? h.subs.get(id) : undefined;
      if (!s) return Err.NotFound;
      if (s.queue.length === 0) return Err.Timeout;
      const n = g.fill("fetch", s.queue[0], bp, bl);
      if (n <= bl) s.queue.shift();
      return n;
    },
    unsubscribe(ip, il) {
      const h = host();
      const id = g.str("unsubscribe", ip, il);
      if (!h) return Err.Denied;
      return h.subs.delete(id) ? 0 : Err.NotFound;
    },
  };
  const signal = {
    wait(np, nl, _t, bp, bl) {
      const h = host();
      const buf = g.mem("wait", bp, bl);
      if (!h) return Err.Denied;
      const [name, err] = checkName("wait", h.signals, np, nl);
      if (err) return err;
      const p = h.pending.get(name);
      if (p === undefined) return Err.Timeout;
      h.pending.delete(name);
      buf.set(p.subarray(0, bl));
      return p.length;
    },
    send(np, nl, pp, pl) {
      const h = host();
      const payload = g.mem("send", pp, pl).slice();
      if (!h) return Err.Denied;
      const [name, err] = checkName("send", h.signals, np, nl);
      if (err) return err;
      if (pl > MAX_MESSAGE) return Err.TooLarge;
      h.sent.push([name, payload]);
      return 0; // nobody else runs: no waiter
    },
  };
  const latin1 = (b) => Buffer.from(b).toString("latin1");
  const kv = {
    get(kp, kl, bp, bl) {
      const h = host();
      const key = g.mem("get", kp, kl);
      g.mem("get", bp, bl);
      if (!h || !h.kv) return Err.Denied;
      const v = h.store.get(latin1(key));
      return v === undefined ? Err.NotFound : g.fill("get", v, bp, bl);
    },
    set(kp, kl, vp, vl, _ttl) {
      const h = host();
      const key = g.mem("set", kp, kl);
      const value = g.mem("set", vp, vl).slice();
      if (!h || !h.kv) return Err.Denied;
      if (kl > 256 || vl > MAX_VALUE) return Err.TooLarge;
      h.store.set(latin1(key), value);
      return 0;
    },
    delete(kp, kl) {
      const h = host();
      const key = g.mem("delete", kp, kl);
      if (!h || !h.kv) return Err.Denied;
      h.store.delete(latin1(key));
      return 0;
    },
  };
  const dial = {
    call(tp, tl, rp, rl, _t, bp, bl) {
      const h = host();
      const target = g.str("call", tp, tl);
      const req = g.mem("call", rp, rl).slice();
      g.mem("call", bp, bl);
      g.x.reply = null;
      if (!h) return Err.Denied;
      const t = tl <= 64 && Object.hasOwn(h.dial, target) ? h.dial[target] : null;
      if (!t) return Err.Denied;
      if ((t.status ?? 0) === 0 && req.includes(0x0a)) return Err.Invalid;
      const r = t.worker(Buffer.from(req));
      if (typeof r === "number") return r; // an error code
      const reply = bytes(r);
      if (reply.length > MAX_REPLY) return Err.TooLarge;
      g.x.reply = { reply, status: t.status ?? 0 };
      return g.fill("call", reply, bp, bl);
    },
    reply(bp, bl) {
      g.mem("reply", bp, bl);
      return g.x.reply ? g.fill("reply", g.x.reply.reply, bp, bl) : Err.NotFound;
    },
    status() {
      return g.x.reply ? g.x.reply.status : Err.NotFound;
    },
  };
  const open = () => (g.x.http ??= { next: 0, open: new Map() });
  const http = {
    request(mp, ml, up, ul, hp, hl, bp, bl, _t) {
      const h = host();
      const method = g.str("request", mp, ml);
      const url = g.str("request", up, ul);
      const raw = g.str("request", hp, hl);
      const body = g.mem("request", bp, bl).slice();
      if (!TOKEN.test(method) || !/^https?:\/\//.test(url)) return Err.Invalid;
      if (raw !== "" && !raw.endsWith("\n")) return Err.Invalid;
      const headers = [];
      for (const line of raw.split("\n").slice(0, -1)) {
        const i = line.indexOf(":");
        if (i < 0) return Err.Invalid;
        const [name, value] = [line.slice(0, i), line.slice(i + 1).replace(/^ +/, "")];
        if (!TOKEN.test(name) || /[\r\0]/.test(value) || OWNED.includes(name.toLowerCase())) return Err.Invalid;
        headers.push([name, value]);
      }
      const o = h?.outbound;
      const allowed = o && o.allow.some((a) => {
        a = a.replace(/\/+$/, "");
        return url === a || (url.startsWith(a) && /^[/?]/.test(url.slice(a.length)));
      });
      if (!allowed) return Err.Denied;
      if (bl > MAX_HTTP_BODY) return Err.TooLarge;
      const st = open();
      if (st.open.size >= MAX_OPEN) return Err.Full;
      const req = { method, url, headers, body: Buffer.from(body) };
      h.requests.push(req);
      const r = o.server(req);
      if (typeof r === "number") return r; // an error code
      const hs = (r.headers ?? []).map(([n, v]) => [canonical(n), v]);
      hs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)); // stable
      const handle = ++st.next;
      st.open.set(handle, { status: r.status, headers: hs, body: bytes(r.body), pos: 0, readError: r.readError ?? 0 });
      return handle;
    },
    status(handle) {
      const r = open().open.get(handle);
      return r ? r.status : Err.NotFound;
    },
    headers(handle, bp, bl) {
      g.mem("headers", bp, bl);
      const r = open().open.get(handle);
      if (!r) return Err.NotFound;
      return g.fill("headers", enc.encode(r.headers.map(([n, v]) => `${n}: ${v}\n`).join("")), bp, bl);
    },
    read(handle, bp, bl) {
      const buf = g.mem("read", bp, bl);
      const r = open().open.get(handle);
      if (!r) return Err.NotFound;
      if (bl === 0) return Err.Invalid;
      const n = Math.min(bl, r.body.length - r.pos);
      if (n === 0) return r.readError;
      buf.set(r.body.subarray(r.pos, r.pos + n));
      r.pos += n;
      return n;
    },
    close(handle) {
      return open().open.delete(handle) ? 0 : Err.NotFound;
    },
  };
  return {
    bubblewasm_pubsub_v1: pubsub,
    bubblewasm_signal_v1: signal,
    bubblewasm_kv_v1: kv,
    bubblewasm_dial_v1: dial,
    bubblewasm_http_v1: http,
  };
}
