/*
 * test_metrics.c — metrics.c: the registry's rules (define once, types,
 * labels, reset, NULL registry) and the text exposition format exactly
 * (HELP/TYPE lines, label escaping, cumulative histogram buckets, +Inf,
 * _count and _sum), plus promtool's verdict on the output when promtool
 * is installed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics.h"

static void
test_counter_gauge_text(void **state)
{
	struct metrics *m = metrics_new();
	const char *v[2] = { "PowerOn", "ok" };
	char *t;

	metrics_define(m, "rackd_calls_total", METRICS_COUNTER,
	    "Calls, by command", "call,result", NULL, 0);
	metrics_define(m, "rackd_queue_depth", METRICS_GAUGE, "Queue", NULL,
	    NULL, 0);
	/* A second definition is ignored (the first type stays). */
	metrics_define(m, "rackd_calls_total", METRICS_GAUGE, "x", NULL, NULL, 0);
	metrics_counter_add(m, "rackd_calls_total", v, 1);
	metrics_counter_add(m, "rackd_calls_total", v, 2);
	metrics_counter_add(m, "rackd_calls_total", v, -5);	/* ignored */
	v[1] = "timeout";
	metrics_counter_add(m, "rackd_calls_total", v, 1);
	metrics_gauge_set(m, "rackd_queue_depth", NULL, 7);
	metrics_gauge_set(m, "rackd_queue_depth", NULL, 3);
	/* Wrong type, unknown name, missing values: no effect. */
	metrics_gauge_set(m, "rackd_calls_total", v, 99);
	metrics_counter_add(m, "nope", v, 1);
	metrics_counter_add(m, "rackd_calls_total", NULL, 1);
	t = metrics_render(m);
	assert_string_equal(t,
	    "# HELP rackd_calls_total Calls, by command\n"
	    "# TYPE rackd_calls_total counter\n"
	    "rackd_calls_total{call=\"PowerOn\",result=\"ok\"} 3\n"
	    "rackd_calls_total{call=\"PowerOn\",result=\"timeout\"} 1\n"
	    "# HELP rackd_queue_depth Queue\n"
	    "# TYPE rackd_queue_depth gauge\n"
	    "rackd_queue_depth 3\n");
	free(t);
	metrics_free(m);
}

static void
test_escaping(void **state)
{
	struct metrics *m = metrics_new();
	const char *v[1] = { "a\"b\\c\nd" };
	char *t;

	metrics_define(m, "g", METRICS_GAUGE, "help with \\ and\nnewline",
	    "x", NULL, 0);
	metrics_gauge_set(m, "g", v, 0.25);
	t = metrics_render(m);
	assert_string_equal(t,
	    "# HELP g help with \\\\ and\\nnewline\n"
	    "# TYPE g gauge\n"
	    "g{x=\"a\\\"b\\\\c\\nd\"} 0.25\n");
	free(t);
	metrics_free(m);
}

static void
test_histogram(void **state)
{
	static const double b[] = { 0.1, 1, 10 };
	struct metrics *m = metrics_new();
	const char *v[1] = { "Ping" };
	char *t;

	metrics_define(m, "lat", METRICS_HISTOGRAM, "Latency", "call", b, 3);
	metrics_histogram_observe(m, "lat", v, 0.05);
	metrics_histogram_observe(m, "lat", v, 0.1);	/* le is inclusive */
	metrics_histogram_observe(m, "lat", v, 5);
	metrics_histogram_observe(m, "lat", v, 50);	/* only +Inf */
	t = metrics_render(m);
	assert_string_equal(t,
	    "# HELP lat Latency\n"
	    "# TYPE lat histogram\n"
	    "lat_bucket{call=\"Ping\",le=\"0.1\"} 2\n"
	    "lat_bucket{call=\"Ping\",le=\"1\"} 2\n"
	    "lat_bucket{call=\"Ping\",le=\"10\"} 3\n"
	    "lat_bucket{call=\"Ping\",le=\"+Inf\"} 4\n"
	    "lat_count{call=\"Ping\"} 4\n"
	    "lat_sum{call=\"Ping\"} 55.15\n");
	free(t);
	metrics_free(m);
}

static void
test_default_buckets_and_no_labels(void **state)
{
	struct metrics *m = metrics_new();
	char *t;

	metrics_define(m, "h", METRICS_HISTOGRAM, "H", NULL, NULL, 0);
	metrics_histogram_observe(m, "h", NULL, 0.3);
	t = metrics_render(m);
	/* prometheus_client's defaults, as MAAS uses them. */
	assert_non_null(strstr(t, "h_bucket{le=\"0.005\"} 0\n"));
	assert_non_null(strstr(t, "h_bucket{le=\"0.25\"} 0\n"));
	assert_non_null(strstr(t, "h_bucket{le=\"0.5\"} 1\n"));
	assert_non_null(strstr(t, "h_bucket{le=\"10\"} 1\n"));
	assert_non_null(strstr(t, "h_bucket{le=\"+Inf\"} 1\n"));
	assert_non_null(strstr(t, "h_count 1\nh_sum 0.3\n"));
	free(t);
	metrics_free(m);
}

static void
test_reset_and_null(void **state)
{
	struct metrics *m = metrics_new();
	const char *v[1] = { "hot-standby" };
	char *t;

	metrics_define(m, "ha", METRICS_GAUGE, "HA", "state", NULL, 0);
	metrics_gauge_set(m, "ha", v, 1);
	metrics_reset(m, "ha");
	v[0] = "partner-down";
	metrics_gauge_set(m, "ha", v, 1);
	t = metrics_render(m);
	assert_null(strstr(t, "hot-standby"));
	assert_non_null(strstr(t, "ha{state=\"partner-down\"} 1\n"));
	free(t);
	metrics_free(m);
	/* A NULL registry: every call is a no-op, render gives "". */
	metrics_define(NULL, "x", METRICS_COUNTER, "", NULL, NULL, 0);
	metrics_counter_add(NULL, "x", NULL, 1);
	metrics_histogram_observe(NULL, "x", NULL, 1);
	metrics_reset(NULL, "x");
	t = metrics_render(NULL);
	assert_string_equal(t, "");
	free(t);
	metrics_free(NULL);
}

static void
test_series_bound(void **state)
{
	struct metrics *m = metrics_new();
	const char *v[1];
	char name[32], *t;
	int i;

	metrics_define(m, "c", METRICS_COUNTER, "C", "file", NULL, 0);
	for (i = 0; i < METRICS_SERIES_MAX + 10; i++) {
		snprintf(name, sizeof name, "f%d", i);
		v[0] = name;
		metrics_counter_add(m, "c", v, 1);
	}
	v[0] = "f0";	/* an existing series still counts on its own */
	metrics_counter_add(m, "c", v, 1);
	t = metrics_render(m);
	assert_non_null(strstr(t, "c{file=\"f0\"} 2\n"));
	assert_non_null(strstr(t, "c{file=\"f499\"} 1\n"));
	assert_null(strstr(t, "c{file=\"f500\"}"));
	assert_non_null(strstr(t, "c{file=\"_other\"} 10\n"));
	free(t);
	metrics_free(m);
}

/* promtool (package prometheus) is the reference parser and linter. */
static void
test_promtool_accepts(void **state)
{
	struct metrics *m = metrics_new();
	const char *v[2] = { "Ping", "ok" };
	char *t, path[] = "/tmp/test_metrics.XXXXXX", cmd[256];
	FILE *f;
	int fd;

	if (system("command -v promtool >/dev/null 2>&1") != 0)
		skip();
	metrics_define(m, "maas_rack_region_rpc_call_latency", METRICS_HISTOGRAM,
	    "Latency of Rack-Region RPC call", "call", NULL, 0);
	metrics_define(m, "rackd_region_calls_total", METRICS_COUNTER,
	    "Calls, by command and result", "call,result", NULL, 0);
	metrics_define(m, "rackd_region_queue_depth", METRICS_GAUGE,
	    "Calls waiting", NULL, NULL, 0);
	metrics_histogram_observe(m, "maas_rack_region_rpc_call_latency", v,
	    0.02);
	metrics_counter_add(m, "rackd_region_calls_total", v, 1);
	metrics_gauge_set(m, "rackd_region_queue_depth", NULL, 0);
	t = metrics_render(m);
	assert_true((fd = mkstemp(path)) != -1);
	assert_non_null(f = fdopen(fd, "w"));
	fputs(t, f);
	fclose(f);
	snprintf(cmd, sizeof cmd, "promtool check metrics < %s", path);
	assert_int_equal(system(cmd), 0);
	unlink(path);
	free(t);
	metrics_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counter_gauge_text),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_default_buckets_and_no_labels),
		cmocka_unit_test(test_reset_and_null),
		cmocka_unit_test(test_series_bound),
		cmocka_unit_test(test_promtool_accepts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
