/*
 * rpc.c — what the rack answers when the region calls it, and what it
 * reports on its own (UpdateServices).
 *
 * rpc_commands[] is the single table of region->rack commands rackd
 * serves.  Anything not in it gets Twisted's UNHANDLED answer on the same
 * connection (never a dropped connection or a silent timeout).  Entries
 * follow spec §5.4: commands whose error would hurt the region (e.g. an
 * empty ListBootImages blocking deployments) get the answer MAAS's own
 * rack would give when it cannot serve them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "dhcp.h"
#include "log.h"
#include "power.h"
#include "region.h"
#include "rpc.h"
#include "xmalloc.h"

struct rpc {
	struct event_base	*base;
	struct region_pool	*pool;
	struct power		*power;
	struct dhcp		*dhcp;
	struct rpc_images	 images;
	void			(*images_import)(void *, const struct amp_box *);
	bool			(*images_running)(void *);
	void			*images_arg;
	struct rpc_hooks	 hooks;
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

/* --- handlers ------------------------------------------------------- */

static void
cmd_identify(struct rpc *rpc, struct region_request *req,
    const struct amp_box *args)
{
	struct amp_box *ans = amp_box_new();

	amp_box_put_str(ans, "ident", region_pool_system_id(rpc->pool));
	region_request_answer(req, ans);
}

static void
cmd_ping(struct rpc *rpc, struct region_request *req,
    const struct amp_box *args)
{
	region_request_answer(req, NULL);
}

/*
 * The image store answers (bootres.h).  Without one, fail the call so
 * the region skips this rack: an empty (successful) list would make
 * every commissioning fail the region's image intersection (spec §1.6,
 * pitfall 1).
 */
static void
cmd_list_boot_images(struct rpc *rpc, struct region_request *req,
    const struct amp_box *args)
{
	struct amp_box *ans;
	char *cause = NULL;

	if (rpc->images.list_boot_images == NULL) {
		region_request_error(req, "UNHANDLED",
		    "rackd has no image store; ask another rack controller");
		return;
	}
	ans = amp_box_new();
	if (rpc->images.list_boot_images(rpc->images.arg, ans, &cause) == -1) {
		log_debug("rpc: ListBootImages from %s declined: %s",
		    region_request_loop(req), cause);
		region_request_error(req, "UNHANDLED", cause);
		free(cause);
		amp_box_free(ans);
		return;
	}
	region_request_answer(req, ans);
}

static void
cmd_is_import_running(struct rpc *rpc, struct region_request *req,
    const struct amp_box *args)
{
	struct amp_box *ans = amp_box_new();

	/* While a sync runs it is the truth; the store's flag otherwise. */
	amp_box_put_bool(ans, "running", rpc->images_running != NULL ?
	    rpc->images_running(rpc->images_arg) :
	    rpc->images.import_running != NULL &&
	    rpc->images.import_running(rpc->images.arg));
	region_request_answer(req, ans);
}

/* MAAS answers {} at once and imports in the background. */
static void
cmd_import_boot_images(struct rpc *rpc, struct region_request *req,
    const struct amp_box *args)
{
	/* args belong to req: hand them over (copied; the sync starts
	 * from the loop) before the answer frees them. */
	if (rpc->images_import != NULL)
		rpc->images_import(rpc->images_arg, args);
	else
		log_info("rpc: ImportBootImages from %s: image sync not "
		    "running", region_request_loop(req));
	region_request_answer(req, NULL);
}

/* MAAS answers NotImplementedError for every OS but Windows. */
static void
cmd_get_preseed_data(struct rpc *rpc, struct region_request *req,
    const struct amp_box *args)
{
	region_request_error(req, "NotImplementedError",
	    "no preseed data from this rack controller");
}

/* DHCP goes to dhcp.c; the pool exists only once dhcp does. */
static void
cmd_configure_dhcp(struct rpc *rpc, struct region_request *req,
    const struct amp_box *args, int family)
{
	if (rpc->dhcp == NULL) {
		region_request_error(req, "CannotConfigureDHCP",
		    "DHCP service not running");
		return;
	}
	dhcp_rpc_configure(rpc->dhcp, req, args, family);
}

static void
cmd_configure_dhcp4(struct rpc *rpc, struct region_request *req,
    const struct amp_box *args)
{
	cmd_configure_dhcp(rpc, req, args, 4);
}

static void
cmd_configure_dhcp6(struct rpc *rpc, struct region_request *req,
    const struct amp_box *args)
{
	cmd_configure_dhcp(rpc, req, args, 6);
}

static void
cmd_validate_dhcp(struct rpc *rpc, struct region_request *req,
    const struct amp_box *args, int family)
{
	if (rpc->dhcp == NULL) {
		region_request_error(req, "CannotConfigureDHCP",
		    "DHCP service not running");
		return;
	}
	dhcp_rpc_validate(rpc->dhcp, req, args, family);
}

static void
cmd_validate_dhcp4(struct rpc *rpc, struct region_request *req,
    const struct amp_box *args)
{
	cmd_validate_dhcp(rpc, req, args, 4);
}

static void
cmd_validate_dhcp6(struct rpc *rpc, struct region_request *req,
    const struct amp_box *args)
{
	cmd_validate_dhcp(rpc, req, args, 6);
}

/*
 * Deleting the rack controller in MAAS calls this; an error would abort
 * the deletion.  Answer, forget the secret, stop.
 */
static void
cmd_disable_and_shutoff(struct rpc *rpc, struct region_request *req,
    const struct amp_box *args)
{
	log_notice("rpc: region %s asked this rack to disable itself "
	    "(DisableAndShutoffRackd): removing %s and stopping",
	    region_request_loop(req), rpc->secret_file);
	region_request_answer(req, NULL);
	if (unlink(rpc->secret_file) == -1 && errno != ENOENT)
		log_warn("rpc: cannot remove %s", rpc->secret_file);
	if (rpc->hooks.shutdown != NULL)
		rpc->hooks.shutdown(rpc->hooks.arg);
}

/*
 * Power commands go to power.c.  The pool (and so any command) exists
 * only once power does, but a NULL check costs nothing.
 */
#define POWER_HANDLER(fn, impl)						\
static void								\
fn(struct rpc *rpc, struct region_request *req, const struct amp_box *args) \
{									\
	if (rpc->power == NULL) {					\
		region_request_error(req, "PowerActionFail",		\
		    "power control is not running");			\
		return;							\
	}								\
	impl(rpc->power, req, args);					\
}
POWER_HANDLER(cmd_power_on, power_rpc_on)
POWER_HANDLER(cmd_power_off, power_rpc_off)
POWER_HANDLER(cmd_power_cycle, power_rpc_cycle)
POWER_HANDLER(cmd_power_query, power_rpc_query)
POWER_HANDLER(cmd_power_driver_check, power_rpc_driver_check)
POWER_HANDLER(cmd_describe_power_types, power_rpc_describe)
POWER_HANDLER(cmd_set_boot_order, power_rpc_set_boot_order)

const struct rpc_command rpc_commands[] = {
	{ "Identify", cmd_identify, "answers the rack's system_id" },
	{ "Ping", cmd_ping, "liveness; empty answer" },
	{ "ListBootImages", cmd_list_boot_images,
	  "rows of tftp_root; error while it has no xinstall image" },
	{ "IsImportBootImagesRunning", cmd_is_import_running,
	  "running: true while an image sync runs" },
	{ "ImportBootImages", cmd_import_boot_images,
	  "{} at once; the sync runs in the background (one more queued)" },
	{ "GetPreseedData", cmd_get_preseed_data,
	  "NotImplementedError, as MAAS for non-Windows OSes" },
	{ "ConfigureDHCPv4", cmd_configure_dhcp4,
	  "Kea instances (HA hot-standby per failover peer); empty = off" },
	{ "ConfigureDHCPv6", cmd_configure_dhcp6, "as ConfigureDHCPv4, kea-dhcp6" },
	{ "ValidateDHCPv4Config", cmd_validate_dhcp4,
	  "errors: isc-dhcpd snippets Kea cannot apply, and real errors" },
	{ "ValidateDHCPv6Config", cmd_validate_dhcp6, "as ValidateDHCPv4Config" },
	{ "DisableAndShutoffRackd", cmd_disable_and_shutoff,
	  "answer, delete the secret, stop" },
	{ "PowerOn", cmd_power_on,
	  "validate, answer, then PXE boot device + on (cycle if on)" },
	{ "PowerOff", cmd_power_off, "validate, answer, then off (or soft)" },
	{ "PowerCycle", cmd_power_cycle,
	  "validate, answer, then off if on and a full power on" },
	{ "PowerQuery", cmd_power_query, "state, or state error + error_msg" },
	{ "PowerDriverCheck", cmd_power_driver_check,
	  "missing_packages: ipmitool when absent" },
	{ "DescribePowerTypes", cmd_describe_power_types,
	  "ipmi and manual schemas" },
	{ "SetBootOrder", cmd_set_boot_order,
	  "empty answer: ipmi cannot set a boot order" },
};
const size_t rpc_ncommands = RACKD_NELEM(rpc_commands);

void
rpc_command(struct region_request *req, const char *command,
    const struct amp_box *args, void *arg)
{
	struct rpc *rpc = arg;
	size_t i;
	char *msg;

	for (i = 0; i < rpc_ncommands; i++) {
		if (strcmp(rpc_commands[i].name, command) == 0) {
			log_debug("rpc: %s from %s", command,
			    region_request_loop(req));
			rpc_commands[i].handler(rpc, req, args);
			return;
		}
	}
	/* Twisted's own wording, so region logs read as usual. */
	log_info("rpc: region %s called %s, which rackd does not implement; "
	    "answered UNHANDLED", region_request_loop(req), command);
	xasprintf(&msg, "Unhandled Command: b'%s'", command);
	region_request_error(req, "UNHANDLED", msg);
	free(msg);
}

/* --- UpdateServices ------------------------------------------------- */

struct service_status {
	const char *name, *status, *info;
};

/*
 * What this rack runs, in the region's vocabulary (spec §6.2).  Services
 * rackd does not provide are reported "off" with the reason rather than
 * pretending; DHCP is off until configured; a service that registered a
 * status hook (rpc_set_service_status, e.g. tftp) reports its own.
 */
static const struct service_status services[] = {
	{ "tftp", "off", "not provided by rackd" },
	{ "http", "off", "not provided by rackd" },
	{ "dhcpd", "off", "" },		/* from dhcp.c when running */
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
		int fam = strcmp(services[i].name, "dhcpd") == 0 ? 4 :
		    strcmp(services[i].name, "dhcpd6") == 0 ? 6 : 0;

		size_t h;

		for (h = 0; h < RACKD_NELEM(rpc->status_hooks); h++)
			if (rpc->status_hooks[h].name != NULL &&
			    strcmp(rpc->status_hooks[h].name,
			    services[i].name) == 0) {
				buf[0] = '\0';
				status = rpc->status_hooks[h].fn(
				    rpc->status_hooks[h].arg, buf, sizeof buf);
				info = buf;
			}
		if (fam != 0 && rpc->dhcp != NULL) {
			/* status_info is at most 255 characters (region). */
			status = dhcp_service_status(rpc->dhcp, fam, buf,
			    sizeof buf);
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

	rpc->base = base;
	if (hooks != NULL)
		rpc->hooks = *hooks;
	rpc->services_timer = event_new(base, -1, EV_PERSIST, services_timer_cb,
	    rpc);
	rpc_copy_config(rpc, cfg);
	return rpc;
}

void
rpc_set_pool(struct rpc *rpc, struct region_pool *pool)
{
	rpc->pool = pool;
}

void
rpc_set_image_sync(struct rpc *rpc, void (*import)(void *,
    const struct amp_box *), bool (*running)(void *), void *arg)
{
	rpc->images_import = import;
	rpc->images_running = running;
	rpc->images_arg = arg;
}

void
rpc_set_power(struct rpc *rpc, struct power *power)
{
	rpc->power = power;
}

void
rpc_set_dhcp(struct rpc *rpc, struct dhcp *dhcp)
{
	rpc->dhcp = dhcp;
}

void
rpc_set_images(struct rpc *rpc, const struct rpc_images *images)
{
	rpc->images = *images;
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
	free(rpc->secret_file);
	free(rpc->hostname);
	free(rpc);
}
