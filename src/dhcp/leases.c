/*
 * leases.c — the lease reporting service: the hook library's spool file
 * and nudges, or rackd-lease-hook datagrams, on <run_dir>/lease.sock ->
 * the spool in <data_dir>/dhcp -> UpdateLeases.
 *
 * MAAS's LeaseSocketService keeps notifications in memory and drops a
 * batch when no region answers within 30 s; here every event is spooled
 * to disk first and acknowledged only when the region answered the call
 * that carried it, so neither a region outage nor a rackd restart loses
 * leases (up to the spool bound, which drops the oldest).
 *
 * Batching follows MAAS: one call in flight at a time, and a batch ends
 * before the first IP already in it, so updates of one IP reach the
 * region in order and never concurrently.  A batch the region fails with
 * an AMP error is logged and acknowledged: the region read it and said
 * no (its update_leases already swallows per-lease failures, so such an
 * error means the whole call is unacceptable and resending cannot help).
 * Anything else (no region, timeout, lost connection) keeps the batch and
 * retries it after LEASES_RETRY_MS, or at once on leases_region_up().
 *
 * The hook library always writes <data_dir>/dhcp/lease-hook.spool and
 * sends an empty datagram (a nudge) on which that file is imported at
 * once; the run_script program falls back to the file when the socket is
 * missing or full.  The file is also imported at start and whenever the
 * once-a-second tick sees it (a nudge lost while rackd was down).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "leases.h"
#include "log.h"
#include "region.h"
#include "xmalloc.h"

#define LEASES_RECV_BURST	256	/* datagrams per loop turn */
#define LEASES_RCVBUF		(1 << 20)
#define LEASES_RETRY_MS		5000
#define LEASES_TICK_MS		1000
#define LEASES_CALL_TIMEOUT_MS	30000
#define LEASES_REJECT_LOG	10	/* then every 1000th */

/* The batch in flight.  Outlives its service if leases_free() comes
 * first: the callback then only frees it. */
struct leases_call {
	struct leases	*l;
	uint64_t	 through;	/* last seq in the batch */
	size_t		 n;
};

struct leases {
	struct event_base	*base;
	struct region_pool	*pool;
	char			*sock_path;
	char			*spool_dir;
	char			*hook_spool;
	int			 fd;
	struct event		*ev_read;
	struct event		*ev_tick;
	struct event		*ev_retry;
	struct lease_spool	*spool;

	leases_send_fn		 send;
	void			*send_arg;
	char			*uuid;

	struct leases_call	*inflight;
	int			 backoff;	/* ev_retry armed after a failure */
	int			 failures;	/* in a row */
	struct lease_event	 batch[LEASE_BATCH_MAX];
	uint64_t		 seqs[LEASE_BATCH_MAX];

	uint64_t		 received, rejected, imported, sent, refused;
};

static void	leases_kick(struct leases *);

static uint64_t
send_region(void *arg, const char *command, struct amp_box *args,
    unsigned flags, int timeout_ms, region_call_cb cb, void *cb_arg)
{
	return region_call(arg, command, args, flags, timeout_ms, cb, cb_arg);
}

static void
retry_in(struct leases *l, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(l->ev_retry, &tv);
}

static void
call_done(const struct region_call_result *res, void *arg)
{
	struct leases_call *c = arg;
	struct leases *l = c->l;
	char *cause = NULL;

	if (l == NULL) {
		free(c);
		return;
	}
	l->inflight = NULL;
	switch (res->status) {
	case REGION_CALL_OK:
		l->sent += c->n;
		if (l->failures > 0)
			log_info("leases: region reachable again, sending "
			    "lease updates");
		l->failures = 0;
		break;
	case REGION_CALL_REMOTE_ERROR:
		log_warnx("leases: region refused UpdateLeases with %zu "
		    "update(s): %s: %s; dropping them", c->n,
		    res->error_code != NULL ? res->error_code : "?",
		    res->error_description != NULL ?
		    res->error_description : "");
		l->refused += c->n;
		l->failures = 0;
		break;
	default:
		if (l->failures++ == 0 || l->failures % 60 == 0)
			log_info("leases: %zu lease update(s) not delivered "
			    "(%s); kept in the spool", c->n,
			    region_call_status_name(res->status));
		free(c);
		l->backoff = 1;
		/* Cancelled: the pool is shutting down; only
		 * leases_region_up() restarts sending. */
		if (res->status != REGION_CALL_CANCELLED)
			retry_in(l, LEASES_RETRY_MS);
		return;
	}
	if (lease_spool_ack(l->spool, c->through, &cause) == -1) {
		log_warnx("leases: %s", cause);
		free(cause);
	}
	free(c);
	leases_kick(l);
}

/* Send the next batch unless one is out or we are backing off. */
static void
leases_kick(struct leases *l)
{
	struct leases_call *c;
	struct amp_box *args;
	const char *uuid;
	char *cause = NULL;
	size_t n, k;

	while (l->inflight == NULL && !l->backoff) {
		n = lease_spool_peek(l->spool, l->batch, l->seqs,
		    LEASE_BATCH_MAX);
		if (n == 0)
			return;
		k = lease_batch_take(l->batch, n, LEASE_BATCH_MAX);
		uuid = l->pool != NULL ? region_pool_system_id(l->pool) :
		    l->uuid;
		if ((args = lease_batch_args(uuid, l->batch, k,
		    &cause)) == NULL) {
			/* Validated events always encode; do not wedge the
			 * queue if one somehow does not. */
			log_warnx("leases: dropping %zu lease update(s): %s",
			    k, cause);
			free(cause);
			cause = NULL;
			l->refused += k;
			if (lease_spool_ack(l->spool, l->seqs[k - 1],
			    &cause) == -1) {
				log_warnx("leases: %s", cause);
				free(cause);
				return;
			}
			continue;
		}
		c = xcalloc(1, sizeof(*c));
		c->l = l;
		c->through = l->seqs[k - 1];
		c->n = k;
		l->inflight = c;
		/* Idempotent: a resend after a lost connection repeats the
		 * same updates in the same order before any later batch. */
		l->send(l->send_arg, "UpdateLeases", args,
		    REGION_CALL_IDEMPOTENT | REGION_CALL_NOQUEUE,
		    LEASES_CALL_TIMEOUT_MS, call_done, c);
	}
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct leases *l = arg;

	l->backoff = 0;
	leases_kick(l);
}

/* quiet: a nudge's import (one per burst of leases) is not news. */
static void
import_hook_spool(struct leases *l, int quiet)
{
	char *cause = NULL;
	size_t n = 0;
	struct stat st;

	if (stat(l->hook_spool, &st) == -1) {
		char *imp;
		int have;

		xasprintf(&imp, "%s.importing", l->hook_spool);
		have = stat(imp, &st) == 0;
		free(imp);
		if (!have)
			return;
	}
	if (lease_spool_import(l->spool, l->hook_spool, &n, &cause) == -1) {
		log_warnx("leases: importing the hook's spool: %s", cause);
		free(cause);
	}
	if (n > 0 && !quiet)
		log_info("leases: imported %zu lease event(s) from %s", n,
		    l->hook_spool);
	else if (n > 0)
		log_debug("leases: imported %zu lease event(s) from %s", n,
		    l->hook_spool);
	l->imported += n;
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct leases *l = arg;

	import_hook_spool(l, 0);
	leases_kick(l);
}

static void
read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct leases *l = arg;
	struct lease_event ev;
	char buf[LEASE_LINE_MAX + 1], *cause = NULL;
	ssize_t n;
	int i, nudged = 0;

	for (i = 0; i < LEASES_RECV_BURST; i++) {
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("leases: recv %s", l->sock_path);
			break;
		}
		if (n == 0) {
			/* The hook library's nudge: its events are in the
			 * hook spool file. */
			nudged = 1;
			continue;
		}
		/* MSG_TRUNC reports the real length: an over-long datagram
		 * fails the length check instead of parsing a prefix. */
		if (lease_event_parse(buf, (size_t)n < sizeof(buf) ?
		    (size_t)n : sizeof(buf), &ev, &cause) == -1) {
			l->rejected++;
			if (l->rejected <= LEASES_REJECT_LOG ||
			    l->rejected % 1000 == 0)
				log_warnx("leases: ignoring a bad lease event "
				    "(%llu so far): %s",
				    (unsigned long long)l->rejected, cause);
			free(cause);
			cause = NULL;
			continue;
		}
		l->received++;
		if (lease_spool_append(l->spool, &ev, &cause) == -1) {
			log_warnx("leases: %s", cause);
			free(cause);
			cause = NULL;
		}
	}
	/* After the datagrams read with it: a script-mode event that was
	 * sent before the library's file got its line stays first.  The
	 * import syncs the spool itself. */
	if (nudged)
		import_hook_spool(l, 1);
	/* One fsync per loop turn for the whole burst. */
	if (lease_spool_sync(l->spool, &cause) == -1) {
		log_warnx("leases: %s", cause);
		free(cause);
	}
	leases_kick(l);
}

static int
bind_socket(struct leases *l, char **cause)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd, sz = LEASES_RCVBUF;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(l->sock_path) >= sizeof(sun.sun_path)) {
		xasprintf(cause, "socket path %s is too long", l->sock_path);
		return -1;
	}
	memcpy(sun.sun_path, l->sock_path, strlen(l->sock_path));
	if (lstat(l->sock_path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			xasprintf(cause, "%s exists and is not a socket",
			    l->sock_path);
			return -1;
		}
		/* Left by a rackd that did not stop cleanly. */
		if (unlink(l->sock_path) == -1) {
			xasprintf(cause, "unlink %s: %s", l->sock_path,
			    strerror(errno));
			return -1;
		}
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		xasprintf(cause, "socket: %s", strerror(errno));
		return -1;
	}
	/* Room for a burst of leases while the loop is busy; the hook
	 * falls back to its file when even this is full. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		xasprintf(cause, "bind %s: %s", l->sock_path, strerror(errno));
		close(fd);
		return -1;
	}
	if (chmod(l->sock_path, 0660) == -1) {
		xasprintf(cause, "chmod %s: %s", l->sock_path, strerror(errno));
		close(fd);
		unlink(l->sock_path);
		return -1;
	}
	l->fd = fd;
	return 0;
}

struct leases *
leases_new(struct event_base *base, struct region_pool *pool,
    const char *run_dir, const char *data_dir, int spool_max, char **cause)
{
	struct leases *l;
	struct timeval tick = { LEASES_TICK_MS / 1000, 0 };

	l = xcalloc(1, sizeof(*l));
	l->base = base;
	l->pool = pool;
	l->fd = -1;
	l->send = send_region;
	l->send_arg = pool;
	l->uuid = xstrdup("");
	xasprintf(&l->sock_path, "%s/%s", run_dir, LEASES_SOCKET_NAME);
	xasprintf(&l->spool_dir, "%s/%s", data_dir, LEASES_SPOOL_DIR);
	xasprintf(&l->hook_spool, "%s/%s", l->spool_dir,
	    LEASES_HOOK_SPOOL_NAME);

	if ((l->spool = lease_spool_open(l->spool_dir, spool_max,
	    cause)) == NULL)
		goto fail;
	/* Before the socket: what the hook wrote while rackd was down is
	 * older than anything the socket will bring. */
	import_hook_spool(l, 0);
	if (bind_socket(l, cause) == -1)
		goto fail;
	l->ev_read = event_new(base, l->fd, EV_READ | EV_PERSIST, read_cb, l);
	l->ev_tick = event_new(base, -1, EV_PERSIST, tick_cb, l);
	l->ev_retry = evtimer_new(base, retry_cb, l);
	if (l->ev_read == NULL || l->ev_tick == NULL || l->ev_retry == NULL)
		fatalx("%s: event_new failed", __func__);
	event_add(l->ev_read, NULL);
	event_add(l->ev_tick, &tick);
	/* The first send waits for the loop, so a caller (or a test) can
	 * still set the send hook. */
	retry_in(l, 0);
	return l;
fail:
	leases_free(l);
	return NULL;
}

void
leases_set_send(struct leases *l, leases_send_fn fn, void *send_arg,
    const char *uuid)
{
	l->send = fn != NULL ? fn : send_region;
	l->send_arg = fn != NULL ? send_arg : l->pool;
	free(l->uuid);
	l->uuid = xstrdup(uuid != NULL ? uuid : "");
}

void
leases_region_up(struct leases *l)
{
	if (l->inflight != NULL)
		return;
	/* Deferred to the loop: this is called from the pool's callbacks. */
	evtimer_del(l->ev_retry);
	l->backoff = 0;
	retry_in(l, 0);
}

void
leases_stats(const struct leases *l, struct leases_stats *st)
{
	struct lease_spool_stats ss;

	memset(st, 0, sizeof(*st));
	lease_spool_stats(l->spool, &ss);
	st->received = l->received;
	st->rejected = l->rejected;
	st->imported = l->imported;
	st->spooled = ss.appended;
	st->sent = l->sent;
	st->refused = l->refused;
	st->dropped = ss.dropped;
	st->pending = ss.pending;
	st->inflight = l->inflight != NULL;
}

const char *
leases_socket_path(const struct leases *l)
{
	return l->sock_path;
}

const char *
leases_hook_spool_path(const struct leases *l)
{
	return l->hook_spool;
}

void
leases_free(struct leases *l)
{
	if (l == NULL)
		return;
	if (l->inflight != NULL)
		l->inflight->l = NULL;
	if (l->ev_read != NULL)
		event_free(l->ev_read);
	if (l->ev_tick != NULL)
		event_free(l->ev_tick);
	if (l->ev_retry != NULL)
		event_free(l->ev_retry);
	if (l->fd != -1) {
		close(l->fd);
		unlink(l->sock_path);
	}
	lease_spool_close(l->spool);
	free(l->sock_path);
	free(l->spool_dir);
	free(l->hook_spool);
	free(l->uuid);
	free(l);
}

int
leases_oldest_pending(const struct leases *l, long long *timestamp)
{
	struct lease_event ev;

	if (l == NULL || l->spool == NULL ||
	    lease_spool_peek(l->spool, &ev, NULL, 1) != 1)
		return -1;
	*timestamp = ev.timestamp;
	return 0;
}
