/*
 * region_conn.c — one AMP connection to one region event loop.
 *
 * The state machine (region.h) lives here: TCP connect through the event
 * loop's addresses in order, then the MAAS 3.4 handshake — both sides send
 * Authenticate at once (we must answer the region's while ours is out),
 * then RegisterRackController — then Ping for liveness.  Every phase has a
 * deadline; a silent or misbehaving region costs us a bounded time and the
 * connection goes to BACKOFF with capped, jittered exponential delay.
 *
 * Framing: AMP has no outer length, so the read callback decodes whole
 * boxes from the front of the input buffer with the pure codec, which
 * enforces the box limits while scanning (a hostile peer cannot make us
 * buffer without bound).
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "amp.h"
#include "log.h"
#include "netif.h"
#include "region_private.h"
#include "xmalloc.h"

#define REGION_MAX_OUTPUT	(16u << 20)	/* unsent bytes before we give up */
#define REGION_BACKOFF_BASE_MS	500
#define REGION_STABLE_MS	10000		/* uptime that resets the backoff */
#define REGION_MAX_HELD		64		/* region commands held before auth */

static void	conn_read_cb(struct bufferevent *, void *);
static void	conn_event_cb(struct bufferevent *, short, void *);
static void	conn_try_address(struct region_conn *);
static void	conn_send_authenticate(struct region_conn *);

static const char *const region_state_names[] = {
	[REGION_IDLE] = "idle",
	[REGION_CONNECTING] = "connecting",
	[REGION_AUTHENTICATING] = "authenticating",
	[REGION_REGISTERING] = "registering",
	[REGION_ESTABLISHED] = "established",
	[REGION_BACKOFF] = "backoff",
};

const char *
region_state_name(enum region_state s)
{
	if ((size_t)s < RACKD_NELEM(region_state_names))
		return region_state_names[s];
	return "?";
}

/* The single place state changes, so every transition is logged. */
static void
conn_set_state(struct region_conn *c, enum region_state s, const char *why)
{
	if (c->state == s)
		return;
	log_debug("region %s (%s): %s -> %s (%s)", c->name, c->peer,
	    region_state_name(c->state), region_state_name(s), why);
	c->state = s;
	region_pool_update_stats(c->pool);
}

/*
 * Log a problem once: the same text for the same connection is logged
 * at debug level afterwards, so a region that stays down does not flood
 * the journal with one line per second.
 */
static void
conn_problem(struct region_conn *c, int prio, const char *msg)
{
	const char *fields[3];
	char f1[256], f2[128];

	snprintf(f1, sizeof f1, "REGION_EVENTLOOP=%s", c->name);
	snprintf(f2, sizeof f2, "REGION_PEER=%s", c->peer);
	fields[0] = f1;
	fields[1] = f2;
	fields[2] = NULL;
	free(c->last_error);
	c->last_error = xstrdup(msg);
	c->last_error_ms = rackd_now_ms();
	if (c->last_problem != NULL && strcmp(c->last_problem, msg) == 0) {
		log_fields(LOG_DEBUG, fields, "region %s (%s): %s", c->name,
		    c->peer, msg);
		return;
	}
	free(c->last_problem);
	c->last_problem = xstrdup(msg);
	log_fields(prio, fields, "region %s (%s): %s", c->name, c->peer, msg);
}

struct region_conn *
region_conn_new(struct region_pool *pool, const struct disc_eventloop *el)
{
	struct region_conn *c = xcalloc(1, sizeof *c);
	const char *colon;

	c->pool = pool;
	c->name = xstrdup(el->name);
	colon = strstr(el->name, ":pid=");
	c->region_host = colon ? xstrndup(el->name, (size_t)(colon - el->name))
	    : xstrdup(el->name);
	c->state = REGION_IDLE;
	c->rtt_ms = -1;
	TAILQ_INIT(&c->inflight);
	TAILQ_INIT(&c->requests);
	region_conn_set_addrs(c, el);
	snprintf(c->peer, sizeof c->peer, "-");
	return c;
}

static void
free_addrs(struct disc_addr *a, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(a[i].host);
	free(a);
}

/* Compare two address texts as addresses (IPv4 == its v4-mapped form). */
static int
addr_equal(const char *a, const char *b)
{
	uint8_t x[16], y[16];
	struct in_addr v4;

	memset(x, 0, sizeof x);
	memset(y, 0, sizeof y);
	if (inet_pton(AF_INET6, a, x) != 1) {
		if (inet_pton(AF_INET, a, &v4) != 1)
			return strcmp(a, b) == 0;
		x[10] = x[11] = 0xff;
		memcpy(x + 12, &v4, 4);
	}
	if (inet_pton(AF_INET6, b, y) != 1) {
		if (inet_pton(AF_INET, b, &v4) != 1)
			return 0;
		y[10] = y[11] = 0xff;
		memcpy(y + 12, &v4, 4);
	}
	return memcmp(x, y, 16) == 0;
}

int
region_conn_set_addrs(struct region_conn *c, const struct disc_eventloop *el)
{
	struct disc_addr *na;
	size_t i, keep = (size_t)-1;
	int vanished = 0;

	na = xcalloc(el->naddrs ? el->naddrs : 1, sizeof *na);
	for (i = 0; i < el->naddrs; i++) {
		na[i].host = xstrdup(el->addrs[i].host);
		na[i].port = el->addrs[i].port;
	}
	if (c->addrs != NULL && c->state != REGION_IDLE &&
	    c->state != REGION_BACKOFF && c->addr_idx < c->naddrs) {
		for (i = 0; i < el->naddrs; i++) {
			if (na[i].port == c->addrs[c->addr_idx].port &&
			    addr_equal(na[i].host, c->addrs[c->addr_idx].host))
				keep = i;
		}
		if (keep == (size_t)-1)
			vanished = 1;
	}
	free_addrs(c->addrs, c->naddrs);
	c->addrs = na;
	c->naddrs = el->naddrs;
	c->addr_idx = keep == (size_t)-1 ? 0 : keep;
	return vanished;
}

/* Fail everything open on this connection; calls go back to the pool. */
static void
conn_teardown(struct region_conn *c)
{
	struct region_call_list orphans;
	struct region_call *call;
	struct region_request *req;

	c->gen++;
	if (c->bev != NULL) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	if (c->ping_timer != NULL)
		event_del(c->ping_timer);
	if (c->timer != NULL)
		event_del(c->timer);
	c->ping_outstanding = 0;
	c->region_verified = 0;
	/* Not ESTABLISHED any more before calls are re-routed below. */
	conn_set_state(c, REGION_IDLE, "closed");

	while ((req = TAILQ_FIRST(&c->requests)) != NULL) {
		TAILQ_REMOVE(&c->requests, req, entry);
		req->conn = NULL;
		if (!req->dispatched)
			region_request_free(req);
	}

	/* Internal calls die with the connection; others are the pool's. */
	TAILQ_INIT(&orphans);
	while ((call = TAILQ_FIRST(&c->inflight)) != NULL) {
		TAILQ_REMOVE(&c->inflight, call, entry);
		call->conn = NULL;
		if (call->internal != NULL) {
			region_call_free(call);
			continue;
		}
		TAILQ_INSERT_TAIL(&orphans, call, entry);
	}
	region_pool_conn_lost(c->pool, c, &orphans);
}

static void
conn_timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct region_conn *c = arg;

	switch (c->state) {
	case REGION_BACKOFF:
	case REGION_IDLE:
		region_conn_start(c);
		break;
	case REGION_CONNECTING:
		{
			char msg[128];

			snprintf(msg, sizeof msg, "TCP connect timed out after %d ms",
			    c->pool->p.connect_timeout_ms);
			conn_problem(c, LOG_WARNING, msg);
		}
		if (c->bev != NULL) {
			bufferevent_free(c->bev);
			c->bev = NULL;
		}
		c->addr_idx++;
		conn_try_address(c);
		break;
	case REGION_AUTHENTICATING:
	case REGION_REGISTERING:
		region_conn_close(c, 1, LOG_WARNING,
		    "handshake did not complete within %d ms (stuck %s)",
		    c->pool->p.handshake_timeout_ms, region_state_name(c->state));
		break;
	case REGION_ESTABLISHED:
		break;
	}
}

static void
conn_arm_timer(struct region_conn *c, int ms)
{
	struct timeval tv;

	if (c->timer == NULL)
		c->timer = evtimer_new(c->pool->base, conn_timer_cb, c);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(c->timer, &tv);
}

/* Capped exponential backoff with full jitter in [d/2, d]. */
static int
conn_backoff_ms(struct region_conn *c)
{
	unsigned shift = c->failures > 16 ? 16 : c->failures;
	uint64_t d = (uint64_t)REGION_BACKOFF_BASE_MS << shift;
	uint32_t r;

	if (d > (uint64_t)c->pool->p.backoff_max_ms)
		d = (uint64_t)c->pool->p.backoff_max_ms;
	auth_random((uint8_t *)&r, sizeof r);
	return (int)(d / 2 + (d / 2) * (r / 4294967296.0));
}

void
region_conn_close(struct region_conn *c, int backoff, int prio,
    const char *fmt, ...)
{
	va_list ap;
	char *msg;
	enum region_state was = c->state;
	uint64_t now = rackd_now_ms();

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);

	if (was == REGION_ESTABLISHED && c->established_ms != 0 &&
	    now - c->established_ms >= REGION_STABLE_MS)
		c->failures = 0;
	if (was == REGION_ESTABLISHED) {
		/* Always worth a line: we had it and lost it. */
		free(c->last_problem);
		c->last_problem = NULL;
	}
	if (prio >= 0)
		conn_problem(c, prio, msg);
	free(msg);

	conn_teardown(c);
	c->established_ms = 0;
	if (!backoff || c->removed || c->pool->shutting_down) {
		conn_set_state(c, REGION_IDLE, "closed");
		return;
	}
	/* backoff == 2: an authentication failure, which will not fix itself
	 * in milliseconds; start the backoff seconds out. */
	if (backoff == 2 && c->failures < 3)
		c->failures = 3;
	c->failures++;
	conn_set_state(c, REGION_BACKOFF, "closed");
	conn_arm_timer(c, conn_backoff_ms(c));
}

void
region_conn_free(struct region_conn *c)
{
	struct region_call *call;

	if (c == NULL)
		return;
	if (c->bev != NULL || !TAILQ_EMPTY(&c->inflight) ||
	    !TAILQ_EMPTY(&c->requests))
		conn_teardown(c);
	while ((call = TAILQ_FIRST(&c->inflight)) != NULL) {
		TAILQ_REMOVE(&c->inflight, call, entry);
		region_call_free(call);
	}
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->ping_timer != NULL)
		event_free(c->ping_timer);
	free_addrs(c->addrs, c->naddrs);
	free(c->name);
	free(c->region_host);
	free(c->last_problem);
	free(c->last_error);
	free(c);
}

/* Build a sockaddr from an advertised literal address. */
static int
make_sockaddr(const char *host, uint16_t port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*len = sizeof *s4;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof *s6;
		return 0;
	}
	return -1;
}

/*
 * Keepalive and TCP_USER_TIMEOUT bound how long the kernel keeps a dead
 * peer's connection; Ping (which catches a stopped process whose kernel
 * still ACKs) is the primary check, these catch a vanished host even
 * while our pings sit unacknowledged in the send queue.
 */
static void
conn_tune_socket(int fd, int liveness_ms)
{
	int one = 1, idle, intvl, cnt = 3;
	unsigned int uto = (unsigned int)liveness_ms;

	idle = liveness_ms / 2000;
	if (idle < 1)
		idle = 1;
	intvl = idle;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &uto, sizeof uto);
}

static void
conn_try_address(struct region_conn *c)
{
	struct sockaddr_storage ss;
	socklen_t slen;
	struct disc_addr *a;
	int fd;

	for (; c->addr_idx < c->naddrs; c->addr_idx++) {
		a = &c->addrs[c->addr_idx];
		if (strchr(a->host, ':') != NULL)
			snprintf(c->peer, sizeof c->peer, "[%s]:%u", a->host,
			    a->port);
		else
			snprintf(c->peer, sizeof c->peer, "%s:%u", a->host,
			    a->port);
		if (make_sockaddr(a->host, a->port, &ss, &slen) == -1)
			continue;
		fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (fd == -1) {
			char msg[160];

			snprintf(msg, sizeof msg, "socket: %s", strerror(errno));
			conn_problem(c, LOG_WARNING, msg);
			continue;
		}
		conn_tune_socket(fd, c->pool->p.liveness_timeout_ms);
		c->bev = bufferevent_socket_new(c->pool->base, fd,
		    BEV_OPT_CLOSE_ON_FREE);
		if (c->bev == NULL) {
			close(fd);
			continue;
		}
		bufferevent_setcb(c->bev, conn_read_cb, NULL, conn_event_cb, c);
		if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&ss,
		    (int)slen) == -1) {
			char msg[160];

			snprintf(msg, sizeof msg, "connect: %s", strerror(errno));
			conn_problem(c, LOG_WARNING, msg);
			bufferevent_free(c->bev);
			c->bev = NULL;
			continue;
		}
		conn_set_state(c, REGION_CONNECTING, "trying address");
		conn_arm_timer(c, c->pool->p.connect_timeout_ms);
		return;
	}
	/* Every address failed. */
	c->addr_idx = 0;
	c->failures++;
	conn_set_state(c, REGION_BACKOFF, "no address reachable");
	conn_arm_timer(c, conn_backoff_ms(c));
}

void
region_conn_start(struct region_conn *c)
{
	if (c->state != REGION_IDLE && c->state != REGION_BACKOFF)
		return;
	if (c->timer != NULL)
		event_del(c->timer);
	if (c->naddrs == 0) {
		conn_problem(c, LOG_WARNING, "event loop advertises no address");
		return;
	}
	c->addr_idx = 0;
	conn_try_address(c);
}

/* --- writing -------------------------------------------------------- */

static int
conn_write_box(struct region_conn *c, const struct amp_box *box)
{
	struct bytes b;
	char *cause = NULL;
	struct evbuffer *out;

	if (c->bev == NULL)
		return -1;
	bytes_init(&b);
	if (amp_box_encode(box, &b, &cause) == -1) {
		log_warnx("region %s: cannot encode box: %s", c->name, cause);
		free(cause);
		bytes_free(&b);
		return -1;
	}
	out = bufferevent_get_output(c->bev);
	if (evbuffer_get_length(out) + b.len > REGION_MAX_OUTPUT) {
		bytes_free(&b);
		region_conn_close(c, 1, LOG_WARNING,
		    "region is not reading (%zu bytes unsent); dropping",
		    evbuffer_get_length(out));
		return -1;
	}
	evbuffer_add(out, b.data, b.len);
	bytes_free(&b);
	return 0;
}

void
region_conn_send_call(struct region_conn *c, struct region_call *call)
{
	struct amp_box *box;

	snprintf(call->tag, sizeof call->tag, "%llx",
	    (unsigned long long)++c->next_tag);
	box = amp_command_new(call->command, call->tag);
	if (call->args != NULL)
		amp_box_merge(box, call->args);
	call->conn = c;
	TAILQ_INSERT_TAIL(&c->inflight, call, entry);
	if (log_get_debug()) {
		char *d = amp_box_describe(box);

		log_debug("region %s: -> %s", c->name, d);
		free(d);
	}
	conn_write_box(c, box);
	amp_box_free(box);
}

void
region_conn_forget_call(struct region_conn *c, struct region_call *call)
{
	TAILQ_REMOVE(&c->inflight, call, entry);
	call->conn = NULL;
}

static void
conn_send_answer(struct region_conn *c, struct amp_box *box)
{
	if (log_get_debug()) {
		char *d = amp_box_describe(box);

		log_debug("region %s: -> %s", c->name, d);
		free(d);
	}
	conn_write_box(c, box);
}

/* --- requests from the region --------------------------------------- */

void
region_request_free(struct region_request *req)
{
	if (req == NULL)
		return;
	free(req->tag);
	free(req->command);
	free(req->loop);
	amp_box_free(req->args);
	free(req);
}

static void
request_finish(struct region_request *req, struct amp_box *box)
{
	struct region_conn *c = req->conn;

	if (req->done != NULL)
		req->done(box, req->done_arg);
	if (c != NULL) {
		TAILQ_REMOVE(&c->requests, req, entry);
		if (req->tag != NULL && c->bev != NULL)
			conn_send_answer(c, box);
	} else if (req->tag != NULL && req->done == NULL)
		log_debug("region: answer to %s dropped: connection gone",
		    req->command);
	amp_box_free(box);
	region_request_free(req);
}

void
region_request_answer(struct region_request *req, struct amp_box *answer)
{
	struct amp_box *box = amp_answer_new(req->tag ? req->tag : "");

	if (answer != NULL) {
		amp_box_merge(box, answer);
		amp_box_free(answer);
	}
	request_finish(req, box);
}

void
region_request_error(struct region_request *req, const char *code,
    const char *description)
{
	request_finish(req, amp_error_new(req->tag ? req->tag : "", code,
	    description));
}

struct region_request *
region_request_new_local(const char *command, const char *loop,
    region_request_done_cb done, void *arg)
{
	struct region_request *req = xcalloc(1, sizeof *req);

	req->tag = xstrdup("local");
	req->command = xstrdup(command);
	req->loop = xstrdup(loop);
	req->args = amp_box_new();
	req->done = done;
	req->done_arg = arg;
	return req;
}

const char *
region_request_loop(const struct region_request *req)
{
	return req->loop;
}

const char *
region_request_peer(const struct region_request *req)
{
	return req->peer;
}

static void
conn_dispatch_request(struct region_conn *c, struct region_request *req)
{
	req->dispatched = 1;
	c->pool->cmd_cb(req, req->command, req->args, c->pool->cb_arg);
}

/* The region's Authenticate: prove we know the secret. */
static void
conn_answer_authenticate(struct region_conn *c, const char *tag,
    const struct amp_box *box)
{
	const struct amp_value *msg = amp_box_get(box, "message");
	uint8_t salt[AUTH_NONCE_LEN], digest[AUTH_DIGEST_LEN];
	struct amp_box *ans;

	if (tag == NULL)
		return;
	if (msg == NULL) {
		ans = amp_error_new(tag, "UNHANDLED",
		    "Authenticate without 'message'");
		conn_send_answer(c, ans);
		amp_box_free(ans);
		return;
	}
	auth_random(salt, sizeof salt);
	auth_digest(&c->pool->secret, msg->data, msg->len, salt, sizeof salt,
	    digest);
	ans = amp_answer_new(tag);
	amp_box_put(ans, "digest", digest, sizeof digest);
	amp_box_put(ans, "salt", salt, sizeof salt);
	conn_send_answer(c, ans);
	amp_box_free(ans);
}

static void
conn_handle_command(struct region_conn *c, struct amp_box *box)
{
	char *command = NULL, *tag = NULL, *cause = NULL;
	struct region_request *req;
	size_t held = 0;

	if (amp_box_get_str(box, "_command", &command, &cause) != 0) {
		region_conn_close(c, 1, LOG_WARNING,
		    "protocol error: bad _command: %s", cause ? cause : "?");
		free(cause);
		return;
	}
	if (amp_box_has(box, "_ask") &&
	    amp_box_get_str(box, "_ask", &tag, &cause) != 0) {
		free(command);
		region_conn_close(c, 1, LOG_WARNING,
		    "protocol error: bad _ask: %s", cause ? cause : "?");
		free(cause);
		return;
	}
	if (strcmp(command, "Authenticate") == 0) {
		conn_answer_authenticate(c, tag, box);
		free(command);
		free(tag);
		return;
	}

	req = xcalloc(1, sizeof *req);
	req->pool = c->pool;
	req->conn = c;
	req->tag = tag;
	req->command = command;
	req->loop = xstrdup(c->name);
	snprintf(req->peer, sizeof req->peer, "%s", c->peer);
	amp_box_del(box, "_command");
	amp_box_del(box, "_ask");
	req->args = amp_box_new();
	amp_box_merge(req->args, box);
	TAILQ_INSERT_TAIL(&c->requests, req, entry);

	if (!c->region_verified) {
		/*
		 * Like MAAS 3.4.4's SecuredRPCProtocol: nothing but
		 * Authenticate is served before the peer proved it knows the
		 * secret.  Held requests run once it has.
		 */
		struct region_request *r;

		TAILQ_FOREACH(r, &c->requests, entry)
			held++;
		if (held > REGION_MAX_HELD)
			region_conn_close(c, 1, LOG_WARNING,
			    "region sent %zu commands before authenticating",
			    held);
		return;
	}
	conn_dispatch_request(c, req);
}

static void
conn_release_held(struct region_conn *c)
{
	struct region_request *req, *next;
	uint64_t gen = c->gen;

	for (req = TAILQ_FIRST(&c->requests); req != NULL; req = next) {
		next = TAILQ_NEXT(req, entry);
		if (req->dispatched)
			continue;
		conn_dispatch_request(c, req);
		if (gen != c->gen)
			return;
	}
}

/* --- answers -------------------------------------------------------- */

static void
conn_handle_answer(struct region_conn *c, struct amp_box *box, int is_error)
{
	char *tag = NULL, *cause = NULL, *ecode = NULL, *edesc = NULL;
	struct region_call *call;

	if (amp_box_get_str(box, is_error ? "_error" : "_answer", &tag,
	    &cause) != 0) {
		region_conn_close(c, 1, LOG_WARNING,
		    "protocol error: bad answer tag: %s", cause ? cause : "?");
		free(cause);
		return;
	}
	TAILQ_FOREACH(call, &c->inflight, entry) {
		if (strcmp(call->tag, tag) == 0)
			break;
	}
	if (call == NULL) {
		/* Typically an answer that arrived after its call timed out. */
		log_debug("region %s: answer for unknown tag %s ignored",
		    c->name, tag);
		free(tag);
		return;
	}
	free(tag);
	TAILQ_REMOVE(&c->inflight, call, entry);
	call->conn = NULL;
	if (is_error) {
		if (amp_box_get_str(box, "_error_code", &ecode, NULL) != 0)
			ecode = xstrdup("UNKNOWN");
		if (amp_box_get_str(box, "_error_description", &edesc,
		    NULL) != 0)
			edesc = xstrdup("");
	} else {
		amp_box_del(box, "_answer");
	}
	if (call->internal != NULL) {
		region_internal_cb fn = call->internal;

		fn(c, call, is_error ? NULL : box, ecode, edesc,
		    is_error ? REGION_CALL_REMOTE_ERROR : REGION_CALL_OK);
		region_call_free(call);
	} else
		region_call_complete(call, is_error ? REGION_CALL_REMOTE_ERROR :
		    REGION_CALL_OK, is_error ? NULL : box, ecode, edesc, c->name);
	free(ecode);
	free(edesc);
}

static void
conn_dispatch_box(struct region_conn *c, struct amp_box *box)
{
	if (log_get_debug()) {
		char *d = amp_box_describe(box);

		log_debug("region %s: <- %s", c->name, d);
		free(d);
	}
	if (amp_box_has(box, "_answer"))
		conn_handle_answer(c, box, 0);
	else if (amp_box_has(box, "_error"))
		conn_handle_answer(c, box, 1);
	else if (amp_box_has(box, "_command"))
		conn_handle_command(c, box);
	else
		region_conn_close(c, 1, LOG_WARNING,
		    "protocol error: box with neither _command, _answer nor _error");
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct region_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct amp_limits lim = { 0, 0 };
	uint64_t gen = c->gen;

	for (;;) {
		size_t len = evbuffer_get_length(in), consumed = 0;
		struct amp_box *box = NULL;
		char *cause = NULL;
		enum amp_status st;
		const uint8_t *p;

		if (len < 2)
			return;
		p = evbuffer_pullup(in, (ssize_t)len);
		st = amp_box_decode(p, len, &lim, &box, &consumed, &cause);
		if (st == AMP_NEED_MORE)
			return;
		if (st == AMP_EBADMSG) {
			region_conn_close(c, 1, LOG_WARNING,
			    "protocol error from region: %s; dropping connection",
			    cause ? cause : "bad box");
			free(cause);
			return;
		}
		evbuffer_drain(in, consumed);
		conn_dispatch_box(c, box);
		amp_box_free(box);
		if (gen != c->gen)
			return;		/* closed while dispatching */
	}
}

/* --- handshake ------------------------------------------------------ */

static void
conn_ping_cb(evutil_socket_t fd, short ev, void *arg);

static void
conn_register_done(struct region_conn *c, struct region_call *call,
    const struct amp_box *answer, const char *ecode, const char *edesc,
    enum region_call_status st)
{
	char *sid = NULL, *uuid = NULL, *ver = NULL, *cause = NULL;
	struct timeval tv;
	int ms;

	if (st == REGION_CALL_TIMEOUT) {
		region_conn_close(c, 1, LOG_WARNING,
		    "RegisterRackController not answered in time");
		return;
	}
	if (st != REGION_CALL_OK) {
		region_conn_close(c, 1, LOG_ERR,
		    "rack controller REJECTED by the region: %s: %s",
		    ecode ? ecode : "?", edesc ? edesc : "");
		return;
	}
	if (amp_box_get_str(answer, "system_id", &sid, &cause) != 0 ||
	    sid[0] == '\0') {
		region_conn_close(c, 1, LOG_ERR,
		    "RegisterRackController answer without a valid system_id%s%s",
		    cause ? ": " : "", cause ? cause : "");
		free(cause);
		free(sid);
		return;
	}
	(void)amp_box_get_str(answer, "uuid", &uuid, NULL);
	(void)amp_box_get_str(answer, "version", &ver, NULL);
	region_pool_set_system_id(c->pool, sid, uuid, c->name);

	if (c->timer != NULL)
		event_del(c->timer);
	c->established_ms = rackd_now_ms();
	free(c->last_problem);
	c->last_problem = NULL;
	log_info("region %s (%s): registered as rack controller %s (region "
	    "version %s)", c->name, c->peer, sid, ver ? ver : "unknown");
	conn_set_state(c, REGION_ESTABLISHED, "registered");

	ms = c->pool->p.liveness_timeout_ms / 3;
	if (ms < 200)
		ms = 200;
	if (c->ping_timer == NULL)
		c->ping_timer = event_new(c->pool->base, -1, EV_PERSIST,
		    conn_ping_cb, c);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(c->ping_timer, &tv);

	free(sid);
	free(uuid);
	free(ver);
	region_pool_conn_established(c->pool, c);
}

static void
conn_send_register(struct region_conn *c)
{
	struct region_pool *pool = c->pool;
	struct amp_box *args = amp_box_new();
	struct region_call *call;
	json_t *ifs;

	amp_box_put_str(args, "system_id", pool->system_id ? pool->system_id : "");
	amp_box_put_str(args, "hostname", pool->hostname);
	ifs = netif_collect("/sys/class/net");
	if (amp_box_put_json(args, "interfaces", ifs) == -1) {
		/* Too many interfaces for one AMP value: MAAS accepts {}. */
		json_t *empty = json_object();

		log_warnx("region: interface list too large for one AMP value;"
		    " registering with no interfaces");
		amp_box_put_json(args, "interfaces", empty);
		json_decref(empty);
	}
	json_decref(ifs);
	if (pool->maas_url != NULL)
		amp_box_put_str(args, "url", pool->maas_url);
	if (pool->cluster_uuid != NULL)
		amp_box_put_str(args, "nodegroup_uuid", pool->cluster_uuid);
	amp_box_put_bool(args, "beacon_support", true);
	amp_box_put_str(args, "version", RACKD_VERSION);

	conn_set_state(c, REGION_REGISTERING, "region authenticated");
	call = region_call_new_internal(pool, "RegisterRackController", args,
	    pool->p.handshake_timeout_ms, conn_register_done);
	region_conn_send_call(c, call);
}

static void
conn_auth_done(struct region_conn *c, struct region_call *call,
    const struct amp_box *answer, const char *ecode, const char *edesc,
    enum region_call_status st)
{
	const struct amp_value *digest, *salt;
	uint64_t gen = c->gen;

	if (st == REGION_CALL_TIMEOUT) {
		region_conn_close(c, 1, LOG_WARNING,
		    "region did not answer Authenticate in time");
		return;
	}
	if (st != REGION_CALL_OK) {
		region_conn_close(c, 1, LOG_ERR,
		    "region answered Authenticate with an error: %s: %s",
		    ecode ? ecode : "?", edesc ? edesc : "");
		return;
	}
	digest = amp_box_get(answer, "digest");
	salt = amp_box_get(answer, "salt");
	if (digest == NULL || salt == NULL) {
		region_conn_close(c, 1, LOG_ERR,
		    "Authenticate answer lacks digest or salt; dropping");
		return;
	}
	if (!auth_verify(&c->pool->secret, c->nonce, sizeof c->nonce,
	    salt->data, salt->len, digest->data, digest->len)) {
		region_conn_close(c, 2, LOG_ERR,
		    "region FAILED authentication (wrong digest): its shared "
		    "secret differs from ours; check secret_file; dropping "
		    "connection");
		return;
	}
	c->rtt_ms = (double)(rackd_now_ms() - call->started_ms);
	c->region_verified = 1;
	log_debug("region %s (%s): region authenticated", c->name, c->peer);
	conn_release_held(c);
	if (gen != c->gen)
		return;
	conn_send_register(c);
}

static void
conn_send_authenticate(struct region_conn *c)
{
	struct amp_box *args = amp_box_new();
	struct region_call *call;

	auth_random(c->nonce, sizeof c->nonce);
	amp_box_put(args, "message", c->nonce, sizeof c->nonce);
	call = region_call_new_internal(c->pool, "Authenticate", args,
	    c->pool->p.handshake_timeout_ms, conn_auth_done);
	region_conn_send_call(c, call);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct region_conn *c = arg;

	if (what & BEV_EVENT_CONNECTED) {
		c->connected_ms = rackd_now_ms();
		conn_set_state(c, REGION_AUTHENTICATING, "TCP connected");
		conn_arm_timer(c, c->pool->p.handshake_timeout_ms);
		bufferevent_enable(bev, EV_READ | EV_WRITE);
		conn_send_authenticate(c);
		return;
	}
	if (c->state == REGION_CONNECTING &&
	    (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF))) {
		char msg[160];
		int err = EVUTIL_SOCKET_ERROR();

		snprintf(msg, sizeof msg, "TCP connect failed: %s",
		    err ? evutil_socket_error_to_string(err) : "closed");
		conn_problem(c, LOG_WARNING, msg);
		bufferevent_free(c->bev);
		c->bev = NULL;
		c->addr_idx++;
		conn_try_address(c);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		if (c->state == REGION_AUTHENTICATING)
			region_conn_close(c, 2, LOG_WARNING,
			    "region closed the connection during authentication "
			    "(does it have the same shared secret?)");
		else
			region_conn_close(c, 1, LOG_WARNING,
			    "region closed the connection (was %s)",
			    region_state_name(c->state));
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		int err = EVUTIL_SOCKET_ERROR();

		region_conn_close(c, 1, LOG_WARNING, "connection error: %s",
		    err ? evutil_socket_error_to_string(err) : "unknown");
	}
}

/* --- liveness ------------------------------------------------------- */

static void
conn_ping_done(struct region_conn *c, struct region_call *call,
    const struct amp_box *answer, const char *ecode, const char *edesc,
    enum region_call_status st)
{
	double rtt;

	c->ping_outstanding = 0;
	if (st == REGION_CALL_TIMEOUT) {
		region_conn_close(c, 1, LOG_WARNING,
		    "region did not answer Ping within %d ms; declaring it dead",
		    c->pool->p.liveness_timeout_ms / 2);
		return;
	}
	/* Any answer, even an error, proves the peer is alive. */
	rtt = (double)(rackd_now_ms() - call->started_ms);
	c->rtt_ms = c->rtt_ms < 0 ? rtt : 0.7 * c->rtt_ms + 0.3 * rtt;
}

static void
conn_ping_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct region_conn *c = arg;
	struct region_call *call;

	if (c->state != REGION_ESTABLISHED || c->ping_outstanding)
		return;
	c->ping_outstanding = 1;
	call = region_call_new_internal(c->pool, "Ping", NULL,
	    c->pool->p.liveness_timeout_ms / 2, conn_ping_done);
	region_conn_send_call(c, call);
}
