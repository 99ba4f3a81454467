/*
 * http.c — asynchronous HTTP GET and POST driven by the daemon's event_base.
 *
 * libcurl's multi interface tells us which sockets it wants watched
 * (CURLMOPT_SOCKETFUNCTION) and when it next needs a timeout
 * (CURLMOPT_TIMERFUNCTION); we translate both into libevent events and
 * feed readiness back with curl_multi_socket_action().  This is curl's
 * hiperfifo example pattern; nothing here ever blocks the loop.
 *
 * Completion callbacks are only ever called after curl_multi_socket_action()
 * has returned, never from inside a libcurl callback, so a done callback
 * may start, cancel or free anything (including the whole struct http:
 * that free is deferred until the dispatch loop unwinds).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <time.h>
#include <errno.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "http.h"
#include "log.h"
#include "rackd.h"
#include "xmalloc.h"

struct http_request {
	TAILQ_ENTRY(http_request) entry;
	struct http		*http;
	CURL			*easy;
	struct curl_slist	*headers;
	char			*url;
	char			*post;		/* request body (POST), owned */
	time_t			 date;		/* response Date header, 0 if none */
	char			*body;
	size_t			 len;
	size_t			 cap;
	size_t			 max_body;
	int			 too_large;
	int			 finished;	/* on http->done, not in multi */
	int			 in_callback;
	uint64_t		 started_ms;
	http_done_cb		 cb;
	void			*arg;
	/* http_get_to_fd: the body goes to fd */
	int			 fd;		/* -1 = body in memory */
	uint64_t		 offset;	/* asked Range start */
	uint64_t		 at;		/* next write position */
	int			 status_seen;	/* first body chunk classified */
	int			 to_file;	/* 2xx: writing to fd */
	int			 partial;	/* 206 */
	int			 write_errno;
	int			 aborted;
	int			 paused;	/* the sink asked for a pause */
	http_data_cb		 data_cb;
	char			 errbuf[CURL_ERROR_SIZE];
};
TAILQ_HEAD(http_request_list, http_request);

/* One socket libcurl asked us to watch. */
struct http_sock {
	LIST_ENTRY(http_sock)	 entry;
	struct http		*http;
	curl_socket_t		 fd;
	struct event		*ev;
};

struct http {
	struct event_base	*base;
	CURLM			*multi;
	struct event		*timer;
	struct http_request_list active;	/* in the multi handle */
	struct http_request_list done;	/* completed, callback pending */
	LIST_HEAD(, http_sock)	 socks;
	int			 npending;
	int			 dispatching;	/* inside http_dispatch() */
	int			 dying;		/* http_free() called meanwhile */
};

static void	http_dispatch(struct http *);
static void	http_destroy(struct http *);

static void
http_request_free(struct http_request *req)
{
	if (req->easy != NULL)
		curl_easy_cleanup(req->easy);
	curl_slist_free_all(req->headers);
	free(req->url);
	free(req->post);
	free(req->body);
	free(req);
}

/* Take a request out of the multi handle (or the done list) and free it. */
static void
http_request_drop(struct http *h, struct http_request *req)
{
	if (req->finished)
		TAILQ_REMOVE(&h->done, req, entry);
	else {
		TAILQ_REMOVE(&h->active, req, entry);
		curl_multi_remove_handle(h->multi, req->easy);
	}
	h->npending--;
	http_request_free(req);
}

static void
http_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_sock *s = arg;
	struct http *h = s->http;
	int action = 0, running;

	if (what & EV_READ)
		action |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	/* May call http_socket_cb(CURL_POLL_REMOVE) and free s. */
	curl_multi_socket_action(h->multi, fd, action, &running);
	http_dispatch(h);
}

static void
http_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http *h = arg;
	int running;

	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	http_dispatch(h);
}

/* CURLMOPT_SOCKETFUNCTION: (re)arm or drop the event for one socket. */
static int
http_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp,
    void *socketp)
{
	struct http *h = userp;
	struct http_sock *s = socketp;
	short kind;

	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			LIST_REMOVE(s, entry);
			event_free(s->ev);
			free(s);
		}
		return 0;
	}
	kind = EV_PERSIST;
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if (s == NULL) {
		s = xcalloc(1, sizeof(*s));
		s->http = h;
		s->fd = fd;
		LIST_INSERT_HEAD(&h->socks, s, entry);
		curl_multi_assign(h->multi, fd, s);
	} else {
		event_del(s->ev);
		event_free(s->ev);
	}
	s->ev = event_new(h->base, fd, kind, http_event_cb, s);
	if (s->ev == NULL)
		fatalx("http: event_new failed");
	event_add(s->ev, NULL);
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: one timer for the whole multi handle. */
static int
http_timerfunc_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct http *h = userp;
	struct timeval tv;

	if (timeout_ms < 0) {
		evtimer_del(h->timer);
		return 0;
	}
	/* 0 means "now", but we must not call socket_action from here. */
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(h->timer, &tv);
	return 0;
}

/* http_get_to_fd: a 2xx body chunk to the file, anything else to memory. */
static size_t	http_write_cb(char *, size_t, size_t, void *);

static size_t
http_file_write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	struct http_request *req = userp;
	size_t n = size * nmemb, done = 0;
	long status = 0;
	ssize_t w;

	int rc;

	if (!req->status_seen) {
		req->status_seen = 1;
		curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &status);
		if (status == 206 && req->offset > 0) {
			req->to_file = 1;
			req->partial = 1;
			req->at = req->offset;
		} else if (status >= 200 && status < 300) {
			/* Range ignored (or not asked): the file starts over. */
			req->to_file = 1;
			req->at = 0;
			if (req->fd >= 0 && ftruncate(req->fd, 0) == -1) {
				req->write_errno = errno;
				return 0;
			}
		}
	}
	if (!req->to_file)
		return http_write_cb(data, size, nmemb, userp);
	if (req->fd < 0) {
		/* http_get_stream: the sink takes the chunk, or asks curl to
		 * keep it (it is delivered again after http_resume). */
		rc = req->data_cb(data, n, req->at, req->arg);
		if (rc == HTTP_DATA_PAUSE) {
			req->paused = 1;
			return CURL_WRITEFUNC_PAUSE;
		}
		if (rc != HTTP_DATA_OK) {
			req->aborted = 1;
			return 0;
		}
		req->at += n;
		return n;
	}
	while (done < n) {
		w = pwrite(req->fd, data + done, n - done,
		    (off_t)(req->at + done));
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			req->write_errno = w == -1 ? errno : EIO;
			return 0;
		}
		done += (size_t)w;
	}
	if (req->data_cb != NULL && req->data_cb(data, n, req->at, req->arg)) {
		req->aborted = 1;
		return 0;
	}
	req->at += n;
	return n;
}

static size_t
http_write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	struct http_request *req = userp;
	size_t n = size * nmemb, need;

	if (n > req->max_body || req->len > req->max_body - n) {
		req->too_large = 1;
		return 0;	/* makes curl fail with CURLE_WRITE_ERROR */
	}
	need = req->len + n + 1;
	if (need > req->cap) {
		req->cap = req->cap ? req->cap : 4096;
		while (req->cap < need)
			req->cap *= 2;
		if (req->cap > req->max_body + 1)
			req->cap = req->max_body + 1;
		req->body = xrealloc(req->body, req->cap);
	}
	memcpy(req->body + req->len, data, n);
	req->len += n;
	req->body[req->len] = '\0';
	return n;
}

/* CURLOPT_HEADERFUNCTION: keep the response's Date (clock-skew checks). */
static size_t
http_header_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	struct http_request *req = userp;
	size_t n = size * nmemb, len;
	char buf[128];
	time_t t;

	/* A new status line (e.g. after "100 Continue") starts over. */
	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0)
		req->date = 0;
	if (n > 5 && strncasecmp(data, "Date:", 5) == 0) {
		len = n - 5;
		if (len >= sizeof(buf))
			len = sizeof(buf) - 1;
		memcpy(buf, data + 5, len);
		buf[len] = '\0';
		buf[strcspn(buf, "\r\n")] = '\0';
		if ((t = curl_getdate(buf, NULL)) > 0)
			req->date = t;
	}
	return n;
}

static int
http_debug_cb(CURL *easy, curl_infotype type, char *data, size_t size,
    void *userp)
{
	const char *what;
	size_t n, len;

	switch (type) {
	case CURLINFO_TEXT:
		what = "*";
		break;
	case CURLINFO_HEADER_IN:
		what = "<";
		break;
	case CURLINFO_HEADER_OUT:
		what = ">";
		break;
	default:
		return 0;	/* bodies and TLS records are not logged */
	}
	/* HEADER_OUT is the whole request head in one call: log per line. */
	while (size > 0) {
		for (n = 0; n < size && data[n] != '\n'; n++)
			;
		len = n;
		if (len > 0 && data[len - 1] == '\r')
			len--;
		/* Credentials never reach the log, debug included. */
		if (type == CURLINFO_HEADER_OUT && len >= 14 &&
		    strncasecmp(data, "Authorization:", 14) == 0)
			log_debug("curl %s Authorization: <masked>", what);
		else if (len > 0)
			log_debug("curl %s %.*s", what, (int)len, data);
		if (n < size)
			n++;
		data += n;
		size -= n;
	}
	return 0;
}

/*
 * Move every finished transfer out of the multi handle, then call the
 * callbacks one by one.  A callback may cancel requests (even ones on the
 * done list), start new ones, or free the struct http.
 */
static void
http_dispatch(struct http *h)
{
	struct http_request *req;
	struct http_result res;
	CURLMsg *msg;
	CURLcode rc;
	char *ct;
	int left;

	if (h->dispatching)
		return;
	h->dispatching = 1;
	while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		req = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
		    (char **)&req);
		if (req == NULL)
			continue;
		rc = msg->data.result;
		TAILQ_REMOVE(&h->active, req, entry);
		curl_multi_remove_handle(h->multi, req->easy);
		req->finished = 1;
		/* An error text in errbuf is what marks a failure. */
		if (rc != CURLE_OK) {
			if (req->write_errno)
				snprintf(req->errbuf, sizeof(req->errbuf),
				    "writing the file: %s",
				    strerror(req->write_errno));
			else if (req->aborted)
				snprintf(req->errbuf, sizeof(req->errbuf),
				    "aborted");
			else if (req->too_large)
				snprintf(req->errbuf, sizeof(req->errbuf),
				    "body too large");
			else if (req->errbuf[0] == '\0')
				snprintf(req->errbuf, sizeof(req->errbuf),
				    "%s", curl_easy_strerror(rc));
		} else
			req->errbuf[0] = '\0';
		TAILQ_INSERT_TAIL(&h->done, req, entry);
	}

	while (!h->dying && (req = TAILQ_FIRST(&h->done)) != NULL) {
		memset(&res, 0, sizeof(res));
		res.ok = req->errbuf[0] == '\0';
		if (res.ok) {
			curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE,
			    &res.status);
			ct = NULL;
			curl_easy_getinfo(req->easy, CURLINFO_CONTENT_TYPE,
			    &ct);
			res.content_type = ct;
			res.date = req->date;
		} else
			res.error = req->errbuf;
		res.body = req->body != NULL ? req->body : "";
		res.len = req->len;
		res.elapsed_ms = (long)(rackd_now_ms() - req->started_ms);
		res.file_size = req->to_file ? req->at : req->offset;
		res.partial = req->partial;
		res.write_errno = req->write_errno;
		req->in_callback = 1;
		req->cb(&res, req->arg);
		http_request_drop(h, req);
	}
	h->dispatching = 0;
	if (h->dying)
		http_destroy(h);
}

struct http *
http_new(struct event_base *base, char **cause)
{
	struct http *h;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		xasprintf(cause, "curl_global_init failed");
		return NULL;
	}
	h = xcalloc(1, sizeof(*h));
	h->base = base;
	TAILQ_INIT(&h->active);
	TAILQ_INIT(&h->done);
	LIST_INIT(&h->socks);
	if ((h->multi = curl_multi_init()) == NULL) {
		xasprintf(cause, "curl_multi_init failed");
		free(h);
		curl_global_cleanup();
		return NULL;
	}
	h->timer = evtimer_new(base, http_timer_cb, h);
	if (h->timer == NULL) {
		xasprintf(cause, "evtimer_new failed");
		curl_multi_cleanup(h->multi);
		free(h);
		curl_global_cleanup();
		return NULL;
	}
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, http_socket_cb);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, http_timerfunc_cb);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	return h;
}

static void
http_destroy(struct http *h)
{
	struct http_request *req;
	struct http_sock *s;

	while ((req = TAILQ_FIRST(&h->active)) != NULL)
		http_request_drop(h, req);
	while ((req = TAILQ_FIRST(&h->done)) != NULL)
		http_request_drop(h, req);
	curl_multi_cleanup(h->multi);
	/* Cached connections may be closed without a POLL_REMOVE. */
	while ((s = LIST_FIRST(&h->socks)) != NULL) {
		LIST_REMOVE(s, entry);
		event_free(s->ev);
		free(s);
	}
	event_free(h->timer);
	free(h);
	curl_global_cleanup();
}

void
http_free(struct http *h)
{
	if (h == NULL)
		return;
	if (h->dispatching) {
		/* Called from a done callback: finish when it unwinds. */
		h->dying = 1;
		return;
	}
	http_destroy(h);
}

/*
 * Start a transfer: a GET when post is NULL, else a POST of post_len
 * bytes of post (copied).  headers (NULL-terminated "Name: value"
 * strings, may be NULL) are added to the request.
 */
static struct http_request *
http_start(struct http *h, const char *url, const char *host_header,
    const char *const *headers, const void *post, size_t post_len,
    long timeout_ms, size_t max_body, http_done_cb cb, void *arg,
    char **cause)
{
	struct http_request *req;
	char *hdr;
	CURLMcode mrc;
	size_t i;

	if (h->dying) {
		xasprintf(cause, "HTTP engine is shutting down");
		return NULL;
	}
	if (strncmp(url, "http://", 7) != 0 &&
	    strncmp(url, "https://", 8) != 0) {
		xasprintf(cause, "%s: only http and https URLs are supported",
		    url);
		return NULL;
	}
	req = xcalloc(1, sizeof(*req));
	req->http = h;
	req->url = xstrdup(url);
	req->max_body = max_body;
	req->cb = cb;
	req->arg = arg;
	req->fd = -1;
	if ((req->easy = curl_easy_init()) == NULL) {
		xasprintf(cause, "curl_easy_init failed");
		http_request_free(req);
		return NULL;
	}
	curl_easy_setopt(req->easy, CURLOPT_URL, req->url);
	curl_easy_setopt(req->easy, CURLOPT_PRIVATE, req);
	curl_easy_setopt(req->easy, CURLOPT_ERRORBUFFER, req->errbuf);
	curl_easy_setopt(req->easy, CURLOPT_WRITEFUNCTION, http_write_cb);
	curl_easy_setopt(req->easy, CURLOPT_WRITEDATA, req);
	curl_easy_setopt(req->easy, CURLOPT_HEADERFUNCTION, http_header_cb);
	curl_easy_setopt(req->easy, CURLOPT_HEADERDATA, req);
	curl_easy_setopt(req->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(req->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(req->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	/* MAAS's Twisted Agent ignores proxy variables; so do we. */
	curl_easy_setopt(req->easy, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(req->easy, CURLOPT_USERAGENT, "rackd/" RACKD_VERSION);
	if (timeout_ms > 0) {
		curl_easy_setopt(req->easy, CURLOPT_TIMEOUT_MS, timeout_ms);
		curl_easy_setopt(req->easy, CURLOPT_CONNECTTIMEOUT_MS,
		    timeout_ms);
	}
	if (post != NULL) {
		/* Our own copy: the caller's buffer may go before curl sends. */
		req->post = xmalloc(post_len + 1);
		memcpy(req->post, post, post_len);
		curl_easy_setopt(req->easy, CURLOPT_POST, 1L);
		curl_easy_setopt(req->easy, CURLOPT_POSTFIELDS, req->post);
		curl_easy_setopt(req->easy, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)post_len);
		/* No "Expect: 100-continue" round trip (urllib sends none). */
		req->headers = curl_slist_append(req->headers, "Expect:");
	}
	if (host_header != NULL) {
		xasprintf(&hdr, "Host: %s", host_header);
		req->headers = curl_slist_append(req->headers, hdr);
		free(hdr);
	}
	for (i = 0; headers != NULL && headers[i] != NULL; i++)
		req->headers = curl_slist_append(req->headers, headers[i]);
	if (req->headers != NULL)
		curl_easy_setopt(req->easy, CURLOPT_HTTPHEADER, req->headers);
	if (log_get_debug()) {
		curl_easy_setopt(req->easy, CURLOPT_VERBOSE, 1L);
		curl_easy_setopt(req->easy, CURLOPT_DEBUGFUNCTION,
		    http_debug_cb);
	}
	req->started_ms = rackd_now_ms();
	if ((mrc = curl_multi_add_handle(h->multi, req->easy)) != CURLM_OK) {
		xasprintf(cause, "%s: %s", url, curl_multi_strerror(mrc));
		http_request_free(req);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&h->active, req, entry);
	h->npending++;
	return req;
}

struct http_request *
http_get(struct http *h, const char *url, const char *host_header,
    long timeout_ms, size_t max_body, http_done_cb cb, void *arg,
    char **cause)
{
	return http_start(h, url, host_header, NULL, NULL, 0, timeout_ms,
	    max_body, cb, arg, cause);
}

struct http_request *
http_post(struct http *h, const char *url, const char *const *headers,
    const void *body, size_t len, long timeout_ms, size_t max_body,
    http_done_cb cb, void *arg, char **cause)
{
	return http_start(h, url, NULL, headers, body != NULL ? body : "",
	    len, timeout_ms, max_body, cb, arg, cause);
}

struct http_request *
http_get_to_fd(struct http *h, const char *url, int fd, uint64_t offset,
    long connect_timeout_ms, long stall_timeout_ms, http_data_cb data_cb,
    http_done_cb cb, void *arg, char **cause)
{
	struct http_request *req;
	CURLMcode mrc;
	char range[64];

	/* Built as a plain GET, then re-pointed at the file before it runs:
	 * curl only starts transfers from the loop, never in here. */
	req = http_start(h, url, NULL, NULL, NULL, 0, 0, 4096, cb, arg,
	    cause);
	if (req == NULL)
		return NULL;
	curl_multi_remove_handle(h->multi, req->easy);
	req->fd = fd;
	req->offset = offset;
	req->data_cb = data_cb;
	curl_easy_setopt(req->easy, CURLOPT_WRITEFUNCTION, http_file_write_cb);
	if (connect_timeout_ms > 0)
		curl_easy_setopt(req->easy, CURLOPT_CONNECTTIMEOUT_MS,
		    connect_timeout_ms);
	if (stall_timeout_ms > 0) {
		curl_easy_setopt(req->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(req->easy, CURLOPT_LOW_SPEED_TIME,
		    (stall_timeout_ms + 999) / 1000);
	}
	if (offset > 0) {
		/* Our own header, not CURLOPT_RESUME_FROM: a server that
		 * ignores it answers 200 and we start over instead of curl
		 * failing the transfer. */
		snprintf(range, sizeof(range), "Range: bytes=%llu-",
		    (unsigned long long)offset);
		req->headers = curl_slist_append(req->headers, range);
		curl_easy_setopt(req->easy, CURLOPT_HTTPHEADER, req->headers);
	}
	if ((mrc = curl_multi_add_handle(h->multi, req->easy)) != CURLM_OK) {
		xasprintf(cause, "%s: %s", url, curl_multi_strerror(mrc));
		TAILQ_REMOVE(&h->active, req, entry);
		h->npending--;
		http_request_free(req);
		return NULL;
	}
	return req;
}

struct http_request *
http_get_stream(struct http *h, const char *url, uint64_t offset,
    long connect_timeout_ms, long stall_timeout_ms, http_data_cb sink,
    http_done_cb cb, void *arg, char **cause)
{
	return http_get_to_fd(h, url, -1, offset, connect_timeout_ms,
	    stall_timeout_ms, sink, cb, arg, cause);
}

void
http_resume(struct http *h, struct http_request *req)
{
	if (h == NULL || req == NULL || !req->paused || req->finished)
		return;
	req->paused = 0;
	/* May call the sink at once with the data curl kept, which may
	 * pause again; curl re-arms its own timer to carry on. */
	curl_easy_pause(req->easy, CURLPAUSE_CONT);
}

void
http_cancel(struct http *h, struct http_request *req)
{
	if (h == NULL || req == NULL)
		return;
	/* Cancelling a request from its own callback: it goes anyway. */
	if (req->in_callback)
		return;
	http_request_drop(h, req);
}

int
http_pending(const struct http *h)
{
	return h->npending;
}
