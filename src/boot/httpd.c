/*
 * httpd.c — listeners, client connections, request dispatch and static
 * files (httpd.h).  /MAAS/ is httpd_proxy.c.
 *
 * One bufferevent per client connection; a small state machine
 * (httpd_private.h) reads a head, dispatches, queues the answer and,
 * on keep-alive, reads the next head once the answer is written.  Files
 * go out with evbuffer_add_file (sendfile: a 1 GB image costs no
 * memory); reading is paused while an answer is queued, so the client
 * timeout applies to a client that stops reading, not to a long
 * download.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "httpd_private.h"
#include "log.h"
#include "xmalloc.h"

struct httpd_request {
	struct httpd_conn	*c;	/* NULL once the client went away */
	int			 head;
};

static void	conn_read_cb(struct bufferevent *, void *);
static void	conn_process(struct httpd_conn *);

uint64_t
httpd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
sockaddr_text(const struct sockaddr *sa, char *ip, size_t cap, int *port)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

	ip[0] = '\0';
	*port = 0;
	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &s4->sin_addr, ip, (socklen_t)cap);
		*port = ntohs(s4->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		/* A v4 client on a dual-stack socket reads as plain v4. */
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], ip,
			    (socklen_t)cap);
		else
			inet_ntop(AF_INET6, &s6->sin6_addr, ip, (socklen_t)cap);
		*port = ntohs(s6->sin6_port);
	}
}

/* --- connections ---------------------------------------------------- */

void
httpd_conn_free(struct httpd_conn *c)
{
	if (c == NULL)
		return;
	if (c->proxy != NULL) {
		httpd_proxy_free(c->proxy);
		c->proxy = NULL;
	}
	if (c->pending != NULL)
		c->pending->c = NULL;
	TAILQ_REMOVE(&c->h->conns, c, entry);
	c->h->nconns--;
	bufferevent_free(c->bev);
	httpd_head_clear(&c->head);
	free(c);
}

void
httpd_conn_close_after_flush(struct httpd_conn *c)
{
	c->state = HTTPD_CLOSING;
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		httpd_conn_free(c);
	else
		bufferevent_enable(c->bev, EV_WRITE);
}

/* The answer is queued: wait for it to leave, then what keep-alive says. */
static void
conn_sending(struct httpd_conn *c)
{
	if (!c->keep_alive) {
		httpd_conn_close_after_flush(c);
		return;
	}
	c->state = HTTPD_SENDING;
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	bufferevent_enable(c->bev, EV_WRITE);
}

static void
put_common_headers(struct evbuffer *out, const struct httpd_conn *c,
    int status)
{
	char date[64];

	httpd_http_date(time(NULL), date, sizeof date);
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nServer: rackd\r\n"
	    "Date: %s\r\n", status, httpd_reason(status), date);
	if (!c->keep_alive)
		evbuffer_add_printf(out, "Connection: close\r\n");
	else if (c->head.minor == 0)
		evbuffer_add_printf(out, "Connection: keep-alive\r\n");
}

void
httpd_conn_reply(struct httpd_conn *c, int status, const char *ctype,
    const void *body, size_t len, const char *extra)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	int head = c->head.method != NULL &&
	    strcmp(c->head.method, "HEAD") == 0;

	put_common_headers(out, c, status);
	if (ctype != NULL)
		evbuffer_add_printf(out, "Content-Type: %s\r\n", ctype);
	evbuffer_add_printf(out, "Content-Length: %zu\r\n%s\r\n", len,
	    extra ? extra : "");
	if (!head && len > 0)
		evbuffer_add(out, body, len);
	conn_sending(c);
}

/* A short text answer for errors (nginx-like body). */
static void
reply_error(struct httpd_conn *c, int status, const char *text)
{
	char *body;

	if (text == NULL)
		xasprintf(&body, "%d %s\n", status, httpd_reason(status));
	else
		xasprintf(&body, "%s\n", text);
	httpd_conn_reply(c, status, "text/plain; charset=utf-8", body,
	    strlen(body), NULL);
	free(body);
}

/* --- static files ----------------------------------------------------- */

/*
 * Serve root/rel.  Symlinks are followed wherever they point (nginx's
 * alias does; the bootloaders are links into /usr/lib).  The open is a
 * blocking call in the loop: a path lookup in the page cache, as nginx
 * does it in its worker.
 */
static void
serve_file(struct httpd_conn *c, const char *rel)
{
	struct httpd *h = c->h;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	enum httpd_range rg;
	uint64_t first = 0, last = 0, size;
	char *path, lm[64];
	struct stat st;
	int fd, status = 200, head;

	head = strcmp(c->head.method, "HEAD") == 0;
	xasprintf(&path, "%s/%s", h->p.root, rel);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd == -1) {
		int e = errno;

		if (e == ENOENT || e == ENOTDIR || e == ENAMETOOLONG ||
		    e == ELOOP)
			reply_error(c, 404, NULL);
		else if (e == EACCES || e == EPERM)
			reply_error(c, 403, NULL);
		else {
			log_warnx("http: open %s: %s", path, strerror(e));
			reply_error(c, 500, NULL);
		}
		free(path);
		return;
	}
	free(path);
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		/* Directories are not listed (nginx's autoindex is). */
		reply_error(c, S_ISDIR(st.st_mode) ? 403 : 404, NULL);
		return;
	}
	size = (uint64_t)st.st_size;
	rg = httpd_range_parse(httpd_head_get(&c->head, "Range"), size, &first,
	    &last);
	httpd_http_date(st.st_mtime, lm, sizeof lm);
	if (rg == HTTPD_RANGE_UNSAT) {
		close(fd);
		put_common_headers(out, c, 416);
		evbuffer_add_printf(out, "Content-Range: bytes */%llu\r\n"
		    "Content-Length: 0\r\n\r\n", (unsigned long long)size);
		conn_sending(c);
		return;
	}
	if (rg == HTTPD_RANGE_NONE) {
		first = 0;
		last = size - 1;	/* unused when size is 0 */
	} else
		status = 206;
	put_common_headers(out, c, status);
	evbuffer_add_printf(out, "Content-Type: %s\r\nLast-Modified: %s\r\n"
	    "ETag: \"%llx-%llx\"\r\nAccept-Ranges: bytes\r\n",
	    httpd_mime_type(rel), lm, (unsigned long long)st.st_mtime,
	    (unsigned long long)size);
	if (status == 206)
		evbuffer_add_printf(out, "Content-Range: bytes %llu-%llu/%llu\r\n",
		    (unsigned long long)first, (unsigned long long)last,
		    (unsigned long long)size);
	evbuffer_add_printf(out, "Content-Length: %llu\r\n\r\n",
	    (unsigned long long)(size == 0 ? 0 : last - first + 1));
	if (head || size == 0)
		close(fd);
	else if (evbuffer_add_file(out, fd, (ev_off_t)first,
	    (ev_off_t)(last - first + 1)) == -1) {
		/* Headers are queued already: cut the connection. */
		log_warnx("http: cannot queue %s", rel);
		httpd_conn_free(c);
		return;
	}
	conn_sending(c);
}

/* --- dispatch --------------------------------------------------------- */

static void
emit(struct httpd *h, const char *type, const char *ip, const char *desc)
{
	if (h->event_fn != NULL && ip != NULL && ip[0] != '\0')
		h->event_fn(h->event_arg, type, ip, desc);
}

/* What MAAS's HTTPLogResource does for an /images/ request. */
static void
log_image_request(struct httpd *h, const char *ip, const char *uri)
{
	log_debug("http: %s requested by %s", uri, ip);
	emit(h, "NODE_HTTP_REQUEST", ip, uri);
	if (strstr(uri, "squashfs") != NULL)
		emit(h, "LOADING_EPHEMERAL", ip, "");
}

static int
method_is_get(const struct httpd_conn *c)
{
	return strcmp(c->head.method, "GET") == 0 ||
	    strcmp(c->head.method, "HEAD") == 0;
}

/* The boot backend: a handler's answer or the plain file. */
static void
dispatch_boot(struct httpd_conn *c, const char *rel, const char *local_ip,
    int local_port, const char *remote_ip, int remote_port)
{
	struct httpd *h = c->h;
	struct httpd_boot_info bi;
	struct httpd_request *req;

	if (!method_is_get(c)) {
		httpd_count(h, HTTPD_KIND_OTHER);
		reply_error(c, 405, NULL);
		return;
	}
	emit(h, "NODE_HTTP_REQUEST", remote_ip, rel);
	if (h->boot_fn != NULL) {
		memset(&bi, 0, sizeof bi);
		bi.path = rel;
		bi.local_ip = local_ip;
		bi.local_port = local_port;
		bi.remote_ip = remote_ip;
		bi.remote_port = remote_port;
		bi.head = strcmp(c->head.method, "HEAD") == 0;
		req = xcalloc(1, sizeof *req);
		req->c = c;
		req->head = bi.head;
		c->pending = req;
		c->state = HTTPD_PENDING;
		bufferevent_disable(c->bev, EV_READ);
		/* h outlives c, which an answer given at once may free. */
		if (h->boot_fn(h->boot_arg, req, &bi) == HTTPD_BOOT_TAKEN) {
			httpd_count(h, HTTPD_KIND_BOOT_CONFIG);
			return;
		}
		c->pending = NULL;
		c->state = HTTPD_READ_HEAD;
		free(req);
	}
	httpd_count(h, HTTPD_KIND_FILE);
	serve_file(c, rel);
}

static void
dispatch_external(struct httpd_conn *c, const char *rel)
{
	if (strncmp(c->head.target, "/MAAS/", 6) == 0) {
		httpd_count(c->h, HTTPD_KIND_PROXY);
		httpd_proxy_start(c);
		return;
	}
	if (strncmp(rel, "images/", 7) == 0 || strcmp(rel, "images") == 0) {
		if (!method_is_get(c)) {
			httpd_count(c->h, HTTPD_KIND_OTHER);
			reply_error(c, 405, NULL);
			return;
		}
		httpd_count(c->h, HTTPD_KIND_IMAGES);
		log_image_request(c->h, c->remote_ip, c->head.target);
		serve_file(c, rel[6] == '/' ? rel + 7 : "");
		return;
	}
	dispatch_boot(c, rel, c->local_ip, c->local_port, c->remote_ip,
	    c->remote_port);
}

static void
dispatch_internal(struct httpd_conn *c, const char *rel)
{
	const char *sa, *sp, *ff, *fp, *uri, *ip;
	char *text;

	if (strcmp(rel, "log") == 0 && strncmp(c->head.target, "/log", 4) == 0) {
		if (!method_is_get(c)) {
			httpd_count(c->h, HTTPD_KIND_OTHER);
			reply_error(c, 405, NULL);
			return;
		}
		httpd_count(c->h, HTTPD_KIND_LOG);
		uri = httpd_head_get(&c->head, "X-Original-URI");
		ip = httpd_head_get(&c->head, "X-Original-Remote-IP");
		if (uri != NULL && ip != NULL)
			log_image_request(c->h, ip, uri);
		httpd_conn_reply(c, 200, NULL, NULL, 0, NULL);
		return;
	}
	if (strcmp(rel, "metrics") == 0 && c->h->metrics_fn != NULL) {
		if (!method_is_get(c)) {
			httpd_count(c->h, HTTPD_KIND_OTHER);
			reply_error(c, 405, NULL);
			return;
		}
		httpd_count(c->h, HTTPD_KIND_METRICS);
		text = c->h->metrics_fn(c->h->metrics_arg);
		httpd_conn_reply(c, 200, "text/plain; version=0.0.4; "
		    "charset=utf-8", text, strlen(text), NULL);
		free(text);
		return;
	}
	if (strncmp(rel, "boot/", 5) != 0 && strcmp(rel, "boot") != 0) {
		httpd_count(c->h, HTTPD_KIND_OTHER);
		reply_error(c, 404, NULL);
		return;
	}
	sa = httpd_head_get(&c->head, "X-Server-Addr");
	ff = httpd_head_get(&c->head, "X-Forwarded-For");
	if (sa == NULL || ff == NULL) {
		httpd_count(c->h, HTTPD_KIND_OTHER);
		reply_error(c, 400, "Missing X-Server-Addr and X-Forwarded-For "
		    "HTTP headers.");
		return;
	}
	sp = httpd_head_get(&c->head, "X-Server-Port");
	fp = httpd_head_get(&c->head, "X-Forwarded-Port");
	dispatch_boot(c, rel[4] == '/' ? rel + 5 : "", sa, sp ? atoi(sp) : 0,
	    ff, fp ? atoi(fp) : 0);
}

static void
dispatch(struct httpd_conn *c)
{
	const char *conn = httpd_head_get(&c->head, "Connection");
	char rel[4096];
	int rc;

	if (c->head.minor >= 1)
		c->keep_alive = conn == NULL || strcasecmp(conn, "close") != 0;
	else
		c->keep_alive = conn != NULL &&
		    strcasecmp(conn, "keep-alive") == 0;
	/* A body we do not read would be taken for the next request. */
	if (c->kind == HTTPD_INTERNAL || strncmp(c->head.target, "/MAAS/", 6)) {
		const char *cl = httpd_head_get(&c->head, "Content-Length");

		if (httpd_head_get(&c->head, "Transfer-Encoding") != NULL ||
		    (cl != NULL && strcmp(cl, "0") != 0))
			c->keep_alive = 0;
	}
	if ((rc = httpd_path_sanitise(c->head.target, rel, sizeof rel)) != 0) {
		log_debug("http: %s %s from %s: refused (%d)", c->head.method,
		    c->head.target, c->remote_ip, rc);
		httpd_count(c->h, HTTPD_KIND_OTHER);
		reply_error(c, rc, NULL);
		return;
	}
	if (c->kind == HTTPD_EXTERNAL)
		dispatch_external(c, rel);
	else
		dispatch_internal(c, rel);
}

/* Read a head if a whole one is there; answer it. */
static void
conn_process(struct httpd_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer_ptr pos;
	size_t hl, len = evbuffer_get_length(in);
	char *cause = NULL, *buf;

	if (c->state != HTTPD_READ_HEAD)
		return;
	/* Blank lines before a request are ignored (RFC 7230 3.5). */
	while (len > 0) {
		unsigned char ch;

		evbuffer_copyout(in, &ch, 1);
		if (ch != '\r' && ch != '\n')
			break;
		evbuffer_drain(in, 1);
		len--;
	}
	if (len == 0)
		return;
	pos = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	hl = pos.pos < 0 ? 0 : (size_t)pos.pos + 4;
	if (pos.pos < 0) {
		pos = evbuffer_search(in, "\n\n", 2, NULL);
		hl = pos.pos < 0 ? 0 : (size_t)pos.pos + 2;
	}
	if (hl == 0 || hl > HTTPD_HEAD_MAX) {
		if (hl > HTTPD_HEAD_MAX || len > HTTPD_HEAD_MAX) {
			c->head.method = xstrdup("GET");
			c->keep_alive = 0;
			httpd_count(c->h, HTTPD_KIND_OTHER);
			reply_error(c, 431, NULL);
		}
		return;
	}
	buf = xmalloc(hl);
	evbuffer_remove(in, buf, hl);
	httpd_head_clear(&c->head);
	if (httpd_head_parse(buf, hl, &c->head, &cause) == -1) {
		log_debug("http: bad request from %s: %s", c->remote_ip, cause);
		free(cause);
		free(buf);
		c->head.method = xstrdup("GET");
		c->keep_alive = 0;
		httpd_count(c->h, HTTPD_KIND_OTHER);
		reply_error(c, 400, NULL);
		return;
	}
	free(buf);
	log_debug("http: %s %s from %s:%d", c->head.method, c->head.target,
	    c->remote_ip, c->remote_port);
	dispatch(c);
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct httpd_conn *c = arg;

	if (c->state == HTTPD_PROXY)
		httpd_proxy_client_read(c);
	else
		conn_process(c);
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct httpd_conn *c = arg;

	switch (c->state) {
	case HTTPD_PROXY:
		httpd_proxy_client_write(c);
		break;
	case HTTPD_CLOSING:
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			httpd_conn_free(c);
		break;
	case HTTPD_SENDING:
		if (evbuffer_get_length(bufferevent_get_output(bev)) > 0)
			break;
		c->state = HTTPD_READ_HEAD;
		httpd_head_clear(&c->head);
		bufferevent_enable(bev, EV_READ);
		conn_process(c);
		break;
	default:
		break;
	}
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct httpd_conn *c = arg;

	if (what & BEV_EVENT_TIMEOUT)
		log_debug("http: client %s:%d timed out", c->remote_ip,
		    c->remote_port);
	else if ((what & BEV_EVENT_ERROR) && EVUTIL_SOCKET_ERROR() != ECONNRESET)
		log_debug("http: client %s:%d: %s", c->remote_ip,
		    c->remote_port, strerror(EVUTIL_SOCKET_ERROR()));
	/* EOF while a proxied response still streams is the client's end
	 * too: drop the region side as well. */
	httpd_conn_free(c);
}

/* Bytes leaving a client's output buffer went to its socket (a freed
 * buffer does not call back): count them, whatever produced them. */
static void
sent_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct httpd *h = arg;

	h->stats.bytes_sent += info->n_deleted;
}

static void
accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct httpd_listener *l = arg;
	struct httpd *h = l->h;
	struct httpd_conn *c;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	struct timeval tv;

	if (h->nconns >= (size_t)h->p.max_connections) {
		if (!h->full_logged)
			log_warnx("http: %zu connections open "
			    "(http.max_connections); refusing new ones",
			    h->nconns);
		h->full_logged = 1;
		evutil_closesocket(fd);
		return;
	}
	h->full_logged = 0;
	c = xcalloc(1, sizeof *c);
	c->h = h;
	c->kind = l->kind;
	sockaddr_text(sa, c->remote_ip, sizeof c->remote_ip, &c->remote_port);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		sockaddr_text((struct sockaddr *)&ss, c->local_ip,
		    sizeof c->local_ip, &c->local_port);
	c->bev = bufferevent_socket_new(h->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		evutil_closesocket(fd);
		free(c);
		return;
	}
	TAILQ_INSERT_TAIL(&h->conns, c, entry);
	h->nconns++;
	tv.tv_sec = h->p.client_timeout_ms / 1000;
	tv.tv_usec = (h->p.client_timeout_ms % 1000) * 1000;
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	/* libevent writes 16 KiB per loop turn by default: one sendfile
	 * per 16 KiB halves image throughput. */
	bufferevent_set_max_single_write(c->bev, HTTPD_MAX_SINGLE_IO);
	bufferevent_set_max_single_read(c->bev, HTTPD_MAX_SINGLE_IO);
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
	evbuffer_add_cb(bufferevent_get_output(c->bev), sent_cb, h);
	/* Stop reading past one head's worth while nobody consumes it. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, HTTPD_OUT_HIGH);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void
listener_resume_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct httpd_listener *l = arg;

	evconnlistener_enable(l->lev);
}

/* Out of descriptors (EMFILE) and the like: pause this listener for a
 * second instead of spinning on a socket that stays readable. */
static void
accept_error_cb(struct evconnlistener *lev, void *arg)
{
	struct httpd_listener *l = arg;
	struct timeval tv = { 1, 0 };

	log_warnx("http: cannot accept: %s; pausing for 1 s",
	    strerror(EVUTIL_SOCKET_ERROR()));
	evconnlistener_disable(lev);
	evtimer_add(l->resume, &tv);
}

/* --- taken requests --------------------------------------------------- */

void
httpd_reply(struct httpd_request *req, int status, const char *ctype,
    const void *body, size_t len)
{
	struct httpd_conn *c = req->c;

	free(req);
	if (c == NULL)
		return;
	c->pending = NULL;
	c->state = HTTPD_READ_HEAD;
	bufferevent_enable(c->bev, EV_WRITE);
	httpd_conn_reply(c, status, ctype, body, len, NULL);
}

/* --- listeners and lifecycle ----------------------------------------- */

struct httpd *
httpd_new(struct event_base *base, const struct httpd_params *p)
{
	struct httpd *h = xcalloc(1, sizeof *h);

	h->base = base;
	h->p = *p;
	h->p.bind = xstrdup(p->bind ? p->bind : "::,0.0.0.0");
	h->p.root = xstrdup(p->root ? p->root : "/nonexistent");
	if (h->p.max_connections <= 0)
		h->p.max_connections = 2000;
	if (h->p.client_timeout_ms <= 0)
		h->p.client_timeout_ms = 60000;
	if (h->p.proxy_timeout_ms <= 0)
		h->p.proxy_timeout_ms = 120000;
	TAILQ_INIT(&h->conns);
	return h;
}

/* Bind one address:port: 0, 1 when the host lacks the address family,
 * or -1 with *cause. */
static int
listen_one(struct httpd *h, const char *addr, int port,
    enum httpd_port_kind kind, char **cause)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct evconnlistener *lev;
	struct httpd_listener *l;
	socklen_t sl;
	int fd, one = 1;

	memset(&ss, 0, sizeof ss);
	if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		sl = sizeof *s6;
	} else if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		sl = sizeof *s4;
	} else {
		xasprintf(cause, "http.bind: '%s' is not an IP address", addr);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1 && errno == EAFNOSUPPORT) {
		/* A host without IPv6 (or IPv4): nothing to serve there. */
		log_info("http: %s: address family not supported here; "
		    "skipped", addr);
		return 1;
	}
	if (fd == -1) {
		xasprintf(cause, "socket for %s: %s", addr, strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	/* [::] and 0.0.0.0 both listen, as nginx's two listen lines. */
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&ss, sl) == -1 || listen(fd, 511) == -1) {
		xasprintf(cause, "%s%s%s port %d: %s",
		    ss.ss_family == AF_INET6 ? "[" : "", addr,
		    ss.ss_family == AF_INET6 ? "]" : "", port, strerror(errno));
		close(fd);
		return -1;
	}
	l = xcalloc(1, sizeof *l);
	l->kind = kind;
	l->h = h;
	lev = evconnlistener_new(h->base, accept_cb, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (lev == NULL) {
		xasprintf(cause, "listener for %s port %d", addr, port);
		close(fd);
		free(l);
		return -1;
	}
	l->lev = lev;
	snprintf(l->name, sizeof l->name, "%s%s%s:%d",
	    ss.ss_family == AF_INET6 ? "[" : "", addr,
	    ss.ss_family == AF_INET6 ? "]" : "", port);
	l->resume = evtimer_new(h->base, listener_resume_cb, l);
	evconnlistener_set_error_cb(lev, accept_error_cb);
	h->listeners = xreallocarray(h->listeners, h->nlisteners + 1,
	    sizeof *h->listeners);
	h->listeners[h->nlisteners++] = l;
	return 0;
}

int
httpd_start(struct httpd *h, char **cause)
{
	const int ports[2] = { h->p.port, h->p.internal_port };
	const enum httpd_port_kind kinds[2] = { HTTPD_EXTERNAL, HTTPD_INTERNAL };
	int *ok[2] = { &h->ext_ok, &h->int_ok };
	char *list = xstrdup(h->p.bind), *a, *save = NULL, *err = NULL;
	char *errs = NULL, *tmp;
	int i, rc = 0, rc1;

	h->started = 1;
	for (i = 0; i < 2; i++) {
		if (ports[i] == 0)
			continue;
		free(list);
		list = xstrdup(h->p.bind);
		for (a = strtok_r(list, ", ", &save); a != NULL;
		    a = strtok_r(NULL, ", ", &save)) {
			if ((rc1 = listen_one(h, a, ports[i], kinds[i],
			    &err)) >= 0) {
				*ok[i] += rc1 == 0;
				continue;
			}
			log_warnx("http: cannot listen on %s", err);
			if (errs == NULL)
				errs = err;
			else {
				xasprintf(&tmp, "%s; %s", errs, err);
				free(errs);
				free(err);
				errs = tmp;
			}
			err = NULL;
		}
		if (*ok[i] == 0 && rc == 0) {
			rc = -1;
			xasprintf(cause, "port %d listens nowhere (%s)",
			    ports[i], errs ? errs : "no address in http.bind");
		}
	}
	free(list);
	h->bind_errors = errs;
	if (h->ext_ok || h->int_ok)
		log_info("http: serving %s on port %d%s%.0d (%s)", h->p.root,
		    h->p.port, h->p.internal_port ? " and " : "",
		    h->p.internal_port, h->p.bind);
	return rc;
}

void
httpd_set_pool(struct httpd *h, struct region_pool *pool)
{
	h->pool = pool;
}

void
httpd_set_event_hook(struct httpd *h, httpd_event_fn fn, void *arg)
{
	h->event_fn = fn;
	h->event_arg = arg;
}

void
httpd_set_metrics_hook(struct httpd *h, httpd_text_fn fn, void *arg)
{
	h->metrics_fn = fn;
	h->metrics_arg = arg;
}

void
httpd_set_boot_handler(struct httpd *h, httpd_boot_fn fn, void *arg)
{
	h->boot_fn = fn;
	h->boot_arg = arg;
}

static const char *const httpd_kind_names[HTTPD_NKINDS] = {
	"images", "boot_config", "file", "proxy", "log", "metrics", "other",
};

const char *
httpd_kind_name(enum httpd_kind k)
{
	return (unsigned)k < HTTPD_NKINDS ? httpd_kind_names[k] : "?";
}

void
httpd_get_stats(const struct httpd *h, struct httpd_stats *st)
{
	const struct httpd_conn *c;

	memset(st, 0, sizeof *st);
	if (h == NULL)
		return;
	*st = h->stats;
	/* Counted here rather than kept: every state change would have to
	 * keep a counter right, and conns is bounded by max_connections. */
	st->connections = h->nconns;
	TAILQ_FOREACH(c, &h->conns, entry)
		if (c->state == HTTPD_PROXY)
			st->proxying++;
}

const char *
httpd_listener_name(const struct httpd *h, size_t i, int *internal)
{
	if (h == NULL || i >= h->nlisteners)
		return NULL;
	if (internal != NULL)
		*internal = h->listeners[i]->kind == HTTPD_INTERNAL;
	return h->listeners[i]->name;
}

const char *
httpd_service_status(struct httpd *h, char *info, size_t cap)
{
	if (h == NULL || (h->p.port == 0 && h->p.internal_port == 0)) {
		snprintf(info, cap, "http.port and http.internal_port are 0");
		return "off";
	}
	if ((h->p.port != 0 && h->ext_ok == 0) ||
	    (h->p.internal_port != 0 && h->int_ok == 0)) {
		snprintf(info, cap, "cannot listen: %s",
		    h->bind_errors ? h->bind_errors : "not started");
		return "dead";
	}
	if (h->bind_errors != NULL) {
		snprintf(info, cap, "some addresses failed: %s",
		    h->bind_errors);
		return "degraded";
	}
	info[0] = '\0';
	return "running";
}

void
httpd_free(struct httpd *h)
{
	struct httpd_conn *c;
	size_t i;

	if (h == NULL)
		return;
	while ((c = TAILQ_FIRST(&h->conns)) != NULL)
		httpd_conn_free(c);
	for (i = 0; i < h->nlisteners; i++) {
		evconnlistener_free(h->listeners[i]->lev);
		event_free(h->listeners[i]->resume);
		free(h->listeners[i]);
	}
	free(h->listeners);
	for (i = 0; i < h->npenalties; i++)
		free(h->penalties[i].upstream);
	free(h->penalties);
	free(h->bind_errors);
	free((char *)h->p.bind);
	free((char *)h->p.root);
	free(h);
}
