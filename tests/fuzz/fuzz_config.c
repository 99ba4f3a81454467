// FUZZ_SRCS: src/core/config.c src/core/fileio.c src/core/xmalloc.c src/core/log.c
/*
 * fuzz_config.c — libFuzzer target for config_load_mem().
 *
 * Any input must either fail with a "NAME:LINE:COL: " cause or load; a
 * loaded config must print as YAML that loads back to the same text
 * (print -> load -> print is a fixed point) with no reported changes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char *
print(const struct rackd_config *cfg)
{
	char *buf;
	size_t len;
	FILE *f;

	if ((f = open_memstream(&buf, &len)) == NULL)
		abort();
	config_print(f, cfg);
	fclose(f);
	return buf;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rackd_config *cfg, *again;
	char *cause = NULL, *a, *b;

	cfg = config_load_mem("fuzz", (const char *)data, size, &cause);
	if (cfg == NULL) {
		if (cause == NULL || strncmp(cause, "fuzz:", 5) != 0)
			abort();
		free(cause);
		return 0;
	}
	a = print(cfg);
	again = config_load_mem("printed", a, strlen(a), &cause);
	if (again == NULL) {
		fprintf(stderr, "printed config does not load: %s\n%s\n",
		    cause, a);
		abort();
	}
	b = print(again);
	if (strcmp(a, b) != 0) {
		fprintf(stderr, "print is not a fixed point:\n%s\n---\n%s\n",
		    a, b);
		abort();
	}
	if (config_log_changes(cfg, again) != 0)
		abort();
	free(a);
	free(b);
	config_free(again);
	config_free(cfg);
	return 0;
}
