/*
 * test_httpd.c — httpd_codec.c: request heads, Range, path sanitising,
 * the head a /MAAS/ request is proxied with, upstream lists and order.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <unistd.h>

#include <event2/event.h>

#include "httpd.h"
#include "httpd_codec.h"

static void
test_head_parse(void **state)
{
	static const char ok[] = "GET /images/a?b HTTP/1.1\r\nHost: r:5248\r\n"
	    "X-Forwarded-For:  10.0.0.1 \r\nhost: second\r\n";
	static const char *const bad[] = {
		"GET /x\r\n", "GET  /x HTTP/1.1\r\n", "GET /x HTTP/2.0\r\n",
		"G@T /x HTTP/1.1\r\n", "GET /x HTTP/1.1\r\nNoColon\r\n",
		"GET /x HTTP/1.1\r\n folded\r\n", "GET /x HTTP/1.1\r\n: v\r\n",
		"GET /x y HTTP/1.1\r\n",
		/* Found by fuzz_httpd: a bare CR would split the proxied head. */
		"GET /x HTTP/1.1\r\nHost: a\rInjected: 1\r\n",
		"GET /x HTTP/1.1\r\nA: \x01\r\n", "GET /x\x7f HTTP/1.1\r\n",
	};
	struct httpd_head hd;
	char *cause = NULL;
	size_t i;

	assert_int_equal(httpd_head_parse(ok, sizeof ok - 1, &hd, &cause), 0);
	assert_string_equal(hd.method, "GET");
	assert_string_equal(hd.target, "/images/a?b");
	assert_int_equal(hd.minor, 1);
	assert_int_equal(hd.nh, 3);
	assert_string_equal(httpd_head_get(&hd, "HOST"), "r:5248");
	assert_string_equal(httpd_head_get(&hd, "x-forwarded-for"), "10.0.0.1");
	assert_null(httpd_head_get(&hd, "Range"));
	httpd_head_clear(&hd);

	/* LF-only lines, HTTP/1.0. */
	assert_int_equal(httpd_head_parse("HEAD / HTTP/1.0\nA: b\n", 21, &hd,
	    &cause), 0);
	assert_int_equal(hd.minor, 0);
	assert_string_equal(httpd_head_get(&hd, "a"), "b");
	httpd_head_clear(&hd);

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cause = NULL;
		assert_int_equal(httpd_head_parse(bad[i], strlen(bad[i]), &hd,
		    &cause), -1);
		assert_non_null(cause);
		assert_null(hd.method);
		free(cause);
	}
	/* A NUL inside the head. */
	cause = NULL;
	assert_int_equal(httpd_head_parse("GET /\0 HTTP/1.1\r\n", 17, &hd,
	    &cause), -1);
	free(cause);
}

static void
test_range(void **state)
{
	uint64_t a = 0, b = 0;

	assert_int_equal(httpd_range_parse(NULL, 100, &a, &b), HTTPD_RANGE_NONE);
	assert_int_equal(httpd_range_parse("bytes=0-9", 100, &a, &b),
	    HTTPD_RANGE_OK);
	assert_true(a == 0 && b == 9);
	assert_int_equal(httpd_range_parse("bytes=90-", 100, &a, &b),
	    HTTPD_RANGE_OK);
	assert_true(a == 90 && b == 99);
	assert_int_equal(httpd_range_parse("bytes=50-1000", 100, &a, &b),
	    HTTPD_RANGE_OK);
	assert_true(a == 50 && b == 99);
	assert_int_equal(httpd_range_parse("bytes=-10", 100, &a, &b),
	    HTTPD_RANGE_OK);
	assert_true(a == 90 && b == 99);
	assert_int_equal(httpd_range_parse("bytes=-1000", 100, &a, &b),
	    HTTPD_RANGE_OK);
	assert_true(a == 0 && b == 99);
	assert_int_equal(httpd_range_parse("bytes=100-", 100, &a, &b),
	    HTTPD_RANGE_UNSAT);
	assert_int_equal(httpd_range_parse("bytes=-0", 100, &a, &b),
	    HTTPD_RANGE_UNSAT);
	assert_int_equal(httpd_range_parse("bytes=0-", 0, &a, &b),
	    HTTPD_RANGE_UNSAT);
	/* Ignored: whole file. */
	assert_int_equal(httpd_range_parse("bytes=0-1,5-6", 100, &a, &b),
	    HTTPD_RANGE_NONE);
	assert_int_equal(httpd_range_parse("bytes=9-1", 100, &a, &b),
	    HTTPD_RANGE_NONE);
	assert_int_equal(httpd_range_parse("items=0-1", 100, &a, &b),
	    HTTPD_RANGE_NONE);
	assert_int_equal(httpd_range_parse("bytes=x-1", 100, &a, &b),
	    HTTPD_RANGE_NONE);
	assert_int_equal(httpd_range_parse("bytes=99999999999999999999-",
	    100, &a, &b), HTTPD_RANGE_NONE);
}

static void
test_path(void **state)
{
	char out[64];

	assert_int_equal(httpd_path_sanitise("/images/a/b?x=..", out,
	    sizeof out), 0);
	assert_string_equal(out, "images/a/b");
	assert_int_equal(httpd_path_sanitise("//a/./b//", out, sizeof out), 0);
	assert_string_equal(out, "a/b");
	assert_int_equal(httpd_path_sanitise("/", out, sizeof out), 0);
	assert_string_equal(out, "");
	assert_int_equal(httpd_path_sanitise("/ipxe.cfg-52%3A54%3a00", out,
	    sizeof out), 0);
	assert_string_equal(out, "ipxe.cfg-52:54:00");
	assert_int_equal(httpd_path_sanitise("/images/../x", out, sizeof out),
	    403);
	assert_int_equal(httpd_path_sanitise("/images/%2e%2e/x", out,
	    sizeof out), 403);
	assert_int_equal(httpd_path_sanitise("/a/%2E%2E", out, sizeof out), 403);
	assert_int_equal(httpd_path_sanitise("/a%00b", out, sizeof out), 400);
	assert_int_equal(httpd_path_sanitise("/a%4", out, sizeof out), 400);
	assert_int_equal(httpd_path_sanitise("/a%zz", out, sizeof out), 400);
	assert_int_equal(httpd_path_sanitise("a/b", out, sizeof out), 400);
	assert_int_equal(httpd_path_sanitise("http://h/a", out, sizeof out),
	    400);
	/* Too long for out. */
	assert_int_equal(httpd_path_sanitise("/aaaaaaaaaa/bbbbbbbbbb", out, 8),
	    400);
}

/* An encoded slash decodes into a separator: "..%2f" is a ".." segment. */
static void
test_path_encoded_slash(void **state)
{
	char out[64];

	assert_int_equal(httpd_path_sanitise("/a/..%2fetc", out, sizeof out),
	    403);
}

static void
test_proxy_head(void **state)
{
	static const char req[] = "POST /MAAS/metadata/x?op=signal HTTP/1.1\r\n"
	    "Host: 10-0-0-0--24.maas-internal:5248\r\n"
	    "Connection: keep-alive, X-Private\r\nX-Private: 1\r\n"
	    "Keep-Alive: 5\r\nTransfer-Encoding: identity\r\nTE: trailers\r\n"
	    "Upgrade: h2c\r\nX-Real-IP: 6.6.6.6\r\nX-Forwarded-For: 10.9.9.9\r\n"
	    "Authorization: OAuth a=b\r\nContent-Length: 5\r\n"
	    "Expect: 100-continue\r\n";
	struct httpd_head hd;
	char *cause = NULL, *out;

	assert_int_equal(httpd_head_parse(req, sizeof req - 1, &hd, &cause), 0);
	out = httpd_proxy_head(&hd, "10.0.0.7");
	assert_string_equal(out,
	    "POST /MAAS/metadata/x?op=signal HTTP/1.0\r\n"
	    "Host: 10-0-0-0--24.maas-internal:5248\r\n"
	    "X-Real-IP: 10.0.0.7\r\n"
	    "X-Forwarded-Host: 10-0-0-0--24.maas-internal:5248\r\n"
	    "X-Forwarded-Server: 10-0-0-0--24.maas-internal\r\n"
	    "X-Forwarded-Proto: http\r\n"
	    "X-Forwarded-For: 10.9.9.9, 10.0.0.7\r\n"
	    "Connection: close\r\n"
	    "Authorization: OAuth a=b\r\n"
	    "Content-Length: 5\r\n"
	    "\r\n");
	free(out);
	httpd_head_clear(&hd);

	/* No Host (HTTP/1.0): no Host, X-Forwarded-Host/Server sent;
	 * an IPv6 Host keeps its brackets in X-Forwarded-Server. */
	assert_int_equal(httpd_head_parse("GET /MAAS/ HTTP/1.0\r\n", 21, &hd,
	    &cause), 0);
	out = httpd_proxy_head(&hd, "::1");
	assert_string_equal(out, "GET /MAAS/ HTTP/1.0\r\nX-Real-IP: ::1\r\n"
	    "X-Forwarded-Proto: http\r\nX-Forwarded-For: ::1\r\n"
	    "Connection: close\r\n\r\n");
	free(out);
	httpd_head_clear(&hd);
	assert_int_equal(httpd_head_parse("GET /MAAS/ HTTP/1.1\r\n"
	    "Host: [FD00::1]:5248\r\n", 43, &hd, &cause), 0);
	out = httpd_proxy_head(&hd, "fd00::9");
	assert_non_null(strstr(out, "X-Forwarded-Server: [fd00::1]\r\n"));
	assert_non_null(strstr(out, "Host: [FD00::1]:5248\r\n"));
	free(out);
	httpd_head_clear(&hd);
}

static void
test_upstreams(void **state)
{
	const char *hosts[] = { "10.0.0.3", "::ffff:10.0.0.2", "fd00::1",
	    "10.0.0.2", "10.0.0.3" };
	char **ups;
	size_t n, i;

	n = httpd_upstreams(hosts, 5, 5240, &ups);
	assert_int_equal(n, 3);
	assert_string_equal(ups[0], "10.0.0.2:5240");
	assert_string_equal(ups[1], "10.0.0.3:5240");
	assert_string_equal(ups[2], "[fd00::1]:5240");
	assert_null(ups[3]);
	for (i = 0; i < n; i++)
		free(ups[i]);
	free(ups);
	n = httpd_upstreams(NULL, 0, 5240, &ups);
	assert_int_equal(n, 0);
	assert_null(ups[0]);
	free(ups);
}

static void
test_order(void **state)
{
	char a[] = "a:1", b[] = "b:1", c[] = "c:1";
	char *ups[3];
	struct httpd_penalty pen[2] = { { b, 2000 }, { c, 500 } };

	ups[0] = a; ups[1] = b; ups[2] = c;
	httpd_upstreams_order(ups, 3, 1, NULL, 0, 1000);
	assert_ptr_equal(ups[0], b);
	assert_ptr_equal(ups[1], c);
	assert_ptr_equal(ups[2], a);
	/* b penalised until 2000 (now 1000): last; c's penalty expired. */
	ups[0] = a; ups[1] = b; ups[2] = c;
	httpd_upstreams_order(ups, 3, 1, pen, 2, 1000);
	assert_ptr_equal(ups[0], c);
	assert_ptr_equal(ups[1], a);
	assert_ptr_equal(ups[2], b);
	httpd_upstreams_order(ups, 0, 7, pen, 2, 1000);
}

static void
test_url_hostport(void **state)
{
	char *s;

	s = httpd_url_hostport("http://10.0.0.2:5240/MAAS");
	assert_string_equal(s, "10.0.0.2:5240");
	free(s);
	s = httpd_url_hostport("http://maas.example/MAAS");
	assert_string_equal(s, "maas.example:80");
	free(s);
	s = httpd_url_hostport("http://[fd00::2]:5240/MAAS");
	assert_string_equal(s, "[fd00::2]:5240");
	free(s);
	s = httpd_url_hostport("http://[fd00::2]/MAAS");
	assert_string_equal(s, "[fd00::2]:80");
	free(s);
	assert_null(httpd_url_hostport("https://h/MAAS"));
	assert_null(httpd_url_hostport("http:///MAAS"));
}

static void
test_misc(void **state)
{
	char buf[64];

	assert_string_equal(httpd_mime_type("a/b.HTML"), "text/html");
	assert_string_equal(httpd_mime_type("ubuntu/amd64/squashfs"),
	    "application/octet-stream");
	assert_string_equal(httpd_mime_type("a.d/boot-kernel"),
	    "application/octet-stream");
	httpd_http_date(784111777, buf, sizeof buf);
	assert_string_equal(buf, "Sun, 06 Nov 1994 08:49:37 GMT");
	assert_string_equal(httpd_reason(416), "Range Not Satisfiable");
}

/* --- the server in-process: the boot handler hook -------------------- */

struct srv {
	struct event_base	*base;
	struct httpd_request	*later;		/* answered by a timer */
	struct event		*timer, *poll;
	pid_t			 child;
	int			 status;
	int			 seen;		/* handler calls */
	char			 local[64], remote[64];
	int			 local_port;
};

static void
later_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct srv *s = arg;

	if (s->later != NULL)
		httpd_reply(s->later, 200, "text/plain", "async", 5);
	s->later = NULL;
}

static int
boot_handler(void *arg, struct httpd_request *req,
    const struct httpd_boot_info *bi)
{
	struct srv *s = arg;
	struct timeval tv = { 0, 200000 };

	s->seen++;
	if (strcmp(bi->path, "sync.cfg") == 0) {
		httpd_reply(req, 200, "text/plain", "sync", 4);
		return HTTPD_BOOT_TAKEN;
	}
	if (strcmp(bi->path, "async.cfg") == 0 ||
	    strcmp(bi->path, "gone.cfg") == 0) {
		if (strcmp(bi->path, "async.cfg") == 0) {
			snprintf(s->local, sizeof s->local, "%s", bi->local_ip);
			snprintf(s->remote, sizeof s->remote, "%s",
			    bi->remote_ip);
			s->local_port = bi->local_port;
		}
		s->later = req;
		evtimer_add(s->timer, &tv);
		return HTTPD_BOOT_TAKEN;
	}
	if (strcmp(bi->path, "missing.cfg") == 0) {
		httpd_reply(req, 404, NULL, NULL, 0);
		return HTTPD_BOOT_TAKEN;
	}
	return HTTPD_BOOT_DECLINED;
}

static void
poll_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct srv *s = arg;

	if (waitpid(s->child, &s->status, WNOHANG) == s->child)
		event_base_loopbreak(s->base);
}

static int
free_tcp_port(void)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof sin;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&sin, sizeof sin);
	getsockname(fd, (struct sockaddr *)&sin, &sl);
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

/* Child side: one request, the whole answer into buf; -1 on error. */
static ssize_t
fetch(int port, const char *req, char *buf, size_t cap, int close_early)
{
	struct sockaddr_in sin;
	ssize_t n, got = 0;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) == -1)
		return -1;
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
		return -1;
	if (close_early) {
		close(fd);
		return 0;
	}
	while (got + 1 < (ssize_t)cap &&
	    (n = read(fd, buf + got, cap - 1 - (size_t)got)) > 0)
		got += n;
	buf[got] = '\0';
	close(fd);
	return got;
}

static int
child_main(int ext, int in)
{
	char buf[4096];

	if (fetch(ext, "GET /sync.cfg HTTP/1.1\r\nConnection: close\r\n\r\n",
	    buf, sizeof buf, 0) < 0 || strncmp(buf, "HTTP/1.1 200 ", 13) != 0 ||
	    strstr(buf, "\r\n\r\nsync") == NULL)
		return 1;
	if (fetch(in, "GET /boot/async.cfg HTTP/1.1\r\nConnection: close\r\n"
	    "X-Server-Addr: 10.0.0.2\r\nX-Server-Port: 5248\r\n"
	    "X-Forwarded-For: 10.0.0.77\r\n\r\n", buf, sizeof buf, 0) < 0 ||
	    strstr(buf, "\r\n\r\nasync") == NULL)
		return 2;
	if (fetch(ext, "HEAD /missing.cfg HTTP/1.1\r\nConnection: close\r\n"
	    "\r\n", buf, sizeof buf, 0) < 0 ||
	    strncmp(buf, "HTTP/1.1 404 ", 13) != 0)
		return 3;
	/* The client leaves before the handler answers. */
	if (fetch(ext, "GET /gone.cfg HTTP/1.1\r\n\r\n", buf, sizeof buf,
	    1) < 0)
		return 4;
	usleep(400000);
	/* Declined: the plain file. */
	if (fetch(ext, "GET /plain.txt HTTP/1.0\r\n\r\n", buf, sizeof buf,
	    0) < 0 || strstr(buf, "\r\n\r\nplain\n") == NULL)
		return 5;
	return 0;
}

static void
test_boot_handler(void **state)
{
	char root[] = "/tmp/test_httpd.XXXXXX", path[256];
	struct httpd_params p;
	struct httpd *h;
	struct srv s;
	struct timeval tv = { 0, 50000 };
	struct httpd_stats st;
	char *cause = NULL, info[256];
	int internal;
	FILE *f;

	assert_non_null(mkdtemp(root));
	snprintf(path, sizeof path, "%s/plain.txt", root);
	f = fopen(path, "w");
	fputs("plain\n", f);
	fclose(f);
	memset(&s, 0, sizeof s);
	memset(&p, 0, sizeof p);
	s.base = event_base_new();
	p.port = free_tcp_port();
	p.internal_port = free_tcp_port();
	p.bind = "127.0.0.1";
	p.root = root;
	h = httpd_new(s.base, &p);
	httpd_set_boot_handler(h, boot_handler, &s);
	assert_int_equal(httpd_start(h, &cause), 0);
	assert_string_equal(httpd_service_status(h, info, sizeof info),
	    "running");
	s.timer = evtimer_new(s.base, later_cb, &s);
	s.poll = event_new(s.base, -1, EV_PERSIST, poll_cb, &s);
	event_add(s.poll, &tv);
	if ((s.child = fork()) == 0)
		_exit(child_main(p.port, p.internal_port));
	event_base_dispatch(s.base);
	assert_true(WIFEXITED(s.status));
	assert_int_equal(WEXITSTATUS(s.status), 0);
	assert_int_equal(s.seen, 5);
	/* /boot/ on the internal port: the machine's addresses from the
	 * headers nginx would set. */
	assert_string_equal(s.remote, "10.0.0.77");
	assert_string_equal(s.local, "10.0.0.2");
	assert_int_equal(s.local_port, 5248);
	/* The counters rackd status shows: four taken by the handler, one
	 * plain file, nothing else. */
	httpd_get_stats(h, &st);
	assert_int_equal(st.requests[HTTPD_KIND_BOOT_CONFIG], 4);
	assert_int_equal(st.requests[HTTPD_KIND_FILE], 1);
	assert_int_equal(st.requests[HTTPD_KIND_IMAGES] +
	    st.requests[HTTPD_KIND_PROXY] + st.requests[HTTPD_KIND_LOG] +
	    st.requests[HTTPD_KIND_METRICS] + st.requests[HTTPD_KIND_OTHER], 0);
	assert_true(st.bytes_sent > 0);
	assert_string_equal(st.proxy_region, "");
	assert_string_equal(httpd_kind_name(HTTPD_KIND_BOOT_CONFIG),
	    "boot_config");
	snprintf(path, sizeof path, "127.0.0.1:%d", p.port);
	assert_string_equal(httpd_listener_name(h, 0, &internal), path);
	assert_int_equal(internal, 0);
	snprintf(path, sizeof path, "127.0.0.1:%d", p.internal_port);
	assert_string_equal(httpd_listener_name(h, 1, &internal), path);
	assert_int_equal(internal, 1);
	assert_null(httpd_listener_name(h, 2, &internal));
	snprintf(path, sizeof path, "%s/plain.txt", root);
	httpd_free(h);
	event_free(s.timer);
	event_free(s.poll);
	event_base_free(s.base);
	unlink(path);
	rmdir(root);
}

/* Both ports taken: httpd_start fails with the cause; status dead. */
static void
test_bind_failure(void **state)
{
	struct event_base *base = event_base_new();
	struct httpd_params p;
	struct httpd *a, *b;
	char *cause = NULL, info[256];

	memset(&p, 0, sizeof p);
	p.port = free_tcp_port();
	p.bind = "127.0.0.1, 256.1.1.1";
	p.root = "/nonexistent";
	a = httpd_new(base, &p);
	assert_int_equal(httpd_start(a, &cause), 0);
	assert_string_equal(httpd_service_status(a, info, sizeof info),
	    "degraded");
	assert_non_null(strstr(info, "'256.1.1.1' is not an IP address"));
	b = httpd_new(base, &p);
	assert_int_equal(httpd_start(b, &cause), -1);
	assert_non_null(strstr(cause, "Address already in use"));
	free(cause);
	assert_string_equal(httpd_service_status(b, info, sizeof info), "dead");
	httpd_free(a);
	httpd_free(b);
	p.port = 0;
	a = httpd_new(base, &p);
	assert_string_equal(httpd_service_status(a, info, sizeof info), "off");
	httpd_free(a);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_head_parse),
		cmocka_unit_test(test_range),
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_path_encoded_slash),
		cmocka_unit_test(test_proxy_head),
		cmocka_unit_test(test_upstreams),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_url_hostport),
		cmocka_unit_test(test_misc),
		cmocka_unit_test(test_boot_handler),
		cmocka_unit_test(test_bind_failure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
