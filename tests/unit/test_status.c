/*
 * test_status.c — status.c: the document without services (before the
 * shared secret), and the human table: every documented column, nulls as
 * "-", long names and errors cut so that no line passes 100 columns.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "status.h"

static void
test_json_without_services(void **state)
{
	struct status_sources src = { "3.4.0", "rack1", NULL, NULL, NULL, NULL,
	    NULL, NULL, NULL, NULL, NULL };
	json_t *d = status_json(&src);
	char *t;

	assert_int_equal(json_integer_value(json_object_get(d, "format")),
	    STATUS_FORMAT_VERSION);
	assert_string_equal(json_string_value(json_object_get(d, "version")),
	    "3.4.0");
	assert_string_equal(json_string_value(json_object_get(d, "hostname")),
	    "rack1");
	assert_true(json_is_null(json_object_get(d, "region")));
	assert_true(json_is_null(json_object_get(d, "power")));
	assert_true(json_is_null(json_object_get(d, "dhcp")));
	assert_true(json_is_null(json_object_get(d, "refresh")));
	assert_true(json_is_null(json_object_get(d, "tftp")));
	assert_true(json_is_null(json_object_get(d, "http")));
	assert_true(json_is_null(json_object_get(d, "images")));
	t = status_format_table(d);
	assert_non_null(strstr(t, "rackd 3.4.0 on rack1\n"));
	assert_non_null(strstr(t, "region: not started"));
	free(t);
	json_decref(d);
	/* No registry: empty metrics text. */
	t = status_metrics_text(&src);
	assert_string_equal(t, "");
	free(t);
}

static const char *doc_text =
"{\"format\":1,\"version\":\"3.4.0\",\"hostname\":\"rack1\","
" \"region\":{\"system_id\":\"abc123\",\"maas_url\":\"http://10.0.0.2:5240/MAAS\","
"  \"from_saved\":false,\"queue\":{\"depth\":2,\"max\":1000},"
"  \"event_loops\":["
"   {\"name\":\"a-very-long-region-host-name-indeed:pid=123456\",\"region\":\"x\","
"    \"address\":\"[fd00:1234:5678::1]:5250\",\"state\":\"established\","
"    \"rtt_ms\":1.25,\"failures\":0,\"established_s\":10,\"last_error\":null,"
"    \"last_error_age_s\":null},"
"   {\"name\":\"r2:pid=9\",\"region\":\"r2\",\"address\":\"10.0.0.3:5250\","
"    \"state\":\"backoff\",\"rtt_ms\":3.0,\"failures\":4,\"established_s\":null,"
"    \"last_error\":\"connect: Connection refused, and a long tail of text that goes on and on and on\","
"    \"last_error_age_s\":12}]},"
" \"power\":{\"running\":1,\"waiting\":0,\"quarantined\":1,\"reports_queued\":0,"
"  \"bmcs\":[{\"bmc\":\"10.1.2.3:623\",\"state\":\"unknown\",\"runs\":5,\"failures\":5,"
"   \"consecutive_failures\":5,\"last_error\":\"Failed talking to node's BMC: timed out after 10 s, again\","
"   \"last_error_age_s\":3,\"quarantined_for_s\":57}]},"
" \"dhcp\":{\"instances\":[{\"name\":\"failover-vlan-5001\",\"family\":4,\"status\":\"running\","
"   \"info\":\"\",\"pid\":4242,\"ha_role\":\"standby\",\"ha_state\":\"partner-down\","
"   \"partner_state\":\"unavailable\",\"restarts\":0,\"last_error\":null,"
"   \"last_apply_age_s\":30,\"last_apply_error\":null}],"
"  \"leases\":{\"pending\":3,\"spooled\":10,\"sent\":7,\"dropped\":0,\"rejected\":0,"
"   \"oldest_pending_age_s\":42}},"
" \"refresh\":{\"registered\":true,\"running\":false,\"ok\":1,\"failed\":2,"
"  \"last_ok_age_s\":100,\"interfaces\":3,\"last_error\":\"HTTP 500\",\"failing_for_s\":5},"
" \"tftp\":{\"port4\":69,\"port6\":69,\"active\":2,\"requests\":10,\"completed\":7,"
"  \"failed\":1,\"busy\":0,\"retransmits\":3},"
" \"http\":{\"listening\":[{\"address\":\"[fd00:1234:5678:9abc::1]:5248\",\"role\":\"machines\"},"
"   {\"address\":\"10.20.30.40:5248\",\"role\":\"machines\"},"
"   {\"address\":\"[fd00:1234:5678:9abc::1]:5249\",\"role\":\"internal\"},"
"   {\"address\":\"10.20.30.40:5249\",\"role\":\"internal\"}],"
"  \"connections\":3,\"proxying\":1,\"requests\":{\"images\":12345678,"
"   \"boot_config\":23456789,\"file\":34567890,\"proxy\":45678901,\"log\":56789012,"
"   \"metrics\":67890123,\"other\":0},\"bytes_sent\":5242880,"
"  \"proxy\":{\"region\":\"10.0.0.2:5240\",\"failed\":2,"
"   \"last_error\":\"region 10.0.0.3:5240: cannot connect: Connection refused, and more text\","
"   \"last_error_age_s\":7}},"
" \"images\":{\"state\":\"running\",\"import_running\":true,\"phase\":\"download\","
"  \"progress\":{\"files\":2,\"files_total\":4,\"bytes\":1048576,"
"   \"bytes_total\":4194304,\"rate_bps\":2048},\"last_start\":\"2026-01-01T00:00:00Z\","
"  \"last_start_age_s\":3,\"last_end\":\"2025-12-31T23:00:00Z\",\"last_end_age_s\":3603,"
"  \"last_result\":\"failed\",\"last_error\":\"index.json: HTTP 404\",\"runs_ok\":1,"
"  \"runs_failed\":1,\"current\":\"snapshot-20260101-000000\",\"boot_images\":12}}";

static void
test_table(void **state)
{
	json_error_t err;
	json_t *d = json_loads(doc_text, 0, &err);
	char *t, *line, *save = NULL;

	assert_non_null(d);
	t = status_format_table(d);
	printf("%s", t);
	assert_non_null(strstr(t, "rack abc123  maas_url http://10.0.0.2:5240/MAAS\n"));
	assert_non_null(strstr(t, "call queue 2/1000\n"));
	/* RTT only for an established loop; the error on its own line. */
	assert_non_null(strstr(t, "1.2ms"));
	assert_null(strstr(t, "3.0ms"));
	assert_non_null(strstr(t, "  last error 12s ago: connect: Connection refused"));
	assert_non_null(strstr(t, "power: 1 running, 0 waiting, 1 quarantined\n"));
	assert_non_null(strstr(t, "57s left"));
	assert_non_null(strstr(t, "lease spool 3 pending (oldest 42s)"));
	assert_non_null(strstr(t, "standby   partner-down   unavailable    30s ago"));
	assert_non_null(strstr(t, "refresh: 1 ok, 2 failed; last ok 100s ago, "
	    "interfaces 3; failing: HTTP 500\n"));
	assert_non_null(strstr(t, "tftp: port 69, 2 active, 7 completed, 1 failed"));
	assert_non_null(strstr(t, "http: listening [fd00:1234:5678:9abc::1]:5248, "
	    "10.20.30.40:5248, 2 more\n"));
	assert_non_null(strstr(t, "  3 connections (1 proxied), 5.0 MiB sent\n"));
	assert_non_null(strstr(t, "  requests: 12345678 images, 23456789 boot "
	    "configs, 34567890 files, "));
	assert_non_null(strstr(t, "  proxy: region 10.0.0.2:5240, 2 failed\n"));
	assert_non_null(strstr(t, "  proxy last error 7s ago: region 10.0.0.3:5240: "
	    "cannot connect"));
	assert_non_null(strstr(t, "images: running (download: 2/4 files, 1.0 MiB "
	    "of 4.0 MiB, 2.0 KiB/s)\n"));
	assert_non_null(strstr(t, "  current snapshot-20260101-000000, 12 boot "
	    "images\n"));
	assert_non_null(strstr(t, "  last sync failed, ended 3603s ago: "
	    "index.json: HTTP 404\n"));
	for (line = strtok_r(t, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		assert_true(strlen(line) <= 100);
	free(t);
	json_decref(d);
}

/* The boot objects from services that have done nothing yet. */
static void
test_boot_objects_idle(void **state)
{
	json_t *o = status_images_json(NULL, NULL), *h;
	struct metrics *m = metrics_new();
	char *t;

	assert_string_equal(json_string_value(json_object_get(o, "state")),
	    "idle");
	assert_true(json_is_false(json_object_get(o, "import_running")));
	assert_true(json_is_null(json_object_get(o, "phase")));
	assert_true(json_is_null(json_object_get(o, "progress")));
	assert_true(json_is_null(json_object_get(o, "last_result")));
	assert_true(json_is_null(json_object_get(o, "last_start")));
	assert_true(json_is_null(json_object_get(o, "current")));
	assert_true(json_is_null(json_object_get(o, "boot_images")));
	json_decref(o);
	h = status_http_json(NULL);
	assert_int_equal(json_array_size(json_object_get(h, "listening")), 0);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(h,
	    "requests"), "proxy")), 0);
	assert_true(json_is_null(json_object_get(json_object_get(h, "proxy"),
	    "region")));
	json_decref(h);
	status_http_metrics(NULL, m);
	status_images_metrics(NULL, NULL, m);
	t = metrics_render(m);
	assert_non_null(strstr(t, "rackd_http_requests_total{kind=\"boot_config\"} 0\n"));
	assert_non_null(strstr(t, "rackd_image_sync_running 0\n"));
	assert_non_null(strstr(t, "rackd_image_sync_phase{phase=\"download\"} 0\n"));
	assert_non_null(strstr(t, "rackd_image_sync_runs_total{result=\"failed\"} 0\n"));
	/* No store, no row count: the series is absent, not 0. */
	assert_null(strstr(t, "\nrackd_image_sync_boot_images "));
	free(t);
	metrics_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_without_services),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_boot_objects_idle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
