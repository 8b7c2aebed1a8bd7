/*
 * bubble_ext.c: the C guest SDK's extensions; see bubble_ext.h.
 *
 * build.sh compiles it into every module; wasm-ld keeps only the functions
 * a module calls, so a module imports only the extensions it uses.
 */
#include "bubble_ext.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Largest length passed to the host in one call: results are i32. */
#define MAX_CALL ((size_t)1 << 30)

/* The first buffer of the size negotiation: most messages, values and
   replies fit, and cost no second call. */
#define FIRST_BUF 2048

/* result maps a host result: unknown negative values become BUBBLE_ERR_IO. */
static int result(int32_t r) {
	if (r < BUBBLE_ERR_FULL)
		return BUBBLE_ERR_IO;
	return (int)r;
}

/* name_len is strlen, beyond MAX_CALL cut to a length the host refuses. */
static uint32_t name_len(const char *s) {
	size_t n = strlen(s);
	return n > MAX_CALL ? (uint32_t)MAX_CALL + 1 : (uint32_t)n;
}

static uint32_t cap32(size_t cap) { return cap > MAX_CALL ? (uint32_t)MAX_CALL : (uint32_t)cap; }

/*
 * negotiate fills a new malloc'd buffer through fill, which returns the
 * full size n of what the host has (ABI.md, size negotiation): it tries
 * a static buffer first, then one of n bytes, until the result fits.
 */
typedef int32_t (*fill_fn)(const void *arg, void *buf, uint32_t cap);

static int negotiate(fill_fn fill, const void *arg, char **out, size_t *len) {
	static char first[FIRST_BUF]; /* exchanges never overlap in an instance */
	char *buf = first;
	size_t cap = sizeof first;
	*out = NULL;
	*len = 0;
	for (;;) {
		int32_t n = fill(arg, buf, (uint32_t)cap);
		if (n < 0) {
			if (buf != first)
				free(buf);
			return result(n);
		}
		if ((size_t)n <= cap) {
			if (buf == first) {
				char *b = malloc((size_t)n + 1);
				if (!b)
					return BUBBLE_ERR_NOMEM;
				memcpy(b, first, (size_t)n);
				buf = b;
			}
			buf[n] = 0;
			*out = buf;
			*len = (size_t)n;
			return BUBBLE_OK;
		}
		if (buf != first)
			free(buf);
		buf = malloc((size_t)n + 1); /* + 1: the NUL */
		if (!buf)
			return BUBBLE_ERR_NOMEM;
		cap = (size_t)n;
	}
}

/* --------------------------------------------------------------- pub/sub */

int bubble_publish(const char *channel, const void *msg, size_t len) {
	if (len > MAX_CALL)
		return BUBBLE_ERR_TOO_LARGE;
	return result(bubble_abi_publish(channel, name_len(channel), msg, (uint32_t)len));
}

int bubble_subscribe(const char *channel, char id[BUBBLE_MAX_SUBSCRIPTION_ID + 1]) {
	int32_t n = bubble_abi_subscribe(channel, name_len(channel), id, BUBBLE_MAX_SUBSCRIPTION_ID);
	if (n < 0) {
		id[0] = 0;
		return result(n);
	}
	if (n > BUBBLE_MAX_SUBSCRIPTION_ID) { /* the host broke its promise */
		id[0] = 0;
		return BUBBLE_ERR_IO;
	}
	id[n] = 0;
	return (int)n;
}

struct fetch_arg {
	const char *id;
	int32_t timeout_ms;
};

static int32_t fetch_fill(const void *arg, void *buf, uint32_t cap) {
	const struct fetch_arg *a = arg;
	return bubble_abi_fetch(a->id, name_len(a->id), a->timeout_ms, buf, cap);
}

int bubble_fetch(const char *id, int timeout_ms, char **msg, size_t *len) {
	struct fetch_arg a = {id, (int32_t)timeout_ms};
	return negotiate(fetch_fill, &a, msg, len);
}

int bubble_fetch_buf(const char *id, int timeout_ms, void *buf, size_t cap) {
	return result(bubble_abi_fetch(id, name_len(id), (int32_t)timeout_ms, buf, cap32(cap)));
}

int bubble_unsubscribe(const char *id) { return result(bubble_abi_unsubscribe(id, name_len(id))); }

/* --------------------------------------------------------------- signals */

int bubble_signal_wait(const char *name, int timeout_ms, void *buf, size_t cap) {
	return result(bubble_abi_signal_wait(name, name_len(name), (int32_t)timeout_ms, buf, cap32(cap)));
}

int bubble_signal_send(const char *name, const void *payload, size_t len) {
	if (len > MAX_CALL)
		return BUBBLE_ERR_TOO_LARGE;
	return result(bubble_abi_signal_send(name, name_len(name), payload, (uint32_t)len));
}

/* ------------------------------------------------------------- key-value */

static int32_t kv_fill(const void *key, void *buf, uint32_t cap) {
	return bubble_abi_kv_get(key, name_len(key), buf, cap);
}

int bubble_kv_get(const char *key, char **value, size_t *len) { return negotiate(kv_fill, key, value, len); }

int bubble_kv_get_buf(const char *key, void *buf, size_t cap) {
	return result(bubble_abi_kv_get(key, name_len(key), buf, cap32(cap)));
}

int bubble_kv_set(const char *key, const void *value, size_t len, int ttl_ms) {
	if (len > MAX_CALL)
		return BUBBLE_ERR_TOO_LARGE;
	int32_t r = bubble_abi_kv_set(key, name_len(key), value, (uint32_t)len, ttl_ms < 0 ? 0 : (int32_t)ttl_ms);
	return r < 0 ? result(r) : BUBBLE_OK;
}

int bubble_kv_delete(const char *key) {
	int32_t r = bubble_abi_kv_delete(key, name_len(key));
	return r < 0 ? result(r) : BUBBLE_OK;
}

/* ------------------------------------------------------------------ dial */

static int32_t reply_fill(const void *arg, void *buf, uint32_t cap) {
	(void)arg;
	return bubble_abi_dial_reply(buf, cap);
}

int bubble_call(const char *target, const void *req, size_t len, int timeout_ms, char **reply, size_t *reply_len) {
	char first[256];
	*reply = NULL;
	*reply_len = 0;
	int n = bubble_call_buf(target, req, len, timeout_ms, first, sizeof first);
	if (n < 0)
		return n;
	if ((size_t)n >= sizeof first) /* not copied, or no room for the NUL */
		return negotiate(reply_fill, NULL, reply, reply_len);
	char *b = malloc((size_t)n + 1);
	if (!b)
		return BUBBLE_ERR_NOMEM;
	memcpy(b, first, (size_t)n);
	b[n] = 0;
	*reply = b;
	*reply_len = (size_t)n;
	return BUBBLE_OK;
}

int bubble_call_buf(const char *target, const void *req, size_t len, int timeout_ms, void *buf, size_t cap) {
	if (len > MAX_CALL)
		return BUBBLE_ERR_TOO_LARGE;
	return result(bubble_abi_dial_call(target, name_len(target), req, (uint32_t)len, (int32_t)timeout_ms, buf,
					   cap32(cap)));
}

int bubble_call_reply(void *buf, size_t cap) { return result(bubble_abi_dial_reply(buf, cap32(cap))); }

int bubble_call_status(void) { return result(bubble_abi_dial_status()); }

/* --------------------------------------------------------- outbound HTTP */

int bubble_http_request(const char *method, const char *url, const char *headers, const void *body,
			size_t body_len, int timeout_ms) {
	if (body_len > MAX_CALL)
		return BUBBLE_ERR_TOO_LARGE;
	uint32_t hlen = headers ? name_len(headers) : 0;
	return result(bubble_abi_http_request(method, name_len(method), url, name_len(url), headers ? headers : "", hlen,
					      body ? body : "", (uint32_t)body_len, (int32_t)timeout_ms));
}

int bubble_http_status(int handle) { return result(bubble_abi_http_status((int32_t)handle)); }

static int32_t headers_fill(const void *handle, void *buf, uint32_t cap) {
	return bubble_abi_http_headers(*(const int32_t *)handle, buf, cap);
}

int bubble_http_headers(int handle, char **headers, size_t *len) {
	int32_t h = (int32_t)handle;
	return negotiate(headers_fill, &h, headers, len);
}

int bubble_http_header(int handle, const char *name, char *buf, size_t cap) {
	char *all;
	size_t len, nlen = strlen(name);
	int rc = bubble_http_headers(handle, &all, &len);
	if (rc < 0)
		return rc;
	rc = BUBBLE_ERR_NOT_FOUND;
	for (char *line = all; line < all + len;) {
		char *end = memchr(line, '\n', (size_t)(all + len - line));
		if (!end)
			end = all + len;
		if ((size_t)(end - line) >= nlen + 2 && line[nlen] == ':' && line[nlen + 1] == ' ' &&
		    strncasecmp(line, name, nlen) == 0) {
			const char *v = line + nlen + 2;
			size_t vlen = (size_t)(end - v);
			if (vlen < cap) {
				memcpy(buf, v, vlen);
				buf[vlen] = 0;
			} else if (cap > 0) {
				buf[0] = 0;
			}
			rc = (int)vlen;
			break;
		}
		line = end + 1;
	}
	free(all);
	return rc;
}

int bubble_http_read(int handle, void *buf, size_t cap) {
	return result(bubble_abi_http_read((int32_t)handle, buf, cap32(cap)));
}

int bubble_http_close(int handle) {
	int32_t r = bubble_abi_http_close((int32_t)handle);
	return r < 0 ? result(r) : BUBBLE_OK;
}
