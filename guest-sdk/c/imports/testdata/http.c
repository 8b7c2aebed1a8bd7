/* http.c: a handler that uses outbound HTTP only (imports_test.go). */
#include <stdlib.h>

#include "bubble.h"
#include "bubble_ext.h"

static int fetch(void) {
	int h = bubble_http_request("GET", "https://api.example.com/", NULL, NULL, 0, 0);
	if (h < 0)
		return h;
	char buf[512], *headers;
	size_t len;
	int n, rc = bubble_http_headers(h, &headers, &len);
	if (rc == 0) {
		free(headers);
	}
	if ((rc = bubble_set_status(bubble_http_status(h))) < 0)
		return rc;
	while ((n = bubble_http_read(h, buf, sizeof buf)) > 0)
		if ((rc = bubble_write(buf, (size_t)n)) < 0)
			return rc;
	bubble_http_close(h);
	return n;
}
BUBBLE_HANDLER(fetch)
