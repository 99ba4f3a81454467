// FUZZ_SRCS: src/dhcp/lease_event.c src/region/amp.c src/core/bytes.c src/core/xmalloc.c src/core/log.c
/*
 * fuzz_lease_event.c — libFuzzer target for the lease event codec: what
 * rackd reads from the lease socket, the spool and the hook's fallback
 * file.  Invariants: no crash or leak; a parsed event passes
 * lease_event_check, encodes, and parses back to the same event; a
 * batch of parsed events never repeats an IP.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "leases.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The same event as MAAS sees it: lease_time and hostname are sent
 * with commits only (maas-dhcp-helper's format). */
static int
same_event(const struct lease_event *a, const struct lease_event *b)
{
	if (a->action != b->action || a->family != b->family ||
	    strcmp(a->ip, b->ip) != 0 || strcmp(a->mac, b->mac) != 0 ||
	    a->timestamp != b->timestamp)
		return 0;
	if (a->action == LEASE_COMMIT && (a->lease_time != b->lease_time ||
	    strcmp(a->hostname, b->hostname) != 0))
		return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct lease_event e, again, evs[8];
	size_t n = 0, take, i, j;
	const uint8_t *p = data, *nl;
	char *enc, *cause = NULL;

	/* Lines, as in the spool and the hook's file. */
	while (len > 0 && n < 8) {
		nl = memchr(p, '\n', len);
		size_t l = nl != NULL ? (size_t)(nl - p) : len;

		if (lease_event_parse((const char *)p, l, &e, &cause) == 0) {
			if (lease_event_check(&e, &cause) != 0)
				abort();
			enc = lease_event_encode(&e);
			if (enc == NULL ||
			    lease_event_parse(enc, strlen(enc), &again, &cause) != 0 ||
			    !same_event(&e, &again))
				abort();
			free(enc);
			evs[n++] = e;
		} else {
			if (cause == NULL)
				abort();	/* an error always says why */
			free(cause);
			cause = NULL;
		}
		if (nl == NULL)
			break;
		len -= l + 1;
		p = nl + 1;
	}
	take = lease_batch_take(evs, n, 100);
	if (take > n || (n > 0 && take == 0))
		abort();
	for (i = 0; i < take; i++)
		for (j = i + 1; j < take; j++)
			if (strcmp(evs[i].ip, evs[j].ip) == 0)
				abort();
	return 0;
}
