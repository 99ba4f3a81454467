// FUZZ_SRCS: src/dhcp/kea_leases.c src/core/xmalloc.c src/core/log.c
/*
 * fuzz_kea_leases.c — libFuzzer target for Kea memfile parsing and the
 * lease-carry plan (kea_leases.c): lease files rackd reads from disk,
 * possibly cut short or corrupted.  The first byte picks the family and
 * the target subnet.  Invariants: no crash or leak; every row kept has
 * as many fields as the header; the carried rows, behind the default
 * header, parse back without a warning, as many as were carried, all
 * valid and inside the subnet; carrying them again into a target that
 * holds them adds nothing.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kea_leases.h"
#include "xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct kea_lease_file f, back;
	const struct kea_lease_file *sp[1] = { &f };
	const char *names[1] = { "fuzz" };
	struct kea_subnet sub;
	struct kea_carry c, again;
	char *cause = NULL, *text;
	int family;
	size_t i;

	if (len < 1)
		return 0;
	family = (data[0] & 1) ? 6 : 4;
	memset(&f, 0, sizeof f);
	memset(&back, 0, sizeof back);
	memset(&sub, 0, sizeof sub);
	if (family == 4) {
		strcpy(sub.cidr, "10.88.0.0/16");
		sub.net[0] = 10;
		sub.net[1] = 88;
		sub.plen = data[0] >> 3;	/* 0..31 */
	} else {
		strcpy(sub.cidr, "fd00::/8");
		sub.net[0] = 0xfd;
		sub.plen = data[0] >> 2;
	}
	sub.id = 7;
	if (kea_leases_parse(&f, family, (const char *)data + 1, len - 1,
	    "fuzz.leases", &cause) == -1) {
		free(cause);
		kea_leases_free(&f);
		return 0;
	}
	for (i = 0; i < f.nrows; i++)
		if (f.rows[i].fields == NULL)
			abort();
	kea_carry_plan(NULL, sp, names, 1, &sub, 1, 1000, &c);
	xasprintf(&text, "%s\n%s", kea_leases_header(family),
	    c.text != NULL ? c.text : "");
	if (kea_leases_parse(&back, family, text, strlen(text), "back",
	    &cause) == -1)
		abort();
	if (back.nwarnings != 0 || back.nrows != c.n)
		abort();
	for (i = 0; i < back.nrows; i++)
		if (back.rows[i].valid_lft == 0 || back.rows[i].expire <= 1000 ||
		    back.rows[i].state == 2 || back.rows[i].subnet_id != 7 ||
		    !kea_subnet_contains(&sub, family, back.rows[i].addr))
			abort();
	kea_carry_plan(&back, sp, names, 1, &sub, 1, 1000, &again);
	if (again.n != 0)
		abort();
	kea_carry_free(&again);
	kea_carry_free(&c);
	kea_leases_free(&back);
	kea_leases_free(&f);
	free(text);
	return 0;
}
