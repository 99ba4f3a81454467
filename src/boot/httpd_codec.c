/*
 * httpd_codec.c — pure helpers of the HTTP server: request head parsing,
 * Range, path sanitising, the proxied head, upstream lists, MIME types.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bytes.h"
#include "httpd_codec.h"
#include "xmalloc.h"

void
httpd_head_clear(struct httpd_head *hd)
{
	size_t i;

	free(hd->method);
	free(hd->target);
	for (i = 0; i < hd->nh; i++) {
		free(hd->h[i].name);
		free(hd->h[i].value);
	}
	free(hd->h);
	memset(hd, 0, sizeof *hd);
}

static int
is_tchar(int c)
{
	return isalnum(c) || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static char *
trim_dup(const char *s, size_t n)
{
	while (n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return xstrndup(s, n);
}

int
httpd_head_parse(const char *buf, size_t len, struct httpd_head *hd,
    char **cause)
{
	const char *p = buf, *end = buf + len, *eol, *sp1, *sp2, *colon;
	size_t ll, i;

	memset(hd, 0, sizeof *hd);
	if (memchr(buf, '\0', len) != NULL) {
		xasprintf(cause, "NUL byte in the request head");
		return -1;
	}
	/* Request line. */
	eol = memchr(p, '\n', (size_t)(end - p));
	ll = (size_t)((eol ? eol : end) - p);
	if (ll > 0 && p[ll - 1] == '\r')
		ll--;
	sp1 = memchr(p, ' ', ll);
	sp2 = sp1 ? memchr(sp1 + 1, ' ', ll - (size_t)(sp1 + 1 - p)) : NULL;
	if (sp1 == NULL || sp2 == NULL || sp1 == p || sp2 == sp1 + 1) {
		xasprintf(cause, "malformed request line");
		return -1;
	}
	for (i = 0; p + i < sp1; i++)
		if (!is_tchar((unsigned char)p[i])) {
			xasprintf(cause, "malformed method");
			return -1;
		}
	if ((size_t)(p + ll - (sp2 + 1)) != 8 ||
	    strncmp(sp2 + 1, "HTTP/1.", 7) != 0 ||
	    !isdigit((unsigned char)sp2[8])) {
		xasprintf(cause, "not an HTTP/1.x request line");
		return -1;
	}
	hd->method = xstrndup(p, (size_t)(sp1 - p));
	hd->target = xstrndup(sp1 + 1, (size_t)(sp2 - sp1 - 1));
	for (i = 0; hd->target[i] != '\0'; i++)
		if ((unsigned char)hd->target[i] <= ' ' ||
		    hd->target[i] == 0x7f) {
			xasprintf(cause, "space or control character in the "
			    "request target");
			goto fail;
		}
	hd->minor = sp2[8] - '0';
	p = eol ? eol + 1 : end;

	while (p < end) {
		eol = memchr(p, '\n', (size_t)(end - p));
		ll = (size_t)((eol ? eol : end) - p);
		if (ll > 0 && p[ll - 1] == '\r')
			ll--;
		if (ll == 0)
			break;
		if (*p == ' ' || *p == '\t') {
			xasprintf(cause, "obsolete header line folding");
			goto fail;
		}
		colon = memchr(p, ':', ll);
		if (colon == NULL || colon == p) {
			xasprintf(cause, "header line without a name");
			goto fail;
		}
		for (i = 0; p + i < colon; i++)
			if (!is_tchar((unsigned char)p[i])) {
				xasprintf(cause, "malformed header name");
				goto fail;
			}
		if (hd->nh == HTTPD_HEADERS_MAX) {
			xasprintf(cause, "more than %d headers",
			    HTTPD_HEADERS_MAX);
			goto fail;
		}
		hd->h = xreallocarray(hd->h, hd->nh + 1, sizeof *hd->h);
		hd->h[hd->nh].name = xstrndup(p, (size_t)(colon - p));
		hd->h[hd->nh].value = trim_dup(colon + 1,
		    ll - (size_t)(colon + 1 - p));
		hd->nh++;
		/* A bare CR (or any control but HTAB) would be a line break
		 * in the head we send a region: header injection. */
		for (i = 0; hd->h[hd->nh - 1].value[i] != '\0'; i++) {
			unsigned char ch = (unsigned char)hd->h[hd->nh - 1].value[i];

			if ((ch < ' ' && ch != '\t') || ch == 0x7f) {
				xasprintf(cause, "control character in header "
				    "%s", hd->h[hd->nh - 1].name);
				goto fail;
			}
		}
		p = eol ? eol + 1 : end;
	}
	return 0;
fail:
	httpd_head_clear(hd);
	return -1;
}

const char *
httpd_head_get(const struct httpd_head *hd, const char *name)
{
	size_t i;

	for (i = 0; i < hd->nh; i++)
		if (strcasecmp(hd->h[i].name, name) == 0)
			return hd->h[i].value;
	return NULL;
}

/* Digits only, no overflow; -1 otherwise. */
static int
parse_u64(const char *s, size_t n, uint64_t *v)
{
	uint64_t x = 0;
	size_t i;

	if (n == 0 || n > 19)
		return -1;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	*v = x;
	return 0;
}

enum httpd_range
httpd_range_parse(const char *value, uint64_t size, uint64_t *first,
    uint64_t *last)
{
	const char *p, *dash;
	uint64_t a, b;
	size_t n;

	if (value == NULL || strncasecmp(value, "bytes=", 6) != 0)
		return HTTPD_RANGE_NONE;
	p = value + 6;
	while (*p == ' ')
		p++;
	n = strlen(p);
	while (n > 0 && p[n - 1] == ' ')
		n--;
	if (memchr(p, ',', n) != NULL)		/* several ranges: send all */
		return HTTPD_RANGE_NONE;
	if ((dash = memchr(p, '-', n)) == NULL)
		return HTTPD_RANGE_NONE;
	if (dash == p) {			/* suffix: the last b bytes */
		if (parse_u64(dash + 1, n - 1, &b) == -1)
			return HTTPD_RANGE_NONE;
		if (b == 0 || size == 0)
			return HTTPD_RANGE_UNSAT;
		*first = b >= size ? 0 : size - b;
		*last = size - 1;
		return HTTPD_RANGE_OK;
	}
	if (parse_u64(p, (size_t)(dash - p), &a) == -1)
		return HTTPD_RANGE_NONE;
	if ((size_t)(dash + 1 - p) == n)
		b = UINT64_MAX;
	else if (parse_u64(dash + 1, n - (size_t)(dash + 1 - p), &b) == -1 ||
	    b < a)
		return HTTPD_RANGE_NONE;
	if (a >= size)
		return HTTPD_RANGE_UNSAT;
	*first = a;
	*last = b >= size ? size - 1 : b;
	return HTTPD_RANGE_OK;
}

int
httpd_path_sanitise(const char *target, char *out, size_t cap)
{
	char *dec, *seg, *save = NULL;
	size_t n = 0, o = 0, len;
	int hi, lo, rc = 0;

	if (target[0] != '/' || cap == 0)
		return 400;
	len = strcspn(target, "?#");
	dec = xmalloc(len + 1);
	for (size_t i = 0; i < len; i++) {
		if (target[i] == '%') {
			if (i + 2 >= len) {
				free(dec);
				return 400;
			}
			if ((hi = bytes_hexval((unsigned char)target[i + 1])) < 0 ||
			    (lo = bytes_hexval((unsigned char)target[i + 2])) < 0 ||
			    (hi == 0 && lo == 0)) {
				free(dec);
				return 400;
			}
			dec[n++] = (char)(hi * 16 + lo);
			i += 2;
		} else
			dec[n++] = target[i];
	}
	dec[n] = '\0';
	out[0] = '\0';
	for (seg = strtok_r(dec, "/", &save); seg != NULL;
	    seg = strtok_r(NULL, "/", &save)) {
		size_t sl = strlen(seg);

		if (strcmp(seg, ".") == 0)
			continue;
		if (strcmp(seg, "..") == 0) {
			rc = 403;
			break;
		}
		if (o + (o > 0) + sl + 1 > cap) {
			rc = 400;
			break;
		}
		if (o > 0)
			out[o++] = '/';
		memcpy(out + o, seg, sl);
		o += sl;
		out[o] = '\0';
	}
	free(dec);
	if (rc != 0)
		out[0] = '\0';
	return rc;
}

/* Hop-by-hop, or set by the proxy itself: never copied from the client. */
static int
proxy_drops(const char *name, const char *connection)
{
	static const char *const fixed[] = {
		"Connection", "Keep-Alive", "Proxy-Connection", "TE",
		"Trailer", "Transfer-Encoding", "Upgrade", "Host",
		"X-Real-IP", "X-Forwarded-Host", "X-Forwarded-Server",
		"X-Forwarded-Proto", "X-Forwarded-For",
		/* Answered by the proxy itself (the region hears HTTP/1.0). */
		"Expect",
	};
	const char *p, *q;
	size_t i, nl = strlen(name);

	for (i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		if (strcasecmp(name, fixed[i]) == 0)
			return 1;
	/* Connection: a, b — the headers it names are hop-by-hop too. */
	for (p = connection; p != NULL && *p != '\0'; p = q) {
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		q = p + strcspn(p, ",");
		i = (size_t)(q - p);
		while (i > 0 && (p[i - 1] == ' ' || p[i - 1] == '\t'))
			i--;
		if (i == nl && i > 0 && strncasecmp(p, name, nl) == 0)
			return 1;
	}
	return 0;
}

char *
httpd_proxy_head(const struct httpd_head *hd, const char *remote_ip)
{
	const char *host = httpd_head_get(hd, "Host");
	const char *xff = httpd_head_get(hd, "X-Forwarded-For");
	const char *conn = httpd_head_get(hd, "Connection");
	struct bytes b;
	char *line, *server;
	size_t i, n;
	uint8_t *p;

	bytes_init(&b);
	xasprintf(&line, "%s %s HTTP/1.0\r\n", hd->method, hd->target);
	bytes_add_str(&b, line);
	free(line);
	/* nginx: a header whose value is empty is not sent. */
	if (host != NULL && host[0] != '\0') {
		xasprintf(&line, "Host: %s\r\n", host);
		bytes_add_str(&b, line);
		free(line);
	}
	xasprintf(&line, "X-Real-IP: %s\r\n", remote_ip);
	bytes_add_str(&b, line);
	free(line);
	if (host != NULL && host[0] != '\0') {
		xasprintf(&line, "X-Forwarded-Host: %s\r\n", host);
		bytes_add_str(&b, line);
		free(line);
		/* $host: lower case, without the port. */
		if (host[0] == '[')
			n = strcspn(host, "]") + (strchr(host, ']') != NULL);
		else
			n = strcspn(host, ":");
		server = xstrndup(host, n);
		for (i = 0; server[i] != '\0'; i++)
			server[i] = (char)tolower((unsigned char)server[i]);
		xasprintf(&line, "X-Forwarded-Server: %s\r\n", server);
		bytes_add_str(&b, line);
		free(line);
		free(server);
	}
	bytes_add_str(&b, "X-Forwarded-Proto: http\r\n");
	if (xff != NULL && xff[0] != '\0')
		xasprintf(&line, "X-Forwarded-For: %s, %s\r\n", xff, remote_ip);
	else
		xasprintf(&line, "X-Forwarded-For: %s\r\n", remote_ip);
	bytes_add_str(&b, line);
	free(line);
	bytes_add_str(&b, "Connection: close\r\n");
	for (i = 0; i < hd->nh; i++) {
		if (proxy_drops(hd->h[i].name, conn))
			continue;
		xasprintf(&line, "%s: %s\r\n", hd->h[i].name, hd->h[i].value);
		bytes_add_str(&b, line);
		free(line);
	}
	bytes_add_str(&b, "\r\n");
	bytes_add_u8(&b, 0);
	p = bytes_steal(&b, &n);
	return (char *)p;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t
httpd_upstreams(const char *const *hosts, size_t n, int port, char ***out)
{
	char **v = xcalloc(n + 1, sizeof *v), *s;
	size_t i, j, m = 0;
	const char *h;

	for (i = 0; i < n; i++) {
		h = hosts[i];
		if (strncasecmp(h, "::ffff:", 7) == 0 && strchr(h + 7, '.'))
			h += 7;
		if (strchr(h, ':') != NULL && h[0] != '[')
			xasprintf(&s, "[%s]:%d", h, port);
		else
			xasprintf(&s, "%s:%d", h, port);
		for (j = 0; j < m; j++)
			if (strcmp(v[j], s) == 0)
				break;
		if (j < m) {
			free(s);
			continue;
		}
		v[m++] = s;
	}
	qsort(v, m, sizeof *v, cmp_str);
	v[m] = NULL;
	*out = v;
	return m;
}

static int
penalised(const char *u, const struct httpd_penalty *pen, size_t npen,
    uint64_t now_ms)
{
	size_t i;

	for (i = 0; i < npen; i++)
		if (strcmp(pen[i].upstream, u) == 0 && pen[i].until_ms > now_ms)
			return 1;
	return 0;
}

void
httpd_upstreams_order(char **ups, size_t n, unsigned rr,
    const struct httpd_penalty *pen, size_t npen, uint64_t now_ms)
{
	char **tmp;
	size_t i, k = 0, start;

	if (n < 2 && npen == 0)
		return;
	if (n == 0)
		return;
	tmp = xcalloc(n, sizeof *tmp);
	start = rr % n;
	for (i = 0; i < n; i++) {
		char *u = ups[(start + i) % n];

		if (!penalised(u, pen, npen, now_ms))
			tmp[k++] = u;
	}
	for (i = 0; i < n; i++) {
		char *u = ups[(start + i) % n];

		if (penalised(u, pen, npen, now_ms))
			tmp[k++] = u;
	}
	memcpy(ups, tmp, n * sizeof *ups);
	free(tmp);
}

char *
httpd_url_hostport(const char *url)
{
	const char *p, *e;
	size_t n;
	char *s;

	if (strncasecmp(url, "http://", 7) != 0)
		return NULL;
	p = url + 7;
	n = strcspn(p, "/?#");
	e = p + n;
	if (memchr(p, '@', n) != NULL)
		p = (const char *)memchr(p, '@', n) + 1;
	if (p == e)
		return NULL;
	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(e - p));

		if (rb == NULL)
			return NULL;
		if (rb + 1 == e)
			xasprintf(&s, "%.*s:80", (int)(e - p), p);
		else if (rb[1] == ':')
			s = xstrndup(p, (size_t)(e - p));
		else
			return NULL;
		return s;
	}
	if (memchr(p, ':', (size_t)(e - p)) != NULL)
		return xstrndup(p, (size_t)(e - p));
	xasprintf(&s, "%.*s:80", (int)(e - p), p);
	return s;
}

const char *
httpd_mime_type(const char *path)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{ "html", "text/html" }, { "htm", "text/html" },
		{ "txt", "text/plain" }, { "css", "text/css" },
		{ "json", "application/json" }, { "xml", "text/xml" },
		{ "js", "application/javascript" }, { "gz", "application/gzip" },
		{ "iso", "application/octet-stream" },
		{ "png", "image/png" }, { "jpg", "image/jpeg" },
	};
	const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
	size_t i;

	if (dot != NULL && (slash == NULL || dot > slash))
		for (i = 0; i < sizeof types / sizeof types[0]; i++)
			if (strcasecmp(dot + 1, types[i].ext) == 0)
				return types[i].type;
	return "application/octet-stream";
}

void
httpd_http_date(time_t t, char *buf, size_t cap)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, cap, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

const char *
httpd_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 206: return "Partial Content";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 411: return "Length Required";
	case 413: return "Payload Too Large";
	case 416: return "Range Not Satisfiable";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Unknown";
	}
}
