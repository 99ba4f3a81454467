/*
 * test_region.c — the call API with no region reachable: calls wait in the
 * bounded queue until their deadline, a full queue refuses at once,
 * NOQUEUE fails at once, shutdown cancels what waits; callbacks never run
 * inside region_call().
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "http.h"
#include "region.h"
#include "secret.h"

static int results[8];
static int inside_call;

static void
cb(const struct region_call_result *r, void *arg)
{
	assert_false(inside_call);
	results[r->status]++;
}

static void
no_cmd(struct region_request *req, const char *c, const struct amp_box *a,
    void *arg)
{
	region_request_error(req, "UNHANDLED", "test");
}

static void
test_queue(void **st)
{
	struct event_base *base = event_base_new();
	struct rackd_config *cfg;
	struct http *http;
	struct region_pool *pool;
	struct secret sec;
	char dir[] = "/tmp/rackd-test-region.XXXXXX", *cause = NULL;
	char conf[512];
	struct timeval tv = { 1, 500000 };
	int i;

	assert_non_null(mkdtemp(dir));
	/* Port 9 on loopback: nothing listens, discovery keeps failing. */
	snprintf(conf, sizeof conf, "maas_url: http://127.0.0.1:9/MAAS\n"
	    "data_dir: %s\nrun_dir: %s\nregion:\n  queue_max: 3\n", dir, dir);
	cfg = config_load_mem("test.conf", conf, strlen(conf), &cause);
	assert_non_null(cfg);
	assert_int_equal(secret_from_hex("00112233445566778899aabbccddeeff",
	    &sec, NULL), 0);
	http = http_new(base, &cause);
	assert_non_null(http);
	pool = region_pool_new(base, http, cfg, &sec, no_cmd, NULL, NULL);
	region_pool_start(pool);

	memset(results, 0, sizeof results);
	inside_call = 1;
	for (i = 0; i < 3; i++)		/* queued, time out after 1 s */
		region_call(pool, "UpdateLeases", NULL, 0, 1000, cb, NULL);
	region_call(pool, "UpdateLeases", NULL, 0, 1000, cb, NULL); /* full */
	region_call(pool, "UpdateServices", NULL, REGION_CALL_NOQUEUE, 1000,
	    cb, NULL);
	inside_call = 0;
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
	assert_int_equal(results[REGION_CALL_TIMEOUT], 3);
	assert_int_equal(results[REGION_CALL_QUEUE_FULL], 1);
	assert_int_equal(results[REGION_CALL_NO_REGION], 1);

	/* Shutdown cancels waiting calls. */
	memset(results, 0, sizeof results);
	region_call(pool, "UpdateLeases", NULL, 0, 60000, cb, NULL);
	region_pool_shutdown(pool);
	assert_int_equal(results[REGION_CALL_CANCELLED], 1);

	region_pool_free(pool);
	http_free(http);
	config_free(cfg);
	event_base_free(base);
	{
		char cmd[600];

		snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
		assert_int_equal(system(cmd), 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_queue),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
