/*
 * tftp_status.c — the TFTP server as the operator sees it: its part of
 * `rackd status` and its metrics, from its public counters.
 */
#include "metrics.h"
#include "rackd.h"
#include "tftp.h"

#define TFTP_METRIC_LATENCY	"maas_tftp_file_transfer_latency"
#define TFTP_METRIC_XFERS	"rackd_tftp_transfers_total"
#define TFTP_METRIC_REFUSED	"rackd_tftp_requests_refused_total"
#define TFTP_METRIC_ACTIVE	"rackd_tftp_active"

void
tftp_metrics_define(struct metrics *m)
{
	metrics_define(m, TFTP_METRIC_LATENCY, METRICS_HISTOGRAM,
	    "Latency of TFTP file downloads", "filename", NULL, 0);
	metrics_define(m, TFTP_METRIC_XFERS, METRICS_COUNTER,
	    "TFTP transfers ended, by result", "result", NULL, 0);
	metrics_define(m, TFTP_METRIC_REFUSED, METRICS_COUNTER,
	    "TFTP read requests not served, by reason", "reason", NULL, 0);
	metrics_define(m, TFTP_METRIC_ACTIVE, METRICS_GAUGE,
	    "TFTP transfers in progress", NULL, NULL, 0);
}

void
tftp_observe_transfer(struct metrics *m, const char *name,
    uint64_t elapsed_ms)
{
	const char *v[1] = { name };

	/* As MAAS: labelled by file name.  Per-machine names (pxelinux.cfg
	 * /01-<mac>, grub.cfg-<mac>) are many: the registry folds series
	 * past its bound into one (metrics.h). */
	metrics_histogram_observe(m, TFTP_METRIC_LATENCY, v,
	    (double)elapsed_ms / 1000.0);
}

void
tftp_metrics(const struct tftp *srv, struct metrics *m)
{
	struct tftp_stats st;
	const char *v[1];

	tftp_metrics_define(m);
	tftp_get_stats(srv, &st);
	v[0] = "completed";
	metrics_counter_set(m, TFTP_METRIC_XFERS, v, (double)st.completed);
	v[0] = "failed";
	metrics_counter_set(m, TFTP_METRIC_XFERS, v, (double)st.failed);
	v[0] = "size_query";
	metrics_counter_set(m, TFTP_METRIC_XFERS, v, (double)st.size_queries);
	v[0] = "busy";
	metrics_counter_set(m, TFTP_METRIC_REFUSED, v, (double)st.busy);
	v[0] = "duplicate";
	metrics_counter_set(m, TFTP_METRIC_REFUSED, v, (double)st.duplicates);
	metrics_gauge_set(m, TFTP_METRIC_ACTIVE, NULL, (double)st.active);
}

json_t *
tftp_status_json(const struct tftp *srv)
{
	struct tftp_stats st;

	tftp_get_stats(srv, &st);
	return json_pack("{s:i, s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:I}",
	    "port4", tftp_port(srv, 4), "port6", tftp_port(srv, 6),
	    "active", st.active,
	    "requests", (json_int_t)st.requests,
	    "completed", (json_int_t)st.completed,
	    "failed", (json_int_t)st.failed,
	    "size_queries", (json_int_t)st.size_queries,
	    "busy", (json_int_t)st.busy,
	    "retransmits", (json_int_t)st.retransmits);
}
