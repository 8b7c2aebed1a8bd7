/*
 * bubble_stub_ext.c: the fake host's extensions (pub/sub, signals,
 * key-value, dial, outbound HTTP) for native tests; see bubble_stub.h.
 * The arguments are checked as abi/ABI.md says the host checks them.
 */
#include "bubble_ext.h"
#include "bubble_stub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#if defined(__wasm__)
#error "bubble_stub_ext.c is a native fake host; do not compile it into a wasm module"
#endif

#define MAX_NAME 256
#define MAX_DATA (64 << 10)
#define MAX_REPLY (1 << 20)
#define MAX_OPEN 8

/* item is a named piece of data: a grant, a queued message, a key, a
   pending signal, a dial target, a canned or an open response. */
struct item {
	char *name, *data, *extra; /* extra: a response's headers, a message's subscription id */
	size_t len, pos;
	int n; /* a target's or response's status, a response handle */
	struct item *next;
};

static struct {
	struct item *pubsub, *signals, *kv_ns, *subs, *msgs, *pending, *sent, *keys, *targets, *urls, *open;
	int next_sub, next_handle;
	char *last_reply;
	size_t last_len;
	int last_status, has_last;
	char *req_method, *req_url, *req_headers, *req_body;
	size_t req_len;
} ext;

static char *copy(const void *p, size_t n) {
	char *d = malloc(n + 1);
	if (!d)
		abort();
	if (n)
		memcpy(d, p, n);
	d[n] = 0;
	return d;
}

static struct item *push(struct item **list, const char *name, size_t nlen, const void *data, size_t len) {
	struct item *it = calloc(1, sizeof *it);
	if (!it)
		abort();
	it->name = copy(name, nlen);
	it->data = copy(data ? data : "", data ? len : 0);
	it->len = data ? len : 0;
	struct item **end = list;
	while (*end)
		end = &(*end)->next;
	*end = it; /* at the end: queues stay in order */
	return it;
}

static void drop(struct item **at) {
	struct item *it = *at;
	*at = it->next;
	free(it->name);
	free(it->data);
	free(it->extra);
	free(it);
}

static struct item **find(struct item **list, const char *name, size_t nlen) {
	for (; *list; list = &(*list)->next)
		if (strlen((*list)->name) == nlen && memcmp((*list)->name, name, nlen) == 0)
			return list;
	return NULL;
}

void bubble_stub_ext_reset(void) {
	struct item **lists[] = {&ext.pubsub, &ext.signals, &ext.kv_ns, &ext.subs, &ext.msgs, &ext.pending,
				 &ext.sent,   &ext.keys,    &ext.targets, &ext.urls, &ext.open};
	for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
		while (*lists[i])
			drop(lists[i]);
	free(ext.last_reply);
	free(ext.req_method);
	free(ext.req_url);
	free(ext.req_headers);
	free(ext.req_body);
	memset(&ext, 0, sizeof ext);
}

void bubble_stub_grant(const char *what, const char *grant) {
	struct item **list = strcmp(what, "pubsub") == 0 ? &ext.pubsub : strcmp(what, "signals") == 0 ? &ext.signals
	                   : strcmp(what, "kv") == 0 ? &ext.kv_ns : NULL;
	if (!list) {
		fprintf(stderr, "bubble_stub_grant: unknown extension %s\n", what);
		abort();
	}
	push(list, grant, strlen(grant), NULL, 0);
}

/* valid_name is ABI.md's rule for channel and signal names. */
static int valid_name(const char *s, uint32_t n) {
	if (n == 0 || n > MAX_NAME || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (uint32_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x21 || c > 0x7e || strchr("*?[]\\", c) || (c == '.' && s[i + 1] == '.'))
			return 0;
	}
	return 1;
}

/* check answers 0 for a valid name that a pattern of grants matches. */
static int32_t check(const struct item *grants, const char *s, uint32_t n) {
	if (!valid_name(s, n))
		return BUBBLE_ERR_INVALID;
	for (; grants; grants = grants->next) {
		const char *p = grants->name;
		size_t pl = strlen(p);
		if (strcmp(p, "*") == 0 || (pl == n && memcmp(p, s, n) == 0))
			return 0;
		if (pl >= 2 && strcmp(p + pl - 2, ".*") == 0 && n >= pl - 2 && memcmp(p, s, pl - 2) == 0 &&
		    (n == pl - 2 || s[pl - 2] == '.'))
			return 0;
	}
	return BUBBLE_ERR_DENIED;
}

/* check_data is check, then ERR_TOO_LARGE for data over the stub's limit. */
static int32_t check_data(const struct item *grants, const char *s, uint32_t n, uint32_t len) {
	int32_t r = check(grants, s, n);
	return r < 0 ? r : len > MAX_DATA ? BUBBLE_ERR_TOO_LARGE : 0;
}

/* fill is the size negotiation: copy only when everything fits. */
static int32_t fill(void *buf, uint32_t cap, const char *data, size_t n) {
	if (n && n <= cap)
		memcpy(buf, data, n);
	return (int32_t)n;
}

/* --------------------------------------------------------------- pub/sub */

int32_t bubble_abi_publish(const char *channel, uint32_t channel_len, const void *msg, uint32_t msg_len) {
	int32_t r = check_data(ext.pubsub, channel, channel_len, msg_len);
	if (r < 0)
		return r;
	int n = 0;
	for (struct item *s = ext.subs; s; s = s->next) {
		if (strlen(s->data) == channel_len && memcmp(s->data, channel, channel_len) == 0) {
			push(&ext.msgs, s->name, strlen(s->name), msg, msg_len);
			n++;
		}
	}
	return n;
}

int32_t bubble_abi_subscribe(const char *channel, uint32_t channel_len, char *id, uint32_t id_cap) {
	int32_t r = check(ext.pubsub, channel, channel_len);
	if (r < 0)
		return r;
	if (id_cap < BUBBLE_MAX_SUBSCRIPTION_ID)
		return BUBBLE_ERR_INVALID;
	char name[32];
	int n = snprintf(name, sizeof name, "stub-subscription-%d", ++ext.next_sub);
	push(&ext.subs, name, (size_t)n, channel, channel_len);
	memcpy(id, name, (size_t)n);
	return n;
}

int32_t bubble_abi_fetch(const char *id, uint32_t id_len, int32_t timeout_ms, void *buf, uint32_t buf_len) {
	(void)timeout_ms; /* nothing arrives while the stub waits */
	if (!ext.pubsub)
		return BUBBLE_ERR_DENIED;
	if (id_len > BUBBLE_MAX_SUBSCRIPTION_ID || !find(&ext.subs, id, id_len))
		return BUBBLE_ERR_NOT_FOUND;
	struct item **m = find(&ext.msgs, id, id_len);
	if (!m)
		return BUBBLE_ERR_TIMEOUT;
	int32_t n = fill(buf, buf_len, (*m)->data, (*m)->len);
	if ((uint32_t)n <= buf_len)
		drop(m); /* a message too long for buf stays queued */
	return n;
}

int32_t bubble_abi_unsubscribe(const char *id, uint32_t id_len) {
	if (!ext.pubsub)
		return BUBBLE_ERR_DENIED;
	struct item **s = id_len <= BUBBLE_MAX_SUBSCRIPTION_ID ? find(&ext.subs, id, id_len) : NULL;
	if (!s)
		return BUBBLE_ERR_NOT_FOUND;
	drop(s);
	struct item **m;
	while ((m = find(&ext.msgs, id, id_len)) != NULL)
		drop(m);
	return 0;
}

int bubble_stub_queued(const char *id) {
	if (!find(&ext.subs, id, strlen(id)))
		return -1;
	int n = 0;
	for (struct item *m = ext.msgs; m; m = m->next)
		n += strcmp(m->name, id) == 0;
	return n;
}

/* --------------------------------------------------------------- signals */

void bubble_stub_signal(const char *name, const void *payload, size_t len) {
	push(&ext.pending, name, strlen(name), payload, len);
}

const char *bubble_stub_sent(const char *name, size_t *len) {
	struct item **s = find(&ext.sent, name, strlen(name));
	if (len)
		*len = s ? (*s)->len : 0;
	return s ? (*s)->data : NULL;
}

int32_t bubble_abi_signal_wait(const char *name, uint32_t name_len, int32_t timeout_ms, void *buf, uint32_t buf_len) {
	(void)timeout_ms;
	int32_t r = check(ext.signals, name, name_len);
	if (r < 0)
		return r;
	struct item **p = find(&ext.pending, name, name_len);
	if (!p)
		return BUBBLE_ERR_TIMEOUT;
	size_t n = (*p)->len;
	memcpy(buf, (*p)->data, n < buf_len ? n : buf_len); /* the rest is lost */
	drop(p);
	return (int32_t)n;
}

int32_t bubble_abi_signal_send(const char *name, uint32_t name_len, const void *payload, uint32_t payload_len) {
	int32_t r = check_data(ext.signals, name, name_len, payload_len);
	if (r < 0)
		return r;
	struct item **old = find(&ext.sent, name, name_len);
	if (old)
		drop(old);
	push(&ext.sent, name, name_len, payload, payload_len);
	return 0; /* no other exchange waits in the stub */
}

/* ------------------------------------------------------------- key-value */

const char *bubble_stub_kv(const char *key, size_t *len) {
	struct item **k = find(&ext.keys, key, strlen(key));
	if (len)
		*len = k ? (*k)->len : 0;
	return k ? (*k)->data : NULL;
}

int32_t bubble_abi_kv_get(const char *key, uint32_t key_len, void *buf, uint32_t buf_len) {
	if (!ext.kv_ns)
		return BUBBLE_ERR_DENIED;
	struct item **k = key_len <= MAX_NAME ? find(&ext.keys, key, key_len) : NULL;
	return k ? fill(buf, buf_len, (*k)->data, (*k)->len) : BUBBLE_ERR_NOT_FOUND;
}

int32_t bubble_abi_kv_set(const char *key, uint32_t key_len, const void *value, uint32_t value_len, int32_t ttl_ms) {
	(void)ttl_ms; /* the stub keeps every key until it is deleted */
	if (!ext.kv_ns)
		return BUBBLE_ERR_DENIED;
	if (key_len > MAX_NAME || value_len > MAX_DATA)
		return BUBBLE_ERR_TOO_LARGE;
	struct item **k = find(&ext.keys, key, key_len);
	if (k)
		drop(k);
	push(&ext.keys, key, key_len, value, value_len);
	return 0;
}

int32_t bubble_abi_kv_delete(const char *key, uint32_t key_len) {
	if (!ext.kv_ns)
		return BUBBLE_ERR_DENIED;
	struct item **k = key_len <= MAX_NAME ? find(&ext.keys, key, key_len) : NULL;
	if (k)
		drop(k);
	return 0;
}

/* ------------------------------------------------------------------ dial */

void bubble_stub_dial_target(const char *name, const char *reply, int status) {
	struct item *t = push(&ext.targets, name, strlen(name), reply, reply ? strlen(reply) : 0);
	t->n = status;
	t->pos = reply == NULL; /* pos 1: echo */
}

int32_t bubble_abi_dial_call(const char *target, uint32_t target_len, const void *req, uint32_t req_len,
			     int32_t timeout_ms, void *buf, uint32_t buf_len) {
	(void)timeout_ms;
	ext.has_last = 0;
	struct item **t = target_len <= 64 ? find(&ext.targets, target, target_len) : NULL;
	if (!t)
		return BUBBLE_ERR_DENIED;
	if ((*t)->n == 0 && req_len && memchr(req, '\n', req_len))
		return BUBBLE_ERR_INVALID;
	free(ext.last_reply);
	if ((*t)->pos) { /* echo: the request and a newline */
		ext.last_reply = copy(req, req_len);
		ext.last_reply = realloc(ext.last_reply, (size_t)req_len + 2);
		if (!ext.last_reply)
			abort();
		ext.last_reply[req_len] = '\n';
		ext.last_reply[req_len + 1] = 0;
		ext.last_len = (size_t)req_len + 1;
	} else {
		ext.last_reply = copy((*t)->data, (*t)->len);
		ext.last_len = (*t)->len;
	}
	if (ext.last_len > MAX_REPLY)
		return BUBBLE_ERR_TOO_LARGE;
	ext.last_status = (*t)->n;
	ext.has_last = 1;
	return fill(buf, buf_len, ext.last_reply, ext.last_len);
}

int32_t bubble_abi_dial_reply(void *buf, uint32_t buf_len) {
	return ext.has_last ? fill(buf, buf_len, ext.last_reply, ext.last_len) : BUBBLE_ERR_NOT_FOUND;
}

int32_t bubble_abi_dial_status(void) { return ext.has_last ? ext.last_status : BUBBLE_ERR_NOT_FOUND; }

/* --------------------------------------------------------- outbound HTTP */

void bubble_stub_http_response(const char *url, int status, const char *headers, const void *body, size_t len) {
	struct item *r = push(&ext.urls, url, strlen(url), body, len);
	r->extra = copy(headers ? headers : "", headers ? strlen(headers) : 0);
	r->n = status;
}

const char *bubble_stub_http_last(const char **url, const char **headers, const char **body, size_t *body_len) {
	if (url)
		*url = ext.req_url;
	if (headers)
		*headers = ext.req_headers;
	if (body)
		*body = ext.req_body;
	if (body_len)
		*body_len = ext.req_len;
	return ext.req_method;
}

int bubble_stub_http_open(void) {
	int n = 0;
	for (struct item *r = ext.open; r; r = r->next)
		n++;
	return n;
}

static int token(const char *s, size_t n) {
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c && strchr("!#$%&'*+-.^_`|~", c))))
			return 0;
	}
	return 1;
}

/* valid_headers checks the "Name: value\n" encoding and refuses the
   headers the host sets itself. */
static int valid_headers(const char *h, size_t n) {
	static const char *owned[] = {"Host", "Content-Length", "Transfer-Encoding", "Connection", NULL};
	while (n > 0) {
		const char *end = memchr(h, '\n', n);
		const char *colon = memchr(h, ':', n);
		if (!end || !colon || colon > end || !token(h, (size_t)(colon - h)) || colon[1] != ' ')
			return 0;
		for (const char *v = colon + 1; v < end; v++)
			if (*v == '\r' || *v == 0)
				return 0;
		for (int i = 0; owned[i]; i++)
			if (strlen(owned[i]) == (size_t)(colon - h) && strncasecmp(h, owned[i], (size_t)(colon - h)) == 0)
				return 0;
		n -= (size_t)(end - h) + 1;
		h = end + 1;
	}
	return 1;
}

int32_t bubble_abi_http_request(const char *method, uint32_t method_len, const char *url, uint32_t url_len,
				const char *headers, uint32_t headers_len, const void *body, uint32_t body_len,
				int32_t timeout_ms) {
	(void)timeout_ms;
	if (!token(method, method_len) || url_len == 0 || !valid_headers(headers, headers_len))
		return BUBBLE_ERR_INVALID;
	struct item **r = find(&ext.urls, url, url_len);
	if (!r)
		return BUBBLE_ERR_DENIED;
	if (bubble_stub_http_open() >= MAX_OPEN)
		return BUBBLE_ERR_FULL;
	free(ext.req_method);
	free(ext.req_url);
	free(ext.req_headers);
	free(ext.req_body);
	ext.req_method = copy(method, method_len);
	ext.req_url = copy(url, url_len);
	ext.req_headers = copy(headers, headers_len);
	ext.req_body = copy(body, body_len);
	ext.req_len = body_len;
	if ((*r)->n < 0)
		return (*r)->n;
	char h[16];
	int hl = snprintf(h, sizeof h, "%d", ++ext.next_handle);
	struct item *o = push(&ext.open, h, (size_t)hl, (*r)->data, (*r)->len);
	o->extra = copy((*r)->extra, strlen((*r)->extra));
	o->n = (*r)->n;
	return ext.next_handle;
}

static struct item **response(int32_t handle) {
	char h[16];
	int hl = snprintf(h, sizeof h, "%d", handle);
	return find(&ext.open, h, (size_t)hl);
}

int32_t bubble_abi_http_status(int32_t handle) {
	struct item **r = response(handle);
	return r ? (*r)->n : BUBBLE_ERR_NOT_FOUND;
}

int32_t bubble_abi_http_headers(int32_t handle, void *buf, uint32_t buf_len) {
	struct item **r = response(handle);
	return r ? fill(buf, buf_len, (*r)->extra, strlen((*r)->extra)) : BUBBLE_ERR_NOT_FOUND;
}

int32_t bubble_abi_http_read(int32_t handle, void *buf, uint32_t buf_len) {
	struct item **r = response(handle);
	if (!r)
		return BUBBLE_ERR_NOT_FOUND;
	if (buf_len == 0)
		return BUBBLE_ERR_INVALID;
	size_t n = (*r)->len - (*r)->pos;
	if (n > buf_len)
		n = buf_len;
	memcpy(buf, (*r)->data + (*r)->pos, n);
	(*r)->pos += n;
	return (int32_t)n; /* 0 at the end of the body */
}

int32_t bubble_abi_http_close(int32_t handle) {
	struct item **r = response(handle);
	if (!r)
		return BUBBLE_ERR_NOT_FOUND;
	drop(r);
	return 0;
}
