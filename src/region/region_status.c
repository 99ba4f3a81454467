/*
 * region_status.c — the region link as the operator sees it: the JSON
 * of `rackd status` and the Prometheus series of the pool.  Reads the
 * pool's state, changes nothing (but the call metrics it is handed).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "metrics.h"
#include "rackd.h"
#include "region_private.h"

#define REGION_METRIC_LATENCY	"maas_rack_region_rpc_call_latency"
#define REGION_METRIC_CALLS	"rackd_region_calls_total"
#define REGION_METRIC_CONNS	"rackd_region_connections"
#define REGION_METRIC_QUEUE	"rackd_region_queue_depth"
#define REGION_METRIC_DISC	"rackd_region_discovery_total"

static void
region_metrics_define(struct metrics *m)
{
	metrics_define(m, REGION_METRIC_LATENCY, METRICS_HISTOGRAM,
	    "Latency of Rack-Region RPC call", "call", NULL, 0);
	metrics_define(m, REGION_METRIC_CALLS, METRICS_COUNTER,
	    "Rack-to-region calls completed, by command and result",
	    "call,result", NULL, 0);
	metrics_define(m, REGION_METRIC_CONNS, METRICS_GAUGE,
	    "Region event-loop connections by state", "state", NULL, 0);
	metrics_define(m, REGION_METRIC_QUEUE, METRICS_GAUGE,
	    "Calls waiting for a region connection", NULL, NULL, 0);
	metrics_define(m, REGION_METRIC_DISC, METRICS_COUNTER,
	    "Discovery rounds (/rpc/), by result: ok, saved (no URL answered, "
	    "the saved list was used), failed", "result", NULL, 0);
}

void
region_pool_observe_discovery(struct region_pool *pool, int got_doc,
    int from_saved)
{
	const char *v[1];

	v[0] = !got_doc ? "failed" : from_saved ? "saved" : "ok";
	metrics_counter_add(pool->metrics, REGION_METRIC_DISC, v, 1);
}

void
region_pool_set_metrics(struct region_pool *pool, struct metrics *m)
{
	pool->metrics = m;
	region_metrics_define(m);
}

void
region_pool_observe_call(struct region_pool *pool, const char *command,
    const struct region_call_result *r)
{
	const char *v[2];

	if (pool == NULL || pool->metrics == NULL || command == NULL)
		return;
	v[0] = command;
	v[1] = region_call_status_name(r->status);
	metrics_counter_add(pool->metrics, REGION_METRIC_CALLS, v, 1);
	/* As MAAS: the latency of calls the region answered. */
	if (r->status == REGION_CALL_OK || r->status == REGION_CALL_REMOTE_ERROR)
		metrics_histogram_observe(pool->metrics, REGION_METRIC_LATENCY,
		    v, (double)r->elapsed_ms / 1000.0);
}

json_t *
region_pool_status_json(const struct region_pool *pool)
{
	const struct region_conn *c;
	json_t *o, *loops, *l;
	uint64_t now = rackd_now_ms();

	loops = json_array();
	TAILQ_FOREACH(c, &pool->conns, entry) {
		l = json_pack("{s:s, s:s, s:s, s:s, s:I}",
		    "name", c->name,
		    "region", c->region_host != NULL ? c->region_host : "",
		    "address", c->peer,
		    "state", region_state_name(c->state),
		    "failures", (json_int_t)c->failures);
		json_object_set_new(l, "rtt_ms", c->rtt_ms >= 0 ?
		    json_real(c->rtt_ms) : json_null());
		json_object_set_new(l, "established_s",
		    c->state == REGION_ESTABLISHED && c->established_ms != 0 ?
		    json_integer((json_int_t)((now - c->established_ms) / 1000)) :
		    json_null());
		json_object_set_new(l, "last_error", c->last_error != NULL ?
		    json_string(c->last_error) : json_null());
		json_object_set_new(l, "last_error_age_s", c->last_error != NULL ?
		    json_integer((json_int_t)((now - c->last_error_ms) / 1000)) :
		    json_null());
		json_array_append_new(loops, l);
	}
	o = json_object();
	json_object_set_new(o, "system_id", json_string(pool->system_id != NULL ?
	    pool->system_id : ""));
	json_object_set_new(o, "maas_url", pool->maas_url != NULL ?
	    json_string(pool->maas_url) : json_null());
	json_object_set_new(o, "from_saved", json_boolean(pool->from_saved));
	json_object_set_new(o, "queue", json_pack("{s:I, s:I}",
	    "depth", (json_int_t)pool->nqueued,
	    "max", (json_int_t)pool->p.queue_max));
	json_object_set_new(o, "event_loops", loops);
	return o;
}

void
region_pool_metrics(const struct region_pool *pool, struct metrics *m)
{
	static const enum region_state states[] = {
		REGION_IDLE, REGION_CONNECTING, REGION_AUTHENTICATING,
		REGION_REGISTERING, REGION_ESTABLISHED, REGION_BACKOFF,
	};
	const struct region_conn *c;
	const char *v[1];
	size_t i, n;

	region_metrics_define(m);
	for (i = 0; i < RACKD_NELEM(states); i++) {
		n = 0;
		TAILQ_FOREACH(c, &pool->conns, entry)
			if (c->state == states[i])
				n++;
		v[0] = region_state_name(states[i]);
		metrics_gauge_set(m, REGION_METRIC_CONNS, v, (double)n);
	}
	metrics_gauge_set(m, REGION_METRIC_QUEUE, NULL, (double)pool->nqueued);
}
