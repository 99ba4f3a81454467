/*
 * metrics.h — a tiny Prometheus registry and its text renderer (core:
 * every layer may count into it).
 *
 * A registry holds metric families (counter, gauge, histogram), each with
 * a fixed list of label names, and one series per distinct list of label
 * values.  Services are handed the registry (no global): region_pool
 * observes its call latencies, the status module mirrors the services'
 * own counters and gauges into it at scrape time.  metrics_render() is
 * pure: the text exposition format 0.0.4 that Prometheus (and
 * `promtool check metrics`) reads, families in definition order, series
 * in the order they first appeared.
 *
 * Names, label names and families are the caller's constants; label
 * values are arbitrary text (escaped on output).  A use of an undefined
 * family, of the wrong type, or with a NULL registry does nothing, so an
 * uninstrumented build or test needs no registry.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>

/* A family holds at most this many label sets; new ones past it are
 * counted in one series whose every label is METRICS_OTHER, so a label
 * fed from the outside (a TFTP file name) cannot grow the registry
 * without bound. */
#define METRICS_SERIES_MAX	500
#define METRICS_OTHER		"_other"

enum metrics_type {
	METRICS_COUNTER,
	METRICS_GAUGE,
	METRICS_HISTOGRAM,
};

struct metrics;

/* MAAS's (prometheus_client's) default latency buckets, in seconds. */
extern const double metrics_default_buckets[];
extern const size_t metrics_default_nbuckets;

/* A new, empty registry; the caller owns it (metrics_free). */
struct metrics *metrics_new(void);
void	metrics_free(struct metrics *);	/* NULL is ok */

/*
 * Define a family once (a second definition of the same name is ignored).
 * labels: comma-separated label names ("" or NULL: none).  buckets
 * (histograms only; NULL = the defaults) are upper bounds in increasing
 * order, copied.  All strings are copied.
 */
void	metrics_define(struct metrics *, const char *name, enum metrics_type,
	    const char *help, const char *labels, const double *buckets,
	    size_t nbuckets);

/*
 * values: one string per label name of the family (NULL when it has
 * none); copied when a new series is created.
 */
void	metrics_counter_add(struct metrics *, const char *name,
	    const char *const *values, double v);
/* Mirror a monotonic counter the service keeps itself. */
void	metrics_counter_set(struct metrics *, const char *name,
	    const char *const *values, double v);
void	metrics_gauge_set(struct metrics *, const char *name,
	    const char *const *values, double v);
void	metrics_histogram_observe(struct metrics *, const char *name,
	    const char *const *values, double v);
/* Drop every series of a family (a gauge rebuilt at each scrape, e.g.
 * one series per instance that may have gone). */
void	metrics_reset(struct metrics *, const char *name);

/* The text format; malloc'd, caller frees. */
char	*metrics_render(const struct metrics *);

#endif
