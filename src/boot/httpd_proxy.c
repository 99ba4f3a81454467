/*
 * httpd_proxy.c — /MAAS/ reverse-proxied to a live region, as MAAS's
 * nginx site does (maas-rack-boot.md §3.1, §3.3).
 *
 * Upstreams: <peer address>:<http.region_port> of every established
 * region connection (what MAAS's RackHTTPService writes into its nginx
 * upstream), or the maas_url in use while none is established.  A
 * request starts at the next region in turn; one that failed within
 * HTTPD_UPSTREAM_PENALTY_MS is tried last.
 *
 * Failover: a region that refuses or times out the connection is left
 * for the next one (nothing of the request was consumed).  A region that
 * closes before the first byte of its answer is left for the next one
 * too when the request had no body to replay (GET, HEAD, ...); a request
 * whose body was streamed already gets 502, like nginx's
 * proxy_next_upstream for non-idempotent requests.  Once the first
 * answer byte went to the client, a dying region cuts the client's
 * connection (its answer cannot be completed elsewhere).
 *
 * Bodies stream both ways through the two bufferevents: reading from one
 * side pauses while the other side has more than HTTPD_OUT_HIGH queued,
 * and resumes below HTTPD_OUT_LOW.  The region is spoken to in HTTP/1.0
 * with Connection: close (as nginx's default), so its answer ends with
 * its connection and is relayed to the client as it is; the client's
 * connection is closed after it.
 */
#include <sys/socket.h>

#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#include "httpd_private.h"
#include "log.h"
#include "region.h"
#include "xmalloc.h"

struct httpd_proxy {
	struct httpd_conn	*c;
	char			**ups;		/* "host:port", NULL-terminated */
	size_t			 nups;
	size_t			 next;		/* index of the next to try */
	const char		*cur;		/* ups[next - 1] */
	struct bufferevent	*up;
	char			*head;		/* the request head for regions */
	uint64_t		 body_left;	/* request body still to relay */
	int			 has_body;
	int			 expect_continue;
	int			 replayable;	/* no body: safe to send again */
	int			 connected;
	int			 timed_out;	/* the last region tried was silent */
	uint64_t		 resp_bytes;
	uint64_t		 started_ms;
};

static void	proxy_try_next(struct httpd_proxy *);

void
httpd_proxy_free(struct httpd_proxy *px)
{
	size_t i;

	if (px == NULL)
		return;
	if (px->up != NULL)
		bufferevent_free(px->up);
	for (i = 0; i < px->nups; i++)
		free(px->ups[i]);
	free(px->ups);
	free(px->head);
	free(px);
}

/* Remember that upstream u failed (tried last for a while). */
static void
penalise(struct httpd *h, const char *u)
{
	uint64_t now = httpd_now_ms();
	size_t i;

	for (i = 0; i < h->npenalties; i++)
		if (strcmp(h->penalties[i].upstream, u) == 0)
			break;
	if (i == h->npenalties) {
		/* Reuse an expired slot before growing. */
		for (i = 0; i < h->npenalties; i++)
			if (h->penalties[i].until_ms <= now)
				break;
		if (i == h->npenalties) {
			h->penalties = xreallocarray(h->penalties,
			    h->npenalties + 1, sizeof *h->penalties);
			h->npenalties++;
		} else
			free(h->penalties[i].upstream);
		h->penalties[i].upstream = xstrdup(u);
	}
	h->penalties[i].until_ms = now + HTTPD_UPSTREAM_PENALTY_MS;
}

void
httpd_proxy_note_error(struct httpd *h, const char *why)
{
	snprintf(h->stats.proxy_last_error, sizeof h->stats.proxy_last_error,
	    "%s", why);
	h->stats.proxy_last_error_ms = httpd_now_ms();
}

/* The answer to the client when no region answered at all. */
static void
proxy_fail(struct httpd_proxy *px, int status, const char *why)
{
	struct httpd_conn *c = px->c;
	char *body;

	c->h->stats.proxy_failed++;
	/* Each region's failure was noted as it came; refusals of the
	 * request itself (411, 400) are not a region's. */
	if (status >= 500 && px->nups == 0)
		httpd_proxy_note_error(c->h, why);

	log_warnx("http: %s %s from %s: %s", c->head.method, c->head.target,
	    c->remote_ip, why);
	c->proxy = NULL;
	httpd_proxy_free(px);
	c->state = HTTPD_READ_HEAD;
	c->keep_alive = 0;
	xasprintf(&body, "%d %s: %s\n", status, httpd_reason(status), why);
	httpd_conn_reply(c, status, "text/plain; charset=utf-8", body,
	    strlen(body), NULL);
	free(body);
}

/* Relay what the client sent of its body, within the window. */
static void
pump_request(struct httpd_proxy *px)
{
	struct evbuffer *in = bufferevent_get_input(px->c->bev);
	struct evbuffer *out;
	size_t n;

	if (!px->connected || px->up == NULL)
		return;
	out = bufferevent_get_output(px->up);
	if (px->body_left > 0) {
		n = evbuffer_get_length(in);
		if (n > px->body_left)
			n = (size_t)px->body_left;
		if (n > 0) {
			evbuffer_remove_buffer(in, out, n);
			px->body_left -= n;
		}
	}
	/* Once the body is relayed the client is still read, only to see
	 * it leave: a region that stalls must not hold the client's slot
	 * until proxy_timeout (nginx notices the close too).  What a
	 * client sends after its request stays in its input buffer, which
	 * the read watermark bounds. */
	if (px->body_left == 0 || evbuffer_get_length(out) < HTTPD_OUT_HIGH)
		bufferevent_enable(px->c->bev, EV_READ);
	else
		bufferevent_disable(px->c->bev, EV_READ);
}

/* Relay the region's answer to the client, within the window. */
static void
pump_response(struct httpd_proxy *px)
{
	struct evbuffer *in = bufferevent_get_input(px->up);
	struct evbuffer *out = bufferevent_get_output(px->c->bev);
	size_t n = evbuffer_get_length(in);

	if (n > 0) {
		if (px->resp_bytes == 0) {
			log_debug("http: %s %s from %s: answered by %s",
			    px->c->head.method, px->c->head.target,
			    px->c->remote_ip, px->cur);
			snprintf(px->c->h->stats.proxy_region,
			    sizeof px->c->h->stats.proxy_region, "%s", px->cur);
		}
		px->resp_bytes += n;
		evbuffer_add_buffer(out, in);
	}
	if (evbuffer_get_length(out) >= HTTPD_OUT_HIGH)
		bufferevent_disable(px->up, EV_READ);
	else
		bufferevent_enable(px->up, EV_READ);
}

static void
up_read_cb(struct bufferevent *bev, void *arg)
{
	pump_response(arg);
}

static void
up_write_cb(struct bufferevent *bev, void *arg)
{
	pump_request(arg);
}

/* The region side ended; what that means depends on what went through. */
static void
up_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct httpd_proxy *px = arg;
	struct httpd_conn *c = px->c;
	int err = EVUTIL_SOCKET_ERROR();
	char why[256];

	if (what & BEV_EVENT_CONNECTED) {
		px->connected = 1;
		bufferevent_write(px->up, px->head, strlen(px->head));
		if (px->expect_continue)
			evbuffer_add_printf(bufferevent_get_output(c->bev),
			    "HTTP/1.1 100 Continue\r\n\r\n");
		bufferevent_enable(px->up, EV_READ | EV_WRITE);
		pump_request(px);
		return;
	}
	if ((what & BEV_EVENT_EOF) && px->resp_bytes > 0) {
		/* The answer is complete: flush it, then close. */
		pump_response(px);
		bufferevent_free(px->up);
		px->up = NULL;
		c->proxy = NULL;
		log_debug("http: %s %s from %s: %" PRIu64 " bytes from %s in "
		    "%" PRIu64 " ms", c->head.method, c->head.target,
		    c->remote_ip, px->resp_bytes, px->cur,
		    httpd_now_ms() - px->started_ms);
		httpd_proxy_free(px);
		httpd_conn_close_after_flush(c);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT)
		snprintf(why, sizeof why, "region %s silent for %d ms", px->cur,
		    c->h->p.proxy_timeout_ms);
	else if (what & BEV_EVENT_EOF)
		snprintf(why, sizeof why, "region %s closed the connection "
		    "before answering", px->cur);
	else
		snprintf(why, sizeof why, "region %s: %s", px->cur,
		    err ? strerror(err) : "connection failed");
	bufferevent_free(px->up);
	px->up = NULL;
	httpd_proxy_note_error(c->h, why);
	if (px->resp_bytes > 0) {
		/* Part of the answer is out: the client must see a cut. */
		log_warnx("http: %s %s from %s: %s after %" PRIu64 " bytes of "
		    "the answer; closing the client's connection",
		    c->head.method, c->head.target, c->remote_ip, why,
		    px->resp_bytes);
		httpd_conn_free(c);
		return;
	}
	penalise(c->h, px->cur);
	px->timed_out = (what & BEV_EVENT_TIMEOUT) != 0;
	if (!px->connected || px->replayable) {
		log_info("http: %s %s from %s: %s; trying the next region",
		    c->head.method, c->head.target, c->remote_ip, why);
		px->connected = 0;
		proxy_try_next(px);
		return;
	}
	proxy_fail(px, (what & BEV_EVENT_TIMEOUT) ? 504 : 502, why);
}

/* Resolve "host:port" (numeric, or a maas_url host name). */
static int
upstream_addr(const char *u, struct sockaddr_storage *ss, int *sl)
{
	struct addrinfo hints, *res = NULL;
	char host[256];
	const char *colon;
	size_t n;

	*sl = (int)sizeof *ss;
	if (evutil_parse_sockaddr_port(u, (struct sockaddr *)ss, sl) == 0)
		return 0;
	if ((colon = strrchr(u, ':')) == NULL ||
	    (n = (size_t)(colon - u)) >= sizeof host)
		return -1;
	memcpy(host, u, n);
	host[n] = '\0';
	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	/* Only for a maas_url given by name, while no region connection
	 * names an address: a blocking lookup, rare and short. */
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0 || res == NULL)
		return -1;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sl = (int)res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static void
proxy_try_next(struct httpd_proxy *px)
{
	struct httpd *h = px->c->h;
	struct sockaddr_storage ss;
	struct timeval tv;
	char why[256];
	int sl;

	while (px->next < px->nups) {
		px->cur = px->ups[px->next++];
		if (upstream_addr(px->cur, &ss, &sl) == -1) {
			log_warnx("http: cannot resolve region %s", px->cur);
			continue;
		}
		px->up = bufferevent_socket_new(h->base, -1,
		    BEV_OPT_CLOSE_ON_FREE);
		tv.tv_sec = h->p.proxy_timeout_ms / 1000;
		tv.tv_usec = (h->p.proxy_timeout_ms % 1000) * 1000;
		bufferevent_set_timeouts(px->up, &tv, &tv);
		bufferevent_set_max_single_write(px->up, HTTPD_MAX_SINGLE_IO);
		bufferevent_set_max_single_read(px->up, HTTPD_MAX_SINGLE_IO);
		bufferevent_setcb(px->up, up_read_cb, up_write_cb, up_event_cb,
		    px);
		bufferevent_setwatermark(px->up, EV_READ, 0, HTTPD_OUT_HIGH);
		bufferevent_setwatermark(px->up, EV_WRITE, HTTPD_OUT_LOW, 0);
		if (bufferevent_socket_connect(px->up, (struct sockaddr *)&ss,
		    sl) == 0)
			return;
		/* An immediate failure also reports through up_event_cb
		 * in libevent 2.1 only for some errors: handle it here. */
		snprintf(why, sizeof why, "region %s: cannot connect: %s",
		    px->cur, strerror(EVUTIL_SOCKET_ERROR()));
		log_info("http: %s", why);
		httpd_proxy_note_error(h, why);
		bufferevent_free(px->up);
		px->up = NULL;
		penalise(h, px->cur);
	}
	/* nginx: 504 when the last region tried timed out, else 502. */
	proxy_fail(px, px->timed_out ? 504 : 502, px->nups ?
	    "no region answered" : "no region known yet");
}

void
httpd_proxy_start(struct httpd_conn *c)
{
	struct httpd *h = c->h;
	struct httpd_proxy *px;
	const char *cl = httpd_head_get(&c->head, "Content-Length");
	const char *te = httpd_head_get(&c->head, "Transfer-Encoding");
	const char *ex = httpd_head_get(&c->head, "Expect");
	char **hosts = NULL, *end;
	unsigned long long n = 0;
	size_t nh = 0, i;
	const char *url;

	px = xcalloc(1, sizeof *px);
	px->c = c;
	px->started_ms = httpd_now_ms();
	c->proxy = px;
	c->state = HTTPD_PROXY;
	c->keep_alive = 0;
	if (te != NULL) {
		/* The region is spoken to in HTTP/1.0: a chunked body would
		 * have to be buffered whole to learn its length. */
		proxy_fail(px, 411, "chunked request bodies are not relayed; "
		    "send Content-Length");
		return;
	}
	if (cl != NULL) {
		errno = 0;
		n = strtoull(cl, &end, 10);
		if (cl[0] < '0' || cl[0] > '9' || *end != '\0' || errno != 0) {
			proxy_fail(px, 400, "malformed Content-Length");
			return;
		}
	}
	px->body_left = n;
	px->has_body = n > 0;
	px->replayable = !px->has_body &&
	    (strcmp(c->head.method, "GET") == 0 ||
	    strcmp(c->head.method, "HEAD") == 0 ||
	    strcmp(c->head.method, "OPTIONS") == 0);
	px->expect_continue = ex != NULL && strcasecmp(ex, "100-continue") == 0
	    && px->has_body && c->head.minor >= 1;
	px->head = httpd_proxy_head(&c->head, c->remote_ip);

	if (h->pool != NULL)
		nh = region_pool_peer_hosts(h->pool, &hosts);
	if (nh > 0) {
		px->nups = httpd_upstreams((const char *const *)hosts, nh,
		    h->p.region_port, &px->ups);
	} else if (h->pool != NULL &&
	    (url = region_pool_maas_url(h->pool)) != NULL &&
	    (px->ups = xcalloc(2, sizeof *px->ups)) != NULL &&
	    (px->ups[0] = httpd_url_hostport(url)) != NULL)
		px->nups = 1;
	for (i = 0; hosts != NULL && hosts[i] != NULL; i++)
		free(hosts[i]);
	free(hosts);
	httpd_upstreams_order(px->ups, px->nups, h->rr++, h->penalties,
	    h->npenalties, httpd_now_ms());
	/* The body waits in the client's buffer until a region connects. */
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setwatermark(c->bev, EV_WRITE, HTTPD_OUT_LOW, 0);
	proxy_try_next(px);
}

void
httpd_proxy_client_read(struct httpd_conn *c)
{
	if (c->proxy != NULL)
		pump_request(c->proxy);
}

void
httpd_proxy_client_write(struct httpd_conn *c)
{
	if (c->proxy != NULL && c->proxy->up != NULL)
		pump_response(c->proxy);
}
