/*
 * imagesync.c — the boot-image sync service (imagesync.h; MAAS 3.4.0
 * rpc/boot_images.py, import_images/boot_resources.py, spec §1.1-1.5).
 *
 * One run is a chain of asynchronous steps on the loop:
 *   sources (GetBootSources, or the ImportBootImages arguments)
 *   -> GetProxies (asked as MAAS does; unused: MAAS puts every source host
 *      in no_proxy, and the only host we fetch from is the region)
 *   -> index.json -> products document -> selection, maas.meta
 *   -> nothing new?  touch current/maas.meta, done
 *   -> free space check -> each missing file streamed to cache/<sha>.part,
 *      hashed while written, renamed to cache/<sha> when size and sha256
 *      match -> archives unpacked by a tar child -> snapshot of hard links
 *      -> maas.meta -> bootloader symlinks -> `current` renamed into place
 *      -> cleanup -> UpdateLastImageSync.
 * A transfer that fails resumes with Range from the next region URL; a
 * file failing its check is deleted and fetched again, at most
 * images.retries times; a failed run never touches `current`.
 *
 * This file is the service and the run's lifecycle; the steps are in
 * imagesync_source.c, imagesync_fetch.c and imagesync_snapshot.c
 * (imagesync_private.h says which does what).
 */
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "amp.h"
#include "config.h"
#include "http.h"
#include "imagesync.h"
#include "imagesync_private.h"
#include "log.h"
#include "proc.h"
#include "rackd.h"
#include "region.h"
#include "xmalloc.h"

/* --- region calls and events ---------------------------------------- */

static void
call_done_count(const struct region_call_result *res, void *arg)
{
	struct imagesync *s = arg;

	s->calls--;
	if (res->status != REGION_CALL_OK &&
	    res->status != REGION_CALL_CANCELLED)
		log_debug("images: region call failed: %s",
		    region_call_status_name(res->status));
}

static const struct {
	const char *name, *description;
	int level;
} is_event_types[] = {	/* src/provisioningserver/events.py@3.4.0 */
	{ "RACK_IMPORT_WARNING", "Rack import warning", 30 },
	{ "RACK_IMPORT_ERROR", "Rack import error", 40 },
	{ "RACK_IMPORT_INFO", "Rack import info", 10 },
};

void
is_event(struct imagesync *s, const char *type, const char *description)
{
	struct amp_box *a;
	size_t i;

	if (s->stopping)
		return;
	if (!s->events_registered) {
		s->events_registered = 1;
		for (i = 0; i < RACKD_NELEM(is_event_types); i++) {
			a = amp_box_new();
			amp_box_put_str(a, "name", is_event_types[i].name);
			amp_box_put_str(a, "description",
			    is_event_types[i].description);
			amp_box_put_int(a, "level", is_event_types[i].level);
			s->calls++;
			region_call(s->pool, "RegisterEventType", a,
			    REGION_CALL_IDEMPOTENT, 0, call_done_count, s);
		}
	}
	a = amp_box_new();
	amp_box_put_str(a, "system_id", region_pool_system_id(s->pool));
	amp_box_put_str(a, "type_name", type);
	amp_box_put_str(a, "description", description);
	s->calls++;
	region_call(s->pool, "SendEvent", a, REGION_CALL_IDEMPOTENT, 0,
	    call_done_count, s);
}
/* --- run lifecycle --------------------------------------------------- */

static void
run_free(struct is_run *run)
{
	size_t i;

	if (run == NULL)
		return;
	if (run->fd >= 0)
		close(run->fd);
	for (i = 0; i < run->nfiles; i++)
		EVP_MD_CTX_free(run->files[i].md);
	free(run->files);
	simplestreams_plan_free(run->plan, run->nplan);
	simplestreams_catalog_free(run->cat);
	free(run->products_path);
	free(run->meta);
	free(run->reason);
	free(run->source_url);
	free(run->sel);
	xstrv_free(run->sel_strs);
	for (i = 0; i < run->nvecs; i++)
		amp_strv_free(run->sel_vecs[i]);
	free(run->sel_vecs);
	for (i = 0; i < run->nurls; i++)
		free(run->urls[i]);
	free(run->urls);
	free(run->xdir);
	free(run->snapshot);
	free(run->xfer_error);
	free(run);
}

static void
step_cb(evutil_socket_t fd, short what, void *arg)
{
	struct imagesync *s = arg;
	void (*fn)(struct imagesync *) = s->step_fn;

	s->step_fn = NULL;
	if (fn != NULL && !s->stopping)
		fn(s);
}

void
is_later(struct imagesync *s, void (*fn)(struct imagesync *), int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	s->step_fn = fn;
	evtimer_add(s->step_timer, &tv);
}

void
is_run_finish(struct imagesync *s, int ok, int switched, const char *fmt, ...)
{
	struct is_run *run = s->run;
	struct amp_box *a;
	char *msg = NULL, *ev;
	va_list ap;

	if (fmt != NULL) {
		va_start(ap, fmt);
		xvasprintf(&msg, fmt, ap);
		va_end(ap);
	}
	if (!ok) {
		log_warnx("images: sync (%s) failed: %s", run->reason,
		    msg != NULL ? msg : "?");
		xasprintf(&ev, "Unable to import boot images: %s",
		    msg != NULL ? msg : "?");
		is_event(s, "RACK_IMPORT_ERROR", ev);
		free(ev);
		/* The half-built snapshot goes; `current` was not touched. */
		if (run->snapshot != NULL)
			is_rmtree(run->snapshot);
	} else {
		if (msg != NULL)
			log_info("images: %s", msg);
		/* MAAS reports a sync unless the import raised ("nothing
		 * new" and "no images" count as success). */
		a = amp_box_new();
		amp_box_put_str(a, "system_id", region_pool_system_id(s->pool));
		s->calls++;
		region_call(s->pool, "UpdateLastImageSync", a,
		    REGION_CALL_IDEMPOTENT, 0, call_done_count, s);
	}
	s->st.phase = NULL;
	s->st.last_end = (int64_t)time(NULL);
	s->st.last_ok = ok != 0;
	if (ok)
		s->st.runs_ok++;
	else
		s->st.runs_failed++;
	snprintf(s->st.last_error, sizeof(s->st.last_error), "%s",
	    ok ? "" : msg != NULL ? msg : "?");
	free(msg);
	/* The writer may hold the run's fd and digest: take them back. */
	is_writer_cancel(s->writer);
	s->flushing = 0;
	run_free(run);
	s->run = NULL;
	s->req = NULL;
	if (s->done_cb != NULL)
		s->done_cb(ok, switched, s->done_arg);
	if (s->pending && !s->stopping)
		is_later(s, is_run_start, 0);
}

char *
is_run_url(struct is_run *run, const char *path)
{
	char *index, *base, *out;

	index = simplestreams_fix_url(run->source_url,
	    run->urls[run->url_i % run->nurls]);
	if (path == NULL)
		return index;
	base = simplestreams_mirror_base(index);
	xasprintf(&out, "%s%s", base, path);
	free(base);
	free(index);
	return out;
}

void
is_run_next_url(struct is_run *run)
{
	if (run->nurls > 1) {
		run->url_i = (run->url_i + 1) % run->nurls;
		log_info("images: continuing from %s",
		    run->urls[run->url_i]);
	}
}

/* --- the service ------------------------------------------------------ */

static int
meta_is_old(struct imagesync *s)
{
	char *path = is_path(s, "%s", "current/maas.meta");
	struct stat st;
	int old;

	old = stat(path, &st) == -1 ||
	    (time(NULL) - st.st_mtime) * 1000LL >= s->set.max_age_ms;
	free(path);
	return old;
}

static void
check_cb(evutil_socket_t fd, short what, void *arg)
{
	struct imagesync *s = arg;
	struct timeval tv = { s->set.check_interval_ms / 1000,
	    (s->set.check_interval_ms % 1000) * 1000 };

	evtimer_add(s->check_timer, &tv);
	if (s->stopping || !s->set.enabled || s->run != NULL)
		return;
	if (meta_is_old(s))
		imagesync_request(s, "periodic check", NULL);
}

static void
is_apply_config(struct imagesync *s, const struct rackd_config *cfg)
{
	char *root;
	size_t i;

	s->set = cfg->images;
	for (i = 0; i < s->n_maas_urls; i++)
		free(s->maas_urls[i]);
	free(s->maas_urls);
	s->maas_urls = xcalloc(cfg->n_maas_urls + 1, sizeof(char *));
	for (i = 0; i < cfg->n_maas_urls; i++)
		s->maas_urls[i] = xstrdup(cfg->maas_urls[i]);
	s->n_maas_urls = cfg->n_maas_urls;
	/* storage = the parent of tftp_root (MAAS's boot-resources). */
	free(s->storage);
	root = xstrdup(cfg->tftp_root);
	s->storage = xstrdup(dirname(root));
	free(root);
}

struct imagesync *
imagesync_new(struct event_base *base, struct http *http,
    struct region_pool *pool, struct proc_runner *runner,
    const struct rackd_config *cfg, char **cause)
{
	struct imagesync *s = xcalloc(1, sizeof(*s));

	s->base = base;
	s->http = http;
	s->pool = pool;
	s->runner = runner;
	s->st.last_ok = -1;
	is_apply_config(s, cfg);
	s->check_timer = evtimer_new(base, check_cb, s);
	s->step_timer = evtimer_new(base, step_cb, s);
	if (s->check_timer == NULL || s->step_timer == NULL) {
		xasprintf(cause, "evtimer_new failed");
		imagesync_free(s);
		return NULL;
	}
	if ((s->writer = is_fetch_writer_new(s, cause)) == NULL) {
		imagesync_free(s);
		return NULL;
	}
	return s;
}

void
imagesync_set_done_cb(struct imagesync *s, imagesync_done_cb cb, void *arg)
{
	s->done_cb = cb;
	s->done_arg = arg;
}

void
imagesync_registered(struct imagesync *s)
{
	struct timeval tv;

	if (s == NULL || s->registered || s->stopping)
		return;
	s->registered = 1;
	tv.tv_sec = s->set.check_interval_ms / 1000;
	tv.tv_usec = (s->set.check_interval_ms % 1000) * 1000;
	evtimer_add(s->check_timer, &tv);
	if (s->set.enabled)
		imagesync_request(s, "start-up", NULL);
	else
		log_info("images: sync disabled (images.enabled: false)");
}

void
imagesync_request(struct imagesync *s, const char *reason,
    const struct amp_box *args)
{
	if (s == NULL || s->stopping)
		return;
	if (!s->set.enabled) {
		log_info("images: %s ignored: images.enabled is false",
		    reason);
		return;
	}
	if (s->run != NULL && s->pending) {
		log_info("images: %s while a sync runs and another is queued: "
		    "coalesced", reason);
	} else if (s->run != NULL)
		log_info("images: %s while a sync runs: one more queued",
		    reason);
	/* The newest request's reason and sources win. */
	free(s->pending_reason);
	s->pending_reason = xstrdup(reason);
	amp_box_free(s->pending_args);
	s->pending_args = NULL;
	if (args != NULL) {
		s->pending_args = amp_box_new();
		amp_box_merge(s->pending_args, args);
	}
	s->pending = 1;
	if (s->run == NULL && s->step_fn == NULL)
		is_later(s, is_run_start, 0);
}

bool
imagesync_running(const struct imagesync *s)
{
	return s != NULL && s->run != NULL;
}

void
imagesync_get_stats(const struct imagesync *s, struct imagesync_stats *st)
{
	const struct is_run *run;
	uint64_t el;
	char *cur;

	memset(st, 0, sizeof(*st));
	st->last_ok = -1;
	if (s == NULL)
		return;
	*st = s->st;
	if ((cur = is_current_target(s)) != NULL) {
		snprintf(st->current, sizeof(st->current), "%s", cur);
		free(cur);
	}
	if ((run = s->run) == NULL)
		return;
	st->running = true;
	st->files_total = run->nfiles;
	st->files_done = run->cur;
	st->bytes_total = run->total;
	st->bytes_done = run->done_bytes + (run->cur < run->nfiles ?
	    run->files[run->cur].have : 0);
	el = rackd_now_ms() - run->started_ms;
	st->rate = el > 0 ? run->fetched * 1000 / el : 0;
}

void
imagesync_reconfigure(struct imagesync *s, const struct rackd_config *cfg)
{
	struct timeval tv;
	int was = s->set.enabled;

	is_apply_config(s, cfg);
	if (s->registered) {
		tv.tv_sec = s->set.check_interval_ms / 1000;
		tv.tv_usec = (s->set.check_interval_ms % 1000) * 1000;
		evtimer_add(s->check_timer, &tv);
		if (!was && s->set.enabled)
			imagesync_request(s, "enabled by reload", NULL);
	}
}

void
imagesync_shutdown(struct imagesync *s)
{
	if (s == NULL || s->stopping)
		return;
	s->stopping = 1;
	if (s->req != NULL)
		http_cancel(s->http, s->req);
	s->req = NULL;
	is_writer_cancel(s->writer);
	if (s->proc != NULL)
		proc_cancel(s->proc);
	if (s->check_timer != NULL)
		evtimer_del(s->check_timer);
	if (s->step_timer != NULL)
		evtimer_del(s->step_timer);
}

void
imagesync_free(struct imagesync *s)
{
	size_t i;

	if (s == NULL)
		return;
	imagesync_shutdown(s);
	is_writer_free(s->writer);
	run_free(s->run);
	if (s->check_timer != NULL)
		event_free(s->check_timer);
	if (s->step_timer != NULL)
		event_free(s->step_timer);
	amp_box_free(s->pending_args);
	free(s->pending_reason);
	for (i = 0; i < s->n_maas_urls; i++)
		free(s->maas_urls[i]);
	free(s->maas_urls);
	free(s->storage);
	free(s);
}
