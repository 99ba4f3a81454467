/*
 * imagesync_writer.c — the download's disk side on its own thread
 * (imagesync_private.h, is_writer_*).
 *
 * Why a thread: measured with bench/imagesync.sh (perf trace), a 1 GiB
 * sync written and hashed on the loop had pwrite() calls blocking 5-66 ms
 * each (page-cache writeback and reclaim) and SHA-256 of every byte on
 * the loop: the loop's p99 went from ~5 ms to ~500 ms, and with it the
 * region link, power queries and boot answers.  O_NONBLOCK means nothing
 * for regular files and libevent has no io_uring backend, so the loop
 * copies each chunk into a bounded queue and this thread writes and
 * hashes it; when the queue is full the sink tells curl to pause the
 * transfer (backpressure through TCP) until the thread has drained half.
 * The fsync before the .part is renamed into the cache happens here too.
 *
 * Ownership: a chunk is owned by the queue until the thread has written
 * it.  Between is_writer_begin() and the flushed callback, the fd and
 * the digest belong to the thread; the loop touches neither.
 * Completions come back through an eventfd read on the loop.
 */
#include <sys/eventfd.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "imagesync_private.h"
#include "log.h"
#include "xmalloc.h"

#define WR_JOB_CAP	(256 * 1024)	/* curl's 16 KiB chunks, coalesced */
#define WR_BEHIND	(8 * 1024 * 1024) /* write-behind window */

struct wr_job {
	struct wr_job	*next;
	int		 flush;		/* 0: data; 1: flush; 2: final flush */
	uint64_t	 at;
	size_t		 len, cap;
	unsigned char	 data[];
};

struct is_writer {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;		/* work queued, or stop */
	pthread_cond_t	 idle_cv;	/* the thread finished a job */
	pthread_t	 thread;
	int		 started;
	struct wr_job	*queue, **tail;
	size_t		 queued;	/* bytes of data in the queue */
	size_t		 max;
	int		 busy;		/* a job is being worked on */
	int		 stopping;
	int		 want_space;	/* the loop paused: tell it */
	int		 space_ready;	/* thread -> loop: carry on */
	int		 flushed;	/* thread -> loop: a flush is done */
	struct is_flush	 result;
	/* the file, owned by the thread between begin and flushed */
	int		 fd;
	EVP_MD_CTX	*md;
	uint64_t	 hashed;
	uint64_t	 kicked;	/* writeback started up to here */
	uint64_t	 waited;	/* and finished up to here */
	int		 err;		/* the thread's (no lock) */
	int		 failed;	/* err, published under the lock */
	/* loop side */
	int		 efd;
	struct event	*ev;
	void		(*space_cb)(void *);
	void		(*flushed_cb)(const struct is_flush *, void *);
	void		*arg;
};

static void
wr_wake(struct is_writer *w)
{
	uint64_t one = 1;

	/* A full eventfd counter cannot happen (2^64 - 1). */
	if (write(w->efd, &one, sizeof(one)) == -1 && errno != EAGAIN)
		log_warn("images: writer eventfd");
}

/*
 * Write-behind: start the writeback of each full window as it is
 * written, and wait for the one before it.  A big image then never sits
 * as gigabytes of dirty pages (which throttle every writer on the host
 * at once), and the fsync before the rename has little left to do.
 */
static void
wr_behind(struct is_writer *w)
{
	if (w->hashed - w->kicked < WR_BEHIND)
		return;
	if (w->kicked > w->waited)
		sync_file_range(w->fd, (off_t)w->waited,
		    (off_t)(w->kicked - w->waited), SYNC_FILE_RANGE_WAIT_BEFORE |
		    SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
	w->waited = w->kicked;
	sync_file_range(w->fd, (off_t)w->kicked,
	    (off_t)(w->hashed - w->kicked), SYNC_FILE_RANGE_WRITE);
	w->kicked = w->hashed;
}

/* One job, on the thread, without the lock. */
static void
wr_do(struct is_writer *w, struct wr_job *j)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	size_t done = 0;
	ssize_t n;

	if (j->flush) {
		memset(&w->result, 0, sizeof(w->result));
		if (w->err == 0 && j->flush == 2 && fsync(w->fd) == -1)
			w->err = errno;
		w->result.have = w->hashed;
		w->result.err = w->err;
		if (w->err == 0 && j->flush == 2) {
			EVP_DigestFinal_ex(w->md, md, &mdlen);
			for (i = 0; i < mdlen && 2 * i + 2 < sizeof(w->result.sha256);
			    i++)
				snprintf(w->result.sha256 + 2 * i, 3, "%02x", md[i]);
		}
		return;
	}
	if (w->err != 0)
		return;
	if (j->at == 0 && w->hashed > 0) {
		/* The server ignored our Range: the file starts over. */
		if (ftruncate(w->fd, 0) == -1) {
			w->err = errno;
			return;
		}
		EVP_DigestInit_ex(w->md, EVP_sha256(), NULL);
		w->hashed = w->kicked = w->waited = 0;
	}
	if (j->at != w->hashed) {
		w->err = EINVAL;	/* a gap: never hash around it */
		return;
	}
	while (done < j->len) {
		n = pwrite(w->fd, j->data + done, j->len - done,
		    (off_t)(j->at + done));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			w->err = n == -1 ? errno : EIO;
			return;
		}
		done += (size_t)n;
	}
	EVP_DigestUpdate(w->md, j->data, j->len);
	w->hashed += j->len;
	wr_behind(w);
}

static void *
wr_main(void *arg)
{
	struct is_writer *w = arg;
	struct wr_job *j;
	int wake;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (w->queue == NULL && !w->stopping)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->stopping)
			break;
		j = w->queue;
		w->queue = j->next;
		if (w->queue == NULL)
			w->tail = &w->queue;
		w->busy = 1;
		pthread_mutex_unlock(&w->mu);

		wr_do(w, j);

		pthread_mutex_lock(&w->mu);
		w->busy = 0;
		w->failed = w->err;
		wake = 0;
		if (j->flush) {
			w->flushed = 1;
			wake = 1;
		} else {
			w->queued -= j->len;
			if (w->want_space && w->queued <= w->max / 2) {
				w->want_space = 0;
				w->space_ready = 1;
				wake = 1;
			}
		}
		free(j);
		pthread_cond_broadcast(&w->idle_cv);
		if (wake)
			wr_wake(w);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* The loop side of the eventfd: run the callbacks the thread asked for. */
static void
wr_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct is_writer *w = arg;
	struct is_flush res;
	uint64_t n;
	int space, flushed;

	if (read(w->efd, &n, sizeof(n)) == -1 && errno != EAGAIN)
		log_warn("images: writer eventfd read");
	pthread_mutex_lock(&w->mu);
	space = w->space_ready;
	flushed = w->flushed;
	w->space_ready = w->flushed = 0;
	res = w->result;
	pthread_mutex_unlock(&w->mu);
	/* A flush is the end of a transfer: nothing is paused then. */
	if (flushed)
		w->flushed_cb(&res, w->arg);
	else if (space)
		w->space_cb(w->arg);
}

struct is_writer *
is_writer_new(struct event_base *base, size_t max_bytes,
    void (*space_cb)(void *), void (*flushed_cb)(const struct is_flush *,
    void *), void *arg, char **cause)
{
	struct is_writer *w = xcalloc(1, sizeof(*w));
	int rc;

	w->max = max_bytes;
	w->tail = &w->queue;
	w->fd = -1;
	w->space_cb = space_cb;
	w->flushed_cb = flushed_cb;
	w->arg = arg;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	pthread_cond_init(&w->idle_cv, NULL);
	w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->efd == -1) {
		xasprintf(cause, "eventfd: %s", strerror(errno));
		is_writer_free(w);
		return NULL;
	}
	w->ev = event_new(base, w->efd, EV_READ | EV_PERSIST, wr_event_cb, w);
	if (w->ev == NULL || event_add(w->ev, NULL) == -1) {
		xasprintf(cause, "event_new failed");
		is_writer_free(w);
		return NULL;
	}
	if ((rc = pthread_create(&w->thread, NULL, wr_main, w)) != 0) {
		xasprintf(cause, "pthread_create: %s", strerror(rc));
		is_writer_free(w);
		return NULL;
	}
	w->started = 1;
	return w;
}

/* Drop what is queued and wait for the job in hand (the loop blocks for
 * at most one chunk write or one fsync). */
static void
wr_drain(struct is_writer *w)
{
	struct wr_job *j;

	pthread_mutex_lock(&w->mu);
	while ((j = w->queue) != NULL) {
		w->queue = j->next;
		free(j);
	}
	w->tail = &w->queue;
	w->queued = 0;
	while (w->busy)
		pthread_cond_wait(&w->idle_cv, &w->mu);
	w->want_space = w->space_ready = w->flushed = 0;
	pthread_mutex_unlock(&w->mu);
}

void
is_writer_begin(struct is_writer *w, int fd, EVP_MD_CTX *md, uint64_t have)
{
	wr_drain(w);
	/* The thread is idle and the queue empty: no lock needed to hand
	 * over, the next job's mutex hand-off publishes these. */
	pthread_mutex_lock(&w->mu);
	w->fd = fd;
	w->md = md;
	w->hashed = w->kicked = w->waited = have;
	w->err = w->failed = 0;
	pthread_mutex_unlock(&w->mu);
}

static void
wr_push(struct is_writer *w, struct wr_job *j)
{
	int was_empty = w->queue == NULL;

	j->next = NULL;
	*w->tail = j;
	w->tail = &j->next;
	/* A thread with work queued is not waiting: no wake-up needed. */
	if (was_empty)
		pthread_cond_signal(&w->cv);
}

/* The last queued job, when it is data ending at at with room for len:
 * chunks are appended there (fewer jobs, allocations and wake-ups). */
static struct wr_job *
wr_tail_for(struct is_writer *w, uint64_t at, size_t len)
{
	struct wr_job *j;

	if (w->queue == NULL)
		return NULL;
	j = (struct wr_job *)((char *)w->tail - offsetof(struct wr_job, next));
	if (j->flush || j->at + j->len != at || j->len + len > j->cap)
		return NULL;
	return j;
}

int
is_writer_put(struct is_writer *w, const void *data, size_t len,
    uint64_t at)
{
	struct wr_job *j;

	pthread_mutex_lock(&w->mu);
	if (w->failed != 0) {
		pthread_mutex_unlock(&w->mu);
		return -2;
	}
	/* Over the bound: the caller pauses; the thread says when half is
	 * written.  An empty queue always takes a chunk (any size). */
	if (w->queued > 0 && w->queued + len > w->max) {
		w->want_space = 1;
		pthread_mutex_unlock(&w->mu);
		return -1;
	}
	/* The thread only takes the head job: a queued tail is the loop's
	 * to append to (a small copy under the lock). */
	if ((j = wr_tail_for(w, at, len)) != NULL) {
		memcpy(j->data + j->len, data, len);
		j->len += len;
		w->queued += len;
		pthread_mutex_unlock(&w->mu);
		return 0;
	}
	pthread_mutex_unlock(&w->mu);
	j = xmalloc(sizeof(*j) + (len > WR_JOB_CAP ? len : WR_JOB_CAP));
	j->flush = 0;
	j->at = at;
	j->len = len;
	j->cap = len > WR_JOB_CAP ? len : WR_JOB_CAP;
	memcpy(j->data, data, len);
	pthread_mutex_lock(&w->mu);
	w->queued += len;
	wr_push(w, j);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

void
is_writer_flush(struct is_writer *w, int final)
{
	struct wr_job *j = xcalloc(1, sizeof(*j));

	j->flush = final ? 2 : 1;
	pthread_mutex_lock(&w->mu);
	w->want_space = 0;
	wr_push(w, j);
	pthread_mutex_unlock(&w->mu);
}

void
is_writer_cancel(struct is_writer *w)
{
	if (w != NULL && w->started)
		wr_drain(w);
}

void
is_writer_free(struct is_writer *w)
{
	if (w == NULL)
		return;
	if (w->started) {
		wr_drain(w);
		pthread_mutex_lock(&w->mu);
		w->stopping = 1;
		pthread_cond_signal(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->thread, NULL);
	}
	if (w->ev != NULL)
		event_free(w->ev);
	if (w->efd >= 0)
		close(w->efd);
	pthread_cond_destroy(&w->idle_cv);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}
