/*
 * test_rejoin.c — rejoin.c: the quick re-probe schedule (backoff, jitter,
 * window) and the region-controller tracker's transitions, on a fake
 * clock.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rejoin.h"

static const struct rejoin_params P = { 500, 4000, 60000 };

/* --- schedule ----------------------------------------------------------- */

static void
test_delay_doubles_to_cap(void **state)
{
	/* rnd = max: the top of [d/2, d]; rnd = 0: the bottom. */
	static const int top[] = { 500, 1000, 2000, 4000, 4000, 4000 };
	unsigned i;
	int d;

	for (i = 0; i < 6; i++) {
		d = rejoin_delay_ms(&P, i, UINT32_MAX);
		assert_true(d <= top[i] && d >= top[i] - 1);
		assert_int_equal(rejoin_delay_ms(&P, i, 0), top[i] / 2);
	}
	/* Huge attempt counts do not overflow the shift. */
	assert_true(rejoin_delay_ms(&P, 1000, 0) == 2000);
	assert_true(rejoin_delay_ms(&P, UINT32_MAX, UINT32_MAX) <= 4000);
}

static void
test_delay_jitter_spreads(void **state)
{
	/* Many racks at the cap: delays cover [2000, 4000], not one value. */
	int lo = 1 << 30, hi = 0, d, i;
	uint32_t x = 12345;

	for (i = 0; i < 1000; i++) {
		x = x * 1103515245u + 12345u;
		d = rejoin_delay_ms(&P, 8, x);
		assert_true(d >= 2000 && d <= 4000);
		if (d < lo)
			lo = d;
		if (d > hi)
			hi = d;
	}
	assert_true(lo < 2200);
	assert_true(hi > 3800);
}

static void
test_next_window(void **state)
{
	const struct rejoin_params off = { 500, 4000, 0 };

	assert_true(rejoin_next_ms(&P, 1000, 0, 1000, 0) == 250);
	assert_true(rejoin_next_ms(&P, 1000, 5, 60999, 0) == 2000);
	/* The window is over: back to the normal interval. */
	assert_true(rejoin_next_ms(&P, 1000, 5, 61000, 0) == -1);
	assert_true(rejoin_next_ms(&off, 1000, 0, 1000, 0) == -1);
}

static void
test_schedule_cumulative(void **state)
{
	/* With the largest delays, a probe still falls at least every 4 s
	 * after the first 3.5 s: a region answering at t is found by t+4 s;
	 * and over a 60 s window there are at most 60/2 + 4 probes. */
	uint64_t t = 0;
	unsigned n = 0;
	long ms;

	while ((ms = rejoin_next_ms(&P, 0, n, t, UINT32_MAX)) >= 0) {
		assert_true(ms <= 4000);
		t += (uint64_t)ms;
		n++;
	}
	assert_true(n >= 60000 / 4000);
	n = 0;
	t = 0;
	while ((ms = rejoin_next_ms(&P, 0, n, t, 0)) >= 0) {
		t += (uint64_t)ms;
		n++;
	}
	assert_true(n <= 60000 / 2000 + 4);
}

/* --- tracker ------------------------------------------------------------ */

struct seen {
	char	 lines[32][96];
	int	 n;
};

static void
record(enum rejoin_change ev, const struct rejoin_host *h, uint64_t gone_ms,
    void *arg)
{
	static const char *names[] = { "away", "back", "lost", "whole",
	    "gaveup" };
	struct seen *s = arg;

	assert_true(s->n < 32);
	snprintf(s->lines[s->n++], sizeof s->lines[0], "%s %s %llu",
	    names[ev], h->name, (unsigned long long)gone_ms);
}

static void
view(struct rejoin_view *v, const char *name, size_t adv, size_t est,
    size_t fail)
{
	v->name = name;
	v->advertised = adv;
	v->established = est;
	v->failing = fail;
}

static enum rejoin_host_state
state_of(const struct rejoin_tracker *t, const char *name)
{
	const struct rejoin_host *h = rejoin_find(t, name);

	assert_non_null(h);
	return h->state;
}

static void
test_killed_region_comes_back(void **state)
{
	struct rejoin_tracker t = { 0 };
	struct rejoin_view v[2];
	struct seen s = { .n = 0 };

	/* Both regions connecting, then connected: no events. */
	view(&v[0], "r1", 2, 0, 0);
	view(&v[1], "r2", 2, 0, 0);
	assert_int_equal(rejoin_update(&t, &P, v, 2, 0, record, &s), 0);
	assert_int_equal(state_of(&t, "r1"), REJOIN_JOINING);
	view(&v[0], "r1", 2, 2, 0);
	view(&v[1], "r2", 2, 2, 0);
	assert_int_equal(rejoin_update(&t, &P, v, 2, 100, record, &s), 0);
	assert_int_equal(s.n, 0);
	assert_false(rejoin_probing(&t, &P, 100));
	assert_true(rejoin_schedule(&t, &P, 100, 0) == -1);

	/* r2 killed: its loops stay listed, reconnects fail. */
	view(&v[1], "r2", 2, 0, 2);
	assert_int_equal(rejoin_update(&t, &P, v, 2, 1000, record, &s), 1);
	assert_string_equal(s.lines[0], "away r2 0");
	assert_int_equal(state_of(&t, "r2"), REJOIN_AWAY);
	assert_true(rejoin_schedule(&t, &P, 1000, 0) == 250);
	assert_true(rejoin_schedule(&t, &P, 1250, 0) == 500);
	assert_true(rejoin_schedule(&t, &P, 1750, 0) == 1000);
	/* Still away: no new event, schedule continues. */
	assert_int_equal(rejoin_update(&t, &P, v, 2, 5000, record, &s), 0);
	assert_int_equal(s.n, 1);
	assert_true(rejoin_schedule(&t, &P, 5000, 0) == 2000);

	/* Back 10 s later under new names (the old ones may linger). */
	view(&v[1], "r2", 4, 1, 2);
	assert_int_equal(rejoin_update(&t, &P, v, 2, 11000, record, &s), 0);
	assert_string_equal(s.lines[1], "back r2 10000");
	view(&v[1], "r2", 4, 2, 2);
	assert_int_equal(rejoin_update(&t, &P, v, 2, 11100, record, &s), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(state_of(&t, "r2"), REJOIN_UP);
	assert_false(rejoin_probing(&t, &P, 11100));
	rejoin_tracker_clear(&t);
}

static void
test_vanished_region_window(void **state)
{
	struct rejoin_tracker t = { 0 };
	struct rejoin_view v[2];
	struct seen s = { .n = 0 };

	view(&v[0], "r1", 1, 1, 0);
	view(&v[1], "r2", 1, 1, 0);
	rejoin_update(&t, &P, v, 2, 0, record, &s);
	/* r2 gone from the document (stopped cleanly). */
	assert_int_equal(rejoin_update(&t, &P, v, 1, 1000, record, &s), 1);
	assert_string_equal(s.lines[0], "away r2 0");
	assert_true(rejoin_probing(&t, &P, 60999));
	assert_false(rejoin_probing(&t, &P, 61000));
	/* The window ends: reported once, probes stop, record kept. */
	rejoin_update(&t, &P, v, 1, 61000, record, &s);
	rejoin_update(&t, &P, v, 1, 62000, record, &s);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.lines[1], "gaveup r2 60000");
	assert_true(rejoin_schedule(&t, &P, 62000, 0) == -1);
	/* Back much later (normal discovery found it): still told how long. */
	view(&v[1], "r2", 1, 1, 0);
	rejoin_update(&t, &P, v, 2, 301000, record, &s);
	assert_string_equal(s.lines[2], "back r2 300000");
	rejoin_tracker_clear(&t);
}

static void
test_short_region(void **state)
{
	struct rejoin_tracker t = { 0 };
	struct rejoin_view v[1];
	struct seen s = { .n = 0 };

	view(&v[0], "r1", 4, 4, 0);
	rejoin_update(&t, &P, v, 1, 0, record, &s);
	/* One worker restarted: its old loop left the document. */
	view(&v[0], "r1", 3, 3, 0);
	assert_int_equal(rejoin_update(&t, &P, v, 1, 100, record, &s), 1);
	assert_string_equal(s.lines[0], "lost r1 0");
	assert_int_equal(state_of(&t, "r1"), REJOIN_SHORT);
	assert_true(rejoin_probing(&t, &P, 200));
	/* Its replacement appears and connects. */
	view(&v[0], "r1", 4, 4, 0);
	rejoin_update(&t, &P, v, 1, 2100, record, &s);
	assert_string_equal(s.lines[1], "whole r1 2000");
	assert_false(rejoin_probing(&t, &P, 2100));

	/* Fewer workers for good: accepted when the window ends. */
	view(&v[0], "r1", 2, 2, 0);
	rejoin_update(&t, &P, v, 1, 10000, record, &s);
	rejoin_update(&t, &P, v, 1, 70000, record, &s);
	assert_string_equal(s.lines[3], "gaveup r1 60000");
	assert_int_equal(state_of(&t, "r1"), REJOIN_UP);
	assert_int_equal(rejoin_find(&t, "r1")->expected, 2);
	assert_false(rejoin_probing(&t, &P, 70000));
	rejoin_tracker_clear(&t);
}

static void
test_never_connected(void **state)
{
	struct rejoin_tracker t = { 0 };
	struct rejoin_view v[2];
	struct seen s = { .n = 0 };

	/* Connecting is not failing. */
	view(&v[0], "r1", 1, 1, 0);
	view(&v[1], "r2", 2, 0, 0);
	assert_int_equal(rejoin_update(&t, &P, v, 2, 0, record, &s), 0);
	/* A loop failed and none is up: probe for it. */
	view(&v[1], "r2", 2, 0, 1);
	assert_int_equal(rejoin_update(&t, &P, v, 2, 10, record, &s), 1);
	assert_int_equal(state_of(&t, "r2"), REJOIN_AWAY);
	assert_false(rejoin_find(&t, "r2")->was_up);
	/* It leaves the document without ever connecting: forgotten. */
	rejoin_update(&t, &P, v, 1, 20, record, &s);
	assert_null(rejoin_find(&t, "r2"));
	/* A JOINING one that leaves is forgotten too. */
	view(&v[1], "r3", 1, 0, 0);
	rejoin_update(&t, &P, v, 2, 30, record, &s);
	rejoin_update(&t, &P, v, 1, 40, record, &s);
	assert_null(rejoin_find(&t, "r3"));
	assert_int_equal(t.nhosts, 1);
	rejoin_tracker_clear(&t);
}

static void
test_off_and_bounded(void **state)
{
	const struct rejoin_params off = { 500, 4000, 0 };
	struct rejoin_tracker t = { 0 };
	struct rejoin_view v[1];
	struct seen s = { .n = 0 };
	char name[REJOIN_MAX_HOSTS + 10][16];
	int i;

	/* Quick probes off: transitions still reported, no schedule, and
	 * no "gave up" line for a window that never was. */
	view(&v[0], "r1", 1, 1, 0);
	rejoin_update(&t, &off, v, 1, 0, record, &s);
	view(&v[0], "r1", 1, 0, 1);
	rejoin_update(&t, &off, v, 1, 10, record, &s);
	rejoin_update(&t, &off, v, 1, 20, record, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.lines[0], "away r1 0");
	assert_true(rejoin_schedule(&t, &off, 20, 0) == -1);
	rejoin_tracker_clear(&t);

	/* Many controllers come and go: the records stay bounded. */
	for (i = 0; i < REJOIN_MAX_HOSTS + 10; i++) {
		snprintf(name[i], sizeof name[i], "r%d", i);
		view(&v[0], name[i], 1, 1, 0);
		rejoin_update(&t, &P, v, 1, (uint64_t)i * 10, NULL, NULL);
	}
	assert_true(t.nhosts <= REJOIN_MAX_HOSTS);
	assert_non_null(rejoin_find(&t, name[REJOIN_MAX_HOSTS + 9]));
	assert_null(rejoin_find(&t, "r0"));
	rejoin_tracker_clear(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delay_doubles_to_cap),
		cmocka_unit_test(test_delay_jitter_spreads),
		cmocka_unit_test(test_next_window),
		cmocka_unit_test(test_schedule_cumulative),
		cmocka_unit_test(test_killed_region_comes_back),
		cmocka_unit_test(test_vanished_region_window),
		cmocka_unit_test(test_short_region),
		cmocka_unit_test(test_never_connected),
		cmocka_unit_test(test_off_and_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
