/*
 * proc.c — the daemon's one child-process runner (see proc.h).
 *
 * Life of a proc:
 *
 *   waiting  -- queued FIFO until the runner has a free slot;
 *   running  -- forked and exec'd; stdout/stderr are read from the event
 *               loop, the deadline timer may kill the group, SIGCHLD (or
 *               the 1 s safety timer) reaps it with waitpid(pid, WNOHANG);
 *   done     -- reaped and both pipes closed; the slot is free and the
 *               callback is pending on the runner's deferred event, so it
 *               never runs inside proc_start() or in the middle of a walk
 *               over the running list.
 *
 * Spawning uses plain fork(): the child only makes async-signal-safe
 * system calls before execve(), so it is safe even if some library has
 * started threads.  All signals are blocked across fork() so no handler of
 * ours (libevent's SIGCHLD handler writes to its own socketpair) can run
 * in the child before dispositions are reset.  Whether execve() worked is
 * learnt from a CLOEXEC status pipe: EOF means it did, an int is the
 * errno of the failure.  The parent blocks on that pipe only for the
 * fork-to-exec window, as posix_spawn() would.
 *
 * Signals: each runner owns one libevent SIGCHLD event on its base; that is
 * the only process-wide state.  Only one event_base can receive a given
 * signal, so the safety timer also covers a second base (and coalesced or
 * lost SIGCHLDs).  waitpid() is only ever called on our own pids: other
 * code may own children too.
 */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/queue.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "proc.h"
#include "rackd.h"
#include "xmalloc.h"

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT			47
#endif
#ifndef PR_CAP_AMBIENT_CLEAR_ALL
#define PR_CAP_AMBIENT_CLEAR_ALL	4
#endif

#define PROC_INPUT_MAX		4096
#define PROC_INPUTS_MAX		(1 + PROC_MORE_INPUTS_MAX)
#define PROC_INPUT_FD_MAX	1023
#define PROC_OUTPUT_DEFAULT	(64 * 1024)
#define PROC_GRACE_DEFAULT	500
#define PROC_SAFETY_MS		1000
#define PROC_READ_CHUNK		16384
#define PROC_READS_PER_WAKE	8	/* then let other events run */

enum proc_state {
	PROC_WAITING,
	PROC_RUNNING,
	PROC_DONE
};

struct proc_stream {
	int		 fd;		/* -1 once EOF/closed */
	struct event	*ev;
	char		*buf;		/* NUL-terminated, NULL until data */
	size_t		 len;
	size_t		 size;
};

/* One input pipe: bytes (wiped and freed once written), child fd. */
struct proc_in {
	unsigned char	*data;
	size_t		 len;
	int		 fd;
};

struct proc {
	TAILQ_ENTRY(proc) entry;
	struct proc_runner *runner;
	enum proc_state	 state;

	/* Copied from the spec. */
	char		*path;
	char		**argv;
	char		**envp;
	struct proc_in	 in[PROC_INPUTS_MAX];
	int		 nin;
	bool		 new_session;
	int		 timeout_ms;
	int		 grace_ms;
	size_t		 output_max;
	bool		 keep_caps;

	proc_done_cb	 cb;
	void		*arg;

	pid_t		 pid;		/* also the process group id */
	bool		 reaped;
	bool		 lost;		/* reaped by someone else: no status */
	int		 wstatus;
	int		 spawn_error;
	bool		 timed_out;
	bool		 cancelled;
	bool		 truncated;
	bool		 term_sent;	/* deadline fired, SIGKILL is next */
	uint64_t	 start_ms;
	uint64_t	 end_ms;

	struct proc_stream out;
	struct proc_stream err;
	struct event	*ev_deadline;	/* deadline, then the kill grace */
	struct event	*ev_drain;	/* reaped, pipes still held open */
};

TAILQ_HEAD(proc_list, proc);

struct proc_runner {
	struct event_base *base;
	int		 max_running;
	int		 nrunning;
	bool		 freeing;
	struct proc_list waiting;
	struct proc_list running;
	struct proc_list done;		/* callbacks pending */
	struct event	*ev_sigchld;
	struct event	*ev_safety;
	struct event	*ev_done;
	long		 open_max;	/* for the no-close_range fallback */
};

static const char *const proc_default_env[] = {
	"LC_ALL=C",
	"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
	NULL
};

static void	proc_pump(struct proc_runner *);
static void	proc_check(struct proc *);
static void	proc_try_reap(struct proc *);

static void
ms_to_tv(int ms, struct timeval *tv)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
}

static char **
strv_copy(char *const *v, bool drop_notify)
{
	char **c;
	size_t n, i, j;

	for (n = 0; v[n] != NULL; n++)
		;
	c = xcalloc(n + 1, sizeof *c);
	for (i = j = 0; i < n; i++) {
		/* systemd's socket is ours alone: a child must never notify. */
		if (drop_notify && strncmp(v[i], "NOTIFY_SOCKET=", 14) == 0)
			continue;
		c[j++] = xstrdup(v[i]);
	}
	c[j] = NULL;
	return c;
}

static void
proc_wipe_input(struct proc *p)
{
	int i;

	for (i = 0; i < p->nin; i++) {
		if (p->in[i].data == NULL)
			continue;
		xwipe(p->in[i].data, p->in[i].len);
		free(p->in[i].data);
		p->in[i].data = NULL;
	}
}

/* The input whose child descriptor is fd, or -1. */
static int
proc_input_at(const struct proc *p, int fd)
{
	int i;

	for (i = 0; i < p->nin; i++)
		if (p->in[i].fd == fd)
			return i;
	return -1;
}

static void
stream_close(struct proc_stream *s)
{
	if (s->ev != NULL) {
		event_free(s->ev);
		s->ev = NULL;
	}
	if (s->fd != -1) {
		close(s->fd);
		s->fd = -1;
	}
}

static void
proc_free(struct proc *p)
{
	stream_close(&p->out);
	stream_close(&p->err);
	if (p->ev_deadline != NULL)
		event_free(p->ev_deadline);
	if (p->ev_drain != NULL)
		event_free(p->ev_drain);
	proc_wipe_input(p);
	free(p->out.buf);
	free(p->err.buf);
	free(p->path);
	xstrv_free(p->argv);
	xstrv_free(p->envp);
	free(p);
}

/* Signal the child's whole group; the group outlives a reaped leader
 * while a grandchild is in it, and its id cannot be reused until then. */
static void
proc_kill(struct proc *p, int sig)
{
	if (p->pid <= 0)
		return;
	if (kill(-p->pid, sig) == -1 && errno != ESRCH)
		log_warn("proc: kill(-%ld, %d)", (long)p->pid, sig);
}

static void
proc_record_status(struct proc *p, int st)
{
	p->reaped = true;
	p->wstatus = st;
	p->end_ms = rackd_now_ms();
}

/*
 * Move a proc to the done list and schedule its callback.  Frees its
 * running slot (the caller pumps the queue).
 */
static void
proc_to_done(struct proc *p)
{
	struct proc_runner *r = p->runner;

	if (p->state == PROC_WAITING)
		TAILQ_REMOVE(&r->waiting, p, entry);
	else if (p->state == PROC_RUNNING) {
		TAILQ_REMOVE(&r->running, p, entry);
		r->nrunning--;
	}
	p->state = PROC_DONE;
	if (p->ev_deadline != NULL)
		event_del(p->ev_deadline);
	if (p->ev_drain != NULL)
		event_del(p->ev_drain);
	proc_wipe_input(p);
	TAILQ_INSERT_TAIL(&r->done, p, entry);
	if (r->nrunning == 0 && r->ev_safety != NULL)
		event_del(r->ev_safety);
	if (r->ev_done != NULL)
		event_active(r->ev_done, EV_TIMEOUT, 0);
}

/* Read what is there now; on EOF or a real error close the stream. */
static void
stream_read(struct proc *p, struct proc_stream *s)
{
	char tmp[PROC_READ_CHUNK];
	ssize_t n;
	size_t take, want;
	int i;

	for (i = 0; i < PROC_READS_PER_WAKE && s->fd != -1; i++) {
		n = read(s->fd, tmp, sizeof tmp);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			log_warn("proc: read from pid %ld", (long)p->pid);
			stream_close(s);
			break;
		}
		if (n == 0) {
			stream_close(s);
			break;
		}
		take = (size_t)n;
		if (s->len + take > p->output_max) {
			/* Keep reading and dropping so the child never blocks. */
			take = p->output_max - s->len;
			p->truncated = true;
		}
		if (take == 0)
			continue;
		want = s->len + take + 1;
		if (want > s->size) {
			s->size = s->size ? s->size : 1024;
			while (s->size < want)
				s->size *= 2;
			if (s->size > p->output_max + 1)
				s->size = p->output_max + 1;
			s->buf = xrealloc(s->buf, s->size);
		}
		memcpy(s->buf + s->len, tmp, take);
		s->len += take;
		s->buf[s->len] = '\0';
	}
}

/* Keep whatever output is already in the pipes, then close them. */
static void
proc_drain_close(struct proc *p)
{
	if (p->out.fd != -1)
		stream_read(p, &p->out);
	if (p->err.fd != -1)
		stream_read(p, &p->err);
	stream_close(&p->out);
	stream_close(&p->err);
}

static void
proc_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proc *p = arg;

	if (p->out.fd == fd)
		stream_read(p, &p->out);
	else if (p->err.fd == fd)
		stream_read(p, &p->err);
	if (p->out.fd == -1 && p->err.fd == -1 && !p->reaped)
		proc_try_reap(p);	/* EOF often means it just exited */
	proc_check(p);
}

static void
proc_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proc *p = arg;
	struct timeval tv;

	if (!p->term_sent) {
		log_debug("proc: pid %ld (%s) timed out after %d ms",
		    (long)p->pid, p->path, p->timeout_ms);
		p->timed_out = true;
		p->term_sent = true;
		proc_kill(p, SIGTERM);
		ms_to_tv(p->grace_ms, &tv);
		evtimer_add(p->ev_deadline, &tv);
		return;
	}
	log_debug("proc: pid %ld (%s) ignored SIGTERM, killing",
	    (long)p->pid, p->path);
	proc_kill(p, SIGKILL);
}

/*
 * The child is gone but something (a grandchild) still holds its pipes:
 * kill what is left of the group and stop waiting for EOF.
 */
static void
proc_drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proc *p = arg;

	log_debug("proc: pid %ld (%s) exited but its pipes stay open; "
	    "killing the group", (long)p->pid, p->path);
	proc_kill(p, SIGKILL);
	proc_drain_close(p);
	proc_check(p);
}

/* Finish a running proc when it is reaped and drained; arm the drain
 * timer when it is reaped but its pipes are still open. */
static void
proc_check(struct proc *p)
{
	struct timeval tv;

	if (p->state != PROC_RUNNING || !p->reaped)
		return;
	if (p->out.fd == -1 && p->err.fd == -1) {
		proc_to_done(p);
		proc_pump(p->runner);
		return;
	}
	event_del(p->ev_deadline);	/* the drain timer takes over */
	if (!evtimer_pending(p->ev_drain, NULL)) {
		ms_to_tv(p->grace_ms, &tv);
		evtimer_add(p->ev_drain, &tv);
	}
}

static void
proc_try_reap(struct proc *p)
{
	pid_t w;
	int st;

	if (p->reaped || p->pid <= 0)
		return;
	do
		w = waitpid(p->pid, &st, WNOHANG);
	while (w == -1 && errno == EINTR);
	if (w == p->pid)
		proc_record_status(p, st);
	else if (w == -1) {
		/* Someone else reaped it (SIGCHLD set to SIG_IGN?): give up
		 * on the status rather than wait forever. */
		log_warn("proc: waitpid(%ld)", (long)p->pid);
		proc_record_status(p, 0);
		p->lost = true;
	}
}

static void
proc_reap_all(struct proc_runner *r)
{
	struct proc *p, *next;

	/* proc_check() may move p (never another proc) to the done list. */
	for (p = TAILQ_FIRST(&r->running); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (p->reaped)
			continue;
		proc_try_reap(p);
		if (p->reaped)
			proc_check(p);
	}
}

static void
proc_sigchld_cb(evutil_socket_t sig, short what, void *arg)
{
	proc_reap_all(arg);
}

static void
proc_safety_cb(evutil_socket_t fd, short what, void *arg)
{
	proc_reap_all(arg);
}

static void
proc_fill_result(struct proc *p, struct proc_result *res)
{
	memset(res, 0, sizeof *res);
	res->spawn_error = p->spawn_error;
	if (p->reaped && !p->lost && p->spawn_error == 0) {
		if (WIFEXITED(p->wstatus)) {
			res->exited = true;
			res->exit_status = WEXITSTATUS(p->wstatus);
		} else if (WIFSIGNALED(p->wstatus))
			res->signal = WTERMSIG(p->wstatus);
	}
	res->timed_out = p->timed_out;
	res->cancelled = p->cancelled;
	res->out = p->out.buf != NULL ? p->out.buf : "";
	res->out_len = p->out.len;
	res->err = p->err.buf != NULL ? p->err.buf : "";
	res->err_len = p->err.len;
	res->truncated = p->truncated;
	if (p->start_ms != 0 && p->end_ms >= p->start_ms)
		res->elapsed_ms = p->end_ms - p->start_ms;
	res->pid = p->pid > 0 ? (int)p->pid : 0;
}

/* Run every pending callback.  A callback may start or cancel procs; new
 * completions are appended and handled in the same pass. */
static void
proc_run_done(struct proc_runner *r)
{
	struct proc_result res;
	struct proc *p;

	while ((p = TAILQ_FIRST(&r->done)) != NULL) {
		TAILQ_REMOVE(&r->done, p, entry);
		proc_fill_result(p, &res);
		if (p->cb != NULL)
			p->cb(&res, p->arg);
		proc_free(p);
	}
}

static void
proc_done_cb_ev(evutil_socket_t fd, short what, void *arg)
{
	proc_run_done(arg);
}

/* --- the child side --------------------------------------------------- */

static void
child_fail(int status_fd, int e)
{
	ssize_t n;

	do
		n = write(status_fd, &e, sizeof e);
	while (n == -1 && errno == EINTR);
	_exit(127);
}

/* Move fd to >= base unless it already is (dup2 targets live below). */
static int
child_lift(int fd, int base, int status_fd)
{
	int nfd;

	if (fd >= base)
		return fd;
	if ((nfd = fcntl(fd, F_DUPFD_CLOEXEC, base)) == -1)
		child_fail(status_fd, errno);
	return nfd;
}

static void
child_close_range(unsigned int lo, unsigned int hi, long open_max)
{
	long fd;

	if (lo > hi)
		return;
#ifdef SYS_close_range
	if (syscall(SYS_close_range, lo, hi, 0) == 0)
		return;
#endif
	for (fd = lo; fd <= (long)hi && fd < open_max; fd++)
		close((int)fd);
}

/* Never returns.  Only async-signal-safe calls from here to execve().
 * in_r[i] is the read end of p->in[i]'s pipe. */
static void
child_exec(struct proc *p, int *in_r, int nul, int out_w, int err_w,
    int status_w)
{
	struct sigaction sa;
	sigset_t none;
	int sig, base, stdin_src, i, j, keep[PROC_INPUTS_MAX], nkeep, t;
	unsigned int lo;

	/* A session of its own has no controlling terminal: a prompt reads
	 * stdin.  Either way the child leads its own process group. */
	if (p->new_session) {
		if (setsid() == -1)
			child_fail(status_w, errno);
	} else if (setpgid(0, 0) == -1)
		child_fail(status_w, errno);

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &sa, NULL);	/* EINVAL for KILL etc. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	/*
	 * Lift every descriptor we need above 0-2 and the input descriptors,
	 * so the dup2() calls below cannot clobber one another; the lifted
	 * copies are CLOEXEC and are closed below anyway.
	 */
	base = 3;
	for (i = 0; i < p->nin; i++)
		if (p->in[i].fd >= base)
			base = p->in[i].fd + 1;
	status_w = child_lift(status_w, base, status_w);
	out_w = child_lift(out_w, base, status_w);
	err_w = child_lift(err_w, base, status_w);
	for (i = 0; i < p->nin; i++)
		in_r[i] = child_lift(in_r[i], base, status_w);
	if (nul != -1)
		nul = child_lift(nul, base, status_w);

	i = proc_input_at(p, 0);
	stdin_src = i >= 0 ? in_r[i] : nul;
	if (dup2(stdin_src, STDIN_FILENO) == -1 ||
	    dup2(out_w, STDOUT_FILENO) == -1 ||
	    dup2(err_w, STDERR_FILENO) == -1)
		child_fail(status_w, errno);
	nkeep = 0;
	for (i = 0; i < p->nin; i++) {
		if (p->in[i].fd < 3)
			continue;
		if (dup2(in_r[i], p->in[i].fd) == -1)
			child_fail(status_w, errno);
		keep[nkeep++] = p->in[i].fd;
	}
	/* Sorted, to close the gaps between them. */
	for (i = 1; i < nkeep; i++)
		for (j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			t = keep[j];
			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}

	/* Close everything from 3 up except the input descriptors and the
	 * status pipe (status_w > every input fd; exec closes it). */
	lo = 3;
	for (i = 0; i < nkeep; i++) {
		if ((unsigned int)keep[i] > lo)
			child_close_range(lo, (unsigned int)keep[i] - 1,
			    p->runner->open_max);
		lo = (unsigned int)keep[i] + 1;
	}
	if ((unsigned int)status_w > lo)
		child_close_range(lo, (unsigned int)status_w - 1,
		    p->runner->open_max);
	child_close_range((unsigned int)status_w + 1, ~0U,
	    p->runner->open_max);

	if (!p->keep_caps &&
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1 &&
	    errno != EINVAL)
		child_fail(status_w, errno);

	execve(p->path, p->argv, p->envp);
	child_fail(status_w, errno);
}

/* --- the parent side -------------------------------------------------- */

static void
close_fd(int *fd)
{
	if (*fd != -1) {
		close(*fd);
		*fd = -1;
	}
}

static int
read_status(int fd)
{
	ssize_t n;
	int e = 0;

	do
		n = read(fd, &e, sizeof e);
	while (n == -1 && errno == EINTR);
	if (n == (ssize_t)sizeof e)
		return e ? e : EIO;
	if (n == -1)
		return errno;
	return 0;		/* EOF: execve() closed the pipe */
}

/* Write the input into a fresh pipe; only the read end is returned.  It
 * fits in the pipe buffer (<= PIPE_BUF), so the write never blocks. */
static int
make_input_pipe(const struct proc_in *in, int *in_r)
{
	int fds[2];
	ssize_t n;

	if (pipe2(fds, O_CLOEXEC) == -1)
		return errno;
	if (in->len > 0) {
		do
			n = write(fds[1], in->data, in->len);
		while (n == -1 && errno == EINTR);
		if (n != (ssize_t)in->len) {
			int e = n == -1 ? errno : EIO;

			close(fds[0]);
			close(fds[1]);
			return e;
		}
	}
	close(fds[1]);
	*in_r = fds[0];
	return 0;
}

static void
proc_spawn_failed(struct proc *p, int e)
{
	log_warnx("proc: cannot run %s: %s", p->path, strerror(e));
	p->spawn_error = e;
	proc_to_done(p);
}

/* Start p (taken off the waiting list by the caller, state WAITING). */
static void
proc_spawn(struct proc *p)
{
	struct proc_runner *r = p->runner;
	int in_r[PROC_INPUTS_MAX], nul = -1, outp[2] = { -1, -1 };
	int errp[2] = { -1, -1 }, stp[2] = { -1, -1 }, e = 0, st, i;
	sigset_t all, old;
	struct timeval tv;
	pid_t pid, w;

	for (i = 0; i < PROC_INPUTS_MAX; i++)
		in_r[i] = -1;
	for (i = 0; i < p->nin; i++)
		if ((e = make_input_pipe(&p->in[i], &in_r[i])) != 0)
			goto fail;
	proc_wipe_input(p);	/* it is in the pipes now */
	if (proc_input_at(p, 0) < 0 &&
	    (nul = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1)
		goto fail_errno;
	if (pipe2(outp, O_CLOEXEC) == -1 || pipe2(errp, O_CLOEXEC) == -1 ||
	    pipe2(stp, O_CLOEXEC) == -1)
		goto fail_errno;
	/* Only our ends are non-blocking: the child's stdout stays normal. */
	if (fcntl(outp[0], F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(errp[0], F_SETFL, O_NONBLOCK) == -1)
		goto fail_errno;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0)
		child_exec(p, in_r, nul, outp[1], errp[1], stp[1]);
	e = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid == -1)
		goto fail;

	/* Both sides set the group so a kill right after this is safe;
	 * EACCES means the child has exec'd, after its own setpgid().  A
	 * new session is the child's alone to make (setsid() fails in a
	 * group leader); the status read below waits for it. */
	if (!p->new_session && setpgid(pid, pid) == -1 && errno != EACCES &&
	    errno != ESRCH)
		log_warn("proc: setpgid(%ld)", (long)pid);

	p->pid = pid;
	p->start_ms = rackd_now_ms();
	for (i = 0; i < p->nin; i++)
		close_fd(&in_r[i]);
	close_fd(&nul);
	close_fd(&outp[1]);
	close_fd(&errp[1]);
	close_fd(&stp[1]);
	e = read_status(stp[0]);
	close_fd(&stp[0]);
	if (e != 0) {
		/* The child is about to _exit(127): reap it here. */
		do
			w = waitpid(pid, &st, 0);
		while (w == -1 && errno == EINTR);
		p->reaped = true;
		p->end_ms = rackd_now_ms();
		close_fd(&outp[0]);
		close_fd(&errp[0]);
		proc_spawn_failed(p, e);
		return;
	}

	log_debug("proc: started %s as pid %ld", p->path, (long)pid);
	p->out.fd = outp[0];
	p->err.fd = errp[0];
	p->out.ev = event_new(r->base, p->out.fd, EV_READ | EV_PERSIST,
	    proc_read_cb, p);
	p->err.ev = event_new(r->base, p->err.fd, EV_READ | EV_PERSIST,
	    proc_read_cb, p);
	if (p->out.ev == NULL || p->err.ev == NULL)
		fatalx("proc: event_new");
	event_add(p->out.ev, NULL);
	event_add(p->err.ev, NULL);

	p->state = PROC_RUNNING;
	TAILQ_INSERT_TAIL(&r->running, p, entry);
	r->nrunning++;
	if (p->timeout_ms > 0) {
		ms_to_tv(p->timeout_ms, &tv);
		evtimer_add(p->ev_deadline, &tv);
	}
	if (!evtimer_pending(r->ev_safety, NULL)) {
		ms_to_tv(PROC_SAFETY_MS, &tv);
		evtimer_add(r->ev_safety, &tv);
	}
	return;

fail_errno:
	e = errno;
fail:
	for (i = 0; i < p->nin; i++)
		close_fd(&in_r[i]);
	close_fd(&nul);
	close_fd(&outp[0]);
	close_fd(&outp[1]);
	close_fd(&errp[0]);
	close_fd(&errp[1]);
	close_fd(&stp[0]);
	close_fd(&stp[1]);
	proc_spawn_failed(p, e);
}

/* Start waiting procs while there are free slots. */
static void
proc_pump(struct proc_runner *r)
{
	struct proc *p;

	while (!r->freeing && r->nrunning < r->max_running &&
	    (p = TAILQ_FIRST(&r->waiting)) != NULL) {
		TAILQ_REMOVE(&r->waiting, p, entry);
		proc_spawn(p);
	}
}

/* --- public ----------------------------------------------------------- */

/* The runner is owned by the caller (proc_runner_free); base is borrowed
 * and must outlive it. */
struct proc_runner *
proc_runner_new(struct event_base *base, int max_running)
{
	struct proc_runner *r;
	long om;

	r = xcalloc(1, sizeof *r);
	r->base = base;
	r->max_running = max_running < 1 ? 1 : max_running;
	TAILQ_INIT(&r->waiting);
	TAILQ_INIT(&r->running);
	TAILQ_INIT(&r->done);
	om = sysconf(_SC_OPEN_MAX);
	r->open_max = om > 0 ? om : 1024;

	r->ev_sigchld = evsignal_new(base, SIGCHLD, proc_sigchld_cb, r);
	r->ev_safety = event_new(base, -1, EV_PERSIST, proc_safety_cb, r);
	r->ev_done = evtimer_new(base, proc_done_cb_ev, r);
	if (r->ev_sigchld == NULL || r->ev_safety == NULL || r->ev_done == NULL)
		fatalx("proc: event_new");
	if (event_add(r->ev_sigchld, NULL) == -1)
		log_warnx("proc: cannot watch SIGCHLD; reaping on a timer");
	return r;
}

void
proc_runner_set_max(struct proc_runner *r, int max_running)
{
	r->max_running = max_running < 1 ? 1 : max_running;
	proc_pump(r);
}

void
proc_runner_counts(const struct proc_runner *r, int *running, int *waiting)
{
	const struct proc *p;
	int n = 0;

	TAILQ_FOREACH(p, &r->waiting, entry)
		n++;
	if (running != NULL)
		*running = r->nrunning;
	if (waiting != NULL)
		*waiting = n;
}

/*
 * Must not be called from a proc callback of this runner.  Callbacks run
 * from here may call proc_cancel(); proc_start() fails while freeing.
 */
void
proc_runner_free(struct proc_runner *r)
{
	struct proc *p;
	pid_t w;
	int st;

	if (r == NULL)
		return;
	r->freeing = true;
	for (;;) {
		while ((p = TAILQ_FIRST(&r->waiting)) != NULL) {
			p->cancelled = true;
			proc_to_done(p);
		}
		TAILQ_FOREACH(p, &r->running, entry)
			proc_kill(p, SIGKILL);
		while ((p = TAILQ_FIRST(&r->running)) != NULL) {
			p->cancelled = true;
			if (!p->reaped) {
				do
					w = waitpid(p->pid, &st, 0);
				while (w == -1 && errno == EINTR);
				proc_record_status(p, w == p->pid ? st : 0);
				p->lost = w != p->pid;
			}
			proc_drain_close(p);
			proc_to_done(p);
		}
		if (TAILQ_EMPTY(&r->done))
			break;
		proc_run_done(r);
	}
	event_free(r->ev_sigchld);
	event_free(r->ev_safety);
	event_free(r->ev_done);
	free(r);
}

/*
 * Copies everything in spec (path, argv, envp, input); the caller's
 * strings may be freed or changed as soon as this returns.  The returned
 * handle belongs to the runner and dies right after cb returns.
 */
struct proc *
proc_start(struct proc_runner *r, const struct proc_spec *spec,
    proc_done_cb cb, void *arg, char **cause)
{
	struct proc *p;
	struct proc_input ins[PROC_INPUTS_MAX];
	bool has_input = spec->input != NULL;
	size_t nin, i, j;

	if (r->freeing) {
		xasprintf(cause, "proc runner is shutting down");
		return NULL;
	}
	if (spec->path == NULL || spec->path[0] != '/') {
		xasprintf(cause, "program path %s is not absolute",
		    spec->path != NULL ? spec->path : "(null)");
		return NULL;
	}
	if (spec->argv == NULL || spec->argv[0] == NULL) {
		xasprintf(cause, "%s: empty argv", spec->path);
		return NULL;
	}
	if (spec->n_more_inputs > PROC_MORE_INPUTS_MAX ||
	    (spec->n_more_inputs > 0 && spec->more_inputs == NULL)) {
		xasprintf(cause, "%s: %zu more inputs (at most %d)",
		    spec->path, spec->n_more_inputs, PROC_MORE_INPUTS_MAX);
		return NULL;
	}
	nin = 0;
	if (has_input) {
		ins[nin].data = spec->input;
		ins[nin].len = spec->input_len;
		ins[nin++].fd = spec->input_fd;
	}
	for (i = 0; i < spec->n_more_inputs; i++)
		ins[nin++] = spec->more_inputs[i];
	for (i = 0; i < nin; i++) {
		if (ins[i].len > PROC_INPUT_MAX || (ins[i].data == NULL &&
		    ins[i].len > 0)) {
			xasprintf(cause, "%s: input of %zu bytes is over %d",
			    spec->path, ins[i].len, PROC_INPUT_MAX);
			return NULL;
		}
		if (ins[i].fd != 0 &&
		    (ins[i].fd < 3 || ins[i].fd > PROC_INPUT_FD_MAX)) {
			xasprintf(cause, "%s: input descriptor %d is not 0 or "
			    "3-%d", spec->path, ins[i].fd, PROC_INPUT_FD_MAX);
			return NULL;
		}
		for (j = 0; j < i; j++)
			if (ins[j].fd == ins[i].fd) {
				xasprintf(cause, "%s: two inputs on descriptor "
				    "%d", spec->path, ins[i].fd);
				return NULL;
			}
	}

	p = xcalloc(1, sizeof *p);
	p->runner = r;
	p->state = PROC_WAITING;
	p->path = xstrdup(spec->path);
	p->argv = strv_copy(spec->argv, false);
	p->envp = strv_copy(spec->envp != NULL ? spec->envp :
	    (char *const *)proc_default_env, true);
	p->nin = (int)nin;
	for (i = 0; i < nin; i++) {
		p->in[i].len = ins[i].len;
		p->in[i].fd = ins[i].fd;
		p->in[i].data = xmalloc(ins[i].len ? ins[i].len : 1);
		if (ins[i].len > 0)
			memcpy(p->in[i].data, ins[i].data, ins[i].len);
	}
	p->new_session = spec->new_session;
	p->timeout_ms = spec->timeout_ms > 0 ? spec->timeout_ms : 0;
	p->grace_ms = spec->kill_grace_ms > 0 ? spec->kill_grace_ms :
	    PROC_GRACE_DEFAULT;
	p->output_max = spec->output_max > 0 ? spec->output_max :
	    PROC_OUTPUT_DEFAULT;
	p->keep_caps = spec->keep_caps;
	p->cb = cb;
	p->arg = arg;
	p->pid = -1;
	p->out.fd = p->err.fd = -1;
	p->ev_deadline = evtimer_new(r->base, proc_deadline_cb, p);
	p->ev_drain = evtimer_new(r->base, proc_drain_cb, p);
	if (p->ev_deadline == NULL || p->ev_drain == NULL)
		fatalx("proc: evtimer_new");

	TAILQ_INSERT_TAIL(&r->waiting, p, entry);
	proc_pump(r);
	return p;
}

/* p must be a live handle (its callback not yet returned). */
void
proc_cancel(struct proc *p)
{
	if (p == NULL)
		return;
	switch (p->state) {
	case PROC_WAITING:
		p->cancelled = true;
		proc_to_done(p);
		break;
	case PROC_RUNNING:
		p->cancelled = true;
		event_del(p->ev_deadline);
		proc_kill(p, SIGKILL);
		break;
	case PROC_DONE:
		break;		/* finished already; its result stands */
	}
}
