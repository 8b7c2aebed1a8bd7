/*
 * check.h: what the C SDK's native tests share (kit_test.c defines it).
 */
#ifndef CHECK_H
#define CHECK_H

#include <stdio.h>

extern int failures;        /* checks failed so far */
extern const char *current; /* the test running, for messages */

#define CHECK(cond)                                                              \
	do {                                                                     \
		if (!(cond)) {                                                   \
			fprintf(stderr, "%s:%d: %s: check failed: %s\n", __FILE__,  \
			        __LINE__, current, #cond);                       \
			failures++;                                              \
		}                                                                \
	} while (0)

/* start resets the fake host (not its extensions) for a kit case: method
   GET, and PATH_INFO path unless it is NULL. */
void start(const char *name, const char *path);

/* body_is reports whether the output is exactly want. */
int body_is(const char *want);

/* test_ext runs ext_test.c's tests. */
void test_ext(void);

#endif
