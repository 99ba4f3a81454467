/*
 * discovery.h — find every region event loop through <maas_url>/rpc/.
 *
 * Pure half (L1): URL rewriting and parsing of the eventloops document.
 * Service half (L3): fetch all configured URLs in parallel through http.c,
 * pick the answer naming the most event loops (as MAAS does), save the last
 * good document in data_dir and fall back to it when no URL answers.  A URL
 * that stops answering is probed alone on a short backoff for a while
 * (rejoin.h) so a restarted region is found soon after it answers.
 */
#ifndef DISCOVERY_H
#define DISCOVERY_H

#include <stddef.h>
#include <stdint.h>

#include "rejoin.h"

struct event_base;
struct http;

/* One advertised address of an event loop. */
struct disc_addr {
	char		*host;		/* IPv4 or IPv6 text as advertised */
	uint16_t	 port;
};

struct disc_eventloop {
	char		*name;		/* "region1:pid=12345" */
	struct disc_addr *addrs;
	size_t		 naddrs;
};

struct disc_doc {
	struct disc_eventloop *loops;	/* sorted by name */
	size_t		 nloops;
};

/* <maas_url> -> discovery URL: path without trailing '/' + "/rpc/".
 * Returns malloc'd URL, or NULL with *cause (not http/https, no host). */
char	*discovery_rpc_url(const char *maas_url, char **cause);
/* Host header value for a maas_url: host without port (IPv6 keeps []). */
char	*discovery_host_header(const char *maas_url, char **cause);

/*
 * Parse an /rpc/ answer body.  Returns a new doc (caller frees) or NULL
 * with *cause ("not JSON: ... at line L column C", "'eventloops' is not an
 * object", "event loop 'x': entry 2 is not [address, port]" (1-based),
 * "event loop 'x': port 70000 out of range", "event loop 'x': '1.2.3' is
 * not an IP address", ...).  body need not be NUL-terminated and may
 * contain NULs (they make it invalid JSON).  Entries with bad addresses
 * fail the whole document.  An empty/missing/null "eventloops" gives a doc
 * with nloops == 0.
 */
struct disc_doc	*discovery_parse(const char *body, size_t len, char **cause);
void		 discovery_doc_free(struct disc_doc *);
/* Serialise a doc back to the /rpc/ JSON form (for the saved copy). */
char		*discovery_doc_dump(const struct disc_doc *);
/* Count of event loops in a doc; region host names ("region1" of
 * "region1:pid=N") distinct count in *nregions. */
size_t		 discovery_doc_count(const struct disc_doc *, size_t *nregions);

/* --- service ------------------------------------------------------- */
struct discovery;

/*
 * Result of one discovery round.  doc is NULL when nothing usable came
 * back (all URLs failed or advertised nothing).  maas_url is the URL that
 * produced doc (used as RegisterRackController.url).  from_saved is 1 when
 * doc came from the saved copy.  Both valid during the callback only.
 */
typedef void (*discovery_cb)(const struct disc_doc *doc,
	    const char *maas_url, int from_saved, void *arg);

struct discovery_params {
	char *const	*maas_urls;
	size_t		 nurls;
	const char	*data_dir;	/* saved copy: data_dir/rpc-eventloops.json */
	long		 timeout_ms;	/* per request */
	size_t		 max_body;	/* e.g. 1 MiB */
	/* Quick probes of a URL that stopped answering (rejoin.h); a zero
	 * window_ms turns them off. */
	struct rejoin_params probe;
};

/* Create the discovery service; rounds start on discovery_run(). */
struct discovery *discovery_new(struct event_base *, struct http *,
	    const struct discovery_params *, discovery_cb, void *arg);
/* Replace URLs/params (reload).  Copies what it needs. */
void	discovery_set_params(struct discovery *, const struct discovery_params *);
/* Start one round now unless one is running (then it is re-run once the
 * current round ends).  Rounds never overlap. */
void	discovery_run(struct discovery *);
/* URLs being probed quickly right now (they stopped answering less than
 * probe.window_ms ago); a probe that gets an answer runs a round. */
size_t	discovery_probing(const struct discovery *);
void	discovery_free(struct discovery *);

#endif
