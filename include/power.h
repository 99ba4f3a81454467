/*
 * power.h — BMC power control as a MAAS 3.4 rack does it, with ipmitool.
 *
 * The region calls PowerOn/Off/Cycle/Query, PowerDriverCheck,
 * DescribePowerTypes and SetBootOrder (power_rpc.c registers them).  On, off
 * and cycle are validated, answered at once and run in the background;
 * their outcome reaches the region as RegisterEventType / SendEvent /
 * UpdateNodePowerState / MarkNodeFailed, in MAAS's order, through an
 * ordered report queue that survives region outages.  A power monitor
 * asks ListNodePowerParameters every power.monitor_interval and reports
 * each node's state.
 *
 * Inside the rack, each BMC (address:port) is owned by one bmc entry:
 * one ipmitool session at a time, a minimum gap between commands, and
 * quarantine with backoff when it keeps failing; a global cap bounds
 * ipmitool processes.  Layout:
 *   power.c    settings, lifecycle            power_private.h  shared types
 *   power_rpc.c  the region's commands
 *   action.c   per-node on/off/cycle/query    bmc.c     BMC table, scheduler
 *   report.c   ordered reports to the region  monitor.c power monitor
 *   ipmi.c     pure ipmitool argv/output codec (ipmi.h)
 */
#ifndef POWER_H
#define POWER_H

#include "amp.h"

struct event_base;
struct proc_runner;
struct rackd_config;
struct region_pool;

struct power;

/*
 * Create the power service.  runner and pool are borrowed and must
 * outlive it; cfg is copied.  The monitor starts with power_start().
 */
struct power *power_new(struct event_base *, struct proc_runner *,
	    struct region_pool *, const struct rackd_config *);
/* Start the monitor (once the pool is running). */
void	power_start(struct power *);
/* Apply a reloaded configuration (timeouts, caps, monitor period). */
void	power_reconfigure(struct power *, const struct rackd_config *);
/* Region connectivity changed: flush queued reports when it came back. */
void	power_region_up(struct power *);
/*
 * Stop: cancel every action (nothing more is reported) and start nothing
 * new.  Then free the proc runner (its callbacks still reach power), then
 * power_free().
 */
void	power_shutdown(struct power *);
void	power_free(struct power *);	/* NULL is ok */

/*
 * Register the region's power commands (power_rpc.c) with rpc, served
 * by pw (borrowed; must outlive rpc's dispatching).  -1 with *cause when
 * one of their names is taken.
 */
struct rpc;
int	power_rpc_register(struct rpc *, struct power *, char **cause);

/* Counters for logs, benchmarks and tests. */
struct power_stats {
	unsigned long	actions_started, actions_ok, actions_failed;
	unsigned long	queries, commands_run, commands_failed;
	unsigned long	queries_shared;	/* answered by another query's run */
	unsigned long	reports_sent, reports_dropped;
	int		running, waiting, bmcs, quarantined, reports_queued;
};
void	power_get_stats(const struct power *, struct power_stats *);

/* --- the operator's view (power_status.c) ---------------------------- */
struct metrics;
/*
 * Observe every ipmitool run in m (borrowed, outlives power; NULL stops):
 * rackd_ipmitool_run_seconds{op,result}.
 */
void	power_set_metrics(struct power *, struct metrics *);
/*
 * Every BMC the rack has worked with, as JSON for `rackd status` (new
 * reference): {"running", "waiting", "quarantined", "bmcs": [{"bmc",
 * "state", "last_error", "last_error_age_s", "quarantined_for_s",
 * "consecutive_failures", "runs", "failures"}]}.
 */
json_t	*power_status_json(const struct power *);
/* Mirror the power counters and gauges into m: rackd_power_actions_total
 * {result}, rackd_power_queries_total, rackd_bmcs, rackd_bmcs_quarantined,
 * rackd_power_reports_total{result}. */
void	power_metrics(const struct power *, struct metrics *);

#endif
