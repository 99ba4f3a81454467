/*
 * imagesync_fs.c — path and file helpers of the image sync
 * (imagesync_private.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <libgen.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imagesync_private.h"
#include "xmalloc.h"

/* storage/<fmt...>, malloc'd. */
char *
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

void
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

void
is_rmtree(const char *path)
{
	nftw(path, is_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

struct is_closer {
	size_t	n;
	int	fds[];
};

static void *
is_closer_main(void *arg)
{
	struct is_closer *c = arg;
	size_t i;

	for (i = 0; i < c->n; i++)
		close(c->fds[i]);
	free(c);
	return NULL;
}

/*
 * Why open before the unlink: the last unlink of a large file frees all
 * its extents inside the call (bench/imagesync_dhcp.sh: ~1 s on the loop
 * for a 1 GiB squashfs while the disk was busy, every lease event and
 * region answer waiting behind it).  A file still open only loses its
 * name; the freeing moves to the last close(), done here on a detached
 * thread.  Without the thread (pthread_create failed) the loop closes.
 */
int
is_unlink_detached(char *const *paths, size_t n)
{
	struct is_closer *c;
	pthread_attr_t attr;
	pthread_t t;
	size_t i;
	int fd, removed = 0, ok;

	c = xmalloc(sizeof(*c) + (n ? n : 1) * sizeof(int));
	c->n = 0;
	for (i = 0; i < n; i++) {
		fd = open(paths[i], O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (unlink(paths[i]) == 0)
			removed++;
		if (fd != -1)
			c->fds[c->n++] = fd;
	}
	if (c->n == 0) {
		free(c);
		return removed;
	}
	ok = pthread_attr_init(&attr) == 0;
	if (ok) {
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		ok = pthread_create(&t, &attr, is_closer_main, c) == 0;
		pthread_attr_destroy(&attr);
	}
	if (!ok)
		is_closer_main(c);
	return removed;
}

int
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
char *
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

int
is_write_file(const char *path, const char *data, char **cause)
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
