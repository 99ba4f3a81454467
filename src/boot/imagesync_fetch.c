/*
 * imagesync_fetch.c — the downloads of a run (maas-rack-boot.md §1.3
 * step 5): each missing file streamed to cache/<sha256>.part, hashed as
 * it arrives, renamed to cache/<sha256> only when its size and sha256
 * are the announced ones.  A transfer that fails resumes with Range from
 * the next region URL; a file failing its check is deleted and fetched
 * again, at most images.retries times.  The bytes go to disk on the
 * writer thread (imagesync_writer.c); the loop only copies them there.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http.h"
#include "imagesync_private.h"
#include "log.h"
#include "xmalloc.h"

/* --- step 3: the files ----------------------------------------------- */

static void	file_done(const struct http_result *, void *);

void
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
	    run->files[run->cur].received : 0);
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

/*
 * The body's sink, on the loop: a copy of the chunk goes to the writer
 * thread; a full queue pauses the transfer until half is written.
 */
static int
file_sink(const void *data, size_t len, uint64_t at, void *arg)
{
	struct imagesync *s = arg;
	struct is_run *run = s->run;
	struct is_file *f = &run->files[run->cur];
	int rc;

	if (at + len > f->item->size)
		return HTTP_DATA_ABORT;	/* longer than announced: refetch */
	rc = is_writer_put(s->writer, data, len, at);
	if (rc == -1)
		return HTTP_DATA_PAUSE;
	if (rc == -2)
		return HTTP_DATA_ABORT;	/* a write failed: the flush says */
	f->received = at + len;
	run->fetched += len;
	is_progress(s, 0);
	return HTTP_DATA_OK;
}

/* The writer drained half its queue: carry on the paused transfer. */
static void
file_space(void *arg)
{
	struct imagesync *s = arg;

	if (s->run != NULL && s->req != NULL)
		http_resume(s->http, s->req);
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
			is_run_finish(s, 0, 0, "cannot create %s: %s", part,
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
	f->received = f->have;
	is_writer_begin(s->writer, run->fd, f->md, f->have);
	url = is_run_url(run, f->item->path);
	log_debug("images: GET %s (from byte %" PRIu64 ")", url, f->have);
	s->req = http_get_stream(s->http, url, f->have, IS_CONNECT_TIMEOUT_MS,
	    s->set.stall_timeout_ms, file_sink, file_done, s, &cause);
	if (s->req == NULL) {
		is_run_finish(s, 0, 0, "%s", cause);
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
	f->have = f->received = 0;
	EVP_DigestInit_ex(f->md, EVP_sha256(), NULL);
	f->bad++;
	log_warnx("images: %s from %s refused (%s); attempt %d of %d",
	    f->item->path, run->urls[run->url_i], why, f->bad,
	    s->set.retries);
	if (f->bad >= s->set.retries) {
		is_run_finish(s, 0, 0, "%s failed its check %d times (%s)",
		    f->item->path, f->bad, why);
		return;
	}
	is_later(s, file_start, IS_RETRY_DELAY_MS);
}

/* The transfer ended: wait for the writer to have everything on disk
 * (and, when it looks complete, fsync'd and hashed) before judging. */
static void
file_done(const struct http_result *res, void *arg)
{
	struct imagesync *s = arg;
	struct is_run *run = s->run;
	struct is_file *f = &run->files[run->cur];

	s->req = NULL;
	run->xfer_ok = res->ok;
	run->xfer_status = res->status;
	free(run->xfer_error);
	run->xfer_error = xstrdup(res->ok ? "" : res->error);
	s->flushing = 1;
	is_writer_flush(s->writer, res->ok && (res->status == 200 ||
	    res->status == 206) && f->received == f->item->size);
}

static void
file_flushed(const struct is_flush *fl, void *arg)
{
	struct imagesync *s = arg;
	struct is_run *run = s->run;
	struct is_file *f;
	const char *error;
	char *part, *dst, why[160];

	if (!s->flushing || run == NULL || s->stopping)
		return;
	s->flushing = 0;
	f = &run->files[run->cur];
	f->have = fl->have;
	error = run->xfer_error;
	if (fl->err != 0) {
		is_run_finish(s, 0, 0, "writing %s: %s", f->item->path,
		    strerror(fl->err));
		return;
	}
	if (!run->xfer_ok && strcmp(error, "aborted") == 0) {
		file_bad(s, "longer than its announced size");
		return;
	}
	if (!run->xfer_ok || run->xfer_status >= 500 ||
	    run->xfer_status == 404) {
		/* Transport failure (region gone, stall): resume from the
		 * next region with what we have. */
		f->transfers++;
		log_warnx("images: %s from %s: %s (%" PRIu64 " of %" PRIu64
		    " bytes)", f->item->path, run->urls[run->url_i],
		    run->xfer_ok ? "HTTP error" : error, f->have,
		    f->item->size);
		if (f->transfers > (int)(3 * run->nurls + 2)) {
			is_run_finish(s, 0, 0, "%s: %s", f->item->path,
			    run->xfer_ok ? "HTTP error" : error);
			return;
		}
		is_run_next_url(run);
		is_later(s, file_start, IS_RETRY_DELAY_MS);
		return;
	}
	if (run->xfer_status != 200 && run->xfer_status != 206) {
		is_run_finish(s, 0, 0, "%s: HTTP %ld", f->item->path,
		    run->xfer_status);
		return;
	}
	if (f->have != f->item->size) {
		snprintf(why, sizeof(why), "%" PRIu64 " bytes, %" PRIu64
		    " announced", f->have, f->item->size);
		file_bad(s, why);
		return;
	}
	if (strcmp(fl->sha256, f->item->sha256) != 0) {
		snprintf(why, sizeof(why), "sha256 %.16s..., announced "
		    "%.16s...", fl->sha256, f->item->sha256);
		file_bad(s, why);
		return;
	}
	close(run->fd);
	run->fd = -1;
	part = is_path(s, "cache/%s.part", f->item->sha256);
	dst = is_path(s, "cache/%s", f->item->sha256);
	if (rename(part, dst) == -1) {
		is_run_finish(s, 0, 0, "rename %s: %s", part, strerror(errno));
		free(part);
		free(dst);
		return;
	}
	free(part);
	free(dst);
	run->done_bytes += f->item->size;
	run->cur++;
	is_fetch_files(s);
}

struct is_writer *
is_fetch_writer_new(struct imagesync *s, char **cause)
{
	return is_writer_new(s->base, IS_WRITE_QUEUE_MAX, file_space,
	    file_flushed, s, cause);
}

void
is_fetch_files(struct imagesync *s)
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
	is_unpack_start(s);
}
