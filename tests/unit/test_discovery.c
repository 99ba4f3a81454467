/*
 * test_discovery.c — URL rewriting, /rpc/ document parsing, and the
 * discovery service against a real evhttp server on 127.0.0.1 running in
 * the same event_base.
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
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "discovery.h"
#include "http.h"
#include "log.h"
#include "xmalloc.h"

/* --- pure half --------------------------------------------------------- */

static void
test_rpc_url(void **state)
{
	static const struct {
		const char *in, *out;
	} t[] = {
		{ "http://10.0.0.2:5240/MAAS", "http://10.0.0.2:5240/MAAS/rpc/" },
		{ "http://10.0.0.2:5240/MAAS/", "http://10.0.0.2:5240/MAAS/rpc/" },
		{ "http://10.0.0.2:5240/MAAS//", "http://10.0.0.2:5240/MAAS/rpc/" },
		{ "http://10.0.0.2:5240", "http://10.0.0.2:5240/rpc/" },
		{ "http://10.0.0.2:5240/", "http://10.0.0.2:5240/rpc/" },
		{ "https://maas.example/MAAS", "https://maas.example/MAAS/rpc/" },
		{ "http://[2001:db8::2]:5240/MAAS",
		    "http://[2001:db8::2]:5240/MAAS/rpc/" },
		{ "http://[::1]/MAAS/", "http://[::1]/MAAS/rpc/" },
		{ "http://h:5240/MAAS/?a=1&b=2",
		    "http://h:5240/MAAS/rpc/?a=1&b=2" },
		{ "http://h/MAAS?x#frag", "http://h/MAAS/rpc/?x#frag" },
		{ "HTTP://h/a/b/", "HTTP://h/a/b/rpc/" },
	};
	char *out, *cause = NULL;
	size_t i;

	for (i = 0; i < RACKD_NELEM(t); i++) {
		out = discovery_rpc_url(t[i].in, &cause);
		if (out == NULL)
			fail_msg("%s: %s", t[i].in, cause);
		assert_string_equal(out, t[i].out);
		free(out);
	}
}

static void
test_rpc_url_bad(void **state)
{
	static const struct {
		const char *in, *want;
	} t[] = {
		{ "ftp://h/MAAS", "not http or https" },
		{ "10.0.0.2:5240/MAAS", "no scheme" },
		{ "http:///MAAS", "no host" },
		{ "http://[]:80/", "no host" },
		{ "http://[::1/MAAS", "unterminated" },
		{ "http://h:80x/MAAS", "bad port" },
	};
	char *cause;
	size_t i;

	for (i = 0; i < RACKD_NELEM(t); i++) {
		cause = NULL;
		assert_null(discovery_rpc_url(t[i].in, &cause));
		assert_non_null(cause);
		if (strstr(cause, t[i].want) == NULL)
			fail_msg("%s: cause '%s' lacks '%s'", t[i].in, cause,
			    t[i].want);
		free(cause);
	}
}

static void
test_host_header(void **state)
{
	static const struct {
		const char *in, *out;
	} t[] = {
		{ "http://10.0.0.2:5240/MAAS", "10.0.0.2" },
		{ "http://maas.example/MAAS", "maas.example" },
		{ "http://[2001:db8::2]:5240/MAAS", "[2001:db8::2]" },
		{ "http://[::1]/MAAS", "[::1]" },
		{ "http://user:pw@region:5240/MAAS", "region" },
		{ "http://region?x=1", "region" },
	};
	char *out, *cause = NULL;
	size_t i;

	for (i = 0; i < RACKD_NELEM(t); i++) {
		out = discovery_host_header(t[i].in, &cause);
		assert_non_null(out);
		assert_string_equal(out, t[i].out);
		free(out);
	}
}

static struct disc_doc *
parse_ok(const char *s)
{
	struct disc_doc *doc;
	char *cause = NULL;

	doc = discovery_parse(s, strlen(s), &cause);
	if (doc == NULL)
		fail_msg("'%s': %s", s, cause);
	return doc;
}

static void
test_parse_good(void **state)
{
	struct disc_doc *doc;
	size_t nregions;
	char *dump;

	doc = parse_ok("{\"eventloops\": {"
	    "\"region2:pid=2201\": [[\"10.0.0.3\", 5250]],"
	    "\"region1:pid=12346\": [[\"10.0.0.2\", 5251], "
	    "[\"2001:db8::2\", 5251]],"
	    "\"region1:pid=12345\": [[\"10.0.0.2\", 5250], "
	    "[\"192.168.10.2\", 5250]]}, \"other\": 1}");
	assert_int_equal(discovery_doc_count(doc, &nregions), 3);
	assert_int_equal(nregions, 2);
	/* Sorted by name. */
	assert_string_equal(doc->loops[0].name, "region1:pid=12345");
	assert_string_equal(doc->loops[1].name, "region1:pid=12346");
	assert_string_equal(doc->loops[2].name, "region2:pid=2201");
	assert_int_equal(doc->loops[0].naddrs, 2);
	assert_string_equal(doc->loops[0].addrs[1].host, "192.168.10.2");
	assert_int_equal(doc->loops[0].addrs[1].port, 5250);
	assert_string_equal(doc->loops[1].addrs[1].host, "2001:db8::2");
	assert_int_equal(doc->loops[1].addrs[1].port, 5251);

	/* Dump and parse again: same document. */
	dump = discovery_doc_dump(doc);
	assert_string_equal(dump, "{\"eventloops\":{"
	    "\"region1:pid=12345\":[[\"10.0.0.2\",5250],"
	    "[\"192.168.10.2\",5250]],"
	    "\"region1:pid=12346\":[[\"10.0.0.2\",5251],"
	    "[\"2001:db8::2\",5251]],"
	    "\"region2:pid=2201\":[[\"10.0.0.3\",5250]]}}");
	discovery_doc_free(doc);
	doc = parse_ok(dump);
	assert_int_equal(discovery_doc_count(doc, NULL), 3);
	free(dump);
	discovery_doc_free(doc);

	doc = parse_ok("{\"eventloops\": {\"r:pid=1\": [[\"::1\", 1], "
	    "[\"::ffff:127.0.0.1\", 65535]]}}");
	assert_int_equal(doc->loops[0].addrs[1].port, 65535);
	discovery_doc_free(doc);
}

static void
test_parse_empty(void **state)
{
	static const char *t[] = {
		"{}",
		"{\"eventloops\": null}",
		"{\"eventloops\": {}}",
		"  {\"eventloops\": {}}\n",
	};
	struct disc_doc *doc;
	size_t i, nr;

	for (i = 0; i < RACKD_NELEM(t); i++) {
		doc = parse_ok(t[i]);
		assert_int_equal(discovery_doc_count(doc, &nr), 0);
		assert_int_equal(nr, 0);
		discovery_doc_free(doc);
	}
	assert_int_equal(discovery_doc_count(NULL, &nr), 0);
}

static void
test_parse_bad(void **state)
{
	static const struct {
		const char *in, *want;
	} t[] = {
		{ "", "not JSON: " },
		{ "<html>nope</html>", "not JSON: " },
		{ "{\"eventloops\": {}", "not JSON: " },
		{ "{\"eventloops\":\n {\"a\": [[\"1.2.3.4\", 1]],}}",
		    "at line 2 column" },
		{ "[]", "top level is not an object" },
		{ "\"x\"", "top level is not an object" },
		{ "{\"eventloops\": []}", "'eventloops' is not an object" },
		{ "{\"eventloops\": 3}", "'eventloops' is not an object" },
		{ "{\"eventloops\": {\"x\": 1}}",
		    "event loop 'x': not a list of [address, port]" },
		{ "{\"eventloops\": {\"x\": [[\"1.2.3.4\", 1], 5]}}",
		    "event loop 'x': entry 2 is not [address, port]" },
		{ "{\"eventloops\": {\"x\": [[\"1.2.3.4\"]]}}",
		    "event loop 'x': entry 1 is not [address, port]" },
		{ "{\"eventloops\": {\"x\": [[\"1.2.3.4\", 1, 2]]}}",
		    "event loop 'x': entry 1 is not [address, port]" },
		{ "{\"eventloops\": {\"x\": [[\"1.2.3.4\", \"5250\"]]}}",
		    "event loop 'x': entry 1 is not [address, port]" },
		{ "{\"eventloops\": {\"x\": [[1234, 5250]]}}",
		    "event loop 'x': entry 1 is not [address, port]" },
		{ "{\"eventloops\": {\"x\": [[\"1.2.3.4\", 5250.0]]}}",
		    "event loop 'x': entry 1 is not [address, port]" },
		{ "{\"eventloops\": {\"x\": [[\"1.2.3.4\", 70000]]}}",
		    "event loop 'x': port 70000 out of range" },
		{ "{\"eventloops\": {\"x\": [[\"1.2.3.4\", 0]]}}",
		    "event loop 'x': port 0 out of range" },
		{ "{\"eventloops\": {\"x\": [[\"1.2.3.4\", -1]]}}",
		    "event loop 'x': port -1 out of range" },
		{ "{\"eventloops\": {\"x\": [[\"1.2.3\", 5250]]}}",
		    "event loop 'x': '1.2.3' is not an IP address" },
		{ "{\"eventloops\": {\"x\": [[\"region.example\", 5250]]}}",
		    "event loop 'x': 'region.example' is not an IP address" },
		{ "{\"eventloops\": {\"x\": [[\"fe80::1%eth0\", 5250]]}}",
		    "is not an IP address" },
		{ "{\"eventloops\": {\"ok\": [[\"::1\", 1]], "
		    "\"y\": [[\"::1\", 99999]]}}",
		    "event loop 'y': port 99999 out of range" },
	};
	struct disc_doc *doc;
	char *cause;
	size_t i;

	for (i = 0; i < RACKD_NELEM(t); i++) {
		cause = NULL;
		doc = discovery_parse(t[i].in, strlen(t[i].in), &cause);
		if (doc != NULL)
			fail_msg("'%s' parsed", t[i].in);
		assert_non_null(cause);
		if (strstr(cause, t[i].want) == NULL)
			fail_msg("'%s': cause '%s' lacks '%s'", t[i].in, cause,
			    t[i].want);
		free(cause);
	}
}

static void
test_parse_nul(void **state)
{
	static const char body[] = "{\"eventloops\": {}}\0garbage";
	static const char body2[] = "{\"eventloops\": {\"a\0b\": []}}";
	char *cause = NULL;

	/* len covers the NUL: the trailing bytes make it invalid. */
	assert_null(discovery_parse(body, sizeof(body) - 1, &cause));
	assert_non_null(strstr(cause, "not JSON"));
	free(cause);
	cause = NULL;
	assert_null(discovery_parse(body2, sizeof(body2) - 1, &cause));
	assert_non_null(strstr(cause, "not JSON"));
	free(cause);
	/* Unprintable loop names are not echoed raw into the cause. */
	cause = NULL;
	{
		const char *esc = "{\"eventloops\": {\"a\\u001bb\": 1}}";

		assert_null(discovery_parse(esc, strlen(esc), &cause));
	}
	assert_non_null(strstr(cause, "'a?b'"));
	free(cause);
}

/* --- service ----------------------------------------------------------- */

#define DOC2 "{\"eventloops\": {\"region1:pid=1\": [[\"127.0.0.1\", 5250]], " \
	"\"region1:pid=2\": [[\"127.0.0.1\", 5251]]}}"
#define DOC3 "{\"eventloops\": {\"region1:pid=1\": [[\"127.0.0.1\", 5250]], " \
	"\"region1:pid=2\": [[\"127.0.0.1\", 5251]], " \
	"\"region2:pid=7\": [[\"::1\", 5250]]}}"

struct fixture {
	struct event_base	*base;
	struct evhttp		*srv;
	struct http		*http;
	struct discovery	*disc;
	int			 port;
	int			 dead_port;
	char			 dir[64];
	char			 last_host[128];
	int			 hits;
	/* callback record */
	int			 rounds;
	int			 stop_after;
	size_t			 nloops;
	int			 got_doc;
	int			 from_saved;
	char			 url[256];
	int			 run_again;	/* callback calls discovery_run */
	int			 free_in_cb;
};

static void
srv_cb(struct evhttp_request *req, void *arg)
{
	struct fixture *fx = arg;
	const char *uri = evhttp_request_get_uri(req), *v;
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	struct evbuffer *b = evbuffer_new();
	size_t i;

	fx->hits++;
	v = evhttp_find_header(evhttp_request_get_input_headers(req), "Host");
	snprintf(fx->last_host, sizeof(fx->last_host), "%s", v ? v : "");
	evhttp_add_header(out, "Content-Type", "application/json");
	if (strcmp(uri, "/two/MAAS/rpc/") == 0) {
		evbuffer_add_printf(b, DOC2);
		evhttp_send_reply(req, 200, "OK", b);
	} else if (strcmp(uri, "/three/MAAS/rpc/") == 0 ||
	    strcmp(uri, "/MAAS/rpc/") == 0) {
		/* The second form: the "dead" URL once it is revived. */
		evbuffer_add_printf(b, DOC3);
		evhttp_send_reply(req, 200, "OK", b);
	} else if (strcmp(uri, "/empty/MAAS/rpc/") == 0) {
		evbuffer_add_printf(b, "{\"eventloops\": {}}");
		evhttp_send_reply(req, 200, "OK", b);
	} else if (strcmp(uri, "/starting/MAAS/rpc/") == 0) {
		evbuffer_add_printf(b, "starting");
		evhttp_send_reply(req, 503, "Service Unavailable", b);
	} else if (strcmp(uri, "/html/MAAS/rpc/") == 0) {
		evhttp_remove_header(out, "Content-Type");
		evhttp_add_header(out, "Content-Type",
		    "text/html; charset=utf-8");
		evbuffer_add_printf(b, "<html>login</html>");
		evhttp_send_reply(req, 200, "OK", b);
	} else if (strcmp(uri, "/huge/MAAS/rpc/") == 0) {
		for (i = 0; i < 2 * 1024 * 1024 / 64; i++)
			evbuffer_add_printf(b, "%063d\n", 0);
		evhttp_send_reply(req, 200, "OK", b);
	} else if (strcmp(uri, "/nonjson404/MAAS/rpc/") == 0) {
		evhttp_remove_header(out, "Content-Type");
		evhttp_add_header(out, "Content-Type", "text/plain");
		evbuffer_add_printf(b, "nope");
		evhttp_send_reply(req, 404, "Not Found", b);
	} else if (strcmp(uri, "/slow/MAAS/rpc/") == 0) {
		evbuffer_free(b);
		return;		/* never answers */
	} else {
		evbuffer_add_printf(b, "{}");
		evhttp_send_reply(req, 404, "Not Found", b);
	}
	evbuffer_free(b);
}

static int
free_port(void)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int fd, port;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&sin, sizeof(sin));
	getsockname(fd, (struct sockaddr *)&sin, &sl);
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

static int
setup(void **state)
{
	struct fixture *fx = xcalloc(1, sizeof(*fx));
	struct evhttp_bound_socket *bs;
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	char *cause = NULL;

	log_init("test_discovery", getenv("TEST_DEBUG") != NULL);
	fx->base = event_base_new();
	fx->srv = evhttp_new(fx->base);
	evhttp_set_gencb(fx->srv, srv_cb, fx);
	bs = evhttp_bind_socket_with_handle(fx->srv, "127.0.0.1", 0);
	assert_non_null(bs);
	getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sin,
	    &sl);
	fx->port = ntohs(sin.sin_port);
	fx->dead_port = free_port();
	fx->http = http_new(fx->base, &cause);
	assert_non_null(fx->http);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_discovery.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;
	char path[128];

	discovery_free(fx->disc);
	http_free(fx->http);
	evhttp_free(fx->srv);
	event_base_free(fx->base);
	snprintf(path, sizeof(path), "%s/rpc-eventloops.json", fx->dir);
	unlink(path);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

static void
disc_cb(const struct disc_doc *doc, const char *maas_url, int from_saved,
    void *arg)
{
	struct fixture *fx = arg;

	fx->rounds++;
	fx->got_doc = doc != NULL;
	fx->nloops = discovery_doc_count(doc, NULL);
	fx->from_saved = from_saved;
	snprintf(fx->url, sizeof(fx->url), "%s", maas_url ? maas_url : "");
	if (doc != NULL)
		assert_non_null(maas_url);
	if (fx->run_again > 0) {
		fx->run_again--;
		discovery_run(fx->disc);
	}
	if (fx->free_in_cb) {
		discovery_free(fx->disc);
		fx->disc = NULL;
	}
	if (fx->rounds >= fx->stop_after)
		event_base_loopbreak(fx->base);
}

static void
watchdog_cb(evutil_socket_t fd, short ev, void *arg)
{
	event_base_loopbreak(arg);
}

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
mkurl(struct fixture *fx, const char *name)
{
	char *u;

	if (strcmp(name, "dead") == 0)
		xasprintf(&u, "http://127.0.0.1:%d/MAAS", fx->dead_port);
	else
		xasprintf(&u, "http://127.0.0.1:%d/%s/MAAS/", fx->port, name);
	return u;
}

/* Run one round over the named endpoints. */
static void
round_over(struct fixture *fx, long timeout_ms, size_t n, ...)
{
	struct discovery_params p;
	char *urls[8];
	va_list ap;
	size_t i;

	va_start(ap, n);
	for (i = 0; i < n; i++)
		urls[i] = mkurl(fx, va_arg(ap, const char *));
	va_end(ap);
	memset(&p, 0, sizeof(p));
	p.maas_urls = urls;
	p.nurls = n;
	p.data_dir = fx->dir;
	p.timeout_ms = timeout_ms;
	p.max_body = 1024 * 1024;
	if (fx->disc == NULL)
		fx->disc = discovery_new(fx->base, fx->http, &p, disc_cb, fx);
	else
		discovery_set_params(fx->disc, &p);
	for (i = 0; i < n; i++)
		free(urls[i]);
	fx->stop_after = fx->rounds + 1;
	discovery_run(fx->disc);
	run_for(fx, 5000);
}

static int
saved_exists(struct fixture *fx, struct stat *st)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/rpc-eventloops.json", fx->dir);
	return stat(path, st) == 0;
}

static void
test_dead_and_alive(void **state)
{
	struct fixture *fx = *state;
	char *want = mkurl(fx, "two");
	struct stat st;

	round_over(fx, 2000, 2, "dead", "two");
	assert_int_equal(fx->rounds, 1);
	assert_true(fx->got_doc);
	assert_int_equal(fx->nloops, 2);
	assert_false(fx->from_saved);
	assert_string_equal(fx->url, want);
	/* Host header without the port. */
	assert_string_equal(fx->last_host, "127.0.0.1");
	/* The winner was saved, mode 0640. */
	assert_true(saved_exists(fx, &st));
	assert_int_equal(st.st_mode & 0777, 0640);
	free(want);
}

static void
test_slow_and_alive(void **state)
{
	struct fixture *fx = *state;
	uint64_t t0 = rackd_now_ms(), dt;

	round_over(fx, 300, 2, "slow", "two");
	dt = rackd_now_ms() - t0;
	assert_int_equal(fx->rounds, 1);
	assert_int_equal(fx->nloops, 2);
	/* The round waited for the slow URL's timeout, and no longer. */
	assert_true(dt >= 250 && dt < 3000);
	assert_int_equal(http_pending(fx->http), 0);
}

static void
test_larger_wins(void **state)
{
	struct fixture *fx = *state;
	char *three = mkurl(fx, "three"), *two = mkurl(fx, "two");

	round_over(fx, 2000, 3, "two", "three", "empty");
	assert_int_equal(fx->nloops, 3);
	assert_string_equal(fx->url, three);
	/* Ties: the first configured URL. */
	round_over(fx, 2000, 2, "two", "two");
	assert_int_equal(fx->nloops, 2);
	assert_string_equal(fx->url, two);
	free(three);
	free(two);
}

static void
test_failures_give_null(void **state)
{
	static const char *bad[] = { "starting", "html", "huge", "empty",
	    "nonjson404", "dead" };
	struct fixture *fx = *state;
	struct stat st;
	size_t i;

	for (i = 0; i < RACKD_NELEM(bad); i++) {
		round_over(fx, 2000, 1, bad[i]);
		if (fx->got_doc)
			fail_msg("%s gave a doc", bad[i]);
		assert_int_equal(fx->rounds, (int)i + 1);
	}
	/* Nothing good ever came: no saved file. */
	assert_false(saved_exists(fx, &st));
}

static void
test_saved_fallback(void **state)
{
	struct fixture *fx = *state;
	char *want = mkurl(fx, "three");
	struct stat st1, st2;

	round_over(fx, 2000, 1, "three");
	assert_int_equal(fx->nloops, 3);
	assert_true(saved_exists(fx, &st1));
	/* Same answer again: the file is not rewritten. */
	round_over(fx, 2000, 1, "three");
	assert_true(saved_exists(fx, &st2));
	assert_int_equal(st1.st_ino, st2.st_ino);

	/* Everything fails: the saved copy is reported, twice. */
	round_over(fx, 2000, 2, "dead", "starting");
	assert_true(fx->got_doc);
	assert_true(fx->from_saved);
	assert_int_equal(fx->nloops, 3);
	assert_string_equal(fx->url, want);
	round_over(fx, 2000, 1, "html");
	assert_true(fx->from_saved);

	/* A live answer takes over again, and replaces the file. */
	round_over(fx, 2000, 1, "two");
	assert_false(fx->from_saved);
	assert_int_equal(fx->nloops, 2);
	assert_true(saved_exists(fx, &st2));
	assert_int_not_equal(st1.st_ino, st2.st_ino);
	free(want);
}

static void
test_no_overlap(void **state)
{
	struct fixture *fx = *state;

	round_over(fx, 2000, 1, "two");
	assert_int_equal(fx->rounds, 1);
	fx->hits = 0;
	/* Three runs while the first is in flight: one more round only. */
	discovery_run(fx->disc);
	discovery_run(fx->disc);
	discovery_run(fx->disc);
	assert_int_equal(http_pending(fx->http), 1);
	fx->stop_after = 100;
	run_for(fx, 500);
	assert_int_equal(fx->rounds, 3);
	assert_int_equal(fx->hits, 2);

	/* The callback itself may ask for the next round. */
	fx->run_again = 2;
	fx->stop_after = fx->rounds + 3;
	discovery_run(fx->disc);
	run_for(fx, 3000);
	assert_int_equal(fx->rounds, 6);
	assert_int_equal(fx->run_again, 0);
}

static void
test_free_in_callback(void **state)
{
	struct fixture *fx = *state;

	fx->free_in_cb = 1;
	round_over(fx, 2000, 1, "two");
	assert_int_equal(fx->rounds, 1);
	assert_null(fx->disc);
}

static void
test_bad_url_and_no_urls(void **state)
{
	struct fixture *fx = *state;
	struct discovery_params p;
	char *urls[] = { "ftp://127.0.0.1/MAAS" };

	memset(&p, 0, sizeof(p));
	p.maas_urls = urls;
	p.nurls = 1;
	fx->disc = discovery_new(fx->base, fx->http, &p, disc_cb, fx);
	fx->stop_after = 1;
	discovery_run(fx->disc);
	/* Not called from inside discovery_run. */
	assert_int_equal(fx->rounds, 0);
	run_for(fx, 1000);
	assert_int_equal(fx->rounds, 1);
	assert_false(fx->got_doc);

	p.nurls = 0;
	discovery_set_params(fx->disc, &p);
	fx->stop_after = 2;
	discovery_run(fx->disc);
	run_for(fx, 1000);
	assert_int_equal(fx->rounds, 2);
	assert_false(fx->got_doc);
}

/* --- quick probes of a URL that stopped answering --------------------- */

static void
start_probing(struct fixture *fx, int window_ms)
{
	struct discovery_params p;
	char *urls[2];

	urls[0] = mkurl(fx, "dead");
	urls[1] = mkurl(fx, "two");
	memset(&p, 0, sizeof(p));
	p.maas_urls = urls;
	p.nurls = 2;
	p.data_dir = fx->dir;
	p.timeout_ms = 2000;
	p.max_body = 1024 * 1024;
	p.probe.base_ms = 20;
	p.probe.cap_ms = 40;
	p.probe.window_ms = window_ms;
	fx->disc = discovery_new(fx->base, fx->http, &p, disc_cb, fx);
	free(urls[0]);
	free(urls[1]);
	fx->stop_after = 1;
	discovery_run(fx->disc);
	run_for(fx, 3000);
	assert_int_equal(fx->rounds, 1);
	assert_int_equal(fx->hits, 1);
	assert_int_equal(fx->nloops, 2);
}

static void
test_probe_dead_url_alone(void **state)
{
	struct fixture *fx = *state;

	start_probing(fx, 10000);
	assert_int_equal(discovery_probing(fx->disc), 1);
	/* Probing the dead URL every 10-40 ms leaves the live one alone and
	 * runs no round. */
	fx->stop_after = 1000;
	run_for(fx, 400);
	assert_int_equal(fx->hits, 1);
	assert_int_equal(fx->rounds, 1);
	assert_int_equal(discovery_probing(fx->disc), 1);

	/* The region behind it comes back: the next probe gets its document
	 * and one full round runs at once, which it wins (3 loops > 2). */
	assert_non_null(evhttp_bind_socket_with_handle(fx->srv, "127.0.0.1",
	    (uint16_t)fx->dead_port));
	fx->stop_after = 2;
	run_for(fx, 2000);
	assert_int_equal(fx->rounds, 2);
	assert_int_equal(fx->nloops, 3);
	{
		char *revived = mkurl(fx, "dead");

		assert_string_equal(fx->url, revived);
		free(revived);
	}
	assert_int_equal(discovery_probing(fx->disc), 0);
	/* The probe and the round's two fetches. */
	assert_int_equal(fx->hits, 4);
}

static void
test_probe_window_ends(void **state)
{
	struct fixture *fx = *state;

	start_probing(fx, 200);
	assert_int_equal(discovery_probing(fx->disc), 1);
	/* The window ends without an answer: quick probes stop, and one
	 * round runs so the owner can plan again. */
	fx->stop_after = 1000;
	run_for(fx, 700);
	assert_int_equal(discovery_probing(fx->disc), 0);
	assert_int_equal(fx->rounds, 2);
	assert_int_equal(fx->hits, 2);
	/* Nothing more after that. */
	run_for(fx, 300);
	assert_int_equal(fx->rounds, 2);
}

static void
test_probe_off(void **state)
{
	struct fixture *fx = *state;

	start_probing(fx, 0);
	assert_int_equal(discovery_probing(fx->disc), 0);
	fx->stop_after = 1000;
	run_for(fx, 200);
	assert_int_equal(fx->rounds, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rpc_url),
		cmocka_unit_test(test_rpc_url_bad),
		cmocka_unit_test(test_host_header),
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_empty),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_parse_nul),
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_dead_and_alive),
		T(test_slow_and_alive),
		T(test_larger_wins),
		T(test_failures_give_null),
		T(test_saved_fallback),
		T(test_no_overlap),
		T(test_free_in_callback),
		T(test_bad_url_and_no_urls),
		T(test_probe_dead_url_alone),
		T(test_probe_window_ends),
		T(test_probe_off),
#undef T
	};

	/* The in-process server writes to sockets the client dropped. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
