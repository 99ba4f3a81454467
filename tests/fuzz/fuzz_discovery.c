// FUZZ_SRCS: src/region/discovery_parse.c src/core/xmalloc.c src/core/log.c
/*
 * fuzz_discovery.c — libFuzzer target for the /rpc/ document parser and
 * the maas_url rewriting.  Invariants: no crash or leak, a parsed document
 * survives dump + parse with the same event loops, and a rewritten URL
 * always ends its path in "/rpc/".
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "discovery.h"
#include "xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_roundtrip(const struct disc_doc *doc)
{
	struct disc_doc *again;
	char *dump, *cause = NULL;
	size_t i, j;

	dump = discovery_doc_dump(doc);
	again = discovery_parse(dump, strlen(dump), &cause);
	if (again == NULL || again->nloops != doc->nloops)
		abort();
	for (i = 0; i < doc->nloops; i++) {
		if (strcmp(doc->loops[i].name, again->loops[i].name) != 0 ||
		    doc->loops[i].naddrs != again->loops[i].naddrs)
			abort();
		for (j = 0; j < doc->loops[i].naddrs; j++)
			if (doc->loops[i].addrs[j].port !=
			    again->loops[i].addrs[j].port ||
			    strcmp(doc->loops[i].addrs[j].host,
			    again->loops[i].addrs[j].host) != 0)
				abort();
	}
	discovery_doc_free(again);
	free(dump);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct disc_doc *doc;
	char *cause = NULL, *s, *url, *host;
	size_t nregions;

	doc = discovery_parse((const char *)data, size, &cause);
	if (doc == NULL) {
		if (cause == NULL)
			abort();	/* every failure says why */
		free(cause);
	} else {
		if (discovery_doc_count(doc, &nregions) < nregions)
			abort();
		check_roundtrip(doc);
		discovery_doc_free(doc);
	}

	/* The same bytes as a maas_url. */
	s = xstrndup((const char *)data, size);
	cause = NULL;
	if ((url = discovery_rpc_url(s, &cause)) != NULL) {
		if (strstr(url, "/rpc/") == NULL)
			abort();
		host = discovery_host_header(s, &cause);
		if (host == NULL || *host == '\0')
			abort();
		free(host);
		free(url);
	} else
		free(cause);
	free(s);
	return 0;
}
