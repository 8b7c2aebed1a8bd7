/*
 * ext_test.c: native tests of the C SDK's extensions (bubble_ext.c) and of
 * the kit's extension cases, against the fake host's extensions
 * (bubble_stub_ext.c). Run by test.sh, from kit_test.c's main.
 */
#include <stdlib.h>
#include <string.h>

#include "bubble_ext.h"
#include "bubble_stub.h"
#include "check.h"

/* grant_kit grants what the conformance test's route grants. */
static void grant_kit(void) {
	bubble_stub_ext_reset();
	bubble_stub_grant("pubsub", "kit.*");
	bubble_stub_grant("signals", "kit.*");
	bubble_stub_grant("kv", "kit");
	bubble_stub_dial_target("echo", NULL, 0);
}

static void test_kit_cases(void) {
	grant_kit();
	start("kit /pubsub", "/pubsub");
	CHECK(bubble_stub_serve() == 0);
	CHECK(body_is("pubsub 1 hello notfound denied"));

	start("kit /signal", "/signal");
	CHECK(bubble_stub_serve() == 0);
	CHECK(body_is("signal 0 timeout denied"));

	start("kit /kv", "/kv");
	bubble_stub_setenv("QUERY_STRING", "value42");
	CHECK(bubble_stub_serve() == 0);
	CHECK(body_is("kv value42 notfound toolarge"));
	CHECK(bubble_stub_kv("kit.k", NULL) == NULL);

	start("kit /dial", "/dial");
	bubble_stub_setenv("QUERY_STRING", "ping");
	CHECK(bubble_stub_serve() == 0);
	CHECK(body_is("dial ping 0 denied"));

	/* The /http upstream: 203, X-Kit-Echo, a header block over the SDK's
	   first buffer, "tok" repeated to 100,000 bytes (Adler-32 3824806786). */
	static char pad[10000 + 64], body[100000];
	strcpy(pad, "X-Kit-Echo: kit\nX-Kit-Pad: ");
	size_t at = strlen(pad);
	memset(pad + at, 'p', 10000);
	strcpy(pad + at + 10000, "\n");
	for (size_t i = 0; i < sizeof body; i++)
		body[i] = "tok"[i % 3];
	bubble_stub_http_response("http://127.0.0.1:9/up?tok", 203, pad, body, sizeof body);
	start("kit /http", "/http");
	bubble_stub_setenv("QUERY_STRING", "http://127.0.0.1:9/up?tok");
	CHECK(bubble_stub_serve() == 0);
	CHECK(body_is("http 203 kit 100000 3824806786 denied"));
	CHECK(bubble_stub_http_open() == 0);

	/* Without the grants every case reports what the SDK said. */
	bubble_stub_ext_reset();
	start("kit /pubsub, nothing granted", "/pubsub");
	CHECK(bubble_stub_serve() == 0);
	CHECK(body_is("pubsub subscribe denied"));
	start("kit /dial, nothing granted", "/dial");
	bubble_stub_setenv("QUERY_STRING", "ping");
	CHECK(bubble_stub_serve() == 0);
	CHECK(body_is("dial call denied"));
}

static void test_pubsub(void) {
	char id[BUBBLE_MAX_SUBSCRIPTION_ID + 1], small[8];
	char *msg = NULL;
	size_t len = 99;
	grant_kit();
	start("pubsub", NULL);
	CHECK(bubble_publish("other", "x", 1) == BUBBLE_ERR_DENIED);
	CHECK(bubble_subscribe("other", id) == BUBBLE_ERR_DENIED && id[0] == 0);
	const char *bad[] = {"", "kit..a", "kit.", ".kit", "kit a", "kit.*", "kit\\x"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(bubble_publish(bad[i], "x", 1) == BUBBLE_ERR_INVALID);
	CHECK(bubble_publish("kit", "x", 1) == 0); /* granted (kit.* covers kit), nobody listens */

	int n = bubble_subscribe("kit.a", id);
	CHECK(n > 0 && (size_t)n == strlen(id) && n <= BUBBLE_MAX_SUBSCRIPTION_ID);
	CHECK(bubble_fetch(id, 10, &msg, &len) == BUBBLE_ERR_TIMEOUT && msg == NULL && len == 0);

	/* A message longer than the first buffer comes whole, in order. */
	size_t big_len = 3000;
	char *big = malloc(big_len);
	for (size_t i = 0; i < big_len; i++)
		big[i] = (char)('a' + i % 26);
	CHECK(bubble_publish("kit.a", big, big_len) == 1);
	CHECK(bubble_publish("kit.a", "second", 6) == 1);
	CHECK(bubble_fetch_buf(id, 0, small, sizeof small) == 3000 && bubble_stub_queued(id) == 2); /* stays */
	CHECK(bubble_fetch(id, 0, &msg, &len) == 0 && len == big_len && memcmp(msg, big, big_len) == 0 && msg[len] == 0);
	free(msg);
	CHECK(bubble_fetch_buf(id, 0, small, sizeof small) == 6 && memcmp(small, "second", 6) == 0);
	CHECK(bubble_stub_queued(id) == 0);
	free(big);

	char *huge = calloc(64 << 10 | 1, 1);
	CHECK(bubble_publish("kit.a", huge, 64 << 10 | 1) == BUBBLE_ERR_TOO_LARGE);
	free(huge);

	CHECK(bubble_unsubscribe(id) == 0);
	CHECK(bubble_unsubscribe(id) == BUBBLE_ERR_NOT_FOUND);
	CHECK(bubble_fetch(id, 0, &msg, &len) == BUBBLE_ERR_NOT_FOUND && msg == NULL);
	CHECK(bubble_fetch("never-issued", 0, &msg, &len) == BUBBLE_ERR_NOT_FOUND);
}

static void test_signals(void) {
	char buf[4];
	size_t len;
	grant_kit();
	start("signals", NULL);
	CHECK(bubble_signal_wait("kit.s", 1, buf, sizeof buf) == BUBBLE_ERR_TIMEOUT);
	bubble_stub_signal("kit.s", "0123456789", 10);
	CHECK(bubble_signal_wait("kit.s", 1, buf, sizeof buf) == 10 && memcmp(buf, "0123", 4) == 0); /* cut */
	CHECK(bubble_signal_wait("kit.s", 1, buf, sizeof buf) == BUBBLE_ERR_TIMEOUT);                /* one-shot */
	CHECK(bubble_signal_send("kit.s", "pay", 3) == 0);
	const char *sent = bubble_stub_sent("kit.s", &len);
	CHECK(sent && len == 3 && memcmp(sent, "pay", 3) == 0);
	CHECK(bubble_signal_send("room", "x", 1) == BUBBLE_ERR_DENIED);
	CHECK(bubble_signal_wait("room", 1, buf, sizeof buf) == BUBBLE_ERR_DENIED);
	CHECK(bubble_signal_send("kit..x", "x", 1) == BUBBLE_ERR_INVALID);
}

static void test_kv(void) {
	char *v = NULL, buf[8] = "unset";
	size_t len;
	grant_kit();
	start("kv", NULL);
	size_t big_len = 5000;
	char *big = malloc(big_len);
	memset(big, 'v', big_len);
	CHECK(bubble_kv_set("k", big, big_len, 1000) == 0);
	CHECK(bubble_kv_get_buf("k", buf, sizeof buf) == 5000 && strcmp(buf, "unset") == 0); /* not copied */
	CHECK(bubble_kv_get("k", &v, &len) == 0 && len == big_len && memcmp(v, big, big_len) == 0);
	free(v);
	free(big);
	CHECK(bubble_kv_set("k", "", 0, -5) == 0); /* an empty value exists */
	CHECK(bubble_kv_get("k", &v, &len) == 0 && len == 0 && v && v[0] == 0);
	free(v);
	CHECK(bubble_kv_delete("k") == 0 && bubble_kv_delete("k") == 0);
	CHECK(bubble_kv_get("k", &v, &len) == BUBBLE_ERR_NOT_FOUND && v == NULL && len == 0);

	char key[258];
	memset(key, 'a', 257);
	key[257] = 0;
	CHECK(bubble_kv_set(key, "v", 1, 0) == BUBBLE_ERR_TOO_LARGE);
	CHECK(bubble_kv_get(key, &v, &len) == BUBBLE_ERR_NOT_FOUND);
	CHECK(bubble_kv_delete(key) == 0);
	key[256] = 0; /* 256 bytes: the longest key */
	CHECK(bubble_kv_set(key, "v", 1, 0) == 0 && bubble_kv_get_buf(key, buf, sizeof buf) == 1);

	bubble_stub_ext_reset(); /* no kv grant */
	CHECK(bubble_kv_get("k", &v, &len) == BUBBLE_ERR_DENIED);
	CHECK(bubble_kv_set("k", "v", 1, 0) == BUBBLE_ERR_DENIED);
	CHECK(bubble_kv_delete("k") == BUBBLE_ERR_DENIED);
}

static void test_dial(void) {
	char *reply = NULL, buf[8];
	size_t len;
	grant_kit();
	start("dial", NULL);
	CHECK(bubble_call_status() == BUBBLE_ERR_NOT_FOUND && bubble_call_reply(buf, sizeof buf) == BUBBLE_ERR_NOT_FOUND);
	CHECK(bubble_call("echo", "hi", 2, 0, &reply, &len) == 0 && len == 3 && strcmp(reply, "hi\n") == 0);
	free(reply);
	CHECK(bubble_call_status() == 0);
	CHECK(bubble_call("echo", "a\nb", 3, 0, &reply, &len) == BUBBLE_ERR_INVALID && reply == NULL);
	CHECK(bubble_call_status() == BUBBLE_ERR_NOT_FOUND); /* the last call failed */

	/* A reply longer than the first buffer: the SDK asks for it again. */
	char *long_reply = malloc(1001);
	memset(long_reply, 'r', 1000);
	long_reply[1000] = 0;
	bubble_stub_dial_target("amqp", long_reply, 201);
	CHECK(bubble_call("amqp", "x", 1, 0, &reply, &len) == 0 && len == 1000 && strcmp(reply, long_reply) == 0);
	free(reply);
	CHECK(bubble_call_status() == 201);
	CHECK(bubble_call_buf("amqp", "x", 1, 0, buf, sizeof buf) == 1000);
	char *again = malloc(1000);
	CHECK(bubble_call_reply(again, 1000) == 1000 && memcmp(again, long_reply, 1000) == 0);
	free(again);
	free(long_reply);

	CHECK(bubble_call("nope", "x", 1, 0, &reply, &len) == BUBBLE_ERR_DENIED && reply == NULL);
	char target[70];
	memset(target, 'e', 69);
	target[69] = 0;
	CHECK(bubble_call_buf(target, "x", 1, 0, buf, sizeof buf) == BUBBLE_ERR_DENIED);
}

static void test_http(void) {
	const char *url = "https://api.example.com/v1";
	const char *headers = "Content-Type: text/plain\nX-Multi: a\nX-Multi: b\n";
	size_t body_len = 10000;
	char *body = malloc(body_len);
	for (size_t i = 0; i < body_len; i++)
		body[i] = (char)i;
	bubble_stub_ext_reset();
	bubble_stub_http_response(url, 201, headers, body, body_len);
	start("http", NULL);

	int h = bubble_http_request("POST", url, "Accept: */*\nX-Req: 1\n", "hi", 2, 0);
	CHECK(h > 0);
	const char *got_url, *got_headers, *got_body;
	size_t got_len;
	const char *method = bubble_stub_http_last(&got_url, &got_headers, &got_body, &got_len);
	CHECK(method && strcmp(method, "POST") == 0 && strcmp(got_url, url) == 0);
	CHECK(strcmp(got_headers, "Accept: */*\nX-Req: 1\n") == 0 && got_len == 2 && memcmp(got_body, "hi", 2) == 0);
	CHECK(bubble_http_status(h) == 201);

	char *all = NULL;
	size_t len;
	CHECK(bubble_http_headers(h, &all, &len) == 0 && len == strlen(headers) && strcmp(all, headers) == 0);
	free(all);
	char value[16];
	CHECK(bubble_http_header(h, "content-type", value, sizeof value) == 10 && strcmp(value, "text/plain") == 0);
	CHECK(bubble_http_header(h, "X-Multi", value, sizeof value) == 1 && strcmp(value, "a") == 0); /* the first */
	CHECK(bubble_http_header(h, "Content-Type", value, 10) == 10 && value[0] == 0);              /* no room for the NUL */
	CHECK(bubble_http_header(h, "Content", value, sizeof value) == BUBBLE_ERR_NOT_FOUND);

	char *read = malloc(body_len), chunk[4096];
	size_t total = 0;
	int n;
	while ((n = bubble_http_read(h, chunk, sizeof chunk)) > 0 && total + (size_t)n <= body_len) {
		memcpy(read + total, chunk, (size_t)n);
		total += (size_t)n;
	}
	CHECK(n == 0 && total == body_len && memcmp(read, body, body_len) == 0);
	CHECK(bubble_http_read(h, chunk, sizeof chunk) == 0); /* the end stays the end */
	CHECK(bubble_http_read(h, chunk, 0) == BUBBLE_ERR_INVALID);
	free(read);
	CHECK(bubble_stub_http_open() == 1);
	CHECK(bubble_http_close(h) == 0 && bubble_stub_http_open() == 0);
	CHECK(bubble_http_close(h) == BUBBLE_ERR_NOT_FOUND);
	CHECK(bubble_http_status(h) == BUBBLE_ERR_NOT_FOUND);
	CHECK(bubble_http_read(h, chunk, sizeof chunk) == BUBBLE_ERR_NOT_FOUND);
	CHECK(bubble_http_headers(h, &all, &len) == BUBBLE_ERR_NOT_FOUND && all == NULL);

	current = "http errors";
	CHECK(bubble_http_request("GET", "https://other.example.com/", NULL, NULL, 0, 0) == BUBBLE_ERR_DENIED);
	CHECK(bubble_http_request("BAD METHOD", url, NULL, NULL, 0, 0) == BUBBLE_ERR_INVALID);
	CHECK(bubble_http_request("", url, NULL, NULL, 0, 0) == BUBBLE_ERR_INVALID);
	const char *bad[] = {"Host: x\n", "content-length: 3\n", "Connection: close\n", "Transfer-Encoding: chunked\n",
			     "NoColon\n", "X-A: 1", "X-A: 1\r\n", "Bad Name: 1\n", "X-A:1\n"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(bubble_http_request("GET", url, bad[i], NULL, 0, 0) == BUBBLE_ERR_INVALID);
	int open[8];
	for (int i = 0; i < 8; i++) {
		open[i] = bubble_http_request("GET", url, NULL, NULL, 0, 1000);
		CHECK(open[i] > 0);
	}
	CHECK(bubble_http_request("GET", url, NULL, NULL, 0, 0) == BUBBLE_ERR_FULL);
	for (int i = 0; i < 8; i++)
		CHECK(bubble_http_close(open[i]) == 0);
	bubble_stub_http_response("http://127.0.0.1:9000/slow", BUBBLE_ERR_TIMEOUT, NULL, NULL, 0);
	CHECK(bubble_http_request("GET", "http://127.0.0.1:9000/slow", NULL, NULL, 0, 5) == BUBBLE_ERR_TIMEOUT);
	bubble_stub_http_response("http://127.0.0.1:9000/odd", -42, NULL, NULL, 0);
	CHECK(bubble_http_request("GET", "http://127.0.0.1:9000/odd", NULL, NULL, 0, 0) == BUBBLE_ERR_IO); /* unknown code */
	free(body);
}

void test_ext(void) {
	test_kit_cases();
	test_pubsub();
	test_signals();
	test_kv();
	test_dial();
	test_http();
}
