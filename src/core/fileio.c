/*
 * fileio.c — the one atomic file writer (see fileio.h).  It lives in
 * core because config, region and dhcp state all need the same
 * guarantee, and three hand-written copies had drifted (some skipped
 * fsync, some left the mode to the umask).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "xmalloc.h"

int
file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
    char **cause)
{
	const char *p = data;
	char *tmp;
	size_t off = 0;
	ssize_t w;
	int fd, e;

	xasprintf(&tmp, "%s.tmpXXXXXX", path);
	if ((fd = mkstemp(tmp)) == -1) {
		xasprintf(cause, "%s: %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	if (fchmod(fd, mode) == -1)
		goto fail;
	while (off < len) {
		if ((w = write(fd, p + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += (size_t)w;
	}
	if (fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto fail;
	free(tmp);
	return 0;
fail:
	e = errno;
	xasprintf(cause, "%s: %s", path, strerror(e));
	if (fd != -1)
		close(fd);
	unlink(tmp);
	free(tmp);
	return -1;
}
