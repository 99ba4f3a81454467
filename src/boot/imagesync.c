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
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <dirent.h>
#include <inttypes.h>
#include <stdarg.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/evp.h>

#include "amp.h"
#include "config.h"
#include "http.h"
#include "imagesync.h"
#include "log.h"
#include "proc.h"
#include "rackd.h"
#include "region.h"
#include "simplestreams.h"
#include "xmalloc.h"

#define IS_DOC_MAX		(64u * 1024 * 1024)	/* index / products */
#define IS_DOC_TIMEOUT_MS	60000
#define IS_CONNECT_TIMEOUT_MS	10000
#define IS_PROGRESS_MS		10000
#define IS_RETRY_DELAY_MS	1000
#define IS_TAR			"/usr/bin/tar"
#define IS_TAR_TIMEOUT_MS	300000

struct is_file {			/* one distinct sha256 to fetch */
	const struct ss_item	*item;		/* borrowed from the catalog */
	int			 archive;
	int			 transfers;	/* failed transfers (any URL) */
	int			 bad;		/* fetches failing the check */
	uint64_t		 have;		/* hashed bytes in the .part */
	EVP_MD_CTX		*md;
};

struct is_run {
	char			*reason;
	char			*source_url;	/* the region's, as sent */
	struct ss_selection	*sel;
	size_t			 nsel;
	char			**sel_strs;	/* owned strings of sel */
	char			***sel_vecs;	/* owned lists of sel */
	size_t			 nvecs;
	char			**urls;		/* maas_urls to try, in order */
	size_t			 nurls, url_i;
	struct ss_catalog	*cat;
	char			*products_path;
	char			*meta;
	struct ss_link		*plan;
	size_t			 nplan;
	struct is_file		*files;
	size_t			 nfiles, cur;
	int			 fd;
	uint64_t		 total, done_bytes, started_ms, last_log_ms;
	uint64_t		 fetched;
	int			 doc_tries;
	size_t			 arch_i;
	char			*xdir;		/* archive being unpacked */
	char			*snapshot;
};

struct imagesync {
	struct event_base	*base;
	struct http		*http;
	struct region_pool	*pool;
	struct proc_runner	*runner;
	struct config_images	 set;
	char			*storage;
	char			**maas_urls;
	size_t			 n_maas_urls;
	struct event		*check_timer;
	struct event		*step_timer;	/* retries, deferred starts */
	void			(*step_fn)(struct imagesync *);
	struct is_run		*run;
	struct http_request	*req;
	struct proc		*proc;
	int			 pending;	/* one more run queued */
	char			*pending_reason;
	struct amp_box		*pending_args;
	int			 registered;
	int			 stopping;
	int			 calls;		/* region calls in flight */
	int			 events_registered;
	imagesync_done_cb	 done_cb;
	void			*done_arg;
	struct imagesync_stats	 st;	/* phase, runs_*, last_* (status) */
};

static void	run_start(struct imagesync *);
static void	run_finish(struct imagesync *, int ok, int switched,
		    const char *fmt, ...) RACKD_PRINTF(4, 5);
static void	fetch_index(struct imagesync *);
static void	fetch_next_file(struct imagesync *);
static void	unpack_next(struct imagesync *);
static void	cleanup(struct imagesync *, const char *, int);

/* --- small helpers -------------------------------------------------- */

static char *is_path(const struct imagesync *, const char *, ...)
    RACKD_PRINTF(2, 3);

/* storage/<fmt...>, malloc'd. */
static char *
is_path(const struct imagesync *s, const char *fmt, ...)
{
	char *rel, *out;
	va_list ap;

	va_start(ap, fmt);
	xvasprintf(&rel, fmt, ap);
	va_end(ap);
	xasprintf(&out, "%s/%s", s->storage, rel);
	free(rel);
	return out;
}

static void
is_human(uint64_t n, char *buf, size_t len)
{
	const char *u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int i = 0;

	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(buf, len, "%" PRIu64 " B", n);
	else
		snprintf(buf, len, "%.1f %s", v, u[i]);
}

static int
is_rm_cb(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

static void
is_rmtree(const char *path)
{
	nftw(path, is_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static int
is_mkdirs(const char *path)
{
	char *p = xstrdup(path), *c;
	int rc = 0;

	for (c = p + 1; *c != '\0'; c++) {
		if (*c != '/')
			continue;
		*c = '\0';
		if (mkdir(p, 0755) == -1 && errno != EEXIST)
			rc = -1;
		*c = '/';
	}
	if (mkdir(p, 0755) == -1 && errno != EEXIST)
		rc = -1;
	free(p);
	return rc;
}

/* The snapshot `current` points at (basename), or NULL. */
static char *
is_current_target(const struct imagesync *s)
{
	char *link = is_path(s, "%s", "current"), buf[4096], *out = NULL;
	ssize_t n = readlink(link, buf, sizeof(buf) - 1);

	if (n > 0) {
		buf[n] = '\0';
		out = xstrdup(basename(buf));
	}
	free(link);
	return out;
}

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

/* A RACK_IMPORT_* event about this rack (MAAS's try_send_rack_event). */
static void
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

/* Run fn from the loop after ms (never from inside a callback chain). */
static void
is_later(struct imagesync *s, void (*fn)(struct imagesync *), int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	s->step_fn = fn;
	evtimer_add(s->step_timer, &tv);
}

static void
run_finish(struct imagesync *s, int ok, int switched, const char *fmt, ...)
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
	run_free(run);
	s->run = NULL;
	s->req = NULL;
	if (s->done_cb != NULL)
		s->done_cb(ok, switched, s->done_arg);
	if (s->pending && !s->stopping)
		is_later(s, run_start, 0);
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

/* URL of path (relative to the mirror base) through the current region. */
static char *
run_url(struct is_run *run, const char *path)
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

/* Next region URL after a transport failure; the log says which. */
static void
run_next_url(struct is_run *run)
{
	if (run->nurls > 1) {
		run->url_i = (run->url_i + 1) % run->nurls;
		log_info("images: continuing from %s",
		    run->urls[run->url_i]);
	}
}

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
		run_finish(s, 0, 0, "GetBootSources: %s%s%s",
		    region_call_status_name(res->status),
		    res->error_description != NULL ? ": " : "",
		    res->error_description != NULL ?
		    res->error_description : "");
		return;
	}
	v = amp_box_get(res->answer, "sources");
	if (v == NULL || (v->len > 0 &&
	    amp_list_decode(v->data, v->len, &srcs, &n, &cause) == -1)) {
		run_finish(s, 0, 0, "GetBootSources: bad answer: %s",
		    cause != NULL ? cause : "no sources");
		free(cause);
		return;
	}
	if (n == 0) {
		log_warnx("images: the region provided no source");
		is_event(s, "RACK_IMPORT_WARNING",
		    "Can't import: region did not provide a source.");
		/* Not an exception in MAAS: the sync is still reported. */
		run_finish(s, 1, 0, "sync (%s): the region did not provide a "
		    "source", run->reason);
		return;
	}
	if (run_parse_source(run, srcs[0], &cause) == -1) {
		run_finish(s, 0, 0, "GetBootSources: bad source: %s", cause);
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

static void
run_start(struct imagesync *s)
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
	run_next_url(run);
	is_later(s, again, IS_RETRY_DELAY_MS);
	return 1;
}

static void
fetch_products(struct imagesync *s)
{
	struct is_run *run = s->run;
	char *url = run_url(run, run->products_path), *cause = NULL;

	s->req = http_get(s->http, url, NULL, IS_DOC_TIMEOUT_MS, IS_DOC_MAX,
	    products_done, s, &cause);
	if (s->req == NULL) {
		run_finish(s, 0, 0, "%s", cause);
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
			run_finish(s, 0, 0, "index.json: %s", res->ok ?
			    "server error" : res->error);
		return;
	}
	if (res->status != 200) {
		run_finish(s, 0, 0, "index.json: HTTP %ld", res->status);
		return;
	}
	free(run->products_path);
	run->products_path = simplestreams_index_products_path(res->body,
	    res->len, &cause);
	if (run->products_path == NULL) {
		run_finish(s, 0, 0, "%s", cause);
		free(cause);
		return;
	}
	fetch_products(s);
}

static void
fetch_index(struct imagesync *s)
{
	struct is_run *run = s->run;
	char *url = run_url(run, NULL), *cause = NULL;

	s->st.phase = "index";
	log_debug("images: GET %s", url);
	s->req = http_get(s->http, url, NULL, IS_DOC_TIMEOUT_MS, IS_DOC_MAX,
	    index_done, s, &cause);
	if (s->req == NULL) {
		run_finish(s, 0, 0, "%s", cause);
		free(cause);
	}
	free(url);
}

/* current/maas.meta equals meta: touch it (keeps the poll cheap). */
static int
meta_unchanged(struct imagesync *s, const char *meta)
{
	char *path = is_path(s, "%s", "current/maas.meta"), *buf;
	size_t len = strlen(meta);
	struct stat st;
	int fd, same = 0;
	ssize_t n;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		free(path);
		return 0;
	}
	if (fstat(fd, &st) == 0 && (size_t)st.st_size == len) {
		buf = xmalloc(len + 1);
		n = read(fd, buf, len + 1);
		same = n == (ssize_t)len && memcmp(buf, meta, len) == 0;
		free(buf);
	}
	close(fd);
	if (same)
		utimensat(AT_FDCWD, path, NULL, 0);
	free(path);
	return same;
}

/* Is this item already in the cache (archives: by their members)? */
static int
cache_has(struct imagesync *s, const struct ss_item *it, int archive)
{
	char *path, suffix[80];
	struct dirent *de;
	struct stat st;
	size_t sl, dl;
	DIR *d;
	int found = 0;

	if (archive) {
		snprintf(suffix, sizeof(suffix), "-%s", it->sha256);
		path = is_path(s, "%s", "cache");
		if ((d = opendir(path)) != NULL) {
			sl = strlen(suffix);
			while (!found && (de = readdir(d)) != NULL) {
				dl = strlen(de->d_name);
				found = dl > sl && strcmp(de->d_name + dl - sl,
				    suffix) == 0;
			}
			closedir(d);
		}
		free(path);
		return found;
	}
	path = is_path(s, "cache/%s", it->sha256);
	if (stat(path, &st) == 0) {
		/* A wrong size (e.g. cut by a crash) is never trusted. */
		if ((uint64_t)st.st_size == it->size)
			found = 1;
		else
			unlink(path);
	}
	free(path);
	return found;
}

/* Leftovers of a run that died: partial files and unpack dirs. */
static void
cache_sweep_partials(struct imagesync *s)
{
	char *dir = is_path(s, "%s", "cache"), *p;
	struct dirent *de;
	size_t l;
	DIR *d;

	if ((d = opendir(dir)) == NULL) {
		free(dir);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		l = strlen(de->d_name);
		if ((l > 5 && strcmp(de->d_name + l - 5, ".part") == 0) ||
		    strncmp(de->d_name, ".x-", 3) == 0) {
			xasprintf(&p, "%s/%s", dir, de->d_name);
			is_rmtree(p);
			free(p);
		}
	}
	closedir(d);
	free(dir);
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
			run_finish(s, 0, 0, "%s: %s", run->products_path,
			    res->ok ? "server error" : res->error);
		return;
	}
	if (res->status != 200) {
		run_finish(s, 0, 0, "%s: HTTP %ld", run->products_path,
		    res->status);
		return;
	}
	run->cat = simplestreams_parse_products(res->body, res->len, &cause);
	if (run->cat == NULL) {
		run_finish(s, 0, 0, "%s", cause);
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
		run_finish(s, 1, 0, "sync (%s): the region has no boot images",
		    run->reason);
		return;
	}
	run->meta = simplestreams_meta_json(run->cat);
	if (meta_unchanged(s, run->meta)) {
		is_event(s, "RACK_IMPORT_INFO", "Finished importing boot "
		    "images.");
		run_finish(s, 1, 0, "sync (%s): nothing new in %zu products",
		    run->reason, run->cat->nproducts);
		return;
	}
	/* The distinct files still missing from the cache. */
	cache = is_path(s, "%s", "cache");
	if (is_mkdirs(cache) == -1) {
		run_finish(s, 0, 0, "cannot create %s: %s", cache,
		    strerror(errno));
		free(cache);
		return;
	}
	/* A run that died (rackd killed) left a partial snapshot and
	 * partial files: never served (current did not move), gone now. */
	cache_sweep_partials(s);
	cur = is_current_target(s);
	cleanup(s, cur, 0);
	free(cur);
	run->files = xcalloc(run->nplan + 1, sizeof(*run->files));
	for (i = 0; i < run->nplan; i++) {
		const struct ss_item *it = run->plan[i].item;

		for (j = 0; j < run->nfiles; j++)
			if (strcmp(run->files[j].item->sha256, it->sha256) == 0)
				break;
		if (j < run->nfiles || cache_has(s, it, run->plan[i].archive))
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
			run_finish(s, 0, 0, "not enough disk space in %s: %s "
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
	fetch_next_file(s);
}

/* --- step 3: the files ----------------------------------------------- */

static void	file_done(const struct http_result *, void *);

static void
is_progress(struct imagesync *s, int force)
{
	struct is_run *run = s->run;
	uint64_t now = rackd_now_ms(), got, el;
	char a[32], b[32], r[32], eta[32];
	double rate;

	if (!force && now - run->last_log_ms < IS_PROGRESS_MS)
		return;
	run->last_log_ms = now;
	got = run->done_bytes + (run->cur < run->nfiles ?
	    run->files[run->cur].have : 0);
	el = now - run->started_ms;
	rate = el > 0 ? (double)run->fetched * 1000.0 / (double)el : 0;
	is_human(got, a, sizeof(a));
	is_human(run->total, b, sizeof(b));
	is_human((uint64_t)rate, r, sizeof(r));
	if (rate > 0)
		snprintf(eta, sizeof(eta), "%.0f s",
		    (double)(run->total - got) / rate);
	else
		snprintf(eta, sizeof(eta), "unknown");
	log_info("images: %s of %s (%d%%), %s/s, ETA %s", a, b,
	    run->total > 0 ? (int)(got * 100 / run->total) : 100, r, eta);
}

static int
file_data(const void *data, size_t len, uint64_t at, void *arg)
{
	struct imagesync *s = arg;
	struct is_run *run = s->run;
	struct is_file *f = &run->files[run->cur];

	if (at == 0 && f->have > 0) {
		/* The server ignored our Range: hash from the start. */
		EVP_DigestInit_ex(f->md, EVP_sha256(), NULL);
		f->have = 0;
	}
	EVP_DigestUpdate(f->md, data, len);
	f->have += len;
	run->fetched += len;
	if (f->have > f->item->size)
		return 1;	/* longer than announced: abort, refetch */
	is_progress(s, 0);
	return 0;
}

static void
file_start(struct imagesync *s)
{
	struct is_run *run = s->run;
	struct is_file *f = &run->files[run->cur];
	char *part, *url, *cause = NULL;

	part = is_path(s, "cache/%s.part", f->item->sha256);
	if (run->fd < 0) {
		run->fd = open(part, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (run->fd == -1) {
			run_finish(s, 0, 0, "cannot create %s: %s", part,
			    strerror(errno));
			free(part);
			return;
		}
	}
	free(part);
	if (f->md == NULL) {
		f->md = EVP_MD_CTX_new();
		EVP_DigestInit_ex(f->md, EVP_sha256(), NULL);
	}
	url = run_url(run, f->item->path);
	log_debug("images: GET %s (from byte %" PRIu64 ")", url, f->have);
	s->req = http_get_to_fd(s->http, url, run->fd, f->have,
	    IS_CONNECT_TIMEOUT_MS, s->set.stall_timeout_ms, file_data,
	    file_done, s, &cause);
	if (s->req == NULL) {
		run_finish(s, 0, 0, "%s", cause);
		free(cause);
	}
	free(url);
}

/* The file failed its check: delete it, fetch again (bounded). */
static void
file_bad(struct imagesync *s, const char *why)
{
	struct is_run *run = s->run;
	struct is_file *f = &run->files[run->cur];
	char *part = is_path(s, "cache/%s.part", f->item->sha256);

	close(run->fd);
	run->fd = -1;
	unlink(part);
	free(part);
	f->have = 0;
	EVP_DigestInit_ex(f->md, EVP_sha256(), NULL);
	f->bad++;
	log_warnx("images: %s from %s refused (%s); attempt %d of %d",
	    f->item->path, run->urls[run->url_i], why, f->bad,
	    s->set.retries);
	if (f->bad >= s->set.retries) {
		run_finish(s, 0, 0, "%s failed its check %d times (%s)",
		    f->item->path, f->bad, why);
		return;
	}
	is_later(s, file_start, IS_RETRY_DELAY_MS);
}

static void
file_done(const struct http_result *res, void *arg)
{
	struct imagesync *s = arg;
	struct is_run *run = s->run;
	struct is_file *f = &run->files[run->cur];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	char hex[2 * EVP_MAX_MD_SIZE + 1], *part, *dst, why[160];

	s->req = NULL;
	if (res->write_errno != 0) {
		run_finish(s, 0, 0, "writing %s: %s", f->item->path,
		    strerror(res->write_errno));
		return;
	}
	if (!res->ok && strcmp(res->error, "aborted") == 0) {
		file_bad(s, "longer than its announced size");
		return;
	}
	if (!res->ok || res->status >= 500 || res->status == 404) {
		/* Transport failure (region gone, stall): resume from the
		 * next region with what we have. */
		f->transfers++;
		log_warnx("images: %s from %s: %s (%" PRIu64 " of %" PRIu64
		    " bytes)", f->item->path, run->urls[run->url_i],
		    res->ok ? "HTTP error" : res->error, f->have,
		    f->item->size);
		if (f->transfers > (int)(3 * run->nurls + 2)) {
			run_finish(s, 0, 0, "%s: %s", f->item->path, res->ok ?
			    "HTTP error" : res->error);
			return;
		}
		run_next_url(run);
		is_later(s, file_start, IS_RETRY_DELAY_MS);
		return;
	}
	if (res->status != 200 && res->status != 206) {
		run_finish(s, 0, 0, "%s: HTTP %ld", f->item->path,
		    res->status);
		return;
	}
	if (f->have != f->item->size) {
		snprintf(why, sizeof(why), "%" PRIu64 " bytes, %" PRIu64
		    " announced", f->have, f->item->size);
		file_bad(s, why);
		return;
	}
	EVP_DigestFinal_ex(f->md, md, &mdlen);
	for (i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	if (strcmp(hex, f->item->sha256) != 0) {
		snprintf(why, sizeof(why), "sha256 %.16s..., announced "
		    "%.16s...", hex, f->item->sha256);
		file_bad(s, why);
		return;
	}
	close(run->fd);
	run->fd = -1;
	part = is_path(s, "cache/%s.part", f->item->sha256);
	dst = is_path(s, "cache/%s", f->item->sha256);
	if (rename(part, dst) == -1) {
		run_finish(s, 0, 0, "rename %s: %s", part, strerror(errno));
		free(part);
		free(dst);
		return;
	}
	free(part);
	free(dst);
	run->done_bytes += f->item->size;
	run->cur++;
	fetch_next_file(s);
}

static void
fetch_next_file(struct imagesync *s)
{
	struct is_run *run = s->run;

	if (run->cur < run->nfiles) {
		s->st.phase = "download";
		file_start(s);
		return;
	}
	if (run->nfiles > 0)
		is_progress(s, 1);
	run->arch_i = 0;
	unpack_next(s);
}

/* --- step 4: bootloader archives ------------------------------------- */

static void	build_snapshot(struct imagesync *);

/* Move every regular file of dir to cache/<name>-<sha>; 0 or -1. */
static int
unpack_collect(struct imagesync *s, const char *dir, const char *sha,
    char **cause)
{
	struct dirent *de;
	struct stat st;
	char *src, *dst;
	DIR *d;
	int n = 0;

	if ((d = opendir(dir)) == NULL) {
		xasprintf(cause, "%s: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		xasprintf(&src, "%s/%s", dir, de->d_name);
		if (lstat(src, &st) == 0 && S_ISDIR(st.st_mode)) {
			if (unpack_collect(s, src, sha, cause) == -1) {
				free(src);
				closedir(d);
				return -1;
			}
		} else if (lstat(src, &st) == 0 && S_ISREG(st.st_mode)) {
			xasprintf(&dst, "%s/cache/%s-%s", s->storage,
			    de->d_name, sha);
			if (rename(src, dst) == -1) {
				xasprintf(cause, "rename %s: %s", src,
				    strerror(errno));
				free(dst);
				free(src);
				closedir(d);
				return -1;
			}
			free(dst);
			n++;
		}
		free(src);
	}
	closedir(d);
	return 0;
}

static void
unpack_done(const struct proc_result *res, void *arg)
{
	struct imagesync *s = arg;
	struct is_run *run = s->run;
	struct is_file *f = &run->files[run->arch_i];
	char *cause = NULL, *archive;

	s->proc = NULL;
	if (res->cancelled || s->stopping || run == NULL)
		return;
	if (res->spawn_error != 0 || !res->exited || res->exit_status != 0) {
		run_finish(s, 0, 0, "unpacking %s: tar %s: %s", f->item->path,
		    res->spawn_error ? strerror(res->spawn_error) :
		    res->timed_out ? "timed out" : "failed",
		    res->err_len > 0 ? res->err : "");
		return;
	}
	if (unpack_collect(s, run->xdir, f->item->sha256, &cause) == -1) {
		run_finish(s, 0, 0, "unpacking %s: %s", f->item->path, cause);
		free(cause);
		return;
	}
	is_rmtree(run->xdir);
	/* MAAS keeps only the members (tagged with the archive's sha). */
	archive = is_path(s, "cache/%s", f->item->sha256);
	unlink(archive);
	free(archive);
	run->arch_i++;
	unpack_next(s);
}

static void
unpack_next(struct imagesync *s)
{
	struct is_run *run = s->run;
	struct proc_spec spec;
	char *archive, *cause = NULL;
	char *argv[10];

	while (run->arch_i < run->nfiles && !run->files[run->arch_i].archive)
		run->arch_i++;
	if (run->arch_i >= run->nfiles) {
		s->st.phase = "snapshot";
		build_snapshot(s);
		return;
	}
	s->st.phase = "unpack";
	archive = is_path(s, "cache/%s", run->files[run->arch_i].item->sha256);
	free(run->xdir);
	run->xdir = is_path(s, "cache/.x-%s",
	    run->files[run->arch_i].item->sha256);
	is_rmtree(run->xdir);
	if (mkdir(run->xdir, 0755) == -1) {
		run_finish(s, 0, 0, "mkdir %s: %s", run->xdir, strerror(errno));
		free(archive);
		return;
	}
	/* GNU tar drops leading '/' and refuses members with "..". */
	argv[0] = "tar";
	argv[1] = "-xJf";
	argv[2] = archive;
	argv[3] = "-C";
	argv[4] = run->xdir;
	argv[5] = "--no-same-owner";
	argv[6] = "--no-same-permissions";
	argv[7] = NULL;
	memset(&spec, 0, sizeof(spec));
	spec.path = IS_TAR;
	spec.argv = argv;
	spec.timeout_ms = IS_TAR_TIMEOUT_MS;
	s->proc = proc_start(s->runner, &spec, unpack_done, s, &cause);
	free(archive);
	if (s->proc == NULL) {
		run_finish(s, 0, 0, "tar: %s", cause);
		free(cause);
	}
}

/* --- step 5: the snapshot -------------------------------------------- */

/* Bootloader files each boot method links into the root (§1.5). */
static const struct {
	const char *dir;
	const char *files[7];
} is_boot_methods[] = {
	{ "bootloader/pxe/i386", { "lpxelinux.0", "chain.c32", "ifcpu64.c32",
	    "ldlinux.c32", "libcom32.c32", "libutil.c32", NULL } },
	{ "bootloader/uefi/amd64", { "bootx64.efi", "grubx64.efi", NULL } },
	{ "bootloader/uefi/arm64", { "bootaa64.efi", "grubaa64.efi", NULL } },
	{ "bootloader/open-firmware/ppc64el", { "bootppc64.bin", NULL } },
};

static int
snap_link(struct imagesync *s, const char *src, const char *dst,
    char **cause)
{
	char *dir = xstrdup(dst), *slash = strrchr(dir, '/');

	if (slash != NULL) {
		*slash = '\0';
		is_mkdirs(dir);
	}
	free(dir);
	if (link(src, dst) == -1 && errno != EEXIST) {
		xasprintf(cause, "link %s -> %s: %s", dst, src,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Link every member of an unpacked archive into dir. */
static int
snap_link_members(struct imagesync *s, const char *sha, const char *dir,
    char **cause)
{
	char *cache = is_path(s, "%s", "cache"), suffix[80], *src, *dst,
	    *name;
	struct dirent *de;
	size_t sl, dl;
	DIR *d;
	int rc = 0, n = 0;

	snprintf(suffix, sizeof(suffix), "-%s", sha);
	sl = strlen(suffix);
	if ((d = opendir(cache)) == NULL) {
		xasprintf(cause, "%s: %s", cache, strerror(errno));
		free(cache);
		return -1;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		dl = strlen(de->d_name);
		if (dl <= sl || strcmp(de->d_name + dl - sl, suffix) != 0)
			continue;
		name = xstrndup(de->d_name, dl - sl);
		xasprintf(&src, "%s/%s", cache, de->d_name);
		xasprintf(&dst, "%s/%s", dir, name);
		rc = snap_link(s, src, dst, cause);
		n++;
		free(name);
		free(src);
		free(dst);
	}
	closedir(d);
	free(cache);
	if (rc == 0 && n == 0) {
		xasprintf(cause, "archive %.16s...: no member in the cache",
		    sha);
		rc = -1;
	}
	return rc;
}

static void
snap_bootloaders(struct imagesync *s, const char *snap)
{
	struct stat st;
	char *dir, *src, *dst, *msg;
	size_t i, j;

	for (i = 0; i < RACKD_NELEM(is_boot_methods); i++) {
		xasprintf(&dir, "%s/%s", snap, is_boot_methods[i].dir);
		if (stat(dir, &st) == -1) {
			free(dir);
			continue;
		}
		for (j = 0; is_boot_methods[i].files[j] != NULL; j++) {
			xasprintf(&src, "%s/%s", dir,
			    is_boot_methods[i].files[j]);
			xasprintf(&dst, "%s/%s", snap,
			    is_boot_methods[i].files[j]);
			if (stat(src, &st) == -1) {
				xasprintf(&msg, "SimpleStream is missing "
				    "required bootloader file '%s' from "
				    "bootloader %s.",
				    is_boot_methods[i].files[j],
				    is_boot_methods[i].dir + 11);
				log_warnx("images: %s", msg);
				is_event(s, "RACK_IMPORT_ERROR", msg);
				free(msg);
			} else if (symlink(src, dst) == -1 && errno != EEXIST)
				log_warn("images: symlink %s", dst);
			free(src);
			free(dst);
		}
		if (i == 0) {
			xasprintf(&dst, "%s/pxelinux.0", snap);
			if (symlink("lpxelinux.0", dst) == -1 && errno != EEXIST)
				log_warn("images: symlink %s", dst);
			free(dst);
			xasprintf(&dst, "%s/syslinux", snap);
			if (symlink(dir, dst) == -1 && errno != EEXIST)
				log_warn("images: symlink %s", dst);
			free(dst);
		}
		free(dir);
	}
}

/* Delete every snapshot but keep, and (with cache) the cache files
 * nothing links to. */
static void
cleanup(struct imagesync *s, const char *keep, int cache_too)
{
	char *cache = is_path(s, "%s", "cache"), *p;
	struct dirent *de;
	struct stat st;
	DIR *d;
	int snaps = 0, files = 0;

	if ((d = opendir(s->storage)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strncmp(de->d_name, "snapshot-", 9) != 0 ||
			    (keep != NULL && strcmp(de->d_name, keep) == 0))
				continue;
			xasprintf(&p, "%s/%s", s->storage, de->d_name);
			is_rmtree(p);
			free(p);
			snaps++;
		}
		closedir(d);
	}
	if (cache_too && (d = opendir(cache)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			xasprintf(&p, "%s/%s", cache, de->d_name);
			if (lstat(p, &st) == 0 && S_ISREG(st.st_mode) &&
			    st.st_nlink == 1) {
				unlink(p);
				files++;
			}
			free(p);
		}
		closedir(d);
	}
	free(cache);
	if (snaps > 0 || files > 0)
		log_info("images: removed %d old snapshot%s and %d unused "
		    "cache file%s", snaps, snaps == 1 ? "" : "s", files,
		    files == 1 ? "" : "s");
}

static int
write_file(const char *path, const char *data, char **cause)
{
	size_t len = strlen(data), off = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (off < len) {
		n = write(fd, data + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			xasprintf(cause, "%s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		off += (size_t)n;
	}
	if (close(fd) == -1) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static void
build_snapshot(struct imagesync *s)
{
	struct is_run *run = s->run;
	char name[64], *snap, *src, *dst, *cause = NULL, *tmp, *cur;
	struct tm tm;
	struct stat st;
	time_t now = time(NULL);
	size_t i;
	int k;

	gmtime_r(&now, &tm);
	strftime(name, sizeof(name), "snapshot-%Y%m%d-%H%M%S", &tm);
	xasprintf(&snap, "%s/%s", s->storage, name);
	for (k = 1; stat(snap, &st) == 0 && k < 100; k++) {
		free(snap);
		xasprintf(&snap, "%s/%s-%d", s->storage, name, k);
	}
	run->snapshot = snap;
	if (mkdir(snap, 0755) == -1) {
		run_finish(s, 0, 0, "mkdir %s: %s", snap, strerror(errno));
		return;
	}
	for (i = 0; i < run->nplan; i++) {
		const struct ss_link *l = &run->plan[i];

		xasprintf(&dst, "%s/%s", snap, l->relpath);
		if (l->archive) {
			is_mkdirs(dst);
			k = snap_link_members(s, l->item->sha256, dst, &cause);
		} else {
			src = is_path(s, "cache/%s", l->item->sha256);
			k = snap_link(s, src, dst, &cause);
			free(src);
		}
		free(dst);
		if (k == -1) {
			run_finish(s, 0, 0, "%s", cause);
			free(cause);
			return;
		}
	}
	xasprintf(&dst, "%s/maas.meta", snap);
	k = write_file(dst, run->meta, &cause);
	free(dst);
	if (k == -1) {
		run_finish(s, 0, 0, "%s", cause);
		free(cause);
		return;
	}
	snap_bootloaders(s, snap);
	/* The switch: a new symlink renamed over `current` (atomic). */
	cur = is_path(s, "%s", "current");
	xasprintf(&tmp, "%s.tmp-%d", cur, (int)getpid());
	unlink(tmp);
	if (symlink(snap, tmp) == -1 || rename(tmp, cur) == -1) {
		run_finish(s, 0, 0, "switching %s to %s: %s", cur, snap,
		    strerror(errno));
		unlink(tmp);
		free(tmp);
		free(cur);
		return;
	}
	free(tmp);
	free(cur);
	run->snapshot = NULL;	/* it is current now: never removed */
	cleanup(s, strrchr(snap, '/') + 1, 1);
	is_event(s, "RACK_IMPORT_INFO", "Finished importing boot images.");
	run_finish(s, 1, 1, "sync (%s) done in %.1f s: %zu files fetched "
	    "(%" PRIu64 " bytes), current -> %s", run->reason,
	    (double)(rackd_now_ms() - run->started_ms) / 1000.0, run->nfiles,
	    run->fetched, strrchr(snap, '/') + 1);
	free(snap);
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
		is_later(s, run_start, 0);
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

void
imagesync_rpc_import(void *arg, const struct amp_box *args)
{
	imagesync_request(arg, "ImportBootImages from the region", args);
}

bool
imagesync_rpc_running(void *arg)
{
	return imagesync_running(arg);
}
