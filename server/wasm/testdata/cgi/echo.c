/* echo.c: an ordinary CGI program that knows nothing about bubblewasm.
 *
 * It reads its request from stdin and the environment, and prints a CGI
 * response on stdout: header lines, a blank line, the body. QUERY_STRING
 * picks what it does, so that one program exercises every path of the
 * host's CGI mode (server/wasm/cgi_test.go builds and serves it):
 *
 *   exit      exit 3 before writing anything
 *   cut       write headers and part of a body, then exit 4
 *   nothing   exit 0 without writing
 *   noheader  write a body with no header block
 *   bighead   write a header line longer than the host's header limit
 *   loop      never finish
 *   redirect  answer with Location only
 *   notfound  answer 404 Not Found
 *   environ   answer with the whole environment, one NAME=value a line
 *   anything else: 201 Created, some environment variables, "--", then the
 *   request body, streamed back chunk by chunk.
 *
 * Build: clang --target=wasm32-wasi -O2 -o echo.wasm echo.c
 * (Debian: apt-get install clang lld wasi-libc libclang-rt-dev-wasm32)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static const char *vars[] = {
	"REQUEST_METHOD", "QUERY_STRING", "PATH_INFO", "CONTENT_LENGTH", "CONTENT_TYPE",
	"HTTP_X_TEST", "GATEWAY_INTERFACE", "SERVER_SOFTWARE", "BUBBLE_ROUTE", "BUBBLE_TRANSPORT", NULL,
};

static char buf[64 * 1024];

int main(int argc, char **argv) {
	const char *q = getenv("QUERY_STRING");
	if (q == NULL)
		q = "";
	if (strcmp(q, "exit") == 0)
		return 3;
	if (strcmp(q, "nothing") == 0)
		return 0;
	if (strcmp(q, "noheader") == 0) {
		printf("Hello without headers\n");
		return 0;
	}
	if (strcmp(q, "bighead") == 0) {
		printf("X-Big: ");
		for (int i = 0; i < 70000; i++)
			putchar('a');
		printf("\r\n\r\nbody\n");
		return 0;
	}
	if (strcmp(q, "loop") == 0) {
		volatile unsigned n = 0;
		for (;;)
			n++;
	}
	if (strcmp(q, "redirect") == 0) {
		printf("Location: /elsewhere\n\n");
		return 0;
	}
	if (strcmp(q, "notfound") == 0) {
		printf("Status: 404 Not Found\nContent-Type: text/plain\n\nno such thing\n");
		return 0;
	}
	if (strcmp(q, "environ") == 0) {
		printf("Content-Type: text/plain\n\n");
		for (char **e = environ; *e != NULL; e++)
			printf("%s\n", *e);
		return 0;
	}
	if (strcmp(q, "cut") == 0) {
		printf("Content-Type: text/plain\r\n\r\npartial\n");
		fflush(stdout);
		return 4;
	}

	fprintf(stderr, "cgi echo: %s request\n", getenv("REQUEST_METHOD"));
	printf("Status: 201 Created\r\nContent-Type: text/plain\r\nX-Lang: c\r\nX-Multi: one\r\nX-Multi: two\r\n\r\n");
	for (const char **v = vars; *v != NULL; v++) {
		const char *val = getenv(*v);
		printf("%s=%s\n", *v, val != NULL ? val : "(unset)");
	}
	int dotted = 0;
	for (char **e = environ; *e != NULL; e++) {
		const char *eq = strchr(*e, '='), *dot = strchr(*e, '.');
		if (dot != NULL && (eq == NULL || dot < eq))
			dotted++;
	}
	printf("DOTTED=%d\nARGC=%d\nARGV0=%s\n--\n", dotted, argc, argc > 0 ? argv[0] : "");
	fflush(stdout);

	ssize_t n;
	while ((n = read(STDIN_FILENO, buf, sizeof buf)) > 0) {
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			return 1;
		fflush(stdout);
	}
	return n < 0 ? 2 : 0;
}
