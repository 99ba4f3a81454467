/*
 * amp_bench.c — AMP encode+decode throughput of rackd's codec on a
 * PowerQuery-like box (StructureAsJSON context) and a
 * RegisterRackController-like box.  Prints boxes per second.
 *   amp_bench [N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "amp.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 200000, i;
	struct amp_box *b = amp_command_new("PowerQuery", "1a"), *d;
	json_t *ctx = json_pack("{s:s,s:s,s:s,s:s}", "power_address", "10.0.0.9",
	    "power_user", "admin", "power_pass", "secret", "power_driver", "LAN_2_0");
	struct bytes out;
	size_t used;
	double t0;

	amp_box_put_json(b, "context", ctx);
	amp_box_put_str(b, "hostname", "node1");
	amp_box_put_str(b, "power_type", "ipmi");
	amp_box_put_str(b, "system_id", "xyz789");
	bytes_init(&out);
	t0 = now();
	for (i = 0; i < n; i++) {
		bytes_reset(&out);
		amp_box_encode(b, &out, NULL);
		if (amp_box_decode(out.data, out.len, NULL, &d, &used, NULL) !=
		    AMP_OK)
			abort();
		amp_box_free(d);
	}
	printf("c %.0f boxes/s\n", n / (now() - t0));
	bytes_free(&out);
	amp_box_free(b);
	json_decref(ctx);
	return 0;
}
