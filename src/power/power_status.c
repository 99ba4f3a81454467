/*
 * power_status.c — power control as the operator sees it: every BMC the
 * rack has worked with (JSON for `rackd status`) and the power series of
 * the metrics registry.  Reads the BMC table; changes nothing.
 */
#include <string.h>

#include "metrics.h"
#include "power_private.h"
#include "rackd.h"

#define POWER_METRIC_RUN	"rackd_ipmitool_run_seconds"
#define POWER_METRIC_ACTIONS	"rackd_power_actions_total"
#define POWER_METRIC_QUERIES	"rackd_power_queries_total"
#define POWER_METRIC_COMMANDS	"rackd_ipmitool_runs_total"
#define POWER_METRIC_BMCS	"rackd_bmcs"
#define POWER_METRIC_QUAR	"rackd_bmcs_quarantined"
#define POWER_METRIC_REPORTS	"rackd_power_reports_total"

/* ipmitool runs: from tens of ms (LAN, answering) to the command timeout. */
static const double run_buckets[] = {
	0.05, 0.1, 0.25, 0.5, 1, 2, 4, 6, 10, 20, 30,
};

static void
power_metrics_define(struct metrics *m)
{
	metrics_define(m, POWER_METRIC_RUN, METRICS_HISTOGRAM,
	    "Duration of one ipmitool run, by operation and result", "op,result",
	    run_buckets, RACKD_NELEM(run_buckets));
	metrics_define(m, POWER_METRIC_ACTIONS, METRICS_COUNTER,
	    "Power on/off/cycle actions finished, by result", "result", NULL, 0);
	metrics_define(m, POWER_METRIC_QUERIES, METRICS_COUNTER,
	    "Power queries asked by the region", NULL, NULL, 0);
	metrics_define(m, POWER_METRIC_COMMANDS, METRICS_COUNTER,
	    "ipmitool runs, by result", "result", NULL, 0);
	metrics_define(m, POWER_METRIC_BMCS, METRICS_GAUGE,
	    "BMCs the rack has worked with", NULL, NULL, 0);
	metrics_define(m, POWER_METRIC_QUAR, METRICS_GAUGE,
	    "BMCs quarantined after repeated failures", NULL, NULL, 0);
	metrics_define(m, POWER_METRIC_REPORTS, METRICS_COUNTER,
	    "Power reports to the region, by result", "result", NULL, 0);
}

void
power_set_metrics(struct power *pw, struct metrics *m)
{
	pw->metrics = m;
	power_metrics_define(m);
}

void
bmc_observe_run(struct bmc *b, enum ipmi_op op, const struct ipmi_outcome *o,
    uint64_t elapsed_ms)
{
	const char *v[2];

	b->runs++;
	if (o->fail != IPMI_FAIL_NONE)
		b->run_failures++;
	else if (op == IPMI_OP_STATUS)
		b->last_state = o->state;
	v[0] = ipmi_op_name(op);
	v[1] = o->fail == IPMI_FAIL_NONE ? "ok" : ipmi_fail_name(o->fail);
	metrics_histogram_observe(b->pw->metrics, POWER_METRIC_RUN, v,
	    (double)elapsed_ms / 1000.0);
}

json_t *
power_status_json(const struct power *pw)
{
	const struct bmc *b;
	struct power_stats st;
	json_t *o, *arr, *e;
	uint64_t now = rackd_now_ms();

	arr = json_array();
	TAILQ_FOREACH(b, &pw->bmcs, entry) {
		bool q = bmc_quarantined(b) && b->quarantine_until_ms > now;

		e = json_pack("{s:s, s:s, s:I, s:I, s:I}",
		    "bmc", b->key,
		    "state", power_state_name(b->last_state),
		    "consecutive_failures", (json_int_t)b->consecutive_failures,
		    "runs", (json_int_t)b->runs,
		    "failures", (json_int_t)b->run_failures);
		json_object_set_new(e, "last_error", b->last_error != NULL ?
		    json_string(b->last_error) : json_null());
		json_object_set_new(e, "last_error_age_s", b->last_error != NULL ?
		    json_integer((json_int_t)((now - b->last_fail_ms) / 1000)) :
		    json_null());
		json_object_set_new(e, "quarantined_for_s", q ?
		    json_integer((json_int_t)((b->quarantine_until_ms - now +
		    999) / 1000)) : json_null());
		json_array_append_new(arr, e);
	}
	power_get_stats(pw, &st);
	o = json_pack("{s:i, s:i, s:i, s:i}", "running", st.running,
	    "waiting", st.waiting, "quarantined", st.quarantined,
	    "reports_queued", st.reports_queued);
	json_object_set_new(o, "bmcs", arr);
	return o;
}

void
power_metrics(const struct power *pw, struct metrics *m)
{
	struct power_stats st;
	const char *v[1];

	power_metrics_define(m);
	power_get_stats(pw, &st);
	v[0] = "ok";
	metrics_counter_set(m, POWER_METRIC_ACTIONS, v, (double)st.actions_ok);
	v[0] = "failed";
	metrics_counter_set(m, POWER_METRIC_ACTIONS, v,
	    (double)st.actions_failed);
	metrics_counter_set(m, POWER_METRIC_QUERIES, NULL, (double)st.queries);
	v[0] = "ok";
	metrics_counter_set(m, POWER_METRIC_COMMANDS, v,
	    (double)(st.commands_run - st.commands_failed));
	v[0] = "failed";
	metrics_counter_set(m, POWER_METRIC_COMMANDS, v,
	    (double)st.commands_failed);
	metrics_gauge_set(m, POWER_METRIC_BMCS, NULL, (double)st.bmcs);
	metrics_gauge_set(m, POWER_METRIC_QUAR, NULL, (double)st.quarantined);
	v[0] = "sent";
	metrics_counter_set(m, POWER_METRIC_REPORTS, v, (double)st.reports_sent);
	v[0] = "dropped";
	metrics_counter_set(m, POWER_METRIC_REPORTS, v,
	    (double)st.reports_dropped);
}
