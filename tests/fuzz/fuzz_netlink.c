// FUZZ_SRCS: src/host/ifsnap.c src/refresh/resources.c src/region/netif.c src/core/xmalloc.c src/core/log.c
/*
 * fuzz_netlink.c — libFuzzer target for the rtnetlink decoder and what is
 * built from its snapshots.  Arbitrary bytes go through ifsnap_apply();
 * whatever it accepted must leave a well-formed snapshot (sorted, unique
 * names and indexes, classification consistent), survive copy and diff,
 * and give a machine-resources document that serialises and parses back
 * with every mandatory key.  Seeds: the messages recorded from the kernel
 * (tests/unit/data/netlink/) and the synthetic VLAN/bond fixture.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ifsnap.h"
#include "resources.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_snapshot(const struct ifsnap *s)
{
	size_t i, j;

	for (i = 0; i < s->nifs; i++) {
		if (i > 0 && strcmp(s->ifs[i - 1].name, s->ifs[i].name) >= 0)
			abort();	/* sorted, unique */
		if (ifsnap_by_name(s, s->ifs[i].name) != &s->ifs[i] ||
		    ifsnap_by_index(s, s->ifs[i].index) != &s->ifs[i])
			abort();
		if (s->ifs[i].name[0] == '\0' || s->ifs[i].index <= 0)
			abort();
		for (j = 0; j < s->ifs[i].naddrs; j++)
			if (s->ifs[i].addrs[j].report !=
			    (s->ifs[i].addrs[j].skip_reason == NULL))
				abort();
	}
}

static void
check_document(const struct ifsnap *s)
{
	static const struct resources_host h = { .kernel_architecture =
	    "x86_64", .kernel = "Linux" };
	json_t *doc, *back, *nets, *v;
	json_error_t err;
	const char *name;
	char *text, *cause = NULL;
	size_t nifs, naddrs;

	doc = resources_build(s, &h, &cause);
	if (doc == NULL)
		abort();	/* fuzz inputs cannot reach 900 KiB */
	text = json_dumps(doc, JSON_COMPACT);
	if (text == NULL || (back = json_loads(text, 0, &err)) == NULL)
		abort();
	nets = json_object_get(back, "networks");
	if (!json_is_object(nets) || !json_is_object(json_object_get(
	    json_object_get(back, "network-extra"), "interfaces")))
		abort();
	json_object_foreach(nets, name, v) {
		if (json_object_get(v, "bond") == NULL ||
		    json_object_get(v, "bridge") == NULL ||
		    json_object_get(v, "vlan") == NULL ||
		    !json_is_string(json_object_get(v, "hwaddr")) ||
		    !json_is_array(json_object_get(v, "addresses")))
			abort();
		/* the region would store an empty MAC */
		if (strcmp(json_string_value(json_object_get(v, "type")),
		    "broadcast") == 0 && *json_string_value(json_object_get(v,
		    "hwaddr")) == '\0')
			abort();
		/* a VLAN's lower device is itself reported */
		if (json_is_object(json_object_get(v, "vlan")) &&
		    json_object_get(nets, json_string_value(json_object_get(
		    json_object_get(v, "vlan"), "lower_device"))) == NULL)
			abort();
	}
	resources_count(back, &nifs, &naddrs);
	if (nifs != json_object_size(nets))
		abort();
	free(text);
	json_decref(back);
	json_decref(doc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ifsnap s, c, empty;
	char *cause = NULL, *d;

	ifsnap_init(&s);
	if (ifsnap_apply(&s, data, size, &cause) == -1) {
		if (cause == NULL)
			abort();	/* every failure says why */
		free(cause);
	}
	check_snapshot(&s);
	ifsnap_copy(&c, &s);
	if ((d = ifsnap_diff(&s, &c)) != NULL)
		abort();	/* a copy is the same to the region */
	ifsnap_init(&empty);
	d = ifsnap_diff(&empty, &s);
	if ((d == NULL) != (s.nifs == 0 && s.ngws == 0))
		abort();
	free(d);
	d = ifsnap_diff(&s, &empty);
	free(d);
	check_document(&s);
	/* the same bytes again on top: replaces, never duplicates */
	cause = NULL;
	if (ifsnap_apply(&c, data, size, &cause) == -1)
		free(cause);
	check_snapshot(&c);
	ifsnap_clear(&c);
	ifsnap_clear(&s);
	return 0;
}
