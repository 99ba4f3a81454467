/*
 * region_report.c — ordered reports to the region (region_report.h).
 *
 * Stock rackd drops a report when no region is connected at that moment
 * (getRegionClient raises); here a report waits for a region instead.
 * Generalised from the power code's queue so the boot backend's events
 * and MarkNodeFailed go the same way.
 */
#include <sys/queue.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "amp.h"
#include "log.h"
#include "region.h"
#include "region_report.h"
#include "xmalloc.h"

#define REPORT_SCAN		128	/* queue entries looked at per kick */
#define REPORT_RETRY_MS		1000
#define REPORT_CALL_TIMEOUT_MS	30000

struct report {
	TAILQ_ENTRY(report) entry;
	char		*command;
	struct amp_box	*args;
	char		*key;		/* NULL for a barrier */
	bool		 inflight;
	int		 tries;
	struct region_reports *q;
};

struct region_reports {
	struct event_base	*base;
	struct region_pool	*pool;
	char			*who;
	int			 max;
	bool			 shutting_down;
	TAILQ_HEAD(, report)	 list;
	int			 n;
	int			 inflight;
	struct event		*timer;
	const char		**registered;	/* type names, once each */
	size_t			 nregistered;
	struct region_report_stats stats;
};

static void kick(struct region_reports *);

static void
kick_cb(evutil_socket_t fd, short ev, void *arg)
{
	kick(arg);
}

struct region_reports *
region_reports_new(struct event_base *base, const char *who, int queue_max)
{
	struct region_reports *q = xcalloc(1, sizeof *q);

	q->base = base;
	q->who = xstrdup(who);
	q->max = queue_max > 0 ? queue_max : 1;
	TAILQ_INIT(&q->list);
	q->timer = evtimer_new(base, kick_cb, q);
	return q;
}

/* region_call takes ownership of its arguments; the queue keeps its
 * copy until the region has the report. */
static struct amp_box *
box_copy(const struct amp_box *b)
{
	struct amp_box *c = amp_box_new();

	amp_box_merge(c, b);
	return c;
}

static void
report_drop(struct region_reports *q, struct report *r)
{
	TAILQ_REMOVE(&q->list, r, entry);
	q->n--;
	free(r->command);
	free(r->key);
	amp_box_free(r->args);
	free(r);
}

void
region_reports_push(struct region_reports *q, const char *command,
    struct amp_box *args, const char *key)
{
	struct report *r, *old;

	/* Over the bound: drop the oldest report not in flight. */
	while (q->n >= q->max) {
		TAILQ_FOREACH(old, &q->list, entry)
			if (!old->inflight)
				break;
		if (old == NULL)
			break;
		q->stats.dropped++;
		log_warnx("%s: report queue full (%d): dropped %s for %s",
		    q->who, q->max, old->command,
		    old->key != NULL ? old->key : "-");
		report_drop(q, old);
	}
	r = xcalloc(1, sizeof *r);
	r->q = q;
	r->command = xstrdup(command);
	r->args = args;
	r->key = key != NULL ? xstrdup(key) : NULL;
	TAILQ_INSERT_TAIL(&q->list, r, entry);
	q->n++;
	kick(q);
}

void
region_reports_event(struct region_reports *q,
    const struct region_event_type *type, const char *command,
    struct amp_box *args, const char *key)
{
	struct amp_box *a;
	size_t i;

	for (i = 0; i < q->nregistered; i++)
		if (strcmp(q->registered[i], type->name) == 0)
			break;
	if (i == q->nregistered) {
		/* Once per type per process, as NodeEventHub does. */
		q->registered = xreallocarray(q->registered,
		    q->nregistered + 1, sizeof *q->registered);
		q->registered[q->nregistered++] = type->name;
		a = amp_box_new();
		amp_box_put_str(a, "name", type->name);
		amp_box_put_str(a, "description", type->description);
		amp_box_put_int(a, "level", type->level);
		region_reports_push(q, "RegisterEventType", a, NULL);
	}
	region_reports_push(q, command, args, key);
}

static void
report_done(const struct region_call_result *res, void *arg)
{
	struct report *r = arg;
	struct region_reports *q = r->q;
	struct timeval tv = { REPORT_RETRY_MS / 1000, 0 };

	if (res->status == REGION_CALL_CANCELLED)
		return;		/* shutting down: the queue frees r */
	r->inflight = false;
	q->inflight--;
	switch (res->status) {
	case REGION_CALL_OK:
		q->stats.sent++;
		report_drop(q, r);
		break;
	case REGION_CALL_REMOTE_ERROR:
		/* The region read it and said no: retrying cannot help. */
		if (strcmp(r->command, "MarkNodeFailed") == 0)
			log_info("%s: region did not mark %s failed: %s: %s",
			    q->who, r->key, res->error_code,
			    res->error_description);
		else
			log_warnx("%s: region refused %s for %s: %s: %s",
			    q->who, r->command, r->key != NULL ? r->key : "-",
			    res->error_code, res->error_description);
		q->stats.sent++;
		report_drop(q, r);
		break;
	default:
		r->tries++;
		if (r->tries == 1 || r->tries % 60 == 0)
			log_info("%s: %s for %s not delivered (%s); kept "
			    "in the queue (%d waiting)", q->who, r->command,
			    r->key != NULL ? r->key : "-",
			    region_call_status_name(res->status), q->n);
		evtimer_add(q->timer, &tv);
		return;
	}
	kick(q);
}

static void
kick(struct region_reports *q)
{
	struct report *r, *o;
	int scanned = 0;
	bool blocked;

	if (q->shutting_down || q->pool == NULL)
		return;
	if (evtimer_pending(q->timer, NULL))
		return;		/* a failed send is waiting for its retry */
	TAILQ_FOREACH(r, &q->list, entry) {
		if (q->inflight >= REGION_REPORT_WINDOW ||
		    ++scanned > REPORT_SCAN)
			break;
		if (r->inflight) {
			if (r->key == NULL)
				break;	/* a barrier in flight */
			continue;
		}
		if (r->key == NULL && q->inflight > 0)
			break;		/* a barrier waits for what is ahead */
		blocked = false;
		for (o = TAILQ_FIRST(&q->list); o != r;
		    o = TAILQ_NEXT(o, entry)) {
			if (o->key != NULL && r->key != NULL &&
			    strcmp(o->key, r->key) == 0) {
				blocked = true;
				break;
			}
		}
		if (blocked)
			continue;
		r->inflight = true;
		q->inflight++;
		region_call(q->pool, r->command, box_copy(r->args),
		    REGION_CALL_IDEMPOTENT | REGION_CALL_NOQUEUE,
		    REPORT_CALL_TIMEOUT_MS, report_done, r);
		if (r->key == NULL)
			break;
	}
}

void
region_reports_set_pool(struct region_reports *q, struct region_pool *pool)
{
	q->pool = pool;
	kick(q);
}

void
region_reports_region_up(struct region_reports *q)
{
	evtimer_del(q->timer);
	kick(q);
}

void
region_reports_set_max(struct region_reports *q, int queue_max)
{
	q->max = queue_max > 0 ? queue_max : 1;
}

void
region_reports_shutdown(struct region_reports *q)
{
	if (q != NULL)
		q->shutting_down = true;
}

void
region_reports_free(struct region_reports *q)
{
	struct report *r;

	if (q == NULL)
		return;
	while ((r = TAILQ_FIRST(&q->list)) != NULL)
		report_drop(q, r);
	event_free(q->timer);
	free(q->registered);
	free(q->who);
	free(q);
}

void
region_reports_stats(const struct region_reports *q,
    struct region_report_stats *st)
{
	*st = q->stats;
	st->queued = q->n;
}
