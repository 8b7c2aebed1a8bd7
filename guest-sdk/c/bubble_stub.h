/*
 * bubble_stub.h: an in-memory fake host, to test handlers natively.
 *
 * In a native build (cc, not wasm) bubble.h's raw imports are ordinary
 * functions; bubble_stub.c defines them over an in-memory exchange and
 * enforces the ABI's rules (metadata commits on the first write or flush,
 * header names must be tokens, values free of CR/LF/NUL, status 200..999,
 * size negotiation writes nothing into a buffer that is too small, keys
 * in ascending order). Link handler + bubble.c + bubble_stub.c + a test:
 *
 *     cc -I guest-sdk/c handler.c guest-sdk/c/bubble.c guest-sdk/c/bubble_stub.c test.c -o t && ./t
 *
 *     bubble_stub_reset();
 *     bubble_stub_setenv("QUERY_STRING", "name=Ann");
 *     assert(bubble_stub_serve() == 0);
 *     assert(strcmp(bubble_stub_body(NULL), "Hello, Ann!\n") == 0);
 *
 * An abort() in the handler ends the test process, as a trap ends the
 * instance; test such paths in a fork()ed child.
 */
#ifndef BUBBLE_STUB_H
#define BUBBLE_STUB_H

#include <stddef.h>

/* Forgets the env, input, output, headers and logs of the last exchange. */
void bubble_stub_reset(void);

/* Sets an env key of the next exchange (replacing an earlier value). */
void bubble_stub_setenv(const char *key, const char *value);

/* Sets the input of the next exchange (copied). */
void bubble_stub_input(const void *data, size_t len);

/* Makes each read return at most n bytes (0: no limit), to test short reads. */
void bubble_stub_read_chunk(size_t n);

/* Makes write and flush fail with code (such as BUBBLE_ERR_CLOSED); 0 undoes it. */
void bubble_stub_fail_output(int code);

/* Runs the module's bubble_handle (from BUBBLE_HANDLER) once and returns its result. */
int bubble_stub_serve(void);

/* The status after the exchange (200 unless set). */
int bubble_stub_status(void);

/* The output, NUL-terminated for convenience; *len (when not NULL) gets its length. */
const char *bubble_stub_body(size_t *len);

/* How many output bytes were written before the first flush; -1 if there was no flush. */
long bubble_stub_flushed_at(void);

/* The i-th value (from 0) of response header name (case-insensitive), or NULL. */
const char *bubble_stub_header(const char *name, int i);

/* The i-th log record (from 0), or NULL past the last; *level gets its level. */
const char *bubble_stub_log(int i, int *level);

/*
 * The wait the last run registered when it returned 0 (bubble_park_*): 0
 * when the exchange ended, else 'm' (message), 's' (signal) or 't'
 * (timeout); *name gets the subscription id or signal name and *timeout_ms
 * the timeout, when not NULL. The stub grants every wait.
 */
int bubble_stub_parked(const char **name, int *timeout_ms);

/*
 * Runs the handler again as the host would after the park: the same env
 * plus bubble.resume (the count) and bubble.wake (wake), the rest of the
 * input, the output, status and headers so far, the stash; payload (len
 * bytes) is the waking signal's when wake is "signal". Returns the run's
 * bubble_handle result.
 */
int bubble_stub_resume(const char *wake, const void *payload, size_t len);

/* ------------------------------------------------------------ extensions */

/*
 * bubble_stub_ext.c fakes the extensions (bubble_ext.h); link it when the
 * code under test uses them. Their state is the host's, not the exchange's:
 * bubble_stub_reset leaves it, bubble_stub_ext_reset clears all of it
 * (grants, subscriptions, keys, targets, responses). Nothing waits: a fetch
 * with an empty queue and a signal wait with no pending signal return
 * BUBBLE_ERR_TIMEOUT at once. Limits: 256-byte names and keys, 64 KiB
 * messages, payloads and values, 1 MiB replies, 8 open responses.
 */
void bubble_stub_ext_reset(void);

/*
 * Grants an extension, as a route's configuration does: ext "pubsub" or
 * "signals" with a pattern ("*", "NAME" or "BASE.*"; call again to add
 * one), "kv" with the namespace's name. Dial targets and outbound URLs are
 * granted by bubble_stub_dial_target and bubble_stub_http_response.
 */
void bubble_stub_grant(const char *ext, const char *grant);

/* How many messages subscription id has queued; -1 when it does not exist. */
int bubble_stub_queued(const char *id);

/* Makes the next wait on signal name return payload, as if another exchange
   sent it while this one waited. */
void bubble_stub_signal(const char *name, const void *payload, size_t len);

/* The payload of the last send on signal name, or NULL; *len gets its length. */
const char *bubble_stub_sent(const char *name, size_t *len);

/* The value of key in the granted namespace, or NULL; *len gets its length. */
const char *bubble_stub_kv(const char *key, size_t *len);

/*
 * Adds dial target name: a call answers with reply (NUL-terminated) and
 * status, or, when reply is NULL, as a line echo worker would: the request
 * and a newline. With status 0 (a socket target) a request holding a
 * newline is BUBBLE_ERR_INVALID.
 */
void bubble_stub_dial_target(const char *name, const char *reply, int status);

/*
 * Allows url and makes a request to it answer with status, headers
 * ("Name: value\n" lines) and len bytes of body. A negative status is an
 * error code that the request returns instead (BUBBLE_ERR_TIMEOUT, ...).
 * A request to a URL never added is BUBBLE_ERR_DENIED.
 */
void bubble_stub_http_response(const char *url, int status, const char *headers, const void *body, size_t len);

/* The last request's method, URL, headers and body (each NUL-terminated;
   NULL before any request); *body_len gets the body's length. */
const char *bubble_stub_http_last(const char **url, const char **headers, const char **body, size_t *body_len);

/* How many responses are open (not closed by the guest). */
int bubble_stub_http_open(void);

#endif /* BUBBLE_STUB_H */
