// FUZZ_SRCS: src/boot/simplestreams.c src/core/xmalloc.c src/core/log.c
/*
 * fuzz_simplestreams.c — libFuzzer target for the simplestreams parser
 * (index.json and products documents), selection, maas.meta and the
 * snapshot plan.  Invariants: no crash or leak; a parsed catalog gives a
 * maas.meta that is valid JSON, and every planned link is a safe relative
 * path naming an item with a 64-digit sha256.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "simplestreams.h"
#include "xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ss_catalog *c;
	struct ss_link *plan;
	struct ss_selection sel = { "ubuntu", "*", NULL, NULL, NULL };
	json_t *j;
	char *cause = NULL, *p, *meta;
	size_t n, i;

	p = simplestreams_index_products_path((const char *)data, size, &cause);
	if (p != NULL && !simplestreams_safe_relpath(p))
		abort();
	free(p);
	free(cause);
	cause = NULL;
	c = simplestreams_parse_products((const char *)data, size, &cause);
	if (c == NULL) {
		if (cause == NULL)
			abort();
		free(cause);
		return 0;
	}
	meta = simplestreams_meta_json(c);
	if ((j = json_loads(meta, 0, NULL)) == NULL)
		abort();
	json_decref(j);
	free(meta);
	plan = simplestreams_plan(c, &n);
	for (i = 0; i < n; i++)
		if (!simplestreams_safe_relpath(plan[i].relpath) ||
		    strlen(plan[i].item->sha256) != 64)
			abort();
	simplestreams_plan_free(plan, n);
	simplestreams_select(c, &sel, 1);
	simplestreams_catalog_free(c);
	return 0;
}
