/*
 * dhcp_args.c — the arguments of ConfigureDHCPv4/v6 and ValidateDHCP*Config
 * (spec C.1), between their AMP form and plain JSON with the same field
 * names.  One schema table drives decode, check and encode, so the three
 * cannot disagree about what a field is or whether it may be absent.
 *
 * Pure: no I/O.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "amp.h"
#include "bytes.h"
#include "kea_config.h"
#include "xmalloc.h"

enum kind {
	K_STR,		/* amp.Unicode */
	K_INT,		/* amp.Integer */
	K_STRV,		/* ListOf(Unicode) */
	K_IPV,		/* ListOf(IPAddress): binary on the wire, text in JSON */
	K_LIST,		/* AmpList */
	K_CLIST,	/* CompressedAmpList */
};

enum check {
	C_NONE,
	C_NONEMPTY,
	C_IP,		/* an address of the family being configured */
	C_IP_OR_EMPTY,	/* router_ip: "" when the subnet has no gateway */
	C_IP_ANY,	/* either family */
	C_MASK,		/* v4: a contiguous dotted mask; v6: any text */
	C_BCAST,	/* v4: an address, "" or "None" (/31, /32); v6: any */
	C_CIDR,		/* addr/prefix of the family */
	C_MAC,		/* colon hex, 6 octets */
	C_MODE,		/* primary | secondary */
	C_MTU,		/* 68..65535 */
};

struct field {
	const char		*key;
	enum kind		 kind;
	bool			 optional;
	enum check		 check;
	const struct field	*sub;	/* K_LIST / K_CLIST items */
};

static const struct field snippet_fields[] = {
	{ "name", K_STR, false, C_NONE, NULL },
	{ "description", K_STR, true, C_NONE, NULL },
	{ "value", K_STR, false, C_NONE, NULL },
	{ NULL, 0, 0, 0, NULL }
};

static const struct field pool_fields[] = {
	{ "ip_range_low", K_STR, false, C_IP, NULL },
	{ "ip_range_high", K_STR, false, C_IP, NULL },
	{ "failover_peer", K_STR, true, C_NONEMPTY, NULL },
	{ "dhcp_snippets", K_LIST, true, C_NONE, snippet_fields },
	{ NULL, 0, 0, 0, NULL }
};

/*
 * disabled_boot_architectures is required in MAAS's schema; it is taken
 * as optional here because it only removes boot classes, so a region that
 * leaves it out loses nothing.
 */
static const struct field subnet_fields[] = {
	{ "subnet", K_STR, false, C_IP, NULL },
	{ "subnet_mask", K_STR, false, C_MASK, NULL },
	{ "subnet_cidr", K_STR, false, C_CIDR, NULL },
	{ "broadcast_ip", K_STR, false, C_BCAST, NULL },
	{ "router_ip", K_STR, false, C_IP_OR_EMPTY, NULL },
	{ "dns_servers", K_IPV, false, C_IP_ANY, NULL },
	{ "ntp_servers", K_STRV, false, C_NONEMPTY, NULL },
	{ "domain_name", K_STR, false, C_NONE, NULL },
	{ "search_list", K_STRV, true, C_NONEMPTY, NULL },
	{ "pools", K_LIST, false, C_NONE, pool_fields },
	{ "dhcp_snippets", K_LIST, true, C_NONE, snippet_fields },
	{ "disabled_boot_architectures", K_STRV, true, C_NONE, NULL },
	{ NULL, 0, 0, 0, NULL }
};

static const struct field network_fields[] = {
	{ "name", K_STR, false, C_NONEMPTY, NULL },
	{ "subnets", K_LIST, false, C_NONE, subnet_fields },
	{ "mtu", K_INT, true, C_MTU, NULL },
	{ "interface", K_STR, true, C_NONEMPTY, NULL },
	{ NULL, 0, 0, 0, NULL }
};

static const struct field host_fields[] = {
	{ "host", K_STR, false, C_NONE, NULL },
	{ "mac", K_STR, false, C_MAC, NULL },
	{ "ip", K_STR, false, C_IP, NULL },
	{ "dhcp_snippets", K_LIST, true, C_NONE, snippet_fields },
	{ NULL, 0, 0, 0, NULL }
};

static const struct field iface_fields[] = {
	{ "name", K_STR, false, C_NONEMPTY, NULL },
	{ NULL, 0, 0, 0, NULL }
};

static const struct field peer_fields[] = {
	{ "name", K_STR, false, C_NONEMPTY, NULL },
	{ "mode", K_STR, false, C_MODE, NULL },
	{ "address", K_STR, false, C_IP_ANY, NULL },
	{ "peer_address", K_STR, false, C_IP_ANY, NULL },
	{ NULL, 0, 0, 0, NULL }
};

static const struct field top_fields[] = {
	{ "omapi_key", K_STR, false, C_NONE, NULL },
	{ "failover_peers", K_LIST, false, C_NONE, peer_fields },
	{ "shared_networks", K_CLIST, false, C_NONE, network_fields },
	{ "hosts", K_CLIST, false, C_NONE, host_fields },
	{ "interfaces", K_LIST, false, C_NONE, iface_fields },
	{ "global_dhcp_snippets", K_CLIST, true, C_NONE, snippet_fields },
	{ NULL, 0, 0, 0, NULL }
};

/* "path: key" for messages; the top level has an empty path. */
static char *
where(const char *path, const char *key)
{
	char *s;

	if (*path == '\0')
		return xstrdup(key);
	xasprintf(&s, "%s: %s", path, key);
	return s;
}

/* The path of item i of list key: "a[0].key[i]" or "key[i]". */
static char *
item_path(const char *path, const char *key, size_t i)
{
	char *s;

	if (*path == '\0')
		xasprintf(&s, "%s[%zu]", key, i);
	else
		xasprintf(&s, "%s.%s[%zu]", path, key, i);
	return s;
}

static int
parse_ip(const char *s, int family)
{
	uint8_t buf[16];

	if (family == 4 || family == 0)
		if (inet_pton(AF_INET, s, buf) == 1)
			return 4;
	if (family == 6 || family == 0)
		if (inet_pton(AF_INET6, s, buf) == 1)
			return 6;
	return 0;
}

static const char *
check_mac(const char *s)
{
	int octet, digits;

	for (octet = 0; octet < 6; octet++) {
		for (digits = 0; isxdigit((unsigned char)*s); digits++)
			s++;
		if (digits < 1 || digits > 2)
			return "not a MAC address";
		if (octet < 5 && *s++ != ':')
			return "not a MAC address";
	}
	return *s == '\0' ? NULL : "not a MAC address";
}

static const char *
check_mask4(const char *s)
{
	struct in_addr a;
	uint32_t m;

	if (inet_pton(AF_INET, s, &a) != 1)
		return "not an IPv4 netmask";
	m = ntohl(a.s_addr);
	/* contiguous: the inverted mask plus one is a power of two */
	if (((~m + 1) & ~m) != 0)
		return "not a contiguous IPv4 netmask";
	return NULL;
}

static const char *
check_cidr(const char *s, int family)
{
	const char *slash;
	char addr[INET6_ADDRSTRLEN], *end;
	long prefix;
	size_t len;

	if ((slash = strchr(s, '/')) == NULL)
		return family == 4 ? "not an IPv4 CIDR" : "not an IPv6 CIDR";
	len = slash - s;
	if (len == 0 || len >= sizeof(addr))
		return family == 4 ? "not an IPv4 CIDR" : "not an IPv6 CIDR";
	memcpy(addr, s, len);
	addr[len] = '\0';
	if (parse_ip(addr, family) == 0)
		return family == 4 ? "not an IPv4 CIDR" : "not an IPv6 CIDR";
	if (!isdigit((unsigned char)slash[1]))
		return "bad prefix length";
	prefix = strtol(slash + 1, &end, 10);
	if (*end != '\0' || prefix < 0 || prefix > (family == 4 ? 32 : 128))
		return "bad prefix length";
	return NULL;
}

/* Semantic check of one string value; NULL when fine. */
static const char *
check_str(const char *s, enum check c, int family)
{
	switch (c) {
	case C_NONE:
	case C_MTU:
		return NULL;
	case C_NONEMPTY:
		return *s == '\0' ? "empty" : NULL;
	case C_IP:
		if (parse_ip(s, family) == 0)
			return family == 4 ? "not an IPv4 address" :
			    "not an IPv6 address";
		return NULL;
	case C_IP_OR_EMPTY:
		if (*s != '\0' && parse_ip(s, family) == 0)
			return family == 4 ? "not an IPv4 address" :
			    "not an IPv6 address";
		return NULL;
	case C_IP_ANY:
		return parse_ip(s, 0) == 0 ? "not an IP address" : NULL;
	case C_MASK:
		return family == 4 ? check_mask4(s) : NULL;
	case C_BCAST:
		if (family == 4 && *s != '\0' && strcmp(s, "None") != 0 &&
		    parse_ip(s, 4) == 0)
			return "not an IPv4 address";
		return NULL;
	case C_CIDR:
		return check_cidr(s, family);
	case C_MAC:
		return check_mac(s);
	case C_MODE:
		if (strcmp(s, "primary") != 0 && strcmp(s, "secondary") != 0)
			return "not 'primary' or 'secondary'";
		return NULL;
	}
	return NULL;
}

/* A JSON string that is a C string (jansson allows embedded NULs). */
static const char *
json_cstr(const json_t *j)
{
	const char *s;

	if (!json_is_string(j))
		return NULL;
	s = json_string_value(j);
	if (strlen(s) != json_string_length(j))
		return NULL;
	return s;
}

/* --- check ----------------------------------------------------------- */

static int	check_obj(const json_t *, const struct field *, const char *,
		    int, char **);

static int
check_field(const json_t *v, const struct field *f, const char *path,
    int family, char **cause)
{
	const char *s, *why;
	char *p, *w;
	size_t i;
	json_t *e;
	json_int_t n;

	switch (f->kind) {
	case K_STR:
		if ((s = json_cstr(v)) == NULL) {
			why = "not a string";
			goto bad;
		}
		if ((why = check_str(s, f->check, family)) != NULL)
			goto bad;
		return 0;
	case K_INT:
		if (!json_is_integer(v)) {
			why = "not an integer";
			goto bad;
		}
		n = json_integer_value(v);
		if (f->check == C_MTU && (n < 68 || n > 65535)) {
			why = "not an MTU (68-65535)";
			goto bad;
		}
		return 0;
	case K_STRV:
	case K_IPV:
		if (!json_is_array(v)) {
			why = "not a list";
			goto bad;
		}
		json_array_foreach(v, i, e) {
			if ((s = json_cstr(e)) == NULL)
				why = "not a string";
			else
				why = check_str(s, f->check, family);
			if (why != NULL) {
				w = where(path, f->key);
				xasprintf(cause, "%s[%zu]: %s", w, i, why);
				free(w);
				return -1;
			}
		}
		return 0;
	case K_LIST:
	case K_CLIST:
		if (!json_is_array(v)) {
			why = "not a list";
			goto bad;
		}
		json_array_foreach(v, i, e) {
			p = item_path(path, f->key, i);
			if (check_obj(e, f->sub, p, family, cause) == -1) {
				free(p);
				return -1;
			}
			free(p);
		}
		return 0;
	}
	return 0;
bad:
	w = where(path, f->key);
	xasprintf(cause, "%s: %s", w, why);
	free(w);
	return -1;
}

static int
check_obj(const json_t *obj, const struct field *fields, const char *path,
    int family, char **cause)
{
	const struct field *f;
	const json_t *v;
	char *w;

	if (!json_is_object(obj)) {
		xasprintf(cause, "%s: not an object", *path ? path : "arguments");
		return -1;
	}
	for (f = fields; f->key != NULL; f++) {
		v = json_object_get(obj, f->key);
		if (v == NULL || json_is_null(v)) {
			if (f->optional)
				continue;
			w = where(path, f->key);
			xasprintf(cause, "%s: missing", w);
			free(w);
			return -1;
		}
		if (check_field(v, f, path, family, cause) == -1)
			return -1;
	}
	return 0;
}

static int
dhcp_args_check_(const json_t *in, int family, char **cause)
{
	if (family != 4 && family != 6) {
		xasprintf(cause, "address family %d is not 4 or 6", family);
		return -1;
	}
	return check_obj(in, top_fields, "", family, cause);
}

/* --- decode ---------------------------------------------------------- */

static int	decode_box(const struct amp_box *, const struct field *,
		    const char *, json_t **, char **);

static int
decode_list(const struct amp_value *v, const struct field *f,
    const char *path, json_t **out, char **cause)
{
	struct amp_box **boxes;
	size_t n, i;
	json_t *arr, *item;
	char *why = NULL, *w, *p;
	int rc;

	if (f->kind == K_CLIST)
		rc = amp_clist_decode(v->data, v->len, &boxes, &n, &why);
	else
		rc = amp_list_decode(v->data, v->len, &boxes, &n, &why);
	if (rc == -1) {
		w = where(path, f->key);
		xasprintf(cause, "%s: %s", w, why);
		free(w);
		free(why);
		return -1;
	}
	arr = json_array();
	for (i = 0; i < n; i++) {
		p = item_path(path, f->key, i);
		rc = decode_box(boxes[i], f->sub, p, &item, cause);
		free(p);
		if (rc == -1) {
			json_decref(arr);
			amp_list_free(boxes, n);
			return -1;
		}
		json_array_append_new(arr, item);
	}
	amp_list_free(boxes, n);
	*out = arr;
	return 0;
}

static int
decode_field(const struct amp_box *box, const struct amp_value *v,
    const struct field *f, const char *path, json_t **out, char **cause)
{
	struct amp_value *elems;
	char **strv, *s, *w, *why = NULL, buf[INET6_ADDRSTRLEN];
	size_t n, i;
	long long ll;
	json_t *arr;

	switch (f->kind) {
	case K_STR:
		if (amp_box_get_str(box, f->key, &s, NULL) != 0) {
			why = xstrdup("not valid UTF-8 text");
			goto bad;
		}
		*out = json_string(s);
		free(s);
		if (*out == NULL) {
			why = xstrdup("not valid UTF-8 text");
			goto bad;
		}
		return 0;
	case K_INT:
		if (amp_box_get_int(box, f->key, &ll, NULL) != 0) {
			why = xstrdup("not an integer");
			goto bad;
		}
		*out = json_integer(ll);
		return 0;
	case K_STRV:
		if (amp_listof_str_decode(v, &strv, &n, &why) == -1)
			goto bad;
		arr = json_array();
		for (i = 0; i < n; i++)
			json_array_append_new(arr, json_string(strv[i]));
		amp_strv_free(strv);
		*out = arr;
		return 0;
	case K_IPV:
		if (amp_listof_decode(v->data, v->len, &elems, &n, &why) == -1)
			goto bad;
		arr = json_array();
		for (i = 0; i < n; i++) {
			if (amp_ipaddr_to_text(&elems[i], buf, sizeof(buf),
			    &why) == -1) {
				json_decref(arr);
				free(elems);
				w = where(path, f->key);
				xasprintf(cause, "%s[%zu]: %s", w, i, why);
				free(w);
				free(why);
				return -1;
			}
			json_array_append_new(arr, json_string(buf));
		}
		free(elems);
		*out = arr;
		return 0;
	case K_LIST:
	case K_CLIST:
		return decode_list(v, f, path, out, cause);
	}
	return -1;
bad:
	w = where(path, f->key);
	xasprintf(cause, "%s: %s", w, why);
	free(w);
	free(why);
	return -1;
}

static int
decode_box(const struct amp_box *box, const struct field *fields,
    const char *path, json_t **out, char **cause)
{
	const struct field *f;
	const struct amp_value *v;
	json_t *obj, *j;
	char *w;

	obj = json_object();
	for (f = fields; f->key != NULL; f++) {
		if ((v = amp_box_get(box, f->key)) == NULL) {
			if (f->optional)
				continue;
			w = where(path, f->key);
			xasprintf(cause, "%s: missing", w);
			free(w);
			json_decref(obj);
			return -1;
		}
		if (decode_field(box, v, f, path, &j, cause) == -1) {
			json_decref(obj);
			return -1;
		}
		json_object_set_new(obj, f->key, j);
	}
	*out = obj;
	return 0;
}

static int
dhcp_args_decode_(const struct amp_box *args, int family, json_t **out,
    char **cause)
{
	json_t *j;

	*out = NULL;
	if (family != 4 && family != 6) {
		xasprintf(cause, "address family %d is not 4 or 6", family);
		return -1;
	}
	if (decode_box(args, top_fields, "", &j, cause) == -1)
		return -1;
	/* Types are right by construction; this catches the semantics. */
	if (check_obj(j, top_fields, "", family, cause) == -1) {
		json_decref(j);
		return -1;
	}
	*out = j;
	return 0;
}

/* --- encode ---------------------------------------------------------- */

static int	encode_obj(const json_t *, const struct field *, const char *,
		    struct amp_box *, char **);

static int
put_checked(struct amp_box *box, const char *path, const char *key,
    const void *data, size_t len, char **cause)
{
	char *w;

	if (len > AMP_MAX_VALUE) {
		w = where(path, key);
		xasprintf(cause, "%s: %zu bytes encoded, over the AMP limit "
		    "of %u", w, len, AMP_MAX_VALUE);
		free(w);
		return -1;
	}
	amp_box_put(box, key, data, len);
	return 0;
}

static int
encode_field(const json_t *v, const struct field *f, const char *path,
    struct amp_box *box, char **cause)
{
	struct amp_value *elems = NULL;
	struct amp_box **boxes;
	struct bytes b;
	uint8_t (*ips)[16] = NULL;
	const char *s;
	char *why = NULL, *w, *p;
	size_t n, i;
	json_t *e;
	int rc = -1;

	bytes_init(&b);
	switch (f->kind) {
	case K_STR:
		s = json_string_value(v);
		return put_checked(box, path, f->key, s, strlen(s), cause);
	case K_INT:
		amp_box_put_int(box, f->key, (long long)json_integer_value(v));
		return 0;
	case K_STRV:
	case K_IPV:
		n = json_array_size(v);
		elems = xcalloc(n ? n : 1, sizeof(*elems));
		ips = xcalloc(n ? n : 1, sizeof(*ips));
		json_array_foreach(v, i, e) {
			s = json_string_value(e);
			if (f->kind == K_STRV) {
				elems[i].data = (const uint8_t *)s;
				elems[i].len = strlen(s);
			} else if (inet_pton(AF_INET, s, ips[i]) == 1) {
				elems[i].data = ips[i];
				elems[i].len = 4;
			} else {
				inet_pton(AF_INET6, s, ips[i]);	/* checked */
				elems[i].data = ips[i];
				elems[i].len = 16;
			}
		}
		if (amp_listof_encode(elems, n, &b, &why) == -1)
			goto bad;
		rc = put_checked(box, path, f->key, b.data, b.len, cause);
		goto out;
	case K_LIST:
	case K_CLIST:
		n = json_array_size(v);
		boxes = xcalloc(n ? n : 1, sizeof(*boxes));
		json_array_foreach(v, i, e) {
			boxes[i] = amp_box_new();
			p = item_path(path, f->key, i);
			rc = encode_obj(e, f->sub, p, boxes[i], cause);
			free(p);
			if (rc == -1) {
				amp_list_free(boxes, i + 1);
				goto out;
			}
		}
		if (f->kind == K_CLIST)
			rc = amp_clist_encode(boxes, n, &b, &why);
		else
			rc = amp_list_encode(boxes, n, &b, &why);
		amp_list_free(boxes, n);
		if (rc == -1)
			goto bad;
		rc = put_checked(box, path, f->key, b.data, b.len, cause);
		goto out;
	}
bad:
	w = where(path, f->key);
	xasprintf(cause, "%s: %s", w, why);
	free(w);
	rc = -1;
out:
	free(why);
	free(elems);
	free(ips);
	bytes_free(&b);
	return rc;
}

static int
encode_obj(const json_t *obj, const struct field *fields, const char *path,
    struct amp_box *box, char **cause)
{
	const struct field *f;
	const json_t *v;

	for (f = fields; f->key != NULL; f++) {
		v = json_object_get(obj, f->key);
		if (v == NULL || json_is_null(v))
			continue;		/* optional: checked before */
		if (encode_field(v, f, path, box, cause) == -1)
			return -1;
	}
	return 0;
}

static int
dhcp_args_encode_(const json_t *in, int family, struct amp_box *out,
    char **cause)
{
	struct amp_box *tmp;

	if (dhcp_args_check_(in, family, cause) == -1)
		return -1;
	tmp = amp_box_new();
	if (encode_obj(in, top_fields, "", tmp, cause) == -1) {
		amp_box_free(tmp);
		return -1;
	}
	amp_box_merge(out, tmp);
	amp_box_free(tmp);
	return 0;
}

int
dhcp_args_check(const json_t *in, int family, char **cause)
{
	char *why = NULL;
	int rc;

	rc = dhcp_args_check_(in, family, &why);
	if (cause != NULL)
		*cause = why;
	else
		free(why);
	return rc;
}

int
dhcp_args_decode(const struct amp_box *args, int family, json_t **out,
    char **cause)
{
	char *why = NULL;
	int rc;

	rc = dhcp_args_decode_(args, family, out, &why);
	if (cause != NULL)
		*cause = why;
	else
		free(why);
	return rc;
}

int
dhcp_args_encode(const json_t *in, int family, struct amp_box *out,
    char **cause)
{
	char *why = NULL;
	int rc;

	rc = dhcp_args_encode_(in, family, out, &why);
	if (cause != NULL)
		*cause = why;
	else
		free(why);
	return rc;
}
