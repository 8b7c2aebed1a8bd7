/*
 * hello_test.c: native test of hello.c against the SDK's fake host:
 *
 *   cc -I guest-sdk/c -o /tmp/hello_test modules/hello-c/hello_test.c \
 *     modules/hello-c/hello.c guest-sdk/c/bubble.c guest-sdk/c/bubble_stub.c && /tmp/hello_test
 */
#include <stdio.h>
#include <string.h>

#include "bubble.h"
#include "bubble_stub.h"

int main(void) {
	static const struct {
		const char *query, *want;
	} cases[] = {
	    {NULL, "Hello, world!\n"},
	    {"", "Hello, world!\n"},
	    {"name=Ann", "Hello, Ann!\n"},
	    {"x=1&name=J%C3%BCrgen+M&name=2", "Hello, J\xc3\xbcrgen M!\n"},
	    {"na%6De=%41%zz%4", "Hello, A%zz%4!\n"},
	    {"name", "Hello, world!\n"},
	    {"name=", "Hello, world!\n"},
	};
	int failed = 0;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		bubble_stub_reset();
		if (cases[i].query)
			bubble_stub_setenv("QUERY_STRING", cases[i].query);
		int rc = bubble_stub_serve();
		const char *ct = bubble_stub_header("Content-Type", 0);
		if (rc != 0 || strcmp(bubble_stub_body(NULL), cases[i].want) != 0 || !ct ||
		    strcmp(ct, "text/plain; charset=utf-8") != 0) {
			fprintf(stderr, "query %s: rc %d body %s", cases[i].query ? cases[i].query : "(absent)",
			        rc, bubble_stub_body(NULL));
			failed = 1;
		}
	}
	bubble_stub_reset();
	if (!failed)
		printf("ok: hello-c\n");
	return failed;
}
