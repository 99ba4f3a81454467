/*
 * power.c — the power service's settings and lifecycle.  The commands
 * the region calls are power_rpc.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "proc.h"
#include "region.h"
#include "region_report.h"
#include "xmalloc.h"
#include "power_private.h"

/* --- settings ----------------------------------------------------------------- */

static void
settings_copy(struct power_settings *s, const struct rackd_config *cfg)
{
	const struct config_power *c = &cfg->power;

	free(s->ipmitool);
	s->ipmitool = xstrdup(c->ipmitool);
	s->max_concurrency = c->max_concurrency;
	s->command_timeout_ms = c->command_timeout_ms;
	s->action_timeout_ms = c->action_timeout_ms;
	s->query_timeout_ms = c->query_timeout_ms;
	s->retransmit_s = c->ipmi_retransmit_s;
	s->retries = c->ipmi_retries;
	s->bmc_gap_ms = c->bmc_gap_ms;
	s->confirm_wait_ms = c->confirm_wait_ms;
	s->quarantine_after = c->quarantine_after;
	s->quarantine_max_ms = c->quarantine_max_ms;
	s->monitor_interval_ms = c->monitor_interval_ms;
	s->monitor_concurrency = c->monitor_concurrency;
	s->report_queue_max = c->report_queue_max;
}

bool
power_ipmitool_present(const struct power *pw)
{
	return access(pw->set.ipmitool, X_OK) == 0;
}

/* --- lifecycle ------------------------------------------------------------------- */

struct power *
power_new(struct event_base *base, struct proc_runner *runner,
    struct region_pool *pool, const struct rackd_config *cfg)
{
	struct power *pw = xcalloc(1, sizeof *pw);

	pw->base = base;
	pw->runner = runner;
	pw->pool = pool;
	settings_copy(&pw->set, cfg);
	TAILQ_INIT(&pw->bmcs);
	TAILQ_INIT(&pw->ready);
	TAILQ_INIT(&pw->actions);
	TAILQ_INIT(&pw->queries);
	pw->kick_ev = event_new(base, -1, 0, bmc_kick_cb, pw);
	pw->reports = region_reports_new(base, "power",
	    pw->set.report_queue_max);
	region_reports_set_pool(pw->reports, pool);
	pw->monitor = monitor_new(pw);
	proc_runner_set_max(runner, pw->set.max_concurrency + 8);
	return pw;
}

void
power_start(struct power *pw)
{
	monitor_reschedule(pw->monitor);
	if (!power_ipmitool_present(pw))
		log_warnx("power: %s not found: ipmi power control will fail "
		    "(install the ipmitool package)", pw->set.ipmitool);
}

void
power_reconfigure(struct power *pw, const struct rackd_config *cfg)
{
	int old = pw->set.monitor_interval_ms;

	settings_copy(&pw->set, cfg);
	region_reports_set_max(pw->reports, pw->set.report_queue_max);
	proc_runner_set_max(pw->runner, pw->set.max_concurrency + 8);
	if (old != pw->set.monitor_interval_ms)
		monitor_reschedule(pw->monitor);
	event_active(pw->kick_ev, EV_TIMEOUT, 0);
}

void
power_region_up(struct power *pw)
{
	region_reports_region_up(pw->reports);
	monitor_kick(pw->monitor);
}

void
power_shutdown(struct power *pw)
{
	struct power_stats st;

	if (pw == NULL || pw->shutting_down)
		return;
	power_get_stats(pw, &st);
	log_info("power: stopping: %lu action(s) (%lu ok, %lu failed), %lu "
	    "query(ies), %lu ipmitool run(s) (%lu failed) on %d BMC(s), %lu "
	    "report(s) sent, %lu dropped", st.actions_started, st.actions_ok,
	    st.actions_failed, st.queries, st.commands_run,
	    st.commands_failed, st.bmcs, st.reports_sent, st.reports_dropped);
	pw->shutting_down = true;
	region_reports_shutdown(pw->reports);
	if (st.reports_queued > 0)
		log_notice("power: stopping with %d report(s) undelivered",
		    st.reports_queued);
	action_cancel_all(pw);
}

void
power_free(struct power *pw)
{
	if (pw == NULL)
		return;
	power_shutdown(pw);
	monitor_free(pw->monitor);
	region_reports_free(pw->reports);
	bmc_table_free(pw);
	event_free(pw->kick_ev);
	free(pw->set.ipmitool);
	free(pw);
}

void
power_get_stats(const struct power *pw, struct power_stats *st)
{
	const struct bmc *b;
	struct region_report_stats rs;

	*st = pw->stats;
	st->running = pw->running;
	st->waiting = 0;
	TAILQ_FOREACH(b, &pw->bmcs, entry) {
		const struct bmc_run *run;

		TAILQ_FOREACH(run, &b->pending, entry)
			st->waiting += run->nwaiters;
		if (bmc_quarantined(b))
			st->quarantined++;
	}
	st->bmcs = pw->nbmcs;
	region_reports_stats(pw->reports, &rs);
	st->reports_sent = rs.sent;
	st->reports_dropped = rs.dropped;
	st->reports_queued = rs.queued;
}
