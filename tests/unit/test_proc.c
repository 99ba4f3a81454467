/*
 * test_proc.c — the child-process runner against real children: capture,
 * caps, deadlines, process groups, input on a descriptor, descriptor and
 * environment hygiene, exec failure, the bounded queue, cancel and
 * shutdown.  Every test waits on its own libevent watchdog (and an
 * alarm() as a last resort), so a bug fails the test instead of hanging
 * the suite.  Timing bounds are generous: the suite runs on loaded CI.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "proc.h"
#include "rackd.h"
#include "xmalloc.h"

#define WATCHDOG_MS	15000

struct ctx {
	struct event_base	*base;
	struct proc_runner	*r;
	struct event		*wd;
	int			 outstanding;
	bool			 wd_fired;
};

struct rec {
	struct ctx		*ctx;
	int			 count;
	struct proc_result	 res;
	char			*out;
	char			*err;
	uint64_t		 at_ms;
	/* Optional chained start from inside the callback. */
	const struct proc_spec	*chain;
	struct rec		*chain_rec;
};

static void
watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ctx *c = arg;

	c->wd_fired = true;
	event_base_loopbreak(c->base);
}

static int
setup(void **state)
{
	struct ctx *c = xcalloc(1, sizeof *c);

	c->base = event_base_new();
	assert_non_null(c->base);
	c->r = proc_runner_new(c->base, 8);
	c->wd = evtimer_new(c->base, watchdog_cb, c);
	alarm(60);
	*state = c;
	return 0;
}

static int
teardown(void **state)
{
	struct ctx *c = *state;

	proc_runner_free(c->r);
	event_free(c->wd);
	event_base_free(c->base);
	free(c);
	alarm(0);
	return 0;
}

static void
rec_clear(struct rec *rec)
{
	free(rec->out);
	free(rec->err);
	rec->out = rec->err = NULL;
}

static void done_cb(const struct proc_result *, void *);

static struct proc *
start(struct ctx *c, struct rec *rec, const struct proc_spec *spec)
{
	struct proc *p;
	char *cause = NULL;

	rec->ctx = c;
	p = proc_start(c->r, spec, done_cb, rec, &cause);
	if (p == NULL)
		fail_msg("proc_start: %s", cause);
	c->outstanding++;
	return p;
}

static void
done_cb(const struct proc_result *res, void *arg)
{
	struct rec *rec = arg;

	rec->count++;
	rec->res = *res;
	rec->out = xmemdup(res->out, res->out_len);
	rec->err = xmemdup(res->err, res->err_len);
	/* Borrowed pointers die with the call. */
	rec->res.out = rec->res.err = NULL;
	assert_int_equal(res->out[res->out_len], '\0');
	assert_int_equal(res->err[res->err_len], '\0');
	rec->at_ms = rackd_now_ms();
	if (rec->chain != NULL)
		start(rec->ctx, rec->chain_rec, rec->chain);
	if (--rec->ctx->outstanding == 0)
		event_base_loopbreak(rec->ctx->base);
}

/* Loop until every started proc has called back; fail on the watchdog. */
static void
run(struct ctx *c)
{
	struct timeval tv = { WATCHDOG_MS / 1000, 0 };

	c->wd_fired = false;
	evtimer_add(c->wd, &tv);
	while (c->outstanding > 0 && !c->wd_fired)
		event_base_loop(c->base, EVLOOP_ONCE);
	event_del(c->wd);
	assert_false(c->wd_fired);
}

/* Dead or a zombie (reparented to an init that may be slow to reap). */
static bool
pid_gone(pid_t pid)
{
	char path[64], buf[512], *s;
	uint64_t until = rackd_now_ms() + 3000;
	ssize_t n;
	int fd;

	do {
		if (kill(pid, 0) == -1 && errno == ESRCH)
			return true;
		snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
		if ((fd = open(path, O_RDONLY)) == -1)
			return true;
		n = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (n > 0) {
			buf[n] = '\0';
			if ((s = strrchr(buf, ')')) != NULL && s[1] == ' ' &&
			    (s[2] == 'Z' || s[2] == 'X'))
				return true;
		}
		usleep(20000);
	} while (rackd_now_ms() < until);
	return false;
}

#define ARGV(...)	((char *const []){ __VA_ARGS__, NULL })

static void
test_echo(void **state)
{
	struct ctx *c = *state;
	struct proc_spec spec = { .path = "/bin/echo",
	    .argv = ARGV("echo", "hello") };
	struct rec rec = { 0 };
	struct proc *p;

	p = start(c, &rec, &spec);
	assert_non_null(p);
	assert_int_equal(rec.count, 0);
	run(c);
	assert_int_equal(rec.count, 1);
	assert_int_equal(rec.res.spawn_error, 0);
	assert_true(rec.res.exited);
	assert_int_equal(rec.res.exit_status, 0);
	assert_int_equal(rec.res.signal, 0);
	assert_false(rec.res.timed_out);
	assert_false(rec.res.cancelled);
	assert_false(rec.res.truncated);
	assert_string_equal(rec.out, "hello\n");
	assert_int_equal(rec.res.out_len, 6);
	assert_string_equal(rec.err, "");
	assert_true(rec.res.pid > 0);
	assert_true(pid_gone(rec.res.pid));
	rec_clear(&rec);
}

static void
test_exit_status_and_stderr(void **state)
{
	struct ctx *c = *state;
	struct proc_spec s1 = { .path = "/bin/sh",
	    .argv = ARGV("sh", "-c", "exit 3") };
	struct proc_spec s2 = { .path = "/bin/sh",
	    .argv = ARGV("sh", "-c", "echo out; echo oops >&2; exit 1") };
	struct rec r1 = { 0 }, r2 = { 0 };

	start(c, &r1, &s1);
	start(c, &r2, &s2);
	run(c);
	assert_true(r1.res.exited);
	assert_int_equal(r1.res.exit_status, 3);
	assert_true(r2.res.exited);
	assert_int_equal(r2.res.exit_status, 1);
	assert_string_equal(r2.out, "out\n");
	assert_string_equal(r2.err, "oops\n");
	assert_int_equal(r2.res.err_len, 5);
	rec_clear(&r1);
	rec_clear(&r2);
}

static void
test_output_cap(void **state)
{
	struct ctx *c = *state;
	struct proc_spec spec = { .path = "/bin/sh",
	    .argv = ARGV("sh", "-c",
	    "head -c 1048576 /dev/zero | tr '\\0' x; "
	    "head -c 300000 /dev/zero | tr '\\0' y >&2"),
	    .output_max = 1000, .timeout_ms = 10000 };
	struct rec rec = { 0 };
	uint64_t t0 = rackd_now_ms();
	size_t i;

	start(c, &rec, &spec);
	run(c);
	assert_true(rec.res.exited);
	assert_int_equal(rec.res.exit_status, 0);
	assert_false(rec.res.timed_out);
	assert_true(rec.res.truncated);
	assert_int_equal(rec.res.out_len, 1000);
	assert_int_equal(rec.res.err_len, 1000);
	for (i = 0; i < 1000; i++) {
		assert_int_equal(rec.out[i], 'x');
		assert_int_equal(rec.err[i], 'y');
	}
	assert_true(rackd_now_ms() - t0 < 8000);
	rec_clear(&rec);
}

static void
test_deadline(void **state)
{
	struct ctx *c = *state;
	struct proc_spec s1 = { .path = "/bin/sleep", .argv = ARGV("sleep",
	    "30"), .timeout_ms = 200 };
	struct proc_spec s2 = { .path = "/bin/sh", .argv = ARGV("sh", "-c",
	    "trap '' TERM; sleep 30"), .timeout_ms = 200,
	    .kill_grace_ms = 300 };
	struct rec r1 = { 0 }, r2 = { 0 };

	start(c, &r1, &s1);
	start(c, &r2, &s2);
	run(c);
	assert_true(r1.res.timed_out);
	assert_false(r1.res.exited);
	assert_true(r1.res.signal == SIGTERM || r1.res.signal == SIGKILL);
	assert_true(r1.res.elapsed_ms >= 190);
	assert_true(r1.res.elapsed_ms < 5000);

	assert_true(r2.res.timed_out);
	assert_int_equal(r2.res.signal, SIGKILL);
	/* SIGKILL came only after the grace period. */
	assert_true(r2.res.elapsed_ms >= 450);
	assert_true(r2.res.elapsed_ms < 5000);
	rec_clear(&r1);
	rec_clear(&r2);
}

static pid_t
first_pid(const char *s)
{
	long v = strtol(s, NULL, 10);

	assert_true(v > 1);
	return (pid_t)v;
}

static void
test_process_group(void **state)
{
	struct ctx *c = *state;
	/* The grandchild holds stdout/stderr; the deadline kills both. */
	struct proc_spec s1 = { .path = "/bin/sh", .argv = ARGV("sh", "-c",
	    "sleep 30 & echo $! >&2; wait"), .timeout_ms = 300 };
	/* No deadline: the child exits at once, the grandchild keeps the
	 * pipes; the runner must not wait for it. */
	struct proc_spec s2 = { .path = "/bin/sh", .argv = ARGV("sh", "-c",
	    "sleep 30 & echo $! >&2"), .kill_grace_ms = 200 };
	struct rec r1 = { 0 }, r2 = { 0 };
	uint64_t t0 = rackd_now_ms();

	start(c, &r1, &s1);
	start(c, &r2, &s2);
	run(c);
	assert_true(rackd_now_ms() - t0 < 5000);
	assert_true(r1.res.timed_out);
	assert_int_equal(r1.res.signal, SIGTERM);
	assert_true(pid_gone(first_pid(r1.err)));

	assert_false(r2.res.timed_out);
	assert_true(r2.res.exited);
	assert_int_equal(r2.res.exit_status, 0);
	assert_true(pid_gone(first_pid(r2.err)));
	rec_clear(&r1);
	rec_clear(&r2);
}

static void
test_input(void **state)
{
	struct ctx *c = *state;
	char secret[] = "s3cret\n";
	struct proc_spec s1 = { .path = "/bin/cat", .argv = ARGV("cat",
	    "/dev/fd/3"), .input = secret, .input_len = 7, .input_fd = 3 };
	struct proc_spec s2 = { .path = "/bin/cat", .argv = ARGV("cat"),
	    .input = secret, .input_len = 7, .input_fd = 0 };
	/* A high descriptor, and an empty input is a valid (empty) pipe. */
	struct proc_spec s3 = { .path = "/bin/cat", .argv = ARGV("cat",
	    "/dev/fd/9", "/dev/fd/0"), .input = "", .input_len = 0,
	    .input_fd = 9 };
	struct rec r1 = { 0 }, r2 = { 0 }, r3 = { 0 };

	start(c, &r1, &s1);
	start(c, &r2, &s2);
	start(c, &r3, &s3);
	/* The runner made its own copy. */
	memset(secret, 'X', sizeof secret - 1);
	run(c);
	assert_true(r1.res.exited);
	assert_int_equal(r1.res.exit_status, 0);
	assert_string_equal(r1.out, "s3cret\n");
	assert_true(r2.res.exited);
	assert_string_equal(r2.out, "s3cret\n");
	assert_true(r3.res.exited);
	assert_int_equal(r3.res.exit_status, 0);
	assert_string_equal(r3.out, "");	/* stdin was /dev/null */
	rec_clear(&r1);
	rec_clear(&r2);
	rec_clear(&r3);
}

/* Several inputs, each on its own descriptor, and a child in a session
 * of its own: no controlling terminal, so a getpass() prompt reads stdin
 * (ipmitool -Y gets its K_g that way). */
static void
test_more_inputs_new_session(void **state)
{
	struct ctx *c = *state;
	char key[] = "K3y\n";
	struct proc_input more[2] = {
		{ .data = key, .len = 4, .fd = 0 },
		{ .data = "seven\n", .len = 6, .fd = 7 },
	};
	/* Fields 6 and 7 of /proc/self/stat: session id and tty (0 = none);
	 * $$ is the shell, so the session id must be its own pid. */
	struct proc_spec s1 = { .path = "/bin/sh", .argv = ARGV("sh", "-c",
	    "cat /dev/fd/3; cat; cat /dev/fd/7; "
	    "set -- $(cut -d' ' -f6,7 /proc/$$/stat); "
	    "[ \"$1\" = $$ ] && [ \"$2\" = 0 ] && echo nosid-ok; "
	    "ls /proc/$$/fd | tr '\\n' ' '"),
	    .input = "pw\n", .input_len = 3, .input_fd = 3,
	    .more_inputs = more, .n_more_inputs = 2, .new_session = true };
	struct rec r1 = { 0 };

	start(c, &r1, &s1);
	memset(key, 'X', 3);	/* the runner made its own copy */
	run(c);
	assert_true(r1.res.exited);
	assert_int_equal(r1.res.exit_status, 0);
	if (strncmp(r1.out, "pw\nK3y\nseven\nnosid-ok\n", 22) != 0)
		fail_msg("unexpected output: %s", r1.out);
	/* 0-2, the two pipes at 3 and 7, and ls's own directory fd. */
	assert_non_null(strstr(r1.out, "0 1 2 3 "));
	assert_non_null(strstr(r1.out, " 7 "));
	assert_null(strstr(r1.out, " 4 "));
	rec_clear(&r1);
}

static void
test_bad_spec(void **state)
{
	struct ctx *c = *state;
	struct proc_spec spec;
	char big[5000], *cause = NULL;

	memset(big, 'a', sizeof big);
	spec = (struct proc_spec){ .path = "bin/echo", .argv = ARGV("echo") };
	assert_null(proc_start(c->r, &spec, done_cb, NULL, &cause));
	assert_non_null(strstr(cause, "absolute"));
	free(cause);
	cause = NULL;

	spec = (struct proc_spec){ .path = "/bin/echo", .argv = NULL };
	assert_null(proc_start(c->r, &spec, done_cb, NULL, &cause));
	assert_non_null(cause);
	free(cause);
	cause = NULL;

	spec = (struct proc_spec){ .path = "/bin/cat", .argv = ARGV("cat"),
	    .input = big, .input_len = sizeof big };
	assert_null(proc_start(c->r, &spec, done_cb, NULL, &cause));
	assert_non_null(cause);
	/* The cause never quotes the input. */
	assert_null(strstr(cause, "aaaa"));
	free(cause);
	cause = NULL;

	spec = (struct proc_spec){ .path = "/bin/cat", .argv = ARGV("cat"),
	    .input = "x", .input_len = 1, .input_fd = 2 };
	assert_null(proc_start(c->r, &spec, done_cb, NULL, &cause));
	assert_non_null(cause);
	free(cause);
	cause = NULL;

	/* Two inputs on one descriptor. */
	{
		struct proc_input more = { .data = "y", .len = 1, .fd = 3 };

		spec = (struct proc_spec){ .path = "/bin/cat",
		    .argv = ARGV("cat"), .input = "x", .input_len = 1,
		    .input_fd = 3, .more_inputs = &more, .n_more_inputs = 1 };
		assert_null(proc_start(c->r, &spec, done_cb, NULL, &cause));
		assert_non_null(strstr(cause, "two inputs"));
		free(cause);
	}
}

static void
test_no_inherited_fds(void **state)
{
	struct ctx *c = *state;
	/* "; :" keeps the shell from exec'ing ls, so ls lists the shell. */
	struct proc_spec s1 = { .path = "/bin/sh", .argv = ARGV("sh", "-c",
	    "ls /proc/$$/fd; :") };
	struct proc_spec s2 = { .path = "/bin/sh", .argv = ARGV("sh", "-c",
	    "ls /proc/$$/fd; :"), .input = "pw", .input_len = 2,
	    .input_fd = 3 };
	struct rec r1 = { 0 }, r2 = { 0 };
	int leak, leak2;

	/* Descriptors without CLOEXEC, one low and one high. */
	leak = open("/dev/null", O_RDONLY);
	assert_true(leak >= 3);
	leak2 = dup2(leak, 200);
	assert_int_equal(leak2, 200);
	start(c, &r1, &s1);
	start(c, &r2, &s2);
	run(c);
	close(leak);
	close(leak2);
	assert_true(r1.res.exited);
	assert_string_equal(r1.out, "0\n1\n2\n");
	assert_true(r2.res.exited);
	assert_string_equal(r2.out, "0\n1\n2\n3\n");
	rec_clear(&r1);
	rec_clear(&r2);
}

static void
test_environment(void **state)
{
	struct ctx *c = *state;
	struct proc_spec s1 = { .path = "/usr/bin/env", .argv = ARGV("env") };
	struct proc_spec s2 = { .path = "/usr/bin/env", .argv = ARGV("env"),
	    .envp = ARGV("FOO=bar", "NOTIFY_SOCKET=/run/x", "B=1") };
	struct proc_spec s3 = { .path = "/bin/sh", .argv = ARGV("sh", "-c",
	    "grep CapAmb /proc/self/status") };
	struct rec r1 = { 0 }, r2 = { 0 }, r3 = { 0 };

	setenv("NOTIFY_SOCKET", "/run/systemd/notify", 1);
	setenv("RACKD_TEST_SECRET", "nope", 1);
	start(c, &r1, &s1);
	start(c, &r2, &s2);
	start(c, &r3, &s3);
	run(c);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("RACKD_TEST_SECRET");
	assert_string_equal(r1.out,
	    "LC_ALL=C\nPATH=/usr/sbin:/usr/bin:/sbin:/bin\n");
	assert_string_equal(r2.out, "FOO=bar\nB=1\n");
	assert_string_equal(r3.out, "CapAmb:\t0000000000000000\n");
	rec_clear(&r1);
	rec_clear(&r2);
	rec_clear(&r3);
}

static void
test_exec_failure(void **state)
{
	struct ctx *c = *state;
	struct proc_spec s1 = { .path = "/nonexistent/prog",
	    .argv = ARGV("prog") };
	struct proc_spec s2 = { .path = "/etc/passwd",
	    .argv = ARGV("passwd") };
	struct rec r1 = { 0 }, r2 = { 0 };
	int running, waiting;

	start(c, &r1, &s1);
	start(c, &r2, &s2);
	/* Reported through cb, never from inside proc_start. */
	assert_int_equal(r1.count, 0);
	assert_int_equal(r2.count, 0);
	proc_runner_counts(c->r, &running, &waiting);
	assert_int_equal(running, 0);
	assert_int_equal(waiting, 0);
	run(c);
	assert_int_equal(r1.count, 1);
	assert_int_equal(r1.res.spawn_error, ENOENT);
	assert_false(r1.res.exited);
	assert_int_equal(r2.res.spawn_error, EACCES);
	rec_clear(&r1);
	rec_clear(&r2);
}

static void
test_bounded(void **state)
{
	struct ctx *c = *state;
	/* The deadline (700 ms) is shorter than the queueing (3 x 300 ms):
	 * it must count from the actual start. */
	struct proc_spec spec = { .path = "/bin/sleep",
	    .argv = ARGV("sleep", "0.3"), .timeout_ms = 700 };
	struct rec recs[6] = { 0 };
	uint64_t t0;
	int i, running, waiting;

	proc_runner_set_max(c->r, 2);
	t0 = rackd_now_ms();
	for (i = 0; i < 6; i++)
		start(c, &recs[i], &spec);
	proc_runner_counts(c->r, &running, &waiting);
	assert_int_equal(running, 2);
	assert_int_equal(waiting, 4);
	run(c);
	assert_true(rackd_now_ms() - t0 >= 850);
	for (i = 0; i < 6; i++) {
		assert_int_equal(recs[i].count, 1);
		assert_true(recs[i].res.exited);
		assert_int_equal(recs[i].res.exit_status, 0);
		assert_false(recs[i].res.timed_out);
		rec_clear(&recs[i]);
	}
	/* FIFO: the last pair finished after the first pair. */
	assert_true(recs[4].at_ms > recs[0].at_ms);
	assert_true(recs[5].at_ms > recs[1].at_ms);
	proc_runner_counts(c->r, &running, &waiting);
	assert_int_equal(running, 0);
	assert_int_equal(waiting, 0);
}

static void
test_cancel(void **state)
{
	struct ctx *c = *state;
	struct proc_spec s1 = { .path = "/bin/sleep", .argv = ARGV("sleep",
	    "30") };
	struct proc_spec s2 = { .path = "/bin/echo", .argv = ARGV("echo",
	    "never") };
	struct proc_spec s3 = { .path = "/bin/echo", .argv = ARGV("echo",
	    "third") };
	struct rec r1 = { 0 }, r2 = { 0 }, r3 = { 0 };
	struct proc *p1, *p2;
	uint64_t t0 = rackd_now_ms();

	proc_runner_set_max(c->r, 1);
	p1 = start(c, &r1, &s1);
	p2 = start(c, &r2, &s2);
	start(c, &r3, &s3);
	proc_cancel(p2);
	assert_int_equal(r2.count, 0);		/* deferred */
	proc_cancel(p1);
	assert_int_equal(r1.count, 0);
	run(c);
	assert_true(rackd_now_ms() - t0 < 5000);
	assert_true(r2.res.cancelled);
	assert_int_equal(r2.res.pid, 0);
	assert_false(r2.res.exited);
	assert_string_equal(r2.out, "");
	assert_true(r1.res.cancelled);
	assert_int_equal(r1.res.signal, SIGKILL);
	assert_false(r3.res.cancelled);
	assert_string_equal(r3.out, "third\n");
	rec_clear(&r1);
	rec_clear(&r2);
	rec_clear(&r3);
}

static void
test_runner_free(void **state)
{
	struct ctx *c = *state;
	char mark[] = "/tmp/rackd-test-proc.XXXXXX", buf[32];
	struct proc_spec s1 = { .path = "/bin/sh", .argv = ARGV("sh", "-c",
	    "sleep 30 & echo $! >\"$0.tmp\"; mv \"$0.tmp\" \"$0\"; wait",
	    mark) };
	struct proc_spec s2 = { .path = "/bin/sleep", .argv = ARGV("sleep",
	    "30") };
	struct rec r1 = { 0 }, r2 = { 0 }, r3 = { 0 };
	uint64_t until;
	ssize_t n;
	int fd;

	fd = mkstemp(mark);
	assert_true(fd >= 0);
	close(fd);
	unlink(mark);
	proc_runner_set_max(c->r, 2);
	start(c, &r1, &s1);
	start(c, &r2, &s2);
	start(c, &r3, &s2);		/* queued */
	/* Wait (looping) until the shell has written its child's pid. */
	until = rackd_now_ms() + WATCHDOG_MS;
	while ((fd = open(mark, O_RDONLY)) == -1) {
		struct timeval tv = { 0, 20000 };

		assert_true(rackd_now_ms() < until);
		event_base_loopexit(c->base, &tv);
		event_base_dispatch(c->base);
	}
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	unlink(mark);
	assert_true(n > 0);
	buf[n] = '\0';

	proc_runner_free(c->r);
	c->r = NULL;
	assert_int_equal(r1.count, 1);
	assert_int_equal(r2.count, 1);
	assert_int_equal(r3.count, 1);
	assert_true(r1.res.cancelled);
	assert_true(r2.res.cancelled);
	assert_true(r3.res.cancelled);
	assert_int_equal(r1.res.signal, SIGKILL);
	assert_int_equal(r2.res.signal, SIGKILL);
	assert_int_equal(r3.res.pid, 0);
	/* Reaped: no zombies of ours left. */
	errno = 0;
	assert_int_equal(waitpid(r1.res.pid, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	assert_int_equal(waitpid(r2.res.pid, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	assert_true(pid_gone(first_pid(buf)));
	rec_clear(&r1);
	rec_clear(&r2);
	rec_clear(&r3);
}

static void
test_argv_copied(void **state)
{
	struct ctx *c = *state;
	struct proc_spec spec = { .path = NULL };
	struct proc_spec chained = { .path = "/bin/echo",
	    .argv = ARGV("echo", "chained") };
	struct rec r1 = { 0 }, r2 = { 0 }, r3 = { 0 };
	char **argv, *path;

	proc_runner_set_max(c->r, 1);
	/* The first holds the only slot so the second is copied while
	 * queued, and spawned after its strings are gone. */
	path = xstrdup("/bin/echo");
	argv = xcalloc(3, sizeof *argv);
	argv[0] = xstrdup("echo");
	argv[1] = xstrdup("first");
	spec.path = path;
	spec.argv = argv;
	r1.chain = &chained;		/* started from inside r1's cb */
	r1.chain_rec = &r3;
	start(c, &r1, &spec);
	free(argv[1]);
	argv[1] = xstrdup("second");
	start(c, &r2, &spec);
	argv[1][0] = 'X';
	path[1] = 'X';
	free(argv[0]);
	free(argv[1]);
	free(argv);
	free(path);
	run(c);
	assert_string_equal(r1.out, "first\n");
	assert_string_equal(r2.out, "second\n");
	assert_int_equal(r3.count, 1);
	assert_string_equal(r3.out, "chained\n");
	rec_clear(&r1);
	rec_clear(&r2);
	rec_clear(&r3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_echo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exit_status_and_stderr,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_output_cap, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_deadline, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_process_group, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_more_inputs_new_session,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_spec, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_no_inherited_fds, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_environment, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_exec_failure, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bounded, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_runner_free, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_argv_copied, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
