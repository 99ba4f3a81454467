/*
 * boot_http.c — glue between httpd's boot hook and the boot backend
 * (boot_http.h).  Each taken request is tracked so that shutdown can
 * cancel its GetBootConfig (the backend expects owners to cancel) and
 * still answer the request, which httpd otherwise keeps forever.
 */
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include "amp.h"
#include "boot_backend.h"
#include "boot_http.h"
#include "bootmethod.h"
#include "httpd.h"
#include "log.h"
#include "rackd.h"
#include "region_report.h"
#include "xmalloc.h"

struct boot_http_req {
	TAILQ_ENTRY(boot_http_req) entry;
	struct boot_http	*bh;
	struct httpd_request	*req;
	void			*token;
	char			*path;		/* for the log */
};

struct boot_http {
	struct httpd		*h;
	struct boot_backend	*b;
	TAILQ_HEAD(, boot_http_req) reqs;
};

static void
boot_http_done(void *arg, enum boot_config_result res, char *data,
    size_t len, const char *msg)
{
	struct boot_http_req *r = arg;

	TAILQ_REMOVE(&r->bh->reqs, r, entry);
	switch (res) {
	case BOOT_CONFIG_OK:
		httpd_reply(r->req, 200, "text/plain", data, len);
		break;
	case BOOT_CONFIG_NOT_FOUND:
		log_debug("http: %s: not found: %s", r->path,
		    msg != NULL ? msg : "");
		httpd_reply(r->req, 404, NULL, NULL, 0);
		break;
	default:
		log_warnx("http: %s: %s", r->path,
		    msg != NULL ? msg : "boot config failed");
		httpd_reply(r->req, 500, NULL, NULL, 0);
		break;
	}
	free(data);
	free(r->path);
	free(r);
}

static int
boot_http_handler(void *arg, struct httpd_request *req,
    const struct httpd_boot_info *bi)
{
	struct boot_http *bh = arg;
	struct bootmethod_match m;
	struct boot_http_req *r;

	if (bootmethod_match(bi->path, strlen(bi->path), &m) != 1)
		return HTTPD_BOOT_DECLINED;
	r = xcalloc(1, sizeof *r);
	r->bh = bh;
	r->req = req;
	r->path = xstrdup(bi->path);
	TAILQ_INSERT_TAIL(&bh->reqs, r, entry);
	r->token = boot_backend_config(bh->b, &m, bi->local_ip, bi->remote_ip,
	    BOOTCONFIG_HTTP, boot_http_done, r);
	return HTTPD_BOOT_TAKEN;
}

struct boot_http *
boot_http_new(struct httpd *h, struct boot_backend *b)
{
	struct boot_http *bh = xcalloc(1, sizeof *bh);

	bh->h = h;
	bh->b = b;
	TAILQ_INIT(&bh->reqs);
	httpd_set_boot_handler(h, boot_http_handler, bh);
	return bh;
}

void
boot_http_free(struct boot_http *bh)
{
	struct boot_http_req *r;

	if (bh == NULL)
		return;
	while ((r = TAILQ_FIRST(&bh->reqs)) != NULL) {
		TAILQ_REMOVE(&bh->reqs, r, entry);
		boot_backend_config_cancel(bh->b, r->token);
		httpd_reply(r->req, 503, NULL, NULL, 0);
		free(r->path);
		free(r);
	}
	httpd_set_boot_handler(bh->h, NULL, NULL);
	free(bh);
}

/* src/provisioningserver/events.py@3.4.0 EVENT_DETAILS (spec §2.7). */
static const struct region_event_type boot_http_event_types[] = {
	{ "NODE_HTTP_REQUEST", "HTTP Request", 10 },
	{ "LOADING_EPHEMERAL", "Loading ephemeral", 20 },
};

void
boot_http_event(void *reports, const char *type, const char *ip,
    const char *desc)
{
	const struct region_event_type *t = NULL;
	struct amp_box *a;
	size_t i;

	for (i = 0; i < RACKD_NELEM(boot_http_event_types); i++)
		if (strcmp(boot_http_event_types[i].name, type) == 0)
			t = &boot_http_event_types[i];
	if (t == NULL) {
		log_warnx("http: event type %s unknown; not sent", type);
		return;
	}
	a = amp_box_new();
	amp_box_put_str(a, "ip_address", ip);
	amp_box_put_str(a, "type_name", t->name);
	amp_box_put_str(a, "description", desc);
	region_reports_event(reports, t, "SendEventIPAddress", a, ip);
}
