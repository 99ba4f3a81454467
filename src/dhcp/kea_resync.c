/*
 * kea_resync.c — one ha-sync from the partner once an HA pair is in
 * touch (kea_resync.h says why).
 */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "kea.h"
#include "kea_resync.h"
#include "log.h"
#include "rackd.h"
#include "xmalloc.h"

#define RESYNC_POLL_MS		250
#define RESYNC_SYNC_TIMEOUT_MS	65000	/* Kea's sync-timeout is 60 s */

struct kea_resync {
	struct event_base	*base;
	char			*name, *socket, *partner;
	int			 family;
	struct event		*ev;
	struct kea_ctl		*ctl;
	uint64_t		 started_ms, deadline_ms, sync_ms;
	bool			 hold;		/* DHCP disabled until synced */
	struct kea_ctl		*hold_ctl;
	bool			 finished;
};

static void	resync_arm(struct kea_resync *);

const char *
kea_ha_partner(const json_t *config, int family)
{
	const json_t *hooks, *h, *ha, *peers, *p;
	const char *me, *name;
	size_t i, j;

	hooks = json_object_get(json_object_get(config, family == 4 ?
	    "Dhcp4" : "Dhcp6"), "hooks-libraries");
	json_array_foreach(hooks, i, h) {
		ha = json_array_get(json_object_get(json_object_get(h,
		    "parameters"), "high-availability"), 0);
		if (ha == NULL)
			continue;
		me = json_string_value(json_object_get(ha, "this-server-name"));
		peers = json_object_get(ha, "peers");
		json_array_foreach(peers, j, p) {
			name = json_string_value(json_object_get(p, "name"));
			if (name != NULL && me != NULL && strcmp(name, me) != 0)
				return name;
		}
	}
	return NULL;
}

static void
hold_cb(int result, json_t *reply, const char *text, void *arg)
{
	struct kea_resync *r = arg;

	r->hold_ctl = NULL;
	if (result != KEA_CTL_OK)
		log_warnx("dhcp: Kea instance %s (DHCPv%d): dhcp-%s: %s",
		    r->name, r->family, r->finished ? "enable" : "disable",
		    text != NULL ? text : "no answer");
}

/* dhcp-disable (origin user: HA's own state changes do not undo it) with
 * max-period as a safety net should rackd die, or dhcp-enable. */
static void
hold_send(struct kea_resync *r, bool disable)
{
	char *cause = NULL;
	json_t *args;

	kea_ctl_cancel(r->hold_ctl);
	args = disable ? json_pack("{s:s, s:i}", "origin", "user",
	    "max-period", (int)((r->deadline_ms - r->started_ms) / 1000 + 1)) :
	    json_pack("{s:s}", "origin", "user");
	r->hold_ctl = kea_ctl_send(r->base, r->socket, disable ?
	    "dhcp-disable" : "dhcp-enable", args, 5000, hold_cb, r, &cause);
	if (r->hold_ctl == NULL) {
		log_warnx("dhcp: Kea instance %s: %s", r->name, cause);
		free(cause);
	}
}

static void
resync_finish(struct kea_resync *r)
{
	r->finished = true;
	evtimer_del(r->ev);
	if (r->hold) {
		hold_send(r, false);
		log_info("dhcp: Kea instance %s (DHCPv%d): serving", r->name,
		    r->family);
	}
}

static void
sync_cb(int result, json_t *reply, const char *text, void *arg)
{
	struct kea_resync *r = arg;

	r->ctl = NULL;
	if (result == KEA_CTL_OK && r->hold)
		log_info("dhcp: Kea instance %s (DHCPv%d): pulled the leases of "
		    "partner %s (ha-sync, %llu ms) after %llu ms without DHCP",
		    r->name, r->family, r->partner, (unsigned long long)(
		    rackd_now_ms() - r->sync_ms), (unsigned long long)(
		    rackd_now_ms() - r->started_ms));
	else if (result == KEA_CTL_OK)
		log_info("dhcp: Kea instance %s (DHCPv%d): pulled the leases of "
		    "partner %s (ha-sync, %llu ms)", r->name, r->family,
		    r->partner, (unsigned long long)(rackd_now_ms() -
		    r->sync_ms));
	else
		log_warnx("dhcp: Kea instance %s (DHCPv%d): ha-sync from %s "
		    "failed: %s", r->name, r->family, r->partner,
		    text != NULL ? text : "no answer");
	resync_finish(r);
}

static bool
normal_state(const char *s)
{
	return s != NULL && (strcmp(s, "hot-standby") == 0 ||
	    strcmp(s, "load-balancing") == 0);
}

static void
status_cb(int result, json_t *reply, const char *text, void *arg)
{
	struct kea_resync *r = arg;
	json_t *ha, *servers, *args;
	const char *local, *remote;
	char *cause = NULL;

	r->ctl = NULL;
	ha = json_array_get(json_object_get(json_object_get(reply,
	    "arguments"), "high-availability"), 0);
	servers = json_object_get(ha, "ha-servers");
	local = json_string_value(json_object_get(json_object_get(servers,
	    "local"), "state"));
	remote = json_string_value(json_object_get(json_object_get(servers,
	    "remote"), "last-state"));
	if (result != KEA_CTL_OK || !normal_state(local) ||
	    !normal_state(remote)) {
		resync_arm(r);
		return;
	}
	args = json_pack("{s:s, s:i}", "server-name", r->partner,
	    "max-period", 60);
	r->sync_ms = rackd_now_ms();
	r->ctl = kea_ctl_send(r->base, r->socket, "ha-sync", args,
	    RESYNC_SYNC_TIMEOUT_MS, sync_cb, r, &cause);
	if (r->ctl == NULL) {
		log_warnx("dhcp: Kea instance %s: ha-sync: %s", r->name, cause);
		free(cause);
		resync_finish(r);
	}
}

static void
resync_tick(evutil_socket_t fd, short what, void *arg)
{
	struct kea_resync *r = arg;
	char *cause = NULL;

	if (rackd_now_ms() >= r->deadline_ms) {
		log_warnx("dhcp: Kea instance %s (DHCPv%d): partner %s not in "
		    "touch after %llu s; its leases were not pulled%s",
		    r->name, r->family, r->partner, (unsigned long long)(
		    (r->deadline_ms - r->started_ms) / 1000), r->hold ?
		    "; serving without them" : "");
		resync_finish(r);
		return;
	}
	r->ctl = kea_ctl_send(r->base, r->socket, "status-get", NULL, 2000,
	    status_cb, r, &cause);
	if (r->ctl == NULL) {
		free(cause);
		resync_finish(r);
	}
}

static void
resync_arm(struct kea_resync *r)
{
	struct timeval tv = { 0, RESYNC_POLL_MS * 1000 };

	evtimer_add(r->ev, &tv);
}

struct kea_resync *
kea_resync_start(struct event_base *base, const char *name, int family,
    const char *socket_path, const json_t *config, int timeout_ms,
    bool hold)
{
	struct kea_resync *r;
	const char *partner = kea_ha_partner(config, family);

	if (partner == NULL)
		return NULL;
	r = xcalloc(1, sizeof *r);
	r->base = base;
	r->name = xstrdup(name);
	r->socket = xstrdup(socket_path);
	r->partner = xstrdup(partner);
	r->family = family;
	r->started_ms = rackd_now_ms();
	r->deadline_ms = r->started_ms + (uint64_t)timeout_ms;
	r->ev = evtimer_new(base, resync_tick, r);
	r->hold = hold;
	if (hold) {
		log_info("dhcp: Kea instance %s (DHCPv%d): this rack holds no "
		    "lease of its new subnets; DHCP held until partner %s's "
		    "leases are pulled (at most %d s)", name, family,
		    r->partner, timeout_ms / 1000);
		hold_send(r, true);
	}
	resync_arm(r);
	return r;
}

bool
kea_resync_finished(const struct kea_resync *r)
{
	return r->finished;
}

void
kea_resync_free(struct kea_resync *r)
{
	if (r == NULL)
		return;
	kea_ctl_cancel(r->ctl);
	kea_ctl_cancel(r->hold_ctl);
	if (r->ev != NULL)
		event_free(r->ev);
	free(r->name);
	free(r->socket);
	free(r->partner);
	free(r);
}
