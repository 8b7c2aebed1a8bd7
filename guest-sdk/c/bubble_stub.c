/*
 * bubble_stub.c: an in-memory fake host for native tests; see bubble_stub.h.
 * Not for wasm builds: there the host provides these functions.
 */
#include "bubble.h"
#include "bubble_stub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#if defined(__wasm__)
#error "bubble_stub.c is a native fake host; do not compile it into a wasm module"
#endif

int bubble_handle(void); /* defined by BUBBLE_HANDLER in the module */

struct pair {
	char *k, *v;
};

static struct {
	struct pair *env;
	size_t nenv;
	char *in;
	size_t inlen, inpos, chunk;
	char *out;
	size_t outlen, outcap;
	long flushed_at;
	int fail, status, committed;
	struct pair *hdr;
	size_t nhdr;
	struct pair *logs; /* k: message, v: unused; level in lvl */
	int *lvl;
	size_t nlogs;
	/* parking: the wait registered in this run, the stash, the waking
	   signal's payload, the resume count */
	int park;         /* 0, or 'm', 's', 't' */
	char *park_name;
	int park_timeout;
	char *state;
	size_t statelen;
	int stashed;
	char *payload;
	size_t payloadlen;
	int woken, resumes;
} st = {.status = 200, .flushed_at = -1};

static char *dupn(const char *s, size_t n) {
	char *d = malloc(n + 1);
	if (!d)
		abort();
	if (n)
		memcpy(d, s, n);
	d[n] = 0;
	return d;
}

static void *grow(void *p, size_t n, size_t size) {
	p = realloc(p, (n + 1) * size);
	if (!p)
		abort();
	return p;
}

void bubble_stub_reset(void) {
	for (size_t i = 0; i < st.nenv; i++) {
		free(st.env[i].k);
		free(st.env[i].v);
	}
	for (size_t i = 0; i < st.nhdr; i++) {
		free(st.hdr[i].k);
		free(st.hdr[i].v);
	}
	for (size_t i = 0; i < st.nlogs; i++)
		free(st.logs[i].k);
	free(st.env);
	free(st.in);
	free(st.out);
	free(st.hdr);
	free(st.logs);
	free(st.lvl);
	free(st.park_name);
	free(st.state);
	free(st.payload);
	memset(&st, 0, sizeof st);
	st.status = 200;
	st.flushed_at = -1;
}

static int cmp_pair(const void *a, const void *b) {
	return strcmp(((const struct pair *)a)->k, ((const struct pair *)b)->k);
}

void bubble_stub_setenv(const char *key, const char *value) {
	for (size_t i = 0; i < st.nenv; i++) {
		if (strcmp(st.env[i].k, key) == 0) {
			free(st.env[i].v);
			st.env[i].v = dupn(value, strlen(value));
			return;
		}
	}
	st.env = grow(st.env, st.nenv, sizeof *st.env);
	st.env[st.nenv].k = dupn(key, strlen(key));
	st.env[st.nenv].v = dupn(value, strlen(value));
	st.nenv++;
	qsort(st.env, st.nenv, sizeof *st.env, cmp_pair); /* strcmp: byte order */
}

void bubble_stub_input(const void *data, size_t len) {
	free(st.in);
	st.in = dupn(data, len);
	st.inlen = len;
	st.inpos = 0;
}

void bubble_stub_read_chunk(size_t n) { st.chunk = n; }
void bubble_stub_fail_output(int code) { st.fail = code; }
int bubble_stub_serve(void) {
	st.park = 0;
	int rc = bubble_handle();
	if (rc != 0)
		st.park = 0; /* a failed run's wait is dropped */
	return rc;
}

int bubble_stub_parked(const char **name, int *timeout_ms) {
	if (name)
		*name = st.park_name ? st.park_name : "";
	if (timeout_ms)
		*timeout_ms = st.park_timeout;
	return st.park;
}

int bubble_stub_resume(const char *wake, const void *payload, size_t len) {
	char n[16];
	snprintf(n, sizeof n, "%d", ++st.resumes);
	bubble_stub_setenv("bubble.resume", n);
	bubble_stub_setenv("bubble.wake", wake);
	free(st.payload);
	st.payload = dupn(payload ? payload : "", payload ? len : 0);
	st.payloadlen = payload ? len : 0;
	st.woken = strcmp(wake, "signal") == 0;
	return bubble_stub_serve();
}
int bubble_stub_status(void) { return st.status; }
long bubble_stub_flushed_at(void) { return st.flushed_at; }

const char *bubble_stub_body(size_t *len) {
	if (len)
		*len = st.outlen;
	return st.out ? st.out : "";
}

const char *bubble_stub_header(const char *name, int i) {
	for (size_t j = 0; j < st.nhdr; j++)
		if (strcasecmp(st.hdr[j].k, name) == 0 && i-- == 0)
			return st.hdr[j].v;
	return NULL;
}

const char *bubble_stub_log(int i, int *level) {
	if (i < 0 || (size_t)i >= st.nlogs)
		return NULL;
	if (level)
		*level = st.lvl[i];
	return st.logs[i].k;
}

/* ------------------------------------------------------- the fake imports */

/* fill is the ABI's size negotiation: copy only when everything fits. */
static int32_t fill(char *buf, uint32_t cap, const char *data, size_t n) {
	if (n && n <= cap)
		memcpy(buf, data, n);
	return (int32_t)n;
}

int32_t bubble_abi_env_get(const char *key, uint32_t key_len, char *buf, uint32_t buf_len) {
	for (size_t i = 0; i < st.nenv; i++)
		if (strlen(st.env[i].k) == key_len && memcmp(st.env[i].k, key, key_len) == 0)
			return fill(buf, buf_len, st.env[i].v, strlen(st.env[i].v));
	return BUBBLE_ERR_NOT_FOUND;
}

int32_t bubble_abi_env_keys(char *buf, uint32_t buf_len) {
	size_t n = 0;
	for (size_t i = 0; i < st.nenv; i++)
		n += strlen(st.env[i].k) + 1;
	if (n <= buf_len) {
		char *p = buf;
		for (size_t i = 0; i < st.nenv; i++) {
			size_t l = strlen(st.env[i].k) + 1;
			memcpy(p, st.env[i].k, l);
			p += l;
		}
	}
	return (int32_t)n;
}

int32_t bubble_abi_read(void *buf, uint32_t buf_len) {
	if (buf_len == 0)
		return BUBBLE_ERR_INVALID;
	size_t n = st.inlen - st.inpos;
	if (n > buf_len)
		n = buf_len;
	if (st.chunk && n > st.chunk)
		n = st.chunk;
	if (n == 0)
		return 0; /* end of input, for good */
	memcpy(buf, st.in + st.inpos, n);
	st.inpos += n;
	return (int32_t)n;
}

int32_t bubble_abi_write(const void *buf, uint32_t buf_len) {
	st.committed = 1;
	if (st.fail)
		return st.fail;
	if (st.outlen + buf_len + 1 > st.outcap) {
		st.outcap = (st.outlen + buf_len + 1) * 2;
		st.out = realloc(st.out, st.outcap);
		if (!st.out)
			abort();
	}
	if (buf_len)
		memcpy(st.out + st.outlen, buf, buf_len);
	st.outlen += buf_len;
	st.out[st.outlen] = 0;
	return (int32_t)buf_len;
}

int32_t bubble_abi_flush(void) {
	st.committed = 1;
	if (st.fail)
		return st.fail;
	if (st.flushed_at < 0)
		st.flushed_at = (long)st.outlen;
	return 0;
}

int32_t bubble_abi_set_status(int32_t code) {
	if (code < 200 || code > 999)
		return BUBBLE_ERR_INVALID;
	if (st.committed)
		return BUBBLE_ERR_COMMITTED;
	st.status = code;
	return 0;
}

static int token_char(unsigned char c) {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int32_t header(int add, const char *name, uint32_t nlen, const char *value, uint32_t vlen) {
	if (nlen == 0)
		return BUBBLE_ERR_INVALID;
	for (uint32_t i = 0; i < nlen; i++)
		if (!token_char((unsigned char)name[i]))
			return BUBBLE_ERR_INVALID;
	for (uint32_t i = 0; i < vlen; i++)
		if (((unsigned char)value[i] < 0x20 && value[i] != '\t') || value[i] == 0x7f)
			return BUBBLE_ERR_INVALID;
	char *k = dupn(name, nlen);
	/* The host owns the framing of the response (ABI.md). */
	static const char *owned[] = {"Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding",
				      "Upgrade", "Trailer", "TE", NULL};
	for (int i = 0; owned[i] != NULL; i++) {
		if (strcasecmp(k, owned[i]) == 0) {
			free(k);
			return BUBBLE_ERR_INVALID;
		}
	}
	if (strcasecmp(k, "Content-Length") == 0) {
		int ok = vlen > 0 && vlen <= 18 && !(vlen > 1 && value[0] == '0');
		for (uint32_t i = 0; ok && i < vlen; i++)
			ok = value[i] >= '0' && value[i] <= '9';
		for (size_t i = 0; ok && add && !st.committed && i < st.nhdr; i++)
			ok = strcasecmp(st.hdr[i].k, k) != 0; /* one length per response */
		if (!ok) {
			free(k);
			return BUBBLE_ERR_INVALID;
		}
	}
	if (st.committed) {
		free(k);
		return BUBBLE_ERR_COMMITTED;
	}
	if (!add) { /* remove every value of the name */
		size_t j = 0;
		for (size_t i = 0; i < st.nhdr; i++) {
			if (strcasecmp(st.hdr[i].k, k) == 0) {
				free(st.hdr[i].k);
				free(st.hdr[i].v);
			} else {
				st.hdr[j++] = st.hdr[i];
			}
		}
		st.nhdr = j;
	}
	st.hdr = grow(st.hdr, st.nhdr, sizeof *st.hdr);
	st.hdr[st.nhdr].k = k;
	st.hdr[st.nhdr].v = dupn(value, vlen);
	st.nhdr++;
	return 0;
}

int32_t bubble_abi_set_header(const char *name, uint32_t nlen, const char *value, uint32_t vlen) {
	return header(0, name, nlen, value, vlen);
}

int32_t bubble_abi_add_header(const char *name, uint32_t nlen, const char *value, uint32_t vlen) {
	return header(1, name, nlen, value, vlen);
}

void bubble_abi_log(int32_t level, const char *msg, uint32_t msg_len) {
	st.logs = grow(st.logs, st.nlogs, sizeof *st.logs);
	st.lvl = grow(st.lvl, st.nlogs, sizeof *st.lvl);
	st.logs[st.nlogs].k = dupn(msg, msg_len);
	st.logs[st.nlogs].v = NULL;
	st.lvl[st.nlogs] = level;
	st.nlogs++;
}

/* Parking: the stub grants every wait (it has no pub/sub or signals of its
   own); the arguments are checked as the host checks them. */

static int32_t park(int kind, const char *name, uint32_t len, int32_t timeout_ms) {
	if (timeout_ms <= 0 || st.park)
		return BUBBLE_ERR_INVALID;
	st.park = kind;
	free(st.park_name);
	st.park_name = dupn(name ? name : "", name ? len : 0);
	st.park_timeout = timeout_ms;
	return 0;
}

int32_t bubble_abi_park_message(const char *id, uint32_t id_len, int32_t timeout_ms) {
	return park('m', id, id_len, timeout_ms);
}

int32_t bubble_abi_park_signal(const char *name, uint32_t name_len, int32_t timeout_ms) {
	if (name_len == 0 || name_len > 256)
		return BUBBLE_ERR_INVALID;
	return park('s', name, name_len, timeout_ms);
}

int32_t bubble_abi_park_sleep(int32_t timeout_ms) { return park('t', NULL, 0, timeout_ms); }

int32_t bubble_abi_park_cancel(void) {
	st.park = 0;
	return 0;
}

int32_t bubble_abi_park_stash(const void *buf, uint32_t buf_len) {
	if (buf_len > BUBBLE_MAX_STATE)
		return BUBBLE_ERR_TOO_LARGE;
	free(st.state);
	st.state = dupn(buf, buf_len);
	st.statelen = buf_len;
	st.stashed = 1;
	return 0;
}

int32_t bubble_abi_park_state(void *buf, uint32_t buf_len) {
	if (!st.stashed)
		return BUBBLE_ERR_NOT_FOUND;
	return fill(buf, buf_len, st.state, st.statelen);
}

int32_t bubble_abi_park_payload(void *buf, uint32_t buf_len) {
	if (!st.woken)
		return BUBBLE_ERR_NOT_FOUND;
	return fill(buf, buf_len, st.payload, st.payloadlen);
}
