/*
 * power_private.h — types shared by the power modules (power.c,
 * power_rpc.c, action.c, bmc.c, report.c, monitor.c).  Nothing outside
 * src/power includes this.
 */
#ifndef POWER_PRIVATE_H
#define POWER_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include <event2/event.h>
#include <jansson.h>

#include "amp.h"
#include "ipmi.h"
#include "power.h"

struct proc;
struct power_action;

/* --- settings copied from rackd.conf ------------------------------------ */
struct power_settings {
	char	*ipmitool;
	int	 max_concurrency;
	int	 command_timeout_ms;
	int	 action_timeout_ms;
	int	 query_timeout_ms;
	int	 retransmit_s, retries;
	int	 bmc_gap_ms;
	int	 confirm_wait_ms;
	int	 quarantine_after;
	int	 quarantine_max_ms;
	int	 monitor_interval_ms;
	int	 monitor_concurrency;
	int	 report_queue_max;
};

/* --- BMC table and scheduler (bmc.c) ------------------------------------- */
struct bmc_cmd;
struct bmc_run;

/* Result of one ipmitool run on a BMC; valid during the callback. */
typedef void (*bmc_cmd_cb)(struct bmc_cmd *, const struct ipmi_outcome *,
	    void *arg);

/* One caller waiting for the outcome of a run. */
struct bmc_cmd {
	TAILQ_ENTRY(bmc_cmd)	 entry;		/* run->waiters */
	struct bmc_run		*run;
	enum ipmi_op		 op;
	const struct ipmi_params *params;	/* borrowed from the caller */
	bmc_cmd_cb		 cb;
	void			*arg;
};
TAILQ_HEAD(bmc_cmd_list, bmc_cmd);

/*
 * One ipmitool run on a BMC, queued or running.  Queries for the same
 * BMC with the same session parameters join a shared run that has not
 * finished yet and all get its outcome; actions always get a run of
 * their own.  The run uses its first waiter's parameters.
 */
struct bmc_run {
	TAILQ_ENTRY(bmc_run)	 entry;		/* bmc->pending while queued */
	struct bmc		*bmc;
	enum ipmi_op		 op;
	bool			 shared;	/* queries may join */
	bool			 abandoned;	/* every waiter left: killed */
	bool			 timeout_noted;	/* a deadline counted it */
	struct bmc_cmd_list	 waiters;
	int			 nwaiters;
	struct proc		*proc;		/* while running */
	bool			 suspect;	/* counted in running_suspect */
};
TAILQ_HEAD(bmc_run_list, bmc_run);

struct bmc {
	TAILQ_ENTRY(bmc)	 entry;		/* power->bmcs */
	TAILQ_ENTRY(bmc)	 ready_entry;	/* power->ready, while queued */
	bool			 in_ready;
	struct power		*pw;
	char			*key;		/* "address:port" */
	struct bmc_run_list	 pending;
	struct bmc_run		*running;
	uint64_t		 last_end_ms;
	struct event		*gap_timer;
	/* health */
	int			 consecutive_failures;
	int			 backoff_ms;
	uint64_t		 quarantine_until_ms;
	enum ipmi_fail		 last_fail;
	char			*last_error;	/* message of the last failure */
	uint64_t		 last_fail_ms, last_ok_ms;
	/* For `rackd status` (power_status.c). */
	unsigned long		 runs, run_failures;
	enum power_state	 last_state;
};
TAILQ_HEAD(bmc_list, bmc);

/* power_status.c: one finished ipmitool run, for status and metrics. */
void	bmc_observe_run(struct bmc *, enum ipmi_op, const struct ipmi_outcome *,
	    uint64_t elapsed_ms);

/* Find or create the entry for a BMC. */
struct bmc *bmc_get(struct power *, const char *address, int port);
/*
 * Queue one ipmitool run; cb is always called later (never inside).
 * shareable (queries): join a queued or running run of the same op whose
 * session parameters match (ipmi_params_same_session) and share its
 * outcome.  The command can be cancelled with bmc_cmd_cancel (cb is then
 * never called; the run is killed when no one else waits for it).
 */
struct bmc_cmd *bmc_submit(struct bmc *, enum ipmi_op, const struct ipmi_params *,
	    bool shareable, bmc_cmd_cb cb, void *arg);
/* True while the command's ipmitool is running. */
bool	bmc_cmd_running(const struct bmc_cmd *);
/* A caller's deadline cut the command short: count the failure in the
 * BMC's health once per run, however many waiters share it. */
void	bmc_cmd_note_timeout(struct bmc_cmd *, const struct ipmi_outcome *);
void	bmc_cmd_cancel(struct bmc_cmd *);
/* Count an outcome in the BMC's health (bmc.c does it for every run it
 * finishes; action.c for a run its deadline cut short). */
void	bmc_note(struct bmc *, const struct ipmi_outcome *);
/* True while the BMC is quarantined (recent repeated failures). */
bool	bmc_quarantined(const struct bmc *);
/* Is there a route to address from this rack? 0 = yes or unknown,
 * -1 with *cause when the kernel has no route to it. */
int	bmc_route_check(const char *address, int port, char **cause);
void	bmc_table_free(struct power *);
/* power->kick_ev callback: start what the caps allow. */
void	bmc_kick_cb(evutil_socket_t, short, void *);

/* --- per-node actions (action.c) ----------------------------------------- */
enum power_change { CHANGE_ON, CHANGE_OFF, CHANGE_CYCLE, CHANGE_QUERY };

const char *power_change_name(enum power_change);	/* "on", "off", "cycle", "query" */

/* A finished query: state, or message on failure (fail != NONE). */
typedef void (*power_query_cb)(struct power_action *, enum ipmi_fail fail,
	    enum power_state, const char *message, void *arg);

struct power_action {
	TAILQ_ENTRY(power_action) entry;	/* power->actions */
	struct power		*pw;
	enum power_change	 change;
	char			*system_id;
	char			*hostname;
	bool			 manual;
	struct ipmi_params	 params;
	struct bmc		*bmc;
	/* state machine */
	int			 phase;
	enum power_change	 stage;		/* cycle: CHANGE_OFF then CHANGE_ON */
	bool			 first_check;
	bool			 issued_cycle;
	int			 attempts;	/* times the action was issued */
	int			 confirms;	/* confirmation queries this attempt */
	int			 errors;	/* failed ipmitool runs in a row */
	enum power_state	 last_state;
	enum ipmi_fail		 last_fail;
	char			*last_error;
	uint64_t		 started_ms;
	struct event		*wait_timer;
	struct event		*deadline_timer;
	struct bmc_cmd		*cmd;
	/* queries */
	power_query_cb		 query_cb;
	void			*query_arg;
};
TAILQ_HEAD(power_action_list, power_action);

/* Start a change (registry checks done by the caller). */
void	action_start_change(struct power *, enum power_change,
	    const char *system_id, const char *hostname, bool manual,
	    struct ipmi_params *params /* moved */);
/* Start a query; cb is called exactly once, never from inside. */
void	action_start_query(struct power *, const char *system_id,
	    const char *hostname, bool manual, struct ipmi_params *params,
	    bool use_quarantine, power_query_cb cb, void *arg);
/* The change in flight for system_id, or NULL. */
struct power_action *action_find(struct power *, const char *system_id);
/* Cancel everything without reporting (shutdown). */
void	action_cancel_all(struct power *);

/* --- reports to the region (report.c) ------------------------------------ */
/* Queue, in order (region_report.h): RegisterEventType is sent once per
 * type first. */
void	report_event(struct power *, const char *system_id,
	    const char *type_name, const char *description);
void	report_state(struct power *, const char *system_id, const char *state);
void	report_failed(struct power *, const char *system_id,
	    const char *description);

/* --- monitor (monitor.c) ------------------------------------------------- */
struct power_monitor;
struct power_monitor *monitor_new(struct power *);
void	monitor_reschedule(struct power_monitor *);
/* A region came up: run a round now unless one ran recently. */
void	monitor_kick(struct power_monitor *);
void	monitor_free(struct power_monitor *);

/* --- the service ---------------------------------------------------------- */
/* The configured ipmitool is there and executable (power.c). */
bool	power_ipmitool_present(const struct power *);

struct power {
	struct event_base	*base;
	struct proc_runner	*runner;
	struct region_pool	*pool;
	struct power_settings	 set;
	/* bmc.c */
	struct bmc_list		 bmcs;
	struct bmc_list		 ready;
	int			 running;	/* ipmitool runs in flight */
	int			 running_suspect;	/* of those, to failing BMCs */
	int			 nbmcs;
	struct event		*kick_ev;
	bool			 shutting_down;
	/* action.c */
	struct power_action_list actions;	/* changes in flight */
	struct power_action_list queries;	/* queries in flight */
	/* report.c */
	struct region_reports	*reports;
	/* monitor.c */
	struct power_monitor	*monitor;
	struct power_stats	 stats;
	struct metrics		*metrics;	/* borrowed; NULL = none */
};

#endif
