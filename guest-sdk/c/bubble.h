/*
 * bubble.h: the C guest SDK for bubblewasm (host ABI bubblewasm_v1).
 *
 * A handler is a WASI reactor built with clang and wasi-libc; see README.md
 * for the exact commands. The contract behind every function is
 * abi/ABI.md, the env keys are listed in abi/ENV.md.
 *
 * Minimal handler:
 *
 *     #include "bubble.h"
 *
 *     static int hello(void) {
 *         if (bubble_set_header("Content-Type", "text/plain") < 0) return 1;
 *         return bubble_write_str("Hello, world!\n");
 *     }
 *     BUBBLE_HANDLER(hello)
 *
 * Conventions:
 *   - Functions that can fail return an int: 0 (BUBBLE_OK) or a length on
 *     success, a negative bubble_err on failure. Test with `< 0`.
 *   - Strings passed in (keys, header names and values, log messages) are
 *     NUL-terminated C strings; the *_n variants take a length instead.
 *   - Every function works only during an exchange (inside the handler) or
 *     in the BUBBLE_INIT function, where the ABI defines what the host
 *     answers (empty env, end of input, ERR_CLOSED, ERR_COMMITTED).
 *   - Exchanges never overlap within an instance, so static buffers are
 *     safe; with the `pool` lifecycle, statics survive between exchanges.
 */
#ifndef BUBBLE_H
#define BUBBLE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- errors */

/*
 * Error codes. The negative values -1..-9 are those of the ABI (-8 and -9
 * come from extension calls made through the raw imports); an unknown
 * negative value from the host is reported as BUBBLE_ERR_IO, as the ABI
 * requires. BUBBLE_ERR_NOMEM is the SDK's own: malloc failed.
 */
typedef enum bubble_err {
	BUBBLE_OK = 0,
	BUBBLE_ERR_NOT_FOUND = -1, /* the env key does not exist */
	BUBBLE_ERR_INVALID = -2,   /* an argument is not acceptable */
	BUBBLE_ERR_COMMITTED = -3, /* status and headers can no longer change */
	BUBBLE_ERR_CLOSED = -4,    /* the peer went away or the output is closed */
	BUBBLE_ERR_IO = -5,        /* input or output failed for another reason */
	BUBBLE_ERR_TIMEOUT = -6,   /* the exchange's deadline passed */
	BUBBLE_ERR_TOO_LARGE = -7, /* the input exceeds a configured limit */
	BUBBLE_ERR_DENIED = -8,    /* an extension call outside the route's grant */
	BUBBLE_ERR_FULL = -9,      /* a store or service is at capacity */
	BUBBLE_ERR_NOMEM = -64     /* SDK only: memory allocation failed */
} bubble_err;

/*
 * Returns the name of an error code, such as "ERR_CLOSED" ("OK" for 0,
 * "ERR_UNKNOWN" for a value that is not a bubble_err). The string is static.
 */
const char *bubble_strerror(int code);

/* ------------------------------------------------------------------- env */

/*
 * Copies the value of the env key `key` into buf as a NUL-terminated
 * string, with snprintf's contract: returns the value's length n (without
 * the NUL). When n < cap the value is in buf[0..n] and buf[n] is 0; when
 * n >= cap nothing was copied (buf[0] is set to 0 if cap > 0) and the call
 * needs a buffer of at least n + 1 bytes. Returns BUBBLE_ERR_NOT_FOUND when
 * the key does not exist. An empty value returns 0.
 */
int bubble_env_get(const char *key, char *buf, size_t cap);

/*
 * Returns the value of the env key `key` as a new NUL-terminated string
 * from malloc (free it), or NULL when the key does not exist or memory ran
 * out. When len is not NULL it receives the value's length (0 on NULL).
 * The size negotiation of the ABI is done here.
 */
char *bubble_env_dup(const char *key, size_t *len);

/*
 * Copies every env key, each followed by one NUL byte, in ascending byte
 * order, into buf. Returns the total length n; when n > cap nothing was
 * copied and the call needs cap >= n. An empty env returns 0.
 */
int bubble_env_keys(char *buf, size_t cap);

/*
 * Iterates over the env keys in ascending byte order:
 *
 *     bubble_keys it;
 *     const char *k;
 *     if (bubble_keys_open(&it) < 0) return 1;
 *     while ((k = bubble_keys_next(&it)) != NULL) { ... }
 *     bubble_keys_close(&it);
 *
 * bubble_keys_open fetches every key at once (into malloc'd memory) and
 * returns 0 or BUBBLE_ERR_NOMEM; bubble_keys_next returns the next key, a
 * NUL-terminated string valid until bubble_keys_close, or NULL at the end.
 */
typedef struct bubble_keys {
	char *buf;  /* the keys, each NUL-terminated */
	size_t len; /* bytes in buf */
	size_t pos; /* offset of the next key */
} bubble_keys;

int bubble_keys_open(bubble_keys *it);
const char *bubble_keys_next(bubble_keys *it);
void bubble_keys_close(bubble_keys *it);

/* ----------------------------------------------------------- input/output */

/*
 * Reads up to len bytes of the exchange's input into buf. Returns the
 * number of bytes read (n > 0, possibly fewer than asked: call again), 0 at
 * the end of input (0 never means "try again"; later calls return 0 too),
 * or a negative error: BUBBLE_ERR_CLOSED, _IO, _TIMEOUT, _TOO_LARGE, or
 * BUBBLE_ERR_INVALID when len is 0. A len above INT32_MAX reads at most
 * INT32_MAX bytes.
 */
int bubble_read(void *buf, size_t len);

/*
 * Writes all len bytes of buf to the output and returns 0 (BUBBLE_OK), or a
 * negative error (BUBBLE_ERR_CLOSED when the peer is gone; after an error
 * an unknown prefix may have been delivered: end the exchange). The first
 * write, even of 0 bytes, commits the status and headers. The host may
 * buffer output until bubble_flush or the end of the exchange.
 */
int bubble_write(const void *buf, size_t len);

/* bubble_write of a NUL-terminated string, without the NUL. */
int bubble_write_str(const char *s);

/*
 * Commits the status and headers and pushes buffered output to the peer
 * now (an HTTP response starts streaming). Returns 0 or a negative error.
 */
int bubble_flush(void);

/* ------------------------------------------------------ response metadata */

/*
 * Sets the response status; the default is 200. Returns 0,
 * BUBBLE_ERR_INVALID (the ABI accepts 200 to 999) or BUBBLE_ERR_COMMITTED
 * (after the first write or flush). Transports without a status (line,
 * raw) accept and ignore it.
 */
int bubble_set_status(int code);

/*
 * Replaces every value of the response header `name` with `value`
 * (set_header) or appends `value` (add_header). Names are
 * case-insensitive. Returns 0, BUBBLE_ERR_INVALID (the name is not an
 * RFC 9110 token, or the value holds CR, LF or NUL) or BUBBLE_ERR_COMMITTED.
 * Invalid arguments win over a late call: arguments are checked first.
 */
int bubble_set_header(const char *name, const char *value);
int bubble_add_header(const char *name, const char *value);
int bubble_set_header_n(const char *name, size_t name_len, const char *value, size_t value_len);
int bubble_add_header_n(const char *name, size_t name_len, const char *value, size_t value_len);

/* -------------------------------------------------------------------- log */

/* Log levels; the values are those of Go's log/slog. Others are kept. */
enum {
	BUBBLE_LOG_DEBUG = -4,
	BUBBLE_LOG_INFO = 0,
	BUBBLE_LOG_WARN = 4,
	BUBBLE_LOG_ERROR = 8
};

/*
 * Writes one record to the server log, tagged with the route. The message
 * is taken as given: one record however many lines it holds.
 */
void bubble_log(int level, const char *msg);
void bubble_log_n(int level, const char *msg, size_t len);

/*
 * printf-style bubble_log. It links wasi-libc's vsnprintf (about 30 KiB of
 * wasm) into the module; the linker drops it when it is not called.
 */
void bubble_logf(int level, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

/* ------------------------------------------------------------------ park */

/*
 * Parking (bubblewasm_park_v1, granted to every route; abi/ABI.md): instead
 * of waiting inside a host call, holding its instance, a handler registers
 * what it waits for and returns 0. The host frees the instance, keeps the
 * exchange (connection, env, unread input, status, headers, output) and
 * calls the handler again, on a new or pooled instance, when the wait
 * ends. Statics do not survive: keep what the next run needs with
 * bubble_stash.
 *
 * bubble_park_message waits until subscription `id` has a message queued
 * (or is gone), bubble_park_signal until a send on `name`, and
 * bubble_park_timeout for timeout_ms alone. They return 0 or
 * BUBBLE_ERR_INVALID (timeout_ms <= 0, a bad name, a wait already
 * registered in this run), _DENIED (outside the route's grant), _NOT_FOUND
 * (an unknown subscription), _CLOSED (the server is shutting down),
 * _FULL (the route's max_waiting parked exchanges). bubble_unpark drops
 * the registered wait.
 */
int bubble_park_message(const char *id, size_t id_len, int timeout_ms);
int bubble_park_signal(const char *name, int timeout_ms);
int bubble_park_timeout(int timeout_ms);
void bubble_unpark(void);

/* The most bubble_stash keeps. */
#define BUBBLE_MAX_STATE 4096

/*
 * Keeps a copy of len bytes for the exchange's later runs (replacing an
 * earlier stash). Returns 0 or BUBBLE_ERR_TOO_LARGE (len over
 * BUBBLE_MAX_STATE: the earlier stash stays).
 */
int bubble_stash(const void *state, size_t len);

/*
 * Copy the stash (bubble_state) or the payload of the signal that woke
 * this run (bubble_wake_payload) into buf: return its length n; when
 * n > cap nothing was copied. BUBBLE_ERR_NOT_FOUND when there is none.
 */
int bubble_state(void *buf, size_t cap);
int bubble_wake_payload(void *buf, size_t cap);

/*
 * Returns how many times this exchange has been resumed: 0 on its first
 * run, 1 on the first resumed run, ... When wake is not NULL it gets why
 * this run woke, NUL-terminated: "message", "signal", "timeout",
 * "shutdown", or "" on a first run (cap 16 is enough).
 */
int bubble_resumed(char *wake, size_t cap);

/* ----------------------------------------------------------- registration */

#if defined(__wasm__)
#define BUBBLE_EXPORT_(name) __attribute__((export_name(name)))
#else
#define BUBBLE_EXPORT_(name)
#endif
#ifdef __cplusplus
#define BUBBLE_EXTERN_C_ extern "C"
#else
#define BUBBLE_EXTERN_C_
#endif

/*
 * BUBBLE_HANDLER(fn) makes fn, an `int fn(void)`, the module's handler: it
 * defines the exported `bubble_handle`, which the host calls once per
 * exchange. Use it once, at file scope, in one source file of the module.
 * fn returns 0 when the exchange succeeded. Non-zero fails it: an HTTP 500
 * when nothing was written yet, otherwise a cut-short response. A negative
 * result (a bubble_err passed up) is also logged at error level as
 * "bubble: handler failed: ERR_...".
 *
 * A module without BUBBLE_HANDLER has no bubble_handle export and the host
 * refuses it at load; two of them do not link (duplicate symbol).
 */
#define BUBBLE_HANDLER(fn)                                                    \
	BUBBLE_EXTERN_C_ BUBBLE_EXPORT_("bubble_handle") int bubble_handle(void); \
	int bubble_handle(void) { return bubble_run(fn); }

/*
 * BUBBLE_INIT(fn) makes fn, an `int fn(void)`, run once per instance before
 * its first exchange (the ABI's bubble_init export, after the C
 * constructors). A non-zero result rejects the instance; the host reports
 * it when it loads the module. Optional.
 */
#define BUBBLE_INIT(fn)                                                       \
	BUBBLE_EXTERN_C_ BUBBLE_EXPORT_("bubble_init") int bubble_init(void); \
	int bubble_init(void) { return (fn)() != 0; }

/* Runs a handler as bubble_handle does; BUBBLE_HANDLER calls it. */
int bubble_run(int (*fn)(void));

/* -------------------------------------------------------------- raw ABI */

/*
 * The host imports, as abi/ABI.md defines them. Prefer the functions above:
 * they map unknown codes to BUBBLE_ERR_IO and handle NUL terminators and
 * size negotiation. In a native build (not wasm) these are ordinary
 * functions that a fake host such as bubble_stub.c defines.
 */
#if defined(__wasm__)
#define BUBBLE_IMPORT_(name) __attribute__((import_module("bubblewasm_v1"), import_name(name)))
#else
#define BUBBLE_IMPORT_(name)
#endif

BUBBLE_IMPORT_("env_get")
int32_t bubble_abi_env_get(const char *key, uint32_t key_len, char *buf, uint32_t buf_len);
BUBBLE_IMPORT_("env_keys")
int32_t bubble_abi_env_keys(char *buf, uint32_t buf_len);
BUBBLE_IMPORT_("read")
int32_t bubble_abi_read(void *buf, uint32_t buf_len);
BUBBLE_IMPORT_("write")
int32_t bubble_abi_write(const void *buf, uint32_t buf_len);
BUBBLE_IMPORT_("flush")
int32_t bubble_abi_flush(void);
BUBBLE_IMPORT_("set_status")
int32_t bubble_abi_set_status(int32_t code);
BUBBLE_IMPORT_("set_header")
int32_t bubble_abi_set_header(const char *name, uint32_t name_len, const char *value, uint32_t value_len);
BUBBLE_IMPORT_("add_header")
int32_t bubble_abi_add_header(const char *name, uint32_t name_len, const char *value, uint32_t value_len);
BUBBLE_IMPORT_("log")
void bubble_abi_log(int32_t level, const char *msg, uint32_t msg_len);

#if defined(__wasm__)
#define BUBBLE_PARK_IMPORT_(name) __attribute__((import_module("bubblewasm_park_v1"), import_name(name)))
#else
#define BUBBLE_PARK_IMPORT_(name)
#endif

BUBBLE_PARK_IMPORT_("message")
int32_t bubble_abi_park_message(const char *id, uint32_t id_len, int32_t timeout_ms);
BUBBLE_PARK_IMPORT_("signal")
int32_t bubble_abi_park_signal(const char *name, uint32_t name_len, int32_t timeout_ms);
BUBBLE_PARK_IMPORT_("sleep")
int32_t bubble_abi_park_sleep(int32_t timeout_ms);
BUBBLE_PARK_IMPORT_("cancel")
int32_t bubble_abi_park_cancel(void);
BUBBLE_PARK_IMPORT_("stash")
int32_t bubble_abi_park_stash(const void *buf, uint32_t buf_len);
BUBBLE_PARK_IMPORT_("state")
int32_t bubble_abi_park_state(void *buf, uint32_t buf_len);
BUBBLE_PARK_IMPORT_("payload")
int32_t bubble_abi_park_payload(void *buf, uint32_t buf_len);

#ifdef __cplusplus
}
#endif

#endif /* BUBBLE_H */
