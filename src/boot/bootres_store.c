/*
 * bootres_store.c — the in-memory cache of ListBootImages rows.
 *
 * MAAS caches the list in a global and reloads it only after an import
 * (rpc/boot_images.py reload_boot_images).  rackd also serves trees put
 * in place by hand or by another program, so instead of inotify on every
 * directory (which misses a `current` symlink switch unless the parent
 * is watched too, and costs a watch per directory) each request checks a
 * cheap fingerprint: stat of root followed through the symlink (another
 * snapshot is another inode), root's mtime, maas.meta's inode, mtime and
 * size.  Changes deeper in the tree are caught by max_age_ms, and the
 * importer calls bootres_store_invalidate() when it switches snapshots.
 * A scan is a few dozen readdir calls, so a re-scan per max_age is cheap.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "amp.h"
#include "bootres.h"
#include "log.h"
#include "xmalloc.h"

struct bootres_fingerprint {
	int		 root_ok;
	dev_t		 root_dev;
	ino_t		 root_ino;
	struct timespec	 root_mtime;
	int		 meta_ok;
	ino_t		 meta_ino;
	struct timespec	 meta_mtime;
	off_t		 meta_size;
};

struct bootres_store {
	char				*root;
	int				 max_age_ms;
	int				 valid;
	int				 importing;
	int				 failing;	/* last scan failed */
	int				 declining;	/* ListBootImages */
	long long			 scanned_ms;	/* monotonic */
	unsigned long			 scans;
	struct bootres_fingerprint	 fp;
	struct bootres_list		 images;
};

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
fingerprint(const char *root, struct bootres_fingerprint *fp)
{
	struct stat st;
	char *meta;

	memset(fp, 0, sizeof *fp);
	if (stat(root, &st) == 0) {
		fp->root_ok = 1;
		fp->root_dev = st.st_dev;
		fp->root_ino = st.st_ino;
		fp->root_mtime = st.st_mtim;
	}
	xasprintf(&meta, "%s/maas.meta", root);
	if (stat(meta, &st) == 0) {
		fp->meta_ok = 1;
		fp->meta_ino = st.st_ino;
		fp->meta_mtime = st.st_mtim;
		fp->meta_size = st.st_size;
	}
	free(meta);
}

static int
fingerprint_equal(const struct bootres_fingerprint *a,
    const struct bootres_fingerprint *b)
{
	return a->root_ok == b->root_ok && a->root_dev == b->root_dev &&
	    a->root_ino == b->root_ino &&
	    a->root_mtime.tv_sec == b->root_mtime.tv_sec &&
	    a->root_mtime.tv_nsec == b->root_mtime.tv_nsec &&
	    a->meta_ok == b->meta_ok && a->meta_ino == b->meta_ino &&
	    a->meta_mtime.tv_sec == b->meta_mtime.tv_sec &&
	    a->meta_mtime.tv_nsec == b->meta_mtime.tv_nsec &&
	    a->meta_size == b->meta_size;
}

struct bootres_store *
bootres_store_new(const char *root, int max_age_ms)
{
	struct bootres_store *s = xcalloc(1, sizeof *s);

	s->root = xstrdup(root);
	s->max_age_ms = max_age_ms;
	return s;
}

void
bootres_store_free(struct bootres_store *s)
{
	if (s == NULL)
		return;
	bootres_list_free(&s->images);
	free(s->root);
	free(s);
}

void
bootres_store_set_root(struct bootres_store *s, const char *root)
{
	if (strcmp(s->root, root) == 0)
		return;
	free(s->root);
	s->root = xstrdup(root);
	s->valid = 0;
}

const char *
bootres_store_root(const struct bootres_store *s)
{
	return s->root;
}

void
bootres_store_invalidate(struct bootres_store *s)
{
	s->valid = 0;
}

const struct bootres_list *
bootres_store_images(struct bootres_store *s)
{
	struct bootres_fingerprint fp;
	struct bootres_list fresh;
	long long now = now_ms();
	char *cause = NULL;

	fingerprint(s->root, &fp);
	if (s->valid && fingerprint_equal(&fp, &s->fp) &&
	    (s->max_age_ms <= 0 || now - s->scanned_ms < s->max_age_ms))
		return &s->images;
	s->scans++;
	if (bootres_scan(s->root, &fresh, &cause) == -1) {
		/* Keep serving what we had: a transient error must not
		 * empty the list (that would block commissioning). */
		if (!s->failing)
			log_warnx("bootres: %s; keeping the previous %zu "
			    "image rows", cause, s->images.n);
		s->failing = 1;
		free(cause);
		s->scanned_ms = now;
		return &s->images;
	}
	if (s->failing)
		log_info("bootres: %s readable again", s->root);
	s->failing = 0;
	if (fresh.n != s->images.n)
		log_info("bootres: %s: %zu image rows (%zu xinstall)", s->root,
		    fresh.n, bootres_count_purpose(&fresh, "xinstall"));
	bootres_list_free(&s->images);
	s->images = fresh;
	s->fp = fp;
	s->valid = 1;
	s->scanned_ms = now;
	return &s->images;
}

unsigned long
bootres_store_scans(const struct bootres_store *s)
{
	return s->scans;
}

void
bootres_store_set_importing(struct bootres_store *s, bool on)
{
	s->importing = on;
}

bool
bootres_store_importing(const struct bootres_store *s)
{
	return s->importing;
}

int
bootres_store_answer_list(void *arg, struct amp_box *ans, char **cause)
{
	struct bootres_store *s = arg;
	const struct bootres_list *l = bootres_store_images(s);

	if (bootres_count_purpose(l, "xinstall") == 0) {
		xasprintf(cause, "no boot images in %s yet (%zu rows, none "
		    "with purpose xinstall); an empty list would block every "
		    "commissioning, so this rack declines", s->root, l->n);
		/* The region asks every few minutes: say it once. */
		if (!s->declining)
			log_warnx("bootres: ListBootImages declined: %s",
			    *cause);
		s->declining = 1;
		return -1;
	}
	if (s->declining)
		log_info("bootres: ListBootImages answered again: %zu rows "
		    "from %s", l->n, s->root);
	s->declining = 0;
	return bootres_encode_answer(l, ans, cause);
}

bool
bootres_store_answer_importing(void *arg)
{
	return bootres_store_importing(arg);
}
