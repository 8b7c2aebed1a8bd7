/*
 * kit.c: the C SDK's conformance kit module. One handler implements every
 * case of guest-sdk/CONFORMANCE.md with the SDK's public API only; the case
 * is PATH_INFO, and without PATH_INFO (the line transport) it is /echo.
 * The extension cases (/pubsub, /signal, /kv, /dial, /http) run on a route
 * that grants pubsub = ["kit.*"], signals = ["kit.*"], kv = "kit", a dial
 * target echo and outbound HTTP to the test's server.
 *
 * Build: guest-sdk/c/build-kit.sh OUT.wasm
 * Test natively: guest-sdk/c/test.sh; on every engine:
 * go test ./guest-sdk/conformance/
 */
#include <stdlib.h>
#include <string.h>

#include "bubble.h"
#include "bubble_ext.h"

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

/* ----------------------------------------------------- extension cases */

/* say writes the words of a case's report, separated by single spaces. */
static int say(const char *const *words, int n) {
	int rc = 0;
	for (int i = 0; i < n && rc == 0; i++) {
		if (i > 0)
			rc = bubble_write(" ", 1);
		if (rc == 0)
			rc = bubble_write_str(words[i]);
	}
	return rc;
}

/* err_name is the case table's name of an SDK result: the error in lower
   case without ERR_ and underscores ("notfound"), "noerror" for >= 0. */
static const char *err_name(int rc) {
	static char name[32];
	if (rc >= 0)
		return "noerror";
	const char *e = bubble_strerror(rc);
	if (strncmp(e, "ERR_", 4) == 0)
		e += 4;
	size_t j = 0;
	for (; *e && j < sizeof name - 1; e++)
		if (*e != '_')
			name[j++] = (char)(*e >= 'A' && *e <= 'Z' ? *e - 'A' + 'a' : *e);
	name[j] = 0;
	return name;
}

/* decimal formats n into buf. */
static const char *decimal(unsigned long n, char buf[12]) {
	int d = 11;
	buf[d] = 0;
	do
		buf[--d] = (char)('0' + n % 10);
	while ((n /= 10) > 0 && d > 0);
	return buf + d;
}

static int case_pubsub(void) {
	char id[BUBBLE_MAX_SUBSCRIPTION_ID + 1], count[12];
	int rc = bubble_subscribe("kit.ps", id);
	if (rc < 0)
		return say((const char *[]){"pubsub", "subscribe", err_name(rc)}, 3);
	int n = bubble_publish("kit.ps", "hello", 5);
	if (n < 0)
		return say((const char *[]){"pubsub", "publish", err_name(n)}, 3);
	char *msg;
	size_t len;
	rc = bubble_fetch(id, 1000, &msg, &len);
	if (rc < 0)
		return say((const char *[]){"pubsub", "fetch", err_name(rc)}, 3);
	if ((rc = bubble_unsubscribe(id)) < 0) {
		free(msg);
		return say((const char *[]){"pubsub", "unsubscribe", err_name(rc)}, 3);
	}
	char *none;
	char gone[32];
	strcpy(gone, err_name(bubble_fetch(id, 0, &none, &len)));
	free(none); /* NULL unless the fetch succeeded */
	rc = say((const char *[]){"pubsub", decimal(n, count), msg, gone, err_name(bubble_publish("other", "x", 1))}, 5);
	free(msg);
	return rc;
}

static int case_signal(void) {
	char count[12], payload[16], timeout[32];
	int woken = bubble_signal_send("kit.sig", "x", 1);
	if (woken < 0)
		return say((const char *[]){"signal", "send", err_name(woken)}, 3);
	strcpy(timeout, err_name(bubble_signal_wait("kit.sig", 1, payload, sizeof payload)));
	return say((const char *[]){"signal", decimal(woken, count), timeout, err_name(bubble_signal_send("nope", NULL, 0))}, 4);
}

static int case_kv(void) {
	char *q = bubble_env_dup("QUERY_STRING", NULL);
	if (!q)
		return BUBBLE_ERR_NOMEM;
	int rc = bubble_kv_set("kit.k", q, strlen(q), 0);
	free(q);
	if (rc < 0)
		return say((const char *[]){"kv", "set", err_name(rc)}, 3);
	char *v, *none;
	size_t len;
	if ((rc = bubble_kv_get("kit.k", &v, &len)) < 0)
		return say((const char *[]){"kv", "get", err_name(rc)}, 3);
	if ((rc = bubble_kv_delete("kit.k")) < 0) {
		free(v);
		return say((const char *[]){"kv", "delete", err_name(rc)}, 3);
	}
	char missing[32], key[301];
	strcpy(missing, err_name(bubble_kv_get("kit.k", &none, &len)));
	free(none);
	memset(key, 'a', 300);
	key[300] = 0;
	rc = say((const char *[]){"kv", v, missing, err_name(bubble_kv_set(key, "v", 1, 0))}, 4);
	free(v);
	return rc;
}

static int case_dial(void) {
	char *q = bubble_env_dup("QUERY_STRING", NULL);
	if (!q)
		return BUBBLE_ERR_NOMEM;
	char *reply, *none, status[12];
	size_t len;
	int rc = bubble_call("echo", q, strlen(q), 0, &reply, &len);
	if (rc < 0) {
		free(q);
		return say((const char *[]){"dial", "call", err_name(rc)}, 3);
	}
	if (len > 0 && reply[len - 1] == '\n')
		reply[len - 1] = 0;
	int st = bubble_call_status();
	char stw[32];
	strcpy(stw, st < 0 ? err_name(st) : decimal(st, status));
	char denied[32];
	strcpy(denied, err_name(bubble_call("nope", q, strlen(q), 0, &none, &len)));
	free(none);
	free(q);
	rc = say((const char *[]){"dial", reply, stw, denied}, 4);
	free(reply);
	return rc;
}

/* adler32 continues the Adler-32 sum of CONFORMANCE.md over n bytes. */
static uint32_t adler32(uint32_t sum, const unsigned char *p, size_t n) {
	uint32_t a = sum & 0xffff, b = sum >> 16;
	for (size_t i = 0; i < n; i++) {
		a = (a + p[i]) % 65521;
		b = (b + a) % 65521;
	}
	return b << 16 | a;
}

static int case_http(void) {
	char *url = bubble_env_dup("QUERY_STRING", NULL);
	if (!url)
		return BUBBLE_ERR_NOMEM;
	int h = bubble_http_request("GET", url, "X-Kit: kit\n", NULL, 0, 0);
	free(url);
	if (h < 0)
		return say((const char *[]){"http", "request", err_name(h)}, 3);
	char status[12], echo[64], length[12], sum[12], denied[32];
	int st = bubble_http_status(h);
	if (st < 0) {
		bubble_http_close(h);
		return say((const char *[]){"http", "status", err_name(st)}, 3);
	}
	int n = bubble_http_header(h, "X-Kit-Echo", echo, sizeof echo);
	if (n < 0 || (size_t)n >= sizeof echo)
		strcpy(echo, n < 0 ? err_name(n) : "too-long");
	unsigned long len = 0;
	uint32_t adler = 1;
	for (;;) { /* streams: one buffer, never the whole body */
		n = bubble_http_read(h, buf, sizeof buf);
		if (n == 0)
			break;
		if (n < 0) {
			bubble_http_close(h);
			return say((const char *[]){"http", "read", err_name(n)}, 3);
		}
		len += (unsigned long)n;
		adler = adler32(adler, (const unsigned char *)buf, (size_t)n);
	}
	if ((n = bubble_http_close(h)) < 0)
		return say((const char *[]){"http", "close", err_name(n)}, 3);
	h = bubble_http_request("GET", "http://127.0.0.2/kit", NULL, NULL, 0, 0);
	strcpy(denied, err_name(h));
	if (h > 0)
		bubble_http_close(h);
	return say((const char *[]){"http", decimal((unsigned long)st, status), echo, decimal(len, length),
				    decimal(adler, sum), denied},
		   6);
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
	if (strcmp(path, "/pubsub") == 0)
		return case_pubsub();
	if (strcmp(path, "/signal") == 0)
		return case_signal();
	if (strcmp(path, "/kv") == 0)
		return case_kv();
	if (strcmp(path, "/dial") == 0)
		return case_dial();
	if (strcmp(path, "/http") == 0)
		return case_http();
	int rc = bubble_set_status(404);
	if (rc < 0 || (rc = bubble_write_str("kit: unknown case ")) < 0)
		return rc;
	return bubble_write_str(path);
}

BUBBLE_HANDLER(kit)
