/*
 * boot_events.c — RegisterEventType once per type, then
 * SendEventIPAddress for every boot request (boot_events.h).
 *
 * Events of a type whose registration is in flight wait in a small
 * bounded list and go out, in order, once it is answered; a failed
 * registration drops them and is retried with the next event.
 */
#include <stdlib.h>
#include <string.h>

#include "amp.h"
#include "boot_events.h"
#include "log.h"
#include "rackd.h"
#include "region.h"
#include "xmalloc.h"

#define EVENTS_WAITING_MAX	256
#define EVENT_TIMEOUT_MS	30000

static const struct {
	const char	*name, *description;
	int		 level;
} types[] = {
	/* src/provisioningserver/events.py@3.4.0 EVENT_DETAILS */
	{ "NODE_TFTP_REQUEST", "TFTP Request", 10 },
	{ "NODE_HTTP_REQUEST", "HTTP Request", 10 },
	{ "LOADING_EPHEMERAL", "Loading ephemeral", 20 },
};

enum reg_state { REG_NONE, REG_SENT, REG_DONE };

struct waiting {
	char	*ip, *description;
};

struct boot_events {
	struct region_pool	*pool;
	enum reg_state		 state[RACKD_NELEM(types)];
	struct waiting		 wait[RACKD_NELEM(types)][EVENTS_WAITING_MAX];
	size_t			 nwait[RACKD_NELEM(types)];
	unsigned long		 dropped;	/* since the last log line */
	int			 freed;		/* freed with calls in flight */
	int			 inflight;
};

struct reg_ctx {
	struct boot_events	*ev;
	size_t			 type;
};

struct boot_events *
boot_events_new(void)
{
	return xcalloc(1, sizeof(struct boot_events));
}

void
boot_events_set_pool(struct boot_events *ev, struct region_pool *pool)
{
	ev->pool = pool;
}

static void
drop(struct boot_events *ev, const char *why)
{
	/* One line per burst: a PXE storm with no region would flood. */
	if (ev->dropped++ == 0)
		log_info("boot events: dropping events (%s)", why);
}

static void
sent_cb(const struct region_call_result *r, void *arg)
{
	struct boot_events *ev = arg;

	ev->inflight--;
	if (ev->freed) {
		if (ev->inflight == 0)
			free(ev);
		return;
	}
	if (r->status == REGION_CALL_OK)
		ev->dropped = 0;
	else
		drop(ev, region_call_status_name(r->status));
}

static void
send_now(struct boot_events *ev, size_t t, const char *ip, const char *desc)
{
	struct amp_box *a = amp_box_new();

	amp_box_put_str(a, "ip_address", ip);
	amp_box_put_str(a, "type_name", types[t].name);
	amp_box_put_str(a, "description", desc);
	ev->inflight++;
	region_call(ev->pool, "SendEventIPAddress", a,
	    REGION_CALL_IDEMPOTENT | REGION_CALL_NOQUEUE, EVENT_TIMEOUT_MS,
	    sent_cb, ev);
}

static void
flush_waiting(struct boot_events *ev, size_t t, int send)
{
	size_t i;

	for (i = 0; i < ev->nwait[t]; i++) {
		if (send && ev->pool != NULL)
			send_now(ev, t, ev->wait[t][i].ip,
			    ev->wait[t][i].description);
		free(ev->wait[t][i].ip);
		free(ev->wait[t][i].description);
	}
	ev->nwait[t] = 0;
}

static void
registered_cb(const struct region_call_result *r, void *arg)
{
	struct reg_ctx *ctx = arg;
	struct boot_events *ev = ctx->ev;
	size_t t = ctx->type;

	free(ctx);
	ev->inflight--;
	if (ev->freed) {
		if (ev->inflight == 0)
			free(ev);
		return;
	}
	if (r->status != REGION_CALL_OK) {
		ev->state[t] = REG_NONE;
		drop(ev, region_call_status_name(r->status));
		flush_waiting(ev, t, 0);
		return;
	}
	ev->state[t] = REG_DONE;
	flush_waiting(ev, t, 1);
}

void
boot_events_send(struct boot_events *ev, const char *type_name,
    const char *ip, const char *description)
{
	struct reg_ctx *ctx;
	struct amp_box *a;
	size_t t;

	for (t = 0; t < RACKD_NELEM(types); t++)
		if (strcmp(types[t].name, type_name) == 0)
			break;
	if (t == RACKD_NELEM(types)) {
		log_warnx("boot events: unknown type %s", type_name);
		return;
	}
	if (ev->pool == NULL || region_pool_system_id(ev->pool)[0] == '\0') {
		drop(ev, "no region yet");
		return;
	}
	if (ev->state[t] == REG_DONE) {
		send_now(ev, t, ip, description);
		return;
	}
	if (ev->nwait[t] == EVENTS_WAITING_MAX) {
		drop(ev, "too many waiting for RegisterEventType");
		return;
	}
	ev->wait[t][ev->nwait[t]].ip = xstrdup(ip);
	ev->wait[t][ev->nwait[t]].description = xstrdup(description);
	ev->nwait[t]++;
	if (ev->state[t] == REG_SENT)
		return;
	ev->state[t] = REG_SENT;
	a = amp_box_new();
	amp_box_put_str(a, "name", types[t].name);
	amp_box_put_str(a, "description", types[t].description);
	amp_box_put_int(a, "level", types[t].level);
	ctx = xmalloc(sizeof *ctx);
	ctx->ev = ev;
	ctx->type = t;
	ev->inflight++;
	region_call(ev->pool, "RegisterEventType", a, REGION_CALL_IDEMPOTENT,
	    EVENT_TIMEOUT_MS, registered_cb, ctx);
}

void
boot_events_free(struct boot_events *ev)
{
	size_t t;

	if (ev == NULL)
		return;
	for (t = 0; t < RACKD_NELEM(types); t++)
		flush_waiting(ev, t, 0);
	/* Normally the pool is gone and every callback ran. */
	if (ev->inflight > 0) {
		ev->freed = 1;
		return;
	}
	free(ev);
}
