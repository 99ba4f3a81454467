/*
 * rejoin.h — quick re-probing for a region that went away (pure: no I/O,
 * no clock, no randomness of its own; callers pass now_ms and random bits).
 *
 * Two things can go away:
 *
 *  - a configured maas_url whose /rpc/ fetch fails: discovery.c probes
 *    that URL alone (one small GET) until it answers again;
 *  - a region controller ("region1" of "region1:pid=N") whose event loops
 *    all lost their connections or vanished from the /rpc/ document, or
 *    that lost some of its loops (a worker restarted under a new pid):
 *    region_pool.c runs discovery rounds, because only a live region's
 *    document can name the new event loops.
 *
 * Both follow one schedule, so a region that comes back is found within
 * cap_ms of answering without polling healthy regions forever: probe n
 * waits d = min(base_ms << n, cap_ms), jittered uniformly into [d/2, d]
 * so many racks do not probe in step, and only during window_ms after the
 * thing went away; then the normal discovery interval applies again.
 *
 * The region-controller tracker keeps one record per region controller:
 *
 *   JOINING --(a loop connects)--> UP --(fewer loops than before)--> SHORT
 *      |                           ^ ^                                  |
 *      |(loops fail, none up)      | +---(all back, or window over)-----+
 *      v                           |
 *    AWAY <---(no loop connected: lost, or gone from the document)--- UP/SHORT
 *      |                           |
 *      +---(a loop connects: "back after N s")
 *
 * AWAY and SHORT records within their window make rejoin_schedule()
 * return probe delays; an AWAY record stays (so its return can be logged
 * with how long it was gone) until it comes back or is evicted.
 */
#ifndef REJOIN_H
#define REJOIN_H

#include <stddef.h>
#include <stdint.h>

#define REJOIN_BASE_MS		500	/* first probe delay */
#define REJOIN_MAX_HOSTS	64	/* records kept; oldest gone evicted */

struct rejoin_params {
	int	base_ms;	/* first delay, doubled per probe */
	int	cap_ms;		/* region.rejoin_probe_interval */
	int	window_ms;	/* region.rejoin_probe_max; 0 = no quick probes */
};

/*
 * Delay before probe number attempt (0-based): d = min(base << attempt,
 * cap), then jittered into [d/2, d] by rnd (any 32 random bits).
 */
int	rejoin_delay_ms(const struct rejoin_params *, unsigned attempt,
	    uint32_t rnd);

/*
 * Delay until the next quick probe of something away since since_ms and
 * already probed attempt times, or -1 when its window is over (or quick
 * probes are off).
 */
long	rejoin_next_ms(const struct rejoin_params *, uint64_t since_ms,
	    unsigned attempt, uint64_t now_ms, uint32_t rnd);

/* --- region-controller tracker ---------------------------------------- */
enum rejoin_host_state {
	REJOIN_JOINING,		/* advertised, never connected yet */
	REJOIN_UP,		/* every loop it had is connected */
	REJOIN_SHORT,		/* fewer loops connected than before */
	REJOIN_AWAY,		/* none connected, or gone from the document */
};

/* "joining", "up", "short", "away" (static strings). */
const char *rejoin_host_state_name(enum rejoin_host_state);

struct rejoin_host {
	char			*name;
	enum rejoin_host_state	 state;
	size_t			 expected;	/* loops connected at its best */
	uint64_t		 since_ms;	/* went SHORT/AWAY at */
	int			 was_up;	/* ever had a connected loop */
	int			 advertised;	/* in the last update's views */
	int			 gave_up;	/* window over was reported */
};

struct rejoin_tracker {
	struct rejoin_host	*hosts;
	size_t			 nhosts;
	unsigned		 attempt;	/* probes since the last loss */
};

/* What one region controller looks like right now (one per advertised
 * controller; a tracked controller missing from the views is not
 * advertised any more). */
struct rejoin_view {
	const char	*name;
	size_t		 advertised;	/* its event loops in the document */
	size_t		 established;	/* of which connected */
	size_t		 failing;	/* of which failed to connect (backoff) */
};

enum rejoin_change {
	REJOIN_WENT_AWAY,	/* UP/SHORT -> AWAY; or JOINING -> AWAY */
	REJOIN_CAME_BACK,	/* AWAY -> UP; gone_ms = how long */
	REJOIN_LOST_SOME,	/* UP -> SHORT */
	REJOIN_WHOLE_AGAIN,	/* SHORT -> UP, all its loops connected */
	REJOIN_GAVE_UP,		/* AWAY/SHORT window over; gone_ms so far */
};

typedef void (*rejoin_change_cb)(enum rejoin_change,
	    const struct rejoin_host *, uint64_t gone_ms, void *arg);

/*
 * Apply the current views (n of them; names borrowed) at now_ms.  cb (may
 * be NULL) hears each transition, in view order, records not advertised
 * after.  A WENT_AWAY or LOST_SOME restarts the probe schedule at
 * attempt 0.  Returns 1 if it did (the caller may want to probe sooner
 * than planned), else 0.
 */
int	rejoin_update(struct rejoin_tracker *, const struct rejoin_params *,
	    const struct rejoin_view *views, size_t n, uint64_t now_ms,
	    rejoin_change_cb cb, void *arg);

/*
 * The delay before the next quick probe round, consuming one attempt, or
 * -1 when no controller is AWAY or SHORT within its window.
 */
long	rejoin_schedule(struct rejoin_tracker *, const struct rejoin_params *,
	    uint64_t now_ms, uint32_t rnd);
/* Like rejoin_schedule() but consumes nothing: 1 if a probe is due. */
int	rejoin_probing(const struct rejoin_tracker *,
	    const struct rejoin_params *, uint64_t now_ms);

/* The record of region controller name, or NULL; owned by the tracker,
 * valid until its next update. */
const struct rejoin_host *rejoin_find(const struct rejoin_tracker *,
	    const char *name);
/* Free the records (the tracker itself is the caller's). */
void	rejoin_tracker_clear(struct rejoin_tracker *);

#endif
