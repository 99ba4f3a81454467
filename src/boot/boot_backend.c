/*
 * boot_backend.c — names to boot configs or files (boot_backend.h).
 *
 * A config request joins the flight of an identical request already
 * waiting for the region (same client, method, path arguments,
 * protocol), else starts one: GetBootConfig, then decode, the local
 * image check (MarkNodeFailed through the report queue) and the render,
 * each waiter getting its own copy of the bytes.  A flight whose waiters
 * all left still waits for its region call (calls cannot be withdrawn);
 * so does one whose backend was freed: the call's callback frees it.
 */
#include <sys/queue.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "amp.h"
#include "boot_backend.h"
#include "bootmethod.h"
#include "bootres.h"
#include "log.h"
#include "region.h"
#include "region_report.h"
#include "tftp_packet.h"
#include "tftp_source.h"
#include "xmalloc.h"

#define KEY_MAX		(BOOTMETHOD_MAC_LEN + BOOTMETHOD_UUID_LEN + \
			 2 * BOOTMETHOD_WORD_MAX + INET6_ADDRSTRLEN + 64)

/* MAAS's EVENT_DETAILS row (spec §2.7). */
static const struct region_event_type ev_tftp_request = {
	"NODE_TFTP_REQUEST", "TFTP Request", 10
};

struct flight;

struct waiter {
	TAILQ_ENTRY(waiter)	 entry;
	struct flight		*f;
	boot_config_cb		 cb;
	void			*arg;
};

struct flight {
	LIST_ENTRY(flight)	 entry;
	struct boot_backend	*b;	/* NULL: orphaned by boot_backend_free */
	char			 key[KEY_MAX];
	const struct bootmethod	*method;
	enum bootconfig_protocol proto;
	char			 remote_ip[INET6_ADDRSTRLEN];
	struct event		*ev;	/* no pool: answer on the next turn */
	bool			 calling;	/* a region_call is pending */
	TAILQ_HEAD(, waiter)	 waiters;
};

struct tftp_open {
	struct boot_backend	*b;
	bool			 config;
	void			*token;
	tftp_open_cb		 cb;
	void			*arg;
};

struct mem_reader {
	struct tftp_reader	 base;
	char			*data;
	size_t			 len;
	struct event		*ev;
	uint64_t		 off;
	size_t			 want;
	tftp_read_cb		 cb;
	void			*arg;
};

struct boot_backend {
	struct tftp_source	 src;		/* first: the TFTP source */
	struct event_base	*base;
	struct tftp_source	*files;
	struct bootres_store	*images;
	struct region_reports	*reports;
	struct region_pool	*pool;
	int			 timeout_ms;
	bool			 debug;
	LIST_HEAD(, flight)	 flights;
	struct boot_backend_stats stats;
};

/* --- pure parts ------------------------------------------------------ */

void
boot_backend_key(const struct bootmethod_match *m, const char *remote_ip,
    enum bootconfig_protocol proto, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s|%d|%s|%s|%s|%s|%s", m->method->name,
	    (int)proto, remote_ip, m->mac, m->hardware_uuid, m->arch,
	    m->subarch);
}

enum boot_config_result
boot_backend_classify(const struct region_call_result *res, const char **msg)
{
	*msg = NULL;
	switch (res->status) {
	case REGION_CALL_OK:
		return BOOT_CONFIG_OK;
	case REGION_CALL_REMOTE_ERROR:
		if (res->error_code != NULL &&
		    strcmp(res->error_code, "BootConfigNoResponse") == 0) {
			*msg = "File not found";
			return BOOT_CONFIG_NOT_FOUND;
		}
		*msg = res->error_description != NULL &&
		    *res->error_description != '\0' ?
		    res->error_description : res->error_code;
		if (*msg == NULL)
			*msg = "region error";
		return BOOT_CONFIG_ERROR;
	case REGION_CALL_NO_REGION:
	case REGION_CALL_QUEUE_FULL:
		/* No one to ask: the firmware's next name may be a file. */
		*msg = "File not found";
		return BOOT_CONFIG_NOT_FOUND;
	case REGION_CALL_TIMEOUT:
		*msg = "region did not answer GetBootConfig in time";
		return BOOT_CONFIG_ERROR;
	case REGION_CALL_LOST:
		*msg = "region connection lost during GetBootConfig";
		return BOOT_CONFIG_ERROR;
	case REGION_CALL_CANCELLED:
	default:
		*msg = "shutting down";
		return BOOT_CONFIG_ERROR;
	}
}

/* --- flights ---------------------------------------------------------- */

static void
flight_free(struct flight *f)
{
	if (f->b != NULL)
		LIST_REMOVE(f, entry);
	if (f->ev != NULL)
		event_free(f->ev);
	free(f);
}

/* Hand each waiter its result; they leave the list before their call
 * so a callback may cancel other tokens safely. */
static void
flight_deliver(struct flight *f, enum boot_config_result r, const char *data,
    size_t len, const char *msg)
{
	struct waiter *w;
	char *copy;

	while ((w = TAILQ_FIRST(&f->waiters)) != NULL) {
		TAILQ_REMOVE(&f->waiters, w, entry);
		copy = NULL;
		if (r == BOOT_CONFIG_OK) {
			copy = xmalloc(len + 1);
			memcpy(copy, data, len);
			copy[len] = '\0';
		}
		w->cb(w->arg, r, copy, len, msg);
		free(w);
	}
}

/* Decode, check the image, render.  mark_failed queued here. */
static enum boot_config_result
flight_render(struct flight *f, const struct amp_box *answer, char **out,
    size_t *outlen, char **msg)
{
	struct boot_backend *b = f->b;
	struct bootconfig_answer ans;
	struct bootconfig_resolution res;
	struct bootconfig_params p;
	struct amp_box *a;
	char *cause = NULL;
	int rc;

	memset(&ans, 0, sizeof ans);
	if (bootconfig_answer_decode(answer, &ans, &cause) == -1) {
		xasprintf(msg, "bad GetBootConfig answer: %s", cause);
		free(cause);
		bootconfig_answer_free(&ans);
		return BOOT_CONFIG_ERROR;
	}
	bootconfig_resolve(bootres_store_images(b->images), ans.osystem,
	    ans.arch, ans.subarch, ans.release, ans.purpose,
	    ans.system_id != NULL, f->remote_ip, &res);
	if (res.mark_failed != NULL) {
		/* As get_boot_image: the region hears of it, the machine
		 * still gets its config and fails at the kernel. */
		log_warnx("boot: %s (%s): %s", ans.system_id, f->remote_ip,
		    res.mark_failed);
		a = amp_box_new();
		amp_box_put_str(a, "system_id", ans.system_id);
		amp_box_put_str(a, "error_description", res.mark_failed);
		region_reports_push(b->reports, "MarkNodeFailed", a,
		    ans.system_id);
		b->stats.marked_failed++;
	} else if (res.missing != NULL)
		log_warnx("boot: %s", res.missing);
	bootconfig_params_from(&p, &ans, &res);
	rc = bootconfig_render(f->method, &p, f->proto, b->debug, out, outlen,
	    &cause);
	bootconfig_resolution_free(&res);
	bootconfig_answer_free(&ans);
	if (rc == -1) {
		xasprintf(msg, "cannot render the %s config: %s",
		    f->method->name, cause);
		free(cause);
		return BOOT_CONFIG_ERROR;
	}
	return BOOT_CONFIG_OK;
}

static void
flight_done(const struct region_call_result *res, void *arg)
{
	struct flight *f = arg;
	enum boot_config_result r;
	const char *cmsg;
	char *out = NULL, *msg = NULL;
	size_t len = 0;

	f->calling = false;
	if (f->b == NULL) {
		flight_free(f);		/* the backend is gone */
		return;
	}
	r = boot_backend_classify(res, &cmsg);
	if (r == BOOT_CONFIG_OK)
		r = flight_render(f, res->answer, &out, &len, &msg);
	else if (r == BOOT_CONFIG_ERROR)
		msg = xstrdup(cmsg);
	if (r == BOOT_CONFIG_NOT_FOUND)
		f->b->stats.not_found++;
	else if (r == BOOT_CONFIG_ERROR) {
		f->b->stats.failed++;
		log_info("boot: %s config for %s: %s", f->method->name,
		    f->remote_ip, msg);
	}
	flight_deliver(f, r, out, len, r == BOOT_CONFIG_ERROR ? msg : cmsg);
	free(out);
	free(msg);
	flight_free(f);
}

static void
flight_no_pool_cb(evutil_socket_t fd, short what, void *arg)
{
	struct region_call_result res;

	memset(&res, 0, sizeof res);
	res.status = REGION_CALL_NO_REGION;
	flight_done(&res, arg);
}

void *
boot_backend_config(struct boot_backend *b, const struct bootmethod_match *m,
    const char *local_ip, const char *remote_ip,
    enum bootconfig_protocol proto, boot_config_cb cb, void *arg)
{
	struct flight *f;
	struct waiter *w = xcalloc(1, sizeof *w);
	struct timeval now = { 0, 0 };
	char key[KEY_MAX];
	const char *rack;

	b->stats.config_requests++;
	w->cb = cb;
	w->arg = arg;
	boot_backend_key(m, remote_ip, proto, key, sizeof key);
	LIST_FOREACH(f, &b->flights, entry)
		if (strcmp(f->key, key) == 0)
			break;
	if (f != NULL) {
		b->stats.coalesced++;
		w->f = f;
		TAILQ_INSERT_TAIL(&f->waiters, w, entry);
		return w;
	}
	f = xcalloc(1, sizeof *f);
	f->b = b;
	snprintf(f->key, sizeof f->key, "%s", key);
	f->method = m->method;
	f->proto = proto;
	snprintf(f->remote_ip, sizeof f->remote_ip, "%s", remote_ip);
	TAILQ_INIT(&f->waiters);
	LIST_INSERT_HEAD(&b->flights, f, entry);
	w->f = f;
	TAILQ_INSERT_TAIL(&f->waiters, w, entry);
	rack = b->pool != NULL ? region_pool_system_id(b->pool) : "";
	if (b->pool == NULL || *rack == '\0') {
		/* Not registered yet: the region could not place the rack. */
		f->ev = evtimer_new(b->base, flight_no_pool_cb, f);
		evtimer_add(f->ev, &now);
		return w;
	}
	f->calling = true;
	b->stats.region_calls++;
	region_call(b->pool, "GetBootConfig",
	    bootconfig_request(m, rack, local_ip, remote_ip),
	    REGION_CALL_IDEMPOTENT | REGION_CALL_NOQUEUE, b->timeout_ms,
	    flight_done, f);
	return w;
}

void
boot_backend_config_cancel(struct boot_backend *b, void *token)
{
	struct waiter *w = token;

	TAILQ_REMOVE(&w->f->waiters, w, entry);
	free(w);
}

/* --- the TFTP source --------------------------------------------------- */

static void
mem_deliver(evutil_socket_t fd, short what, void *arg)
{
	struct mem_reader *m = arg;
	size_t n = 0;
	uint8_t *d;

	if (m->off < m->len)
		n = m->len - m->off < m->want ? m->len - m->off : m->want;
	d = xmalloc(n + 1);
	memcpy(d, m->data + m->off, n);
	m->cb(m->arg, d, n, NULL);
}

static void
mem_read(struct tftp_reader *r, uint64_t off, size_t len, tftp_read_cb cb,
    void *arg)
{
	struct mem_reader *m = (struct mem_reader *)r;
	struct timeval now = { 0, 0 };

	m->off = off;
	m->want = len;
	m->cb = cb;
	m->arg = arg;
	evtimer_add(m->ev, &now);	/* never from inside read() */
}

static void
mem_close(struct tftp_reader *r)
{
	struct mem_reader *m = (struct mem_reader *)r;

	event_free(m->ev);
	free(m->data);
	free(m);
}

static const struct tftp_reader_ops mem_ops = { mem_read, mem_close };

static void
topen_config_cb(void *arg, enum boot_config_result r, char *data, size_t len,
    const char *msg)
{
	struct tftp_open *t = arg;
	struct mem_reader *m;

	if (r != BOOT_CONFIG_OK) {
		t->cb(t->arg, NULL, r == BOOT_CONFIG_NOT_FOUND ?
		    TFTP_ENOTFOUND : TFTP_ENOTDEFINED, msg);
		free(t);
		return;
	}
	m = xcalloc(1, sizeof *m);
	m->base.ops = &mem_ops;
	m->base.size = (int64_t)len;
	m->data = data;
	m->len = len;
	m->ev = evtimer_new(t->b->base, mem_deliver, m);
	t->cb(t->arg, &m->base, 0, NULL);
	free(t);
}

static void
topen_files_cb(void *arg, struct tftp_reader *rd, int errcode, const char *msg)
{
	struct tftp_open *t = arg;

	t->cb(t->arg, rd, errcode, msg);
	free(t);
}

/* The IP text of a socket address (IPv4-mapped IPv6 as IPv4, as the
 * region knows machines by their IPv4 leases). */
static void
addr_text(const struct sockaddr *sa, char *buf, size_t cap)
{
	const struct sockaddr_in6 *s6;
	struct in_addr v4;

	*buf = '\0';
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		    buf, cap);
	else if (sa->sa_family == AF_INET6) {
		s6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			memcpy(&v4, &s6->sin6_addr.s6_addr[12], 4);
			inet_ntop(AF_INET, &v4, buf, cap);
		} else
			inet_ntop(AF_INET6, &s6->sin6_addr, buf, cap);
	}
}

/* tftp.py log_request: every RRQ, found or not, the name with '\' read
 * as '/'. */
static void
log_tftp_request(struct boot_backend *b, const char *remote_ip,
    const char *raw)
{
	struct amp_box *a = amp_box_new();
	char *name = xstrdup(raw), *p;

	for (p = name; *p != '\0'; p++)
		if (*p == '\\')
			*p = '/';
	amp_box_put_str(a, "ip_address", remote_ip);
	amp_box_put_str(a, "type_name", ev_tftp_request.name);
	amp_box_put_str(a, "description", name);
	region_reports_event(b->reports, &ev_tftp_request,
	    "SendEventIPAddress", a, remote_ip);
	free(name);
}

static void *
tftp_open(struct tftp_source *src, const struct tftp_open_req *req,
    tftp_open_cb cb, void *arg)
{
	struct boot_backend *b = (struct boot_backend *)src;
	struct tftp_open *t = xcalloc(1, sizeof *t);
	struct bootmethod_match m;
	char remote[INET6_ADDRSTRLEN], local[INET6_ADDRSTRLEN];

	addr_text(req->client, remote, sizeof remote);
	addr_text(req->local, local, sizeof local);
	log_tftp_request(b, remote, req->raw);
	t->b = b;
	t->cb = cb;
	t->arg = arg;
	if (bootmethod_match(req->raw, strlen(req->raw), &m) == 1) {
		t->config = true;
		t->token = boot_backend_config(b, &m, local, remote,
		    BOOTCONFIG_TFTP, topen_config_cb, t);
	} else
		t->token = b->files->open(b->files, req, topen_files_cb, t);
	return t;
}

static void
tftp_cancel(struct tftp_source *src, void *token)
{
	struct boot_backend *b = (struct boot_backend *)src;
	struct tftp_open *t = token;

	if (t->config)
		boot_backend_config_cancel(b, t->token);
	else
		b->files->cancel(b->files, t->token);
	free(t);
}

struct tftp_source *
boot_backend_tftp_source(struct boot_backend *b)
{
	return &b->src;
}

/* --- life ------------------------------------------------------------ */

struct boot_backend *
boot_backend_new(struct event_base *base, struct tftp_source *files,
    struct bootres_store *images, struct region_reports *reports,
    const struct boot_backend_params *p)
{
	struct boot_backend *b = xcalloc(1, sizeof *b);

	b->src.open = tftp_open;
	b->src.cancel = tftp_cancel;
	b->base = base;
	b->files = files;
	b->images = images;
	b->reports = reports;
	b->timeout_ms = p != NULL && p->timeout_ms > 0 ? p->timeout_ms :
	    BOOT_BACKEND_TIMEOUT_MS;
	b->debug = p != NULL && p->debug;
	LIST_INIT(&b->flights);
	return b;
}

void
boot_backend_set_pool(struct boot_backend *b, struct region_pool *pool)
{
	b->pool = pool;
}

void
boot_backend_set_debug(struct boot_backend *b, bool debug)
{
	b->debug = debug;
}

void
boot_backend_free(struct boot_backend *b)
{
	struct flight *f;
	struct waiter *w;

	if (b == NULL)
		return;
	while ((f = LIST_FIRST(&b->flights)) != NULL) {
		LIST_REMOVE(f, entry);
		f->b = NULL;
		/* Waiters were cancelled by their owners; drop strays. */
		while ((w = TAILQ_FIRST(&f->waiters)) != NULL) {
			TAILQ_REMOVE(&f->waiters, w, entry);
			free(w);
		}
		if (!f->calling)
			flight_free(f);	/* only its no-pool timer */
	}
	free(b);
}

void
boot_backend_stats(const struct boot_backend *b, struct boot_backend_stats *st)
{
	*st = b->stats;
}
