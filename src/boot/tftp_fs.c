/*
 * tftp_fs.c — the static-tree TFTP source (tftp_source.h): files under
 * tftp_root, opened and read by a small pool of worker threads.
 *
 * Why threads: O_NONBLOCK means nothing for regular files, so a read of
 * a cold image (or of a tree on slow or network storage) would stall
 * every transfer, the region link and DHCP reporting with it.  Linux AIO
 * needs O_DIRECT and libevent has no io_uring backend, so the loop hands
 * open() and pread() to worker threads and gets completions back through
 * an eventfd.  The server reads ahead one window per transfer (see
 * tftp_server.c), so a worker round trip is paid once per window, not
 * per block.
 *
 * Ownership: a job is owned by the queue until a worker finishes it,
 * then by the done list; the loop side runs its callback unless it was
 * cancelled, and frees it either way.
 */
#include <sys/eventfd.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "tftp_packet.h"
#include "tftp_source.h"
#include "xmalloc.h"

enum fs_job_kind { FS_OPEN, FS_READ };

struct fs_job {
	struct fs_job	*next;
	enum fs_job_kind kind;
	bool		 cancelled;	/* loop side only */
	bool		 owns_fd;	/* loop side only: close fd when freed */
	/* FS_OPEN in: path; out: fd, size, err */
	char		*path;
	int		 fd;
	int64_t		 size;
	/* FS_READ in: fd, off, len; out: buf, n, err */
	uint64_t	 off;
	size_t		 len;
	uint8_t		*buf;
	size_t		 n;
	int		 err;
	/* completion */
	tftp_open_cb	 open_cb;
	tftp_read_cb	 read_cb;
	void		*arg;
	struct tftp_fs	*fs;
	struct fs_reader *reader;	/* FS_READ: whose read this is */
};

struct fs_reader {
	struct tftp_reader base;
	struct tftp_fs	*fs;
	int		 fd;
	struct fs_job	*pending;
};

struct tftp_fs {
	struct tftp_source source;	/* first: tftp_fs_source casts */
	struct event_base *base;
	char		*root;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	struct fs_job	*queue, **queue_tail;
	struct fs_job	*done;
	bool		 stopping;
	int		 efd;
	struct event	*ev;
	pthread_t	*threads;
	int		 nthreads;
};

int
tftp_path_normalise(const char *in, char *out, size_t cap, char **cause)
{
	size_t o = 0, i = 0, seg, n;

	if (cap == 0)
		return -1;
	while (in[i] != '\0') {
		while (in[i] == '/' || in[i] == '\\')
			i++;
		seg = i;
		while (in[i] != '\0' && in[i] != '/' && in[i] != '\\')
			i++;
		n = i - seg;
		if (n == 0 || (n == 1 && in[seg] == '.'))
			continue;
		if (n == 2 && in[seg] == '.' && in[seg + 1] == '.') {
			if (cause != NULL)
				xasprintf(cause, "\"..\" in file name");
			return -1;
		}
		if (o + (o > 0) + n + 1 > cap) {
			if (cause != NULL)
				xasprintf(cause, "file name too long");
			return -1;
		}
		if (o > 0)
			out[o++] = '/';
		memcpy(out + o, in + seg, n);
		o += n;
	}
	out[o] = '\0';
	return 0;
}

/* --- worker side -------------------------------------------------------- */

static void
fs_job_run(struct fs_job *j)
{
	struct stat st;
	ssize_t r;

	if (j->kind == FS_OPEN) {
		j->fd = open(j->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (j->fd == -1) {
			j->err = errno;
			return;
		}
		if (fstat(j->fd, &st) == -1)
			j->err = errno;
		else if (!S_ISREG(st.st_mode))
			j->err = S_ISDIR(st.st_mode) ? EISDIR : EACCES;
		if (j->err != 0) {
			close(j->fd);
			j->fd = -1;
			return;
		}
		j->size = (int64_t)st.st_size;
		return;
	}
	j->buf = xmalloc(j->len > 0 ? j->len : 1);
	while (j->n < j->len) {
		r = pread(j->fd, j->buf + j->n, j->len - j->n,
		    (off_t)(j->off + j->n));
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			j->err = errno;
			return;
		}
		if (r == 0)
			break;
		j->n += (size_t)r;
	}
}

static void *
fs_worker(void *arg)
{
	struct tftp_fs *fs = arg;
	struct fs_job *j;
	uint64_t one = 1;

	pthread_mutex_lock(&fs->mu);
	for (;;) {
		while (fs->queue == NULL && !fs->stopping)
			pthread_cond_wait(&fs->cv, &fs->mu);
		if (fs->stopping)
			break;
		j = fs->queue;
		fs->queue = j->next;
		if (fs->queue == NULL)
			fs->queue_tail = &fs->queue;
		pthread_mutex_unlock(&fs->mu);

		fs_job_run(j);

		pthread_mutex_lock(&fs->mu);
		j->next = fs->done;
		fs->done = j;
		/* A full eventfd counter cannot happen (2^64 - 1). */
		if (write(fs->efd, &one, sizeof one) == -1) {
			/* Nothing to do: the loop drains on the next one. */
		}
	}
	pthread_mutex_unlock(&fs->mu);
	return NULL;
}

/* --- loop side ---------------------------------------------------------- */

static void
fs_job_free(struct fs_job *j)
{
	if ((j->kind == FS_OPEN || j->owns_fd) && j->fd != -1)
		close(j->fd);
	free(j->buf);
	free(j->path);
	free(j);
}

static void
fs_submit(struct tftp_fs *fs, struct fs_job *j)
{
	pthread_mutex_lock(&fs->mu);
	j->next = NULL;
	*fs->queue_tail = j;
	fs->queue_tail = &j->next;
	pthread_cond_signal(&fs->cv);
	pthread_mutex_unlock(&fs->mu);
}

static const struct tftp_reader_ops fs_reader_ops;

static void
fs_complete(struct fs_job *j)
{
	struct fs_reader *rd;
	uint8_t *buf;
	char msg[128];

	if (j->cancelled) {
		fs_job_free(j);
		return;
	}
	if (j->kind == FS_READ) {
		j->reader->pending = NULL;
		if (j->err != 0) {
			snprintf(msg, sizeof msg, "read: %s", strerror(j->err));
			j->read_cb(j->arg, NULL, 0, msg);
		} else {
			buf = j->buf;
			j->buf = NULL;
			j->read_cb(j->arg, buf, j->n, NULL);
		}
		fs_job_free(j);
		return;
	}
	if (j->err == ENOENT || j->err == ENOTDIR) {
		j->open_cb(j->arg, NULL, TFTP_ENOTFOUND, "File not found");
	} else if (j->err != 0) {
		/* tx-tftp: anything but a missing file is an access
		 * violation (directories, permissions, loops). */
		j->open_cb(j->arg, NULL, TFTP_EACCESS, "Access violation");
	} else {
		rd = xcalloc(1, sizeof *rd);
		rd->base.ops = &fs_reader_ops;
		rd->base.size = j->size;
		rd->fd = j->fd;
		j->fd = -1;
		rd->fs = j->fs;
		j->open_cb(j->arg, &rd->base, 0, NULL);
	}
	fs_job_free(j);
}

static void
fs_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tftp_fs *fs = arg;
	struct fs_job *list, *j, *rev = NULL;
	uint64_t v;

	if (read(fs->efd, &v, sizeof v) == -1 && errno != EAGAIN)
		log_warn("tftp: eventfd read");
	pthread_mutex_lock(&fs->mu);
	list = fs->done;
	fs->done = NULL;
	pthread_mutex_unlock(&fs->mu);
	/* Oldest first, so completions keep their order. */
	while (list != NULL) {
		j = list;
		list = j->next;
		j->next = rev;
		rev = j;
	}
	while (rev != NULL) {
		j = rev;
		rev = j->next;
		fs_complete(j);
	}
}

static void
fs_read(struct tftp_reader *r, uint64_t off, size_t len, tftp_read_cb cb,
    void *arg)
{
	struct fs_reader *rd = (struct fs_reader *)r;
	struct fs_job *j = xcalloc(1, sizeof *j);

	j->kind = FS_READ;
	j->fd = rd->fd;
	j->off = off;
	j->len = len;
	j->read_cb = cb;
	j->arg = arg;
	j->reader = rd;
	rd->pending = j;
	fs_submit(rd->fs, j);
}

/*
 * Close a reader.  A read still with a worker may be inside pread(fd):
 * the cancelled job takes the descriptor over and closes it when it is
 * freed, after the worker is done with it.
 */
static void
fs_close(struct tftp_reader *r)
{
	struct fs_reader *rd = (struct fs_reader *)r;

	if (rd->pending != NULL) {
		rd->pending->cancelled = true;
		rd->pending->owns_fd = true;
		rd->pending->reader = NULL;
		rd->pending = NULL;
	} else
		close(rd->fd);
	free(rd);
}

static const struct tftp_reader_ops fs_reader_ops = {
	.read = fs_read,
	.close = fs_close,
};

static void *
fs_open(struct tftp_source *src, const struct tftp_open_req *req,
    tftp_open_cb cb, void *arg)
{
	struct tftp_fs *fs = (struct tftp_fs *)src;
	struct fs_job *j = xcalloc(1, sizeof *j);

	j->kind = FS_OPEN;
	j->fd = -1;
	xasprintf(&j->path, "%s/%s", fs->root, req->path);
	j->open_cb = cb;
	j->arg = arg;
	j->fs = fs;
	fs_submit(fs, j);
	return j;
}

static void
fs_cancel(struct tftp_source *src, void *token)
{
	struct fs_job *j = token;

	j->cancelled = true;
}

struct tftp_fs *
tftp_fs_new(struct event_base *base, const char *root, int nthreads,
    char **cause)
{
	struct tftp_fs *fs = xcalloc(1, sizeof *fs);
	int i, rc;

	fs->source.open = fs_open;
	fs->source.cancel = fs_cancel;
	fs->base = base;
	fs->root = xstrdup(root);
	fs->queue_tail = &fs->queue;
	fs->efd = -1;
	pthread_mutex_init(&fs->mu, NULL);
	pthread_cond_init(&fs->cv, NULL);
	fs->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fs->efd == -1) {
		xasprintf(cause, "eventfd: %s", strerror(errno));
		goto fail;
	}
	fs->ev = event_new(base, fs->efd, EV_READ | EV_PERSIST, fs_event_cb,
	    fs);
	event_add(fs->ev, NULL);
	fs->threads = xcalloc((size_t)nthreads, sizeof *fs->threads);
	for (i = 0; i < nthreads; i++) {
		rc = pthread_create(&fs->threads[i], NULL, fs_worker, fs);
		if (rc != 0) {
			xasprintf(cause, "pthread_create: %s", strerror(rc));
			goto fail;
		}
		fs->nthreads++;
	}
	return fs;
fail:
	tftp_fs_free(fs);
	return NULL;
}

struct tftp_source *
tftp_fs_source(struct tftp_fs *fs)
{
	return &fs->source;
}

void
tftp_fs_free(struct tftp_fs *fs)
{
	struct fs_job *j;
	int i;

	if (fs == NULL)
		return;
	pthread_mutex_lock(&fs->mu);
	fs->stopping = true;
	pthread_cond_broadcast(&fs->cv);
	pthread_mutex_unlock(&fs->mu);
	for (i = 0; i < fs->nthreads; i++)
		pthread_join(fs->threads[i], NULL);
	/* Every job left is cancelled by now (the server closed its
	 * readers and opens first); free them. */
	while ((j = fs->queue) != NULL) {
		fs->queue = j->next;
		fs_job_free(j);
	}
	while ((j = fs->done) != NULL) {
		fs->done = j->next;
		fs_job_free(j);
	}
	if (fs->ev != NULL)
		event_free(fs->ev);
	if (fs->efd != -1)
		close(fs->efd);
	pthread_mutex_destroy(&fs->mu);
	pthread_cond_destroy(&fs->cv);
	free(fs->threads);
	free(fs->root);
	free(fs);
}
