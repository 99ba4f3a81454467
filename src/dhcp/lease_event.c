/*
 * lease_event.c — one DHCP lease event: validation, JSON parse/encode, and
 * the UpdateLeases batch (spec C.9, maas-rpc 6.3).  Pure: no I/O.
 *
 * The JSON is what maas-dhcp-helper sends on dhcpd.sock, so a rackd socket
 * accepts either sender.  Everything is checked strictly here because the
 * region raises on a bad family or action and its MAC normalisation
 * differs from ours on odd input: better one clear log line at the rack
 * than a failed database task.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "amp.h"
#include "bytes.h"
#include "leases.h"
#include "log.h"		/* fatalx only */
#include "xmalloc.h"

/* Epoch seconds beyond this are not a timestamp (year 5138). */
#define LEASE_TS_MAX		100000000000LL
/* Kea's lifetimes are uint32 seconds; 0xffffffff means infinite. */
#define LEASE_TIME_MAX		4294967295LL

static const char *const action_names[] = {
	[LEASE_COMMIT] = "commit",
	[LEASE_EXPIRY] = "expiry",
	[LEASE_RELEASE] = "release",
};

const char *
lease_action_name(enum lease_action a)
{
	if ((size_t)a < sizeof(action_names) / sizeof(action_names[0]))
		return action_names[a];
	return "?";
}

const char *
lease_family_name(enum lease_family f)
{
	return f == LEASE_IPV6 ? "ipv6" : "ipv4";
}

int
lease_action_parse(const char *s, enum lease_action *out)
{
	size_t i;

	for (i = 0; i < sizeof(action_names) / sizeof(action_names[0]); i++) {
		if (strcmp(s, action_names[i]) == 0) {
			*out = (enum lease_action)i;
			return 0;
		}
	}
	return -1;
}

/* Quote at most 64 bytes of untrusted text for a cause. */
static char *
quote(const char *s)
{
	char *q;
	size_t i, n = strlen(s);

	q = xmalloc(66 * 4 + 3);
	{
		char *p = q;

		*p++ = '"';
		for (i = 0; i < n && i < 64; i++) {
			unsigned char c = (unsigned char)s[i];

			if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
				*p++ = (char)c;
			else
				p += sprintf(p, "\\x%02x", c);
		}
		if (n > 64) {
			memcpy(p, "...", 3);
			p += 3;
		}
		*p++ = '"';
		*p = '\0';
	}
	return q;
}

int
lease_mac_normalise(const char *in, char *out, size_t outlen, char **cause)
{
	unsigned oct[6];
	const char *p = in;
	char sep = '\0';
	size_t i, n = strlen(in);
	char *q;

	if (outlen < LEASE_MAC_MAX)
		goto bad;
	if (n == 12 && strspn(in, "0123456789abcdefABCDEF") == 12) {
		for (i = 0; i < 6; i++)
			oct[i] = (unsigned)(bytes_hexval(in[2 * i]) << 4 |
			    bytes_hexval(in[2 * i + 1]));
		goto done;
	}
	for (i = 0; i < 6; i++) {
		int h1, h2;

		if (i > 0) {
			if (i == 1 && (*p == ':' || *p == '-'))
				sep = *p;
			if (*p != sep || sep == '\0')
				goto bad;
			p++;
		}
		if ((h1 = bytes_hexval((unsigned char)*p)) < 0)
			goto bad;
		p++;
		if ((h2 = bytes_hexval((unsigned char)*p)) >= 0) {
			oct[i] = (unsigned)(h1 << 4 | h2);
			p++;
		} else
			oct[i] = (unsigned)h1;
	}
	if (*p != '\0')
		goto bad;
done:
	snprintf(out, outlen, "%02x:%02x:%02x:%02x:%02x:%02x",
	    oct[0], oct[1], oct[2], oct[3], oct[4], oct[5]);
	return 0;
bad:
	q = quote(in);
	xasprintf(cause, "mac %s is not a 6-octet hardware address", q);
	free(q);
	return -1;
}

int
lease_ip_parse(const char *in, enum lease_family *family, char *out,
    size_t outlen, char **cause)
{
	unsigned char buf[16];
	char *q;

	if (outlen >= LEASE_IP_MAX && strlen(in) < LEASE_IP_MAX) {
		/* glibc's inet_pton refuses leading zeros, octal, and
		 * short forms like "10.1": exactly the strictness wanted. */
		if (strchr(in, ':') == NULL) {
			if (inet_pton(AF_INET, in, buf) == 1 &&
			    inet_ntop(AF_INET, buf, out, outlen) != NULL) {
				*family = LEASE_IPV4;
				return 0;
			}
		} else if (inet_pton(AF_INET6, in, buf) == 1 &&
		    inet_ntop(AF_INET6, buf, out, outlen) != NULL) {
			*family = LEASE_IPV6;
			return 0;
		}
	}
	q = quote(in);
	xasprintf(cause, "ip %s is not an IPv4 or IPv6 address", q);
	free(q);
	return -1;
}

int
lease_uint_parse(const char *in, long long min, long long max,
    long long *out, char **cause)
{
	long long v = 0;
	const char *p;
	char *q;

	if (*in == '\0' || strlen(in) > 19)
		goto bad;
	for (p = in; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			goto bad;
		v = v * 10 + (*p - '0');
	}
	if (v < min || v > max)
		goto bad;
	*out = v;
	return 0;
bad:
	q = quote(in);
	xasprintf(cause, "%s is not an integer in [%lld, %lld]", q, min, max);
	free(q);
	return -1;
}

int
lease_hostname_check(const char *in, char *out, size_t outlen, char **cause)
{
	size_t i, n = strlen(in), blank = 0, tabs = 0;
	char *q;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == ' ')
			blank++;
		else if (c == '\t')
			tabs++;
		else if (c < 0x21 || c > 0x7e)
			goto bad;
	}
	if (blank + tabs == n) {
		/* maas-dhcp-helper omits an empty or all-blank name. */
		if (outlen > 0)
			out[0] = '\0';
		return 0;
	}
	if (tabs > 0 || n > LEASE_HOSTNAME_MAX || outlen <= n)
		goto bad;
	memcpy(out, in, n + 1);
	return 0;
bad:
	q = quote(in);
	xasprintf(cause, "hostname %s is not at most %d printable ASCII "
	    "characters", q, LEASE_HOSTNAME_MAX);
	free(q);
	return -1;
}

int
lease_event_check(const struct lease_event *ev, char **cause)
{
	struct lease_event tmp;
	enum lease_family fam;
	char *why = NULL;

	if ((size_t)ev->action >= sizeof(action_names) / sizeof(action_names[0])) {
		xasprintf(cause, "action %d is not commit, expiry or release",
		    (int)ev->action);
		return -1;
	}
	if (memchr(ev->mac, '\0', sizeof(ev->mac)) == NULL ||
	    lease_mac_normalise(ev->mac, tmp.mac, sizeof(tmp.mac), &why) == -1 ||
	    strcmp(ev->mac, tmp.mac) != 0) {
		free(why);
		xasprintf(cause, "mac is not normalised");
		return -1;
	}
	if (memchr(ev->ip, '\0', sizeof(ev->ip)) == NULL ||
	    lease_ip_parse(ev->ip, &fam, tmp.ip, sizeof(tmp.ip), &why) == -1) {
		free(why);
		xasprintf(cause, "ip is not an address");
		return -1;
	}
	if (fam != ev->family || strcmp(ev->ip, tmp.ip) != 0) {
		xasprintf(cause, "ip %s does not match ip_family %s or is not "
		    "canonical", ev->ip, lease_family_name(ev->family));
		return -1;
	}
	if (ev->timestamp < 0 || ev->timestamp > LEASE_TS_MAX) {
		xasprintf(cause, "timestamp %lld out of range", ev->timestamp);
		return -1;
	}
	if (ev->lease_time < -1 || ev->lease_time > LEASE_TIME_MAX ||
	    (ev->action != LEASE_COMMIT && ev->lease_time != -1)) {
		xasprintf(cause, "lease_time %lld invalid for %s",
		    ev->lease_time, lease_action_name(ev->action));
		return -1;
	}
	if (memchr(ev->hostname, '\0', sizeof(ev->hostname)) == NULL ||
	    lease_hostname_check(ev->hostname, tmp.hostname,
	    sizeof(tmp.hostname), &why) == -1 ||
	    strcmp(ev->hostname, tmp.hostname) != 0 ||
	    (ev->action != LEASE_COMMIT && ev->hostname[0] != '\0')) {
		free(why);
		xasprintf(cause, "hostname invalid for %s",
		    lease_action_name(ev->action));
		return -1;
	}
	return 0;
}

/* A required string member, or -1 with a cause naming it. */
static int
get_str(json_t *o, const char *key, const char **out, char **cause)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL) {
		xasprintf(cause, "%s missing", key);
		return -1;
	}
	if (!json_is_string(v) ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		xasprintf(cause, "%s is not a string", key);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

/* An integer member in [min, max]; 1 when absent and optional. */
static int
get_int(json_t *o, const char *key, int optional, long long min,
    long long max, long long *out, char **cause)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL) {
		if (optional)
			return 1;
		xasprintf(cause, "%s missing", key);
		return -1;
	}
	if (!json_is_integer(v)) {
		xasprintf(cause, "%s is not an integer", key);
		return -1;
	}
	if (json_integer_value(v) < min || json_integer_value(v) > max) {
		xasprintf(cause, "%s %lld out of range [%lld, %lld]", key,
		    (long long)json_integer_value(v), min, max);
		return -1;
	}
	*out = json_integer_value(v);
	return 0;
}

int
lease_event_parse(const char *buf, size_t len, struct lease_event *ev,
    char **cause)
{
	json_error_t jerr;
	json_t *o, *h;
	const char *s;
	enum lease_family fam;
	char *why = NULL;
	int rc = -1;

	memset(ev, 0, sizeof(*ev));
	ev->lease_time = -1;
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len == 0) {
		xasprintf(cause, "empty event");
		return -1;
	}
	if (len >= LEASE_LINE_MAX) {
		xasprintf(cause, "event of %zu bytes is over the %d-byte limit",
		    len, LEASE_LINE_MAX - 1);
		return -1;
	}
	if (memchr(buf, '\n', len) != NULL) {
		xasprintf(cause, "event contains a newline");
		return -1;
	}
	if ((o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		xasprintf(cause, "not JSON: %s (column %d)", jerr.text,
		    jerr.column);
		return -1;
	}
	if (!json_is_object(o)) {
		xasprintf(cause, "event is not a JSON object");
		goto out;
	}

	if (get_str(o, "action", &s, cause) == -1)
		goto out;
	if (lease_action_parse(s, &ev->action) == -1) {
		char *q = quote(s);

		xasprintf(cause, "action %s is not commit, expiry or release", q);
		free(q);
		goto out;
	}
	if (get_str(o, "mac", &s, cause) == -1)
		goto out;
	if (lease_mac_normalise(s, ev->mac, sizeof(ev->mac), cause) == -1)
		goto out;
	if (get_str(o, "ip", &s, cause) == -1)
		goto out;
	if (lease_ip_parse(s, &fam, ev->ip, sizeof(ev->ip), cause) == -1)
		goto out;
	if (get_str(o, "ip_family", &s, cause) == -1)
		goto out;
	if (strcmp(s, "ipv4") == 0)
		ev->family = LEASE_IPV4;
	else if (strcmp(s, "ipv6") == 0)
		ev->family = LEASE_IPV6;
	else {
		char *q = quote(s);

		xasprintf(cause, "ip_family %s is not ipv4 or ipv6", q);
		free(q);
		goto out;
	}
	if (ev->family != fam) {
		xasprintf(cause, "ip_family %s does not match ip %s", s, ev->ip);
		goto out;
	}
	if (get_int(o, "timestamp", 0, 0, LEASE_TS_MAX, &ev->timestamp,
	    cause) == -1)
		goto out;
	if (get_int(o, "lease_time", 1, 0, LEASE_TIME_MAX, &ev->lease_time,
	    cause) == -1)
		goto out;
	if ((h = json_object_get(o, "hostname")) != NULL && !json_is_null(h)) {
		if (!json_is_string(h) ||
		    strlen(json_string_value(h)) != json_string_length(h)) {
			xasprintf(cause, "hostname is not a string");
			goto out;
		}
		if (lease_hostname_check(json_string_value(h), ev->hostname,
		    sizeof(ev->hostname), cause) == -1)
			goto out;
	}
	/* The region reads lease_time and hostname only for a commit. */
	if (ev->action != LEASE_COMMIT) {
		ev->lease_time = -1;
		ev->hostname[0] = '\0';
	}
	rc = 0;
out:
	free(why);
	json_decref(o);
	return rc;
}

static json_t *
event_json(const struct lease_event *ev)
{
	json_t *o = json_object();

	json_object_set_new(o, "action",
	    json_string(lease_action_name(ev->action)));
	json_object_set_new(o, "mac", json_string(ev->mac));
	json_object_set_new(o, "ip_family",
	    json_string(lease_family_name(ev->family)));
	json_object_set_new(o, "ip", json_string(ev->ip));
	json_object_set_new(o, "timestamp", json_integer(ev->timestamp));
	if (ev->action == LEASE_COMMIT && ev->lease_time >= 0)
		json_object_set_new(o, "lease_time",
		    json_integer(ev->lease_time));
	if (ev->action == LEASE_COMMIT && ev->hostname[0] != '\0')
		json_object_set_new(o, "hostname", json_string(ev->hostname));
	return o;
}

char *
lease_event_encode(const struct lease_event *ev)
{
	json_t *o = event_json(ev);
	char *s;

	s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII |
	    JSON_PRESERVE_ORDER);
	json_decref(o);
	if (s == NULL)
		fatalx("%s: json_dumps failed", __func__);
	return s;
}

size_t
lease_batch_take(const struct lease_event *evs, size_t n, size_t max)
{
	size_t i, j;

	if (n > max)
		n = max;
	/* Quadratic, but n <= LEASE_BATCH_MAX.  (At ~420 bytes per item at
	 * most, 100 items stay well inside one 65535-byte AMP value.) */
	for (i = 0; i < n; i++) {
		for (j = 0; j < i; j++) {
			if (strcmp(evs[i].ip, evs[j].ip) == 0)
				return i;
		}
	}
	return n;
}

struct amp_box *
lease_batch_args(const char *cluster_uuid, const struct lease_event *evs,
    size_t n, char **cause)
{
	struct amp_box **items, *args;
	struct bytes list;
	size_t i;
	int rc;

	items = xcalloc(n > 0 ? n : 1, sizeof(*items));
	for (i = 0; i < n; i++) {
		const struct lease_event *ev = &evs[i];
		struct amp_box *b = amp_box_new();

		amp_box_put_str(b, "action", lease_action_name(ev->action));
		amp_box_put_str(b, "mac", ev->mac);
		amp_box_put_str(b, "ip_family", lease_family_name(ev->family));
		amp_box_put_str(b, "ip", ev->ip);
		amp_box_put_int(b, "timestamp", ev->timestamp);
		if (ev->action == LEASE_COMMIT && ev->lease_time >= 0)
			amp_box_put_int(b, "lease_time", ev->lease_time);
		if (ev->action == LEASE_COMMIT && ev->hostname[0] != '\0')
			amp_box_put_str(b, "hostname", ev->hostname);
		items[i] = b;
	}
	bytes_init(&list);
	rc = amp_list_encode(items, n, &list, cause);
	amp_list_free(items, n);
	if (rc == -1) {
		bytes_free(&list);
		return NULL;
	}
	if (list.len > AMP_MAX_VALUE) {
		xasprintf(cause, "updates list of %zu bytes is over the AMP "
		    "value limit", list.len);
		bytes_free(&list);
		return NULL;
	}
	args = amp_box_new();
	amp_box_put_str(args, "cluster_uuid",
	    cluster_uuid != NULL ? cluster_uuid : "");
	amp_box_put(args, "updates", list.data, list.len);
	bytes_free(&list);
	return args;
}
