/*
 * metrics.c — the Prometheus registry and text renderer (metrics.h).
 * Families and series are few (tens), so plain arrays searched linearly
 * keep it small; rendering is pure.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "metrics.h"
#include "rackd.h"
#include "xmalloc.h"

const double metrics_default_buckets[] = {
	0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0,
	7.5, 10.0,
};
const size_t metrics_default_nbuckets =
    sizeof metrics_default_buckets / sizeof metrics_default_buckets[0];

struct metrics_series {
	char		**values;	/* nlabels strings */
	double		  value;	/* counter, gauge; histogram sum */
	unsigned long long *counts;	/* histogram: per bucket (not cumulative) */
	unsigned long long  count;	/* histogram observations */
};

struct metrics_family {
	char			*name, *help;
	enum metrics_type	 type;
	char			**labels;
	size_t			 nlabels;
	double			*buckets;
	size_t			 nbuckets;
	struct metrics_series	*series;
	size_t			 nseries;
};

struct metrics {
	struct metrics_family	*fam;
	size_t			 nfam;
};

struct metrics *
metrics_new(void)
{
	return xcalloc(1, sizeof(struct metrics));
}

static void
series_clear(struct metrics_family *f)
{
	size_t i, j;

	for (i = 0; i < f->nseries; i++) {
		for (j = 0; j < f->nlabels; j++)
			free(f->series[i].values[j]);
		free(f->series[i].values);
		free(f->series[i].counts);
	}
	free(f->series);
	f->series = NULL;
	f->nseries = 0;
}

void
metrics_free(struct metrics *m)
{
	size_t i, j;

	if (m == NULL)
		return;
	for (i = 0; i < m->nfam; i++) {
		struct metrics_family *f = &m->fam[i];

		series_clear(f);
		for (j = 0; j < f->nlabels; j++)
			free(f->labels[j]);
		free(f->labels);
		free(f->buckets);
		free(f->name);
		free(f->help);
	}
	free(m->fam);
	free(m);
}

static struct metrics_family *
family_find(const struct metrics *m, const char *name)
{
	size_t i;

	if (m == NULL)
		return NULL;
	for (i = 0; i < m->nfam; i++)
		if (strcmp(m->fam[i].name, name) == 0)
			return &m->fam[i];
	return NULL;
}

void
metrics_define(struct metrics *m, const char *name, enum metrics_type type,
    const char *help, const char *labels, const double *buckets,
    size_t nbuckets)
{
	struct metrics_family *f;
	const char *p, *comma;

	if (m == NULL || family_find(m, name) != NULL)
		return;
	m->fam = xreallocarray(m->fam, m->nfam + 1, sizeof *m->fam);
	f = &m->fam[m->nfam++];
	memset(f, 0, sizeof *f);
	f->name = xstrdup(name);
	f->help = xstrdup(help != NULL ? help : "");
	f->type = type;
	for (p = labels; p != NULL && *p != '\0'; p = comma + 1) {
		comma = strchr(p, ',');
		f->labels = xreallocarray(f->labels, f->nlabels + 1,
		    sizeof *f->labels);
		if (comma == NULL) {
			f->labels[f->nlabels++] = xstrdup(p);
			break;
		}
		f->labels[f->nlabels++] = xstrndup(p, (size_t)(comma - p));
	}
	if (type == METRICS_HISTOGRAM) {
		if (buckets == NULL) {
			buckets = metrics_default_buckets;
			nbuckets = metrics_default_nbuckets;
		}
		f->buckets = xmemdup(buckets, nbuckets * sizeof *buckets);
		f->nbuckets = nbuckets;
	}
}

/* The series for values, created on first use; past METRICS_SERIES_MAX
 * new label sets share one series labelled METRICS_OTHER. */
static struct metrics_series *
series_get(struct metrics_family *f, const char *const *values)
{
	static const char *const other[8] = {
		METRICS_OTHER, METRICS_OTHER, METRICS_OTHER, METRICS_OTHER,
		METRICS_OTHER, METRICS_OTHER, METRICS_OTHER, METRICS_OTHER,
	};
	struct metrics_series *s;
	size_t i, j;

	for (i = 0; i < f->nseries; i++) {
		for (j = 0; j < f->nlabels; j++)
			if (strcmp(f->series[i].values[j],
			    values[j] != NULL ? values[j] : "") != 0)
				break;
		if (j == f->nlabels)
			return &f->series[i];
	}
	if (f->nseries >= METRICS_SERIES_MAX && values != other &&
	    f->nlabels <= RACKD_NELEM(other))
		return series_get(f, other);
	f->series = xreallocarray(f->series, f->nseries + 1, sizeof *f->series);
	s = &f->series[f->nseries++];
	memset(s, 0, sizeof *s);
	s->values = xcalloc(f->nlabels + 1, sizeof *s->values);
	for (j = 0; j < f->nlabels; j++)
		s->values[j] = xstrdup(values[j] != NULL ? values[j] : "");
	if (f->type == METRICS_HISTOGRAM)
		s->counts = xcalloc(f->nbuckets + 1, sizeof *s->counts);
	return s;
}

static struct metrics_series *
lookup(struct metrics *m, const char *name, enum metrics_type type,
    const char *const *values)
{
	struct metrics_family *f = family_find(m, name);

	if (f == NULL || f->type != type || (f->nlabels > 0 && values == NULL))
		return NULL;
	return series_get(f, values);
}

void
metrics_counter_add(struct metrics *m, const char *name,
    const char *const *values, double v)
{
	struct metrics_series *s = lookup(m, name, METRICS_COUNTER, values);

	if (s != NULL && v > 0)
		s->value += v;
}

void
metrics_counter_set(struct metrics *m, const char *name,
    const char *const *values, double v)
{
	struct metrics_series *s = lookup(m, name, METRICS_COUNTER, values);

	if (s != NULL)
		s->value = v;
}

void
metrics_gauge_set(struct metrics *m, const char *name,
    const char *const *values, double v)
{
	struct metrics_series *s = lookup(m, name, METRICS_GAUGE, values);

	if (s != NULL)
		s->value = v;
}

void
metrics_histogram_observe(struct metrics *m, const char *name,
    const char *const *values, double v)
{
	struct metrics_family *f = family_find(m, name);
	struct metrics_series *s = lookup(m, name, METRICS_HISTOGRAM, values);
	size_t i;

	if (s == NULL || isnan(v))
		return;
	for (i = 0; i < f->nbuckets && v > f->buckets[i]; i++)
		;
	s->counts[i]++;		/* i == nbuckets: only +Inf */
	s->count++;
	s->value += v;
}

void
metrics_reset(struct metrics *m, const char *name)
{
	struct metrics_family *f = family_find(m, name);

	if (f != NULL)
		series_clear(f);
}

/* --- rendering --------------------------------------------------------- */

static void
add_number(struct bytes *b, double v)
{
	char buf[64];

	if (isinf(v))
		bytes_add_str(b, v > 0 ? "+Inf" : "-Inf");
	else if (isnan(v))
		bytes_add_str(b, "NaN");
	else {
		snprintf(buf, sizeof buf, "%.15g", v);
		bytes_add_str(b, buf);
	}
}

/* Label values: \ " and newline escaped; HELP: \ and newline. */
static void
add_escaped(struct bytes *b, const char *s, int quote)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			bytes_add_str(b, "\\\\");
		else if (*s == '\n')
			bytes_add_str(b, "\\n");
		else if (*s == '"' && quote)
			bytes_add_str(b, "\\\"");
		else
			bytes_add_u8(b, (uint8_t)*s);
	}
}

/* {a="x",b="y"[,le="0.5"]} or nothing when there is no label at all. */
static void
add_labels(struct bytes *b, const struct metrics_family *f,
    const struct metrics_series *s, const char *le)
{
	size_t j;

	if (f->nlabels == 0 && le == NULL)
		return;
	bytes_add_u8(b, '{');
	for (j = 0; j < f->nlabels; j++) {
		if (j > 0)
			bytes_add_u8(b, ',');
		bytes_add_str(b, f->labels[j]);
		bytes_add_str(b, "=\"");
		add_escaped(b, s->values[j], 1);
		bytes_add_u8(b, '"');
	}
	if (le != NULL) {
		if (f->nlabels > 0)
			bytes_add_u8(b, ',');
		bytes_add_str(b, "le=\"");
		bytes_add_str(b, le);
		bytes_add_u8(b, '"');
	}
	bytes_add_u8(b, '}');
}

static void
add_sample(struct bytes *b, const struct metrics_family *f,
    const struct metrics_series *s, const char *suffix, const char *le,
    double v)
{
	bytes_add_str(b, f->name);
	bytes_add_str(b, suffix);
	add_labels(b, f, s, le);
	bytes_add_u8(b, ' ');
	add_number(b, v);
	bytes_add_u8(b, '\n');
}

static void
render_histogram(struct bytes *b, const struct metrics_family *f,
    const struct metrics_series *s)
{
	unsigned long long cum = 0;
	char le[64];
	size_t i;

	for (i = 0; i < f->nbuckets; i++) {
		cum += s->counts[i];
		snprintf(le, sizeof le, "%.15g", f->buckets[i]);
		add_sample(b, f, s, "_bucket", le, (double)cum);
	}
	add_sample(b, f, s, "_bucket", "+Inf", (double)s->count);
	add_sample(b, f, s, "_count", NULL, (double)s->count);
	add_sample(b, f, s, "_sum", NULL, s->value);
}

char *
metrics_render(const struct metrics *m)
{
	static const char *types[] = { "counter", "gauge", "histogram" };
	struct bytes b;
	size_t i, k;

	bytes_init(&b);
	for (i = 0; m != NULL && i < m->nfam; i++) {
		const struct metrics_family *f = &m->fam[i];

		bytes_add_str(&b, "# HELP ");
		bytes_add_str(&b, f->name);
		bytes_add_u8(&b, ' ');
		add_escaped(&b, f->help, 0);
		bytes_add_str(&b, "\n# TYPE ");
		bytes_add_str(&b, f->name);
		bytes_add_u8(&b, ' ');
		bytes_add_str(&b, types[f->type]);
		bytes_add_u8(&b, '\n');
		for (k = 0; k < f->nseries; k++) {
			if (f->type == METRICS_HISTOGRAM)
				render_histogram(&b, f, &f->series[k]);
			else
				add_sample(&b, f, &f->series[k], "", NULL,
				    f->series[k].value);
		}
	}
	bytes_add_u8(&b, '\0');
	return (char *)bytes_steal(&b, NULL);
}
