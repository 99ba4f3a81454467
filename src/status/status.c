/*
 * status.c — the status document and the metrics text, built from the
 * services' own accessors (pure apart from reading them), and the human
 * table `rackd status` prints.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "dhcp.h"
#include "metrics.h"
#include "power.h"
#include "rackd.h"
#include "refresh.h"
#include "region.h"
#include "status.h"
#include "tftp.h"
#include "xmalloc.h"

json_t *
status_json(const struct status_sources *src)
{
	json_t *o = json_object();

	json_object_set_new(o, "format", json_integer(STATUS_FORMAT_VERSION));
	json_object_set_new(o, "version", json_string(src->version != NULL ?
	    src->version : RACKD_VERSION));
	json_object_set_new(o, "hostname", src->hostname != NULL ?
	    json_string(src->hostname) : json_null());
	json_object_set_new(o, "region", src->pool != NULL ?
	    region_pool_status_json(src->pool) : json_null());
	json_object_set_new(o, "power", src->power != NULL ?
	    power_status_json(src->power) : json_null());
	json_object_set_new(o, "dhcp", src->dhcp != NULL ?
	    dhcp_status_json(src->dhcp) : json_null());
	json_object_set_new(o, "refresh", src->refresh != NULL ?
	    refresh_status_json(src->refresh) : json_null());
	json_object_set_new(o, "tftp", src->tftp != NULL ?
	    tftp_status_json(src->tftp) : json_null());
	json_object_set_new(o, "http", src->httpd != NULL ?
	    status_http_json(src->httpd) : json_null());
	json_object_set_new(o, "images", src->sync != NULL ||
	    src->images != NULL ? status_images_json(src->sync, src->images) :
	    json_null());
	return o;
}

char *
status_metrics_text(const struct status_sources *src)
{
	struct metrics *m = src->metrics;

	if (m == NULL)
		return xstrdup("");
	if (src->pool != NULL)
		region_pool_metrics(src->pool, m);
	if (src->power != NULL)
		power_metrics(src->power, m);
	if (src->dhcp != NULL)
		dhcp_metrics(src->dhcp, m);
	if (src->refresh != NULL)
		refresh_metrics(src->refresh, m);
	if (src->tftp != NULL)
		tftp_metrics(src->tftp, m);
	if (src->httpd != NULL)
		status_http_metrics(src->httpd, m);
	if (src->sync != NULL || src->images != NULL)
		status_images_metrics(src->sync, src->images, m);
	return metrics_render(m);
}

/* --- the human table ---------------------------------------------------- */

static const char *
str_or(const json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : dflt;
}

/* An integer field as text, "-" when null/absent. */
static const char *
int_or_dash(const json_t *o, const char *key, char *buf, size_t len,
    const char *suffix)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v))
		return "-";
	snprintf(buf, len, "%lld%s", (long long)json_integer_value(v), suffix);
	return buf;
}

static void
addf(struct bytes *b, const char *fmt, ...) RACKD_PRINTF(2, 3);

static void
addf(struct bytes *b, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	xvasprintf(&s, fmt, ap);
	va_end(ap);
	bytes_add_str(b, s);
	free(s);
}

static void
table_region(struct bytes *b, const json_t *reg)
{
	const json_t *q = json_object_get(reg, "queue"), *l;
	char rtt[32], age[32];
	size_t i;

	addf(b, "rack %s  maas_url %s%s\n", str_or(reg, "system_id", "-"),
	    str_or(reg, "maas_url", "-"),
	    json_is_true(json_object_get(reg, "from_saved")) ?
	    " (saved list)" : "");
	addf(b, "call queue %lld/%lld\n",
	    (long long)json_integer_value(json_object_get(q, "depth")),
	    (long long)json_integer_value(json_object_get(q, "max")));
	addf(b, "%-28s %-28s %-12s %8s %8s\n", "EVENT LOOP", "ADDRESS",
	    "STATE", "RTT", "FAILURES");
	json_array_foreach(json_object_get(reg, "event_loops"), i, l) {
		json_t *r = json_object_get(l, "rtt_ms");
		const char *state = str_or(l, "state", "?");

		/* A round trip is only news while the loop is up. */
		if (json_is_number(r) && strcmp(state, "established") == 0)
			snprintf(rtt, sizeof rtt, "%.1fms", json_number_value(r));
		else
			snprintf(rtt, sizeof rtt, "-");
		addf(b, "%-28.28s %-28.28s %-12s %8s %8lld\n",
		    str_or(l, "name", "?"), str_or(l, "address", "-"), state,
		    rtt, (long long)json_integer_value(json_object_get(l,
		    "failures")));
		if (json_is_string(json_object_get(l, "last_error")))
			addf(b, "  last error %s ago: %.70s\n",
			    int_or_dash(l, "last_error_age_s", age, sizeof age,
			    "s"), str_or(l, "last_error", ""));
	}
}

static void
table_power(struct bytes *b, const json_t *pw)
{
	const json_t *e;
	char q[32];
	size_t i;

	addf(b, "\npower: %lld running, %lld waiting, %lld quarantined\n",
	    (long long)json_integer_value(json_object_get(pw, "running")),
	    (long long)json_integer_value(json_object_get(pw, "waiting")),
	    (long long)json_integer_value(json_object_get(pw, "quarantined")));
	if (json_array_size(json_object_get(pw, "bmcs")) == 0)
		return;
	addf(b, "%-24s %-7s %6s %6s %-11s %s\n", "BMC", "STATE", "RUNS",
	    "FAILED", "QUARANTINE", "LAST ERROR");
	json_array_foreach(json_object_get(pw, "bmcs"), i, e)
		addf(b, "%-24.24s %-7s %6lld %6lld %-11s %.40s\n",
		    str_or(e, "bmc", "?"), str_or(e, "state", "?"),
		    (long long)json_integer_value(json_object_get(e, "runs")),
		    (long long)json_integer_value(json_object_get(e, "failures")),
		    int_or_dash(e, "quarantined_for_s", q, sizeof q, "s left"),
		    str_or(e, "last_error", "-"));
}

static void
table_dhcp(struct bytes *b, const json_t *d)
{
	const json_t *e, *ls = json_object_get(d, "leases");
	char pid[32], age[32];
	size_t i;

	addf(b, "\ndhcp: lease spool %lld pending (oldest %s), %lld sent, "
	    "%lld dropped\n",
	    (long long)json_integer_value(json_object_get(ls, "pending")),
	    int_or_dash(ls, "oldest_pending_age_s", age, sizeof age, "s"),
	    (long long)json_integer_value(json_object_get(ls, "sent")),
	    (long long)json_integer_value(json_object_get(ls, "dropped")));
	if (json_array_size(json_object_get(d, "instances")) == 0)
		return;
	addf(b, "%-22s %-4s %-8s %7s %-9s %-14s %-14s %s\n", "KEA INSTANCE",
	    "FAM", "STATUS", "PID", "ROLE", "HA STATE", "PARTNER", "APPLIED");
	json_array_foreach(json_object_get(d, "instances"), i, e)
		addf(b, "%-22.22s v%-3lld %-8s %7s %-9.9s %-14.14s %-14.14s %s%s\n",
		    str_or(e, "name", "?"),
		    (long long)json_integer_value(json_object_get(e, "family")),
		    str_or(e, "status", "?"),
		    int_or_dash(e, "pid", pid, sizeof pid, ""),
		    str_or(e, "ha_role", "-"), str_or(e, "ha_state", "-"),
		    str_or(e, "partner_state", "-"),
		    int_or_dash(e, "last_apply_age_s", age, sizeof age, "s ago"),
		    json_is_string(json_object_get(e, "last_apply_error")) ?
		    " (failed)" : "");
}

static void
table_refresh(struct bytes *b, const json_t *r)
{
	char age[32], n[32];

	addf(b, "\nrefresh: %lld ok, %lld failed; last ok %s, interfaces %s%s%.50s\n",
	    (long long)json_integer_value(json_object_get(r, "ok")),
	    (long long)json_integer_value(json_object_get(r, "failed")),
	    int_or_dash(r, "last_ok_age_s", age, sizeof age, "s ago"),
	    int_or_dash(r, "interfaces", n, sizeof n, ""),
	    json_is_string(json_object_get(r, "last_error")) ? "; failing: " : "",
	    str_or(r, "last_error", ""));
}

static void
table_tftp(struct bytes *b, const json_t *t)
{
	addf(b, "\ntftp: port %lld, %lld active, %lld completed, %lld failed, "
	    "%lld refused (busy)\n",
	    (long long)json_integer_value(json_object_get(t, "port4")),
	    (long long)json_integer_value(json_object_get(t, "active")),
	    (long long)json_integer_value(json_object_get(t, "completed")),
	    (long long)json_integer_value(json_object_get(t, "failed")),
	    (long long)json_integer_value(json_object_get(t, "busy")));
}

/* 1234 -> "1.2 KiB" (as the sync's own log lines). */
static const char *
human_bytes(json_int_t n, char *buf, size_t len)
{
	const char *u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	size_t i = 0;

	while (v >= 1024 && i + 1 < RACKD_NELEM(u)) {
		v /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(buf, len, "%lld B", (long long)n);
	else
		snprintf(buf, len, "%.1f %s", v, u[i]);
	return buf;
}

static long long
int_of(const json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

/* Append ", <n> <what>" for a non-zero count (the first without ", "). */
static void
add_count(struct bytes *b, int *first, long long n, const char *what)
{
	if (n == 0)
		return;
	addf(b, "%s%lld %s", *first ? "" : ", ", n, what);
	*first = 0;
}

static void
table_http(struct bytes *b, const json_t *h)
{
	const json_t *l, *r = json_object_get(h, "requests");
	const json_t *px = json_object_get(h, "proxy");
	struct bytes line;
	char sent[32], age[32];
	size_t i, used = 0;
	int first = 1;

	/* Dual-stack binds make long lists: what fits, then a count. */
	addf(b, "\nhttp: listening");
	json_array_foreach(json_object_get(h, "listening"), i, l) {
		char one[100];

		snprintf(one, sizeof one, "%s%s", str_or(l, "address", "?"),
		    strcmp(str_or(l, "role", ""), "internal") == 0 ?
		    " (internal)" : "");
		if (used + strlen(one) > 72) {
			addf(b, ", %zu more", json_array_size(json_object_get(h,
			    "listening")) - i);
			break;
		}
		addf(b, "%s%s", i > 0 ? ", " : " ", one);
		used += strlen(one) + 2;
	}
	addf(b, "%s\n", i == 0 ? " nowhere" : "");
	addf(b, "  %lld connections (%lld proxied), %s sent\n",
	    int_of(h, "connections"), int_of(h, "proxying"),
	    human_bytes((json_int_t)int_of(h, "bytes_sent"), sent,
	    sizeof sent));
	bytes_init(&line);
	add_count(&line, &first, int_of(r, "images"), "images");
	add_count(&line, &first, int_of(r, "boot_config"), "boot configs");
	add_count(&line, &first, int_of(r, "file"), "files");
	add_count(&line, &first, int_of(r, "proxy"), "proxied");
	add_count(&line, &first, int_of(r, "log"), "log");
	add_count(&line, &first, int_of(r, "metrics"), "metrics");
	add_count(&line, &first, int_of(r, "other"), "other");
	bytes_add_u8(&line, '\0');
	addf(b, "  requests: %.86s\n", first ? "none" :
	    (const char *)line.data);
	bytes_free(&line);
	addf(b, "  proxy: region %.40s, %lld failed\n",
	    str_or(px, "region", "- (none answered yet)"), int_of(px, "failed"));
	if (json_is_string(json_object_get(px, "last_error")))
		addf(b, "  proxy last error %s ago: %.60s\n",
		    int_or_dash(px, "last_error_age_s", age, sizeof age, "s"),
		    str_or(px, "last_error", ""));
}

static void
table_images(struct bytes *b, const json_t *im)
{
	const json_t *p = json_object_get(im, "progress");
	char n[32], age[32], got[32], tot[32], rate[32];

	addf(b, "\nimages: %s", str_or(im, "state", "?"));
	if (json_is_object(p))
		addf(b, " (%s: %lld/%lld files, %s of %s, %s/s)",
		    str_or(im, "phase", "?"), int_of(p, "files"),
		    int_of(p, "files_total"), human_bytes(int_of(p, "bytes"),
		    got, sizeof got), human_bytes(int_of(p, "bytes_total"), tot,
		    sizeof tot), human_bytes(int_of(p, "rate_bps"), rate,
		    sizeof rate));
	addf(b, "\n  current %.50s, %s boot images\n",
	    str_or(im, "current", "-"),
	    int_or_dash(im, "boot_images", n, sizeof n, ""));
	if (json_is_string(json_object_get(im, "last_result")))
		addf(b, "  last sync %s, ended %s ago%s%.60s\n",
		    str_or(im, "last_result", "?"),
		    int_or_dash(im, "last_end_age_s", age, sizeof age, "s"),
		    json_is_string(json_object_get(im, "last_error")) ?
		    ": " : "", str_or(im, "last_error", ""));
}

char *
status_format_table(const json_t *doc)
{
	struct bytes b;
	const json_t *v;

	bytes_init(&b);
	addf(&b, "rackd %s on %s\n", str_or(doc, "version", "?"),
	    str_or(doc, "hostname", "?"));
	if (json_is_object(v = json_object_get(doc, "region")))
		table_region(&b, v);
	else
		addf(&b, "region: not started (no shared secret yet)\n");
	if (json_is_object(v = json_object_get(doc, "power")))
		table_power(&b, v);
	if (json_is_object(v = json_object_get(doc, "dhcp")))
		table_dhcp(&b, v);
	if (json_is_object(v = json_object_get(doc, "refresh")))
		table_refresh(&b, v);
	if (json_is_object(v = json_object_get(doc, "tftp")))
		table_tftp(&b, v);
	if (json_is_object(v = json_object_get(doc, "http")))
		table_http(&b, v);
	if (json_is_object(v = json_object_get(doc, "images")))
		table_images(&b, v);
	bytes_add_u8(&b, '\0');
	return (char *)bytes_steal(&b, NULL);
}
