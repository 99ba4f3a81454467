/*
 * leases.h — DHCP lease reporting: Kea -> rackd -> on-disk spool ->
 * UpdateLeases to the region.  Kea hands events over one of two ways
 * (dhcp.lease_hook): the hook library rackd-lease-hook.so appends them to
 * the hook spool file and nudges rackd's socket with an empty datagram
 * ("library", no process per event); or run_script starts the program
 * rackd-lease-hook per event, which sends each as a datagram and falls
 * back to the same file ("script").
 *
 * Three layers, each usable on its own:
 *
 *   lease_event_*   pure: validate, parse and encode one lease event (the
 *                   JSON object maas-dhcp-helper sends, spec C.9) and build
 *                   the UpdateLeases arguments for a batch.
 *   lease_spool_*   a bounded, append-only, crash-safe on-disk queue of
 *                   events with durable acknowledgement.
 *   leases_*        the service: the datagram socket, the spool, batching
 *                   and the region calls.
 *
 * Wire/line format of one event (one datagram, or one line of the hook's
 * fallback spool): a compact ASCII JSON object
 *   {"action":"commit","mac":"02:00:00:00:bb:01","ip_family":"ipv4",
 *    "ip":"10.77.1.0","timestamp":1796233833,"lease_time":600,
 *    "hostname":"node07"}
 * lease_time and hostname are commit-only and optional.
 */
#ifndef LEASES_H
#define LEASES_H

#include <stddef.h>
#include <stdint.h>

#include "amp.h"
#include "region.h"

struct event_base;

/* --- events (lease_event.c) ----------------------------------------- */
#define LEASE_IP_MAX		46	/* INET6_ADDRSTRLEN */
#define LEASE_MAC_MAX		18	/* "xx:xx:xx:xx:xx:xx" + NUL */
#define LEASE_HOSTNAME_MAX	255
/* Longest encoded event, newline included.  Below PIPE_BUF (4096) so a
 * line appended with O_APPEND and one write() is never interleaved. */
#define LEASE_LINE_MAX		1024
/* MAAS's UpdateLeases batches are 16; the region runs one database task
 * per update either way, so larger batches only save round trips. */
#define LEASE_BATCH_MAX		100

enum lease_action {
	LEASE_COMMIT,
	LEASE_EXPIRY,
	LEASE_RELEASE,
};

enum lease_family {
	LEASE_IPV4,
	LEASE_IPV6,
};

/* Plain data, no pointers: copy it with '='. */
struct lease_event {
	enum lease_action	 action;
	enum lease_family	 family;
	char			 ip[LEASE_IP_MAX];	/* canonical text */
	char			 mac[LEASE_MAC_MAX];	/* lower-case, colons */
	long long		 timestamp;		/* epoch seconds */
	long long		 lease_time;		/* commit; -1 = absent */
	char			 hostname[LEASE_HOSTNAME_MAX + 1]; /* "" = absent */
};

const char *lease_action_name(enum lease_action);
const char *lease_family_name(enum lease_family);
/* 0 and *out on success, -1 for an unknown name. */
int	lease_action_parse(const char *, enum lease_action *out);

/*
 * Field validators, shared by the parser and rackd-lease-hook.  Each
 * returns 0 on success, or -1 with a malloc'd *cause naming the value.
 *
 * mac: six octets of 1-2 hex digits separated by ':' or '-' (one kind),
 * or 12 bare hex digits; written to out (>= LEASE_MAC_MAX) zero-padded
 * and lower-case, as MAAS normalises it.
 */
int	lease_mac_normalise(const char *in, char *out, size_t outlen,
	    char **cause);
/* ip: IPv4 dotted quad or IPv6 text; *family set, canonical text to out
 * (>= LEASE_IP_MAX).  IPv4-mapped and other IPv6 forms stay IPv6. */
int	lease_ip_parse(const char *in, enum lease_family *family, char *out,
	    size_t outlen, char **cause);
/* Decimal integer in [min, max], digits only (no sign, spaces, hex). */
int	lease_uint_parse(const char *in, long long min, long long max,
	    long long *out, char **cause);
/* Hostname: empty or all-blank means none (out = ""); otherwise at most
 * LEASE_HOSTNAME_MAX bytes of printable ASCII (inner blanks allowed: the
 * region coerces odd names), copied to out (>=
 * LEASE_HOSTNAME_MAX + 1). */
int	lease_hostname_check(const char *in, char *out, size_t outlen,
	    char **cause);

/*
 * Parse one event (a datagram or a spool line; a trailing newline is
 * allowed) of len bytes.  Strict: it must be one JSON object; action, mac,
 * ip_family, ip and timestamp are required and checked as above, and
 * ip_family must match ip.  lease_time and hostname are type-checked when
 * present and kept only for commit.  Unknown keys are ignored.  Returns 0,
 * or -1 with *cause naming the bad field.
 */
int	lease_event_parse(const char *buf, size_t len, struct lease_event *,
	    char **cause);
/* Encode as one compact ASCII JSON object, without newline.  Caller
 * frees.  Never longer than LEASE_LINE_MAX - 1 for a valid event. */
char	*lease_event_encode(const struct lease_event *);
/* Validate an event built by hand (the hook's path): the same checks as
 * lease_event_parse.  0 or -1 with *cause. */
int	lease_event_check(const struct lease_event *, char **cause);

/*
 * MAAS's batching rule (lease_socket_service.py): how many of evs[0..n)
 * form the next batch — at most max, and stopping before the first event
 * whose IP is already in the batch, so two updates of one IP are never in
 * flight together and per-IP order holds.  0 only when n or max is 0.
 */
size_t	lease_batch_take(const struct lease_event *evs, size_t n, size_t max);
/*
 * UpdateLeases arguments for evs[0..n): cluster_uuid (Unicode, required
 * by a 3.4 region, ignored by it) and updates (AmpList of {action, mac,
 * ip_family, ip, timestamp, lease_time?, hostname?}).  Caller owns the
 * box.  NULL with *cause if the list cannot be encoded.
 */
struct amp_box *lease_batch_args(const char *cluster_uuid,
	    const struct lease_event *evs, size_t n, char **cause);

/* --- the spool (lease_spool.c) -------------------------------------- */
/*
 * Files in dir (created 0750 if missing):
 *   leases.spool      one line per event, "<seq> <event JSON>\n", seq
 *                     strictly increasing; append-only between compactions
 *   leases.ack        "<seq>\n": every event with seq <= it is done;
 *                     replaced by write-tmp + fsync + rename
 * Any crash leaves a consistent state: a torn last line is cut off (with a
 * warning) at open, lines <= the ack seq are skipped, compaction writes a
 * new file and renames it, and seqs make every step idempotent.
 * Delivery is at least once: an event whose ack did not reach the disk is
 * sent again after a restart (the region's handling is idempotent).
 *
 * Bound: at most max_events unacknowledged events.  Appending to a full
 * spool drops the OLDEST (counted in dropped, logged): MAAS itself drops
 * everything while no region is up, and the newest events decide each
 * IP's final state.  The file is compacted when everything is acked
 * (truncated) or when it holds more than twice the live bytes plus 64 KiB
 * (rewritten), so it stays under about 2 * max_events * LEASE_LINE_MAX.
 */
struct lease_spool;

struct lease_spool_stats {
	uint64_t	appended;	/* events appended since open */
	uint64_t	dropped;	/* oldest dropped by the bound */
	uint64_t	torn;		/* bad/torn lines ignored at open/import */
	uint64_t	acked;		/* events acknowledged since open */
	size_t		pending;	/* unacknowledged events */
	uint64_t	file_bytes;	/* size of leases.spool */
};

/* Open (or create) the spool in dir and load its unacknowledged events.
 * max_events <= 0 selects the default (10000).  NULL with *cause. */
struct lease_spool *lease_spool_open(const char *dir, int max_events,
	    char **cause);
/* Flush pending writes (fsync) and free.  NULL ok. */
void	lease_spool_close(struct lease_spool *);
/*
 * Append one event (copied).  The line is written at once but fsync'd
 * only by lease_spool_sync(): the service syncs once per loop turn, after
 * the whole burst of datagrams it read, so a burst costs one fsync and a
 * power loss can lose at most that one turn's events.  -1 with *cause on
 * a write error (the event is then still queued in memory).
 */
int	lease_spool_append(struct lease_spool *, const struct lease_event *,
	    char **cause);
/* fsync the spool if anything was appended since the last sync. */
int	lease_spool_sync(struct lease_spool *, char **cause);
/*
 * Copy up to max of the oldest unacknowledged events to out (and their
 * seqs to seqs, may be NULL), in order.  Returns how many.
 */
size_t	lease_spool_peek(const struct lease_spool *, struct lease_event *out,
	    uint64_t *seqs, size_t max);
/*
 * Acknowledge every event with seq <= through, durably (the ack file is
 * replaced and fsync'd before this returns).  Seqs already gone (acked or
 * dropped) are fine.  May compact.  -1 with *cause on an I/O error (the
 * events are then acked in memory only and come back after a restart).
 */
int	lease_spool_ack(struct lease_spool *, uint64_t through, char **cause);
/*
 * Import a fallback file written by rackd-lease-hook (plain event lines):
 * rename it to path.importing (so hooks start a new one), wait for any
 * hook still holding its lock, append each valid line, sync, unlink it.
 * A leftover path.importing from a crash is imported first.  Bad lines
 * are skipped with a warning.  *imported (may be NULL) gets the count.
 * 0 when there was nothing to import; -1 with *cause on an I/O error.
 */
int	lease_spool_import(struct lease_spool *, const char *path,
	    size_t *imported, char **cause);
void	lease_spool_stats(const struct lease_spool *, struct lease_spool_stats *);

/* --- the Kea side (lease_hookfile.c) -------------------------------- */
/*
 * Shared by the run_script program and the Kea hook library: both see a
 * lease as the same text fields (run_script's LEASE4_* variables are the
 * library's Lease4 members printed the same way).
 */
struct lease_fields {
	enum lease_action	 action;
	enum lease_family	 family;	/* the family the hook expects */
	const char		*address;	/* NULL or "" = missing */
	const char		*hwaddr;	/* "xx:xx:..."; NULL/"" = missing */
	const char		*cltt;		/* decimal; NULL/"" = now */
	const char		*valid_lifetime; /* decimal; commit only */
	const char		*hostname;	/* NULL/"" = none */
	const char		*state;		/* "default", "declined", ... */
	const char		*type;		/* v6: "IA_NA", "IA_PD", ... */
};

/*
 * Pure: one event from one lease's fields.  The rules of today's hook:
 * a commit counts only in state "default" (a declined lease is also
 * "committed"), a v6 lease only as IA_NA; an unusable hostname is
 * dropped, the lease kept.  Returns 0 with *ev filled, 1 to skip quietly
 * (not a lease MAAS tracks), -1 with a malloc'd *cause that starts with
 * the run_script name of the bad field ("HWADDR missing for 10.0.0.5").
 */
int	lease_event_from_fields(const struct lease_fields *,
	    struct lease_event *ev, char **cause);

/* Encoded events, one "<JSON>\n" line each, in one buffer for one write. */
struct lease_lines {
	char	*buf;
	size_t	 len, cap, n;
};
/* Append ev (valid: built by lease_event_from_fields) to ll. */
void	lease_lines_add(struct lease_lines *, const struct lease_event *);
void	lease_lines_free(struct lease_lines *);

/* The hook spool file stops growing beyond this (rackd not importing). */
#define LEASE_HOOKFILE_MAX	(64L << 20)

/*
 * Append buf[0..len) (whole lines) to the hook spool file at path, under
 * its lock, in one write; then, when nudge_sock is set, nudge rackd there
 * (lease_hookfile_nudge) and fdatasync only if that fails (rackd absent:
 * nobody imports the file soon); with nudge_sock NULL always fdatasync.
 * The lock covers the write only and is tried for about 200 ms, then the
 * write goes ahead without it.  Thread-safe (each call opens its own
 * descriptor).  0, or -1 with *cause (the lines may then be lost: say
 * so).
 */
int	lease_hookfile_append(const char *path, const char *buf, size_t len,
	    const char *nudge_sock, char **cause);
/*
 * An empty datagram to rackd's lease socket, never blocking: "import the
 * hook spool file now".  0 when rackd has it (or has nudges queued), -1
 * when nobody listens.
 */
int	lease_hookfile_nudge(const char *sock_path);

/* --- the service (leases.c) ----------------------------------------- */
#define LEASES_SOCKET_NAME	"lease.sock"		/* in run_dir */
#define LEASES_SPOOL_DIR	"dhcp"			/* in data_dir */
#define LEASES_HOOK_SPOOL_NAME	"lease-hook.spool"	/* in data_dir/dhcp */

struct leases;

struct leases_stats {
	uint64_t	received;	/* valid datagrams */
	uint64_t	rejected;	/* invalid datagrams */
	uint64_t	imported;	/* events from the hook's fallback file */
	uint64_t	spooled;	/* appended to the spool */
	uint64_t	sent;		/* acknowledged by the region */
	uint64_t	refused;	/* in batches the region failed */
	uint64_t	dropped;	/* oldest dropped by the spool bound */
	size_t		pending;	/* in the spool, not yet acknowledged */
	int		inflight;	/* a batch is out */
};

/* Same contract as region_call(), with the pool replaced by send_arg. */
typedef uint64_t (*leases_send_fn)(void *send_arg, const char *command,
	    struct amp_box *args, unsigned flags, int timeout_ms,
	    region_call_cb cb, void *cb_arg);

/*
 * Start the service: make <data_dir>/dhcp, open the spool there
 * (leases.spool, bounded by spool_max, <= 0 = default), import
 * <data_dir>/dhcp/lease-hook.spool, bind the datagram socket
 * <run_dir>/lease.sock (mode 0660, a stale socket is replaced) and start
 * sending whatever is pending.  pool may be NULL when a send hook is set
 * with leases_set_send() (tests).  Strings are copied.  NULL with *cause.
 */
struct leases *leases_new(struct event_base *, struct region_pool *,
	    const char *run_dir, const char *data_dir, int spool_max,
	    char **cause);
/*
 * Replace region_call (tests): fn(send_arg, ...) is called for each batch
 * and must call cb exactly once, later, never from inside fn.  uuid is
 * the cluster_uuid to send when pool is NULL (copied; NULL = "").
 */
void	leases_set_send(struct leases *, leases_send_fn fn, void *send_arg,
	    const char *uuid);
/* A region connection came up: retry a failed batch now. */
void	leases_region_up(struct leases *);
void	leases_stats(const struct leases *, struct leases_stats *);
/* The event time (epoch s) of the oldest unacknowledged event: 0, or -1
 * when the spool is empty. */
int	leases_oldest_pending(const struct leases *, long long *timestamp);
/* The socket path (for the wrapper script and tests); owned by l. */
const char *leases_socket_path(const struct leases *);
/* The hook's fallback file path (for the wrapper script); owned by l. */
const char *leases_hook_spool_path(const struct leases *);
/*
 * Stop: close and unlink the socket, sync and close the spool, free.  A
 * batch still in flight is forgotten (its callback, when it comes, does
 * nothing) and is sent again by the next leases_new().  NULL ok.
 */
void	leases_free(struct leases *);

#endif
