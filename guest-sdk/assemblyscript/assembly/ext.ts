// The extensions of abi/ABI.md ("Extensions"): pub/sub, signals,
// key-value and dial, re-exported by bubble.ts. Each is granted by a route
// key (pubsub, signals, kv, dial); a call outside the grant is Err.Denied.
// Functions that return data return null on an error: bubble.lastError()
// then says which. Timeouts are milliseconds; <= 0 does not wait (dial:
// waits until the exchange's deadline), and every wait also ends at the
// exchange's deadline (Err.Timeout) or when it is cancelled (Err.Closed).
import { Err } from "./bubble";
import { code, fail, negotiateBytes, utf8 } from "./internal";

// @ts-ignore: decorator
@external("bubblewasm_pubsub_v1", "publish")
declare function host_publish(chPtr: usize, chLen: usize, msgPtr: usize, msgLen: usize): i32;
// @ts-ignore: decorator
@external("bubblewasm_pubsub_v1", "subscribe")
declare function host_subscribe(chPtr: usize, chLen: usize, idPtr: usize, idCap: usize): i32;
// @ts-ignore: decorator
@external("bubblewasm_pubsub_v1", "fetch")
declare function host_fetch(idPtr: usize, idLen: usize, timeoutMs: i32, bufPtr: usize, bufLen: usize): i32;
// @ts-ignore: decorator
@external("bubblewasm_pubsub_v1", "unsubscribe")
declare function host_unsubscribe(idPtr: usize, idLen: usize): i32;
// @ts-ignore: decorator
@external("bubblewasm_signal_v1", "wait")
declare function host_signal_wait(namePtr: usize, nameLen: usize, timeoutMs: i32, bufPtr: usize, bufLen: usize): i32;
// @ts-ignore: decorator
@external("bubblewasm_signal_v1", "send")
declare function host_signal_send(namePtr: usize, nameLen: usize, payloadPtr: usize, payloadLen: usize): i32;
// @ts-ignore: decorator
@external("bubblewasm_kv_v1", "get")
declare function host_kv_get(keyPtr: usize, keyLen: usize, bufPtr: usize, bufLen: usize): i32;
// @ts-ignore: decorator
@external("bubblewasm_kv_v1", "set")
declare function host_kv_set(keyPtr: usize, keyLen: usize, valuePtr: usize, valueLen: usize, ttlMs: i32): i32;
// @ts-ignore: decorator
@external("bubblewasm_kv_v1", "delete")
declare function host_kv_delete(keyPtr: usize, keyLen: usize): i32;
// @ts-ignore: decorator
@external("bubblewasm_dial_v1", "call")
declare function host_dial_call(targetPtr: usize, targetLen: usize, reqPtr: usize, reqLen: usize, timeoutMs: i32, bufPtr: usize, bufLen: usize): i32;
// @ts-ignore: decorator
@external("bubblewasm_dial_v1", "reply")
declare function host_dial_reply(bufPtr: usize, bufLen: usize): i32;
// @ts-ignore: decorator
@external("bubblewasm_dial_v1", "status")
declare function host_dial_status(): i32;

// The arguments of the negotiating calls below, for the functions they
// pass to negotiateBytes (AssemblyScript has no closures). `arg` keeps the
// encoded name alive while its pointer is in use.
let arg: ArrayBuffer | null = null;
let argTimeout: i32 = 0;

function argPtr(): usize {
  return changetype<usize>(arg);
}

function argLen(): usize {
  return <usize>changetype<ArrayBuffer>(arg).byteLength;
}

// ---------------------------------------------------------------------------
// Publish/subscribe (bubblewasm_pubsub_v1; route key pubsub = ["chat.*"]).

/** The longest subscription id the host issues. */
export const MAX_SUBSCRIPTION_ID: i32 = 64;

/**
 * Queues msg on every subscription of channel. Returns how many
 * subscriptions it was queued for (0 when nobody listens), or Err.Denied
 * (channel outside the route's grant), Err.Invalid (bad channel name:
 * 1-256 bytes of printable ASCII without spaces or * ? [ ] \, non-empty
 * segments separated by single dots) or Err.TooLarge (msg over the route's
 * message limit, 64 KiB by default).
 */
export function publish(channel: string, msg: Uint8Array): i32 {
  let ch = utf8(channel);
  return code(host_publish(changetype<usize>(ch), <usize>ch.byteLength, msg.dataStart, <usize>msg.length));
}

/** publish with a UTF-8 string message. */
export function publishString(channel: string, msg: string): i32 {
  return publish(channel, Uint8Array.wrap(utf8(msg)));
}

/**
 * Creates a subscription to channel and returns its id, or null (see
 * lastError: the errors of publish, and Err.Full at the route's or the
 * host's subscription cap). The subscription lives on the host and
 * outlives the exchange: keep the id (a cookie, a stash) and fetch from it
 * in later exchanges of the route or of its pubsub_scope. A subscription
 * whose queue overflows, or that nobody fetches from for the route's idle
 * time, is dropped. The id is a bearer token: do not log or show it.
 */
export function subscribe(channel: string): string | null {
  let ch = utf8(channel);
  let id = new Uint8Array(MAX_SUBSCRIPTION_ID);
  let n = host_subscribe(changetype<usize>(ch), <usize>ch.byteLength, id.dataStart, <usize>id.length);
  if (n < 0) return fail<string>(n);
  if (n > id.length) return fail<string>(Err.IO);
  return String.UTF8.decodeUnsafe(id.dataStart, <usize>n);
}

/**
 * Takes the next message of subscription id, waiting up to timeoutMs for
 * one; null on an error (see lastError): Err.Timeout (nothing arrived),
 * Err.NotFound (the subscription is gone: unsubscribed, dropped, never
 * issued, or another route's), Err.Closed, Err.Denied. Messages of any
 * size come back whole: one longer than the first buffer (1 KiB) stays
 * queued until a second call with a buffer of its size takes it.
 */
export function fetch(id: string, timeoutMs: i32): Uint8Array | null {
  arg = utf8(id);
  argTimeout = timeoutMs;
  let r = negotiateBytes(1024, (p: usize, l: usize): i32 => host_fetch(argPtr(), argLen(), argTimeout, p, l));
  arg = null;
  return r;
}

/** Ends subscription id: 0, or Err.NotFound when it no longer exists. */
export function unsubscribe(id: string): i32 {
  let b = utf8(id);
  return code(host_unsubscribe(changetype<usize>(b), <usize>b.byteLength));
}

// ---------------------------------------------------------------------------
// Signals (bubblewasm_signal_v1; route key signals = ["job.*"]).

/** The longest payload waitSignal returns by default. */
export const MAX_SIGNAL_PAYLOAD: i32 = 64 << 10;

/**
 * Waits up to timeoutMs for a sendSignal on name and returns its payload,
 * cut to max bytes (a signal is one-shot: the host drops what does not
 * fit); null on an error (see lastError): Err.Timeout (no send in time),
 * Err.Closed, Err.Denied (name outside the route's grant), Err.Invalid
 * (bad name). A handler may write and flush output before it waits; one
 * that would rather not hold its instance parks instead (parkSignal).
 */
export function waitSignal(name: string, timeoutMs: i32, max: i32 = MAX_SIGNAL_PAYLOAD): Uint8Array | null {
  let b = utf8(name);
  let buf = new Uint8Array(max < 0 ? 0 : max);
  let n = host_signal_wait(changetype<usize>(b), <usize>b.byteLength, timeoutMs, buf.dataStart, <usize>buf.length);
  if (n < 0) return fail<Uint8Array>(n);
  return buf.slice(0, n < buf.length ? n : buf.length);
}

/**
 * Wakes every exchange waiting on the signal name with payload. Returns
 * how many it woke (a signal nobody waits for is lost), or Err.Denied,
 * Err.Invalid, Err.TooLarge.
 */
export function sendSignal(name: string, payload: Uint8Array): i32 {
  let b = utf8(name);
  return code(host_signal_send(changetype<usize>(b), <usize>b.byteLength, payload.dataStart, <usize>payload.length));
}

// ---------------------------------------------------------------------------
// Key-value (bubblewasm_kv_v1; route key kv = "NAME", shared by the routes
// that name the same namespace).

/** The longest key, in bytes. */
export const MAX_KEY: i32 = 256;

/**
 * The value of key, or null: missing or expired (lastError is
 * Err.NotFound) or Err.Denied (the route grants no kv). Values of any size
 * come back whole.
 */
export function kvGet(key: string): Uint8Array | null {
  arg = utf8(key);
  let r = negotiateBytes(256, (p: usize, l: usize): i32 => host_kv_get(argPtr(), argLen(), p, l));
  arg = null;
  return r;
}

/**
 * Stores value under key for ttlMs milliseconds (<= 0: until deleted).
 * 0, Err.Denied, Err.TooLarge (a key over MAX_KEY bytes or a value over
 * the namespace's limit) or Err.Full (the namespace is full and its
 * eviction policy makes no room).
 */
export function kvSet(key: string, value: Uint8Array, ttlMs: i32 = 0): i32 {
  let k = utf8(key);
  return code(host_kv_set(changetype<usize>(k), <usize>k.byteLength, value.dataStart, <usize>value.length, ttlMs < 0 ? 0 : ttlMs));
}

/** kvSet with a UTF-8 string value. */
export function kvSetString(key: string, value: string, ttlMs: i32 = 0): i32 {
  return kvSet(key, Uint8Array.wrap(utf8(value)), ttlMs);
}

/** Removes key: 0 (also when it was absent) or Err.Denied. */
export function kvDelete(key: string): i32 {
  let k = utf8(key);
  return code(host_kv_delete(changetype<usize>(k), <usize>k.byteLength));
}

// ---------------------------------------------------------------------------
// Dial (bubblewasm_dial_v1; route key dial = { worker = "unix:///..." }).

/**
 * Sends req to target, a name in the route's dial table, and returns the
 * reply (over a socket the worker's line, its newline included; over AMQP
 * the reply's body). It waits up to timeoutMs (<= 0: until the exchange's
 * deadline). null on an error (see lastError): Err.Denied (target not in
 * the table), Err.Timeout, Err.Closed (the worker went away mid-call),
 * Err.IO (the worker cannot be reached), Err.TooLarge (reply over 1 MiB),
 * Err.Invalid (a request with a newline inside, to a socket target). A
 * worker's own error answer is a reply: see dialStatus.
 */
export function dialCall(target: string, req: Uint8Array, timeoutMs: i32 = 0): Uint8Array | null {
  let t = utf8(target);
  let buf = new Uint8Array(1024);
  let n = host_dial_call(changetype<usize>(t), <usize>t.byteLength, req.dataStart, <usize>req.length, timeoutMs, buf.dataStart, <usize>buf.length);
  if (n < 0) return fail<Uint8Array>(n);
  if (n <= buf.length) return buf.slice(0, n);
  return dialReply(); // kept by the host: copy it without calling again
}

/** dialCall with a UTF-8 string request. */
export function dialCallString(target: string, req: string, timeoutMs: i32 = 0): Uint8Array | null {
  return dialCall(target, Uint8Array.wrap(utf8(req)), timeoutMs);
}

/** The last reply of this exchange again; null (Err.NotFound) when the last dialCall failed or there was none. */
export function dialReply(): Uint8Array | null {
  return negotiateBytes(1024, (p: usize, l: usize): i32 => host_dial_reply(p, l));
}

/**
 * The status of the last reply: an AMQP worker's x-bubble-status (200,
 * 400, ...), 0 for unix and tcp targets, or Err.NotFound as for dialReply.
 */
export function dialStatus(): i32 {
  return code(host_dial_status());
}
