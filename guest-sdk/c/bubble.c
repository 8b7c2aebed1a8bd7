/*
 * bubble.c: the C guest SDK for bubblewasm; see bubble.h.
 *
 * Compile it into every module together with the handler's sources. It
 * uses malloc (bubble_env_dup, bubble_keys_open) and vsnprintf (only
 * bubble_logf); the linker drops what a module does not call.
 */
#include "bubble.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest length passed to the host in one call: results are i32. */
#define BUBBLE_MAX_CALL ((size_t)1 << 30)

/* code maps a host result: unknown negative values become BUBBLE_ERR_IO. */
static int code(int32_t r) {
	if (r < BUBBLE_ERR_FULL)
		return BUBBLE_ERR_IO;
	return (int)r;
}

const char *bubble_strerror(int c) {
	switch (c) {
	case BUBBLE_OK: return "OK";
	case BUBBLE_ERR_NOT_FOUND: return "ERR_NOT_FOUND";
	case BUBBLE_ERR_INVALID: return "ERR_INVALID";
	case BUBBLE_ERR_COMMITTED: return "ERR_COMMITTED";
	case BUBBLE_ERR_CLOSED: return "ERR_CLOSED";
	case BUBBLE_ERR_IO: return "ERR_IO";
	case BUBBLE_ERR_TIMEOUT: return "ERR_TIMEOUT";
	case BUBBLE_ERR_TOO_LARGE: return "ERR_TOO_LARGE";
	case BUBBLE_ERR_DENIED: return "ERR_DENIED";
	case BUBBLE_ERR_FULL: return "ERR_FULL";
	case BUBBLE_ERR_NOMEM: return "ERR_NOMEM";
	}
	return "ERR_UNKNOWN";
}

/* ------------------------------------------------------------------- env */

int bubble_env_get(const char *key, char *buf, size_t cap) {
	/* Offer the host one byte less than cap so the NUL always fits. */
	size_t room = cap > 0 ? cap - 1 : 0;
	if (room > BUBBLE_MAX_CALL)
		room = BUBBLE_MAX_CALL;
	int32_t n = bubble_abi_env_get(key, (uint32_t)strlen(key), buf, (uint32_t)room);
	if (n < 0)
		return code(n);
	if ((size_t)n <= room)
		buf[n] = 0;
	else if (cap > 0)
		buf[0] = 0;
	return (int)n;
}

char *bubble_env_dup(const char *key, size_t *len) {
	char small[128];
	size_t cap = sizeof small;
	char *buf = small;
	if (len)
		*len = 0;
	for (;;) {
		int n = bubble_env_get(key, buf, cap);
		if (n < 0)
			break;
		if ((size_t)n < cap) {
			if (buf == small) {
				buf = malloc((size_t)n + 1);
				if (!buf)
					return NULL;
				memcpy(buf, small, (size_t)n + 1);
			}
			if (len)
				*len = (size_t)n;
			return buf;
		}
		/* Too small: grow to the size the host announced and ask again. */
		if (buf != small)
			free(buf);
		cap = (size_t)n + 1;
		buf = malloc(cap);
		if (!buf)
			return NULL;
	}
	if (buf != small)
		free(buf);
	return NULL;
}

int bubble_env_keys(char *buf, size_t cap) {
	if (cap > BUBBLE_MAX_CALL)
		cap = BUBBLE_MAX_CALL;
	int32_t n = bubble_abi_env_keys(buf, (uint32_t)cap);
	return n < 0 ? code(n) : (int)n;
}

int bubble_keys_open(bubble_keys *it) {
	size_t cap = 512;
	it->buf = NULL;
	it->len = it->pos = 0;
	for (;;) {
		char *b = malloc(cap + 1); /* + 1: a NUL after the last key, always */
		if (!b)
			return BUBBLE_ERR_NOMEM;
		int n = bubble_env_keys(b, cap);
		if (n < 0) {
			free(b);
			return n;
		}
		if ((size_t)n <= cap) {
			b[n] = 0;
			it->buf = b;
			it->len = (size_t)n;
			return BUBBLE_OK;
		}
		free(b);
		cap = (size_t)n;
	}
}

const char *bubble_keys_next(bubble_keys *it) {
	if (!it->buf || it->pos >= it->len)
		return NULL;
	const char *k = it->buf + it->pos;
	const char *end = memchr(k, 0, it->len - it->pos);
	it->pos = end ? (size_t)(end - it->buf) + 1 : it->len;
	return k;
}

void bubble_keys_close(bubble_keys *it) {
	free(it->buf);
	it->buf = NULL;
	it->len = it->pos = 0;
}

/* ----------------------------------------------------------- input/output */

int bubble_read(void *buf, size_t len) {
	if (len > BUBBLE_MAX_CALL)
		len = BUBBLE_MAX_CALL;
	int32_t n = bubble_abi_read(buf, (uint32_t)len);
	return n < 0 ? code(n) : (int)n;
}

int bubble_write(const void *buf, size_t len) {
	const char *p = buf;
	if (len == 0) { /* still commits the metadata */
		int32_t n = bubble_abi_write(p, 0);
		return n < 0 ? code(n) : BUBBLE_OK;
	}
	/* Chunked so that every host result fits an i32. */
	while (len > 0) {
		size_t chunk = len > BUBBLE_MAX_CALL ? BUBBLE_MAX_CALL : len;
		int32_t n = bubble_abi_write(p, (uint32_t)chunk);
		if (n < 0)
			return code(n);
		p += chunk;
		len -= chunk;
	}
	return BUBBLE_OK;
}

int bubble_write_str(const char *s) { return bubble_write(s, strlen(s)); }

int bubble_flush(void) {
	int32_t r = bubble_abi_flush();
	return r < 0 ? code(r) : BUBBLE_OK;
}

/* ------------------------------------------------------ response metadata */

int bubble_set_status(int c) {
	int32_t r = bubble_abi_set_status((int32_t)c);
	return r < 0 ? code(r) : BUBBLE_OK;
}

static int header(int add, const char *name, size_t nlen, const char *value, size_t vlen) {
	if (nlen > BUBBLE_MAX_CALL || vlen > BUBBLE_MAX_CALL)
		return BUBBLE_ERR_INVALID;
	int32_t r = add ? bubble_abi_add_header(name, (uint32_t)nlen, value, (uint32_t)vlen)
	                : bubble_abi_set_header(name, (uint32_t)nlen, value, (uint32_t)vlen);
	return r < 0 ? code(r) : BUBBLE_OK;
}

int bubble_set_header(const char *name, const char *value) {
	return header(0, name, strlen(name), value, strlen(value));
}

int bubble_add_header(const char *name, const char *value) {
	return header(1, name, strlen(name), value, strlen(value));
}

int bubble_set_header_n(const char *name, size_t nlen, const char *value, size_t vlen) {
	return header(0, name, nlen, value, vlen);
}

int bubble_add_header_n(const char *name, size_t nlen, const char *value, size_t vlen) {
	return header(1, name, nlen, value, vlen);
}

/* -------------------------------------------------------------------- log */

void bubble_log_n(int level, const char *msg, size_t len) {
	if (len > BUBBLE_MAX_CALL)
		len = BUBBLE_MAX_CALL;
	bubble_abi_log((int32_t)level, msg, (uint32_t)len);
}

void bubble_log(int level, const char *msg) { bubble_log_n(level, msg, strlen(msg)); }

void bubble_logf(int level, const char *fmt, ...) {
	char small[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof small) {
		bubble_log_n(level, small, (size_t)n);
		return;
	}
	char *big = malloc((size_t)n + 1);
	if (!big) {
		bubble_log_n(level, small, sizeof small - 1); /* truncated */
		return;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	bubble_log_n(level, big, (size_t)n);
	free(big);
}

/* ------------------------------------------------------------------ park */

/* timeout clamps a C int to the ABI's i32 milliseconds. */
static int32_t timeout(int ms) { return ms > INT32_MAX ? INT32_MAX : (int32_t)ms; }

int bubble_park_message(const char *id, size_t id_len, int timeout_ms) {
	if (id_len > BUBBLE_MAX_CALL)
		return BUBBLE_ERR_NOT_FOUND; /* no subscription id is that long */
	int32_t r = bubble_abi_park_message(id, (uint32_t)id_len, timeout(timeout_ms));
	return r < 0 ? code(r) : BUBBLE_OK;
}

int bubble_park_signal(const char *name, int timeout_ms) {
	size_t n = strlen(name);
	if (n > BUBBLE_MAX_CALL)
		return BUBBLE_ERR_INVALID;
	int32_t r = bubble_abi_park_signal(name, (uint32_t)n, timeout(timeout_ms));
	return r < 0 ? code(r) : BUBBLE_OK;
}

int bubble_park_timeout(int timeout_ms) {
	int32_t r = bubble_abi_park_sleep(timeout(timeout_ms));
	return r < 0 ? code(r) : BUBBLE_OK;
}

void bubble_unpark(void) { bubble_abi_park_cancel(); }

int bubble_stash(const void *state, size_t len) {
	if (len > BUBBLE_MAX_STATE)
		return BUBBLE_ERR_TOO_LARGE;
	int32_t r = bubble_abi_park_stash(state, (uint32_t)len);
	return r < 0 ? code(r) : BUBBLE_OK;
}

int bubble_state(void *buf, size_t cap) {
	int32_t r = bubble_abi_park_state(buf, cap > BUBBLE_MAX_CALL ? BUBBLE_MAX_CALL : (uint32_t)cap);
	return r < 0 ? code(r) : r;
}

int bubble_wake_payload(void *buf, size_t cap) {
	int32_t r = bubble_abi_park_payload(buf, cap > BUBBLE_MAX_CALL ? BUBBLE_MAX_CALL : (uint32_t)cap);
	return r < 0 ? code(r) : r;
}

int bubble_resumed(char *wake, size_t cap) {
	char w[16], n[16];
	int wl = bubble_env_get("bubble.wake", w, sizeof w);
	if (wake && cap > 0)
		wake[0] = 0;
	if (wl < 0 || (size_t)wl >= sizeof w)
		return 0;
	if (wake && (size_t)wl < cap)
		memcpy(wake, w, (size_t)wl + 1);
	int nl = bubble_env_get("bubble.resume", n, sizeof n);
	int count = 0;
	for (int i = 0; nl > 0 && (size_t)nl < sizeof n && i < nl && n[i] >= '0' && n[i] <= '9'; i++)
		count = 10 * count + (n[i] - '0');
	return count;
}

/* ----------------------------------------------------------- registration */

int bubble_run(int (*fn)(void)) {
	int rc = fn();
	if (rc == 0)
		return 0;
	if (rc < 0) {
		static const char prefix[] = "bubble: handler failed: ";
		char msg[sizeof prefix + 16];
		const char *name = bubble_strerror(rc);
		size_t p = sizeof prefix - 1, l = strlen(name);
		memcpy(msg, prefix, p);
		memcpy(msg + p, name, l);
		bubble_log_n(BUBBLE_LOG_ERROR, msg, p + l);
	}
	return 1;
}
