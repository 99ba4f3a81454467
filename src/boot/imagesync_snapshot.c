/*
 * imagesync_snapshot.c — the end of a run (maas-rack-boot.md §1.3 steps
 * 5-10): bootloader archives unpacked by a tar child (members kept as
 * cache/<member>-<archive sha256>), a new snapshot-<UTC time> of hard
 * links to the cache, maas.meta, the boot methods' root links, `current`
 * renamed into place (atomic), old snapshots and unreferenced cache files
 * removed.  The cache checks a run starts with are here too.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "imagesync_private.h"
#include "log.h"
#include "proc.h"
#include "rackd.h"
#include "xmalloc.h"

static void	build_snapshot(struct imagesync *);

/* current/maas.meta equals meta: touch it (keeps the poll cheap). */
int
is_meta_unchanged(struct imagesync *s, const char *meta)
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
int
is_cache_has(struct imagesync *s, const struct ss_item *it, int archive)
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
void
is_cache_sweep_partials(struct imagesync *s)
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

/* --- step 4: bootloader archives ------------------------------------- */


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
		is_run_finish(s, 0, 0, "unpacking %s: tar %s: %s", f->item->path,
		    res->spawn_error ? strerror(res->spawn_error) :
		    res->timed_out ? "timed out" : "failed",
		    res->err_len > 0 ? res->err : "");
		return;
	}
	if (unpack_collect(s, run->xdir, f->item->sha256, &cause) == -1) {
		is_run_finish(s, 0, 0, "unpacking %s: %s", f->item->path, cause);
		free(cause);
		return;
	}
	is_rmtree(run->xdir);
	/* MAAS keeps only the members (tagged with the archive's sha). */
	archive = is_path(s, "cache/%s", f->item->sha256);
	unlink(archive);
	free(archive);
	run->arch_i++;
	is_unpack_start(s);
}

void
is_unpack_start(struct imagesync *s)
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
		is_run_finish(s, 0, 0, "mkdir %s: %s", run->xdir, strerror(errno));
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
		is_run_finish(s, 0, 0, "tar: %s", cause);
		free(cause);
	}
}

/* --- step 5: the snapshot -------------------------------------------- */

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

/* MAAS's RACK_IMPORT_ERROR for a missing bootloader. */
static void
snap_boot_report(void *arg, const char *msg)
{
	is_event(arg, "RACK_IMPORT_ERROR", msg);
}

void
is_cleanup(struct imagesync *s, const char *keep, int cache_too)
{
	char *cache = is_path(s, "%s", "cache"), *p, **gone = NULL;
	struct dirent *de;
	struct stat st;
	DIR *d;
	int snaps = 0, files = 0;
	size_t ngone = 0, i;

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
				gone = xreallocarray(gone, ngone + 1,
				    sizeof(*gone));
				gone[ngone++] = p;
				continue;
			}
			free(p);
		}
		closedir(d);
		/* A squashfs is GiBs: its blocks are freed off the loop. */
		files = is_unlink_detached(gone, ngone);
		for (i = 0; i < ngone; i++)
			free(gone[i]);
		free(gone);
	}
	free(cache);
	if (snaps > 0 || files > 0)
		log_info("images: removed %d old snapshot%s and %d unused "
		    "cache file%s", snaps, snaps == 1 ? "" : "s", files,
		    files == 1 ? "" : "s");
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
		is_run_finish(s, 0, 0, "mkdir %s: %s", snap, strerror(errno));
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
			is_run_finish(s, 0, 0, "%s", cause);
			free(cause);
			return;
		}
	}
	xasprintf(&dst, "%s/maas.meta", snap);
	k = is_write_file(dst, run->meta, &cause);
	free(dst);
	if (k == -1) {
		is_run_finish(s, 0, 0, "%s", cause);
		free(cause);
		return;
	}
	if (is_boot_link(s->storage, snap, &is_boot_sys_default,
	    snap_boot_report, s, &cause) == -1) {
		is_run_finish(s, 0, 0, "%s", cause);
		free(cause);
		return;
	}
	/* The switch: a new symlink renamed over `current` (atomic). */
	cur = is_path(s, "%s", "current");
	xasprintf(&tmp, "%s.tmp-%d", cur, (int)getpid());
	unlink(tmp);
	if (symlink(snap, tmp) == -1 || rename(tmp, cur) == -1) {
		is_run_finish(s, 0, 0, "switching %s to %s: %s", cur, snap,
		    strerror(errno));
		unlink(tmp);
		free(tmp);
		free(cur);
		return;
	}
	free(tmp);
	free(cur);
	run->snapshot = NULL;	/* it is current now: never removed */
	is_cleanup(s, strrchr(snap, '/') + 1, 1);
	is_event(s, "RACK_IMPORT_INFO", "Finished importing boot images.");
	is_run_finish(s, 1, 1, "sync (%s) done in %.1f s: %zu files fetched "
	    "(%" PRIu64 " bytes), current -> %s", run->reason,
	    (double)(rackd_now_ms() - run->started_ms) / 1000.0, run->nfiles,
	    run->fetched, strrchr(snap, '/') + 1);
	free(snap);
}
