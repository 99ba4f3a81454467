/*
 * monitor.c — the node power monitor (MAAS's NodePowerMonitorService).
 *
 * Every power.monitor_interval (15 s): ask the region
 * ListNodePowerParameters(uuid = this rack) for a batch, query the batch
 * with at most power.monitor_concurrency queries at once (skipping nodes
 * with a change in flight and power types rackd does not drive), report
 * each state, and ask again until the batch is empty.  A round never
 * overlaps the next tick.  The region marks every node it hands out as
 * queried for 5 minutes, so a batch is always queried to the end.
 *
 * Reports: UpdateNodePowerState(state) on success; on failure
 * UpdateNodePowerState("error") then NODE_POWER_QUERY_FAILED with the
 * message (spec A.7).  Quarantined BMCs answer from their last error
 * without an ipmitool run (bmc.c), so dead BMCs cost nothing here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "region.h"
#include "xmalloc.h"
#include "power_private.h"

struct monitor_node {
	char		*system_id;
	char		*hostname;
	bool		 manual;
	struct ipmi_params params;
};

struct power_monitor {
	struct power		*pw;
	struct event		*timer;
	bool			 round;		/* a round is running */
	bool			 asking;	/* ListNodePowerParameters in flight */
	uint64_t		 last_round_ms;
	struct monitor_node	*batch;
	size_t			 n, next;	/* batch size, next to start */
	int			 inflight;
	unsigned long		 rounds, nodes_seen;
};

static void monitor_ask(struct power_monitor *);

static void
batch_free(struct power_monitor *m)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		free(m->batch[i].system_id);
		free(m->batch[i].hostname);
		ipmi_params_clear(&m->batch[i].params);
	}
	free(m->batch);
	m->batch = NULL;
	m->n = m->next = 0;
}

static void
round_end(struct power_monitor *m)
{
	m->round = false;
	monitor_reschedule(m);
}

static void monitor_fill(struct power_monitor *);

static void
query_done(struct power_action *a, enum ipmi_fail fail, enum power_state st,
    const char *message, void *arg)
{
	struct power_monitor *m = arg;
	struct power *pw = m->pw;

	m->inflight--;
	if (pw->shutting_down)
		return;
	if (fail == IPMI_FAIL_NONE) {
		report_state(pw, a->system_id, power_state_name(st));
	} else {
		report_state(pw, a->system_id, "error");
		report_event(pw, a->system_id, "NODE_POWER_QUERY_FAILED",
		    message != NULL ? message : "query failed");
	}
	monitor_fill(m);
}

/* Start queries up to the cap; when the batch is done, ask again. */
static void
monitor_fill(struct power_monitor *m)
{
	struct power *pw = m->pw;
	struct monitor_node *n;

	while (m->next < m->n && m->inflight < pw->set.monitor_concurrency) {
		n = &m->batch[m->next++];
		if (action_find(pw, n->system_id) != NULL) {
			log_debug("power: monitor skips %s: a power change is "
			    "in progress", n->system_id);
			continue;
		}
		m->inflight++;
		action_start_query(pw, n->system_id, n->hostname, n->manual,
		    &n->params, true, query_done, m);
	}
	if (m->next >= m->n && m->inflight == 0) {
		batch_free(m);
		monitor_ask(m);
	}
}

static int
node_parse(const struct amp_box *b, struct monitor_node *n, char **cause)
{
	char *type = NULL;
	json_t *ctx = NULL;
	int rc = -1;

	memset(n, 0, sizeof *n);
	if (amp_box_get_str(b, "system_id", &n->system_id, cause) != 0 ||
	    amp_box_get_str(b, "power_type", &type, cause) != 0) {
		if (*cause == NULL)
			*cause = xstrdup("system_id or power_type missing");
		goto out;
	}
	if (amp_box_get_str(b, "hostname", &n->hostname, cause) == -1)
		goto out;
	if (n->hostname == NULL)
		n->hostname = xstrdup(n->system_id);
	if (strcmp(type, "manual") == 0) {
		n->manual = true;
		rc = 0;
		goto out;
	}
	if (strcmp(type, "ipmi") != 0) {
		xasprintf(cause, "power type '%s' is not driven by rackd", type);
		rc = 1;
		goto out;
	}
	if (amp_box_get_json(b, "context", &ctx, cause) != 0) {
		if (*cause == NULL)
			*cause = xstrdup("context missing");
		goto out;
	}
	rc = ipmi_params_from_json(ctx, &n->params, cause);
out:
	free(type);
	json_decref(ctx);
	if (rc != 0) {
		free(n->system_id);
		free(n->hostname);
		memset(n, 0, sizeof *n);
	}
	return rc;
}

static void
ask_done(const struct region_call_result *r, void *arg)
{
	struct power_monitor *m = arg;
	struct power *pw = m->pw;
	const struct amp_value *v;
	struct amp_box **boxes = NULL;
	size_t n = 0, i;
	char *cause = NULL, *sid;
	int rc;

	m->asking = false;
	if (r->status == REGION_CALL_CANCELLED)
		return;
	if (r->status != REGION_CALL_OK) {
		if (r->status == REGION_CALL_REMOTE_ERROR)
			log_warnx("power: monitor: ListNodePowerParameters "
			    "refused: %s: %s", r->error_code,
			    r->error_description);
		else
			log_debug("power: monitor: ListNodePowerParameters: %s",
			    region_call_status_name(r->status));
		round_end(m);
		return;
	}
	v = amp_box_get(r->answer, "nodes");
	if (v == NULL || amp_list_decode(v->data, v->len, &boxes, &n,
	    &cause) == -1) {
		log_warnx("power: monitor: bad ListNodePowerParameters answer "
		    "from %s: %s", r->loop, cause != NULL ? cause :
		    "nodes missing");
		free(cause);
		round_end(m);
		return;
	}
	if (n == 0) {
		round_end(m);
		return;
	}
	m->batch = xcalloc(n, sizeof *m->batch);
	m->n = 0;
	for (i = 0; i < n; i++) {
		cause = NULL;
		rc = node_parse(boxes[i], &m->batch[m->n], &cause);
		if (rc == 0) {
			m->n++;
			continue;
		}
		sid = NULL;
		{
			char *c2 = NULL;

			(void)amp_box_get_str(boxes[i], "system_id", &sid, &c2);
			free(c2);
		}
		if (rc == 1)
			log_debug("power: monitor skips %s: %s",
			    sid != NULL ? sid : "?", cause);
		else {
			/* The region handed us a node we cannot query: say
			 * so where the operator looks. */
			log_warnx("power: monitor: node %s: %s",
			    sid != NULL ? sid : "?", cause);
			if (sid != NULL) {
				char *msg;

				xasprintf(&msg, "Missing or invalid power "
				    "setting: %s", cause);
				report_state(pw, sid, "error");
				report_event(pw, sid, "NODE_POWER_QUERY_FAILED",
				    msg);
				free(msg);
			}
		}
		free(sid);
		free(cause);
	}
	amp_list_free(boxes, n);
	m->nodes_seen += m->n;
	monitor_fill(m);
}

static void
monitor_ask(struct power_monitor *m)
{
	struct power *pw = m->pw;
	struct amp_box *args;
	const char *sid = region_pool_system_id(pw->pool);

	if (pw->shutting_down || sid[0] == '\0') {
		round_end(m);
		return;
	}
	args = amp_box_new();
	amp_box_put_str(args, "uuid", sid);
	m->asking = true;
	region_call(pw->pool, "ListNodePowerParameters", args,
	    REGION_CALL_IDEMPOTENT | REGION_CALL_NOQUEUE, 60000, ask_done, m);
}

static void
tick(evutil_socket_t fd, short ev, void *arg)
{
	struct power_monitor *m = arg;

	if (m->round)
		return;
	m->round = true;
	m->rounds++;
	m->last_round_ms = rackd_now_ms();
	monitor_ask(m);
}

struct power_monitor *
monitor_new(struct power *pw)
{
	struct power_monitor *m = xcalloc(1, sizeof *m);

	m->pw = pw;
	m->timer = evtimer_new(pw->base, tick, m);
	return m;
}

void
monitor_reschedule(struct power_monitor *m)
{
	int ms = m->pw->set.monitor_interval_ms;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_del(m->timer);
	if (ms > 0 && !m->round && !m->pw->shutting_down)
		evtimer_add(m->timer, &tv);
}

void
monitor_kick(struct power_monitor *m)
{
	int ms = m->pw->set.monitor_interval_ms;

	/* MAAS's TimerService runs at once on start; rackd starts before it
	 * is registered, so the first region connection starts it. */
	if (ms <= 0 || m->round || (m->rounds > 0 &&
	    rackd_now_ms() - m->last_round_ms < (uint64_t)ms))
		return;
	evtimer_del(m->timer);
	tick(-1, 0, m);
}

void
monitor_free(struct power_monitor *m)
{
	if (m == NULL)
		return;
	batch_free(m);
	event_free(m->timer);
	free(m);
}
