/*
 * action.c — one node's power change (on, off, cycle) or query, as an
 * explicit state machine over ipmitool runs on its BMC (bmc.c).
 *
 * A change, MAAS 3.4 semantics (spec A.3, A.5) with ipmitool's commands:
 *
 *   on:    [BOOTTYPE: power_boot_type auto (or unset) reads the boot
 *          flags (`chassis bootparam get 5`) so BOOTDEV keeps the
 *          machine's BIOS/EFI type, as FreeIPMI's partial chassis-config
 *          does for MAAS] ->
 *          BOOTDEV (pxe; failures other than authentication are logged
 *          and ignored, as MAAS does, LP:1516065) -> CHECK -> on if off,
 *          cycle if on (MAAS's --cycle --on-if-off) -> CONFIRM
 *   off:   CHECK -> off (or soft) unless already off -> CONFIRM
 *   cycle: CHECK -> the whole "off" when on -> the whole "on"
 *
 * CONFIRM queries after power.confirm_wait, doubling, up to three times;
 * a state still wrong after that goes back to CHECK, which looks at the
 * state again before it repeats anything, so a slow BMC is never cycled
 * twice: only the first CHECK of a PowerOn may cycle, later ones only
 * power on what is off.  At most ACTION_MAX_ATTEMPTS issues; failed
 * ipmitool runs are retried ACTION_MAX_ERRORS times with 1, 2, 4 s waits
 * unless fatal (authentication, privilege, cipher) or the BMC is
 * quarantined.  power.action_timeout ends every change with a terminal
 * result ("Timed out").
 *
 * Success reports UpdateNodePowerState then NODE_POWERED_ON/OFF; failure
 * reports MarkNodeFailed then NODE_POWER_<X>_FAILED with the same text
 * (report.c keeps the order).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "xmalloc.h"
#include "power_private.h"

#define ACTION_MAX_ATTEMPTS	4	/* MAAS: len(wait_time) for IPMI */
#define ACTION_MAX_ERRORS	3
#define ACTION_MAX_CONFIRMS	3
#define QUERY_MAX_ERRORS	1	/* one retry: the region waits 60 s */

enum phase {
	PH_NONE,
	PH_BOOTTYPE,	/* auto: read the boot flags' BIOS/EFI type first */
	PH_BOOTDEV,
	PH_CHECK,
	PH_ISSUE,
	PH_CONFIRM,
	PH_QUERY,
	PH_QUERY_FAIL,	/* deliver last_error on the next loop turn */
	PH_DONE,
};

static void step(struct power_action *);

const char *
power_change_name(enum power_change c)
{
	switch (c) {
	case CHANGE_ON:
		return "on";
	case CHANGE_OFF:
		return "off";
	case CHANGE_CYCLE:
		return "cycle";
	case CHANGE_QUERY:
		return "query";
	}
	return "?";
}

static const char *
event_name(enum power_change c, const char *what)
{
	static char buf[64];

	snprintf(buf, sizeof buf, "NODE_POWER_%s_%s",
	    c == CHANGE_ON ? "ON" : c == CHANGE_OFF ? "OFF" : "CYCLE", what);
	return buf;
}

struct power_action *
action_find(struct power *pw, const char *system_id)
{
	struct power_action *a;

	TAILQ_FOREACH(a, &pw->actions, entry)
		if (strcmp(a->system_id, system_id) == 0)
			return a;
	return NULL;
}

static void
action_free(struct power_action *a)
{
	struct power *pw = a->pw;

	if (a->cmd != NULL)
		bmc_cmd_cancel(a->cmd);
	if (a->change == CHANGE_QUERY)
		TAILQ_REMOVE(&pw->queries, a, entry);
	else
		TAILQ_REMOVE(&pw->actions, a, entry);
	if (a->wait_timer != NULL)
		event_free(a->wait_timer);
	if (a->deadline_timer != NULL)
		event_free(a->deadline_timer);
	ipmi_params_clear(&a->params);
	free(a->system_id);
	free(a->hostname);
	free(a->last_error);
	free(a);
}

/* --- endings -------------------------------------------------------------- */

static void
change_succeeded(struct power_action *a)
{
	struct power *pw = a->pw;
	bool off = a->change == CHANGE_OFF;

	log_info("power: %s (%s): powered %s in %llu ms", a->hostname,
	    a->system_id, off ? "off" : "on",
	    (unsigned long long)(rackd_now_ms() - a->started_ms));
	pw->stats.actions_ok++;
	/* A cycle reports as "on" (rpc/power.py power_change_success). */
	report_state(pw, a->system_id, off ? "off" : "on");
	report_event(pw, a->system_id, off ? "NODE_POWERED_OFF" :
	    "NODE_POWERED_ON", "");
	a->phase = PH_DONE;
	action_free(a);
}

/* message is the whole description, e.g. "Power on for the node failed:
 * ..." or "Timed out". */
static void
change_failed(struct power_action *a, const char *message)
{
	struct power *pw = a->pw;

	log_warnx("power: %s (%s): power %s failed: %s", a->hostname,
	    a->system_id, power_change_name(a->change), message);
	pw->stats.actions_failed++;
	report_failed(pw, a->system_id, message);
	report_event(pw, a->system_id, event_name(a->change, "FAILED"),
	    message);
	a->phase = PH_DONE;
	action_free(a);
}

static void
change_failed_with(struct power_action *a, const char *why)
{
	char *msg;

	xasprintf(&msg, "Power %s for the node failed: %s",
	    power_change_name(a->change), why);
	change_failed(a, msg);
	free(msg);
}

static void
query_finish(struct power_action *a, enum ipmi_fail fail, enum power_state st,
    const char *message)
{
	power_query_cb cb = a->query_cb;
	void *arg = a->query_arg;

	a->phase = PH_DONE;
	a->query_cb = NULL;
	a->pw->stats.queries++;
	if (cb != NULL)
		cb(a, fail, st, message, arg);
	action_free(a);
}

/* --- timers ----------------------------------------------------------------- */

static void
wait_cb(evutil_socket_t fd, short ev, void *arg)
{
	step(arg);
}

static void
wait_then(struct power_action *a, int phase, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	a->phase = phase;
	if (a->wait_timer == NULL)
		a->wait_timer = evtimer_new(a->pw->base, wait_cb, a);
	evtimer_add(a->wait_timer, &tv);
}

static void
deadline_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct power_action *a = arg;

	if (bmc_cmd_running(a->cmd)) {
		/* The BMC did not answer in time: that is a failure of the
		 * BMC, counted towards its quarantine (once per run, however
		 * many queries share it). */
		struct ipmi_outcome o = { .fail = IPMI_FAIL_TIMEOUT,
		    .message = (char *)"Could not contact node's BMC: no "
		    "answer before the deadline" };

		bmc_cmd_note_timeout(a->cmd, &o);
	}
	if (a->change == CHANGE_QUERY) {
		query_finish(a, IPMI_FAIL_TIMEOUT, POWER_UNKNOWN,
		    "Could not contact node's BMC: no answer within the "
		    "power query deadline");
		return;
	}
	log_warnx("power: %s: Power could not be set to %s; timed out.",
	    a->hostname, power_change_name(a->change));
	change_failed(a, "Timed out");
}

/* --- ipmitool runs ---------------------------------------------------------- */

static void cmd_done(struct bmc_cmd *, const struct ipmi_outcome *, void *);

static void
run(struct power_action *a, int phase, enum ipmi_op op)
{
	a->phase = phase;
	/* Queries share a run with other queries of the same BMC; a change
	 * (even its status checks) always has runs of its own. */
	a->cmd = bmc_submit(a->bmc, op, &a->params,
	    a->change == CHANGE_QUERY && op == IPMI_OP_STATUS, cmd_done, a);
}

static enum ipmi_op
issue_op(const struct power_action *a)
{
	if (a->stage == CHANGE_ON)
		return IPMI_OP_ON;
	return a->params.soft_off ? IPMI_OP_SOFT : IPMI_OP_OFF;
}

static enum power_state
desired(const struct power_action *a)
{
	return a->stage == CHANGE_OFF ? POWER_OFF : POWER_ON;
}

/* A failed run: retry after 1, 2, 4 s, or end the change. */
static void
retry_or_fail(struct power_action *a, const struct ipmi_outcome *o,
    int retry_phase)
{
	free(a->last_error);
	a->last_error = xstrdup(o->message);
	a->last_fail = o->fail;
	if (ipmi_fail_fatal(o->fail) || ++a->errors > ACTION_MAX_ERRORS ||
	    bmc_quarantined(a->bmc)) {
		change_failed_with(a, o->message);
		return;
	}
	wait_then(a, retry_phase, 1000 << (a->errors - 1));
}

/* The K_g retry of ipmi.py: report it, then try once without k_g. */
static bool
kg_retry(struct power_action *a, const struct ipmi_outcome *o)
{
	if (a->params.k_g == NULL || o->fail != IPMI_FAIL_AUTH ||
	    o->message == NULL || strstr(o->message, "K_g") == NULL)
		return false;
	report_event(a->pw, a->system_id, a->change == CHANGE_QUERY ?
	    "NODE_POWER_QUERY_FAILED" : event_name(a->change, "FAILED"),
	    "Incorrect K_g key, trying again without K_g key");
	xfree_secret(a->params.k_g);
	a->params.k_g = NULL;
	return true;
}

/* The first step of a power on: PXE next boot, keeping BIOS/EFI. */
static void
start_boot(struct power_action *a)
{
	if (a->params.boot_type == IPMI_BOOT_AUTO)
		run(a, PH_BOOTTYPE, IPMI_OP_BOOTPARAM_GET);
	else
		run(a, PH_BOOTDEV, IPMI_OP_BOOTDEV_PXE);
}

static void
stage_succeeded(struct power_action *a)
{
	if (a->change == CHANGE_CYCLE && a->stage == CHANGE_OFF) {
		/* Off reached: now the whole power on. */
		a->stage = CHANGE_ON;
		a->attempts = a->confirms = a->errors = 0;
		start_boot(a);
		return;
	}
	change_succeeded(a);
}

static void
cmd_done(struct bmc_cmd *c, const struct ipmi_outcome *o, void *arg)
{
	struct power_action *a = arg;

	a->cmd = NULL;
	if (o->fail != IPMI_FAIL_NONE && kg_retry(a, o)) {
		run(a, a->phase, c->op);
		return;
	}
	switch (a->phase) {
	case PH_QUERY:
		if (o->fail == IPMI_FAIL_NONE) {
			query_finish(a, IPMI_FAIL_NONE, o->state, NULL);
			return;
		}
		if (!ipmi_fail_fatal(o->fail) && ++a->errors <= QUERY_MAX_ERRORS &&
		    !bmc_quarantined(a->bmc)) {
			wait_then(a, PH_QUERY, 1000);
			return;
		}
		query_finish(a, o->fail, POWER_UNKNOWN, o->message);
		return;
	case PH_BOOTTYPE:
		if (o->fail == IPMI_FAIL_AUTH || o->fail == IPMI_FAIL_PRIVILEGE) {
			change_failed_with(a, o->message);
			return;
		}
		if (o->fail == IPMI_FAIL_NONE) {
			/* Decided once: a cycle's second power on or a retry
			 * writes the same type. */
			a->params.boot_type = o->boot_efi ? IPMI_BOOT_EFI :
			    IPMI_BOOT_LEGACY;
			log_info("power: %s (%s): boot flags say %s boot; "
			    "next boot PXE keeps it", a->hostname,
			    a->system_id, o->boot_efi ? "EFI" : "legacy");
		} else
			log_info("power: %s (%s): could not read the boot "
			    "flags, setting PXE without a boot type: %s",
			    a->hostname, a->system_id, o->message);
		run(a, PH_BOOTDEV, IPMI_OP_BOOTDEV_PXE);
		return;
	case PH_BOOTDEV:
		if (o->fail == IPMI_FAIL_AUTH || o->fail == IPMI_FAIL_PRIVILEGE) {
			change_failed_with(a, o->message);
			return;
		}
		if (o->fail != IPMI_FAIL_NONE)
			log_info("power: %s (%s): could not set the next boot to "
			    "PXE, powering on anyway: %s", a->hostname,
			    a->system_id, o->message);
		run(a, PH_CHECK, IPMI_OP_STATUS);
		return;
	case PH_CHECK:
		if (o->fail != IPMI_FAIL_NONE) {
			retry_or_fail(a, o, PH_CHECK);
			return;
		}
		a->errors = 0;
		a->last_state = o->state;
		if (o->state == desired(a)) {
			if (a->change == CHANGE_ON && a->first_check) {
				/* MAAS powers on with --cycle --on-if-off: a
				 * running node is rebooted into PXE. */
				a->first_check = false;
				a->issued_cycle = true;
				run(a, PH_ISSUE, IPMI_OP_CYCLE);
				return;
			}
			stage_succeeded(a);
			return;
		}
		a->first_check = false;
		if (a->change == CHANGE_CYCLE && a->stage == CHANGE_OFF &&
		    o->state == POWER_OFF) {
			stage_succeeded(a);
			return;
		}
		run(a, PH_ISSUE, issue_op(a));
		return;
	case PH_ISSUE:
		if (o->fail != IPMI_FAIL_NONE) {
			/* Re-check before repeating: the command may have
			 * reached the BMC even though ipmitool failed. */
			retry_or_fail(a, o, PH_CHECK);
			return;
		}
		a->errors = 0;
		a->attempts++;
		a->confirms = 0;
		wait_then(a, PH_CONFIRM, a->pw->set.confirm_wait_ms);
		return;
	case PH_CONFIRM:
		if (o->fail != IPMI_FAIL_NONE) {
			retry_or_fail(a, o, PH_CONFIRM);
			return;
		}
		a->errors = 0;
		a->last_state = o->state;
		if (o->state == desired(a)) {
			stage_succeeded(a);
			return;
		}
		if (++a->confirms < ACTION_MAX_CONFIRMS) {
			wait_then(a, PH_CONFIRM,
			    a->pw->set.confirm_wait_ms << a->confirms);
			return;
		}
		if (a->attempts >= ACTION_MAX_ATTEMPTS) {
			char *msg;

			xasprintf(&msg, "Failed to power %s. BMC never "
			    "transitioned from %s to %s.", a->system_id,
			    power_state_name(o->state),
			    power_state_name(desired(a)));
			change_failed_with(a, msg);
			free(msg);
			return;
		}
		run(a, PH_CHECK, IPMI_OP_STATUS);
		return;
	default:
		return;
	}
}

/* Timer-driven continuation. */
static void
step(struct power_action *a)
{
	switch (a->phase) {
	case PH_QUERY:
	case PH_CHECK:
	case PH_CONFIRM:
		run(a, a->phase, IPMI_OP_STATUS);
		break;
	case PH_BOOTDEV:
		run(a, PH_BOOTDEV, IPMI_OP_BOOTDEV_PXE);
		break;
	case PH_QUERY_FAIL:
		query_finish(a, a->last_fail, POWER_UNKNOWN, a->last_error);
		break;
	case PH_NONE:
		/* manual: nothing to do; MAAS reports success (the query
		 * answers "unknown", which counts as success). */
		if (a->change == CHANGE_QUERY)
			query_finish(a, IPMI_FAIL_NONE, POWER_UNKNOWN, NULL);
		else
			change_succeeded(a);
		break;
	default:
		break;
	}
}

/* A query that fails before any ipmitool run still answers later. */
static void
query_fail_later(struct power_action *a, enum ipmi_fail fail, const char *msg)
{
	free(a->last_error);
	a->last_error = xstrdup(msg);
	a->last_fail = fail;
	wait_then(a, PH_QUERY_FAIL, 0);
}

/* --- address resolution ----------------------------------------------------- */

/* power_address, or the node's MAC looked up in the ARP table.  NULL on
 * success, else the failure text (static or malloc'd in *freeme). */
static const char *
resolve_address(struct power_action *a, char **freeme)
{
	char buf[65536];
	ssize_t n;
	int fd;

	*freeme = NULL;
	if (a->params.address != NULL)
		goto route;
	fd = open("/proc/net/arp", O_RDONLY | O_CLOEXEC);
	n = fd == -1 ? -1 : read(fd, buf, sizeof buf - 1);
	if (fd != -1)
		close(fd);
	if (n > 0) {
		buf[n] = '\0';
		a->params.address = ipmi_arp_lookup(buf, a->params.mac_address);
	}
	if (a->params.address == NULL) {
		xasprintf(freeme, "Missing or invalid power setting: "
		    "power_address is empty and mac_address %s is not in this "
		    "rack controller's ARP table", a->params.mac_address);
		return *freeme;
	}
route:
	if (bmc_route_check(a->params.address, a->params.port, freeme) == -1)
		return *freeme;
	return NULL;
}

static struct power_action *
action_new(struct power *pw, enum power_change change, const char *system_id,
    const char *hostname, bool manual, struct ipmi_params *params)
{
	struct power_action *a = xcalloc(1, sizeof *a);

	a->pw = pw;
	a->change = change;
	a->system_id = xstrdup(system_id);
	a->hostname = xstrdup(hostname);
	a->manual = manual;
	if (params != NULL) {
		a->params = *params;
		memset(params, 0, sizeof *params);
	}
	a->first_check = true;
	a->started_ms = rackd_now_ms();
	a->deadline_timer = evtimer_new(pw->base, deadline_cb, a);
	if (change == CHANGE_QUERY)
		TAILQ_INSERT_TAIL(&pw->queries, a, entry);
	else
		TAILQ_INSERT_TAIL(&pw->actions, a, entry);
	return a;
}

static void
arm_deadline(struct power_action *a, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(a->deadline_timer, &tv);
}

void
action_start_change(struct power *pw, enum power_change change,
    const char *system_id, const char *hostname, bool manual,
    struct ipmi_params *params)
{
	struct power_action *a;
	const char *why;
	char *freeme;

	a = action_new(pw, change, system_id, hostname, manual, params);
	pw->stats.actions_started++;
	log_info("power: %s (%s): power %s requested", hostname, system_id,
	    power_change_name(change));
	report_event(pw, system_id, event_name(change, "STARTING"), "");
	arm_deadline(a, pw->set.action_timeout_ms);
	if (manual) {
		wait_then(a, PH_NONE, 0);
		return;
	}
	if ((why = resolve_address(a, &freeme)) != NULL) {
		change_failed_with(a, why);
		free(freeme);
		return;
	}
	a->bmc = bmc_get(pw, a->params.address, a->params.port);
	if (change == CHANGE_ON) {
		a->stage = CHANGE_ON;
		start_boot(a);
	} else {
		a->stage = CHANGE_OFF;
		run(a, PH_CHECK, IPMI_OP_STATUS);
	}
}

void
action_start_query(struct power *pw, const char *system_id,
    const char *hostname, bool manual, struct ipmi_params *params,
    bool use_quarantine, power_query_cb cb, void *arg)
{
	struct power_action *a;
	const char *why;
	char *freeme, *msg;

	a = action_new(pw, CHANGE_QUERY, system_id, hostname, manual, params);
	a->query_cb = cb;
	a->query_arg = arg;
	arm_deadline(a, pw->set.query_timeout_ms);
	if (manual) {
		wait_then(a, PH_NONE, 0);
		return;
	}
	if ((why = resolve_address(a, &freeme)) != NULL) {
		query_fail_later(a, IPMI_FAIL_UNREACHABLE, why);
		free(freeme);
		return;
	}
	a->bmc = bmc_get(pw, a->params.address, a->params.port);
	if (use_quarantine && bmc_quarantined(a->bmc)) {
		/* Honest and fast: the BMC failed just now, repeatedly. */
		xasprintf(&msg, "%s (BMC %s quarantined after %d failures in a "
		    "row; next try in %llu s)", a->bmc->last_error != NULL ?
		    a->bmc->last_error : "Could not contact node's BMC",
		    a->bmc->key, a->bmc->consecutive_failures,
		    (unsigned long long)((a->bmc->quarantine_until_ms -
		    rackd_now_ms() + 999) / 1000));
		query_fail_later(a, a->bmc->last_fail, msg);
		free(msg);
		return;
	}
	run(a, PH_QUERY, IPMI_OP_STATUS);
}

void
action_cancel_all(struct power *pw)
{
	struct power_action *a;

	while ((a = TAILQ_FIRST(&pw->actions)) != NULL)
		action_free(a);
	while ((a = TAILQ_FIRST(&pw->queries)) != NULL) {
		power_query_cb cb = a->query_cb;

		a->query_cb = NULL;
		if (cb != NULL)
			cb(a, IPMI_FAIL_OTHER, POWER_UNKNOWN,
			    "rack controller shutting down", a->query_arg);
		action_free(a);
	}
}
