// FUZZ_SRCS: src/boot/httpd_codec.c src/core/bytes.c src/core/xmalloc.c src/core/log.c
/*
 * fuzz_httpd.c — libFuzzer target for the HTTP server's pure codec
 * (httpd_codec.h).
 *
 * The input is a request head.  Invariants: a parsed head has a method of
 * token characters, a target without spaces and no header name empty;
 * the proxied head ends in one blank line, starts with the method and
 * target, holds exactly one X-Forwarded-For and one Connection: close,
 * and no line break inside any line (no header injection); the target's
 * sanitised path never holds a ".." segment nor a leading '/'; a
 * satisfiable Range lies within the file.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "httpd_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static size_t
count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct httpd_head hd;
	char *cause = NULL, *out, path[256];
	const char *seg;
	uint64_t first, last, fsize = 1000;
	size_t i;

	if (httpd_head_parse((const char *)data, size, &hd, &cause) == -1) {
		if (cause == NULL)
			abort();
		free(cause);
		return 0;
	}
	if (hd.method[0] == '\0' || strchr(hd.target, ' ') != NULL)
		abort();
	for (i = 0; i < hd.nh; i++)
		if (hd.h[i].name[0] == '\0' || strpbrk(hd.h[i].value, "\r\n"))
			abort();
	out = httpd_proxy_head(&hd, "10.0.0.1");
	if (strncmp(out, hd.method, strlen(hd.method)) != 0 ||
	    count(out, "\r\n\r\n") != 1 ||
	    strcmp(out + strlen(out) - 4, "\r\n\r\n") != 0 ||
	    count(out, "\nX-Forwarded-For: ") != 1 ||
	    count(out, "\nConnection: close\r\n") != 1 ||
	    count(out, "\n") != count(out, "\r\n"))
		abort();
	free(out);
	if (httpd_path_sanitise(hd.target, path, sizeof path) == 0) {
		if (path[0] == '/')
			abort();
		for (seg = path; seg != NULL; seg = strchr(seg, '/')) {
			if (*seg == '/')
				seg++;
			if (strncmp(seg, "..", 2) == 0 &&
			    (seg[2] == '/' || seg[2] == '\0'))
				abort();
		}
	}
	if (httpd_range_parse(httpd_head_get(&hd, "Range"), fsize, &first,
	    &last) == HTTPD_RANGE_OK && (first > last || last >= fsize))
		abort();
	httpd_head_clear(&hd);
	return 0;
}
