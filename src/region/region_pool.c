/*
 * region_pool.c — the set of region connections and the call API.
 *
 * Discovery (discovery.c) tells us which event loops exist; we keep one
 * connection per loop and drop the ones no longer advertised.  When
 * discovery runs again:
 *
 *  - at once when an established connection drops;
 *  - every second while no event loop at all is connected (or no URL
 *    answers), as MAAS does: the rack is useless without a region;
 *  - on the quick probe schedule of rejoin.h (0.5 s doubling to
 *    region.rejoin_probe_interval, jittered, for region.rejoin_probe_max)
 *    while a region controller that was connected is AWAY (none of its
 *    loops connected: killed, or gone from the document) or SHORT (lost
 *    some loops), because only a fresh document names the event loops of
 *    a region that comes back (new pids, hence new names).  These rounds
 *    stand aside while discovery is probing a URL that stopped answering
 *    on its own (discovery.c): that URL's answer starts a round anyway,
 *    and the healthy regions are left alone;
 *  - otherwise every region.discovery_interval (30 s), even while stale
 *    event loops of a dead region stay in the document (MAAS removes a
 *    dead region's processes lazily); their connections keep retrying on
 *    their own backoff.
 *
 * Calls: region_call() picks the established connection with the lowest
 * measured round trip (ties: fewest calls in flight).  With none up the
 * call waits in a bounded queue until its deadline.  When a connection
 * dies, idempotent calls go back to the front of the queue and are
 * re-sent elsewhere; the rest fail with REGION_CALL_LOST, because the
 * region may already have acted on them.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "discovery.h"
#include "fileio.h"
#include "log.h"
#include "region_private.h"
#include "xmalloc.h"

#define DISC_INTERVAL_LOW_MS	1000
#define DISC_MAX_BODY		(1u << 20)

static void	pool_dispatch_queue(struct region_pool *);
static void	pool_schedule_discovery(struct region_pool *, int ms);
static void	pool_rejoin_refresh(struct region_pool *);

static const char *const call_status_names[] = {
	[REGION_CALL_OK] = "ok",
	[REGION_CALL_REMOTE_ERROR] = "remote error",
	[REGION_CALL_TIMEOUT] = "timed out",
	[REGION_CALL_LOST] = "connection lost",
	[REGION_CALL_QUEUE_FULL] = "queue full",
	[REGION_CALL_NO_REGION] = "no region connected",
	[REGION_CALL_CANCELLED] = "cancelled",
};

const char *
region_call_status_name(enum region_call_status s)
{
	if ((size_t)s < RACKD_NELEM(call_status_names))
		return call_status_names[s];
	return "?";
}

/* --- state files ---------------------------------------------------- */

/* Read a one-line FileBackedValue (MAAS: whitespace-stripped). */
static char *
read_value_file(const char *dir, const char *name)
{
	char path[4096], buf[256];
	FILE *f;
	size_t n;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ' ||
	    buf[n - 1] == '\t' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	if (n == 0)
		return NULL;
	return xstrdup(buf);
}

/* Write a value file ("value\n") atomically, as MAAS does. */
static int
write_value_file(const char *dir, const char *name, const char *value)
{
	char *path, *text, *cause = NULL;
	int rc;

	xasprintf(&path, "%s/%s", dir, name);
	xasprintf(&text, "%s\n", value);
	if ((rc = file_write_atomic(path, text, strlen(text), 0640,
	    &cause)) == -1) {
		log_warnx("region: cannot write %s", cause);
		free(cause);
	}
	free(text);
	free(path);
	return rc;
}

void
region_pool_set_system_id(struct region_pool *pool, const char *id,
    const char *uuid, const char *loop)
{
	if (pool->system_id == NULL || strcmp(pool->system_id, id) != 0) {
		if (pool->system_id != NULL && pool->system_id[0] != '\0')
			log_warnx("region %s: region assigned system_id %s "
			    "(was %s)", loop, id, pool->system_id);
		free(pool->system_id);
		pool->system_id = xstrdup(id);
		write_value_file(pool->data_dir, "maas_id", id);
	}
	if (uuid != NULL) {
		char *old = read_value_file(pool->data_dir, "maas_uuid");

		if (old == NULL || strcmp(old, uuid) != 0)
			write_value_file(pool->data_dir, "maas_uuid", uuid);
		free(old);
	}
}

/* --- calls ---------------------------------------------------------- */

void
region_call_free(struct region_call *call)
{
	if (call == NULL)
		return;
	if (call->timer != NULL)
		event_free(call->timer);
	free(call->command);
	amp_box_free(call->args);
	free(call);
}

void
region_call_complete(struct region_call *call, enum region_call_status st,
    const struct amp_box *answer, const char *ecode, const char *edesc,
    const char *loop)
{
	struct region_call_result r;

	memset(&r, 0, sizeof r);
	r.status = st;
	r.answer = answer;
	r.error_code = ecode;
	r.error_description = edesc;
	r.loop = loop;
	r.elapsed_ms = rackd_now_ms() - call->started_ms;
	region_pool_observe_call(call->pool, call->command, &r);
	if (call->timer != NULL)
		event_del(call->timer);
	if (call->cb != NULL)
		call->cb(&r, call->arg);
	region_call_free(call);
}

static void
call_timeout_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct region_call *call = arg;
	struct region_pool *pool = call->pool;
	struct region_conn *c = call->conn;

	if (c != NULL)
		region_conn_forget_call(c, call);
	else {
		TAILQ_REMOVE(&pool->queue, call, entry);
		pool->nqueued--;
	}
	if (call->internal != NULL) {
		call->internal(c, call, NULL, NULL, NULL, REGION_CALL_TIMEOUT);
		region_call_free(call);
		return;
	}
	region_call_complete(call, REGION_CALL_TIMEOUT, NULL, NULL, NULL,
	    c ? c->name : NULL);
}

static struct region_call *
call_new(struct region_pool *pool, const char *command, struct amp_box *args,
    unsigned flags, int timeout_ms)
{
	struct region_call *call = xcalloc(1, sizeof *call);
	struct timeval tv;

	call->pool = pool;
	call->id = ++pool->next_call_id;
	call->command = xstrdup(command);
	call->args = args;
	call->flags = flags;
	call->started_ms = rackd_now_ms();
	if (timeout_ms <= 0)
		timeout_ms = pool->p.call_timeout_ms;
	call->timer = evtimer_new(pool->base, call_timeout_cb, call);
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(call->timer, &tv);
	return call;
}

struct region_call *
region_call_new_internal(struct region_pool *pool, const char *command,
    struct amp_box *args, int timeout_ms, region_internal_cb fn)
{
	struct region_call *call = call_new(pool, command, args, 0, timeout_ms);

	call->internal = fn;
	return call;
}

/* Pick the established connection to carry the next call. */
static struct region_conn *
pool_pick(struct region_pool *pool)
{
	struct region_conn *c, *best = NULL;
	size_t best_n = 0, n;
	struct region_call *call;
	double best_rtt = 0, rtt;

	TAILQ_FOREACH(c, &pool->conns, entry) {
		if (c->state != REGION_ESTABLISHED)
			continue;
		n = 0;
		TAILQ_FOREACH(call, &c->inflight, entry)
			n++;
		rtt = c->rtt_ms < 0 ? 1000.0 : c->rtt_ms;
		/* Round trips within 1 ms of each other count as equal. */
		if (best == NULL || rtt + 1.0 < best_rtt ||
		    (rtt <= best_rtt + 1.0 && n < best_n)) {
			best = c;
			best_n = n;
			best_rtt = rtt;
		}
	}
	return best;
}

struct deferred_fail {
	struct region_call	*call;
	enum region_call_status	 st;
};

static void
deferred_fail_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct deferred_fail *d = arg;

	region_call_complete(d->call, d->st, NULL, NULL, NULL, NULL);
	free(d);
}

static void
call_fail_later(struct region_pool *pool, struct region_call *call,
    enum region_call_status st)
{
	struct deferred_fail *d = xmalloc(sizeof *d);

	d->call = call;
	d->st = st;
	if (call->timer != NULL)
		event_del(call->timer);
	event_base_once(pool->base, -1, EV_TIMEOUT, deferred_fail_cb, d, NULL);
}

uint64_t
region_call(struct region_pool *pool, const char *command,
    struct amp_box *args, unsigned flags, int timeout_ms, region_call_cb cb,
    void *arg)
{
	struct region_call *call;
	struct region_conn *c;
	uint64_t id;

	call = call_new(pool, command, args, flags, timeout_ms);
	call->cb = cb;
	call->arg = arg;
	id = call->id;

	if (pool->shutting_down) {
		call_fail_later(pool, call, REGION_CALL_CANCELLED);
		return id;
	}
	if ((c = pool_pick(pool)) != NULL && TAILQ_EMPTY(&pool->queue)) {
		region_conn_send_call(c, call);
		return id;
	}
	if (flags & REGION_CALL_NOQUEUE) {
		call_fail_later(pool, call, REGION_CALL_NO_REGION);
		return id;
	}
	if (pool->nqueued >= (size_t)pool->p.queue_max) {
		log_warnx("region: no region connected and %zu calls already "
		    "waiting; %s refused", pool->nqueued, command);
		call_fail_later(pool, call, REGION_CALL_QUEUE_FULL);
		return id;
	}
	TAILQ_INSERT_TAIL(&pool->queue, call, entry);
	pool->nqueued++;
	if (!pool->queue_warned && pool_pick(pool) == NULL) {
		log_info("region: no region connected; calls wait (up to %d) "
		    "until one is", pool->p.queue_max);
		pool->queue_warned = 1;
	}
	pool_dispatch_queue(pool);
	return id;
}

static void
pool_dispatch_queue(struct region_pool *pool)
{
	struct region_call *call;
	struct region_conn *c;

	while ((call = TAILQ_FIRST(&pool->queue)) != NULL) {
		if ((c = pool_pick(pool)) == NULL)
			return;
		TAILQ_REMOVE(&pool->queue, call, entry);
		pool->nqueued--;
		region_conn_send_call(c, call);
	}
	pool->queue_warned = 0;
}

/* --- connection events ---------------------------------------------- */

void
region_pool_conn_established(struct region_pool *pool, struct region_conn *c)
{
	pool_dispatch_queue(pool);
	region_pool_update_stats(pool);
}

void
region_pool_conn_lost(struct region_pool *pool, struct region_conn *c,
    struct region_call_list *orphans)
{
	struct region_call *call;
	struct region_call_list requeue;

	TAILQ_INIT(&requeue);
	while ((call = TAILQ_FIRST(orphans)) != NULL) {
		TAILQ_REMOVE(orphans, call, entry);
		if ((call->flags & REGION_CALL_IDEMPOTENT) &&
		    !pool->shutting_down) {
			call->resends++;
			log_debug("region: re-sending %s (lost with %s)",
			    call->command, c->name);
			TAILQ_INSERT_TAIL(&requeue, call, entry);
			continue;
		}
		region_call_complete(call, pool->shutting_down ?
		    REGION_CALL_CANCELLED : REGION_CALL_LOST, NULL, NULL, NULL,
		    c->name);
	}
	/* Re-sent calls go ahead of newer ones, keeping their order. */
	while ((call = TAILQ_LAST(&requeue, region_call_list)) != NULL) {
		TAILQ_REMOVE(&requeue, call, entry);
		TAILQ_INSERT_HEAD(&pool->queue, call, entry);
		pool->nqueued++;
	}
	if (!pool->shutting_down && !c->removed) {
		pool->fully_connected_logged = 0;
		pool_schedule_discovery(pool, 0);
		pool_dispatch_queue(pool);
	}
}

void
region_pool_stats(const struct region_pool *pool, struct region_stats *st)
{
	const struct region_conn *c, *d;
	int seen;

	memset(st, 0, sizeof *st);
	TAILQ_FOREACH(c, &pool->conns, entry) {
		st->advertised++;
		if (c->state == REGION_ESTABLISHED)
			st->established++;
		/* Distinct region hosts, advertised and connected. */
		seen = 0;
		for (d = TAILQ_FIRST(&pool->conns); d != c;
		    d = TAILQ_NEXT(d, entry)) {
			if (strcmp(d->region_host, c->region_host) == 0)
				seen = 1;
		}
		if (!seen) {
			st->regions_advertised++;
			for (d = c; d != NULL; d = TAILQ_NEXT(d, entry)) {
				if (strcmp(d->region_host, c->region_host) == 0 &&
				    d->state == REGION_ESTABLISHED) {
					st->regions_connected++;
					break;
				}
			}
		}
	}
	st->queued = pool->nqueued;
	st->from_saved = pool->from_saved;
}

void
region_pool_update_stats(struct region_pool *pool)
{
	struct region_stats st;

	pool_rejoin_refresh(pool);
	region_pool_stats(pool, &st);
	if (memcmp(&st, &pool->last_stats, sizeof st) == 0)
		return;
	if (st.advertised > 0 && st.established == st.advertised &&
	    !pool->fully_connected_logged) {
		log_info("region: fully connected to all %zu event loops on all "
		    "%zu region controllers", st.advertised,
		    st.regions_advertised);
		pool->fully_connected_logged = 1;
	}
	pool->last_stats = st;
	if (pool->stats_cb != NULL)
		pool->stats_cb(&st, pool->cb_arg);
}

/* --- discovery glue ------------------------------------------------- */

static void
disc_timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct region_pool *pool = arg;

	discovery_run(pool->disc);
}

static void
pool_schedule_discovery(struct region_pool *pool, int ms)
{
	struct timeval tv;

	if (pool->disc_timer == NULL || pool->shutting_down)
		return;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	event_del(pool->disc_timer);
	evtimer_add(pool->disc_timer, &tv);
	pool->disc_due_ms = rackd_now_ms() + (uint64_t)ms;
}

/* --- region controllers that go away and come back ------------------ */

static void
pool_rejoin_params(const struct region_pool *pool, struct rejoin_params *rp)
{
	rp->base_ms = REJOIN_BASE_MS;
	rp->cap_ms = pool->p.rejoin_probe_interval_ms;
	rp->window_ms = pool->p.rejoin_probe_max_ms;
}

static void
pool_rejoin_change(enum rejoin_change ev, const struct rejoin_host *h,
    uint64_t gone_ms, void *arg)
{
	struct region_pool *pool = arg;
	double gone = (double)gone_ms / 1000.0;

	switch (ev) {
	case REJOIN_WENT_AWAY:
		if (!h->was_up) {
			log_debug("region controller %s: unreachable so far; "
			    "probing", h->name);
			break;
		}
		if (pool->p.rejoin_probe_max_ms > 0)
			log_warnx("region controller %s went away (no event "
			    "loop connected); probing for its return every "
			    "%.1f s at most for %.0f s", h->name,
			    pool->p.rejoin_probe_interval_ms / 1000.0,
			    pool->p.rejoin_probe_max_ms / 1000.0);
		else
			log_warnx("region controller %s went away (no event "
			    "loop connected)", h->name);
		break;
	case REJOIN_CAME_BACK:
		log_info("region controller %s is back after %.1f s", h->name,
		    gone);
		break;
	case REJOIN_LOST_SOME:
		/* Debug: a region going away loses its loops one by one,
		 * and each lost connection was logged already. */
		log_debug("region controller %s lost an event loop (of %zu); "
		    "probing for its replacement", h->name, h->expected);
		break;
	case REJOIN_WHOLE_AGAIN:
		log_debug("region controller %s: all %zu event loops connected "
		    "again after %.1f s", h->name, h->expected, gone);
		break;
	case REJOIN_GAVE_UP:
		log_info("region controller %s: not %s after %.0f s; "
		    "discovery every %.0f s from now", h->name,
		    h->state == REJOIN_AWAY ? "back" : "whole again", gone,
		    pool->p.discovery_interval_ms / 1000.0);
		break;
	}
}

/*
 * Feed the tracker what every region controller looks like now (called
 * on every connection state change and after each reconcile).  A new loss
 * brings the next discovery round forward to the first quick probe.
 */
static void
pool_rejoin_refresh(struct region_pool *pool)
{
	struct rejoin_params rp;
	struct rejoin_view *views = NULL;
	const struct region_conn *c;
	size_t n = 0, i;
	uint32_t rnd;
	long ms;

	if (pool->shutting_down || !pool->started)
		return;
	TAILQ_FOREACH(c, &pool->conns, entry) {
		for (i = 0; i < n; i++)
			if (strcmp(views[i].name, c->region_host) == 0)
				break;
		if (i == n) {
			views = xreallocarray(views, n + 1, sizeof *views);
			memset(&views[n], 0, sizeof *views);
			views[n++].name = c->region_host;
		}
		views[i].advertised++;
		if (c->state == REGION_ESTABLISHED)
			views[i].established++;
		else if (c->state == REGION_BACKOFF)
			views[i].failing++;
	}
	pool_rejoin_params(pool, &rp);
	if (rejoin_update(&pool->rejoin, &rp, views, n, rackd_now_ms(),
	    pool_rejoin_change, pool) && discovery_probing(pool->disc) == 0) {
		auth_random((uint8_t *)&rnd, sizeof rnd);
		ms = rejoin_schedule(&pool->rejoin, &rp, rackd_now_ms(), rnd);
		if (ms >= 0 && (pool->disc_timer == NULL ||
		    !evtimer_pending(pool->disc_timer, NULL) ||
		    rackd_now_ms() + (uint64_t)ms < pool->disc_due_ms))
			pool_schedule_discovery(pool, (int)ms);
	}
	free(views);
}

static struct region_conn *
pool_find(struct region_pool *pool, const char *name)
{
	struct region_conn *c;

	TAILQ_FOREACH(c, &pool->conns, entry) {
		if (strcmp(c->name, name) == 0)
			return c;
	}
	return NULL;
}

static void
pool_reconcile(struct region_pool *pool, const struct disc_doc *doc)
{
	struct region_conn *c, *next;
	size_t i;
	int found;

	/* Drop connections to event loops no longer advertised. */
	for (c = TAILQ_FIRST(&pool->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		found = 0;
		for (i = 0; i < doc->nloops; i++) {
			if (strcmp(doc->loops[i].name, c->name) == 0)
				found = 1;
		}
		if (found)
			continue;
		log_info("region %s: no longer advertised; dropping", c->name);
		c->removed = 1;
		TAILQ_REMOVE(&pool->conns, c, entry);
		region_conn_close(c, 0, -1, "no longer advertised");
		region_conn_free(c);
		/* A close may have freed or re-ordered others: restart. */
		next = TAILQ_FIRST(&pool->conns);
	}

	for (i = 0; i < doc->nloops; i++) {
		const struct disc_eventloop *el = &doc->loops[i];

		if ((c = pool_find(pool, el->name)) != NULL) {
			if (region_conn_set_addrs(c, el)) {
				region_conn_close(c, 0, LOG_INFO,
				    "address no longer advertised; reconnecting");
				region_conn_start(c);
			}
			continue;
		}
		c = region_conn_new(pool, el);
		TAILQ_INSERT_TAIL(&pool->conns, c, entry);
		log_info("region %s: discovered (%zu address%s: %s%s)", el->name,
		    el->naddrs, el->naddrs == 1 ? "" : "es",
		    el->naddrs ? el->addrs[0].host : "-",
		    el->naddrs > 1 ? ", ..." : "");
		region_conn_start(c);
	}
	region_pool_update_stats(pool);
}

/* When the next discovery round runs (see the top of the file). */
static int
pool_next_round_ms(struct region_pool *pool, int answered,
    const struct region_stats *st)
{
	struct rejoin_params rp;
	uint32_t rnd;
	long ms;

	if (!answered || st->advertised == 0 || st->established == 0)
		return DISC_INTERVAL_LOW_MS;
	if (discovery_probing(pool->disc) == 0) {
		pool_rejoin_params(pool, &rp);
		auth_random((uint8_t *)&rnd, sizeof rnd);
		ms = rejoin_schedule(&pool->rejoin, &rp, rackd_now_ms(), rnd);
		if (ms >= 0 && ms < pool->p.discovery_interval_ms)
			return (int)ms;
	}
	return pool->p.discovery_interval_ms;
}

static void
pool_discovered(const struct disc_doc *doc, const char *maas_url,
    int from_saved, void *arg)
{
	struct region_pool *pool = arg;
	struct region_stats st;

	if (pool->shutting_down)
		return;
	region_pool_observe_discovery(pool, doc != NULL, from_saved);
	if (doc != NULL) {
		if (maas_url != NULL && (pool->maas_url == NULL ||
		    strcmp(pool->maas_url, maas_url) != 0)) {
			free(pool->maas_url);
			pool->maas_url = xstrdup(maas_url);
		}
		pool->from_saved = from_saved;
		pool_reconcile(pool, doc);
	}
	region_pool_stats(pool, &st);
	pool_schedule_discovery(pool, pool_next_round_ms(pool, doc != NULL &&
	    !from_saved, &st));
}

/* --- pool lifecycle ------------------------------------------------- */

static void
pool_copy_config(struct region_pool *pool, const struct rackd_config *cfg)
{
	size_t i;

	for (i = 0; i < pool->nurls; i++)
		free(pool->urls[i]);
	free(pool->urls);
	pool->nurls = cfg->n_maas_urls;
	pool->urls = xcalloc(pool->nurls + 1, sizeof *pool->urls);
	for (i = 0; i < pool->nurls; i++)
		pool->urls[i] = xstrdup(cfg->maas_urls[i]);
	free(pool->data_dir);
	pool->data_dir = xstrdup(cfg->data_dir);
	free(pool->hostname);
	pool->hostname = xstrdup(cfg->hostname);
	free(pool->cluster_uuid);
	pool->cluster_uuid = cfg->cluster_uuid ? xstrdup(cfg->cluster_uuid) : NULL;
	pool->p.discovery_timeout_ms = cfg->region.discovery_timeout_ms;
	pool->p.connect_timeout_ms = cfg->region.connect_timeout_ms;
	pool->p.handshake_timeout_ms = cfg->region.handshake_timeout_ms;
	pool->p.liveness_timeout_ms = cfg->region.liveness_timeout_ms;
	pool->p.call_timeout_ms = cfg->region.call_timeout_ms;
	pool->p.queue_max = cfg->region.queue_max;
	pool->p.backoff_max_ms = cfg->region.backoff_max_ms;
	pool->p.discovery_interval_ms = cfg->region.discovery_interval_ms;
	pool->p.rejoin_probe_max_ms = cfg->region.rejoin_probe_max_ms;
	pool->p.rejoin_probe_interval_ms = cfg->region.rejoin_probe_interval_ms;
}

static void
pool_disc_params(struct region_pool *pool, struct discovery_params *dp)
{
	memset(dp, 0, sizeof *dp);
	dp->maas_urls = pool->urls;
	dp->nurls = pool->nurls;
	dp->data_dir = pool->data_dir;
	dp->timeout_ms = pool->p.discovery_timeout_ms;
	dp->max_body = DISC_MAX_BODY;
	pool_rejoin_params(pool, &dp->probe);
}

struct region_pool *
region_pool_new(struct event_base *base, struct http *http,
    const struct rackd_config *cfg, const struct secret *secret,
    region_command_cb cmd_cb, region_stats_cb stats_cb, void *arg)
{
	struct region_pool *pool = xcalloc(1, sizeof *pool);
	struct discovery_params dp;

	pool->base = base;
	pool->http = http;
	TAILQ_INIT(&pool->conns);
	TAILQ_INIT(&pool->queue);
	pool->cmd_cb = cmd_cb;
	pool->stats_cb = stats_cb;
	pool->cb_arg = arg;
	pool_copy_config(pool, cfg);
	pool->secret = *secret;
	pool->system_id = read_value_file(pool->data_dir, "maas_id");
	if (pool->system_id != NULL)
		log_info("region: this rack is %s (from %s/maas_id)",
		    pool->system_id, pool->data_dir);
	pool_disc_params(pool, &dp);
	pool->disc = discovery_new(base, http, &dp, pool_discovered, pool);
	pool->disc_timer = evtimer_new(base, disc_timer_cb, pool);
	return pool;
}

void
region_pool_start(struct region_pool *pool)
{
	pool->started = 1;
	discovery_run(pool->disc);
}

void
region_pool_reconfigure(struct region_pool *pool,
    const struct rackd_config *cfg, const struct secret *secret)
{
	struct discovery_params dp;
	struct region_conn *c;
	int secret_changed = secret->len != pool->secret.len ||
	    memcmp(secret->key, pool->secret.key, secret->len) != 0;

	pool_copy_config(pool, cfg);
	pool_disc_params(pool, &dp);
	discovery_set_params(pool->disc, &dp);
	if (secret_changed) {
		secret_wipe(&pool->secret);
		pool->secret = *secret;
		log_info("region: shared secret changed; reconnecting to every "
		    "event loop");
		TAILQ_FOREACH(c, &pool->conns, entry) {
			if (c->state == REGION_IDLE || c->state == REGION_BACKOFF) {
				c->failures = 0;
				region_conn_start(c);
				continue;
			}
			region_conn_close(c, 0, -1, "secret changed");
			c->failures = 0;
			region_conn_start(c);
		}
	}
	discovery_run(pool->disc);
}

void
region_pool_shutdown(struct region_pool *pool)
{
	struct region_conn *c;
	struct region_call *call;

	if (pool->shutting_down)
		return;
	pool->shutting_down = 1;
	if (pool->disc_timer != NULL)
		event_del(pool->disc_timer);
	TAILQ_FOREACH(c, &pool->conns, entry)
		region_conn_close(c, 0, -1, "shutting down");
	while ((call = TAILQ_FIRST(&pool->queue)) != NULL) {
		TAILQ_REMOVE(&pool->queue, call, entry);
		pool->nqueued--;
		region_call_complete(call, REGION_CALL_CANCELLED, NULL, NULL,
		    NULL, NULL);
	}
}

void
region_pool_free(struct region_pool *pool)
{
	struct region_conn *c;
	size_t i;

	if (pool == NULL)
		return;
	region_pool_shutdown(pool);
	while ((c = TAILQ_FIRST(&pool->conns)) != NULL) {
		TAILQ_REMOVE(&pool->conns, c, entry);
		region_conn_free(c);
	}
	discovery_free(pool->disc);
	if (pool->disc_timer != NULL)
		event_free(pool->disc_timer);
	for (i = 0; i < pool->nurls; i++)
		free(pool->urls[i]);
	free(pool->urls);
	free(pool->data_dir);
	free(pool->hostname);
	free(pool->cluster_uuid);
	free(pool->system_id);
	free(pool->maas_url);
	rejoin_tracker_clear(&pool->rejoin);
	secret_wipe(&pool->secret);
	free(pool);
}

const char *
region_pool_system_id(const struct region_pool *pool)
{
	return pool->system_id ? pool->system_id : "";
}

const char *
region_pool_maas_url(const struct region_pool *pool)
{
	return pool->maas_url;
}

size_t
region_pool_peer_hosts(const struct region_pool *pool, char ***hosts)
{
	const struct region_conn *c;
	char **v = NULL;
	const char *h;
	size_t n = 0, i;

	v = xcalloc(1, sizeof *v);
	TAILQ_FOREACH(c, &pool->conns, entry) {
		if (c->state != REGION_ESTABLISHED || c->addr_idx >= c->naddrs)
			continue;
		h = c->addrs[c->addr_idx].host;
		for (i = 0; i < n; i++)
			if (strcmp(v[i], h) == 0)
				break;
		if (i < n)
			continue;
		v = xreallocarray(v, n + 2, sizeof *v);
		v[n++] = xstrdup(h);
		v[n] = NULL;
	}
	*hosts = v;
	return n;
}

char *
region_pool_describe(const struct region_pool *pool)
{
	const struct region_conn *c;
	struct bytes b;
	char line[512];
	size_t len;
	uint8_t *p;

	bytes_init(&b);
	TAILQ_FOREACH(c, &pool->conns, entry) {
		snprintf(line, sizeof line, "%s %s %s rtt=%.1fms\n", c->name,
		    c->peer, region_state_name(c->state), c->rtt_ms);
		bytes_add_str(&b, line);
	}
	bytes_add_u8(&b, 0);
	p = bytes_steal(&b, &len);
	return (char *)p;
}
