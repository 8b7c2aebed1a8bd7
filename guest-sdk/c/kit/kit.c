/*
 * kit.c: the C SDK's conformance kit module. One handler implements every
 * case of guest-sdk/CONFORMANCE.md with the SDK's public API only; the case
 * is PATH_INFO, and without PATH_INFO (the line transport) it is /echo.
 *
 * Build: guest-sdk/c/build-kit.sh OUT.wasm
 * Test natively: guest-sdk/c/test.sh; on every engine:
 * go test ./guest-sdk/conformance/
 */
#include <stdlib.h>
#include <string.h>

#include "bubble.h"

/* buf is reused by every exchange of an instance; exchanges never overlap. */
static char buf[32 << 10];

/* copy_input writes the whole input to the output, chunk by chunk. */
static int copy_input(void) {
	for (;;) {
		int n = bubble_read(buf, sizeof buf);
		if (n == 0)
			return BUBBLE_OK; /* end of input */
		if (n < 0)
			return n;
		int rc = bubble_write(buf, (size_t)n);
		if (rc < 0)
			return rc;
	}
}

/* echo streams the input back with the request's Content-Type. */
static int echo(void) {
	char *ct = bubble_env_dup("CONTENT_TYPE", NULL);
	if (ct) {
		int rc = bubble_set_header("Content-Type", ct);
		free(ct);
		if (rc < 0)
			return rc;
	}
	return copy_input();
}

/* env responds with the value of the key named by QUERY_STRING. */
static int env(void) {
	char key[256];
	int n = bubble_env_get("QUERY_STRING", key, sizeof key); /* caller's buffer */
	if (n < 0 || (size_t)n >= sizeof key)
		key[0] = 0; /* absent or too long for a key worth asking */
	size_t len;
	char *v = bubble_env_dup(key, &len); /* size negotiation inside */
	if (!v) {
		int rc = bubble_set_status(404);
		return rc < 0 ? rc : bubble_write_str("missing");
	}
	int rc = bubble_write(v, len);
	free(v);
	return rc;
}

/* keys lists every env key, one a line, in the order the SDK returns them. */
static int keys(void) {
	bubble_keys it;
	const char *k;
	int rc = bubble_keys_open(&it);
	while (rc == 0 && (k = bubble_keys_next(&it)) != NULL) {
		rc = bubble_write_str(k);
		if (rc == 0)
			rc = bubble_write("\n", 1);
	}
	bubble_keys_close(&it);
	return rc;
}

/* status sets the status named by QUERY_STRING and two X-Kit values. */
static int status(void) {
	char q[16];
	int n = bubble_env_get("QUERY_STRING", q, sizeof q);
	if (n < 0 || (size_t)n >= sizeof q)
		return BUBBLE_ERR_INVALID;
	char *end;
	long code = strtol(q, &end, 10);
	if (end == q || *end != 0)
		return BUBBLE_ERR_INVALID;
	int rc;
	if ((rc = bubble_set_status((int)code)) < 0 ||
	    (rc = bubble_set_header("X-Kit", "a")) < 0 ||
	    (rc = bubble_add_header("X-Kit", "b")) < 0)
		return rc;
	return bubble_write_str("ok");
}

static int logs(void) {
	bubble_log(BUBBLE_LOG_DEBUG, "kit debug");
	bubble_log(BUBBLE_LOG_INFO, "kit info");
	bubble_log(BUBBLE_LOG_WARN, "kit warn");
	bubble_log(BUBBLE_LOG_ERROR, "kit error");
	return bubble_write_str("logged");
}

/* report writes ok when rc is want, and what came instead otherwise. */
static int report(int rc, int want, const char *ok, const char *wrong) {
	if (rc == want)
		return bubble_write_str(ok);
	int w = bubble_write_str(wrong);
	return w < 0 ? w : bubble_write_str(bubble_strerror(rc));
}

/* committed checks that the status cannot change after the first write. */
static int committed(void) {
	int rc = bubble_write_str("x");
	if (rc < 0)
		return rc;
	return report(bubble_set_status(500), BUBBLE_ERR_COMMITTED, "committed-ok", "committed-wrong: ");
}

/* invalid checks that a header name that is not a token is refused. */
static int invalid(void) {
	return report(bubble_set_header("bad name", "v"), BUBBLE_ERR_INVALID, "invalid-ok", "invalid-wrong: ");
}

/* flush sends "first" before reading any input, then echoes the input. */
static int flush(void) {
	int rc;
	if ((rc = bubble_write_str("first")) < 0 || (rc = bubble_flush()) < 0)
		return rc;
	return copy_input();
}

/* park parks twice for 1 ms with "kit" in the stash; each resumed run
   reports its count, why it woke and the stash. */
static int park(void) {
	char wake[16], state[16], digits[12];
	int rc, n = bubble_resumed(wake, sizeof wake);
	if (n == 0) {
		if (bubble_park_timeout(0) != BUBBLE_ERR_INVALID)
			return bubble_write_str("bad");
		if ((rc = bubble_set_header("X-Kit-Park", "1")) < 0 || (rc = bubble_stash("kit", 3)) < 0 ||
		    (rc = bubble_write_str("0;")) < 0)
			return rc;
		return bubble_park_timeout(1);
	}
	int sl = bubble_state(state, sizeof state - 1);
	if (sl < 0 || sl >= (int)sizeof state)
		sl = 0;
	state[sl] = 0;
	int d = sizeof digits;
	digits[--d] = 0;
	do
		digits[--d] = (char)('0' + n % 10);
	while ((n /= 10) > 0 && d > 0);
	n = bubble_resumed(NULL, 0);
	if ((rc = bubble_write_str(digits + d)) < 0 || (rc = bubble_write_str(":")) < 0 ||
	    (rc = bubble_write_str(wake)) < 0 || (rc = bubble_write_str(":")) < 0 ||
	    (rc = bubble_write_str(state)) < 0 || (rc = bubble_write_str(";")) < 0)
		return rc;
	return n < 2 ? bubble_park_timeout(1) : 0;
}

static int kit(void) {
	char path[64];
	int n = bubble_env_get("PATH_INFO", path, sizeof path);
	if (n == BUBBLE_ERR_NOT_FOUND)
		strcpy(path, "/echo");
	else if (n < 0)
		return n;
	/* a longer PATH_INFO was not copied: path is "", an unknown case */

	if (strcmp(path, "/env") == 0)
		return env();
	if (strcmp(path, "/keys") == 0)
		return keys();
	if (strcmp(path, "/echo") == 0)
		return echo();
	if (strcmp(path, "/status") == 0)
		return status();
	if (strcmp(path, "/log") == 0)
		return logs();
	if (strcmp(path, "/fail") == 0)
		return 1; /* the SDK's error path: bubble_handle returns non-zero */
	if (strcmp(path, "/trap") == 0)
		abort(); /* a wasm trap (unreachable): the instance is discarded */
	if (strcmp(path, "/committed") == 0)
		return committed();
	if (strcmp(path, "/invalid") == 0)
		return invalid();
	if (strcmp(path, "/flush") == 0)
		return flush();
	if (strcmp(path, "/park") == 0)
		return park();
	int rc = bubble_set_status(404);
	if (rc < 0 || (rc = bubble_write_str("kit: unknown case ")) < 0)
		return rc;
	return bubble_write_str(path);
}

BUBBLE_HANDLER(kit)
