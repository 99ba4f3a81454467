/*
 * lease_spool.c — the bounded, crash-safe on-disk queue of lease events
 * between the DHCP server and the region (format and guarantees in
 * leases.h).
 *
 * Every unacknowledged event is also held in memory (a ring of at most
 * max_events), so reading never touches the disk; the file exists only
 * to survive a restart.  Each line carries a sequence number and the ack
 * file names the last acknowledged one, which makes every step
 * idempotent: a crash between writing the ack and compacting, or in the
 * middle of a rewrite, at worst sends some events twice, never loses or
 * reorders one.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "leases.h"
#include "log.h"
#include "xmalloc.h"

#define SPOOL_NAME		"leases.spool"
#define SPOOL_ACK_NAME		"leases.ack"
#define SPOOL_DEFAULT_MAX	10000
#define SPOOL_SLACK		(64 * 1024)	/* dead bytes tolerated */
#define SPOOL_READ_MAX		(256u << 20)	/* refuse larger files */
#define SPOOL_IMPORT_MAX	(64u << 20)
#define SPOOL_LOCK_TRIES	200		/* x 10 ms */
#define SPOOL_DROP_LOG_SEC	10

struct spool_ent {
	uint64_t		seq;
	size_t			linelen;
	struct lease_event	ev;
};

struct lease_spool {
	char			*dir;
	char			*path;
	char			*ackpath;
	int			 fd;
	size_t			 max;

	struct spool_ent	*ring;
	size_t			 cap, head, count;

	uint64_t		 next_seq;
	uint64_t		 ack_seq;	/* as on disk */
	uint64_t		 file_bytes;
	uint64_t		 live_bytes;
	int			 dirty;

	uint64_t		 appended, dropped, torn, acked;
	uint64_t		 drops_unlogged;
	time_t			 drop_logged_at;
};

static struct spool_ent *
ent_at(const struct lease_spool *sp, size_t i)
{
	return &sp->ring[(sp->head + i) % sp->cap];
}

static void
drop_log(struct lease_spool *sp, int force)
{
	time_t now = time(NULL);

	if (sp->drops_unlogged == 0)
		return;
	if (!force && sp->drop_logged_at != 0 &&
	    now - sp->drop_logged_at < SPOOL_DROP_LOG_SEC)
		return;
	log_warnx("lease spool %s full (%zu events): dropped the %" PRIu64
	    " oldest lease event(s), %" PRIu64 " in all", sp->path, sp->max,
	    sp->drops_unlogged, sp->dropped);
	sp->drops_unlogged = 0;
	sp->drop_logged_at = now;
}

static void
ring_pop(struct lease_spool *sp)
{
	struct spool_ent *e = ent_at(sp, 0);

	sp->live_bytes -= e->linelen;
	sp->head = (sp->head + 1) % sp->cap;
	sp->count--;
}

/* Queue in memory; drops the oldest when full. */
static void
ring_push(struct lease_spool *sp, uint64_t seq, size_t linelen,
    const struct lease_event *ev)
{
	struct spool_ent *e;

	if (sp->count == sp->max) {
		ring_pop(sp);
		sp->dropped++;
		sp->drops_unlogged++;
		drop_log(sp, 0);
	}
	if (sp->count == sp->cap) {
		size_t ncap = sp->cap == 0 ? 64 : sp->cap * 2, i;
		struct spool_ent *n;

		if (ncap > sp->max)
			ncap = sp->max;
		n = xreallocarray(NULL, ncap, sizeof(*n));
		for (i = 0; i < sp->count; i++)
			n[i] = *ent_at(sp, i);
		free(sp->ring);
		sp->ring = n;
		sp->cap = ncap;
		sp->head = 0;
	}
	e = &sp->ring[(sp->head + sp->count) % sp->cap];
	e->seq = seq;
	e->linelen = linelen;
	e->ev = *ev;
	sp->count++;
	sp->live_bytes += linelen;
}

/* "<seq> <json>\n"; caller frees. */
static char *
line_encode(uint64_t seq, const struct lease_event *ev, size_t *lenp)
{
	char *json = lease_event_encode(ev), *line;
	int n;

	n = xasprintf(&line, "%" PRIu64 " %s\n", seq, json);
	free(json);
	*lenp = (size_t)n;
	return line;
}

/* Parse "<seq> <json>" (no newline). */
static int
line_parse(const char *s, size_t len, uint64_t *seq,
    struct lease_event *ev, char **cause)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < len && s[i] >= '0' && s[i] <= '9' && i < 20; i++)
		v = v * 10 + (uint64_t)(s[i] - '0');
	if (i == 0 || i >= len || s[i] != ' ' || v == 0) {
		xasprintf(cause, "no sequence number");
		return -1;
	}
	*seq = v;
	return lease_event_parse(s + i + 1, len - i - 1, ev, cause);
}

static int
fsync_dir(const char *dir, char **cause)
{
	int fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		xasprintf(cause, "open %s: %s", dir, strerror(errno));
		return -1;
	}
	if (fsync(fd) == -1) {
		xasprintf(cause, "fsync %s: %s", dir, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read a whole regular file of at most max bytes; caller frees. */
static char *
read_file(int fd, size_t max, size_t *lenp, const char *path, char **cause)
{
	struct stat st;
	char *buf;
	size_t len = 0;

	if (fstat(fd, &st) == -1) {
		xasprintf(cause, "fstat %s: %s", path, strerror(errno));
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
		xasprintf(cause, "%s is not a regular file of at most %zu "
		    "bytes", path, max);
		return NULL;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	while (len < (size_t)st.st_size) {
		ssize_t n = pread(fd, buf + len, (size_t)st.st_size - len,
		    (off_t)len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			xasprintf(cause, "read %s: %s", path, strerror(errno));
			free(buf);
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

static int
ack_write(struct lease_spool *sp, uint64_t seq, char **cause)
{
	char *tmp, buf[32];
	int fd, n;

	xasprintf(&tmp, "%s.tmp", sp->ackpath);
	n = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", seq);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0640)) == -1) {
		xasprintf(cause, "open %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (write_all(fd, buf, (size_t)n) == -1 || fsync(fd) == -1) {
		xasprintf(cause, "write %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto fail;
	}
	close(fd);
	if (rename(tmp, sp->ackpath) == -1) {
		xasprintf(cause, "rename %s: %s", tmp, strerror(errno));
		unlink(tmp);
		goto fail;
	}
	free(tmp);
	if (fsync_dir(sp->dir, cause) == -1)
		return -1;
	sp->ack_seq = seq;
	return 0;
fail:
	free(tmp);
	return -1;
}

static int
ack_read(struct lease_spool *sp, char **cause)
{
	char buf[32], *end;
	ssize_t n;
	int fd;
	unsigned long long v;

	if ((fd = open(sp->ackpath, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT) {
			sp->ack_seq = 0;
			return 0;
		}
		xasprintf(cause, "open %s: %s", sp->ackpath, strerror(errno));
		return -1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0) {
		xasprintf(cause, "read %s: %s", sp->ackpath, strerror(errno));
		return -1;
	}
	buf[n] = '\0';
	errno = 0;
	v = strtoull(buf, &end, 10);
	if (n == 0 || errno != 0 || end == buf || strcmp(end, "\n") != 0) {
		/* Rename makes this unreachable short of disk damage; replay
		 * everything rather than guess. */
		log_warnx("lease spool ack file %s is corrupt: resending every "
		    "spooled event", sp->ackpath);
		v = 0;
	}
	sp->ack_seq = v;
	return 0;
}

/* Rewrite the file with only the live events (write tmp, fsync, rename),
 * or truncate it when there are none.  The ack file is already durable,
 * so a crash anywhere here leaves either file valid. */
static int
compact(struct lease_spool *sp, char **cause)
{
	char *tmp, *line;
	size_t i, len;
	int fd;

	if (sp->count == 0) {
		if (ftruncate(sp->fd, 0) == -1) {
			xasprintf(cause, "truncate %s: %s", sp->path,
			    strerror(errno));
			return -1;
		}
		sp->file_bytes = 0;
		sp->dirty = 1;
		return 0;
	}
	xasprintf(&tmp, "%s.tmp", sp->path);
	fd = open(tmp, O_RDWR | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd == -1) {
		xasprintf(cause, "open %s: %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	for (i = 0; i < sp->count; i++) {
		struct spool_ent *e = ent_at(sp, i);

		line = line_encode(e->seq, &e->ev, &len);
		if (write_all(fd, line, len) == -1) {
			xasprintf(cause, "write %s: %s", tmp, strerror(errno));
			free(line);
			goto fail;
		}
		free(line);
	}
	if (fsync(fd) == -1) {
		xasprintf(cause, "fsync %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (rename(tmp, sp->path) == -1) {
		xasprintf(cause, "rename %s: %s", tmp, strerror(errno));
		goto fail;
	}
	free(tmp);
	close(sp->fd);
	sp->fd = fd;
	sp->file_bytes = sp->live_bytes;
	sp->dirty = 0;
	return fsync_dir(sp->dir, cause);
fail:
	close(fd);
	unlink(tmp);
	free(tmp);
	return -1;
}

static int
maybe_compact(struct lease_spool *sp, char **cause)
{
	if ((sp->count == 0 && sp->file_bytes > 0) ||
	    sp->file_bytes > 2 * sp->live_bytes + SPOOL_SLACK)
		return compact(sp, cause);
	return 0;
}

/* Load the file: skip acked and bad lines, cut a torn tail. */
static int
load(struct lease_spool *sp, char **cause)
{
	char *buf, *p, *nl, *why = NULL;
	size_t len, good;
	uint64_t seq, last = 0;
	struct lease_event ev;
	unsigned bad = 0;

	if ((buf = read_file(sp->fd, SPOOL_READ_MAX, &len, sp->path,
	    cause)) == NULL)
		return -1;
	p = buf;
	while ((nl = memchr(p, '\n', len - (size_t)(p - buf))) != NULL) {
		*nl = '\0';
		if (line_parse(p, (size_t)(nl - p), &seq, &ev, &why) == -1 ||
		    seq <= last) {
			if (bad++ < 5)
				log_warnx("lease spool %s: ignoring bad line at "
				    "byte %zu: %s", sp->path, (size_t)(p - buf),
				    why != NULL ? why : "sequence not increasing");
			sp->torn++;
		} else {
			last = seq;
			if (seq > sp->ack_seq)
				ring_push(sp, seq, (size_t)(nl - p) + 1, &ev);
		}
		free(why);
		why = NULL;
		p = nl + 1;
	}
	good = (size_t)(p - buf);
	free(buf);
	if (good < len) {
		/* A crash during an append; the event was never synced, so
		 * it was never promised to anyone. */
		log_warnx("lease spool %s: cutting a torn last line (%zu "
		    "bytes)", sp->path, len - good);
		sp->torn++;
		if (ftruncate(sp->fd, (off_t)good) == -1) {
			xasprintf(cause, "truncate %s: %s", sp->path,
			    strerror(errno));
			return -1;
		}
	}
	if (bad > 5)
		log_warnx("lease spool %s: %u bad lines ignored", sp->path, bad);
	sp->file_bytes = good;
	sp->next_seq = (last > sp->ack_seq ? last : sp->ack_seq) + 1;
	drop_log(sp, 1);
	return 0;
}

struct lease_spool *
lease_spool_open(const char *dir, int max_events, char **cause)
{
	struct lease_spool *sp;

	if (mkdir(dir, 0750) == -1 && errno != EEXIST) {
		xasprintf(cause, "mkdir %s: %s", dir, strerror(errno));
		return NULL;
	}
	sp = xcalloc(1, sizeof(*sp));
	sp->fd = -1;
	sp->dir = xstrdup(dir);
	xasprintf(&sp->path, "%s/%s", dir, SPOOL_NAME);
	xasprintf(&sp->ackpath, "%s/%s", dir, SPOOL_ACK_NAME);
	sp->max = max_events > 0 ? (size_t)max_events : SPOOL_DEFAULT_MAX;
	if (ack_read(sp, cause) == -1)
		goto fail;
	sp->fd = open(sp->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (sp->fd == -1) {
		xasprintf(cause, "open %s: %s", sp->path, strerror(errno));
		goto fail;
	}
	if (load(sp, cause) == -1 || maybe_compact(sp, cause) == -1 ||
	    lease_spool_sync(sp, cause) == -1)
		goto fail;
	return sp;
fail:
	lease_spool_close(sp);
	return NULL;
}

void
lease_spool_close(struct lease_spool *sp)
{
	char *cause = NULL;

	if (sp == NULL)
		return;
	if (sp->fd != -1) {
		if (lease_spool_sync(sp, &cause) == -1) {
			log_warnx("lease spool: %s", cause);
			free(cause);
		}
		close(sp->fd);
	}
	drop_log(sp, 1);
	free(sp->ring);
	free(sp->dir);
	free(sp->path);
	free(sp->ackpath);
	free(sp);
}

int
lease_spool_append(struct lease_spool *sp, const struct lease_event *ev,
    char **cause)
{
	uint64_t seq = sp->next_seq++;
	char *line;
	size_t len;
	int rc = 0;

	line = line_encode(seq, ev, &len);
	ring_push(sp, seq, len, ev);
	sp->appended++;
	if (write_all(sp->fd, line, len) == -1) {
		xasprintf(cause, "write %s: %s", sp->path, strerror(errno));
		/* Never leave half a line for the next append to extend. */
		if (ftruncate(sp->fd, (off_t)sp->file_bytes) == -1)
			log_warn("truncate %s", sp->path);
		rc = -1;
	} else {
		sp->file_bytes += len;
		sp->dirty = 1;
	}
	free(line);
	if (rc == 0 && sp->file_bytes > 2 * sp->live_bytes + SPOOL_SLACK)
		rc = compact(sp, cause);
	return rc;
}

int
lease_spool_sync(struct lease_spool *sp, char **cause)
{
	if (!sp->dirty)
		return 0;
	if (fsync(sp->fd) == -1) {
		xasprintf(cause, "fsync %s: %s", sp->path, strerror(errno));
		return -1;
	}
	sp->dirty = 0;
	return 0;
}

size_t
lease_spool_peek(const struct lease_spool *sp, struct lease_event *out,
    uint64_t *seqs, size_t max)
{
	size_t i, n = sp->count < max ? sp->count : max;

	for (i = 0; i < n; i++) {
		const struct spool_ent *e = ent_at(sp, i);

		out[i] = e->ev;
		if (seqs != NULL)
			seqs[i] = e->seq;
	}
	return n;
}

int
lease_spool_ack(struct lease_spool *sp, uint64_t through, char **cause)
{
	while (sp->count > 0 && ent_at(sp, 0)->seq <= through) {
		ring_pop(sp);
		sp->acked++;
	}
	if (through >= sp->next_seq)
		through = sp->next_seq - 1;
	if (through <= sp->ack_seq)
		return 0;
	/* No spool fsync needed first: a line at or below the ack seq is
	 * skipped on load whether or not it reached the disk.  The ack is
	 * durable before compaction removes the lines it covers. */
	if (ack_write(sp, through, cause) == -1)
		return -1;
	return maybe_compact(sp, cause);
}

/* Append every valid line of one hook file, then remove it. */
static int
import_file(struct lease_spool *sp, const char *path, size_t *count,
    char **cause)
{
	struct lease_event ev;
	char *buf, *p, *nl, *why = NULL;
	size_t len, bad = 0;
	int fd, i;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		xasprintf(cause, "open %s: %s", path, strerror(errno));
		return -1;
	}
	/* A hook that opened the file before the rename may still be
	 * writing; it holds the lock for one write.  Hooks re-check the
	 * path after locking, so once we held the lock none writes to this
	 * file again: let it go at once, so that a hook (a Kea thread,
	 * with a bounded wait) never waits for this import. */
	for (i = 0; flock(fd, LOCK_EX | LOCK_NB) == -1; i++) {
		if ((errno != EWOULDBLOCK && errno != EINTR) ||
		    i >= SPOOL_LOCK_TRIES) {
			xasprintf(cause, "lock %s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		usleep(10000);
	}
	(void)flock(fd, LOCK_UN);
	if ((buf = read_file(fd, SPOOL_IMPORT_MAX, &len, path,
	    cause)) == NULL) {
		close(fd);
		return -1;
	}
	p = buf;
	for (;;) {
		size_t left = len - (size_t)(p - buf), ll;

		if (left == 0)
			break;
		if ((nl = memchr(p, '\n', left)) == NULL)
			nl = p + left;	/* torn last line: parse rejects it */
		ll = (size_t)(nl - p);
		if (lease_event_parse(p, ll, &ev, &why) == 0 && nl < buf + len) {
			if (lease_spool_append(sp, &ev, cause) == -1) {
				/* Leave the file: a retry appends again,
				 * duplicates beat losses. */
				free(buf);
				close(fd);
				return -1;
			}
			(*count)++;
		} else {
			if (bad++ < 5)
				log_warnx("lease hook spool %s: ignoring bad "
				    "line at byte %zu: %s", path,
				    (size_t)(p - buf), why != NULL ? why :
				    "torn last line");
			sp->torn++;
		}
		free(why);
		why = NULL;
		p = nl < buf + len ? nl + 1 : nl;
	}
	free(buf);
	if (lease_spool_sync(sp, cause) == -1) {
		close(fd);
		return -1;
	}
	if (unlink(path) == -1) {
		xasprintf(cause, "unlink %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int
lease_spool_import(struct lease_spool *sp, const char *path,
    size_t *imported, char **cause)
{
	char *imp;
	size_t n = 0;
	int rc = -1;

	if (imported != NULL)
		*imported = 0;
	xasprintf(&imp, "%s.importing", path);
	/* Left over from a crash in the middle of an import: its events
	 * are older than the current file's. */
	if (import_file(sp, imp, &n, cause) == -1)
		goto out;
	if (rename(path, imp) == -1) {
		if (errno != ENOENT) {
			xasprintf(cause, "rename %s: %s", path,
			    strerror(errno));
			goto out;
		}
	} else if (import_file(sp, imp, &n, cause) == -1)
		goto out;
	rc = 0;
out:
	free(imp);
	if (imported != NULL)
		*imported = n;
	return rc;
}

void
lease_spool_stats(const struct lease_spool *sp, struct lease_spool_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->appended = sp->appended;
	st->dropped = sp->dropped;
	st->torn = sp->torn;
	st->acked = sp->acked;
	st->pending = sp->count;
	st->file_bytes = sp->file_bytes;
}
