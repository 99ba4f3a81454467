/*
 * region_private.h — structures shared by region_conn.c (one connection's
 * state machine) and region_pool.c (the set of connections, discovery
 * glue, call routing).  Not for use outside src/region/region_*.c.
 */
#ifndef REGION_PRIVATE_H
#define REGION_PRIVATE_H

#include <sys/queue.h>
#include <netinet/in.h>

#include "amp.h"
#include "discovery.h"
#include "region.h"
#include "rejoin.h"
#include "secret.h"

struct bufferevent;
struct event;

struct region_call;
struct region_conn;

/* Completion for calls the connection makes for itself (handshake, ping). */
typedef void (*region_internal_cb)(struct region_conn *, struct region_call *,
	    const struct amp_box *answer, const char *ecode, const char *edesc,
	    enum region_call_status);

struct region_call {
	TAILQ_ENTRY(region_call) entry;		/* pool queue or conn inflight */
	struct region_pool	*pool;
	uint64_t		 id;
	char			*command;
	struct amp_box		*args;		/* kept for re-sending */
	unsigned		 flags;
	uint64_t		 started_ms;
	struct event		*timer;		/* overall deadline */
	region_call_cb		 cb;
	void			*arg;
	struct region_conn	*conn;		/* NULL while queued */
	char			 tag[24];
	region_internal_cb	 internal;	/* set for handshake/ping calls */
	int			 resends;
};

TAILQ_HEAD(region_call_list, region_call);

struct region_request {
	TAILQ_ENTRY(region_request) entry;	/* conn's open requests */
	struct region_pool	*pool;
	struct region_conn	*conn;		/* NULL once the conn died */
	char			*tag;		/* NULL: no answer wanted */
	char			*command;
	struct amp_box		*args;
	char			*loop;
	char			 peer[64];
	int			 dispatched;
	region_request_done_cb	 done;		/* local requests only */
	void			*done_arg;
};

TAILQ_HEAD(region_request_list, region_request);

struct region_conn {
	TAILQ_ENTRY(region_conn) entry;
	struct region_pool	*pool;
	char			*name;		/* event loop name */
	char			*region_host;	/* name before ":pid=" */
	struct disc_addr	*addrs;
	size_t			 naddrs;
	size_t			 addr_idx;	/* address being tried / used */
	char			 peer[64];	/* "ip:port" */
	enum region_state	 state;
	struct bufferevent	*bev;
	struct event		*timer;		/* connect/handshake deadline or backoff */
	struct event		*ping_timer;
	uint64_t		 gen;		/* bumped on every close */
	uint64_t		 next_tag;
	uint8_t			 nonce[AUTH_NONCE_LEN];
	uint64_t		 connected_ms;
	uint64_t		 established_ms;
	int			 region_verified;
	int			 ping_outstanding;
	unsigned		 failures;	/* consecutive, for backoff */
	double			 rtt_ms;	/* EWMA of Ping round trips */
	char			*last_problem;	/* log once per change */
	struct region_call_list	 inflight;
	struct region_request_list requests;	/* open incoming requests */
	int			 removed;	/* no longer advertised */
	/* For `rackd status`: the last problem, kept after it cleared. */
	char			*last_error;
	uint64_t		 last_error_ms;
};

TAILQ_HEAD(region_conn_list, region_conn);

struct region_pool {
	struct event_base	*base;
	struct http		*http;
	struct discovery	*disc;

	char			**urls;
	size_t			 nurls;
	char			*data_dir;
	char			*hostname;
	char			*cluster_uuid;
	struct config_region_copy {
		int discovery_timeout_ms, connect_timeout_ms;
		int handshake_timeout_ms, liveness_timeout_ms;
		int call_timeout_ms, queue_max, backoff_max_ms;
		int discovery_interval_ms;
		int rejoin_probe_max_ms, rejoin_probe_interval_ms;
	} p;
	struct secret		 secret;

	struct region_conn_list	 conns;
	struct region_call_list	 queue;
	size_t			 nqueued;
	int			 queue_warned;

	char			*system_id;
	char			*maas_url;	/* URL that produced the document */
	int			 from_saved;
	struct event		*disc_timer;
	uint64_t		 disc_due_ms;	/* when disc_timer fires */
	/* Region controllers that went away, for quick probe rounds and
	 * the "went away" / "back after N s" lines (rejoin.h). */
	struct rejoin_tracker	 rejoin;
	int			 started;
	int			 shutting_down;
	int			 fully_connected_logged;
	uint64_t		 next_call_id;

	region_command_cb	 cmd_cb;
	region_stats_cb		 stats_cb;
	void			*cb_arg;
	struct region_stats	 last_stats;
	struct metrics		*metrics;	/* borrowed; NULL = none */
};

/* region_status.c: count a completed call in pool->metrics. */
void	region_pool_observe_call(struct region_pool *, const char *command,
	    const struct region_call_result *);

/* region_status.c: count one discovery round's outcome. */
void	region_pool_observe_discovery(struct region_pool *, int got_doc,
	    int from_saved);

/* region_conn.c */
struct region_conn *region_conn_new(struct region_pool *,
	    const struct disc_eventloop *);
void	region_conn_free(struct region_conn *);
/* Start connecting now (from IDLE or BACKOFF). */
void	region_conn_start(struct region_conn *);
/* Replace the address list; returns 1 if the address in use vanished. */
int	region_conn_set_addrs(struct region_conn *, const struct disc_eventloop *);
/* Close (with reason logged at prio) and go to BACKOFF, or IDLE when
 * backoff is 0 (removed/shutdown). */
void	region_conn_close(struct region_conn *, int backoff, int prio,
	    const char *fmt, ...) RACKD_PRINTF(4, 5);
/* Send a call on this connection (call->conn set, added to inflight). */
void	region_conn_send_call(struct region_conn *, struct region_call *);
/* Remove a call from this connection (timeout): answer will be ignored. */
void	region_conn_forget_call(struct region_conn *, struct region_call *);

/* region_pool.c */
void	region_pool_conn_established(struct region_pool *, struct region_conn *);
void	region_pool_conn_lost(struct region_pool *, struct region_conn *,
	    struct region_call_list *orphans);
void	region_pool_update_stats(struct region_pool *);
void	region_pool_set_system_id(struct region_pool *, const char *id,
	    const char *uuid, const char *loop);
/* Complete a call: stop its timer, run its callback, free it. */
void	region_call_complete(struct region_call *, enum region_call_status,
	    const struct amp_box *answer, const char *ecode, const char *edesc,
	    const char *loop);
void	region_call_free(struct region_call *);
struct region_call *region_call_new_internal(struct region_pool *,
	    const char *command, struct amp_box *args, int timeout_ms,
	    region_internal_cb);
void	region_request_free(struct region_request *);

#endif
