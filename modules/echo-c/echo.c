/*
 * echo.c: a streaming bubblewasm handler in C. It copies its input to its
 * output through one fixed 32 KiB buffer, so a body of any size runs in
 * constant memory, and passes the request's CONTENT_TYPE back as
 * Content-Type when there is one.
 *
 * Build: modules/echo-c/build.sh echo.wasm
 */
#include "bubble.h"

/* buf is reused by every exchange of an instance; exchanges never overlap. */
static char buf[32 << 10];

static int echo(void) {
	/* A Content-Type longer than buf is not echoed; none is that long. */
	int n = bubble_env_get("CONTENT_TYPE", buf, sizeof buf);
	if (n >= 0 && (size_t)n < sizeof buf) {
		int rc = bubble_set_header("Content-Type", buf);
		if (rc < 0)
			return rc;
	}
	for (;;) {
		n = bubble_read(buf, sizeof buf);
		if (n <= 0)
			return n; /* 0: end of input, negative: an error */
		int rc = bubble_write(buf, (size_t)n);
		if (rc < 0)
			return rc;
	}
}

BUBBLE_HANDLER(echo)
