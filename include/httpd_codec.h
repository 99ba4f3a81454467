/*
 * httpd_codec.h — the pure parts of rackd's HTTP server (httpd.h): the
 * request head, Range, URL paths under a root, the head a /MAAS/ request
 * is proxied with, and the region upstream list.  No I/O, no globals.
 */
#ifndef HTTPD_CODEC_H
#define HTTPD_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define HTTPD_HEAD_MAX		(32 * 1024)	/* request head, CRLFCRLF included */
#define HTTPD_HEADERS_MAX	100

struct httpd_header {
	char	*name;
	char	*value;
};

/* A parsed request head; strings owned by the struct. */
struct httpd_head {
	char			*method;
	char			*target;	/* as sent: "/images/x?y" */
	int			 minor;		/* HTTP/1.<minor> */
	struct httpd_header	*h;
	size_t			 nh;
};

/*
 * Parse a request head (request line and header lines, each ending in
 * CRLF or LF, without the blank line).  0, or -1 with *cause (caller
 * frees) naming what was wrong; head is then cleared.
 */
int	httpd_head_parse(const char *buf, size_t len, struct httpd_head *,
	    char **cause);
void	httpd_head_clear(struct httpd_head *);
/* The first header named name (case-insensitive), or NULL. */
const char *httpd_head_get(const struct httpd_head *, const char *name);

/* Range header against a file of size bytes (single range only). */
enum httpd_range {
	HTTPD_RANGE_NONE,	/* absent, malformed or several: send all (200) */
	HTTPD_RANGE_OK,		/* *first..*last inclusive (206) */
	HTTPD_RANGE_UNSAT,	/* 416 */
};
enum httpd_range httpd_range_parse(const char *value, uint64_t size,
	    uint64_t *first, uint64_t *last);

/*
 * Turn a request target's path into a path relative to a root: the query
 * is dropped, %XX decoded, empty and "." segments removed.  Returns 0
 * (out may be "" for the root itself), 400 for a malformed target (bad
 * escape, NUL, not starting with '/'), 403 for a ".." segment.
 */
int	httpd_path_sanitise(const char *target, char *out, size_t cap);

/*
 * The head to send to a region for a proxied request, as MAAS's nginx
 * site does (maas-rack-boot.md §3.1): HTTP/1.0 with Connection: close;
 * Host and X-Forwarded-Host = the client's Host, X-Forwarded-Server =
 * that host without port, X-Real-IP = remote_ip, X-Forwarded-Proto =
 * http, X-Forwarded-For = the client's X-Forwarded-For + ", " +
 * remote_ip; hop-by-hop headers (Connection and the ones it names,
 * Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade,
 * and Expect, which the proxy answers itself)
 * dropped; the rest kept in order.  Returns the malloc'd head ending in
 * the blank line.
 */
char	*httpd_proxy_head(const struct httpd_head *, const char *remote_ip);

/*
 * Region upstreams: "host:port" for each distinct peer host (IPv4-mapped
 * IPv6 unwrapped, IPv6 bracketed), sorted, as MAAS's RackHTTPService
 * writes its nginx upstream.  Returns the count; *out (caller frees each
 * and the array) is NULL-terminated.
 */
size_t	httpd_upstreams(const char *const *hosts, size_t n, int port,
	    char ***out);
/* An upstream that failed recently: tried last until until_ms. */
struct httpd_penalty {
	char		*upstream;
	uint64_t	 until_ms;
};

/*
 * Order ups[0..n) for one request: rotated to start at rr % n (requests
 * spread over the regions, as nginx's round robin), then the ones
 * penalised at now_ms moved to the end, keeping their order.
 */
void	httpd_upstreams_order(char **ups, size_t n, unsigned rr,
	    const struct httpd_penalty *pen, size_t npen, uint64_t now_ms);

/* "host:port" of an http:// URL (default port 80), or NULL. */
char	*httpd_url_hostport(const char *url);

/* Content-Type for a file name (nginx's mime.types subset; else
 * application/octet-stream). */
const char *httpd_mime_type(const char *path);
/* RFC 7231 IMF-fixdate into buf (>= 30 bytes). */
void	httpd_http_date(time_t, char *buf, size_t cap);
/* Reason phrase of a status code. */
const char *httpd_reason(int status);

#endif
