/*
 * report.c — power reports to the region, in MAAS's order, never lost to
 * a region outage.
 *
 * Stock rackd drops a report when no region is connected at that moment
 * (getRegionClient raises).  Here every report (SendEvent,
 * UpdateNodePowerState, MarkNodeFailed, and RegisterEventType before the
 * first event of each type) goes into one ordered queue, bounded by
 * power.report_queue_max (the oldest are dropped beyond it, with a log
 * line).  Up to REPORT_WINDOW calls are in flight at once, but never two
 * for the same node, so one node's reports arrive in the order they were
 * made; a RegisterEventType is a barrier nothing overtakes.  A report the
 * region refuses (NodeStateViolation from MarkNodeFailed, NoSuchNode) is
 * logged and dropped, and the reports after it still go: MAAS loses the
 * failure event when MarkNodeFailed raises, rackd does not.  A report
 * that was not delivered (no region, timeout, lost connection) stays at
 * its place and is retried when a region is up again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "region.h"
#include "xmalloc.h"
#include "power_private.h"

#define REPORT_WINDOW		16
#define REPORT_SCAN		128	/* queue entries looked at per kick */
#define REPORT_RETRY_MS		1000
#define REPORT_CALL_TIMEOUT_MS	30000

struct power_report {
	TAILQ_ENTRY(power_report) entry;
	char		*command;
	struct amp_box	*args;
	char		*key;		/* node system_id; NULL for a barrier */
	int		 type_index;	/* RegisterEventType: event_types[] row */
	bool		 inflight;
	int		 tries;
	struct power	*pw;
};

/* MAAS's EVENT_DETAILS for the types the power code sends (spec A.7). */
static const struct {
	const char	*name;
	const char	*description;
	int		 level;
} event_types[] = {
	{ "NODE_POWER_ON_STARTING", "Powering on", 20 },
	{ "NODE_POWER_OFF_STARTING", "Powering off", 20 },
	{ "NODE_POWER_CYCLE_STARTING", "Power cycling", 20 },
	{ "NODE_POWERED_ON", "Node powered on", 10 },
	{ "NODE_POWERED_OFF", "Node powered off", 10 },
	{ "NODE_POWER_ON_FAILED", "Failed to power on node", 40 },
	{ "NODE_POWER_OFF_FAILED", "Failed to power off node", 40 },
	{ "NODE_POWER_CYCLE_FAILED", "Failed to power cycle node", 40 },
	{ "NODE_POWER_QUERY_FAILED", "Failed to query node's BMC", 30 },
};
_Static_assert(RACKD_NELEM(event_types) <= 16, "registered_types[] size");

static void report_kick_cb(evutil_socket_t, short, void *);

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
report_drop(struct power *pw, struct power_report *r)
{
	TAILQ_REMOVE(&pw->reports, r, entry);
	pw->nreports--;
	free(r->command);
	free(r->key);
	amp_box_free(r->args);
	free(r);
}

static void
report_push(struct power *pw, const char *command, struct amp_box *args,
    const char *key, int type_index)
{
	struct power_report *r, *old;

	/* Over the bound: drop the oldest report not in flight. */
	while (pw->nreports >= pw->set.report_queue_max) {
		TAILQ_FOREACH(old, &pw->reports, entry)
			if (!old->inflight)
				break;
		if (old == NULL)
			break;
		pw->stats.reports_dropped++;
		log_warnx("power: report queue full (%d): dropped %s for %s",
		    pw->set.report_queue_max, old->command,
		    old->key != NULL ? old->key : "-");
		report_drop(pw, old);
	}
	r = xcalloc(1, sizeof *r);
	r->pw = pw;
	r->command = xstrdup(command);
	r->args = args;
	r->key = key != NULL ? xstrdup(key) : NULL;
	r->type_index = type_index;
	TAILQ_INSERT_TAIL(&pw->reports, r, entry);
	pw->nreports++;
	report_kick(pw);
}

void
report_event(struct power *pw, const char *system_id, const char *type_name,
    const char *description)
{
	struct amp_box *a;
	size_t i;

	for (i = 0; i < RACKD_NELEM(event_types); i++)
		if (strcmp(event_types[i].name, type_name) == 0)
			break;
	if (i < RACKD_NELEM(event_types) && !pw->registered_types[i]) {
		/* Once per type per process, as NodeEventHub does. */
		pw->registered_types[i] = true;
		a = amp_box_new();
		amp_box_put_str(a, "name", event_types[i].name);
		amp_box_put_str(a, "description", event_types[i].description);
		amp_box_put_int(a, "level", event_types[i].level);
		report_push(pw, "RegisterEventType", a, NULL, (int)i);
	}
	a = amp_box_new();
	amp_box_put_str(a, "system_id", system_id);
	amp_box_put_str(a, "type_name", type_name);
	amp_box_put_str(a, "description", description);
	report_push(pw, "SendEvent", a, system_id, -1);
}

void
report_state(struct power *pw, const char *system_id, const char *state)
{
	struct amp_box *a = amp_box_new();

	amp_box_put_str(a, "system_id", system_id);
	amp_box_put_str(a, "power_state", state);
	report_push(pw, "UpdateNodePowerState", a, system_id, -1);
}

void
report_failed(struct power *pw, const char *system_id, const char *description)
{
	struct amp_box *a = amp_box_new();

	amp_box_put_str(a, "system_id", system_id);
	amp_box_put_str(a, "error_description", description);
	report_push(pw, "MarkNodeFailed", a, system_id, -1);
}

static void
report_done(const struct region_call_result *res, void *arg)
{
	struct power_report *r = arg;
	struct power *pw = r->pw;
	struct timeval tv = { REPORT_RETRY_MS / 1000, 0 };

	r->inflight = false;
	pw->reports_inflight--;
	switch (res->status) {
	case REGION_CALL_OK:
		pw->stats.reports_sent++;
		report_drop(pw, r);
		break;
	case REGION_CALL_REMOTE_ERROR:
		/* The region read it and said no: retrying cannot help. */
		if (strcmp(r->command, "MarkNodeFailed") == 0)
			log_info("power: region did not mark %s failed: %s: %s",
			    r->key, res->error_code, res->error_description);
		else
			log_warnx("power: region refused %s for %s: %s: %s",
			    r->command, r->key != NULL ? r->key : "-",
			    res->error_code, res->error_description);
		pw->stats.reports_sent++;
		report_drop(pw, r);
		break;
	case REGION_CALL_CANCELLED:
		return;		/* shutting down */
	default:
		r->tries++;
		if (r->tries == 1 || r->tries % 60 == 0)
			log_info("power: %s for %s not delivered (%s); kept "
			    "in the queue (%d waiting)", r->command,
			    r->key != NULL ? r->key : "-",
			    region_call_status_name(res->status), pw->nreports);
		evtimer_add(pw->report_timer, &tv);
		return;
	}
	report_kick(pw);
}

void
report_kick(struct power *pw)
{
	struct power_report *r, *q;
	int scanned = 0;
	bool blocked;

	if (pw->shutting_down || pw->pool == NULL)
		return;
	if (evtimer_pending(pw->report_timer, NULL))
		return;		/* a failed send is waiting for its retry */
	TAILQ_FOREACH(r, &pw->reports, entry) {
		if (pw->reports_inflight >= REPORT_WINDOW ||
		    ++scanned > REPORT_SCAN)
			break;
		if (r->inflight) {
			if (r->key == NULL)
				break;	/* a barrier in flight */
			continue;
		}
		if (r->key == NULL && pw->reports_inflight > 0)
			break;		/* a barrier waits for what is ahead */
		blocked = false;
		for (q = TAILQ_FIRST(&pw->reports); q != r;
		    q = TAILQ_NEXT(q, entry)) {
			if (q->key != NULL && r->key != NULL &&
			    strcmp(q->key, r->key) == 0) {
				blocked = true;
				break;
			}
		}
		if (blocked)
			continue;
		r->inflight = true;
		pw->reports_inflight++;
		region_call(pw->pool, r->command, box_copy(r->args),
		    REGION_CALL_IDEMPOTENT | REGION_CALL_NOQUEUE,
		    REPORT_CALL_TIMEOUT_MS, report_done, r);
		if (r->key == NULL)
			break;
	}
}

static void
report_kick_cb(evutil_socket_t fd, short ev, void *arg)
{
	report_kick(arg);
}

void
report_init(struct power *pw)
{
	TAILQ_INIT(&pw->reports);
	pw->report_timer = evtimer_new(pw->base, report_kick_cb, pw);
}

void
report_free_all(struct power *pw)
{
	struct power_report *r;

	while ((r = TAILQ_FIRST(&pw->reports)) != NULL)
		report_drop(pw, r);
	if (pw->report_timer != NULL)
		event_free(pw->report_timer);
	pw->report_timer = NULL;
}
