/*
 * test_imagesync_writer.c — the image sync's writer thread
 * (src/boot/imagesync_writer.c): chunks land in the file in order and in
 * the digest, a final flush fsyncs and gives the sha256; a full queue
 * refuses a chunk and says when half is written (backpressure); a chunk
 * at 0 after data starts the file over (a server ignoring Range); a gap
 * or a write error is reported by the flush, never hashed around; a
 * resumed file hashes on from the digest it was given.  And
 * is_unlink_detached (imagesync_fs.c): the names go at once, another
 * hard link keeps its data, a missing path is not counted, and the
 * thread closes every fd it was given.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/evp.h>

#include "../../src/boot/imagesync_private.h"
#include "log.h"
#include "xmalloc.h"

struct fx {
	struct event_base	*base;
	struct is_writer	*w;
	int			 fd;
	EVP_MD_CTX		*md;
	int			 spaces;
	int			 flushes;
	struct is_flush		 last;
};

static void
space_cb(void *arg)
{
	struct fx *f = arg;

	f->spaces++;
	event_base_loopbreak(f->base);
}

static void
flushed_cb(const struct is_flush *fl, void *arg)
{
	struct fx *f = arg;

	f->flushes++;
	f->last = *fl;
	event_base_loopbreak(f->base);
}

static void
watchdog_cb(evutil_socket_t fd, short ev, void *arg)
{
	event_base_loopbreak(arg);
}

/* Run the loop until a callback breaks it (or 5 s). */
static void
run(struct fx *f)
{
	struct timeval tv = { 5, 0 };
	struct event *wd = evtimer_new(f->base, watchdog_cb, f->base);

	evtimer_add(wd, &tv);
	event_base_dispatch(f->base);
	event_free(wd);
}

static int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	char path[] = "/tmp/test_writer.XXXXXX", *cause = NULL;

	log_init("test_imagesync_writer", getenv("TEST_DEBUG") != NULL);
	f->base = event_base_new();
	f->w = is_writer_new(f->base, 64 * 1024, space_cb, flushed_cb, f,
	    &cause);
	assert_non_null(f->w);
	f->fd = mkstemp(path);
	assert_true(f->fd >= 0);
	unlink(path);
	f->md = EVP_MD_CTX_new();
	EVP_DigestInit_ex(f->md, EVP_sha256(), NULL);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	is_writer_free(f->w);
	EVP_MD_CTX_free(f->md);
	close(f->fd);
	event_base_free(f->base);
	free(f);
	return 0;
}

static void
sha_hex(const unsigned char *data, size_t len, char *hex)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
	for (i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

static unsigned char *
pattern(size_t len, unsigned seed)
{
	unsigned char *b = xmalloc(len);
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = (unsigned char)(i * 131 + seed + i / 977);
	return b;
}

static int
file_equals(int fd, const unsigned char *want, size_t len)
{
	unsigned char *got = xmalloc(len + 1);
	ssize_t n = pread(fd, got, len + 1, 0);
	int same = n == (ssize_t)len && memcmp(got, want, len) == 0;

	free(got);
	return same;
}

/* 1 MiB in 16 KiB chunks through a 64 KiB queue: full queues refuse,
 * space_cb lets the producer carry on, nothing lost or reordered.
 * Whether the queue ever fills depends on how fast the writer thread
 * drains it, so the transfer is repeated (on a fresh fixture) until a
 * run saw backpressure; every run must be intact either way. */
static void
test_writes_hashes_and_pushes_back(void **state)
{
	struct fx *f;
	size_t len = 1024 * 1024, off, chunk = 16 * 1024;
	unsigned char *data = pattern(len, 1);
	char want[2 * EVP_MAX_MD_SIZE + 1];
	int refused = 0, rc, attempt;

	sha_hex(data, len, want);
	for (attempt = 0; attempt < 50 && refused == 0; attempt++) {
		if (attempt > 0) {
			teardown(state);
			setup(state);
		}
		f = *state;
		is_writer_begin(f->w, f->fd, f->md, 0);
		for (off = 0; off < len; ) {
			rc = is_writer_put(f->w, data + off, chunk, off);
			assert_int_not_equal(rc, -2);
			if (rc == -1) {
				refused++;
				run(f);		/* until space_cb */
				continue;
			}
			off += chunk;
		}
		is_writer_flush(f->w, 1);
		while (f->flushes == 0)
			run(f);
		assert_int_equal(f->last.err, 0);
		assert_int_equal(f->last.have, len);
		assert_string_equal(f->last.sha256, want);
		assert_true(file_equals(f->fd, data, len));
		/* Every refusal was followed by space. */
		assert_int_equal(f->spaces, refused);
	}
	/* Backpressure happened in one of the runs. */
	assert_true(refused > 0);
	free(data);
}

/* A chunk at 0 after data: truncate, hash from the start. */
static void
test_restart_at_zero(void **state)
{
	struct fx *f = *state;
	unsigned char *a = pattern(5000, 2), *b = pattern(3000, 3);
	char want[2 * EVP_MAX_MD_SIZE + 1];

	is_writer_begin(f->w, f->fd, f->md, 0);
	assert_int_equal(is_writer_put(f->w, a, 5000, 0), 0);
	assert_int_equal(is_writer_put(f->w, b, 3000, 0), 0);
	is_writer_flush(f->w, 1);
	run(f);
	assert_int_equal(f->flushes, 1);
	assert_int_equal(f->last.err, 0);
	assert_int_equal(f->last.have, 3000);
	sha_hex(b, 3000, want);
	assert_string_equal(f->last.sha256, want);
	assert_true(file_equals(f->fd, b, 3000));
	free(a);
	free(b);
}

/* Resumed: 4000 bytes already in the file and in the digest. */
static void
test_resume_hashes_on(void **state)
{
	struct fx *f = *state;
	unsigned char *d = pattern(10000, 4);
	char want[2 * EVP_MAX_MD_SIZE + 1];

	assert_int_equal(pwrite(f->fd, d, 4000, 0), 4000);
	EVP_DigestUpdate(f->md, d, 4000);
	is_writer_begin(f->w, f->fd, f->md, 4000);
	assert_int_equal(is_writer_put(f->w, d + 4000, 6000, 4000), 0);
	/* A flush that is not final: bytes counted, no digest yet. */
	is_writer_flush(f->w, 0);
	run(f);
	assert_int_equal(f->last.have, 10000);
	assert_string_equal(f->last.sha256, "");
	is_writer_flush(f->w, 1);
	run(f);
	sha_hex(d, 10000, want);
	assert_string_equal(f->last.sha256, want);
	free(d);
}

/* A gap is an error (never hashed around); later chunks are refused. */
static void
test_gap_is_an_error(void **state)
{
	struct fx *f = *state;
	unsigned char *d = pattern(2000, 5);

	is_writer_begin(f->w, f->fd, f->md, 0);
	assert_int_equal(is_writer_put(f->w, d, 1000, 0), 0);
	assert_int_equal(is_writer_put(f->w, d + 1000, 500, 1500), 0);
	is_writer_flush(f->w, 1);
	run(f);
	assert_int_equal(f->last.err, EINVAL);
	assert_int_equal(f->last.have, 1000);
	assert_int_equal(is_writer_put(f->w, d, 10, 1000), -2);
	free(d);
}

/* A write that fails (a read-only fd) is the flush's error. */
static void
test_write_error(void **state)
{
	struct fx *f = *state;
	unsigned char *d = pattern(100, 6);
	int ro = open("/dev/null", O_RDONLY);

	assert_true(ro >= 0);
	is_writer_begin(f->w, ro, f->md, 0);
	assert_int_equal(is_writer_put(f->w, d, 100, 0), 0);
	is_writer_flush(f->w, 1);
	run(f);
	assert_int_equal(f->last.err, EBADF);
	assert_string_equal(f->last.sha256, "");
	close(ro);
	free(d);
}

/* Cancel with work queued: no callback follows, the fd is ours again. */
static void
test_cancel(void **state)
{
	struct fx *f = *state;
	unsigned char *d = pattern(32 * 1024, 7);

	is_writer_begin(f->w, f->fd, f->md, 0);
	assert_int_equal(is_writer_put(f->w, d, 32 * 1024, 0), 0);
	is_writer_flush(f->w, 1);
	is_writer_cancel(f->w);
	event_base_loop(f->base, EVLOOP_NONBLOCK);
	assert_int_equal(f->flushes, 0);
	free(d);
}

static int
open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the DIR's own */
}

static void
test_unlink_detached(void **state)
{
	char dir[] = "/tmp/test-unlink-XXXXXX", *paths[4], buf[8];
	static char big[1 << 20];
	struct stat st;
	struct timespec ts = { 0, 10000000 };
	int i, fd, before, after = -1;

	(void)state;
	assert_non_null(mkdtemp(dir));
	for (i = 0; i < 4; i++)
		xasprintf(&paths[i], "%s/f%d", dir, i);
	memset(big, 'x', sizeof(big));
	for (i = 0; i < 2; i++) {
		fd = open(paths[i], O_WRONLY | O_CREAT | O_TRUNC, 0644);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, big, sizeof(big)), (ssize_t)sizeof(big));
		close(fd);
	}
	/* f2 is a second link of f1: removing it leaves f1 whole. */
	assert_int_equal(link(paths[1], paths[2]), 0);
	/* f3 does not exist. */
	before = open_fds();
	/* f0, f2 and f3 go; f1 stays. */
	{
		char *gone[] = { paths[0], paths[2], paths[3] };

		assert_int_equal(is_unlink_detached(gone, 3), 2);
	}
	assert_int_equal(stat(paths[0], &st), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(stat(paths[2], &st), -1);
	assert_int_equal(stat(paths[1], &st), 0);
	assert_int_equal(st.st_size, (off_t)sizeof(big));
	assert_int_equal(st.st_nlink, 1);
	fd = open(paths[1], O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, sizeof(buf), sizeof(big) - sizeof(buf)),
	    (ssize_t)sizeof(buf));
	assert_memory_equal(buf, "xxxxxxxx", sizeof(buf));
	close(fd);
	/* The thread closes what it was given (poll: 5 s deadline). */
	for (i = 0; i < 500; i++) {
		if ((after = open_fds()) <= before)
			break;
		nanosleep(&ts, NULL);
	}
	assert_true(after <= before);
	assert_int_equal(is_unlink_detached(NULL, 0), 0);
	unlink(paths[1]);
	rmdir(dir);
	for (i = 0; i < 4; i++)
		free(paths[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_writes_hashes_and_pushes_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_at_zero, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_resume_hashes_on, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_gap_is_an_error, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_write_error, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test(test_unlink_detached),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
