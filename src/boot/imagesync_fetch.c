/*
 * imagesync_fetch.c — the downloads of a run (maas-rack-boot.md §1.3
 * step 5): each missing file streamed to cache/<sha256>.part, hashed as
 * it arrives, renamed to cache/<sha256> only when its size and sha256
 * are the announced ones.  A transfer that fails resumes with Range from
 * the next region URL; a file failing its check is deleted and fetched
 * again, at most images.retries times.
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
	url = is_run_url(run, f->item->path);
	log_debug("images: GET %s (from byte %" PRIu64 ")", url, f->have);
	s->req = http_get_to_fd(s->http, url, run->fd, f->have,
	    IS_CONNECT_TIMEOUT_MS, s->set.stall_timeout_ms, file_data,
	    file_done, s, &cause);
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
	f->have = 0;
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
		is_run_finish(s, 0, 0, "writing %s: %s", f->item->path,
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
			is_run_finish(s, 0, 0, "%s: %s", f->item->path, res->ok ?
			    "HTTP error" : res->error);
			return;
		}
		is_run_next_url(run);
		is_later(s, file_start, IS_RETRY_DELAY_MS);
		return;
	}
	if (res->status != 200 && res->status != 206) {
		is_run_finish(s, 0, 0, "%s: HTTP %ld", f->item->path,
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

void
is_fetch_files(struct imagesync *s)
{
	struct is_run *run = s->run;

	if (run->cur < run->nfiles) {
		file_start(s);
		return;
	}
	if (run->nfiles > 0)
		is_progress(s, 1);
	run->arch_i = 0;
	is_unpack_start(s);
}
