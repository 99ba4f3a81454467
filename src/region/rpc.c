/*
 * rpc.c — the registry of region->rack commands (rpc.h) and what the
 * rack reports on its own (UpdateServices).
 *
 * Services register their tables (rpc_register); rows are kept in one
 * array sorted by name, so a command is found by binary search.
 * Anything not registered gets Twisted's UNHANDLED answer on the same
 * connection (never a dropped connection or a silent timeout).  The
 * rows follow spec §5.4: commands whose error would hurt the region
 * (e.g. an empty ListBootImages blocking deployments) get the answer
 * MAAS's own rack would give when it cannot serve them.
 *
 * The commands served here are the rack's membership of the region,
 * which no service owns: Identify (the system_id the pool registered),
 * Ping, and DisableAndShutoffRackd (the region deletes this rack: forget
 * the secret the pool authenticates with, and stop the daemon).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "log.h"
#include "region.h"
#include "rpc.h"
#include "xmalloc.h"

struct rpc_entry {
	const struct rpc_command *cmd;
	void			*ctx;
};

struct rpc {
	struct event_base	*base;
	struct region_pool	*pool;
	struct rpc_hooks	 hooks;
	struct rpc_entry	*cmds;		/* sorted by cmd->name */
	size_t			 ncmds;
	char			*secret_file;
	char			*hostname;
	int			 services_interval_ms;
	struct event		*services_timer;
	int			 services_inflight;
	int			 was_connected;
	struct {
		const char	*name;
		rpc_status_fn	 fn;
		void		*arg;
	} status_hooks[8];
};

/* --- the registry --------------------------------------------------- */

/* Index of name in rpc->cmds, or -(insertion point) - 1. */
static ssize_t
rpc_find(const struct rpc *rpc, const char *name)
{
	size_t lo = 0, hi = rpc->ncmds, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(name, rpc->cmds[mid].cmd->name);
		if (c == 0)
			return (ssize_t)mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -(ssize_t)lo - 1;
}

int
rpc_register(struct rpc *rpc, const struct rpc_command *cmds, size_t n,
    void *ctx, char **cause)
{
	size_t i, j;
	ssize_t at;

	/* Check everything first: a refused table adds nothing. */
	for (i = 0; i < n; i++) {
		if (cmds[i].name == NULL || cmds[i].name[0] == '\0' ||
		    cmds[i].fn == NULL) {
			xasprintf(cause, "command row %zu (%s) has no %s", i,
			    cmds[i].name != NULL ? cmds[i].name : "unnamed",
			    cmds[i].fn == NULL ? "handler" : "name");
			return -1;
		}
		if (rpc_find(rpc, cmds[i].name) >= 0) {
			xasprintf(cause, "command %s is registered already",
			    cmds[i].name);
			return -1;
		}
		for (j = 0; j < i; j++)
			if (strcmp(cmds[i].name, cmds[j].name) == 0) {
				xasprintf(cause, "command %s appears twice in "
				    "the table", cmds[i].name);
				return -1;
			}
	}
	rpc->cmds = xreallocarray(rpc->cmds, rpc->ncmds + n,
	    sizeof *rpc->cmds);
	for (i = 0; i < n; i++) {
		at = -rpc_find(rpc, cmds[i].name) - 1;
		memmove(&rpc->cmds[at + 1], &rpc->cmds[at],
		    (rpc->ncmds - (size_t)at) * sizeof *rpc->cmds);
		rpc->cmds[at].cmd = &cmds[i];
		rpc->cmds[at].ctx = ctx;
		rpc->ncmds++;
	}
	return 0;
}

const struct rpc_command *
rpc_lookup(const struct rpc *rpc, const char *name, void **ctx)
{
	ssize_t i = rpc_find(rpc, name);

	if (i < 0)
		return NULL;
	if (ctx != NULL)
		*ctx = rpc->cmds[i].ctx;
	return rpc->cmds[i].cmd;
}

size_t
rpc_count(const struct rpc *rpc)
{
	return rpc->ncmds;
}

const struct rpc_command *
rpc_nth(const struct rpc *rpc, size_t i)
{
	return i < rpc->ncmds ? rpc->cmds[i].cmd : NULL;
}

void
rpc_command(struct region_request *req, const char *command,
    const struct amp_box *args, void *arg)
{
	struct rpc *rpc = arg;
	const struct rpc_command *c;
	void *ctx;
	char *msg;

	if ((c = rpc_lookup(rpc, command, &ctx)) != NULL) {
		log_debug("rpc: %s from %s", command, region_request_loop(req));
		c->fn(ctx, req, args);
		return;
	}
	/* Twisted's own wording, so region logs read as usual. */
	log_info("rpc: region %s called %s, which rackd does not implement; "
	    "answered UNHANDLED", region_request_loop(req), command);
	xasprintf(&msg, "Unhandled Command: b'%s'", command);
	region_request_error(req, "UNHANDLED", msg);
	free(msg);
}

/* --- the rack's own commands ---------------------------------------- */

static void
cmd_identify(void *ctx, struct region_request *req,
    const struct amp_box *args)
{
	struct rpc *rpc = ctx;
	struct amp_box *ans = amp_box_new();

	amp_box_put_str(ans, "ident", rpc->pool != NULL ?
	    region_pool_system_id(rpc->pool) : "");
	region_request_answer(req, ans);
}

static void
cmd_ping(void *ctx, struct region_request *req, const struct amp_box *args)
{
	region_request_answer(req, NULL);
}

/*
 * Deleting the rack controller in MAAS calls this; an error would abort
 * the deletion.  Answer, forget the secret, stop.
 */
static void
cmd_disable_and_shutoff(void *ctx, struct region_request *req,
    const struct amp_box *args)
{
	struct rpc *rpc = ctx;

	log_notice("rpc: region %s asked this rack to disable itself "
	    "(DisableAndShutoffRackd): removing %s and stopping",
	    region_request_loop(req), rpc->secret_file);
	region_request_answer(req, NULL);
	if (unlink(rpc->secret_file) == -1 && errno != ENOENT)
		log_warn("rpc: cannot remove %s", rpc->secret_file);
	if (rpc->hooks.shutdown != NULL)
		rpc->hooks.shutdown(rpc->hooks.arg);
}

static const struct rpc_command rpc_own_commands[] = {
	{ "Identify", cmd_identify, "answers the rack's system_id" },
	{ "Ping", cmd_ping, "liveness; empty answer" },
	{ "DisableAndShutoffRackd", cmd_disable_and_shutoff,
	  "answer, delete the secret, stop" },
};

/* --- UpdateServices ------------------------------------------------- */

struct service_status {
	const char *name, *status, *info;
};

/*
 * What this rack runs, in the region's vocabulary (spec §6.2).  Services
 * rackd does not provide are reported "off" with the reason rather than
 * pretending; a service that registered a status hook
 * (rpc_set_service_status: tftp, http, dhcpd, dhcpd6) reports its own.
 */
static const struct service_status services[] = {
	{ "tftp", "off", "not provided by rackd" },
	{ "http", "off", "not provided by rackd" },
	{ "dhcpd", "off", "" },		/* dhcp_rpc.c's hook once running */
	{ "dhcpd6", "off", "" },
	{ "ntp_rack", "off", "not provided by rackd" },
	{ "dns_rack", "off", "not provided by rackd" },
	{ "proxy_rack", "off", "not provided by rackd" },
	{ "syslog_rack", "off", "not provided by rackd" },
};

static void
services_done(const struct region_call_result *r, void *arg)
{
	struct rpc *rpc = arg;

	rpc->services_inflight = 0;
	if (r->status == REGION_CALL_OK)
		log_debug("rpc: UpdateServices accepted by %s", r->loop);
	else if (r->status == REGION_CALL_REMOTE_ERROR)
		log_warnx("rpc: region refused UpdateServices: %s: %s",
		    r->error_code, r->error_description);
	else
		log_debug("rpc: UpdateServices not delivered: %s",
		    region_call_status_name(r->status));
}

static void
rpc_send_services(struct rpc *rpc)
{
	struct amp_box *args, *items[RACKD_NELEM(services)];
	struct bytes b;
	size_t i;
	char *cause = NULL;
	const char *sid;

	if (rpc->pool == NULL)
		return;
	sid = region_pool_system_id(rpc->pool);
	if (rpc->services_inflight || sid[0] == '\0')
		return;
	for (i = 0; i < RACKD_NELEM(services); i++) {
		const char *status = services[i].status, *info = services[i].info;
		char buf[256];
		size_t h;

		for (h = 0; h < RACKD_NELEM(rpc->status_hooks); h++)
			if (rpc->status_hooks[h].name != NULL &&
			    strcmp(rpc->status_hooks[h].name,
			    services[i].name) == 0) {
				/* status_info is at most 255 characters
				 * (region). */
				buf[0] = '\0';
				status = rpc->status_hooks[h].fn(
				    rpc->status_hooks[h].arg, buf, sizeof buf);
				info = buf;
			}
		items[i] = amp_box_new();
		amp_box_put_str(items[i], "name", services[i].name);
		amp_box_put_str(items[i], "status", status);
		amp_box_put_str(items[i], "status_info", info);
	}
	bytes_init(&b);
	if (amp_list_encode(items, RACKD_NELEM(services), &b, &cause) == -1) {
		log_warnx("rpc: cannot encode services: %s", cause);
		free(cause);
		bytes_free(&b);
		for (i = 0; i < RACKD_NELEM(services); i++)
			amp_box_free(items[i]);
		return;
	}
	for (i = 0; i < RACKD_NELEM(services); i++)
		amp_box_free(items[i]);
	args = amp_box_new();
	amp_box_put_str(args, "system_id", sid);
	amp_box_put(args, "services", b.data, b.len);
	bytes_free(&b);
	rpc->services_inflight = 1;
	/* A status report is stale by the next one: never queue it. */
	region_call(rpc->pool, "UpdateServices", args,
	    REGION_CALL_IDEMPOTENT | REGION_CALL_NOQUEUE, 30000, services_done,
	    rpc);
}

static void
services_timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	rpc_send_services(arg);
}

void
rpc_stats_changed(struct rpc *rpc, const struct region_stats *st)
{
	int connected = st->established > 0;

	if (connected && !rpc->was_connected)
		rpc_send_services(rpc);
	rpc->was_connected = connected;
}

/* --- lifecycle ------------------------------------------------------ */

static void
rpc_copy_config(struct rpc *rpc, const struct rackd_config *cfg)
{
	struct timeval tv;

	free(rpc->secret_file);
	rpc->secret_file = xstrdup(cfg->secret_file);
	free(rpc->hostname);
	rpc->hostname = xstrdup(cfg->hostname);
	rpc->services_interval_ms = cfg->region.services_interval_ms;
	if (rpc->services_timer != NULL) {
		tv.tv_sec = rpc->services_interval_ms / 1000;
		tv.tv_usec = (rpc->services_interval_ms % 1000) * 1000;
		event_del(rpc->services_timer);
		event_add(rpc->services_timer, &tv);
	}
}

struct rpc *
rpc_new(struct event_base *base, const struct rackd_config *cfg,
    const struct rpc_hooks *hooks)
{
	struct rpc *rpc = xcalloc(1, sizeof *rpc);
	char *cause = NULL;

	rpc->base = base;
	if (hooks != NULL)
		rpc->hooks = *hooks;
	rpc->services_timer = event_new(base, -1, EV_PERSIST, services_timer_cb,
	    rpc);
	rpc_copy_config(rpc, cfg);
	if (rpc_register(rpc, rpc_own_commands, RACKD_NELEM(rpc_own_commands),
	    rpc, &cause) == -1)
		fatalx("rpc: %s", cause);	/* a bug in the table above */
	return rpc;
}

void
rpc_set_pool(struct rpc *rpc, struct region_pool *pool)
{
	rpc->pool = pool;
}

void
rpc_set_service_status(struct rpc *rpc, const char *name, rpc_status_fn fn,
    void *arg)
{
	size_t i, free_slot = RACKD_NELEM(rpc->status_hooks);

	for (i = 0; i < RACKD_NELEM(rpc->status_hooks); i++) {
		if (rpc->status_hooks[i].name != NULL &&
		    strcmp(rpc->status_hooks[i].name, name) == 0)
			break;
		if (rpc->status_hooks[i].name == NULL &&
		    free_slot == RACKD_NELEM(rpc->status_hooks))
			free_slot = i;
	}
	if (i == RACKD_NELEM(rpc->status_hooks))
		i = free_slot;
	if (i == RACKD_NELEM(rpc->status_hooks))
		fatalx("rpc: too many service status hooks");
	rpc->status_hooks[i].name = fn != NULL ? name : NULL;
	rpc->status_hooks[i].fn = fn;
	rpc->status_hooks[i].arg = arg;
}

void
rpc_reconfigure(struct rpc *rpc, const struct rackd_config *cfg)
{
	rpc_copy_config(rpc, cfg);
}

void
rpc_free(struct rpc *rpc)
{
	if (rpc == NULL)
		return;
	if (rpc->services_timer != NULL)
		event_free(rpc->services_timer);
	free(rpc->cmds);
	free(rpc->secret_file);
	free(rpc->hostname);
	free(rpc);
}
