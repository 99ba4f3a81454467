/*
 * amp.c — pure AMP codec: boxes, framing, and MAAS's argument types.
 * No I/O.  Every decoder is bounds-checked and reports what was wrong.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <zlib.h>

#include "amp.h"
#include "xmalloc.h"

/* --- boxes ---------------------------------------------------------- */

struct amp_box *
amp_box_new(void)
{
	return xcalloc(1, sizeof(struct amp_box));
}

void
amp_box_free(struct amp_box *b)
{
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; i < b->n; i++) {
		free(b->pairs[i].key);
		free(b->pairs[i].value);
	}
	free(b->pairs);
	free(b);
}

static struct amp_pair *
box_find(const struct amp_box *b, const char *key, size_t klen)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		if (b->pairs[i].keylen == klen &&
		    memcmp(b->pairs[i].key, key, klen) == 0)
			return &b->pairs[i];
	}
	return NULL;
}

static void
box_put_n(struct amp_box *b, const char *key, size_t klen, const void *val,
    size_t len)
{
	struct amp_pair *p = box_find(b, key, klen);

	if (p != NULL) {
		free(p->value);
	} else {
		if (b->n == b->cap) {
			b->cap = b->cap ? b->cap * 2 : 8;
			b->pairs = xreallocarray(b->pairs, b->cap,
			    sizeof *b->pairs);
		}
		p = &b->pairs[b->n++];
		p->key = xmemdup(key, klen);
		p->keylen = klen;
	}
	p->value = xmemdup(val, len);
	p->len = len;
}

void
amp_box_put(struct amp_box *b, const char *key, const void *val, size_t len)
{
	box_put_n(b, key, strlen(key), val, len);
}

void
amp_box_put_str(struct amp_box *b, const char *key, const char *s)
{
	amp_box_put(b, key, s, strlen(s));
}

void
amp_box_put_int(struct amp_box *b, const char *key, long long v)
{
	char buf[32];

	snprintf(buf, sizeof buf, "%lld", v);
	amp_box_put_str(b, key, buf);
}

void
amp_box_put_bool(struct amp_box *b, const char *key, bool v)
{
	amp_box_put_str(b, key, v ? "True" : "False");
}

int
amp_box_put_json(struct amp_box *b, const char *key, const json_t *j)
{
	char *text = amp_json_dumps(j);
	struct bytes z;

	bytes_init(&z);
	if (text == NULL || amp_zlib_deflate((const uint8_t *)text,
	    strlen(text), &z, NULL) == -1 || z.len > AMP_MAX_VALUE) {
		free(text);
		bytes_free(&z);
		return -1;
	}
	amp_box_put(b, key, z.data, z.len);
	free(text);
	bytes_free(&z);
	return 0;
}

void
amp_box_merge(struct amp_box *dst, const struct amp_box *src)
{
	size_t i;

	for (i = 0; i < src->n; i++)
		box_put_n(dst, src->pairs[i].key, src->pairs[i].keylen,
		    src->pairs[i].value, src->pairs[i].len);
}

void
amp_box_del(struct amp_box *b, const char *key)
{
	struct amp_pair *p = box_find(b, key, strlen(key));
	size_t i;

	if (p == NULL)
		return;
	i = (size_t)(p - b->pairs);
	free(p->key);
	free(p->value);
	memmove(&b->pairs[i], &b->pairs[i + 1],
	    (b->n - i - 1) * sizeof *b->pairs);
	b->n--;
}

const struct amp_value *
amp_box_get(const struct amp_box *b, const char *key)
{
	/* struct amp_value is a prefix-compatible view of the pair. */
	struct amp_pair *p = box_find(b, key, strlen(key));

	return (const struct amp_value *)(void *)p;
}

int
amp_box_has(const struct amp_box *b, const char *key)
{
	return box_find(b, key, strlen(key)) != NULL;
}

int
amp_utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint8_t c = s[i];
		size_t n;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3;
			cp = c & 0x07;
		} else
			return 0;
		for (size_t k = 1; k <= n; k++) {
			if (i + k >= len || (s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

int
amp_box_get_str(const struct amp_box *b, const char *key, char **out,
    char **cause)
{
	struct amp_pair *p = box_find(b, key, strlen(key));

	if (p == NULL)
		return 1;
	if (!amp_utf8_valid(p->value, p->len) ||
	    memchr(p->value, '\0', p->len) != NULL) {
		if (cause != NULL)
			xasprintf(cause, "argument '%s' is not valid UTF-8 text",
			    key);
		return -1;
	}
	*out = xmemdup(p->value, p->len);
	return 0;
}

int
amp_box_get_int(const struct amp_box *b, const char *key, long long *out,
    char **cause)
{
	struct amp_pair *p = box_find(b, key, strlen(key));
	char *end;
	long long v;
	size_t i;

	if (p == NULL)
		return 1;
	for (i = 0; i < p->len; i++) {
		if (!((p->value[i] >= '0' && p->value[i] <= '9') ||
		    (i == 0 && p->value[i] == '-')))
			break;
	}
	if (p->len == 0 || i != p->len || (p->len == 1 && p->value[0] == '-'))
		goto bad;
	errno = 0;
	v = strtoll((const char *)p->value, &end, 10);
	if (errno != 0 || *end != '\0')
		goto bad;
	*out = v;
	return 0;
bad:
	if (cause != NULL)
		xasprintf(cause, "argument '%s' is not an integer", key);
	return -1;
}

int
amp_box_get_bool(const struct amp_box *b, const char *key, bool *out,
    char **cause)
{
	struct amp_pair *p = box_find(b, key, strlen(key));

	if (p == NULL)
		return 1;
	if (p->len == 4 && memcmp(p->value, "True", 4) == 0)
		*out = true;
	else if (p->len == 5 && memcmp(p->value, "False", 5) == 0)
		*out = false;
	else {
		if (cause != NULL)
			xasprintf(cause, "argument '%s' is not True or False",
			    key);
		return -1;
	}
	return 0;
}

int
amp_box_get_json(const struct amp_box *b, const char *key, json_t **out,
    char **cause)
{
	struct amp_pair *p = box_find(b, key, strlen(key));
	struct bytes raw;
	json_error_t err;
	char *why = NULL;
	size_t i;

	if (p == NULL)
		return 1;
	bytes_init(&raw);
	if (amp_zlib_inflate(p->value, p->len, AMP_MAX_INFLATE, &raw,
	    &why) == -1) {
		if (cause != NULL)
			xasprintf(cause, "argument '%s': %s", key, why);
		free(why);
		bytes_free(&raw);
		return -1;
	}
	for (i = 0; i < raw.len; i++) {
		if (raw.data[i] >= 0x80) {
			if (cause != NULL)
				xasprintf(cause, "argument '%s': JSON is not "
				    "ASCII (byte %zu)", key, i);
			bytes_free(&raw);
			return -1;
		}
	}
	*out = json_loadb((const char *)raw.data, raw.len,
	    JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
	bytes_free(&raw);
	if (*out == NULL) {
		if (cause != NULL)
			xasprintf(cause, "argument '%s': bad JSON: %s", key,
			    err.text);
		return -1;
	}
	return 0;
}

/* --- framing -------------------------------------------------------- */

enum amp_status
amp_box_decode(const uint8_t *buf, size_t len, const struct amp_limits *lim,
    struct amp_box **out, size_t *consumed, char **cause)
{
	size_t max_keys = lim && lim->max_keys ? lim->max_keys :
	    AMP_DEFAULT_MAX_KEYS;
	size_t max_box = lim && lim->max_box ? lim->max_box : AMP_DEFAULT_MAX_BOX;
	struct cursor c;
	struct amp_box *b = NULL;
	uint16_t klen, vlen;
	const uint8_t *k, *v;
	size_t nkeys = 0;

	*out = NULL;
	*consumed = 0;
	cursor_init(&c, buf, len);
	for (;;) {
		if (len - c.left > max_box) {
			if (cause)
				xasprintf(cause, "box larger than %zu bytes",
				    max_box);
			goto bad;
		}
		if (cursor_get_u16be(&c, &klen) == -1)
			goto more;
		if (klen == 0)
			break;
		if (klen > AMP_MAX_KEY) {
			if (cause)
				xasprintf(cause, "key length %u exceeds 255",
				    klen);
			goto bad;
		}
		if (++nkeys > max_keys) {
			if (cause)
				xasprintf(cause, "box has more than %zu keys",
				    max_keys);
			goto bad;
		}
		if (cursor_get_bytes(&c, klen, &k) == -1 ||
		    cursor_get_u16be(&c, &vlen) == -1 ||
		    cursor_get_bytes(&c, vlen, &v) == -1)
			goto more;
		if (b == NULL)
			b = amp_box_new();
		box_put_n(b, (const char *)k, klen, v, vlen);
	}
	if (b == NULL) {
		if (cause)
			xasprintf(cause, "empty box");
		goto bad;
	}
	*out = b;
	*consumed = len - c.left;
	return AMP_OK;
more:
	*consumed = len - c.left;
	amp_box_free(b);
	return AMP_NEED_MORE;
bad:
	amp_box_free(b);
	return AMP_EBADMSG;
}

int
amp_box_encode(const struct amp_box *b, struct bytes *out, char **cause)
{
	size_t i;

	if (b->n == 0) {
		if (cause)
			xasprintf(cause, "refusing to encode an empty box");
		return -1;
	}
	for (i = 0; i < b->n; i++) {
		if (b->pairs[i].keylen == 0 || b->pairs[i].keylen > AMP_MAX_KEY) {
			if (cause)
				xasprintf(cause, "key of %zu bytes",
				    b->pairs[i].keylen);
			return -1;
		}
		if (b->pairs[i].len > AMP_MAX_VALUE) {
			if (cause)
				xasprintf(cause, "value of '%s' is %zu bytes "
				    "(max 65535)", b->pairs[i].key,
				    b->pairs[i].len);
			return -1;
		}
	}
	for (i = 0; i < b->n; i++) {
		bytes_add_u16be(out, (uint16_t)b->pairs[i].keylen);
		bytes_add(out, b->pairs[i].key, b->pairs[i].keylen);
		bytes_add_u16be(out, (uint16_t)b->pairs[i].len);
		bytes_add(out, b->pairs[i].value, b->pairs[i].len);
	}
	bytes_add_u16be(out, 0);
	return 0;
}

/* --- ListOf --------------------------------------------------------- */

int
amp_listof_encode(const struct amp_value *elems, size_t n, struct bytes *out,
    char **cause)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (elems[i].len > AMP_MAX_VALUE) {
			if (cause)
				xasprintf(cause, "list element %zu too long", i);
			return -1;
		}
	}
	for (i = 0; i < n; i++) {
		bytes_add_u16be(out, (uint16_t)elems[i].len);
		bytes_add(out, elems[i].data, elems[i].len);
	}
	return 0;
}

int
amp_listof_decode(const uint8_t *data, size_t len, struct amp_value **elems,
    size_t *n, char **cause)
{
	struct cursor c;
	uint16_t l;
	const uint8_t *p;
	size_t cap = 0;

	*elems = NULL;
	*n = 0;
	cursor_init(&c, data, len);
	while (c.left > 0) {
		if (cursor_get_u16be(&c, &l) == -1 ||
		    cursor_get_bytes(&c, l, &p) == -1) {
			if (cause)
				xasprintf(cause, "ListOf element %zu truncated",
				    *n + 1);
			free(*elems);
			*elems = NULL;
			*n = 0;
			return -1;
		}
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			*elems = xreallocarray(*elems, cap, sizeof **elems);
		}
		(*elems)[*n].data = p;
		(*elems)[*n].len = l;
		(*n)++;
	}
	return 0;
}

void
amp_strv_free(char **v)
{
	xstrv_free(v);
}

int
amp_listof_str_decode(const struct amp_value *val, char ***out, size_t *n,
    char **cause)
{
	struct amp_value *e;
	size_t ne, i;

	if (amp_listof_decode(val->data, val->len, &e, &ne, cause) == -1)
		return -1;
	*out = xcalloc(ne + 1, sizeof **out);
	for (i = 0; i < ne; i++) {
		if (!amp_utf8_valid(e[i].data, e[i].len) ||
		    memchr(e[i].data, '\0', e[i].len) != NULL) {
			if (cause)
				xasprintf(cause, "list element %zu is not "
				    "UTF-8 text", i + 1);
			amp_strv_free(*out);
			*out = NULL;
			free(e);
			return -1;
		}
		(*out)[i] = xmemdup(e[i].data, e[i].len);
	}
	*n = ne;
	free(e);
	return 0;
}

/* --- AmpList -------------------------------------------------------- */

int
amp_list_encode(struct amp_box *const *boxes, size_t n, struct bytes *out,
    char **cause)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (amp_box_encode(boxes[i], out, cause) == -1)
			return -1;
	}
	return 0;
}

void
amp_list_free(struct amp_box **boxes, size_t n)
{
	size_t i;

	if (boxes == NULL)
		return;
	for (i = 0; i < n; i++)
		amp_box_free(boxes[i]);
	free(boxes);
}

int
amp_list_decode(const uint8_t *data, size_t len, struct amp_box ***boxes,
    size_t *n, char **cause)
{
	size_t off = 0, used, cap = 0;
	struct amp_box *b;
	struct amp_limits lim = { 0, AMP_MAX_INFLATE };
	char *why = NULL;
	enum amp_status st;

	*boxes = NULL;
	*n = 0;
	while (off < len) {
		st = amp_box_decode(data + off, len - off, &lim, &b, &used, &why);
		if (st != AMP_OK) {
			if (cause)
				xasprintf(cause, "AmpList item %zu: %s", *n + 1,
				    st == AMP_NEED_MORE ? "truncated" : why);
			free(why);
			amp_list_free(*boxes, *n);
			*boxes = NULL;
			*n = 0;
			return -1;
		}
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			*boxes = xreallocarray(*boxes, cap, sizeof **boxes);
		}
		(*boxes)[(*n)++] = b;
		off += used;
	}
	return 0;
}

int
amp_clist_encode(struct amp_box *const *boxes, size_t n, struct bytes *out,
    char **cause)
{
	struct bytes raw;
	int rc;

	bytes_init(&raw);
	if (amp_list_encode(boxes, n, &raw, cause) == -1) {
		bytes_free(&raw);
		return -1;
	}
	rc = amp_zlib_deflate(raw.data ? raw.data : (const uint8_t *)"",
	    raw.len, out, cause);
	bytes_free(&raw);
	return rc;
}

int
amp_clist_decode(const uint8_t *data, size_t len, struct amp_box ***boxes,
    size_t *n, char **cause)
{
	struct bytes raw;
	int rc;

	bytes_init(&raw);
	if (amp_zlib_inflate(data, len, AMP_MAX_INFLATE, &raw, cause) == -1) {
		bytes_free(&raw);
		*boxes = NULL;
		*n = 0;
		return -1;
	}
	rc = amp_list_decode(raw.data, raw.len, boxes, n, cause);
	bytes_free(&raw);
	return rc;
}

/* --- zlib and JSON -------------------------------------------------- */

int
amp_zlib_deflate(const uint8_t *in, size_t len, struct bytes *out,
    char **cause)
{
	uLongf dlen = compressBound((uLong)len);

	bytes_reserve(out, dlen);
	if (compress2(out->data + out->len, &dlen, in, (uLong)len, 6) != Z_OK) {
		if (cause)
			xasprintf(cause, "zlib compression failed");
		return -1;
	}
	out->len += dlen;
	return 0;
}

int
amp_zlib_inflate(const uint8_t *in, size_t len, size_t max_out,
    struct bytes *out, char **cause)
{
	z_stream zs;
	uint8_t buf[16384];
	int rc;

	memset(&zs, 0, sizeof zs);
	if (inflateInit(&zs) != Z_OK) {
		if (cause)
			xasprintf(cause, "zlib init failed");
		return -1;
	}
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = (uInt)len;
	do {
		zs.next_out = buf;
		zs.avail_out = sizeof buf;
		rc = inflate(&zs, Z_NO_FLUSH);
		if (rc != Z_OK && rc != Z_STREAM_END) {
			if (cause)
				xasprintf(cause, "bad zlib data (%s)",
				    zs.msg ? zs.msg : "truncated");
			inflateEnd(&zs);
			return -1;
		}
		bytes_add(out, buf, sizeof buf - zs.avail_out);
		if (out->len > max_out) {
			if (cause)
				xasprintf(cause, "zlib data inflates beyond %zu "
				    "bytes", max_out);
			inflateEnd(&zs);
			return -1;
		}
		if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
			if (cause)
				xasprintf(cause, "bad zlib data (truncated)");
			inflateEnd(&zs);
			return -1;
		}
	} while (rc != Z_STREAM_END);
	if (zs.avail_in != 0) {
		if (cause)
			xasprintf(cause, "trailing bytes after zlib data");
		inflateEnd(&zs);
		return -1;
	}
	inflateEnd(&zs);
	return 0;
}

char *
amp_json_dumps(const json_t *j)
{
	/* jansson's default separators are ", " and ": ", like Python's. */
	return json_dumps(j, JSON_ENSURE_ASCII | JSON_ENCODE_ANY);
}

int
amp_ipaddr_to_text(const struct amp_value *v, char *buf, size_t buflen,
    char **cause)
{
	int af;

	if (v->len == 4)
		af = AF_INET;
	else if (v->len == 16)
		af = AF_INET6;
	else {
		if (cause)
			xasprintf(cause, "IPAddress of %zu bytes (want 4 or 16)",
			    v->len);
		return -1;
	}
	if (inet_ntop(af, v->data, buf, (socklen_t)buflen) == NULL) {
		if (cause)
			xasprintf(cause, "buffer too small for an address");
		return -1;
	}
	return 0;
}

/* --- commands ------------------------------------------------------- */

struct amp_box *
amp_command_new(const char *command, const char *tag)
{
	struct amp_box *b = amp_box_new();

	amp_box_put_str(b, "_ask", tag);
	amp_box_put_str(b, "_command", command);
	return b;
}

struct amp_box *
amp_answer_new(const char *tag)
{
	struct amp_box *b = amp_box_new();

	amp_box_put_str(b, "_answer", tag);
	return b;
}

struct amp_box *
amp_error_new(const char *tag, const char *code, const char *description)
{
	struct amp_box *b = amp_box_new();
	size_t dl = strlen(description);

	amp_box_put_str(b, "_error", tag);
	amp_box_put_str(b, "_error_code", code);
	amp_box_put(b, "_error_description", description,
	    dl > AMP_MAX_VALUE ? AMP_MAX_VALUE : dl);
	return b;
}

/*
 * Secret-bearing argument names, matched case-insensitively at every
 * level of a described box: its own keys, the keys of boxes nested in
 * AmpList / CompressedAmpList values, and the keys of JSON objects
 * (StructureAsJSON such as a power context, or a JSON string).  A name
 * matches when it is in secret_names or contains one of secret_parts;
 * masking too much costs a debug line, too little leaks a password.
 */
static const char *const secret_names[] = {
	"power_pass", "k_g", "omapi_key", "secret", "token", "message",
	"digest", "salt", "password", "key", NULL
};
static const char *const secret_parts[] = {
	"pass", "secret", "token", "_key", "k_g", "credential", NULL
};

#define DESCRIBE_VALUE_MAX	120	/* printable value shown */
#define DESCRIBE_NESTED_MAX	2048	/* a nested rendering shown */
#define DESCRIBE_DEPTH_MAX	4
#define DESCRIBE_INFLATE_MAX	(256 * 1024)

bool
amp_key_is_secret(const char *k)
{
	size_t i;

	for (i = 0; secret_names[i] != NULL; i++)
		if (strcasecmp(k, secret_names[i]) == 0)
			return true;
	for (i = 0; secret_parts[i] != NULL; i++)
		if (strcasestr(k, secret_parts[i]) != NULL)
			return true;
	return false;
}

/* Replace the value of every secret key in j, at any depth. */
static void
json_mask_secrets(json_t *j, int depth)
{
	const char *k;
	json_t *v;
	size_t i;

	if (depth > 32)
		return;
	if (json_is_object(j)) {
		json_object_foreach(j, k, v) {
			if (amp_key_is_secret(k) && !json_is_null(v))
				json_object_set_new(j, k, json_string("<masked>"));
			else
				json_mask_secrets(v, depth + 1);
		}
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			json_mask_secrets(v, depth + 1);
	}
}

static void describe_box(struct bytes *, const struct amp_box *, int depth);

/* Append s, cut at max bytes (marked "..."). */
static void
add_capped(struct bytes *o, const char *s, size_t max)
{
	size_t n = strlen(s);

	bytes_add(o, s, n > max ? max : n);
	if (n > max)
		bytes_add_str(o, "...");
}

/* JSON text (already parsed) with secrets masked; 0, or -1 if not JSON. */
static int
describe_json(struct bytes *o, json_t *j)
{
	char *t;

	if (j == NULL)
		return -1;
	json_mask_secrets(j, 0);
	t = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(j);
	if (t == NULL)
		return -1;
	add_capped(o, t, DESCRIBE_NESTED_MAX);
	free(t);
	return 0;
}

/* A list of boxes as [{...}, {...}]. */
static void
describe_list(struct bytes *o, struct amp_box **boxes, size_t n, int depth)
{
	struct bytes sub;
	size_t i;

	bytes_init(&sub);
	bytes_add_str(&sub, "[");
	for (i = 0; i < n; i++) {
		if (i)
			bytes_add_str(&sub, ", ");
		describe_box(&sub, boxes[i], depth + 1);
	}
	bytes_add_str(&sub, "]");
	bytes_add_u8(&sub, 0);
	add_capped(o, (const char *)sub.data, DESCRIBE_NESTED_MAX);
	bytes_free(&sub);
	amp_list_free(boxes, n);
}

/*
 * A value that is not plain text: a nested AmpList, a CompressedAmpList,
 * or zlib JSON (StructureAsJSON) is shown with its secrets masked;
 * anything else as <N bytes>.
 */
static void
describe_binary(struct bytes *o, const struct amp_pair *p, int depth)
{
	struct amp_box **boxes;
	struct bytes raw;
	char tmp[64], *cause = NULL;
	size_t n;

	if (depth < DESCRIBE_DEPTH_MAX && p->len > 0) {
		if (amp_list_decode(p->value, p->len, &boxes, &n, &cause) == 0) {
			describe_list(o, boxes, n, depth);
			return;
		}
		free(cause);
		cause = NULL;
		if (amp_clist_decode(p->value, p->len, &boxes, &n, &cause) == 0) {
			describe_list(o, boxes, n, depth);
			return;
		}
		free(cause);
		cause = NULL;
		bytes_init(&raw);
		if (amp_zlib_inflate(p->value, p->len, DESCRIBE_INFLATE_MAX, &raw,
		    &cause) == 0) {
			json_t *j = json_loadb((const char *)raw.data, raw.len,
			    0, NULL);

			xwipe(raw.data, raw.len);
			bytes_free(&raw);
			if (describe_json(o, j) == 0)
				return;
		} else {
			free(cause);
			bytes_free(&raw);
		}
	}
	snprintf(tmp, sizeof tmp, "<%zu bytes>", p->len);
	bytes_add_str(o, tmp);
}

static void
describe_box(struct bytes *o, const struct amp_box *b, int depth)
{
	size_t i, j, show;
	char tmp[64];

	bytes_add_str(o, "{");
	for (i = 0; i < b->n; i++) {
		const struct amp_pair *p = &b->pairs[i];
		int printable = 1;

		if (i)
			bytes_add_str(o, ", ");
		bytes_add_str(o, p->key);
		bytes_add_str(o, ": ");
		if (amp_key_is_secret(p->key)) {
			snprintf(tmp, sizeof tmp, "<%zu bytes>", p->len);
			bytes_add_str(o, tmp);
			continue;
		}
		for (j = 0; j < p->len; j++) {
			if (p->value[j] < 0x20 || p->value[j] >= 0x7f) {
				printable = 0;
				break;
			}
		}
		if (!printable) {
			describe_binary(o, p, depth);
			continue;
		}
		/* A JSON string value may hold nested secrets too. */
		if (p->len > 0 && (p->value[0] == '{' || p->value[0] == '[')) {
			json_t *js = json_loadb((const char *)p->value, p->len,
			    0, NULL);

			if (js != NULL && describe_json(o, js) == 0)
				continue;
		}
		show = p->len > DESCRIBE_VALUE_MAX ? DESCRIBE_VALUE_MAX : p->len;
		bytes_add(o, p->value, show);
		if (show < p->len)
			bytes_add_str(o, "...");
	}
	bytes_add_str(o, "}");
}

char *
amp_box_describe(const struct amp_box *b)
{
	struct bytes o;

	bytes_init(&o);
	describe_box(&o, b, 0);
	bytes_add_u8(&o, 0);
	return (char *)bytes_steal(&o, NULL);
}
