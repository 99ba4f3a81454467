/*
 * status_boot.c — the boot services in `rackd status` and the metrics:
 * HTTP (5248/5249) and the boot-image sync, from their read-only
 * snapshots (httpd_get_stats(), imagesync_get_stats()) and the image
 * store's ListBootImages rows.  The human lines are in status.c.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bootres.h"
#include "httpd.h"
#include "imagesync.h"
#include "metrics.h"
#include "rackd.h"
#include "status.h"

#define HTTP_METRIC_REQUESTS	"rackd_http_requests_total"
#define HTTP_METRIC_SENT	"rackd_http_sent_bytes_total"
#define HTTP_METRIC_CONNS	"rackd_http_connections"
#define HTTP_METRIC_PROXYING	"rackd_http_proxy_connections"
#define HTTP_METRIC_PROXY_FAIL	"rackd_http_proxy_failures_total"
#define HTTP_METRIC_LISTENING	"rackd_http_listening"

#define IS_METRIC_RUNNING	"rackd_image_sync_running"
#define IS_METRIC_PHASE		"rackd_image_sync_phase"
#define IS_METRIC_RUNS		"rackd_image_sync_runs_total"
#define IS_METRIC_FILES		"rackd_image_sync_files"
#define IS_METRIC_BYTES		"rackd_image_sync_bytes"
#define IS_METRIC_RATE		"rackd_image_sync_download_bytes_per_second"
#define IS_METRIC_START	"rackd_image_sync_last_start_timestamp_seconds"
#define IS_METRIC_END	"rackd_image_sync_last_end_timestamp_seconds"
#define IS_METRIC_IMAGES	"rackd_image_sync_boot_images"

/* Every phase a run goes through, in order (imagesync.h). */
static const char *const status_sync_phases[] = {
	"sources", "index", "download", "unpack", "snapshot",
};

/* --- HTTP ---------------------------------------------------------------- */

json_t *
status_http_json(const struct httpd *h)
{
	struct httpd_stats st;
	json_t *o, *req, *ls, *px;
	const char *name;
	int internal;
	size_t i;

	httpd_get_stats(h, &st);
	ls = json_array();
	for (i = 0; (name = httpd_listener_name(h, i, &internal)) != NULL; i++)
		json_array_append_new(ls, json_pack("{s:s, s:s}", "address",
		    name, "role", internal ? "internal" : "machines"));
	req = json_object();
	for (i = 0; i < HTTPD_NKINDS; i++)
		json_object_set_new(req, httpd_kind_name((enum httpd_kind)i),
		    json_integer((json_int_t)st.requests[i]));
	px = json_object();
	json_object_set_new(px, "region", st.proxy_region[0] != '\0' ?
	    json_string(st.proxy_region) : json_null());
	json_object_set_new(px, "failed", json_integer((json_int_t)
	    st.proxy_failed));
	json_object_set_new(px, "last_error", st.proxy_last_error[0] != '\0' ?
	    json_string(st.proxy_last_error) : json_null());
	json_object_set_new(px, "last_error_age_s",
	    st.proxy_last_error[0] != '\0' ? json_integer((json_int_t)
	    ((rackd_now_ms() - st.proxy_last_error_ms) / 1000)) : json_null());
	o = json_object();
	json_object_set_new(o, "listening", ls);
	json_object_set_new(o, "connections", json_integer((json_int_t)
	    st.connections));
	json_object_set_new(o, "proxying", json_integer((json_int_t)
	    st.proxying));
	json_object_set_new(o, "requests", req);
	json_object_set_new(o, "bytes_sent", json_integer((json_int_t)
	    st.bytes_sent));
	json_object_set_new(o, "proxy", px);
	return o;
}

void
status_http_metrics(const struct httpd *h, struct metrics *m)
{
	struct httpd_stats st;
	const char *v[2], *name;
	int internal;
	size_t i;

	metrics_define(m, HTTP_METRIC_REQUESTS, METRICS_COUNTER,
	    "HTTP requests read, by kind", "kind", NULL, 0);
	metrics_define(m, HTTP_METRIC_SENT, METRICS_COUNTER,
	    "Bytes written to HTTP clients, both ports", NULL, NULL, 0);
	metrics_define(m, HTTP_METRIC_CONNS, METRICS_GAUGE,
	    "HTTP client connections open", NULL, NULL, 0);
	metrics_define(m, HTTP_METRIC_PROXYING, METRICS_GAUGE,
	    "HTTP client connections relaying a /MAAS/ request", NULL, NULL,
	    0);
	metrics_define(m, HTTP_METRIC_PROXY_FAIL, METRICS_COUNTER,
	    "/MAAS/ requests answered with an error by rackd (no region)",
	    NULL, NULL, 0);
	metrics_define(m, HTTP_METRIC_LISTENING, METRICS_GAUGE,
	    "HTTP listening sockets (1 each)", "address,role", NULL, 0);
	httpd_get_stats(h, &st);
	for (i = 0; i < HTTPD_NKINDS; i++) {
		v[0] = httpd_kind_name((enum httpd_kind)i);
		metrics_counter_set(m, HTTP_METRIC_REQUESTS, v,
		    (double)st.requests[i]);
	}
	metrics_counter_set(m, HTTP_METRIC_SENT, NULL, (double)st.bytes_sent);
	metrics_gauge_set(m, HTTP_METRIC_CONNS, NULL, (double)st.connections);
	metrics_gauge_set(m, HTTP_METRIC_PROXYING, NULL, (double)st.proxying);
	metrics_counter_set(m, HTTP_METRIC_PROXY_FAIL, NULL,
	    (double)st.proxy_failed);
	for (i = 0; (name = httpd_listener_name(h, i, &internal)) != NULL;
	    i++) {
		v[0] = name;
		v[1] = internal ? "internal" : "machines";
		metrics_gauge_set(m, HTTP_METRIC_LISTENING, v, 1);
	}
}

/* --- the image sync ------------------------------------------------------ */

/* "state": what an operator asks first. */
static const char *
sync_state(const struct imagesync_stats *st)
{
	if (st->running)
		return "running";
	return st->last_ok == 0 ? "failed" : "idle";
}

static json_t *
utc_or_null(int64_t t)
{
	char buf[32];
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL)
		return json_null();
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

static json_t *
age_or_null(int64_t t, time_t now)
{
	if (t <= 0)
		return json_null();
	return json_integer(now > t ? (json_int_t)(now - t) : 0);
}

json_t *
status_images_json(const struct imagesync *sync, struct bootres_store *store)
{
	struct imagesync_stats st;
	const struct bootres_list *rows;
	time_t now = time(NULL);
	json_t *o = json_object(), *pr = json_null();

	imagesync_get_stats(sync, &st);
	json_object_set_new(o, "state", json_string(sync_state(&st)));
	/* IsImportBootImagesRunning answers from the same flag. */
	json_object_set_new(o, "import_running", json_boolean(st.running));
	json_object_set_new(o, "phase", st.phase != NULL ?
	    json_string(st.phase) : json_null());
	if (st.running)
		pr = json_pack("{s:I, s:I, s:I, s:I, s:I}",
		    "files", (json_int_t)st.files_done,
		    "files_total", (json_int_t)st.files_total,
		    "bytes", (json_int_t)st.bytes_done,
		    "bytes_total", (json_int_t)st.bytes_total,
		    "rate_bps", (json_int_t)st.rate);
	json_object_set_new(o, "progress", pr);
	json_object_set_new(o, "last_start", utc_or_null(st.last_start));
	json_object_set_new(o, "last_start_age_s",
	    age_or_null(st.last_start, now));
	json_object_set_new(o, "last_end", utc_or_null(st.last_end));
	json_object_set_new(o, "last_end_age_s", age_or_null(st.last_end, now));
	json_object_set_new(o, "last_result", st.last_ok < 0 ? json_null() :
	    json_string(st.last_ok ? "ok" : "failed"));
	json_object_set_new(o, "last_error", st.last_error[0] != '\0' ?
	    json_string(st.last_error) : json_null());
	json_object_set_new(o, "runs_ok", json_integer((json_int_t)st.runs_ok));
	json_object_set_new(o, "runs_failed", json_integer((json_int_t)
	    st.runs_failed));
	json_object_set_new(o, "current", st.current[0] != '\0' ?
	    json_string(st.current) : json_null());
	rows = store != NULL ? bootres_store_images(store) : NULL;
	json_object_set_new(o, "boot_images", rows != NULL ?
	    json_integer((json_int_t)rows->n) : json_null());
	return o;
}

void
status_images_metrics(const struct imagesync *sync,
    struct bootres_store *store, struct metrics *m)
{
	struct imagesync_stats st;
	const struct bootres_list *rows;
	const char *v[1];
	size_t i;

	metrics_define(m, IS_METRIC_RUNNING, METRICS_GAUGE,
	    "1 while a boot-image sync runs (IsImportBootImagesRunning)",
	    NULL, NULL, 0);
	metrics_define(m, IS_METRIC_PHASE, METRICS_GAUGE,
	    "1 for the phase the running sync is in", "phase", NULL, 0);
	metrics_define(m, IS_METRIC_RUNS, METRICS_COUNTER,
	    "Boot-image syncs ended, by result", "result", NULL, 0);
	metrics_define(m, IS_METRIC_FILES, METRICS_GAUGE,
	    "Files of the running sync: to fetch (total), fetched (done)",
	    "state", NULL, 0);
	metrics_define(m, IS_METRIC_BYTES, METRICS_GAUGE,
	    "Bytes of the running sync: to fetch (total), fetched (done)",
	    "state", NULL, 0);
	metrics_define(m, IS_METRIC_RATE, METRICS_GAUGE,
	    "Download rate of the running sync since it began", NULL, NULL, 0);
	metrics_define(m, IS_METRIC_START, METRICS_GAUGE,
	    "When the last sync started (0: none yet)", NULL, NULL, 0);
	metrics_define(m, IS_METRIC_END, METRICS_GAUGE,
	    "When the last sync ended (0: none yet)", NULL, NULL, 0);
	metrics_define(m, IS_METRIC_IMAGES, METRICS_GAUGE,
	    "ListBootImages rows of the boot-resources tree", NULL, NULL, 0);
	imagesync_get_stats(sync, &st);
	metrics_gauge_set(m, IS_METRIC_RUNNING, NULL, st.running);
	for (i = 0; i < RACKD_NELEM(status_sync_phases); i++) {
		v[0] = status_sync_phases[i];
		metrics_gauge_set(m, IS_METRIC_PHASE, v, st.phase != NULL &&
		    strcmp(st.phase, v[0]) == 0);
	}
	v[0] = "ok";
	metrics_counter_set(m, IS_METRIC_RUNS, v, (double)st.runs_ok);
	v[0] = "failed";
	metrics_counter_set(m, IS_METRIC_RUNS, v, (double)st.runs_failed);
	v[0] = "total";
	metrics_gauge_set(m, IS_METRIC_FILES, v, (double)st.files_total);
	metrics_gauge_set(m, IS_METRIC_BYTES, v, (double)st.bytes_total);
	v[0] = "done";
	metrics_gauge_set(m, IS_METRIC_FILES, v, (double)st.files_done);
	metrics_gauge_set(m, IS_METRIC_BYTES, v, (double)st.bytes_done);
	metrics_gauge_set(m, IS_METRIC_RATE, NULL, (double)st.rate);
	metrics_gauge_set(m, IS_METRIC_START, NULL, (double)st.last_start);
	metrics_gauge_set(m, IS_METRIC_END, NULL, (double)st.last_end);
	if (store != NULL && (rows = bootres_store_images(store)) != NULL)
		metrics_gauge_set(m, IS_METRIC_IMAGES, NULL, (double)rows->n);
}
