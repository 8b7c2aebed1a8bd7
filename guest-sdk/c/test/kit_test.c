/*
 * kit_test.c: native tests of the C SDK (bubble.c) and of the kit handler
 * (kit/kit.c), run against the fake host bubble_stub.c. Run by test.sh.
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bubble.h"
#include "bubble_stub.h"

#include "check.h"

int failures;
const char *current = "";

/* start resets the fake host for a kit case. */
void start(const char *name, const char *path) {
	current = name;
	bubble_stub_reset();
	bubble_stub_setenv("REQUEST_METHOD", "GET");
	if (path)
		bubble_stub_setenv("PATH_INFO", path);
}

int body_is(const char *want) {
	size_t len;
	const char *b = bubble_stub_body(&len);
	return len == strlen(want) && memcmp(b, want, len) == 0;
}

static void test_env(void) {
	char *long_value = malloc(10 << 10 | 1);
	memset(long_value, 'v', 10 << 10);
	long_value[10 << 10] = 0;

	start("env long", "/env");
	bubble_stub_setenv("QUERY_STRING", "HTTP_X_LONG");
	bubble_stub_setenv("HTTP_X_LONG", long_value);
	CHECK(bubble_stub_serve() == 0);
	CHECK(body_is(long_value));
	CHECK(bubble_stub_status() == 200);

	start("env method", "/env");
	bubble_stub_setenv("QUERY_STRING", "REQUEST_METHOD");
	CHECK(bubble_stub_serve() == 0);
	CHECK(body_is("GET"));

	start("env missing", "/env");
	bubble_stub_setenv("QUERY_STRING", "NOPE");
	CHECK(bubble_stub_serve() == 0);
	CHECK(bubble_stub_status() == 404);
	CHECK(body_is("missing"));
	free(long_value);
}

static void test_keys(void) {
	start("keys", "/keys");
	bubble_stub_setenv("b", "1");
	bubble_stub_setenv("B", "2");
	bubble_stub_setenv("a.b", "");
	CHECK(bubble_stub_serve() == 0);
	CHECK(body_is("B\nPATH_INFO\nREQUEST_METHOD\na.b\nb\n"));
}

static void test_echo(void) {
	size_t n = 1 << 20;
	char *in = malloc(n);
	srand(1);
	for (size_t i = 0; i < n; i++)
		in[i] = (char)rand();
	start("echo 1 MiB", "/echo");
	bubble_stub_setenv("CONTENT_TYPE", "application/x-kit");
	bubble_stub_input(in, n);
	bubble_stub_read_chunk(1000); /* short reads */
	CHECK(bubble_stub_serve() == 0);
	size_t len;
	const char *out = bubble_stub_body(&len);
	CHECK(len == n && memcmp(out, in, n) == 0);
	CHECK(bubble_stub_header("content-type", 0) && strcmp(bubble_stub_header("content-type", 0), "application/x-kit") == 0);
	free(in);

	start("echo empty", "/echo");
	CHECK(bubble_stub_serve() == 0);
	CHECK(bubble_stub_status() == 200 && body_is(""));
	CHECK(bubble_stub_header("Content-Type", 0) == NULL);

	start("line (no PATH_INFO)", NULL);
	bubble_stub_input("one line", 8);
	CHECK(bubble_stub_serve() == 0);
	CHECK(body_is("one line"));

	start("echo closed peer", "/echo");
	bubble_stub_input("abc", 3);
	bubble_stub_fail_output(BUBBLE_ERR_CLOSED);
	CHECK(bubble_stub_serve() != 0);
	int level = 0;
	const char *msg = bubble_stub_log(0, &level);
	CHECK(msg && strcmp(msg, "bubble: handler failed: ERR_CLOSED") == 0 && level == BUBBLE_LOG_ERROR);
}

static void test_status(void) {
	start("status", "/status");
	bubble_stub_setenv("QUERY_STRING", "201");
	CHECK(bubble_stub_serve() == 0);
	CHECK(bubble_stub_status() == 201);
	CHECK(bubble_stub_header("x-kit", 0) && strcmp(bubble_stub_header("x-kit", 0), "a") == 0);
	CHECK(bubble_stub_header("X-KIT", 1) && strcmp(bubble_stub_header("X-KIT", 1), "b") == 0);
	CHECK(bubble_stub_header("X-Kit", 2) == NULL);
	CHECK(body_is("ok"));
}

static void test_log(void) {
	static const struct {
		int level;
		const char *msg;
	} want[] = {{-4, "kit debug"}, {0, "kit info"}, {4, "kit warn"}, {8, "kit error"}};
	start("log", "/log");
	CHECK(bubble_stub_serve() == 0);
	CHECK(body_is("logged"));
	for (int i = 0; i < 4; i++) {
		int level = 99;
		const char *msg = bubble_stub_log(i, &level);
		CHECK(msg && strcmp(msg, want[i].msg) == 0 && level == want[i].level);
	}
	CHECK(bubble_stub_log(4, NULL) == NULL);
}

static void test_fail_trap(void) {
	start("fail", "/fail");
	CHECK(bubble_stub_serve() != 0);
	CHECK(body_is(""));

	/* abort() ends the process: run /trap in a child. */
	start("trap", "/trap");
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		bubble_stub_serve();
		_exit(0); /* not reached when the kit aborts */
	}
	int ws = 0;
	CHECK(pid > 0 && waitpid(pid, &ws, 0) == pid);
	CHECK(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGABRT);
}

static void test_committed_invalid_flush(void) {
	start("committed", "/committed");
	CHECK(bubble_stub_serve() == 0);
	CHECK(body_is("xcommitted-ok"));
	CHECK(bubble_stub_status() == 200);

	start("invalid", "/invalid");
	CHECK(bubble_stub_serve() == 0);
	CHECK(body_is("invalid-ok"));

	start("flush", "/flush");
	bubble_stub_input("rest", 4);
	CHECK(bubble_stub_serve() == 0);
	CHECK(bubble_stub_flushed_at() == 5);
	CHECK(body_is("firstrest"));

	start("unknown", "/nope");
	CHECK(bubble_stub_serve() == 0);
	CHECK(bubble_stub_status() == 404);
	CHECK(body_is("kit: unknown case /nope"));
}

/* test_sdk covers the SDK functions directly, outside a handler. */
static void test_sdk(void) {
	char buf[4];
	start("bubble_env_get", NULL);
	bubble_stub_setenv("K", "abcd");
	memset(buf, 'x', sizeof buf);
	CHECK(bubble_env_get("K", buf, sizeof buf) == 4 && buf[0] == 0); /* too small */
	char ok[5];
	CHECK(bubble_env_get("K", ok, sizeof ok) == 4 && strcmp(ok, "abcd") == 0);
	CHECK(bubble_env_get("K", NULL, 0) == 4);
	CHECK(bubble_env_get("missing", ok, sizeof ok) == BUBBLE_ERR_NOT_FOUND);
	bubble_stub_setenv("E", "");
	size_t len = 99;
	char *e = bubble_env_dup("E", &len);
	CHECK(e && e[0] == 0 && len == 0);
	free(e);
	CHECK(bubble_env_dup("missing", &len) == NULL && len == 0);
	CHECK(bubble_env_keys(NULL, 0) == 19); /* "E\0K\0REQUEST_METHOD\0" */

	current = "bubble_env_keys";
	char keys[64];
	int n = bubble_env_keys(keys, sizeof keys);
	CHECK(n == 19 && memcmp(keys, "E\0K\0REQUEST_METHOD\0", 19) == 0);
	CHECK(bubble_env_keys(keys, 18) == 19);

	current = "bubble_read";
	CHECK(bubble_read(buf, 0) == BUBBLE_ERR_INVALID);
	CHECK(bubble_read(buf, sizeof buf) == 0);
	CHECK(bubble_read(buf, sizeof buf) == 0);

	current = "headers";
	CHECK(bubble_set_header("", "v") == BUBBLE_ERR_INVALID);
	CHECK(bubble_set_header("X", "a\r\nb") == BUBBLE_ERR_INVALID);
	CHECK(bubble_set_header_n("X", 1, "a\0b", 3) == BUBBLE_ERR_INVALID);
	CHECK(bubble_set_status(199) == BUBBLE_ERR_INVALID);
	CHECK(bubble_set_header("X", "1") == 0 && bubble_set_header("x", "2") == 0);
	CHECK(strcmp(bubble_stub_header("X", 0), "2") == 0 && bubble_stub_header("X", 1) == NULL);
	CHECK(bubble_write(NULL, 0) == 0); /* commits */
	CHECK(bubble_add_header("X", "3") == BUBBLE_ERR_COMMITTED);
	CHECK(bubble_add_header("bad name", "3") == BUBBLE_ERR_INVALID); /* invalid wins */
	CHECK(bubble_set_status(1000) == BUBBLE_ERR_INVALID);
	CHECK(bubble_set_status(500) == BUBBLE_ERR_COMMITTED);

	current = "bubble_strerror";
	CHECK(strcmp(bubble_strerror(BUBBLE_ERR_COMMITTED), "ERR_COMMITTED") == 0);
	CHECK(strcmp(bubble_strerror(-42), "ERR_UNKNOWN") == 0);
	CHECK(strcmp(bubble_strerror(BUBBLE_ERR_DENIED), "ERR_DENIED") == 0);
	CHECK(strcmp(bubble_strerror(BUBBLE_ERR_FULL), "ERR_FULL") == 0);
	CHECK(BUBBLE_ERR_DENIED == -8 && BUBBLE_ERR_FULL == -9);
	/* The ABI's codes pass through; an unknown one is ERR_IO. */
	bubble_stub_fail_output(-9);
	CHECK(bubble_flush() == BUBBLE_ERR_FULL);
	bubble_stub_fail_output(-10);
	CHECK(bubble_flush() == BUBBLE_ERR_IO);
	bubble_stub_fail_output(0);

	current = "bubble_logf";
	bubble_logf(BUBBLE_LOG_WARN, "n=%d s=%s", 42, "x");
	int level;
	const char *msg = bubble_stub_log(0, &level);
	CHECK(msg && strcmp(msg, "n=42 s=x") == 0 && level == BUBBLE_LOG_WARN);
}

/* The kit's /park case, and the park functions against the stub. */
static void test_park(void) {
	const char *name;
	int timeout;
	start("park", "/park");
	CHECK(bubble_stub_serve() == 0);
	CHECK(bubble_stub_parked(&name, &timeout) == 't' && timeout == 1);
	CHECK(body_is("0;"));
	CHECK(bubble_stub_resume("timeout", NULL, 0) == 0);
	CHECK(bubble_stub_parked(NULL, NULL) == 't');
	CHECK(bubble_stub_resume("timeout", NULL, 0) == 0);
	CHECK(bubble_stub_parked(NULL, NULL) == 0);
	CHECK(body_is("0;1:timeout:kit;2:timeout:kit;"));
	CHECK(bubble_stub_header("X-Kit-Park", 0) && strcmp(bubble_stub_header("X-Kit-Park", 0), "1") == 0);

	current = "park functions";
	bubble_stub_reset();
	char wake[16], buf[8];
	CHECK(bubble_resumed(wake, sizeof wake) == 0 && wake[0] == 0);
	CHECK(bubble_state(buf, sizeof buf) == BUBBLE_ERR_NOT_FOUND);
	CHECK(bubble_wake_payload(buf, sizeof buf) == BUBBLE_ERR_NOT_FOUND);
	CHECK(bubble_park_timeout(0) == BUBBLE_ERR_INVALID);
	CHECK(bubble_park_timeout(-1) == BUBBLE_ERR_INVALID);
	CHECK(bubble_park_signal("", 10) == BUBBLE_ERR_INVALID);
	CHECK(bubble_park_message("sub", 3, 10) == 0);
	CHECK(bubble_park_signal("room", 10) == BUBBLE_ERR_INVALID); /* one wait per run */
	bubble_unpark();
	CHECK(bubble_park_signal("room", 10) == 0);
	char *big = calloc(BUBBLE_MAX_STATE + 1, 1);
	CHECK(bubble_stash(big, BUBBLE_MAX_STATE + 1) == BUBBLE_ERR_TOO_LARGE);
	CHECK(bubble_stash(big, BUBBLE_MAX_STATE) == 0);
	free(big);
	CHECK(bubble_stash("0123456789", 10) == 0);
	CHECK(bubble_state(buf, sizeof buf) == 10); /* too small: size negotiation */
	(void)bubble_stub_resume("signal", "pay", 3); /* the kit runs as /echo: no PATH_INFO */
	CHECK(bubble_resumed(wake, sizeof wake) == 1 && strcmp(wake, "signal") == 0);
	CHECK(bubble_wake_payload(buf, sizeof buf) == 3 && memcmp(buf, "pay", 3) == 0);
}

int main(void) {
	test_env();
	test_keys();
	test_echo();
	test_status();
	test_log();
	test_fail_trap();
	test_committed_invalid_flush();
	test_sdk();
	test_park();
	test_ext();
	bubble_stub_reset();
	bubble_stub_ext_reset();
	if (failures) {
		fprintf(stderr, "FAIL: %d checks failed\n", failures);
		return 1;
	}
	printf("ok: C SDK and kit, native\n");
	return 0;
}
