/*
 * imagesync_source.c — what a run fetches (maas-rack-boot.md §1.1-1.3):
 * the source (the ImportBootImages arguments, else GetBootSources; the
 * host swapped for the rack's maas_url), index.json and the products
 * document (next region URL on failure, bounded), the region's
 * selection, maas.meta ("nothing new" touches current/maas.meta), the
 * snapshot plan and the distinct files still missing from the cache,
 * checked against the free space before anything is written.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "amp.h"
#include "http.h"
#include "imagesync_private.h"
#include "log.h"
#include "region.h"
#include "xmalloc.h"

static void	fetch_index(struct imagesync *);

/* Selections of one ImportBootImages / GetBootSources source. */
static int
run_parse_source(struct is_run *run, const struct amp_box *src,
    char **cause)
{
	const struct amp_value *v;
	struct amp_box **sels = NULL;
	size_t nsels = 0, i, nstr = 0, cap;
	char **l, *str;
	const char *keys[3] = { "arches", "subarches", "labels" };
	const char *const **dst;
	size_t k, n;

	if (amp_box_get_str(src, "url", &run->source_url, cause) != 0) {
		if (*cause == NULL)
			xasprintf(cause, "source without url");
		return -1;
	}
	v = amp_box_get(src, "selections");
	if (v != NULL && v->len > 0 &&
	    amp_list_decode(v->data, v->len, &sels, &nsels, cause) == -1)
		return -1;
	cap = 1 + nsels * 64;
	run->sel_strs = xcalloc(cap + 1, sizeof(char *));
	run->sel = xcalloc(nsels + 1, sizeof(*run->sel));
	run->sel_vecs = xcalloc(3 * nsels + 1, sizeof(char **));
	for (i = 0; i < nsels; i++) {
		str = NULL;
		if (amp_box_get_str(sels[i], "os", &str, cause) == -1)
			goto bad;
		if (str != NULL && nstr < cap)
			run->sel_strs[nstr++] = str;
		run->sel[i].os = str;
		str = NULL;
		if (amp_box_get_str(sels[i], "release", &str, cause) == -1)
			goto bad;
		if (str != NULL && nstr < cap)
			run->sel_strs[nstr++] = str;
		run->sel[i].release = str;
		for (k = 0; k < 3; k++) {
			dst = k == 0 ? &run->sel[i].arches : k == 1 ?
			    &run->sel[i].subarches : &run->sel[i].labels;
			v = amp_box_get(sels[i], keys[k]);
			if (v == NULL)
				continue;
			if (amp_listof_str_decode(v, &l, &n, cause) == -1)
				goto bad;
			/* The vector is kept as one owned string list. */
			*dst = (const char *const *)l;
			run->sel_vecs[run->nvecs++] = l;
		}
	}
	run->nsel = nsels;
	amp_list_free(sels, nsels);
	return 0;
bad:
	amp_list_free(sels, nsels);
	return -1;
}

/* The URL list: the pool's working maas_url first, then the others. */
static void
run_urls(struct imagesync *s, struct is_run *run)
{
	const char *pool_url = region_pool_maas_url(s->pool);
	size_t i, j;

	run->urls = xcalloc(s->n_maas_urls + 2, sizeof(*run->urls));
	if (pool_url != NULL)
		run->urls[run->nurls++] = xstrdup(pool_url);
	for (i = 0; i < s->n_maas_urls; i++) {
		for (j = 0; j < run->nurls; j++)
			if (strcmp(run->urls[j], s->maas_urls[i]) == 0)
				break;
		if (j == run->nurls)
			run->urls[run->nurls++] = xstrdup(s->maas_urls[i]);
	}
}

/* --- step 1: sources ------------------------------------------------- */

static void
sources_done(const struct region_call_result *res, void *arg)
{
	struct imagesync *s = arg;
	struct is_run *run = s->run;
	const struct amp_value *v;
	struct amp_box **srcs = NULL;
	size_t n = 0;
	char *cause = NULL;

	s->calls--;
	if (s->stopping || run == NULL || res->status == REGION_CALL_CANCELLED)
		return;
	if (res->status != REGION_CALL_OK) {
		is_run_finish(s, 0, 0, "GetBootSources: %s%s%s",
		    region_call_status_name(res->status),
		    res->error_description != NULL ? ": " : "",
		    res->error_description != NULL ?
		    res->error_description : "");
		return;
	}
	v = amp_box_get(res->answer, "sources");
	if (v == NULL || (v->len > 0 &&
	    amp_list_decode(v->data, v->len, &srcs, &n, &cause) == -1)) {
		is_run_finish(s, 0, 0, "GetBootSources: bad answer: %s",
		    cause != NULL ? cause : "no sources");
		free(cause);
		return;
	}
	if (n == 0) {
		log_warnx("images: the region provided no source");
		is_event(s, "RACK_IMPORT_WARNING",
		    "Can't import: region did not provide a source.");
		/* Not an exception in MAAS: the sync is still reported. */
		is_run_finish(s, 1, 0, "sync (%s): the region did not provide a "
		    "source", run->reason);
		return;
	}
	if (run_parse_source(run, srcs[0], &cause) == -1) {
		is_run_finish(s, 0, 0, "GetBootSources: bad source: %s", cause);
		free(cause);
		amp_list_free(srcs, n);
		return;
	}
	amp_list_free(srcs, n);
	fetch_index(s);
}

static void
proxies_done(const struct region_call_result *res, void *arg)
{
	struct imagesync *s = arg;

	s->calls--;
	/* Only logged: the region (the only host we fetch from) is in
	 * MAAS's no_proxy, so the rack never uses these for the sync. */
	if (res->status == REGION_CALL_OK && res->answer != NULL &&
	    amp_box_has(res->answer, "http"))
		log_debug("images: the region has an HTTP proxy; not used for "
		    "the region's own stream (as MAAS's no_proxy)");
}

void
is_run_start(struct imagesync *s)
{
	struct is_run *run;
	struct amp_box *a, **srcs = NULL;
	const struct amp_value *v;
	size_t n = 0;
	char *cause = NULL;

	if (s->run != NULL || s->stopping)
		return;
	run = xcalloc(1, sizeof(*run));
	run->fd = -1;
	run->reason = s->pending_reason != NULL ? s->pending_reason :
	    xstrdup("request");
	s->pending_reason = NULL;
	s->pending = 0;
	run->started_ms = rackd_now_ms();
	run_urls(s, run);
	s->run = run;
	s->st.phase = "sources";
	s->st.last_start = (int64_t)time(NULL);
	log_info("images: sync started (%s) from %s", run->reason,
	    run->urls[0]);
	/* Nothing is created on disk until there is something to fetch. */
	is_event(s, "RACK_IMPORT_INFO", "Starting rack boot image import");
	s->calls++;
	region_call(s->pool, "GetProxies", NULL,
	    REGION_CALL_IDEMPOTENT, 30000, proxies_done, s);
	if (s->pending_args != NULL) {
		/* ImportBootImages carried the sources: MAAS uses them. */
		v = amp_box_get(s->pending_args, "sources");
		if (v != NULL && v->len > 0 &&
		    amp_list_decode(v->data, v->len, &srcs, &n, &cause) == 0 &&
		    n > 0 && run_parse_source(run, srcs[0], &cause) == 0) {
			amp_list_free(srcs, n);
			amp_box_free(s->pending_args);
			s->pending_args = NULL;
			fetch_index(s);
			return;
		}
		if (cause != NULL) {
			log_warnx("images: ImportBootImages sources unusable "
			    "(%s): asking GetBootSources", cause);
			free(cause);
		}
		amp_list_free(srcs, n);
		amp_box_free(s->pending_args);
		s->pending_args = NULL;
	}
	a = amp_box_new();
	amp_box_put_str(a, "uuid", region_pool_system_id(s->pool));
	s->calls++;
	region_call(s->pool, "GetBootSources", a, REGION_CALL_IDEMPOTENT,
	    30000, sources_done, s);
}

/* --- step 2: index.json and the products document -------------------- */

static void	products_done(const struct http_result *, void *);

/* A document GET failed: next region URL, bounded. */
static int
doc_retry(struct imagesync *s, void (*again)(struct imagesync *))
{
	struct is_run *run = s->run;

	if (++run->doc_tries >= (int)(2 * run->nurls + 1))
		return 0;
	is_run_next_url(run);
	is_later(s, again, IS_RETRY_DELAY_MS);
	return 1;
}

static void
fetch_products(struct imagesync *s)
{
	struct is_run *run = s->run;
	char *url = is_run_url(run, run->products_path), *cause = NULL;

	s->req = http_get(s->http, url, NULL, IS_DOC_TIMEOUT_MS, IS_DOC_MAX,
	    products_done, s, &cause);
	if (s->req == NULL) {
		is_run_finish(s, 0, 0, "%s", cause);
		free(cause);
	}
	free(url);
}

static void
index_done(const struct http_result *res, void *arg)
{
	struct imagesync *s = arg;
	struct is_run *run = s->run;
	char *cause = NULL;

	s->req = NULL;
	if (!res->ok || res->status >= 500) {
		log_warnx("images: index.json from %s: %s",
		    run->urls[run->url_i], res->ok ? "server error" :
		    res->error);
		if (!doc_retry(s, fetch_index))
			is_run_finish(s, 0, 0, "index.json: %s", res->ok ?
			    "server error" : res->error);
		return;
	}
	if (res->status != 200) {
		is_run_finish(s, 0, 0, "index.json: HTTP %ld", res->status);
		return;
	}
	free(run->products_path);
	run->products_path = simplestreams_index_products_path(res->body,
	    res->len, &cause);
	if (run->products_path == NULL) {
		is_run_finish(s, 0, 0, "%s", cause);
		free(cause);
		return;
	}
	fetch_products(s);
}

static void
fetch_index(struct imagesync *s)
{
	struct is_run *run = s->run;
	char *url = is_run_url(run, NULL), *cause = NULL;

	s->st.phase = "index";
	log_debug("images: GET %s", url);
	s->req = http_get(s->http, url, NULL, IS_DOC_TIMEOUT_MS, IS_DOC_MAX,
	    index_done, s, &cause);
	if (s->req == NULL) {
		is_run_finish(s, 0, 0, "%s", cause);
		free(cause);
	}
	free(url);
}


static void
products_done(const struct http_result *res, void *arg)
{
	struct imagesync *s = arg;
	struct is_run *run = s->run;
	struct statvfs vfs;
	uint64_t need = 0, avail;
	char *cause = NULL, *cache, *cur, h1[32], h2[32];
	size_t i, j;

	s->req = NULL;
	if (!res->ok || res->status >= 500) {
		if (!doc_retry(s, fetch_products))
			is_run_finish(s, 0, 0, "%s: %s", run->products_path,
			    res->ok ? "server error" : res->error);
		return;
	}
	if (res->status != 200) {
		is_run_finish(s, 0, 0, "%s: HTTP %ld", run->products_path,
		    res->status);
		return;
	}
	run->cat = simplestreams_parse_products(res->body, res->len, &cause);
	if (run->cat == NULL) {
		is_run_finish(s, 0, 0, "%s", cause);
		free(cause);
		return;
	}
	simplestreams_select(run->cat, run->sel, run->nsel);
	run->plan = simplestreams_plan(run->cat, &run->nplan);
	if (run->nplan == 0) {
		log_warnx("images: the region has no boot images");
		is_event(s, "RACK_IMPORT_WARNING", "Finished importing boot "
		    "images, the region does not have any boot images "
		    "available.");
		is_run_finish(s, 1, 0, "sync (%s): the region has no boot images",
		    run->reason);
		return;
	}
	run->meta = simplestreams_meta_json(run->cat);
	if (is_meta_unchanged(s, run->meta)) {
		is_event(s, "RACK_IMPORT_INFO", "Finished importing boot "
		    "images.");
		is_run_finish(s, 1, 0, "sync (%s): nothing new in %zu products",
		    run->reason, run->cat->nproducts);
		return;
	}
	/* The distinct files still missing from the cache. */
	cache = is_path(s, "%s", "cache");
	if (is_mkdirs(cache) == -1) {
		is_run_finish(s, 0, 0, "cannot create %s: %s", cache,
		    strerror(errno));
		free(cache);
		return;
	}
	/* A run that died (rackd killed) left a partial snapshot and
	 * partial files: never served (current did not move), gone now. */
	is_cache_sweep_partials(s);
	cur = is_current_target(s);
	is_cleanup(s, cur, 0);
	free(cur);
	run->files = xcalloc(run->nplan + 1, sizeof(*run->files));
	for (i = 0; i < run->nplan; i++) {
		const struct ss_item *it = run->plan[i].item;

		for (j = 0; j < run->nfiles; j++)
			if (strcmp(run->files[j].item->sha256, it->sha256) == 0)
				break;
		if (j < run->nfiles || is_cache_has(s, it, run->plan[i].archive))
			continue;
		run->files[run->nfiles].item = it;
		run->files[run->nfiles].archive = run->plan[i].archive;
		run->nfiles++;
		run->total += it->size;
		/* An archive is unpacked beside itself: twice its size. */
		need += run->plan[i].archive ? 4 * it->size : it->size;
	}
	/* Bounded disk: fail before filling the filesystem. */
	if (need > 0 && statvfs(cache, &vfs) == 0) {
		avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
		need += 1024 * 1024;	/* snapshot dirs, maas.meta */
		if (need > avail) {
			is_human(need, h1, sizeof(h1));
			is_human(avail, h2, sizeof(h2));
			free(cache);
			is_run_finish(s, 0, 0, "not enough disk space in %s: %s "
			    "needed for %zu new files, %s free", s->storage,
			    h1, run->nfiles, h2);
			return;
		}
	}
	free(cache);
	is_human(run->total, h1, sizeof(h1));
	log_info("images: %zu products, %zu files to fetch (%s)",
	    run->cat->nproducts, run->nfiles, h1);
	run->last_log_ms = rackd_now_ms();
	is_fetch_files(s);
}
