/*
 * test_boot_backend.c — the boot backend's decisions and coalescing
 * without a region: the coalescing key, what a GetBootConfig result
 * means for the firmware, identical requests sharing one flight (and a
 * cancelled waiter not called), the TFTP source sending unmatched names
 * to the file source and queueing NODE_TFTP_REQUEST (type first) for
 * every request.  The region path end to end: tests/integration/073.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "boot_backend.h"
#include "bootmethod.h"
#include "region.h"
#include "region_report.h"
#include "tftp_packet.h"
#include "tftp_source.h"
#include "xmalloc.h"

static struct bootmethod_match
match(const char *name)
{
	struct bootmethod_match m;

	assert_int_equal(bootmethod_match(name, strlen(name), &m), 1);
	return m;
}

static void
test_key(void **state)
{
	struct bootmethod_match a = match("pxelinux.cfg/01-52-54-00-12-34-56");
	struct bootmethod_match b = match("/pxelinux.cfg/01-52-54-00-12-34-56");
	struct bootmethod_match c = match("grub/grub.cfg-52:54:00:12:34:56");
	struct bootmethod_match d = match("pxelinux.cfg/default-amd64");
	char k1[512], k2[512];

	/* The same request however spelled: one key. */
	boot_backend_key(&a, "10.0.0.5", BOOTCONFIG_TFTP, k1, sizeof k1);
	boot_backend_key(&b, "10.0.0.5", BOOTCONFIG_TFTP, k2, sizeof k2);
	assert_string_equal(k1, k2);
	/* Another client, method, protocol or argument: another key. */
	boot_backend_key(&a, "10.0.0.6", BOOTCONFIG_TFTP, k2, sizeof k2);
	assert_string_not_equal(k1, k2);
	boot_backend_key(&c, "10.0.0.5", BOOTCONFIG_TFTP, k2, sizeof k2);
	assert_string_not_equal(k1, k2);
	boot_backend_key(&a, "10.0.0.5", BOOTCONFIG_HTTP, k2, sizeof k2);
	assert_string_not_equal(k1, k2);
	boot_backend_key(&d, "10.0.0.5", BOOTCONFIG_TFTP, k2, sizeof k2);
	assert_string_not_equal(k1, k2);
}

static void
test_classify(void **state)
{
	struct region_call_result r;
	const char *msg;

	memset(&r, 0, sizeof r);
	r.status = REGION_CALL_OK;
	assert_int_equal(boot_backend_classify(&r, &msg), BOOT_CONFIG_OK);
	/* Unknown machine: not found, so the firmware tries "default". */
	r.status = REGION_CALL_REMOTE_ERROR;
	r.error_code = "BootConfigNoResponse";
	assert_int_equal(boot_backend_classify(&r, &msg),
	    BOOT_CONFIG_NOT_FOUND);
	/* Unknown rack (DoesNotExist -> UNHANDLED): an error with why. */
	r.error_code = "UNHANDLED";
	r.error_description = "RackController matching query does not exist";
	assert_int_equal(boot_backend_classify(&r, &msg), BOOT_CONFIG_ERROR);
	assert_string_equal(msg, r.error_description);
	r.error_description = NULL;
	assert_int_equal(boot_backend_classify(&r, &msg), BOOT_CONFIG_ERROR);
	assert_string_equal(msg, "UNHANDLED");
	r.status = REGION_CALL_NO_REGION;
	assert_int_equal(boot_backend_classify(&r, &msg),
	    BOOT_CONFIG_NOT_FOUND);
	r.status = REGION_CALL_QUEUE_FULL;
	assert_int_equal(boot_backend_classify(&r, &msg),
	    BOOT_CONFIG_NOT_FOUND);
	r.status = REGION_CALL_TIMEOUT;
	assert_int_equal(boot_backend_classify(&r, &msg), BOOT_CONFIG_ERROR);
	assert_non_null(strstr(msg, "in time"));
	r.status = REGION_CALL_LOST;
	assert_int_equal(boot_backend_classify(&r, &msg), BOOT_CONFIG_ERROR);
}

struct got {
	int	calls;
	enum boot_config_result r;
};

static void
got_cb(void *arg, enum boot_config_result r, char *data, size_t len,
    const char *msg)
{
	struct got *g = arg;

	g->calls++;
	g->r = r;
	assert_non_null(msg);
	free(data);
}

static void
test_coalesce(void **state)
{
	struct event_base *base = event_base_new();
	struct region_reports *q = region_reports_new(base, "boot", 100);
	struct boot_backend *b = boot_backend_new(base, NULL, NULL, q, NULL);
	struct bootmethod_match m = match("pxelinux.cfg/01-52-54-00-12-34-56");
	struct got g[4];
	struct boot_backend_stats st;
	void *t[4];

	memset(g, 0, sizeof g);
	t[0] = boot_backend_config(b, &m, "10.0.0.1", "10.0.0.5",
	    BOOTCONFIG_TFTP, got_cb, &g[0]);
	t[1] = boot_backend_config(b, &m, "10.0.0.1", "10.0.0.5",
	    BOOTCONFIG_TFTP, got_cb, &g[1]);
	t[2] = boot_backend_config(b, &m, "10.0.0.1", "10.0.0.5",
	    BOOTCONFIG_TFTP, got_cb, &g[2]);
	t[3] = boot_backend_config(b, &m, "10.0.0.1", "10.0.0.6",
	    BOOTCONFIG_TFTP, got_cb, &g[3]);
	assert_non_null(t[0]);
	assert_non_null(t[3]);
	boot_backend_config_cancel(b, t[1]);
	boot_backend_stats(b, &st);
	assert_int_equal(st.config_requests, 4);
	assert_int_equal(st.coalesced, 2);	/* t[1], t[2] joined t[0] */
	/* Never from inside the call. */
	assert_int_equal(g[0].calls + g[2].calls + g[3].calls, 0);
	event_base_loop(base, EVLOOP_NONBLOCK);
	/* No region: not found, for each waiter once; the cancelled one
	 * is never called. */
	assert_int_equal(g[0].calls, 1);
	assert_int_equal(g[0].r, BOOT_CONFIG_NOT_FOUND);
	assert_int_equal(g[1].calls, 0);
	assert_int_equal(g[2].calls, 1);
	assert_int_equal(g[3].calls, 1);
	boot_backend_stats(b, &st);
	assert_int_equal(st.region_calls, 0);
	assert_int_equal(st.not_found, 2);	/* two flights */
	/* After the answer nothing is cached: a new request, a new flight. */
	t[0] = boot_backend_config(b, &m, "10.0.0.1", "10.0.0.5",
	    BOOTCONFIG_TFTP, got_cb, &g[0]);
	boot_backend_stats(b, &st);
	assert_int_equal(st.coalesced, 2);
	/* Freed with a flight pending: its waiter was cancelled first, as
	 * the TFTP server does; the timer goes with the backend. */
	boot_backend_config_cancel(b, t[0]);
	boot_backend_free(b);
	region_reports_free(q);
	event_base_free(base);
}

/* A file source that answers "file" for every open, asynchronously. */
struct fake_files {
	struct tftp_source	 src;
	struct event_base	*base;
	int			 opens;
	int			 cancels;
	char			 last[256];
};

struct fake_open {
	struct event	*ev;
	tftp_open_cb	 cb;
	void		*arg;
};

static void
fake_open_done(evutil_socket_t fd, short what, void *arg)
{
	struct fake_open *o = arg;

	event_free(o->ev);
	o->cb(o->arg, NULL, TFTP_ENOTFOUND, "from the files");
	free(o);
}

static void *
fake_open(struct tftp_source *src, const struct tftp_open_req *req,
    tftp_open_cb cb, void *arg)
{
	struct fake_files *f = (struct fake_files *)src;
	struct fake_open *o = xcalloc(1, sizeof *o);
	struct timeval now = { 0, 0 };

	f->opens++;
	snprintf(f->last, sizeof f->last, "%s", req->path);
	o->cb = cb;
	o->arg = arg;
	o->ev = evtimer_new(f->base, fake_open_done, o);
	evtimer_add(o->ev, &now);
	return o;
}

static void
fake_cancel(struct tftp_source *src, void *token)
{
	struct fake_open *o = token;

	((struct fake_files *)src)->cancels++;
	event_free(o->ev);
	free(o);
}

struct opened {
	int	calls;
	int	errcode;
	char	msg[64];
};

static void
opened_cb(void *arg, struct tftp_reader *rd, int errcode, const char *msg)
{
	struct opened *o = arg;

	o->calls++;
	o->errcode = errcode;
	snprintf(o->msg, sizeof o->msg, "%s", msg != NULL ? msg : "");
	if (rd != NULL)
		rd->ops->close(rd);
}

static void
test_tftp_source(void **state)
{
	struct event_base *base = event_base_new();
	struct fake_files files = { { fake_open, fake_cancel }, base, 0, 0,
	    "" };
	struct region_reports *q = region_reports_new(base, "boot", 100);
	struct boot_backend *b = boot_backend_new(base, &files.src, NULL, q,
	    NULL);
	struct tftp_source *src = boot_backend_tftp_source(b);
	struct sockaddr_in cl, lo;
	struct tftp_open_req req;
	struct region_report_stats rs;
	struct opened o1, o2, o3;
	void *tok;

	memset(&cl, 0, sizeof cl);
	cl.sin_family = AF_INET;
	inet_pton(AF_INET, "10.0.0.5", &cl.sin_addr);
	lo = cl;
	inet_pton(AF_INET, "10.0.0.1", &lo.sin_addr);
	memset(&req, 0, sizeof req);
	req.client = (struct sockaddr *)&cl;
	req.local = (struct sockaddr *)&lo;
	memset(&o1, 0, sizeof o1);
	memset(&o2, 0, sizeof o2);
	memset(&o3, 0, sizeof o3);

	/* Not a boot config: the file source has it. */
	req.path = "lpxelinux.0";
	req.raw = "lpxelinux.0";
	src->open(src, &req, opened_cb, &o1);
	/* A config with no region: error 1, the file source not asked. */
	req.path = "pxelinux.cfg/01-52-54-00-12-34-56";
	req.raw = "pxelinux.cfg\\01-52-54-00-12-34-56";
	src->open(src, &req, opened_cb, &o2);
	/* Cancelled before it finishes: never called back. */
	req.path = "bootx64.efi";
	req.raw = "bootx64.efi";
	tok = src->open(src, &req, opened_cb, &o3);
	src->cancel(src, tok);
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(files.opens, 2);
	assert_int_equal(files.cancels, 1);
	assert_int_equal(o1.calls, 1);
	assert_string_equal(o1.msg, "from the files");
	assert_int_equal(o2.calls, 1);
	assert_int_equal(o2.errcode, TFTP_ENOTFOUND);
	assert_int_equal(o3.calls, 0);
	/* One RegisterEventType, then a NODE_TFTP_REQUEST per request,
	 * waiting for a region. */
	region_reports_stats(q, &rs);
	assert_int_equal(rs.queued, 4);
	boot_backend_free(b);
	region_reports_free(q);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_coalesce),
		cmocka_unit_test(test_tftp_source),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
