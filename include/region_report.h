/*
 * region_report.h — reports to the region (events, MarkNodeFailed,
 * state updates) in the order they were made, never lost to a region
 * outage.  One queue per service; it knows nothing of the services.
 *
 * Every report goes into one ordered queue, bounded by queue_max (the
 * oldest not in flight are dropped beyond it, with a log line).  Up to
 * REGION_REPORT_WINDOW calls are in flight at once, but never two with
 * the same key (a node's system_id, a client's IP), so one key's reports
 * arrive in order; a RegisterEventType is a barrier nothing overtakes and
 * is sent once per type per queue before the first event of that type,
 * as MAAS's NodeEventHub does.  A report the region refuses (NoSuchNode,
 * NodeStateViolation) is logged and dropped; one not delivered (no
 * region, timeout, lost connection) stays at its place and is retried
 * when a region is up again.
 */
#ifndef REGION_REPORT_H
#define REGION_REPORT_H

#include <stdint.h>

struct amp_box;
struct event_base;
struct region_pool;
struct region_reports;

#define REGION_REPORT_WINDOW	16

/* An event type as MAAS's EVENT_DETAILS registers it. */
struct region_event_type {
	const char	*name;
	const char	*description;
	int		 level;
};

struct region_report_stats {
	uint64_t	sent;		/* delivered or refused by the region */
	uint64_t	dropped;	/* pushed out by queue_max */
	int		queued;
};

/* who prefixes log lines ("power", "boot"); copied. */
struct region_reports *region_reports_new(struct event_base *,
	    const char *who, int queue_max);
/* The pool to send through (borrowed; NULL: hold everything).  Kicks. */
void	region_reports_set_pool(struct region_reports *, struct region_pool *);
/* A region came up: send now, without waiting for the retry timer. */
void	region_reports_region_up(struct region_reports *);
void	region_reports_set_max(struct region_reports *, int queue_max);
/* Stop sending (pending callbacks are ignored); free after the pool's
 * last callback (region_pool_free) has run. */
void	region_reports_shutdown(struct region_reports *);
void	region_reports_free(struct region_reports *);	/* NULL ok */

/* Queue command(args) (args owned by the queue).  key may be NULL. */
void	region_reports_push(struct region_reports *, const char *command,
	    struct amp_box *args, const char *key);
/*
 * Queue an event call (SendEvent, SendEventIPAddress, ...; args owned),
 * preceded by RegisterEventType(type) the first time type->name is seen.
 * type is borrowed for the queue's life (a static table row).
 */
void	region_reports_event(struct region_reports *,
	    const struct region_event_type *type, const char *command,
	    struct amp_box *args, const char *key);
void	region_reports_stats(const struct region_reports *,
	    struct region_report_stats *);

#endif
