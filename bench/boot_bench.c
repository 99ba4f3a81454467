/*
 * boot_bench.c — cost of the boot pieces on the event loop: a scan of a
 * boot-resources tree (bootres_scan), a cache hit (bootres_store_images:
 * the stat fingerprint), the ListBootImages encoding, a file-name match
 * and a config render per method.  RUNS rounds, median and max in
 * microseconds.  Run by bench/boot.sh, which builds the tree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "amp.h"
#include "bootconfig.h"
#include "bootmethod.h"
#include "bootres.h"

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

static void
report(const char *what, double *v, int runs, int reps)
{
	qsort(v, runs, sizeof *v, cmp);
	printf("%-34s median %9.2f us  max %9.2f us\n", what,
	    v[runs / 2] / reps, v[runs - 1] / reps);
}

int
main(int argc, char **argv)
{
	const char *root = argv[1];
	int runs = argc > 2 ? atoi(argv[2]) : 21, i, j;
	double *t = calloc(runs, sizeof *t), t0;
	struct bootres_list l;
	struct bootres_store *st = bootres_store_new(root, 0);
	struct bootconfig_params p = {
		"ubuntu", "amd64", "ga-22.04", "jammy", "boot-kernel",
		"boot-initrd", NULL, "stable", "commissioning", "vm1", "maas",
		"http://10-77-0-0--24.maas-internal:5248/MAAS/metadata/latest/"
		"by-id/abc123/?op=get_preseed", "10.77.0.2", 5247, "10.77.0.2",
		"", ""
	};
	enum bootmethod_id ids[] = { BOOTMETHOD_PXE, BOOTMETHOD_IPXE,
	    BOOTMETHOD_UEFI };
	const char *names[] = { "render pxe commissioning",
	    "render ipxe commissioning", "render uefi commissioning" };
	struct bootmethod_match m;
	char *cause = NULL, *out;
	size_t len;

	for (i = 0; i < runs; i++) {
		t0 = now_us();
		if (bootres_scan(root, &l, &cause) == -1)
			return 1;
		t[i] = now_us() - t0;
		if (i == 0)
			printf("tree %s: %zu rows\n", root, l.n);
		bootres_list_free(&l);
	}
	report("bootres_scan (whole tree)", t, runs, 1);
	bootres_store_images(st);
	for (i = 0; i < runs; i++) {
		t0 = now_us();
		for (j = 0; j < 1000; j++)
			bootres_store_images(st);
		t[i] = now_us() - t0;
	}
	report("bootres_store_images (cache hit)", t, runs, 1000);
	for (i = 0; i < runs; i++) {
		struct amp_box *ans = amp_box_new();

		t0 = now_us();
		bootres_encode_answer(bootres_store_images(st), ans, &cause);
		t[i] = now_us() - t0;
		amp_box_free(ans);
	}
	report("ListBootImages answer encoding", t, runs, 1);
	for (i = 0; i < runs; i++) {
		t0 = now_us();
		for (j = 0; j < 10000; j++)
			bootmethod_match("/grub/grub.cfg-52:54:00:12:34:56", 32,
			    &m);
		t[i] = now_us() - t0;
	}
	report("bootmethod_match", t, runs, 10000);
	for (j = 0; j < 3; j++) {
		for (i = 0; i < runs; i++) {
			int k;

			t0 = now_us();
			for (k = 0; k < 1000; k++) {
				bootconfig_render(bootmethod_get(ids[j]), &p,
				    BOOTCONFIG_TFTP, false, &out, &len, &cause);
				free(out);
			}
			t[i] = now_us() - t0;
		}
		report(names[j], t, runs, 1000);
	}
	bootres_store_free(st);
	free(t);
	return 0;
}
