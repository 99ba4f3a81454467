/*
 * rejoin.c — the quick re-probe schedule and the region-controller
 * tracker (rejoin.h).  Pure: the callers own the clock, the randomness,
 * the timers and the logging.
 */
#include <stdlib.h>
#include <string.h>

#include "rackd.h"
#include "rejoin.h"
#include "xmalloc.h"

static const char *const host_state_names[] = {
	[REJOIN_JOINING] = "joining",
	[REJOIN_UP] = "up",
	[REJOIN_SHORT] = "short",
	[REJOIN_AWAY] = "away",
};

const char *
rejoin_host_state_name(enum rejoin_host_state s)
{
	if ((size_t)s < RACKD_NELEM(host_state_names))
		return host_state_names[s];
	return "?";
}

int
rejoin_delay_ms(const struct rejoin_params *p, unsigned attempt, uint32_t rnd)
{
	uint64_t d = p->base_ms > 0 ? (uint64_t)p->base_ms : REJOIN_BASE_MS;
	uint64_t cap = p->cap_ms > 0 ? (uint64_t)p->cap_ms : d;

	/* Doubling 20 times already passes any sane cap; stop shifting. */
	d <<= attempt > 20 ? 20 : attempt;
	if (d > cap)
		d = cap;
	return (int)(d / 2 + (uint64_t)((double)(d / 2) *
	    ((double)rnd / 4294967296.0)));
}

/* Whether something away since since_ms is still in its probe window. */
static int
in_window(const struct rejoin_params *p, uint64_t since_ms, uint64_t now_ms)
{
	return p->window_ms > 0 && now_ms < since_ms + (uint64_t)p->window_ms;
}

long
rejoin_next_ms(const struct rejoin_params *p, uint64_t since_ms,
    unsigned attempt, uint64_t now_ms, uint32_t rnd)
{
	if (!in_window(p, since_ms, now_ms))
		return -1;
	return rejoin_delay_ms(p, attempt, rnd);
}

static struct rejoin_host *
host_find(struct rejoin_tracker *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->nhosts; i++) {
		if (strcmp(t->hosts[i].name, name) == 0)
			return &t->hosts[i];
	}
	return NULL;
}

const struct rejoin_host *
rejoin_find(const struct rejoin_tracker *t, const char *name)
{
	return host_find((struct rejoin_tracker *)t, name);
}

static void
host_remove(struct rejoin_tracker *t, size_t i)
{
	free(t->hosts[i].name);
	memmove(&t->hosts[i], &t->hosts[i + 1],
	    (t->nhosts - i - 1) * sizeof *t->hosts);
	t->nhosts--;
}

static struct rejoin_host *
host_add(struct rejoin_tracker *t, const char *name)
{
	struct rejoin_host *h;

	t->hosts = xreallocarray(t->hosts, t->nhosts + 1, sizeof *t->hosts);
	h = &t->hosts[t->nhosts++];
	memset(h, 0, sizeof *h);
	h->name = xstrdup(name);
	h->state = REJOIN_JOINING;
	return h;
}

/* One record's transition given what it looks like now; 1 = a loss. */
static int
host_step(struct rejoin_host *h, const struct rejoin_params *p,
    size_t est, size_t failing, uint64_t now, rejoin_change_cb cb, void *arg)
{
	enum rejoin_change ev;

	if (est > 0) {
		switch (h->state) {
		case REJOIN_AWAY:
			h->state = REJOIN_UP;
			h->expected = est;
			h->was_up = 1;
			h->gave_up = 0;
			if (cb != NULL)
				cb(REJOIN_CAME_BACK, h, now - h->since_ms, arg);
			return 0;
		case REJOIN_JOINING:
			h->state = REJOIN_UP;
			h->expected = est;
			h->was_up = 1;
			return 0;
		case REJOIN_UP:
		case REJOIN_SHORT:
			break;
		}
		if (est >= h->expected) {
			h->expected = est;
			if (h->state == REJOIN_SHORT) {
				h->state = REJOIN_UP;
				if (cb != NULL)
					cb(REJOIN_WHOLE_AGAIN, h,
					    now - h->since_ms, arg);
			}
			return 0;
		}
		if (h->state == REJOIN_UP) {
			h->state = REJOIN_SHORT;
			h->since_ms = now;
			if (cb != NULL)
				cb(REJOIN_LOST_SOME, h, 0, arg);
			return 1;
		}
		/* SHORT past its window: what is connected is the new whole
		 * (the region may run fewer workers now). */
		if (!in_window(p, h->since_ms, now)) {
			h->state = REJOIN_UP;
			h->expected = est;
			if (cb != NULL)
				cb(REJOIN_GAVE_UP, h, now - h->since_ms, arg);
		}
		return 0;
	}

	switch (h->state) {
	case REJOIN_UP:
	case REJOIN_SHORT:
		ev = REJOIN_WENT_AWAY;
		break;
	case REJOIN_JOINING:
		/* Never connected: away only once a loop actually failed,
		 * not while the first connections are still being made. */
		if (failing == 0)
			return 0;
		ev = REJOIN_WENT_AWAY;
		break;
	case REJOIN_AWAY:
	default:
		if (!h->gave_up && !in_window(p, h->since_ms, now)) {
			h->gave_up = 1;
			if (cb != NULL && p->window_ms > 0)
				cb(REJOIN_GAVE_UP, h, now - h->since_ms, arg);
		}
		return 0;
	}
	h->state = REJOIN_AWAY;
	h->since_ms = now;
	h->gave_up = 0;
	if (cb != NULL)
		cb(ev, h, 0, arg);
	return 1;
}

int
rejoin_update(struct rejoin_tracker *t, const struct rejoin_params *p,
    const struct rejoin_view *views, size_t n, uint64_t now,
    rejoin_change_cb cb, void *arg)
{
	struct rejoin_host *h;
	size_t i, oldest;
	int lost = 0;

	for (i = 0; i < t->nhosts; i++)
		t->hosts[i].advertised = 0;
	for (i = 0; i < n; i++) {
		if ((h = host_find(t, views[i].name)) == NULL)
			h = host_add(t, views[i].name);
		h->advertised = 1;
		lost |= host_step(h, p, views[i].established, views[i].failing,
		    now, cb, arg);
	}
	for (i = 0; i < t->nhosts; i++) {
		h = &t->hosts[i];
		if (h->advertised)
			continue;
		/* Gone from the document: nothing connected any more. */
		lost |= host_step(h, p, 0, 0, now, cb, arg);
		/* Nothing to report about one that never connected. */
		if (!h->was_up) {
			host_remove(t, i);
			i--;
		}
	}
	/* Bound the records: forget the longest-gone unadvertised ones. */
	while (t->nhosts > REJOIN_MAX_HOSTS) {
		oldest = t->nhosts;
		for (i = 0; i < t->nhosts; i++) {
			if (t->hosts[i].advertised)
				continue;
			if (oldest == t->nhosts ||
			    t->hosts[i].since_ms < t->hosts[oldest].since_ms)
				oldest = i;
		}
		if (oldest == t->nhosts)
			break;
		host_remove(t, oldest);
	}
	if (lost)
		t->attempt = 0;
	return lost;
}

int
rejoin_probing(const struct rejoin_tracker *t, const struct rejoin_params *p,
    uint64_t now)
{
	const struct rejoin_host *h;
	size_t i;

	for (i = 0; i < t->nhosts; i++) {
		h = &t->hosts[i];
		if ((h->state == REJOIN_AWAY || h->state == REJOIN_SHORT) &&
		    in_window(p, h->since_ms, now))
			return 1;
	}
	return 0;
}

long
rejoin_schedule(struct rejoin_tracker *t, const struct rejoin_params *p,
    uint64_t now, uint32_t rnd)
{
	if (!rejoin_probing(t, p, now))
		return -1;
	return rejoin_delay_ms(p, t->attempt++, rnd);
}

void
rejoin_tracker_clear(struct rejoin_tracker *t)
{
	size_t i;

	for (i = 0; i < t->nhosts; i++)
		free(t->hosts[i].name);
	free(t->hosts);
	t->hosts = NULL;
	t->nhosts = 0;
	t->attempt = 0;
}
