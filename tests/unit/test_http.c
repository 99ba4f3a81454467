/*
 * test_http.c — http.c against a real evhttp server on 127.0.0.1 running
 * in the same event_base (no threads).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "http.h"
#include "log.h"
#include "xmalloc.h"

struct fixture {
	struct event_base	*base;
	struct evhttp		*srv;
	struct http		*http;
	int			 port;
	int			 port6;		/* 0 when no IPv6 loopback */
	char			 last_host[256];
	char			 last_ua[256];
	char			 last_method[16];
	char			 last_auth[256];
	char			 last_ctype[256];
	char			 last_expect[64];
	char			*last_body;	/* request body received */
	size_t			 last_len;
	int			 hits;
};

struct stream_seen;

struct outcome {
	int		 called;
	int		 ok;
	long		 status;
	char		*body;
	size_t		 len;
	char		*error;
	char		*ctype;
	time_t		 date;
	/* actions taken from inside the callback */
	struct fixture	*fx;
	struct http_request *cancel_this;
	int		 free_http;
	int		*countdown;
	struct stream_seen *seen;	/* http_get_to_fd tests */
};

#define FILE_LEN	(2 * 1024 * 1024 + 7)

static char
file_byte(size_t i)
{
	return (char)((i * 7 + i / 251) & 0xff);
}

static void
srv_cb(struct evhttp_request *req, void *arg)
{
	struct fixture *fx = arg;
	const char *uri = evhttp_request_get_uri(req);
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	struct evbuffer *b = evbuffer_new();
	const char *v;
	size_t i;

	fx->hits++;
	v = evhttp_find_header(in, "Host");
	snprintf(fx->last_host, sizeof(fx->last_host), "%s", v ? v : "");
	v = evhttp_find_header(in, "User-Agent");
	snprintf(fx->last_ua, sizeof(fx->last_ua), "%s", v ? v : "");
	v = evhttp_find_header(in, "Authorization");
	snprintf(fx->last_auth, sizeof(fx->last_auth), "%s", v ? v : "");
	v = evhttp_find_header(in, "Content-Type");
	snprintf(fx->last_ctype, sizeof(fx->last_ctype), "%s", v ? v : "");
	v = evhttp_find_header(in, "Expect");
	snprintf(fx->last_expect, sizeof(fx->last_expect), "%s", v ? v : "");
	snprintf(fx->last_method, sizeof(fx->last_method), "%s",
	    evhttp_request_get_command(req) == EVHTTP_REQ_POST ? "POST" :
	    evhttp_request_get_command(req) == EVHTTP_REQ_GET ? "GET" : "?");
	free(fx->last_body);
	fx->last_len = evbuffer_get_length(evhttp_request_get_input_buffer(req));
	fx->last_body = xmalloc(fx->last_len + 1);
	evbuffer_copyout(evhttp_request_get_input_buffer(req), fx->last_body,
	    fx->last_len);
	fx->last_body[fx->last_len] = '\0';

	if (strcmp(uri, "/ok") == 0) {
		evhttp_add_header(out, "Content-Type", "application/json");
		evbuffer_add_printf(b, "{\"hello\": 1}");
		evhttp_send_reply(req, 200, "OK", b);
	} else if (strcmp(uri, "/post") == 0) {
		evbuffer_add_printf(b, "got %zu", fx->last_len);
		evhttp_send_reply(req, 200, "OK", b);
	} else if (strcmp(uri, "/date") == 0) {
		/* RFC 7231's example date: 784111777. */
		evhttp_add_header(out, "Date", "Sun, 06 Nov 1994 08:49:37 GMT");
		evbuffer_add_printf(b, "stale");
		evhttp_send_reply(req, 401, "Unauthorized", b);
	} else if (strcmp(uri, "/host") == 0) {
		evbuffer_add_printf(b, "%s", fx->last_host);
		evhttp_send_reply(req, 200, "OK", b);
	} else if (strcmp(uri, "/slow") == 0) {
		/* Never answer; the client's timeout must fire. */
		evbuffer_free(b);
		return;
	} else if (strcmp(uri, "/big") == 0) {
		for (i = 0; i < 2 * 1024 * 1024 / 64; i++)
			evbuffer_add_printf(b, "%063d\n", 0);
		evhttp_send_reply(req, 200, "OK", b);
	} else if (strcmp(uri, "/redirect") == 0) {
		evhttp_add_header(out, "Location", "/ok");
		evhttp_send_reply(req, 302, "Found", b);
	} else if (strcmp(uri, "/file") == 0 ||
	    strcmp(uri, "/file-norange") == 0) {
		/* FILE_LEN bytes of file_byte(i); Range "bytes=N-" -> 206. */
		long from = 0;
		char hdr[64], *chunk;

		v = evhttp_find_header(in, "Range");
		if (v != NULL && strcmp(uri, "/file") == 0 &&
		    sscanf(v, "bytes=%ld-", &from) == 1 && from > 0 &&
		    from < FILE_LEN) {
			snprintf(hdr, sizeof(hdr), "bytes %ld-%d/%d", from,
			    FILE_LEN - 1, FILE_LEN);
			evhttp_add_header(out, "Content-Range", hdr);
		} else
			from = 0;
		chunk = xmalloc(FILE_LEN);
		for (i = 0; i < FILE_LEN; i++)
			chunk[i] = file_byte(i);
		evbuffer_add(b, chunk + from, (size_t)(FILE_LEN - from));
		free(chunk);
		evhttp_send_reply(req, from > 0 ? 206 : 200,
		    from > 0 ? "Partial Content" : "OK", b);
	} else if (strcmp(uri, "/nul") == 0) {
		evbuffer_add(b, "a\0b", 3);
		evhttp_send_reply(req, 200, "OK", b);
	} else {
		evbuffer_add_printf(b, "not here");
		evhttp_send_reply(req, 404, "Not Found", b);
	}
	evbuffer_free(b);
}

static int
bind_port(struct evhttp *srv, const char *addr)
{
	struct evhttp_bound_socket *bs;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	bs = evhttp_bind_socket_with_handle(srv, addr, 0);
	if (bs == NULL)
		return 0;
	getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss,
	    &sl);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static int
setup(void **state)
{
	struct fixture *fx = xcalloc(1, sizeof(*fx));
	char *cause = NULL;

	log_init("test_http", getenv("TEST_DEBUG") != NULL);
	fx->base = event_base_new();
	fx->srv = evhttp_new(fx->base);
	evhttp_set_gencb(fx->srv, srv_cb, fx);
	fx->port = bind_port(fx->srv, "127.0.0.1");
	assert_true(fx->port > 0);
	fx->port6 = bind_port(fx->srv, "::1");
	fx->http = http_new(fx->base, &cause);
	assert_non_null(fx->http);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	http_free(fx->http);
	evhttp_free(fx->srv);
	free(fx->last_body);
	event_base_free(fx->base);
	free(fx);
	return 0;
}

static void
done_cb(const struct http_result *r, void *arg)
{
	struct outcome *o = arg;

	o->called++;
	o->ok = r->ok;
	o->status = r->status;
	o->body = xmemdup(r->body, r->len + 1);
	o->len = r->len;
	o->error = r->error ? xstrdup(r->error) : NULL;
	o->ctype = r->content_type ? xstrdup(r->content_type) : NULL;
	o->date = r->date;
	if (o->cancel_this != NULL)
		http_cancel(o->fx->http, o->cancel_this);
	if (o->free_http) {
		http_free(o->fx->http);
		o->fx->http = NULL;
	}
	if (o->countdown != NULL && --*o->countdown == 0)
		event_base_loopbreak(o->fx->base);
	else if (o->countdown == NULL)
		event_base_loopbreak(o->fx->base);
}

static void
outcome_clear(struct outcome *o)
{
	free(o->body);
	free(o->error);
	free(o->ctype);
	memset(o, 0, sizeof(*o));
}

static void
watchdog_cb(evutil_socket_t fd, short ev, void *arg)
{
	event_base_loopbreak(arg);
}

/* Run the loop until a callback breaks it or ms pass. */
static void
run_for(struct fixture *fx, long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	struct event *wd = evtimer_new(fx->base, watchdog_cb, fx->base);

	evtimer_add(wd, &tv);
	event_base_dispatch(fx->base);
	event_free(wd);
}

static char *
url(struct fixture *fx, const char *path)
{
	char *u;

	xasprintf(&u, "http://127.0.0.1:%d%s", fx->port, path);
	return u;
}

static void
test_get_ok(void **state)
{
	struct fixture *fx = *state;
	struct outcome o = { 0 };
	char *u = url(fx, "/ok"), *cause = NULL;

	o.fx = fx;
	assert_non_null(http_get(fx->http, u, NULL, 2000, 1024, done_cb, &o,
	    &cause));
	assert_int_equal(http_pending(fx->http), 1);
	run_for(fx, 3000);
	assert_int_equal(o.called, 1);
	assert_true(o.ok);
	assert_int_equal(o.status, 200);
	assert_string_equal(o.body, "{\"hello\": 1}");
	assert_string_equal(o.ctype, "application/json");
	assert_string_equal(fx->last_ua, "rackd/" RACKD_VERSION);
	assert_int_equal(http_pending(fx->http), 0);
	outcome_clear(&o);
	free(u);
}

static void
test_get_ipv6(void **state)
{
	struct fixture *fx = *state;
	struct outcome o = { 0 };
	char *u, *cause = NULL;

	if (fx->port6 == 0)
		skip();
	xasprintf(&u, "http://[::1]:%d/ok", fx->port6);
	o.fx = fx;
	assert_non_null(http_get(fx->http, u, NULL, 2000, 1024, done_cb, &o,
	    &cause));
	run_for(fx, 3000);
	assert_true(o.ok);
	assert_int_equal(o.status, 200);
	assert_non_null(strstr(fx->last_host, "[::1]"));
	outcome_clear(&o);
	free(u);
}

static void
test_404_body(void **state)
{
	struct fixture *fx = *state;
	struct outcome o = { 0 };
	char *u = url(fx, "/nothing"), *cause = NULL;

	o.fx = fx;
	assert_non_null(http_get(fx->http, u, NULL, 2000, 1024, done_cb, &o,
	    &cause));
	run_for(fx, 3000);
	assert_int_equal(o.called, 1);
	assert_true(o.ok);
	assert_int_equal(o.status, 404);
	assert_string_equal(o.body, "not here");
	outcome_clear(&o);
	free(u);
}

static void
test_no_redirect(void **state)
{
	struct fixture *fx = *state;
	struct outcome o = { 0 };
	char *u = url(fx, "/redirect"), *cause = NULL;

	o.fx = fx;
	assert_non_null(http_get(fx->http, u, NULL, 2000, 1024, done_cb, &o,
	    &cause));
	run_for(fx, 3000);
	assert_true(o.ok);
	assert_int_equal(o.status, 302);
	assert_int_equal(fx->hits, 1);
	outcome_clear(&o);
	free(u);
}

static void
test_body_with_nul(void **state)
{
	struct fixture *fx = *state;
	struct outcome o = { 0 };
	char *u = url(fx, "/nul"), *cause = NULL;

	o.fx = fx;
	assert_non_null(http_get(fx->http, u, NULL, 2000, 1024, done_cb, &o,
	    &cause));
	run_for(fx, 3000);
	assert_true(o.ok);
	assert_int_equal(o.len, 3);
	assert_memory_equal(o.body, "a\0b", 4);
	outcome_clear(&o);
	free(u);
}

static void
test_timeout(void **state)
{
	struct fixture *fx = *state;
	struct outcome o = { 0 };
	char *u = url(fx, "/slow"), *cause = NULL;
	uint64_t t0 = rackd_now_ms(), dt;

	o.fx = fx;
	assert_non_null(http_get(fx->http, u, NULL, 300, 1024, done_cb, &o,
	    &cause));
	run_for(fx, 3000);
	dt = rackd_now_ms() - t0;
	assert_int_equal(o.called, 1);
	assert_false(o.ok);
	assert_non_null(o.error);
	assert_non_null(strstr(o.error, "imed out"));
	assert_true(dt >= 250 && dt < 2000);
	outcome_clear(&o);
	free(u);
}

static void
test_refused(void **state)
{
	struct fixture *fx = *state;
	struct outcome o = { 0 };
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	char *u, *cause = NULL;
	int fd;

	/* A port that was just free and has nobody listening. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	getsockname(fd, (struct sockaddr *)&sin, &sl);
	close(fd);
	xasprintf(&u, "http://127.0.0.1:%d/ok", ntohs(sin.sin_port));
	o.fx = fx;
	assert_non_null(http_get(fx->http, u, NULL, 2000, 1024, done_cb, &o,
	    &cause));
	run_for(fx, 3000);
	assert_int_equal(o.called, 1);
	assert_false(o.ok);
	assert_non_null(o.error);
	/* curl's own text, e.g. "Failed to connect to 127.0.0.1 port N..." */
	assert_non_null(strstr(o.error, "connect"));
	outcome_clear(&o);
	free(u);
}

static void
test_body_cap(void **state)
{
	struct fixture *fx = *state;
	struct outcome o = { 0 };
	char *u = url(fx, "/big"), *cause = NULL;

	o.fx = fx;
	assert_non_null(http_get(fx->http, u, NULL, 5000, 1024 * 1024,
	    done_cb, &o, &cause));
	run_for(fx, 6000);
	assert_int_equal(o.called, 1);
	assert_false(o.ok);
	assert_string_equal(o.error, "body too large");
	outcome_clear(&o);

	/* The same body fits under a bigger cap. */
	o.fx = fx;
	assert_non_null(http_get(fx->http, u, NULL, 5000, 4 * 1024 * 1024,
	    done_cb, &o, &cause));
	run_for(fx, 6000);
	assert_true(o.ok);
	assert_int_equal(o.len, 2 * 1024 * 1024);
	outcome_clear(&o);
	free(u);
}

static void
test_host_header(void **state)
{
	struct fixture *fx = *state;
	struct outcome o = { 0 };
	char *u = url(fx, "/host"), *cause = NULL;

	o.fx = fx;
	assert_non_null(http_get(fx->http, u, "maas.example", 2000, 1024,
	    done_cb, &o, &cause));
	run_for(fx, 3000);
	assert_true(o.ok);
	assert_string_equal(o.body, "maas.example");
	assert_string_equal(fx->last_host, "maas.example");
	outcome_clear(&o);
	free(u);
}

static void
test_bad_url(void **state)
{
	struct fixture *fx = *state;
	struct outcome o = { 0 };
	char *cause = NULL;

	assert_null(http_get(fx->http, "ftp://127.0.0.1/x", NULL, 2000, 1024,
	    done_cb, &o, &cause));
	assert_non_null(cause);
	assert_non_null(strstr(cause, "only http and https"));
	free(cause);
	assert_int_equal(http_pending(fx->http), 0);
}

static void
cancel_timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct outcome *o = arg;

	http_cancel(o->fx->http, o->cancel_this);
	o->cancel_this = NULL;
}

static void
test_cancel(void **state)
{
	struct fixture *fx = *state;
	struct outcome o = { 0 };
	struct timeval tv = { 0, 100 * 1000 };
	struct event *t;
	char *u = url(fx, "/slow"), *cause = NULL;

	o.fx = fx;
	o.cancel_this = http_get(fx->http, u, NULL, 5000, 1024, done_cb, &o,
	    &cause);
	assert_non_null(o.cancel_this);
	t = evtimer_new(fx->base, cancel_timer_cb, &o);
	evtimer_add(t, &tv);
	run_for(fx, 500);
	event_free(t);
	assert_int_equal(o.called, 0);
	assert_int_equal(http_pending(fx->http), 0);
	outcome_clear(&o);

	/* Cancel right after starting, before the loop ran at all. */
	o.fx = fx;
	http_cancel(fx->http, http_get(fx->http, u, NULL, 5000, 1024,
	    done_cb, &o, &cause));
	run_for(fx, 200);
	assert_int_equal(o.called, 0);
	assert_int_equal(http_pending(fx->http), 0);
	free(u);
}

static void
test_cancel_from_callback(void **state)
{
	struct fixture *fx = *state;
	struct outcome a = { 0 }, b = { 0 };
	char *ok = url(fx, "/ok"), *slow = url(fx, "/slow"), *cause = NULL;

	b.fx = fx;
	a.fx = fx;
	a.cancel_this = http_get(fx->http, slow, NULL, 5000, 1024, done_cb,
	    &b, &cause);
	assert_non_null(http_get(fx->http, ok, NULL, 5000, 1024, done_cb, &a,
	    &cause));
	run_for(fx, 3000);
	assert_int_equal(a.called, 1);
	assert_int_equal(b.called, 0);
	assert_int_equal(http_pending(fx->http), 0);
	a.cancel_this = NULL;
	outcome_clear(&a);
	outcome_clear(&b);
	free(ok);
	free(slow);
}

static void
test_free_from_callback(void **state)
{
	struct fixture *fx = *state;
	struct outcome a = { 0 }, b = { 0 };
	char *ok = url(fx, "/ok"), *slow = url(fx, "/slow"), *cause = NULL;

	a.fx = fx;
	a.free_http = 1;
	b.fx = fx;
	/* A second request still in flight when the engine goes away. */
	assert_non_null(http_get(fx->http, slow, NULL, 5000, 1024, done_cb,
	    &b, &cause));
	assert_non_null(http_get(fx->http, ok, NULL, 5000, 1024, done_cb, &a,
	    &cause));
	run_for(fx, 3000);
	assert_int_equal(a.called, 1);
	assert_int_equal(b.called, 0);
	assert_null(fx->http);
	/* Let the server notice the closed sockets. */
	run_for(fx, 50);
	outcome_clear(&a);
	outcome_clear(&b);
	free(ok);
	free(slow);
}

static void
test_many_parallel(void **state)
{
	struct fixture *fx = *state;
	enum { N = 64 };
	struct outcome o[N];
	char *u = url(fx, "/ok"), *cause = NULL;
	int i, countdown = N;

	memset(o, 0, sizeof(o));
	for (i = 0; i < N; i++) {
		o[i].fx = fx;
		o[i].countdown = &countdown;
		assert_non_null(http_get(fx->http, u, NULL, 5000, 1024,
		    done_cb, &o[i], &cause));
	}
	assert_int_equal(http_pending(fx->http), N);
	run_for(fx, 8000);
	assert_int_equal(countdown, 0);
	for (i = 0; i < N; i++) {
		assert_int_equal(o[i].called, 1);
		assert_true(o[i].ok);
		assert_int_equal(o[i].status, 200);
		outcome_clear(&o[i]);
	}
	assert_int_equal(fx->hits, N);
	assert_int_equal(http_pending(fx->http), 0);
	free(u);
}

static void
test_post_body_and_headers(void **state)
{
	struct fixture *fx = *state;
	struct outcome o = { 0 };
	char *u = url(fx, "/post"), *cause = NULL, *body;
	const char *hdrs[] = {
		"Authorization: OAuth oauth_signature=\"%26s3cret\"",
		"Content-Type: multipart/form-data; boundary=abc",
		NULL,
	};
	size_t i, n = 300 * 1024;

	/* Big enough for several writes, with NULs and CRLFs inside. */
	body = xmalloc(n);
	for (i = 0; i < n; i++)
		body[i] = (char)(i % 251);
	o.fx = fx;
	assert_non_null(http_post(fx->http, u, hdrs, body, n, 5000, 1024,
	    done_cb, &o, &cause));
	/* The engine copied the body: the caller's buffer may go now. */
	memset(body, 'x', n);
	run_for(fx, 6000);
	assert_int_equal(o.called, 1);
	assert_true(o.ok);
	assert_int_equal(o.status, 200);
	assert_string_equal(fx->last_method, "POST");
	assert_string_equal(fx->last_auth,
	    "OAuth oauth_signature=\"%26s3cret\"");
	assert_string_equal(fx->last_ctype,
	    "multipart/form-data; boundary=abc");
	assert_string_equal(fx->last_expect, "");
	assert_int_equal(fx->last_len, n);
	for (i = 0; i < n; i++)
		if (fx->last_body[i] != (char)(i % 251))
			fail_msg("body byte %zu differs", i);
	xasprintf(&cause, "got %zu", n);
	assert_string_equal(o.body, cause);
	free(cause);
	outcome_clear(&o);
	free(body);
	free(u);
}

static void
test_post_empty(void **state)
{
	struct fixture *fx = *state;
	struct outcome o = { 0 };
	char *u = url(fx, "/post"), *cause = NULL;

	o.fx = fx;
	assert_non_null(http_post(fx->http, u, NULL, NULL, 0, 2000, 1024,
	    done_cb, &o, &cause));
	run_for(fx, 3000);
	assert_true(o.ok);
	assert_int_equal(o.status, 200);
	assert_string_equal(fx->last_method, "POST");
	assert_int_equal(fx->last_len, 0);
	assert_string_equal(o.body, "got 0");
	outcome_clear(&o);
	free(u);
}

static void
test_response_date(void **state)
{
	struct fixture *fx = *state;
	struct outcome o = { 0 };
	char *u = url(fx, "/date"), *cause = NULL;
	time_t now = time(NULL);

	o.fx = fx;
	assert_non_null(http_post(fx->http, u, NULL, "x", 1, 2000, 1024,
	    done_cb, &o, &cause));
	run_for(fx, 3000);
	assert_true(o.ok);
	assert_int_equal(o.status, 401);
	assert_int_equal(o.date, 784111777);
	outcome_clear(&o);

	/* evhttp stamps its own Date on the others: the current time. */
	o.fx = fx;
	free(u);
	u = url(fx, "/ok");
	assert_non_null(http_get(fx->http, u, NULL, 2000, 1024, done_cb, &o,
	    &cause));
	run_for(fx, 3000);
	assert_true(o.ok);
	assert_true(o.date >= now - 2 && o.date <= now + 5);
	outcome_clear(&o);
	free(u);
}

static void
test_refused_post(void **state)
{
	struct fixture *fx = *state;
	struct outcome o = { 0 };
	char *cause = NULL;

	/* A transport failure has no status and no date. */
	o.fx = fx;
	assert_non_null(http_post(fx->http, "http://127.0.0.1:1/x", NULL, "x",
	    1, 2000, 1024, done_cb, &o, &cause));
	run_for(fx, 3000);
	assert_int_equal(o.called, 1);
	assert_false(o.ok);
	assert_int_equal(o.date, 0);
	assert_non_null(o.error);
	outcome_clear(&o);
}

static void
test_post_debug_masks_authorization(void **state)
{
	struct fixture *fx = *state;
	struct outcome o = { 0 };
	char *u = url(fx, "/post"), *cause = NULL, buf[65536];
	const char *hdrs[] = {
		"Authorization: OAuth oauth_signature=\"%26TopSecret42\"",
		NULL,
	};
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO);
	size_t n;

	/* Debug on: curl's request head is logged line by line, to stderr
	 * (captured here), with the Authorization line masked. */
	assert_non_null(tmp);
	fflush(stderr);
	dup2(fileno(tmp), STDERR_FILENO);
	log_set_debug(1);
	o.fx = fx;
	assert_non_null(http_post(fx->http, u, hdrs, "x", 1, 2000, 1024,
	    done_cb, &o, &cause));
	run_for(fx, 3000);
	log_set_debug(getenv("TEST_DEBUG") != NULL);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(tmp);
	n = fread(buf, 1, sizeof(buf) - 1, tmp);
	buf[n] = '\0';
	fclose(tmp);
	assert_true(o.ok);
	assert_string_equal(fx->last_auth,
	    "OAuth oauth_signature=\"%26TopSecret42\"");
	assert_non_null(strstr(buf, "curl > POST /post"));
	assert_non_null(strstr(buf, "curl > Authorization: <masked>"));
	assert_null(strstr(buf, "TopSecret42"));
	outcome_clear(&o);
	free(u);
}

/* --- http_get_to_fd --------------------------------------------------- */

struct stream_seen {
	uint64_t	bytes;
	int		restarts;	/* chunks at 0 after data */
	uint64_t	first_at;
	int		chunks;
};

static int
data_cb(const void *data, size_t len, uint64_t at, void *arg)
{
	struct outcome *o = arg;
	struct stream_seen *s = o->seen;

	if (s->chunks++ == 0)
		s->first_at = at;
	else if (at == 0)
		s->restarts++;
	s->bytes += len;
	return 0;
}

static void
fd_done_cb(const struct http_result *r, void *arg)
{
	struct outcome *o = arg;

	o->called++;
	o->ok = r->ok;
	o->status = r->status;
	o->len = r->file_size;	/* bytes in the file */
	o->date = r->partial;
	o->body = xmemdup(r->body, r->len + 1);
	o->error = r->error ? xstrdup(r->error) : NULL;
	event_base_loopbreak(o->fx->base);
}

/* The whole file, its bytes exactly (2 MiB never held in memory). */
static int
file_is_whole(int fd)
{
	char *buf = xmalloc(FILE_LEN + 1);
	ssize_t n = pread(fd, buf, FILE_LEN + 1, 0);
	size_t i;
	int ok = n == FILE_LEN;

	for (i = 0; ok && i < FILE_LEN; i++)
		ok = buf[i] == file_byte(i);
	free(buf);
	return ok;
}

static int
tmp_fd(void)
{
	char path[] = "/tmp/test_http.XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	return fd;
}

static void
test_get_to_fd(void **state)
{
	struct fixture *fx = *state;
	struct stream_seen seen = { 0 };
	struct outcome o = { 0 };
	char *u = url(fx, "/file"), *cause = NULL;
	int fd = tmp_fd();

	o.fx = fx;
	o.seen = &seen;
	assert_non_null(http_get_to_fd(fx->http, u, fd, 0, 2000, 2000,
	    data_cb, fd_done_cb, &o, &cause));
	run_for(fx, 5000);
	assert_int_equal(o.called, 1);
	assert_true(o.ok);
	assert_int_equal(o.status, 200);
	assert_int_equal(o.len, FILE_LEN);
	assert_int_equal(seen.bytes, FILE_LEN);
	assert_int_equal(o.date, 0);		/* not partial */
	assert_true(file_is_whole(fd));
	close(fd);
	outcome_clear(&o);
	free(u);
}

/* Resume: the first 1000 bytes are there; Range brings the rest (206). */
static void
test_get_to_fd_resume(void **state)
{
	struct fixture *fx = *state;
	struct stream_seen seen = { 0 };
	struct outcome o = { 0 };
	char *u = url(fx, "/file"), *cause = NULL, head[1000];
	int fd = tmp_fd();
	size_t i;

	for (i = 0; i < sizeof(head); i++)
		head[i] = file_byte(i);
	assert_int_equal(write(fd, head, sizeof(head)), sizeof(head));
	o.fx = fx;
	o.seen = &seen;
	assert_non_null(http_get_to_fd(fx->http, u, fd, 1000, 2000, 2000,
	    data_cb, fd_done_cb, &o, &cause));
	run_for(fx, 5000);
	assert_true(o.ok);
	assert_int_equal(o.status, 206);
	assert_int_equal(o.date, 1);		/* partial */
	assert_int_equal(seen.first_at, 1000);
	assert_int_equal(seen.bytes, FILE_LEN - 1000);
	assert_int_equal(o.len, FILE_LEN);
	assert_true(file_is_whole(fd));
	close(fd);
	outcome_clear(&o);
	free(u);
}

/* A server ignoring Range: the file is rewritten from 0, the callback
 * sees at == 0 first (the caller restarts its hash). */
static void
test_get_to_fd_range_ignored(void **state)
{
	struct fixture *fx = *state;
	struct stream_seen seen = { 0 };
	struct outcome o = { 0 };
	char *u = url(fx, "/file-norange"), *cause = NULL;
	int fd = tmp_fd();

	assert_int_equal(write(fd, "garbage-garbage", 15), 15);
	o.fx = fx;
	o.seen = &seen;
	assert_non_null(http_get_to_fd(fx->http, u, fd, 15, 2000, 2000,
	    data_cb, fd_done_cb, &o, &cause));
	run_for(fx, 5000);
	assert_true(o.ok);
	assert_int_equal(o.status, 200);
	assert_int_equal(o.date, 0);
	assert_int_equal(seen.first_at, 0);
	assert_int_equal(seen.bytes, FILE_LEN);
	assert_true(file_is_whole(fd));
	close(fd);
	outcome_clear(&o);
	free(u);
}

/* An error page goes to memory; the file is left alone. */
static void
test_get_to_fd_404(void **state)
{
	struct fixture *fx = *state;
	struct stream_seen seen = { 0 };
	struct outcome o = { 0 };
	char *u = url(fx, "/nothing"), *cause = NULL;
	int fd = tmp_fd();
	struct stat st;

	o.fx = fx;
	o.seen = &seen;
	assert_non_null(http_get_to_fd(fx->http, u, fd, 0, 2000, 2000,
	    data_cb, fd_done_cb, &o, &cause));
	run_for(fx, 5000);
	assert_true(o.ok);
	assert_int_equal(o.status, 404);
	assert_string_equal(o.body, "not here");
	assert_int_equal(seen.bytes, 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 0);
	close(fd);
	outcome_clear(&o);
	free(u);
}

/* --- http_get_stream: a sink that pauses ------------------------------- */

struct pause_sink {
	struct outcome		 o;		/* first: fd_done_cb's arg */
	struct fixture		*fx;
	struct http_request	*req;
	struct event		*resume_ev;
	char			*buf;		/* what the sink took */
	uint64_t		 next;		/* expected offset */
	int			 pauses, resumes, gaps, calls;
};

static int
pause_sink_cb(const void *data, size_t len, uint64_t at, void *arg)
{
	struct pause_sink *ps = arg;
	struct timeval tv = { 0, 2000 };

	ps->calls++;
	/* Every third call: "queue full", take nothing, resume later. */
	if (ps->calls % 3 == 0) {
		ps->pauses++;
		evtimer_add(ps->resume_ev, &tv);
		return HTTP_DATA_PAUSE;
	}
	if (at != ps->next || at + len > FILE_LEN) {
		ps->gaps++;
		return HTTP_DATA_ABORT;
	}
	memcpy(ps->buf + at, data, len);
	ps->next = at + len;
	return HTTP_DATA_OK;
}

static void
pause_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pause_sink *ps = arg;

	ps->resumes++;
	http_resume(ps->fx->http, ps->req);
}

/* Paused chunks come again after http_resume, in order, none lost. */
static void
test_get_stream_pause(void **state)
{
	struct fixture *fx = *state;
	struct pause_sink ps = { 0 };
	struct outcome *op = &ps.o;
	char *u = url(fx, "/file"), *cause = NULL;
	size_t i;
	int same = 1;

	ps.fx = fx;
	ps.buf = xmalloc(FILE_LEN);
	ps.resume_ev = evtimer_new(fx->base, pause_resume_cb, &ps);
	op->fx = fx;
	/* One arg for the sink and the done callback (as http.h says). */
	ps.req = http_get_stream(fx->http, u, 0, 2000, 2000, pause_sink_cb,
	    fd_done_cb, &ps, &cause);
	assert_non_null(ps.req);
	run_for(fx, 10000);
	assert_int_equal(op->called, 1);
	assert_true(op->ok);
	assert_int_equal(op->status, 200);
	assert_int_equal(op->len, FILE_LEN);
	assert_int_equal(ps.gaps, 0);
	assert_int_equal(ps.next, FILE_LEN);
	assert_true(ps.pauses > 0);
	assert_int_equal(ps.resumes, ps.pauses);
	for (i = 0; same && i < FILE_LEN; i++)
		same = ps.buf[i] == file_byte(i);
	assert_true(same);
	event_free(ps.resume_ev);
	free(ps.buf);
	outcome_clear(op);
	free(u);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_ipv6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_404_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_redirect, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_body_with_nul, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_body_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_header, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_url, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_from_callback,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_from_callback, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_many_parallel, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_post_body_and_headers,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_post_empty, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_response_date, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_refused_post, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_post_debug_masks_authorization, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_to_fd, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_get_to_fd_resume, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_get_to_fd_range_ignored,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_to_fd_404, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_get_stream_pause, setup,
		    teardown),
	};

	/* The in-process server writes to sockets the client dropped. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
