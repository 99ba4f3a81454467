/*
 * region.h — connections to every MAAS region event loop.
 *
 * A region_pool keeps one AMP connection per event loop advertised by
 * discovery (discovery.h), each an explicit state machine:
 *
 *   IDLE -> CONNECTING -> AUTHENTICATING -> REGISTERING -> ESTABLISHED
 *     ^                                                        |
 *     +------------------- BACKOFF <---------------------------+
 *
 * with capped, jittered backoff, handshake and connect deadlines, and
 * liveness by Ping (plus TCP keepalive / TCP_USER_TIMEOUT).  Calls from the
 * rack to the region go through region_call(), which picks a live
 * connection, queues while none is up, and re-sends idempotent calls when
 * their connection dies.  Commands from the region are decoded here and
 * handed to one command callback (rpc.c), which answers through the
 * region_request handle.
 *
 * A region controller whose event loops are all lost (or leave the /rpc/
 * document), and a maas_url that stops answering, are probed for quickly
 * for a while (rejoin.h), so a restarted region (new pids, new event-loop
 * names) is rejoined within region.rejoin_probe_interval of answering.
 */
#ifndef REGION_H
#define REGION_H

#include <stddef.h>
#include <stdint.h>

#include "amp.h"

struct event_base;
struct http;
struct rackd_config;
struct secret;

struct region_pool;
struct region_request;

enum region_state {
	REGION_IDLE,
	REGION_CONNECTING,
	REGION_AUTHENTICATING,
	REGION_REGISTERING,
	REGION_ESTABLISHED,
	REGION_BACKOFF,
};

const char *region_state_name(enum region_state);

/* --- incoming commands ---------------------------------------------- */
/*
 * Called for every command from the region other than Authenticate (which
 * region.c answers itself), once the region has proved it knows the
 * secret.  The callee must eventually answer req exactly once with
 * region_request_answer() or region_request_error(); until then req stays
 * valid even if the connection dies (the answer is then dropped).
 */
typedef void (*region_command_cb)(struct region_request *req,
	    const char *command, const struct amp_box *args, void *arg);

/* Answer the request; takes ownership of answer (may be NULL = empty). */
void	region_request_answer(struct region_request *, struct amp_box *answer);
/* Fail the request with an AMP error (code e.g. "UNHANDLED"). */
void	region_request_error(struct region_request *, const char *code,
	    const char *description);
/* Event-loop name and peer address of the connection it came on. */
const char *region_request_loop(const struct region_request *);
const char *region_request_peer(const struct region_request *);
/*
 * A request made inside the process instead of by a region (tests, and
 * in-process callers of the command table): once answered, done gets
 * the reply box exactly as it would go on the wire (_answer, or _error
 * with _error_code and _error_description), borrowed for the call; then
 * the request is freed.  command and loop are copied; the peer is "".
 */
typedef void (*region_request_done_cb)(const struct amp_box *reply,
	    void *arg);
struct region_request *region_request_new_local(const char *command,
	    const char *loop, region_request_done_cb done, void *arg);

/* --- outgoing calls ------------------------------------------------- */
enum region_call_status {
	REGION_CALL_OK,			/* answer holds the _answer box */
	REGION_CALL_REMOTE_ERROR,	/* error_code/error_description set */
	REGION_CALL_TIMEOUT,		/* deadline passed (in flight or queued) */
	REGION_CALL_LOST,		/* connection died, call not idempotent */
	REGION_CALL_QUEUE_FULL,		/* no region up and the queue is full */
	REGION_CALL_NO_REGION,		/* REGION_CALL_NOQUEUE and none up */
	REGION_CALL_CANCELLED,		/* pool shut down */
};

const char *region_call_status_name(enum region_call_status);

struct region_call_result {
	enum region_call_status	 status;
	const struct amp_box	*answer;	/* OK only; borrowed */
	const char		*error_code;
	const char		*error_description;
	const char		*loop;		/* event loop that answered, or NULL */
	uint64_t		 elapsed_ms;
};

typedef void (*region_call_cb)(const struct region_call_result *, void *arg);

#define REGION_CALL_IDEMPOTENT	0x1	/* may be re-sent on another connection */
#define REGION_CALL_NOQUEUE	0x2	/* fail at once when no region is up */

/*
 * Call command on the region with args (ownership taken; NULL = none).
 * timeout_ms <= 0 uses region.call_timeout.  cb (may be NULL) is called
 * exactly once, never from inside region_call().  Returns a call id > 0.
 */
uint64_t region_call(struct region_pool *, const char *command,
	    struct amp_box *args, unsigned flags, int timeout_ms,
	    region_call_cb cb, void *arg);

/* --- the pool ------------------------------------------------------- */
struct region_stats {
	size_t	advertised;		/* event loops in the current document */
	size_t	established;
	size_t	regions_advertised;	/* distinct region hosts */
	size_t	regions_connected;
	size_t	queued;			/* calls waiting for a connection */
	int	from_saved;		/* document came from the saved copy */
};

typedef void (*region_stats_cb)(const struct region_stats *, void *arg);

/*
 * Create the pool.  cfg and secret are copied (what is needed).  cmd_cb
 * receives region commands; stats_cb (may be NULL) is called whenever the
 * number of established connections or advertised loops changes.
 */
struct region_pool *region_pool_new(struct event_base *, struct http *,
	    const struct rackd_config *, const struct secret *,
	    region_command_cb cmd_cb, region_stats_cb stats_cb, void *arg);
/* Start discovery and connecting. */
void	region_pool_start(struct region_pool *);
/* Apply a reloaded config / secret.  Connections are kept when the
 * secret and URLs did not change. */
void	region_pool_reconfigure(struct region_pool *, const struct rackd_config *,
	    const struct secret *);
/* Close every connection, fail queued calls with CANCELLED, stop timers. */
void	region_pool_shutdown(struct region_pool *);
void	region_pool_free(struct region_pool *);

void	region_pool_stats(const struct region_pool *, struct region_stats *);
/* The rack's system_id ("" before the first registration). */
const char *region_pool_system_id(const struct region_pool *);
/* The configured maas_url whose /rpc/ answer the pool uses (MAAS's
 * ClusterClientService.maas_url), NULL before any discovery answered;
 * valid until the next loop turn. */
const char *region_pool_maas_url(const struct region_pool *);
/*
 * Peer addresses (host only, as connected to) of the established
 * connections, each once, in connection order: where the regions'
 * HTTP servers are (MAAS's rack proxies /MAAS/ to them).  *hosts is
 * NULL-terminated; the caller frees each and the array.  Returns the
 * count.
 */
size_t	region_pool_peer_hosts(const struct region_pool *, char ***hosts);
/* One line per connection for logs / state files; caller frees. */
char	*region_pool_describe(const struct region_pool *);

/* --- the operator's view (region_status.c) -------------------------- */
struct metrics;


/*
 * Count every completed call in m (borrowed, must outlive the pool;
 * NULL stops): maas_rack_region_rpc_call_latency{call} (MAAS's name,
 * seconds), rackd_region_calls_total{call,result} and
 * rackd_region_discovery_total{result}.
 */
void	region_pool_set_metrics(struct region_pool *, struct metrics *);
/*
 * The pool as JSON for `rackd status` (new reference, caller decrefs):
 *   {"system_id", "maas_url", "from_saved", "queue": {"depth", "max"},
 *    "event_loops": [{"name", "region", "address", "state", "rtt_ms",
 *      "established_s", "failures", "last_error", "last_error_age_s"}]}
 * rtt_ms and last_error* are null when unknown.
 */
json_t	*region_pool_status_json(const struct region_pool *);
/* Mirror the connection gauges into m (rackd_region_connections{state},
 * rackd_region_queue_depth). */
void	region_pool_metrics(const struct region_pool *, struct metrics *);

#endif
