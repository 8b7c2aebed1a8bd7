/*
 * hello.c: a bubblewasm handler in C that greets: "Hello, world!" or, with
 * the query string name=X, "Hello, X!" (X percent-decoded), as text/plain.
 *
 * Build: modules/hello-c/build.sh hello.wasm
 */
#include <stdlib.h>
#include <string.h>

#include "bubble.h"

static int hexval(char c) {
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * unescape decodes '+' and %XX escapes of a query component in place and
 * returns its new length. A malformed escape is kept as it is.
 */
static size_t unescape(char *s, size_t n) {
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '+') {
			s[o++] = ' ';
		} else if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			s[o++] = (char)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
			i += 2;
		} else {
			s[o++] = s[i];
		}
	}
	return o;
}

/*
 * query_param finds the first key=value pair of the query q (n bytes)
 * whose decoded key is key, decodes its value in place and returns it
 * (length in *len); NULL when there is none. q is modified. Not static:
 * hello_test.c calls it.
 */
char *query_param(char *q, size_t n, const char *key, size_t *len) {
	size_t klen = strlen(key);
	char *end = q + n;
	while (q < end) {
		char *amp = memchr(q, '&', (size_t)(end - q));
		char *pair_end = amp ? amp : end;
		char *eq = memchr(q, '=', (size_t)(pair_end - q));
		char *kend = eq ? eq : pair_end;
		if (unescape(q, (size_t)(kend - q)) == klen && memcmp(q, key, klen) == 0) {
			char *v = eq ? eq + 1 : pair_end;
			*len = unescape(v, (size_t)(pair_end - v));
			return v;
		}
		q = pair_end + 1;
	}
	return NULL;
}

static int hello(void) {
	size_t qlen = 0, nlen = 0;
	char *q = bubble_env_dup("QUERY_STRING", &qlen);
	char *name = q ? query_param(q, qlen, "name", &nlen) : NULL;
	if (!name || nlen == 0) {
		name = "world";
		nlen = 5;
	}
	int rc;
	if ((rc = bubble_set_header("Content-Type", "text/plain; charset=utf-8")) == 0 &&
	    (rc = bubble_write("Hello, ", 7)) == 0 && (rc = bubble_write(name, nlen)) == 0)
		rc = bubble_write("!\n", 2);
	free(q);
	return rc;
}

BUBBLE_HANDLER(hello)
