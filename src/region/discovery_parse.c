/*
 * discovery_parse.c — the pure half of region discovery: turning a
 * maas_url into its /rpc/ URL and Host header, and parsing the
 * {"eventloops": {...}} document the region serves there (spec §2.1-2.3).
 *
 * No event loop, no sockets: the fuzzer links this file on its own.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "discovery.h"
#include "xmalloc.h"

/* The pieces of a URL we care about, as offsets into the original. */
struct url_parts {
	size_t	 scheme_len;	/* "http" */
	size_t	 auth_off;	/* after "://" */
	size_t	 auth_len;	/* [userinfo@]host[:port] */
	size_t	 host_off;
	size_t	 host_len;	/* IPv6 keeps its brackets */
	size_t	 path_off;
	size_t	 path_len;	/* up to '?' or '#' */
	/* the rest (query, fragment) starts at path_off + path_len */
};

static int
url_split(const char *url, struct url_parts *u, char **cause)
{
	const char *p, *auth, *end, *at, *h;

	memset(u, 0, sizeof(*u));
	if ((p = strstr(url, "://")) == NULL) {
		xasprintf(cause, "not a URL (no scheme)");
		return -1;
	}
	u->scheme_len = p - url;
	if (!((u->scheme_len == 4 && strncasecmp(url, "http", 4) == 0) ||
	    (u->scheme_len == 5 && strncasecmp(url, "https", 5) == 0))) {
		xasprintf(cause, "scheme '%.*s' is not http or https",
		    (int)u->scheme_len, url);
		return -1;
	}
	auth = p + 3;
	end = auth + strcspn(auth, "/?#");
	u->auth_off = auth - url;
	u->auth_len = end - auth;

	/* userinfo is not ours to send in Host; skip past the last '@'. */
	h = auth;
	for (at = auth; at < end; at++)
		if (*at == '@')
			h = at + 1;
	u->host_off = h - url;
	if (*h == '[') {
		p = memchr(h, ']', end - h);
		if (p == NULL) {
			xasprintf(cause, "unterminated IPv6 address");
			return -1;
		}
		u->host_len = p + 1 - h;
		p++;
	} else {
		p = memchr(h, ':', end - h);
		if (p == NULL)
			p = end;
		u->host_len = p - h;
	}
	if (u->host_len == 0 || (*h == '[' && u->host_len == 2)) {
		xasprintf(cause, "no host");
		return -1;
	}
	if (p < end && *p != ':') {
		xasprintf(cause, "junk after the host");
		return -1;
	}
	if (p < end) {
		/* A port: digits only (empty is allowed by RFC 3986). */
		for (p++; p < end; p++)
			if (!isdigit((unsigned char)*p)) {
				xasprintf(cause, "bad port");
				return -1;
			}
	}
	u->path_off = end - url;
	u->path_len = strcspn(end, "?#");
	return 0;
}

char *
discovery_rpc_url(const char *maas_url, char **cause)
{
	struct url_parts u;
	size_t plen;
	char *out;

	if (url_split(maas_url, &u, cause) == -1)
		return NULL;
	plen = u.path_len;
	while (plen > 0 && maas_url[u.path_off + plen - 1] == '/')
		plen--;
	xasprintf(&out, "%.*s%.*s/rpc/%s", (int)u.path_off, maas_url,
	    (int)plen, maas_url + u.path_off,
	    maas_url + u.path_off + u.path_len);
	return out;
}

char *
discovery_host_header(const char *maas_url, char **cause)
{
	struct url_parts u;

	if (url_split(maas_url, &u, cause) == -1)
		return NULL;
	return xstrndup(maas_url + u.host_off, u.host_len);
}

/* A loop name fit to quote in a log line: bounded, printable ASCII. */
static void
safe_name(char *dst, size_t dstsz, const char *src)
{
	size_t i;

	for (i = 0; i + 1 < dstsz && src[i] != '\0'; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = '\0';
	if (src[i] != '\0' && dstsz > 4)
		memcpy(dst + dstsz - 4, "...", 4);
}

static int
is_ip_address(const char *s)
{
	struct in6_addr a6;
	struct in_addr a4;

	return inet_pton(AF_INET, s, &a4) == 1 ||
	    inet_pton(AF_INET6, s, &a6) == 1;
}

static int
loop_cmp(const void *a, const void *b)
{
	const struct disc_eventloop *la = a, *lb = b;

	return strcmp(la->name, lb->name);
}

static int
parse_loop(struct disc_eventloop *loop, const char *name, json_t *v,
    char **cause)
{
	char sname[80], shost[80];
	json_t *e, *jh, *jp;
	json_int_t port;
	const char *host;
	size_t i;

	safe_name(sname, sizeof(sname), name);
	loop->name = xstrdup(name);
	if (!json_is_array(v)) {
		xasprintf(cause, "event loop '%s': not a list of "
		    "[address, port]", sname);
		return -1;
	}
	loop->addrs = xcalloc(json_array_size(v) ? json_array_size(v) : 1,
	    sizeof(*loop->addrs));
	json_array_foreach(v, i, e) {
		if (!json_is_array(e) || json_array_size(e) != 2 ||
		    !json_is_string(jh = json_array_get(e, 0)) ||
		    !json_is_integer(jp = json_array_get(e, 1))) {
			xasprintf(cause, "event loop '%s': entry %zu is not "
			    "[address, port]", sname, i + 1);
			return -1;
		}
		port = json_integer_value(jp);
		if (port < 1 || port > 65535) {
			xasprintf(cause, "event loop '%s': port %lld out of "
			    "range", sname, (long long)port);
			return -1;
		}
		host = json_string_value(jh);
		if (!is_ip_address(host)) {
			safe_name(shost, sizeof(shost), host);
			xasprintf(cause, "event loop '%s': '%s' is not an "
			    "IP address", sname, shost);
			return -1;
		}
		loop->addrs[loop->naddrs].host = xstrdup(host);
		loop->addrs[loop->naddrs].port = (uint16_t)port;
		loop->naddrs++;
	}
	return 0;
}

struct disc_doc *
discovery_parse(const char *body, size_t len, char **cause)
{
	struct disc_doc *doc;
	json_error_t err;
	json_t *root, *loops, *v;
	const char *name;

	/* DECODE_ANY: a bare "x" is a wrong document, not bad JSON. */
	root = json_loadb(body, len, JSON_DECODE_ANY, &err);
	if (root == NULL) {
		xasprintf(cause, "not JSON: %s at line %d column %d",
		    err.text, err.line, err.column);
		return NULL;
	}
	if (!json_is_object(root)) {
		xasprintf(cause, "top level is not an object");
		json_decref(root);
		return NULL;
	}
	doc = xcalloc(1, sizeof(*doc));
	loops = json_object_get(root, "eventloops");
	if (loops == NULL || json_is_null(loops)) {
		json_decref(root);
		return doc;	/* region not advertising yet */
	}
	if (!json_is_object(loops)) {
		xasprintf(cause, "'eventloops' is not an object");
		json_decref(root);
		discovery_doc_free(doc);
		return NULL;
	}
	doc->loops = xcalloc(json_object_size(loops) ?
	    json_object_size(loops) : 1, sizeof(*doc->loops));
	json_object_foreach(loops, name, v) {
		/* Count it first so a half-filled loop is freed too. */
		doc->nloops++;
		if (parse_loop(&doc->loops[doc->nloops - 1], name, v,
		    cause) == -1) {
			json_decref(root);
			discovery_doc_free(doc);
			return NULL;
		}
	}
	json_decref(root);
	qsort(doc->loops, doc->nloops, sizeof(*doc->loops), loop_cmp);
	return doc;
}

void
discovery_doc_free(struct disc_doc *doc)
{
	size_t i, j;

	if (doc == NULL)
		return;
	for (i = 0; i < doc->nloops; i++) {
		for (j = 0; j < doc->loops[i].naddrs; j++)
			free(doc->loops[i].addrs[j].host);
		free(doc->loops[i].addrs);
		free(doc->loops[i].name);
	}
	free(doc->loops);
	free(doc);
}

char *
discovery_doc_dump(const struct disc_doc *doc)
{
	json_t *root, *loops, *list;
	char *s, *out;
	size_t i, j;

	loops = json_object();
	for (i = 0; i < doc->nloops; i++) {
		list = json_array();
		for (j = 0; j < doc->loops[i].naddrs; j++)
			json_array_append_new(list, json_pack("[s, i]",
			    doc->loops[i].addrs[j].host,
			    (int)doc->loops[i].addrs[j].port));
		json_object_set_new(loops, doc->loops[i].name, list);
	}
	root = json_pack("{s: o}", "eventloops", loops);
	s = json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(root);
	if (s == NULL)
		return xstrdup("{\"eventloops\": {}}");
	out = xstrdup(s);
	free(s);
	return out;
}

size_t
discovery_doc_count(const struct disc_doc *doc, size_t *nregions)
{
	size_t i, j, n = 0, li, lj;

	if (doc == NULL) {
		if (nregions != NULL)
			*nregions = 0;
		return 0;
	}
	if (nregions != NULL) {
		/* O(n^2), but n is a handful of workers per region. */
		for (i = 0; i < doc->nloops; i++) {
			li = strcspn(doc->loops[i].name, ":");
			for (j = 0; j < i; j++) {
				lj = strcspn(doc->loops[j].name, ":");
				if (li == lj && memcmp(doc->loops[i].name,
				    doc->loops[j].name, li) == 0)
					break;
			}
			if (j == i)
				n++;
		}
		*nregions = n;
	}
	return doc->nloops;
}
