/*
 * ifsnap_bench.c — time ifsnap_read() and resources_build() (plus the
 * compact dump the refresh posts) in the current network namespace:
 * RUNS rounds, median and max in microseconds.  Run by bench/ifsnap.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "ifsnap.h"
#include "resources.h"

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 21, i;
	double *rd = calloc(runs, sizeof(double)), *bd = calloc(runs,
	    sizeof(double)), t0, t1, t2;
	struct resources_host h;
	struct ifsnap s;
	char *cause = NULL, *text = NULL;
	size_t nifs = 0, naddrs = 0, bytes = 0;
	json_t *doc;

	resources_host_read(&h);
	ifsnap_init(&s);
	for (i = 0; i < runs; i++) {
		t0 = now_us();
		if (ifsnap_read(&s, &cause) == -1) {
			fprintf(stderr, "ifsnap_read: %s\n", cause);
			return 1;
		}
		t1 = now_us();
		if ((doc = resources_build(&s, &h, &cause)) == NULL) {
			fprintf(stderr, "resources_build: %s\n", cause);
			return 1;
		}
		text = json_dumps(doc, JSON_COMPACT);
		t2 = now_us();
		resources_count(doc, &nifs, &naddrs);
		bytes = strlen(text);
		free(text);
		json_decref(doc);
		rd[i] = t1 - t0;
		bd[i] = t2 - t1;
	}
	qsort(rd, runs, sizeof(double), cmp);
	qsort(bd, runs, sizeof(double), cmp);
	printf("interfaces %zu (reported %zu, %zu addresses), document %zu "
	    "bytes, %d runs\n", s.nifs, nifs, naddrs, bytes, runs);
	printf("ifsnap_read      median %8.0f us  max %8.0f us\n",
	    rd[runs / 2], rd[runs - 1]);
	printf("resources_build  median %8.0f us  max %8.0f us (with dump)\n",
	    bd[runs / 2], bd[runs - 1]);
	ifsnap_clear(&s);
	free(rd);
	free(bd);
	return 0;
}
