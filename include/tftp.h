/*
 * tftp.h — the TFTP server (UDP tftp_port) in the event loop, as a MAAS
 * 3.4 rack serves it: read requests only, octet mode, blksize/tsize/
 * timeout options, one ephemeral socket per transfer bound to the
 * address the request was sent to, retransmission after 1 s and 3 s and
 * give-up 7 s later (or t, t, t with the timeout option), block-number
 * rollover, duplicate-request suppression, bounded concurrent transfers.
 * Bytes come from a tftp_source (tftp_source.h).
 */
#ifndef TFTP_H
#define TFTP_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct event_base;
struct tftp_source;

struct tftp_params {
	int		 port;		/* 0: an ephemeral port (tests) */
	const char	*bind4;		/* NULL: 0.0.0.0 */
	const char	*bind6;		/* NULL: ::; "" : no IPv6 socket */
	int		 max_transfers;
	/* Retransmission schedule in ms (tests shorten it); 0s: MAAS's
	 * 1000, 3000, 7000. */
	int		 retry_ms[3];
};

struct tftp_stats {
	uint64_t	 requests;	/* RRQs accepted for processing */
	uint64_t	 completed;	/* transfers acknowledged to the end */
	uint64_t	 failed;	/* errors sent, give-ups, client errors */
	uint64_t	 size_queries;	/* OACK then client error 8: tsize only */
	uint64_t	 duplicates;	/* RRQs ignored as duplicates */
	uint64_t	 busy;		/* RRQs refused: max_transfers */
	uint64_t	 retransmits;	/* packets sent again */
	int		 active;	/* transfers now */
};

struct tftp;

/*
 * Create the server on base with a borrowed source (it must outlive the
 * server).  Never fails: sockets are opened by tftp_start.
 */
struct tftp *tftp_new(struct event_base *, struct tftp_source *,
	    const struct tftp_params *);
/*
 * Bind the listening sockets.  0 when at least one family is listening;
 * -1 with *cause (allocated) when none is.  A family that fails is
 * logged and shown in tftp_service_status.
 */
int	tftp_start(struct tftp *, char **cause);
/* Stop: abort every transfer, close every socket; tftp_free after. */
void	tftp_free(struct tftp *);

/* The port a family listens on (4 or 6), 0 when it does not. */
int	tftp_port(const struct tftp *, int family);
void	tftp_get_stats(const struct tftp *, struct tftp_stats *);

/*
 * UpdateServices status: "running" or "dead" (returned, static), with
 * the reason written to info (cap bytes).
 */
const char *tftp_service_status(const struct tftp *, char *info,
	    size_t cap);

/* --- the operator's view (tftp_status.c) ------------------------------ */
struct metrics;
/*
 * Observe every completed transfer in m (borrowed, outlives srv; NULL
 * stops): MAAS's maas_tftp_file_transfer_latency{filename} (seconds).
 */
void	tftp_set_metrics(struct tftp *, struct metrics *);
void	tftp_metrics_define(struct metrics *);
/* One completed transfer of name (as the client sent it). */
void	tftp_observe_transfer(struct metrics *, const char *name,
	    uint64_t elapsed_ms);
/* Mirror the counters into m: rackd_tftp_transfers_total{result},
 * rackd_tftp_requests_refused_total{reason}, rackd_tftp_active. */
void	tftp_metrics(const struct tftp *, struct metrics *);
/* New reference: {"port4", "port6", "active", "requests", "completed",
 * "failed", "busy", "retransmits"}. */
json_t	*tftp_status_json(const struct tftp *);

#endif
