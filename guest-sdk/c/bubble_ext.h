/*
 * bubble_ext.h: the C guest SDK's extensions (abi/ABI.md "Extensions"):
 * pub/sub, signals, key-value, dial, and outbound HTTP. Their code is in
 * bubble_ext.c, which build.sh compiles into every module.
 *
 * Each extension is an import module of its own that the route must grant
 * (pubsub = ["chat.*"], signals = ["room.*"], kv = "app",
 * dial = { worker = "unix:///run/worker.sock" },
 * outbound = ["https://api.example.com"]); the server refuses to load a
 * module that imports one its route does not grant. A module imports an
 * extension only when it calls one of its functions: wasm-ld drops the
 * functions nothing calls, and their imports with them, so a handler that
 * uses no extension needs no grant.
 *
 * Conventions are bubble.h's: an int result is >= 0 on success and a
 * negative bubble_err on failure; names, keys, targets, methods and URLs
 * are NUL-terminated strings; every other piece of data is a pointer and
 * a length. A call outside the route's grant returns BUBBLE_ERR_DENIED.
 * Timeouts are milliseconds; every wait also ends at the exchange's
 * deadline (BUBBLE_ERR_TIMEOUT) or when the exchange is cancelled
 * (BUBBLE_ERR_CLOSED).
 *
 * Buffers: a function that takes (buf, cap) copies into the caller's
 * buffer and returns the full length n; when n > cap nothing was copied
 * (size negotiation). A function that takes (char **out, size_t *len)
 * does the negotiation itself and sets *out to a new buffer from malloc,
 * NUL-terminated for convenience (the NUL is not counted in *len): the
 * caller frees it. On failure *out is NULL and *len is 0, and nothing
 * needs freeing; BUBBLE_ERR_NOMEM reports a failed malloc.
 */
#ifndef BUBBLE_EXT_H
#define BUBBLE_EXT_H

#include "bubble.h"

#ifdef __cplusplus
extern "C" {
#endif

/* --------------------------------------------------------------- pub/sub */

/* The longest subscription id the host issues, without the NUL. */
#define BUBBLE_MAX_SUBSCRIPTION_ID 64

/*
 * Queues msg on every subscription of channel and returns how many
 * subscriptions it was queued for (0 when nobody listens). Channel names
 * are printable ASCII without spaces or * ? [ ] \, single dots separating
 * non-empty levels ("chat.room1"). Errors: BUBBLE_ERR_DENIED (outside the
 * route's pubsub grant), _INVALID (bad name), _TOO_LARGE (msg over the
 * route's message limit).
 */
int bubble_publish(const char *channel, const void *msg, size_t len);

/*
 * Creates a subscription to channel and writes its id, NUL-terminated,
 * into id (which holds BUBBLE_MAX_SUBSCRIPTION_ID + 1 bytes); returns the
 * id's length. The subscription lives on the host and outlives the
 * exchange: keep the id (a cookie, the KV store) to fetch in later
 * exchanges. It is an unguessable bearer token: do not log it. Errors are
 * bubble_publish's, and BUBBLE_ERR_FULL at the route's or the host's
 * subscription cap.
 */
int bubble_subscribe(const char *channel, char id[BUBBLE_MAX_SUBSCRIPTION_ID + 1]);

/*
 * Takes the next message of subscription id, waiting up to timeout_ms
 * (<= 0 does not wait), into *msg (malloc'd, see above) and *len; returns
 * 0. Messages of any size come whole: one longer than the SDK's first
 * buffer (2 KiB) stays queued until a second call with a buffer of its
 * size takes it. Errors: BUBBLE_ERR_TIMEOUT (nothing arrived in time),
 * _NOT_FOUND (the subscription is gone: unsubscribed, dropped, never
 * issued; subscribe again), _CLOSED, _DENIED, _NOMEM.
 */
int bubble_fetch(const char *id, int timeout_ms, char **msg, size_t *len);

/*
 * bubble_fetch into the caller's buffer: returns the message's length n;
 * when n > cap nothing was copied and the message stays queued for a call
 * with a buffer of n bytes.
 */
int bubble_fetch_buf(const char *id, int timeout_ms, void *buf, size_t cap);

/* Ends subscription id: 0, or BUBBLE_ERR_NOT_FOUND when it is gone. */
int bubble_unsubscribe(const char *id);

/* --------------------------------------------------------------- signals */

/*
 * Parks until another exchange sends the signal name (bubble_signal_send)
 * or timeout_ms passes (<= 0 does not wait); copies the payload into buf
 * and returns its full length n. A signal is a one-shot event: when
 * n > cap only cap bytes were copied and the rest is lost. Names follow
 * the rules of channel names. Errors: BUBBLE_ERR_TIMEOUT, _CLOSED,
 * _DENIED, _INVALID. To wait without holding the instance, park instead
 * (bubble_park_signal).
 */
int bubble_signal_wait(const char *name, int timeout_ms, void *buf, size_t cap);

/*
 * Wakes every exchange waiting on name with the payload and returns how
 * many it woke. A signal is not stored: with no waiter it is lost.
 * Errors: BUBBLE_ERR_DENIED, _INVALID, _TOO_LARGE.
 */
int bubble_signal_send(const char *name, const void *payload, size_t len);

/* ------------------------------------------------------------- key-value */

/*
 * Reads key from the route's namespace (kv = "NAME") into *value
 * (malloc'd, see above) and *len; returns 0. Errors: BUBBLE_ERR_NOT_FOUND
 * (no such key, or expired), _DENIED, _NOMEM.
 */
int bubble_kv_get(const char *key, char **value, size_t *len);

/* bubble_kv_get into the caller's buffer: the value's length n; when
   n > cap nothing was copied. */
int bubble_kv_get_buf(const char *key, void *buf, size_t cap);

/*
 * Stores len bytes of value under key for ttl_ms milliseconds (<= 0: until
 * deleted). Errors: BUBBLE_ERR_DENIED, _TOO_LARGE (a key over 256 bytes
 * or a value over the namespace's limit), _FULL (the namespace is full and
 * its eviction policy makes no room).
 */
int bubble_kv_set(const char *key, const void *value, size_t len, int ttl_ms);

/* Removes key (a missing key is not an error): 0 or BUBBLE_ERR_DENIED. */
int bubble_kv_delete(const char *key);

/* ------------------------------------------------------------------ dial */

/*
 * Sends len bytes of req to target, a worker the route names in its dial
 * table, and waits up to timeout_ms (<= 0: until the exchange's deadline)
 * for its reply, returned in *reply (malloc'd, see above) and *reply_len;
 * returns 0. Over a socket the reply is the line the worker answered,
 * newline included. A worker's own error answer is a reply: see
 * bubble_call_status. Errors: BUBBLE_ERR_DENIED (target not in the dial
 * table), _TIMEOUT, _CLOSED (the worker went away mid-call), _IO (the
 * worker cannot be reached), _TOO_LARGE (reply over 1 MiB), _INVALID (a
 * request with a newline inside, to a socket target), _NOMEM.
 */
int bubble_call(const char *target, const void *req, size_t len, int timeout_ms, char **reply, size_t *reply_len);

/*
 * bubble_call into the caller's buffer: returns the reply's length n;
 * when n > cap nothing was copied, and bubble_call_reply copies it without
 * calling again.
 */
int bubble_call_buf(const char *target, const void *req, size_t len, int timeout_ms, void *buf, size_t cap);

/* Copies the exchange's last reply (size negotiation); BUBBLE_ERR_NOT_FOUND
   when the last call failed or there was none. */
int bubble_call_reply(void *buf, size_t cap);

/*
 * The last reply's status: an AMQP worker's x-bubble-status (200, 400,
 * ...), 0 when the target's transport carries none (unix and tcp
 * targets); BUBBLE_ERR_NOT_FOUND as for bubble_call_reply.
 */
int bubble_call_status(void);

/* --------------------------------------------------------- outbound HTTP */

/*
 * Sends an HTTP request to url, which the route's outbound allowlist must
 * cover, and waits for the response's status line and headers. timeout_ms
 * (<= 0: the route's outbound timeout) bounds the whole call, the reads of
 * the body included. headers is NULL or zero or
 * more lines "Name: value\n" (each ending with \n); the host sets Host,
 * Content-Length, Transfer-Encoding and Connection itself. body may be
 * NULL when body_len is 0. Returns a response handle (> 0) for the
 * functions below; close it with bubble_http_close (the host closes what
 * is still open when the exchange ends; at most 8 are open at once).
 * Redirects are followed while they stay within the allowlist.
 *
 * Errors: BUBBLE_ERR_DENIED (URL or the address it resolves to not
 * allowed), _INVALID (bad method, URL or headers), _TOO_LARGE (body over
 * the route's cap), _TIMEOUT, _CLOSED (exchange cancelled), _IO (DNS,
 * refused, TLS, malformed response), _FULL (8 responses already open).
 */
int bubble_http_request(const char *method, const char *url, const char *headers, const void *body,
			size_t body_len, int timeout_ms);

/* The response's HTTP status code, or BUBBLE_ERR_NOT_FOUND (unknown or
   closed handle). */
int bubble_http_status(int handle);

/*
 * The response headers as "Name: value\n" lines (canonical names, stable
 * order) in *headers (malloc'd, see above) and *len; returns 0 or
 * BUBBLE_ERR_NOT_FOUND, _NOMEM.
 */
int bubble_http_headers(int handle, char **headers, size_t *len);

/*
 * Copies the value of the first response header name (case-insensitive)
 * into buf, NUL-terminated, with bubble_env_get's contract: returns the
 * value's length n; when n >= cap nothing was copied and the call needs
 * n + 1 bytes. BUBBLE_ERR_NOT_FOUND when the response has no such header
 * (or the handle is unknown), _NOMEM.
 */
int bubble_http_header(int handle, const char *name, char *buf, size_t cap);

/*
 * Streams the response body: returns the bytes read (> 0, possibly fewer
 * than cap: call again), 0 at the end of the body, or BUBBLE_ERR_TOO_LARGE
 * (the body passed the route's response cap), _TIMEOUT, _CLOSED, _IO,
 * _NOT_FOUND, _INVALID (cap 0).
 */
int bubble_http_read(int handle, void *buf, size_t cap);

/* Closes the response: 0 or BUBBLE_ERR_NOT_FOUND. */
int bubble_http_close(int handle);

/* ---------------------------------------------------------------- raw ABI */

/*
 * The extensions' host imports, as abi/ABI.md (and, for outbound HTTP,
 * bubblewasm_http_v1) defines them. Prefer the functions above. In a
 * native build these are ordinary functions that bubble_stub_ext.c
 * defines.
 */
#if defined(__wasm__)
#define BUBBLE_EXT_IMPORT_(module, name) __attribute__((import_module(module), import_name(name)))
#else
#define BUBBLE_EXT_IMPORT_(module, name)
#endif

BUBBLE_EXT_IMPORT_("bubblewasm_pubsub_v1", "publish")
int32_t bubble_abi_publish(const char *channel, uint32_t channel_len, const void *msg, uint32_t msg_len);
BUBBLE_EXT_IMPORT_("bubblewasm_pubsub_v1", "subscribe")
int32_t bubble_abi_subscribe(const char *channel, uint32_t channel_len, char *id, uint32_t id_cap);
BUBBLE_EXT_IMPORT_("bubblewasm_pubsub_v1", "fetch")
int32_t bubble_abi_fetch(const char *id, uint32_t id_len, int32_t timeout_ms, void *buf, uint32_t buf_len);
BUBBLE_EXT_IMPORT_("bubblewasm_pubsub_v1", "unsubscribe")
int32_t bubble_abi_unsubscribe(const char *id, uint32_t id_len);

BUBBLE_EXT_IMPORT_("bubblewasm_signal_v1", "wait")
int32_t bubble_abi_signal_wait(const char *name, uint32_t name_len, int32_t timeout_ms, void *buf, uint32_t buf_len);
BUBBLE_EXT_IMPORT_("bubblewasm_signal_v1", "send")
int32_t bubble_abi_signal_send(const char *name, uint32_t name_len, const void *payload, uint32_t payload_len);

BUBBLE_EXT_IMPORT_("bubblewasm_kv_v1", "get")
int32_t bubble_abi_kv_get(const char *key, uint32_t key_len, void *buf, uint32_t buf_len);
BUBBLE_EXT_IMPORT_("bubblewasm_kv_v1", "set")
int32_t bubble_abi_kv_set(const char *key, uint32_t key_len, const void *value, uint32_t value_len, int32_t ttl_ms);
BUBBLE_EXT_IMPORT_("bubblewasm_kv_v1", "delete")
int32_t bubble_abi_kv_delete(const char *key, uint32_t key_len);

BUBBLE_EXT_IMPORT_("bubblewasm_dial_v1", "call")
int32_t bubble_abi_dial_call(const char *target, uint32_t target_len, const void *req, uint32_t req_len,
			     int32_t timeout_ms, void *buf, uint32_t buf_len);
BUBBLE_EXT_IMPORT_("bubblewasm_dial_v1", "reply")
int32_t bubble_abi_dial_reply(void *buf, uint32_t buf_len);
BUBBLE_EXT_IMPORT_("bubblewasm_dial_v1", "status")
int32_t bubble_abi_dial_status(void);

BUBBLE_EXT_IMPORT_("bubblewasm_http_v1", "request")
int32_t bubble_abi_http_request(const char *method, uint32_t method_len, const char *url, uint32_t url_len,
				const char *headers, uint32_t headers_len, const void *body, uint32_t body_len,
				int32_t timeout_ms);
BUBBLE_EXT_IMPORT_("bubblewasm_http_v1", "status")
int32_t bubble_abi_http_status(int32_t handle);
BUBBLE_EXT_IMPORT_("bubblewasm_http_v1", "headers")
int32_t bubble_abi_http_headers(int32_t handle, void *buf, uint32_t buf_len);
BUBBLE_EXT_IMPORT_("bubblewasm_http_v1", "read")
int32_t bubble_abi_http_read(int32_t handle, void *buf, uint32_t buf_len);
BUBBLE_EXT_IMPORT_("bubblewasm_http_v1", "close")
int32_t bubble_abi_http_close(int32_t handle);

#ifdef __cplusplus
}
#endif

#endif /* BUBBLE_EXT_H */
