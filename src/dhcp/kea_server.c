/*
 * kea_server.c — one supervised Kea server process (see kea.h).
 *
 * Pieces:
 *   process   ks_start() spawns "<binary> -c <config>" through proc (own
 *             process group, ambient capabilities kept, per-instance pid
 *             and lock dirs) and polls status-get until the control
 *             socket answers; ks_halt() sends SIGTERM and, after
 *             stop_timeout_ms, SIGKILL to the group.  Either finishes
 *             through a continuation, so the jobs below read as steps.
 *   jobs      applies, supervised restarts and stops run one at a time
 *             (ks->job); kea_server_apply() and kea_server_stop() only
 *             queue and kick a zero-delay timer, so no callback ever runs
 *             inside a public call.
 *   apply     D.6: canonicalise and skip when unchanged; kea_check_ha();
 *             write <config>.new (0640) and run "-t" on it; then either
 *             start the process with it, or reconfigure the running one
 *             (config-set, or stop + start, per opts.reconfig); verify
 *             with status-get.  The on-disk <config> only ever holds a
 *             config that -t accepted, and it is restored to the last
 *             known-good one whenever a later step fails, so a crash
 *             restart never picks up a half-applied config.
 *   health    every poll_ms a status-get records sockets and HA state.
 *   restarts  an unexpected exit is logged and restarted with the last
 *             good config after a doubling backoff (reset once the
 *             process has stayed up stable_ms).
 *
 * Kea writes its pid file as <run_dir>/<config basename without
 * extension>.kea-dhcp4.pid and refuses to start while that pid is alive;
 * after a kill -9 the pid may have been reused, so the stale file is
 * removed before every start (we know our own child is gone).
 */
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "fileio.h"
#include "kea.h"
#include "kea_config.h"
#include "log.h"
#include "proc.h"
#include "rackd.h"
#include "xmalloc.h"

#define KS_BACKOFF_MIN		1000
#define KS_BACKOFF_MAX		30000
#define KS_STABLE_MS		60000
#define KS_POLL_MS		5000
#define KS_TEST_TIMEOUT		8000
#define KS_START_TIMEOUT	6000
#define KS_STOP_TIMEOUT		3000
#define KS_SET_TIMEOUT		5000	/* config-set (loads hooks): ~30 ms seen */
#define KS_PROBE_MS		50	/* socket poll while starting */
#define KS_PROBE_TIMEOUT	1000
#define KS_VERIFY_TIMEOUT	3000
#define KS_LOG_MAXSIZE		(10 * 1024 * 1024)
#define KS_LOG_MAXVER		2
#define KS_OUTPUT_MAX		(16 * 1024)

enum ks_proc {
	PS_NONE,		/* no child */
	PS_STARTING,		/* spawned, socket not yet answering */
	PS_UP,			/* answering */
	PS_STOPPING		/* SIGTERM sent */
};

enum ks_job {
	JOB_NONE,
	JOB_APPLY,
	JOB_RESTART,
	JOB_STOP
};

/* A proc whose callback may come after kea_server_free(). */
struct ks_child {
	struct kea_server *ks;		/* NULL once the server is gone */
	struct proc	*p;
	bool		 test;		/* kea -t, else the server */
};

struct ks_item {
	TAILQ_ENTRY(ks_item) entry;
	bool		 stop;		/* a stop request, else an apply */
	bool		 cancelled;	/* apply overtaken by a stop */

	/* apply */
	json_t		*config;	/* the caller's document, copied */
	json_t		*doc;		/* with our overrides */
	char		*canon;
	bool		 ha;		/* doc loads libdhcp_ha.so */
	bool		 via_restart;
	bool		 restarted;
	bool		 rolled_back;
	char		*error;
	uint64_t	 start_ms;
	kea_apply_cb	 cb;
	void		*arg;

	/* stop */
	void		(*done)(void *);
	void		*done_arg;
};
TAILQ_HEAD(ks_items, ks_item);

typedef void (*ks_start_cont)(struct kea_server *, bool, const char *);
typedef void (*ks_halt_cont)(struct kea_server *);

struct kea_server {
	struct event_base *base;
	struct proc_runner *runner;
	char		*name;
	int		 family;
	char		*binary;
	char		*config_path;
	char		*new_path;
	char		*good_path;
	char		*socket_path;
	char		*run_dir;
	char		*log_path;
	char		*pid_path;
	char		*env_pid;
	char		*env_lock;
	enum kea_reconfig reconfig;
	int		 backoff_min, backoff_max, stable_ms, poll_ms;
	int		 test_timeout, start_timeout, stop_timeout;
	kea_state_cb	 state_cb;
	void		*state_arg;

	enum ks_proc	 ps;
	struct ks_child	*child;
	struct ks_child	*test;
	bool		 want;		/* should be running */
	bool		 ha_cfg;	/* the running config loads HA */
	int		 pid;
	uint64_t	 up_since_ms;
	unsigned	 restarts;
	int		 backoff;
	bool		 restart_counts;	/* next restart is a crash restart */
	char		 last_error[256];
	off_t		 log_off;	/* log size when the process started */

	json_t		*good;		/* last known-good document */
	char		*applied;	/* canonical text of the last applied */

	ks_start_cont	 start_cont;
	ks_halt_cont	 halt_cont;
	uint64_t	 start_deadline;
	char		*start_error;
	struct kea_ctl	*probe;		/* start-up socket probe */
	struct kea_ctl	*ctl;		/* the job's request */
	struct kea_ctl	*poll;		/* health */
	struct kea_ctl	*halt_ctl;	/* "shutdown" when the pid is unknown */
	struct event	*ev_probe;
	struct event	*ev_stop;
	struct event	*ev_backoff;
	struct event	*ev_poll;
	struct event	*ev_kick;

	enum ks_job	 job;
	struct ks_item	*cur;
	struct ks_items	 queue;

	struct kea_server_status health;	/* poll fields only */
};

static void	ks_kick(struct kea_server *);
static void	ks_supervise(struct kea_server *);
static void	apply_rollback(struct kea_server *, char *);
static void	apply_finish(struct kea_server *, enum kea_apply_status);

/* --- small helpers --------------------------------------------------- */

static void
ms_tv(int ms, struct timeval *tv)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
}

static void
copy_str(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src != NULL ? src : "");
}

static const char *
jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static const char *
family_key(const struct kea_server *ks)
{
	return ks->family == 6 ? "Dhcp6" : "Dhcp4";
}

static const char *
prog(const struct kea_server *ks)
{
	return ks->family == 6 ? "kea-dhcp6" : "kea-dhcp4";
}

static void
ks_notify(struct kea_server *ks)
{
	struct kea_server_status st;

	if (ks->state_cb == NULL)
		return;
	kea_server_status(ks, &st);
	ks->state_cb(ks, &st, ks->state_arg);
}

static void
set_error(struct kea_server *ks, const char *e)
{
	copy_str(ks->last_error, sizeof(ks->last_error), e);
}

/* Configs are written atomically (fileio.h), mode 0640. */
static int
write_atomic(const char *path, const char *text, char **cause)
{
	return file_write_atomic(path, text, strlen(text), 0640, cause);
}

static int
write_doc(const char *path, const json_t *doc, char **cause)
{
	char *text;
	int rc;

	if ((text = json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS)) ==
	    NULL) {
		xasprintf(cause, "%s: cannot encode the config", path);
		return -1;
	}
	rc = write_atomic(path, text, cause);
	free(text);
	return rc;
}

static bool
doc_has_ha(const json_t *doc, const char *key)
{
	const json_t *h;
	const char *lib, *b;
	size_t i;

	json_array_foreach(json_object_get(json_object_get(doc, key),
	    "hooks-libraries"), i, h) {
		if ((lib = jstr(h, "library")) == NULL)
			continue;
		b = strrchr(lib, '/');
		b = b != NULL ? b + 1 : lib;
		if (strcmp(b, "libdhcp_ha.so") == 0)
			return true;
	}
	return false;
}

/*
 * The line of Kea's output that says what is wrong.  Kea logs
 * "<date> <time> ERROR [logger/pid.tid] DHCP4_PARSER_FAIL text": the
 * first ERROR or FATAL line, from the message id on, is the specific one
 * (later ones repeat it as "configuration error using file").  Without
 * one, its own "Syntax check failed with:" style lines, else the last
 * non-empty line.  Writes "" when there is nothing.
 */
static int
meaningful_line(const char *text, char *buf, size_t len)
{
	const char *p, *e, *s, *last = NULL, *plain = NULL;
	size_t lastlen = 0, plainlen = 0;

	buf[0] = '\0';
	if (text == NULL)
		return 0;
	for (p = text; *p != '\0'; p = *e != '\0' ? e + 1 : e) {
		if ((e = strchr(p, '\n')) == NULL)
			e = p + strlen(p);
		if (e == p)
			continue;
		if ((s = memmem(p, (size_t)(e - p), " ERROR ", 7)) != NULL ||
		    (s = memmem(p, (size_t)(e - p), " FATAL ", 7)) != NULL) {
			if ((s = memmem(s, (size_t)(e - s), "] ", 2)) != NULL)
				s += 2;
			else
				s = p;
			snprintf(buf, len, "%.*s", (int)(e - s), s);
			return 2;
		}
		if (plain == NULL && (strncmp(p, "Syntax check failed", 19) ==
		    0 || strncmp(p, "Error encountered", 17) == 0)) {
			plain = p;
			plainlen = (size_t)(e - p);
		}
		last = p;
		lastlen = (size_t)(e - p);
	}
	if (plain != NULL)
		snprintf(buf, len, "%.*s", (int)plainlen, plain);
	else if (last != NULL)
		snprintf(buf, len, "%.*s", (int)lastlen, last);
	return buf[0] != '\0';
}

/* The best line of a finished child's stdout and stderr. */
static int
output_line(const struct proc_result *r, char *buf, size_t len)
{
	char other[200];
	int q, q2;

	q = meaningful_line(r->out, buf, len);
	if (q == 2)
		return q;
	q2 = meaningful_line(r->err, other, sizeof(other));
	if (q2 == 2 || (q2 > 0 && q == 0)) {
		snprintf(buf, len, "%s", other);
		return q2;
	}
	return q;
}

/* The first ERROR/FATAL line Kea logged to its file since the start. */
static int
log_error_line(const struct kea_server *ks, char *buf, size_t len)
{
	char chunk[65536];
	ssize_t n;
	int fd;

	if (ks->log_path == NULL ||
	    (fd = open(ks->log_path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = pread(fd, chunk, sizeof(chunk) - 1, ks->log_off);
	close(fd);
	if (n <= 0)
		return 0;
	chunk[n] = '\0';
	if (strstr(chunk, " ERROR ") == NULL &&
	    strstr(chunk, " FATAL ") == NULL)
		return 0;
	return meaningful_line(chunk, buf, len);
}

/* True when pid is still our own child, so a signal cannot hit a
 * stranger that reused the number after the reap. */
static bool
our_child(int pid)
{
	char path[64], buf[512], *p;
	long ppid;
	FILE *f;

	if (pid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "re")) == NULL)
		return false;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	if (p == NULL || (p = strrchr(buf, ')')) == NULL)
		return false;
	if (sscanf(p + 1, " %*c %ld", &ppid) != 1)
		return false;
	return ppid == (long)getpid();
}

static void
health_clear(struct kea_server *ks)
{
	memset(&ks->health, 0, sizeof(ks->health));
}

/* Record one status-get answer (spec D.6 step 6, D.7). */
static void
health_record(struct kea_server *ks, const json_t *reply)
{
	struct kea_server_status *h = &ks->health;
	const json_t *a, *so, *ha, *srv, *loc, *rem, *pid;
	const char *state;
	uint64_t now = rackd_now_ms();
	bool intr;

	a = json_object_get(reply, "arguments");
	h->polled = true;
	h->poll_ok = true;
	h->poll_error[0] = '\0';
	h->polled_ms = now;
	if (json_is_integer(pid = json_object_get(a, "pid")))
		ks->pid = (int)json_integer_value(pid);
	so = json_object_get(a, "sockets");
	copy_str(h->sockets, sizeof(h->sockets), jstr(so, "status"));
	copy_str(h->socket_error, sizeof(h->socket_error),
	    json_string_value(json_array_get(json_object_get(so, "errors"),
	    0)));
	ha = json_array_get(json_object_get(a, "high-availability"), 0);
	h->ha_present = ha != NULL;
	copy_str(h->ha_mode, sizeof(h->ha_mode), jstr(ha, "ha-mode"));
	srv = json_object_get(ha, "ha-servers");
	loc = json_object_get(srv, "local");
	rem = json_object_get(srv, "remote");
	state = jstr(loc, "state");
	if (state == NULL)
		state = "";
	if (strcmp(state, h->ha_state) != 0 || h->ha_state_ms == 0) {
		/* The operator's view of a failover: one line per change. */
		if (strcmp(state, h->ha_state) != 0 && state[0] != '\0')
			log_info("kea %s: HA state %s -> %s (%s)", ks->name,
			    h->ha_state[0] != '\0' ? h->ha_state : "(start)",
			    state, jstr(loc, "role") != NULL ?
			    jstr(loc, "role") : "?");
		copy_str(h->ha_state, sizeof(h->ha_state), state);
		h->ha_state_ms = now;
	}
	copy_str(h->ha_role, sizeof(h->ha_role), jstr(loc, "role"));
	h->remote_in_touch = json_is_true(json_object_get(rem, "in-touch"));
	intr = json_is_true(json_object_get(rem,
	    "communication-interrupted"));
	if (intr && !h->remote_interrupted)
		h->remote_interrupted_ms = now;
	h->remote_interrupted = intr;
	copy_str(h->remote_state, sizeof(h->remote_state),
	    jstr(rem, "last-state"));
}

/* --- the server process ---------------------------------------------- */

static void	child_done(const struct proc_result *, void *);

static void
probe_arm(struct kea_server *ks, int ms)
{
	struct timeval tv;

	ms_tv(ms, &tv);
	evtimer_add(ks->ev_probe, &tv);
}

static void
start_probe_cb(int result, json_t *reply, const char *text, void *arg)
{
	struct kea_server *ks = arg;
	ks_start_cont cont;
	char *e;

	ks->probe = NULL;
	if (ks->ps != PS_STARTING)
		return;
	if (result == KEA_CTL_OK) {
		ks->ps = PS_UP;
		health_record(ks, reply);
		log_info("kea %s: %s running, pid %d", ks->name, prog(ks),
		    ks->pid);
		cont = ks->start_cont;
		ks->start_cont = NULL;
		ks_notify(ks);
		cont(ks, true, NULL);
		return;
	}
	if (rackd_now_ms() < ks->start_deadline) {
		probe_arm(ks, KS_PROBE_MS);
		return;
	}
	/* Never came up: the deadline path kills it, then continues. */
	xasprintf(&e, "%s did not answer on %s within %d ms (%s)", prog(ks),
	    ks->socket_path, ks->start_timeout, text != NULL ? text : "?");
	free(ks->start_error);
	ks->start_error = e;
	if (ks->child != NULL)
		proc_cancel(ks->child->p);
}

static void
probe_tick(evutil_socket_t fd, short what, void *arg)
{
	struct kea_server *ks = arg;
	char *cause = NULL;

	if (ks->ps != PS_STARTING || ks->probe != NULL)
		return;
	ks->probe = kea_ctl_send(ks->base, ks->socket_path, "status-get",
	    NULL, KS_PROBE_TIMEOUT, start_probe_cb, ks, &cause);
	if (ks->probe == NULL) {
		/* Only an unusable path; the deadline reports it. */
		free(cause);
		probe_arm(ks, KS_PROBE_MS * 4);
	}
}

/*
 * Spawn the server on the on-disk config.  cont(ok, error) follows once
 * the control socket answers, or once a failed start is fully gone
 * (ps back to PS_NONE).
 */
/*
 * Run the Kea binary through the runner: the server itself (-c config,
 * no deadline, capabilities kept for its DHCP sockets) or a config test
 * (-t <config>.new, with its deadline).  Per-instance pid and lock dirs
 * in the environment.  NULL with *cause when the runner refuses.
 */
static struct ks_child *
kea_spawn(struct kea_server *ks, bool test, char **cause)
{
	struct proc_spec spec;
	struct ks_child *ch;
	char *argv[4], *envp[5];

	argv[0] = ks->binary;
	argv[1] = (char *)(test ? "-t" : "-c");
	argv[2] = test ? ks->new_path : ks->config_path;
	argv[3] = NULL;
	envp[0] = ks->env_pid;
	envp[1] = ks->env_lock;
	envp[2] = (char *)"LC_ALL=C";
	envp[3] = (char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin";
	envp[4] = NULL;
	memset(&spec, 0, sizeof(spec));
	spec.path = ks->binary;
	spec.argv = argv;
	spec.envp = envp;
	spec.output_max = KS_OUTPUT_MAX;
	if (test)
		spec.timeout_ms = ks->test_timeout;
	else {
		spec.kill_grace_ms = ks->stop_timeout;
		spec.keep_caps = true;
	}
	ch = xcalloc(1, sizeof(*ch));
	ch->ks = ks;
	ch->test = test;
	if ((ch->p = proc_start(ks->runner, &spec, child_done, ch,
	    cause)) == NULL) {
		free(ch);
		return NULL;
	}
	return ch;
}

/*
 * A Kea left running by an earlier rackd that died without stopping it
 * (outside systemd, whose KillMode=control-group prevents this) holds the
 * DHCP port and the control socket, and the new one would never start.
 * Kill it if its pid file names a process that really is our Kea on this
 * config (the pid may have been reused), then wait for it briefly: this
 * runs once per start and the wait is bounded.
 */
static void
kill_orphan(struct kea_server *ks)
{
	char buf[4096], path[64];
	FILE *fp;
	long pid = 0;
	size_t n, i;
	ssize_t r;
	int fd, tries;

	if ((fp = fopen(ks->pid_path, "r")) == NULL)
		return;
	if (fscanf(fp, "%ld", &pid) != 1)
		pid = 0;
	fclose(fp);
	if (pid <= 1 || pid == (long)getpid())
		return;
	snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	r = read(fd, buf, sizeof buf - 1);
	close(fd);
	n = r > 0 ? (size_t)r : 0;
	buf[n] = '\0';
	for (i = 0; i + 1 < n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	if (strstr(buf, "kea-dhcp") == NULL ||
	    strstr(buf, ks->config_path) == NULL)
		return;
	log_warnx("kea %s: killing an orphaned Kea (pid %ld) left running "
	    "by an earlier rackd", ks->name, pid);
	kill((pid_t)pid, SIGKILL);
	for (tries = 0; tries < 50 && kill((pid_t)pid, 0) == 0; tries++)
		usleep(10000);
}

static void
ks_start(struct kea_server *ks, ks_start_cont cont)
{
	struct stat sb;
	char *cause = NULL, *e;
	struct ks_child *ch;

	kill_orphan(ks);
	unlink(ks->pid_path);
	ks->log_off = 0;
	if (ks->log_path != NULL && stat(ks->log_path, &sb) == 0)
		ks->log_off = sb.st_size;

	if ((ch = kea_spawn(ks, false, &cause)) == NULL) {
		xasprintf(&e, "cannot start %s: %s", ks->binary, cause);
		free(cause);
		cont(ks, false, e);
		free(e);
		return;
	}
	ks->child = ch;
	ks->ps = PS_STARTING;
	ks->pid = 0;
	health_clear(ks);
	ks->up_since_ms = rackd_now_ms();
	ks->start_deadline = ks->up_since_ms + (uint64_t)ks->start_timeout;
	ks->start_cont = cont;
	free(ks->start_error);
	ks->start_error = NULL;
	log_debug("kea %s: starting %s -c %s", ks->name, ks->binary,
	    ks->config_path);
	probe_arm(ks, KS_PROBE_MS);
	ks_notify(ks);
}

static void
halt_kill(evutil_socket_t fd, short what, void *arg)
{
	struct kea_server *ks = arg;

	if (ks->child == NULL)
		return;
	log_warnx("kea %s: pid %d still there %d ms after SIGTERM, killing",
	    ks->name, ks->pid, ks->stop_timeout);
	proc_cancel(ks->child->p);
}

static void
halt_ctl_cb(int result, json_t *reply, const char *text, void *arg)
{
	struct kea_server *ks = arg;

	ks->halt_ctl = NULL;
}

/* Stop the process; cont() once it is reaped (at once when none). */
static void
ks_halt(struct kea_server *ks, ks_halt_cont cont)
{
	struct timeval tv;
	char *cause = NULL;

	evtimer_del(ks->ev_probe);
	kea_ctl_cancel(ks->probe);
	ks->probe = NULL;
	if (ks->child == NULL) {
		ks->ps = PS_NONE;
		cont(ks);
		return;
	}
	ks->halt_cont = cont;
	if (our_child(ks->pid))
		kill(ks->pid, SIGTERM);
	else if (ks->ps == PS_STARTING)
		proc_cancel(ks->child->p);	/* never came up: nothing to save */
	else if ((ks->halt_ctl = kea_ctl_send(ks->base, ks->socket_path,
	    "shutdown", NULL, ks->stop_timeout, halt_ctl_cb, ks,
	    &cause)) == NULL)
		free(cause);
	ks->ps = PS_STOPPING;
	ms_tv(ks->stop_timeout, &tv);
	evtimer_add(ks->ev_stop, &tv);
}

/* The server process is gone (reaped). */
static void
server_exited(struct kea_server *ks, const struct proc_result *r)
{
	enum ks_proc was = ks->ps;
	char how[64], line[200], *e;
	ks_start_cont scont;
	ks_halt_cont hcont;

	if (r->spawn_error != 0)
		snprintf(how, sizeof(how), "could not be executed: %s",
		    strerror(r->spawn_error));
	else if (r->exited)
		snprintf(how, sizeof(how), "exited with status %d",
		    r->exit_status);
	else
		snprintf(how, sizeof(how), "killed by signal %d (%s)",
		    r->signal, strsignal(r->signal));
	/* Only an ERROR/FATAL line explains an exit; INFO chatter does not. */
	if (output_line(r, line, sizeof(line)) < 2 &&
	    log_error_line(ks, line, sizeof(line)) < 2)
		line[0] = '\0';

	evtimer_del(ks->ev_probe);
	evtimer_del(ks->ev_stop);
	kea_ctl_cancel(ks->probe);
	ks->probe = NULL;
	kea_ctl_cancel(ks->halt_ctl);
	ks->halt_ctl = NULL;
	kea_ctl_cancel(ks->poll);
	ks->poll = NULL;
	ks->ps = PS_NONE;
	ks->pid = 0;
	health_clear(ks);
	/* After SIGKILL Kea leaves both behind. */
	unlink(ks->pid_path);
	unlink(ks->socket_path);

	switch (was) {
	case PS_STOPPING:
		log_info("kea %s: %s stopped (%s)", ks->name, prog(ks), how);
		hcont = ks->halt_cont;
		ks->halt_cont = NULL;
		ks_notify(ks);
		if (hcont != NULL)
			hcont(ks);
		break;
	case PS_STARTING:
		if (ks->start_error != NULL)
			e = xstrdup(ks->start_error);
		else if (line[0] != '\0')
			xasprintf(&e, "%s %s during start-up: %s", prog(ks), how,
			    line);
		else
			xasprintf(&e, "%s %s during start-up", prog(ks), how);
		log_warnx("kea %s: %s", ks->name, e);
		set_error(ks, e);
		scont = ks->start_cont;
		ks->start_cont = NULL;
		ks_notify(ks);
		if (scont != NULL)
			scont(ks, false, e);
		free(e);
		break;
	default:
		if (line[0] != '\0')
			xasprintf(&e, "%s pid %d %s: %s", prog(ks), r->pid, how,
			    line);
		else
			xasprintf(&e, "%s pid %d %s", prog(ks), r->pid, how);
		log_warnx("kea %s: %s unexpectedly after %llu s", ks->name, e,
		    (unsigned long long)(r->elapsed_ms / 1000));
		set_error(ks, e);
		free(e);
		ks->restarts++;
		ks->restart_counts = true;
		ks_notify(ks);
		/* A running job sees the dead socket and rolls back itself. */
		if (ks->job == JOB_NONE)
			ks_supervise(ks);
		break;
	}
}

static void
test_done(struct kea_server *, const struct proc_result *);

static void
child_done(const struct proc_result *r, void *arg)
{
	struct ks_child *ch = arg;
	struct kea_server *ks = ch->ks;
	bool test = ch->test;

	free(ch);
	if (ks == NULL)
		return;		/* the server was freed meanwhile */
	if (test) {
		ks->test = NULL;
		test_done(ks, r);
	} else {
		ks->child = NULL;
		server_exited(ks, r);
	}
}

/* --- supervision and health ------------------------------------------ */

static void
restart_started(struct kea_server *ks, bool ok, const char *err)
{
	ks->job = JOB_NONE;
	if (!ok)
		ks_supervise(ks);	/* try again, later */
	ks_kick(ks);
}

static void
backoff_fire(evutil_socket_t fd, short what, void *arg)
{
	struct kea_server *ks = arg;
	char *cause = NULL;

	if (ks->job != JOB_NONE || !ks->want || ks->ps != PS_NONE ||
	    ks->good == NULL)
		return;		/* a job in progress decides */
	ks->job = JOB_RESTART;
	log_info("kea %s: starting %s with the last good config", ks->name,
	    prog(ks));
	ks->restart_counts = true;	/* a failure backs off */
	ks->ha_cfg = doc_has_ha(ks->good, family_key(ks));
	/* The file should hold it already; make sure. */
	if (write_doc(ks->config_path, ks->good, &cause) == -1) {
		log_warnx("kea %s: %s", ks->name, cause);
		set_error(ks, cause);
		free(cause);
	}
	ks_start(ks, restart_started);
}

/* Arrange a restart when the process should run but does not. */
static void
ks_supervise(struct kea_server *ks)
{
	struct timeval tv;
	uint64_t up;
	int delay;

	if (!ks->want || ks->ps != PS_NONE || ks->good == NULL ||
	    evtimer_pending(ks->ev_backoff, NULL))
		return;
	up = rackd_now_ms() - ks->up_since_ms;
	if (ks->up_since_ms != 0 && up >= (uint64_t)ks->stable_ms)
		ks->backoff = 0;
	if (!ks->restart_counts)
		delay = 0;
	else if (ks->backoff == 0)
		delay = ks->backoff = ks->backoff_min;
	else {
		ks->backoff = ks->backoff * 2 > ks->backoff_max ?
		    ks->backoff_max : ks->backoff * 2;
		delay = ks->backoff;
	}
	if (delay > 0)
		log_info("kea %s: restart in %d ms", ks->name, delay);
	ms_tv(delay, &tv);
	evtimer_add(ks->ev_backoff, &tv);
}

static void
poll_cb(int result, json_t *reply, const char *text, void *arg)
{
	struct kea_server *ks = arg;

	ks->poll = NULL;
	if (ks->ps != PS_UP)
		return;
	if (result == KEA_CTL_OK) {
		health_record(ks, reply);
		/* Up long enough: the next crash starts the backoff afresh. */
		if (rackd_now_ms() - ks->up_since_ms >= (uint64_t)ks->stable_ms)
			ks->backoff = 0;
		return;
	}
	ks->health.polled = true;
	ks->health.poll_ok = false;
	ks->health.polled_ms = rackd_now_ms();
	copy_str(ks->health.poll_error, sizeof(ks->health.poll_error),
	    text != NULL ? text : "status-get failed");
}

static void
poll_tick(evutil_socket_t fd, short what, void *arg)
{
	struct kea_server *ks = arg;
	char *cause = NULL;
	int t;

	if (ks->ps != PS_UP || ks->poll != NULL)
		return;
	t = ks->poll_ms < KEA_CTL_TIMEOUT_DEFAULT ? ks->poll_ms :
	    KEA_CTL_TIMEOUT_DEFAULT;
	if ((ks->poll = kea_ctl_send(ks->base, ks->socket_path, "status-get",
	    NULL, t, poll_cb, ks, &cause)) == NULL)
		free(cause);
}

/* --- apply ----------------------------------------------------------- */

static void
item_free(struct ks_item *it)
{
	json_decref(it->config);
	json_decref(it->doc);
	free(it->canon);
	free(it->error);
	free(it);
}

/* Our overrides: the control socket we talk to, and loggers to a file
 * (proc's capture is capped) with command chatter at WARN. */
static json_t *
make_doc(struct kea_server *ks, const json_t *config)
{
	json_t *top, *d, *out, *lg;
	const char *sev;

	top = json_deep_copy(config);
	d = json_object_get(top, family_key(ks));
	json_object_set_new(d, "control-socket", json_pack("{s:s, s:s}",
	    "socket-type", "unix", "socket-name", ks->socket_path));
	if (ks->log_path != NULL) {
		sev = jstr(json_array_get(json_object_get(d, "loggers"), 0),
		    "severity");
		out = json_pack("[{s:s, s:i, s:i, s:b}]", "output",
		    ks->log_path, "maxsize", KS_LOG_MAXSIZE, "maxver",
		    KS_LOG_MAXVER, "flush", 1);
		lg = json_pack("[{s:s, s:O, s:s, s:i}, {s:s, s:O, s:s}]",
		    "name", prog(ks), "output_options", out, "severity",
		    sev != NULL ? sev : "INFO", "debuglevel", 0,
		    "name", ks->family == 6 ? "kea-dhcp6.commands" :
		    "kea-dhcp4.commands", "output_options", out,
		    "severity", "WARN");
		json_decref(out);
		json_object_set_new(d, "loggers", lg);
	}
	return top;
}

static void
apply_finish(struct kea_server *ks, enum kea_apply_status status)
{
	struct ks_item *it = ks->cur;
	struct kea_apply_result res;

	ks->cur = NULL;
	ks->job = JOB_NONE;
	unlink(ks->new_path);
	memset(&res, 0, sizeof(res));
	res.status = status;
	res.error = it->error;
	res.restarted = it->restarted;
	res.rolled_back = it->rolled_back;
	res.elapsed_ms = rackd_now_ms() - it->start_ms;
	if (status == KEA_APPLY_FAILED) {
		log_warnx("kea %s: apply failed after %llu ms: %s", ks->name,
		    (unsigned long long)res.elapsed_ms, it->error);
		set_error(ks, it->error);
	} else if (status == KEA_APPLY_APPLIED)
		log_info("kea %s: config applied in %llu ms (%s)", ks->name,
		    (unsigned long long)res.elapsed_ms, it->restarted ?
		    "process started" : "config-set");
	ks_supervise(ks);
	ks_kick(ks);
	ks_notify(ks);
	/* Last: the callback may free the server. */
	if (it->cb != NULL)
		it->cb(&res, it->arg);
	item_free(it);
}

static void
apply_fail(struct kea_server *ks, char *error)
{
	free(ks->cur->error);
	ks->cur->error = error;
	apply_finish(ks, KEA_APPLY_FAILED);
}

/*
 * Remember, next to <config>.good, the canonical text of the config the
 * region sent for it, so that after a rackd restart (kea_server_start
 * from .good) the region's first re-send of the same config is
 * "unchanged" and does not restart Kea's HA.  Best effort.
 */
static void
save_applied(struct kea_server *ks)
{
	char *path, *cause = NULL;

	xasprintf(&path, "%s.applied", ks->good_path);
	if (write_atomic(path, ks->applied, &cause) == -1) {
		log_debug("kea %s: %s", ks->name, cause);
		free(cause);
	}
	free(path);
}

static char *
load_applied(const struct kea_server *ks)
{
	char *path, *buf = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *fp;

	xasprintf(&path, "%s.applied", ks->good_path);
	fp = fopen(path, "r");
	free(path);
	if (fp == NULL)
		return NULL;
	n = getdelim(&buf, &cap, '\0', fp);
	fclose(fp);
	if (n <= 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static void
apply_commit(struct kea_server *ks)
{
	struct ks_item *it = ks->cur;
	char *cause = NULL;

	json_decref(ks->good);
	ks->good = json_incref(it->doc);
	free(ks->applied);
	ks->applied = xstrdup(it->canon);
	ks->ha_cfg = it->ha;
	ks->last_error[0] = '\0';
	if (write_doc(ks->good_path, ks->good, &cause) == -1) {
		/* Serving anyway; only a rackd restart loses it. */
		log_warnx("kea %s: %s", ks->name, cause);
		free(cause);
	} else
		save_applied(ks);
	apply_finish(ks, KEA_APPLY_APPLIED);
}

static void
verify_cb(int result, json_t *reply, const char *text, void *arg)
{
	struct kea_server *ks = arg;
	struct ks_item *it = ks->cur;
	char *e;

	ks->ctl = NULL;
	if (result != KEA_CTL_OK) {
		xasprintf(&e, "status-get after the change failed: %s",
		    text != NULL ? text : "?");
		apply_rollback(ks, e);
		return;
	}
	health_record(ks, reply);
	if (it->ha && !ks->health.ha_present) {
		/* The HA hook did not come up: Kea serves nothing (D.2.2). */
		xasprintf(&e, "%s accepted the config but reports no "
		    "high-availability state", prog(ks));
		apply_rollback(ks, e);
		return;
	}
	apply_commit(ks);
}

static void
apply_verify(struct kea_server *ks)
{
	char *cause = NULL, *e;

	if ((ks->ctl = kea_ctl_send(ks->base, ks->socket_path, "status-get",
	    NULL, KS_VERIFY_TIMEOUT, verify_cb, ks, &cause)) == NULL) {
		xasprintf(&e, "status-get: %s", cause);
		free(cause);
		apply_rollback(ks, e);
	}
}

static void
apply_started(struct kea_server *ks, bool ok, const char *err)
{
	char *e;

	if (!ok) {
		xasprintf(&e, "%s", err);
		apply_rollback(ks, e);
		return;
	}
	apply_verify(ks);
}

static void
apply_install_start(struct kea_server *ks)
{
	char *e;

	if (rename(ks->new_path, ks->config_path) == -1) {
		xasprintf(&e, "rename %s: %s", ks->new_path, strerror(errno));
		apply_rollback(ks, e);
		return;
	}
	ks->want = true;
	ks->ha_cfg = ks->cur->ha;
	ks->cur->restarted = true;
	ks->restart_counts = false;
	ks_start(ks, apply_started);
}

static void
apply_halted(struct kea_server *ks)
{
	apply_install_start(ks);
}

static void
set_cb(int result, json_t *reply, const char *text, void *arg)
{
	struct kea_server *ks = arg;
	char *e;

	ks->ctl = NULL;
	if (result != KEA_CTL_OK) {
		xasprintf(&e, "config-set: %s", text != NULL ? text :
		    "failed");
		apply_rollback(ks, e);
		return;
	}
	if (rename(ks->new_path, ks->config_path) == -1) {
		xasprintf(&e, "rename %s: %s", ks->new_path, strerror(errno));
		apply_rollback(ks, e);
		return;
	}
	ks->ha_cfg = ks->cur->ha;
	apply_verify(ks);
}

static bool
want_restart(const struct kea_server *ks, const struct ks_item *it)
{
	switch (ks->reconfig) {
	case KEA_RECONFIG_RESTART:
		return true;
	case KEA_RECONFIG_RESTART_HA:
		return it->ha || ks->ha_cfg;
	default:
		return false;
	}
}

static void
test_done(struct kea_server *ks, const struct proc_result *r)
{
	struct ks_item *it = ks->cur;
	char line[200], *e, *cause = NULL;

	if (it == NULL)
		return;
	if (r->spawn_error != 0 || r->timed_out || r->cancelled ||
	    !r->exited || r->exit_status != 0) {
		output_line(r, line, sizeof(line));
		if (r->spawn_error != 0)
			xasprintf(&e, "cannot run %s -t: %s", ks->binary,
			    strerror(r->spawn_error));
		else if (r->timed_out)
			xasprintf(&e, "%s -t did not finish within %d ms",
			    prog(ks), ks->test_timeout);
		else
			xasprintf(&e, "%s -t rejected the config: %s", prog(ks),
			    line[0] != '\0' ? line : "no reason given");
		apply_fail(ks, e);
		return;
	}
	log_debug("kea %s: %s -t passed in %llu ms", ks->name, prog(ks),
	    (unsigned long long)r->elapsed_ms);
	if (ks->ps != PS_UP) {
		apply_install_start(ks);
		return;
	}
	if (want_restart(ks, it)) {
		it->via_restart = true;
		ks_halt(ks, apply_halted);
		return;
	}
	if ((ks->ctl = kea_ctl_send(ks->base, ks->socket_path, "config-set",
	    json_deep_copy(it->doc), KS_SET_TIMEOUT, set_cb, ks, &cause)) ==
	    NULL) {
		xasprintf(&e, "config-set: %s", cause);
		free(cause);
		apply_fail(ks, e);
	}
}

static void
apply_begin(struct kea_server *ks)
{
	struct ks_item *it = ks->cur;
	const json_t *d;
	char *cause = NULL, *e;
	struct ks_child *ch;

	if (ks->applied != NULL && ks->want &&
	    strcmp(ks->applied, it->canon) == 0) {
		apply_finish(ks, KEA_APPLY_UNCHANGED);
		return;
	}
	d = json_object_get(it->config, family_key(ks));
	if (!json_is_object(d) || json_object_size(it->config) != 1) {
		xasprintf(&e, "the config is not a {\"%s\": {...}} document",
		    family_key(ks));
		apply_fail(ks, e);
		return;
	}
	if (kea_check_ha(it->config, &cause) == -1) {
		apply_fail(ks, cause);
		return;
	}
	it->doc = make_doc(ks, it->config);
	it->ha = doc_has_ha(it->doc, family_key(ks));
	if (write_doc(ks->new_path, it->doc, &cause) == -1) {
		apply_fail(ks, cause);
		return;
	}

	if ((ch = kea_spawn(ks, true, &cause)) == NULL) {
		xasprintf(&e, "cannot run %s -t: %s", ks->binary, cause);
		free(cause);
		apply_fail(ks, e);
		return;
	}
	ks->test = ch;
}

/* --- rollback to the last known-good config -------------------------- */

static void
rb_done(struct kea_server *ks, bool ok, const char *err)
{
	struct ks_item *it = ks->cur;
	char *e;

	if (!ok) {
		xasprintf(&e, "%s; restoring the last good config failed too: "
		    "%s", it->error, err);
		free(it->error);
		it->error = e;
		ks->restart_counts = true;	/* supervision retries */
	}
	apply_finish(ks, KEA_APPLY_FAILED);
}

static void
rb_halted(struct kea_server *ks)
{
	if (ks->good == NULL) {
		apply_finish(ks, KEA_APPLY_FAILED);
		return;
	}
	ks->cur->restarted = true;
	ks->restart_counts = false;
	ks_start(ks, rb_done);
}

static void
rb_set_cb(int result, json_t *reply, const char *text, void *arg)
{
	struct kea_server *ks = arg;

	ks->ctl = NULL;
	if (result == KEA_CTL_OK) {
		apply_finish(ks, KEA_APPLY_FAILED);
		return;
	}
	/* Crippled or dead: a fresh process on the good file. */
	log_warnx("kea %s: re-sending the last good config failed (%s); "
	    "restarting", ks->name, text != NULL ? text : "?");
	ks_halt(ks, rb_halted);
}

/*
 * Something failed after the running config may have stopped serving:
 * put the last good config back on disk and into the process.  error is
 * taken.
 */
static void
apply_rollback(struct kea_server *ks, char *error)
{
	struct ks_item *it = ks->cur;
	char *cause = NULL;

	free(it->error);
	it->error = error;
	unlink(ks->new_path);
	if (ks->good == NULL) {
		/* Nothing to go back to: leave nothing half-running, and no
		 * file a later start could pick up. */
		unlink(ks->config_path);
		ks_halt(ks, rb_halted);
		return;
	}
	it->rolled_back = true;
	ks->ha_cfg = doc_has_ha(ks->good, family_key(ks));
	if (write_doc(ks->config_path, ks->good, &cause) == -1) {
		log_warnx("kea %s: %s", ks->name, cause);
		free(cause);
	}
	log_warnx("kea %s: %s; restoring the last good config", ks->name,
	    error);
	if (ks->ps == PS_UP && !it->via_restart &&
	    (ks->ctl = kea_ctl_send(ks->base, ks->socket_path, "config-set",
	    json_deep_copy(ks->good), KS_SET_TIMEOUT, rb_set_cb, ks,
	    &cause)) != NULL)
		return;
	free(cause);
	ks_halt(ks, rb_halted);
}

/* --- jobs ------------------------------------------------------------ */

static void
stop_halted(struct kea_server *ks)
{
	struct ks_item *it = ks->cur;

	ks->cur = NULL;
	ks->job = JOB_NONE;
	unlink(ks->socket_path);
	unlink(ks->pid_path);
	ks_kick(ks);
	ks_notify(ks);
	if (it->done != NULL)
		it->done(it->done_arg);		/* may free the server */
	item_free(it);
}

static void
kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kea_server *ks = arg;
	struct ks_item *it;

	if (ks->job != JOB_NONE || (it = TAILQ_FIRST(&ks->queue)) == NULL)
		return;
	TAILQ_REMOVE(&ks->queue, it, entry);
	ks->cur = it;
	if (it->stop) {
		ks->job = JOB_STOP;
		evtimer_del(ks->ev_backoff);
		ks_halt(ks, stop_halted);
		return;
	}
	ks->job = JOB_APPLY;
	if (it->cancelled) {
		it->error = xstrdup("the server was stopped");
		apply_finish(ks, KEA_APPLY_FAILED);
		return;
	}
	/* The apply decides what runs from here on. */
	evtimer_del(ks->ev_backoff);
	apply_begin(ks);
}

static void
ks_kick(struct kea_server *ks)
{
	struct timeval tv = { 0, 0 };

	if (!TAILQ_EMPTY(&ks->queue))
		evtimer_add(ks->ev_kick, &tv);
}

/* --- public ---------------------------------------------------------- */

struct kea_server *
kea_server_new(struct event_base *base, struct proc_runner *runner,
    const struct kea_server_opts *o, char **cause)
{
	struct kea_server *ks;
	struct timeval tv;
	json_error_t jerr;
	const char *b, *dot;
	char *base_name;

	if (o->name == NULL || o->config_path == NULL ||
	    o->socket_path == NULL || o->run_dir == NULL ||
	    (o->family != 4 && o->family != 6)) {
		xasprintf(cause, "kea server: name, family 4/6, config_path, "
		    "socket_path and run_dir are required");
		return NULL;
	}
	if (strlen(o->socket_path) > KEA_SOCKET_PATH_MAX) {
		xasprintf(cause, "kea %s: control socket %s is over %d bytes",
		    o->name, o->socket_path, KEA_SOCKET_PATH_MAX);
		return NULL;
	}
	ks = xcalloc(1, sizeof(*ks));
	ks->base = base;
	ks->runner = runner;
	ks->name = xstrdup(o->name);
	ks->family = o->family;
	ks->binary = xstrdup(o->binary != NULL ? o->binary :
	    o->family == 6 ? "/usr/sbin/kea-dhcp6" : "/usr/sbin/kea-dhcp4");
	ks->config_path = xstrdup(o->config_path);
	xasprintf(&ks->new_path, "%s.new", o->config_path);
	xasprintf(&ks->good_path, "%s.good", o->config_path);
	ks->socket_path = xstrdup(o->socket_path);
	ks->run_dir = xstrdup(o->run_dir);
	ks->log_path = o->log_path != NULL ? xstrdup(o->log_path) : NULL;
	/* Kea's pid file: basename up to the last dot (D.2.7). */
	b = strrchr(o->config_path, '/');
	b = b != NULL ? b + 1 : o->config_path;
	dot = strrchr(b, '.');
	base_name = dot != NULL && dot != b ? xstrndup(b, (size_t)(dot - b)) :
	    xstrdup(b);
	xasprintf(&ks->pid_path, "%s/%s.%s.pid", o->run_dir, base_name,
	    prog(ks));
	free(base_name);
	xasprintf(&ks->env_pid, "KEA_PIDFILE_DIR=%s", o->run_dir);
	xasprintf(&ks->env_lock, "KEA_LOCKFILE_DIR=%s", o->run_dir);
	ks->reconfig = o->reconfig;
	ks->backoff_min = o->backoff_min_ms > 0 ? o->backoff_min_ms :
	    KS_BACKOFF_MIN;
	ks->backoff_max = o->backoff_max_ms > 0 ? o->backoff_max_ms :
	    KS_BACKOFF_MAX;
	if (ks->backoff_max < ks->backoff_min)
		ks->backoff_max = ks->backoff_min;
	ks->stable_ms = o->stable_ms > 0 ? o->stable_ms : KS_STABLE_MS;
	ks->poll_ms = o->poll_ms != 0 ? o->poll_ms : KS_POLL_MS;
	ks->test_timeout = o->test_timeout_ms > 0 ? o->test_timeout_ms :
	    KS_TEST_TIMEOUT;
	ks->start_timeout = o->start_timeout_ms > 0 ? o->start_timeout_ms :
	    KS_START_TIMEOUT;
	ks->stop_timeout = o->stop_timeout_ms > 0 ? o->stop_timeout_ms :
	    KS_STOP_TIMEOUT;
	ks->state_cb = o->state_cb;
	ks->state_arg = o->state_arg;
	TAILQ_INIT(&ks->queue);
	ks->ev_probe = evtimer_new(base, probe_tick, ks);
	ks->ev_stop = evtimer_new(base, halt_kill, ks);
	ks->ev_backoff = evtimer_new(base, backoff_fire, ks);
	ks->ev_kick = evtimer_new(base, kick_cb, ks);
	ks->ev_poll = event_new(base, -1, EV_PERSIST, poll_tick, ks);
	if (ks->poll_ms > 0) {
		ms_tv(ks->poll_ms, &tv);
		event_add(ks->ev_poll, &tv);
	}

	/* A previous run's last good config, for kea_server_start(). */
	if (access(ks->good_path, F_OK) == 0) {
		ks->good = json_load_file(ks->good_path, 0, &jerr);
		if (ks->good == NULL || !json_is_object(json_object_get(
		    ks->good, family_key(ks)))) {
			log_warnx("kea %s: ignoring %s: %s", ks->name,
			    ks->good_path, ks->good == NULL ? jerr.text :
			    "not a Kea config");
			json_decref(ks->good);
			ks->good = NULL;
		}
	}
	return ks;
}

void
kea_server_apply(struct kea_server *ks, const json_t *config,
    kea_apply_cb cb, void *arg)
{
	struct ks_item *it;

	it = xcalloc(1, sizeof(*it));
	it->config = json_deep_copy(config);
	it->canon = kea_config_canonical(config);
	if (it->canon == NULL)
		it->canon = xstrdup("");
	it->cb = cb;
	it->arg = arg;
	it->start_ms = rackd_now_ms();
	TAILQ_INSERT_TAIL(&ks->queue, it, entry);
	ks_kick(ks);
}

int
kea_server_start(struct kea_server *ks)
{
	struct timeval tv = { 0, 0 };

	if (ks->good == NULL)
		return -1;
	if (ks->want)
		return 0;
	if (ks->applied == NULL)
		ks->applied = load_applied(ks);
	ks->want = true;
	ks->restart_counts = false;
	evtimer_add(ks->ev_backoff, &tv);
	return 0;
}

void
kea_server_stop(struct kea_server *ks, void (*done)(void *), void *arg)
{
	struct ks_item *it;

	ks->want = false;
	free(ks->applied);
	ks->applied = NULL;
	evtimer_del(ks->ev_backoff);
	TAILQ_FOREACH(it, &ks->queue, entry)
		if (!it->stop)
			it->cancelled = true;
	it = xcalloc(1, sizeof(*it));
	it->stop = true;
	it->done = done;
	it->done_arg = arg;
	TAILQ_INSERT_TAIL(&ks->queue, it, entry);
	ks_kick(ks);
}

void
kea_server_free(struct kea_server *ks)
{
	struct ks_item *it;

	if (ks == NULL)
		return;
	if (ks->child != NULL) {
		ks->child->ks = NULL;
		proc_cancel(ks->child->p);
	}
	if (ks->test != NULL) {
		ks->test->ks = NULL;
		proc_cancel(ks->test->p);
	}
	kea_ctl_cancel(ks->probe);
	kea_ctl_cancel(ks->ctl);
	kea_ctl_cancel(ks->poll);
	kea_ctl_cancel(ks->halt_ctl);
	event_free(ks->ev_probe);
	event_free(ks->ev_stop);
	event_free(ks->ev_backoff);
	event_free(ks->ev_poll);
	event_free(ks->ev_kick);
	if (ks->cur != NULL)
		item_free(ks->cur);
	while ((it = TAILQ_FIRST(&ks->queue)) != NULL) {
		TAILQ_REMOVE(&ks->queue, it, entry);
		item_free(it);
	}
	json_decref(ks->good);
	free(ks->applied);
	free(ks->start_error);
	free(ks->name);
	free(ks->binary);
	free(ks->config_path);
	free(ks->new_path);
	free(ks->good_path);
	free(ks->socket_path);
	free(ks->run_dir);
	free(ks->log_path);
	free(ks->pid_path);
	free(ks->env_pid);
	free(ks->env_lock);
	free(ks);
}

const char *
kea_server_name(const struct kea_server *ks)
{
	return ks->name;
}

void
kea_server_status(const struct kea_server *ks, struct kea_server_status *st)
{
	*st = ks->health;
	switch (ks->ps) {
	case PS_UP:
		st->state = KEA_SERVER_RUNNING;
		break;
	case PS_STARTING:
		st->state = KEA_SERVER_STARTING;
		break;
	case PS_STOPPING:
		st->state = ks->want ? KEA_SERVER_DEAD : KEA_SERVER_OFF;
		break;
	default:
		st->state = ks->want ? KEA_SERVER_DEAD : KEA_SERVER_OFF;
		break;
	}
	st->pid = ks->pid;
	st->restarts = ks->restarts;
	st->up_since_ms = ks->ps == PS_UP ? ks->up_since_ms : 0;
	copy_str(st->last_error, sizeof(st->last_error), ks->last_error);
	st->ha = ks->ha_cfg;
}

const char *
kea_server_service_status(const struct kea_server_status *st, char *info,
    size_t infolen)
{
	uint64_t now = rackd_now_ms();
	const char *s = st->ha_state;

	info[0] = '\0';
	switch (st->state) {
	case KEA_SERVER_OFF:
		return "off";
	case KEA_SERVER_DEAD:
		snprintf(info, infolen, "%s", st->last_error[0] != '\0' ?
		    st->last_error : "not running");
		return "dead";
	case KEA_SERVER_STARTING:
		snprintf(info, infolen, "starting");
		return "degraded";
	case KEA_SERVER_RUNNING:
		break;
	}
	if (st->polled && !st->poll_ok) {
		snprintf(info, infolen, "control socket: %s", st->poll_error);
		return "degraded";
	}
	if (strcmp(st->sockets, "failed") == 0 ||
	    strcmp(st->sockets, "retrying") == 0) {
		snprintf(info, infolen, "sockets %s%s%s", st->sockets,
		    st->socket_error[0] != '\0' ? ": " : "", st->socket_error);
		return "degraded";
	}
	if (!st->ha)
		return "running";
	if (!st->ha_present || *s == '\0') {
		snprintf(info, infolen, "no high-availability state");
		return "degraded";
	}
	snprintf(info, infolen, "%s (%s)", s, st->ha_role);
	if (strcmp(s, "terminated") == 0 || strcmp(s, "in-maintenance") == 0)
		return "degraded";
	if (strcmp(s, "hot-standby") == 0 || strcmp(s, "partner-down") == 0 ||
	    strcmp(s, "load-balancing") == 0 ||
	    strcmp(s, "partner-in-maintenance") == 0 ||
	    strcmp(s, "passive-backup") == 0 || strcmp(s, "backup") == 0) {
		if (st->remote_interrupted &&
		    now - st->remote_interrupted_ms >= KEA_HA_SETTLE_MS) {
			snprintf(info, infolen, "%s (%s), communication with "
			    "the partner interrupted", s, st->ha_role);
			return "degraded";
		}
		return "running";
	}
	/* waiting, syncing, ready: transient unless they last. */
	if (now - st->ha_state_ms >= KEA_HA_SETTLE_MS)
		return "degraded";
	return "running";
}
