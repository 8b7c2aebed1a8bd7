/*
 * hello.c: a CGI program, the way one is written for any web server. It
 * knows nothing about bubblewasm: the request comes in environment
 * variables and on stdin, the response goes to stdout as header lines, a
 * blank line and the body.
 *
 *   GET  /?name=Ada     Hello, Ada!
 *   POST / (a body)     received N bytes
 *   anything else       405 Method Not Allowed
 *
 * Build (bubblewasm build does exactly this, see ../README.md):
 *   clang --target=wasm32-wasi -O2 -o hello.wasm hello.c
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* param copies the value of key in the query string q into out (at most n
 * bytes with the NUL; '+' becomes a space, no other decoding) and returns
 * out, or NULL when the key is absent or empty. */
static char *param(const char *q, const char *key, char *out, size_t n) {
	size_t klen = strlen(key);
	while (q != NULL && *q != '\0') {
		if (strncmp(q, key, klen) == 0 && q[klen] == '=' && q[klen + 1] != '\0' && q[klen + 1] != '&') {
			size_t i = 0;
			for (const char *v = q + klen + 1; *v != '\0' && *v != '&' && i + 1 < n; v++)
				out[i++] = *v == '+' ? ' ' : *v;
			out[i] = '\0';
			return out;
		}
		q = strchr(q, '&');
		if (q != NULL)
			q++;
	}
	return NULL;
}

int main(void) {
	const char *method = getenv("REQUEST_METHOD");
	if (method == NULL)
		method = "GET";

	if (strcmp(method, "GET") == 0) {
		char name[100];
		const char *who = param(getenv("QUERY_STRING"), "name", name, sizeof name);
		printf("Content-Type: text/plain; charset=utf-8\r\n\r\n");
		printf("Hello, %s!\n", who != NULL ? who : "world");
		return 0;
	}
	if (strcmp(method, "POST") == 0) {
		static char buf[64 * 1024];
		long long total = 0;
		ssize_t n;
		while ((n = read(STDIN_FILENO, buf, sizeof buf)) > 0)
			total += n;
		if (n < 0) {
			perror("hello: reading the body");
			return 1; /* nothing written yet: the client gets a 500 */
		}
		printf("Content-Type: text/plain\r\n\r\nreceived %lld bytes\n", total);
		return 0;
	}
	printf("Status: 405 Method Not Allowed\r\nAllow: GET, POST\r\nContent-Type: text/plain\r\n\r\n%s is not allowed here\n", method);
	return 0;
}
