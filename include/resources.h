/*
 * resources.h — the machine-resources JSON document that a MAAS 3.4
 * region parses from the rack's refresh (shared/spec/maas-rack-refresh.md
 * §3): api_version, api_extensions, environment, resources.network.cards
 * = [], networks keyed by interface name, and network-extra.  Pure: built
 * from an interface snapshot and a few host facts, so it is unit-tested
 * and fuzzed.
 *
 * CONTRACT (shared between the host and refresh modules): extend freely,
 * do not rename or change the meaning of what is here.
 */
#ifndef RESOURCES_H
#define RESOURCES_H

#include <jansson.h>

struct ifsnap;

struct resources_host {
	const char	*kernel_architecture;	/* uname -m, e.g. "x86_64" */
	const char	*kernel;		/* uname -s, "Linux" (may be NULL) */
	const char	*kernel_version;	/* uname -r (may be NULL) */
	const char	*os_name;		/* os-release ID ("debian"), may be NULL */
	const char	*os_version;		/* os-release VERSION_ID ("12"), may be NULL */
	const char	*server_name;		/* host name, may be NULL */
	int		 in_container;		/* as netif_in_container(): an
						 * unclassified ethernet (veth)
						 * counts as physical in
						 * network-extra */
};

/* The region stores each part in a 1 MiB field (spec pitfall 14); a
 * document whose compact form is larger than this is refused. */
#define RESOURCES_MAX_BYTES	(900 * 1024)

/*
 * Build the document (new reference), or NULL with *cause when the host
 * facts cannot make a document the region accepts (e.g. "kernel
 * architecture 'armv7l' is not one MAAS knows").  Every interface except
 * loopback is in "networks", parents before children in what the region
 * reads; addresses not reported (ifsnap_addr.report == 0) are left out;
 * "network-extra" carries links with mode static|dhcp and gateways, the
 * monitored interfaces, and "hints": null.
 */
json_t	*resources_build(const struct ifsnap *, const struct resources_host *,
	    char **cause);

/* Read the running host's facts (uname, /etc/os-release, gethostname)
 * into h; strings live in a static buffer owned by this module. */
void	resources_host_read(struct resources_host *h);

/* Count what a document reports, for the refresh log line. */
void	resources_count(const json_t *doc, size_t *nifs, size_t *naddrs);

#endif
