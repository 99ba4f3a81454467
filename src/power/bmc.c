/*
 * bmc.c — the rack's table of BMCs and the scheduler of ipmitool runs.
 *
 * Each BMC (address:port) is owned by one entry: at most one ipmitool
 * session to it at a time (many BMCs allow only a few sessions, and two
 * racks' worth of commands interleaved on one BMC is how nodes get
 * cycled twice), a minimum gap between its commands, and health: after
 * power.quarantine_after slow failures in a row (unreachable, timeout,
 * busy) the BMC is quarantined for a backoff (5 s doubling up to
 * power.quarantine_max) during which queries are answered from the last
 * error (action.c).
 *
 * Queries coalesce: a PowerQuery (or monitor query) for a BMC that
 * already has a status run queued or running with the same session
 * parameters waits for that run and shares its answer, so N queries to a
 * hung BMC cost one ipmitool run and one deadline, not N in a row.  A
 * query arriving after the run finished starts a new one; on, off and
 * cycle never share.
 *
 * Ready BMCs wait in one FIFO; the scheduler starts their head command
 * while fewer than power.max_concurrency ipmitool runs are in flight.
 * BMCs that are failing may hold at most a quarter of those slots, so a
 * rack full of dead BMCs still serves the live ones at once.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "proc.h"
#include "xmalloc.h"
#include "power_private.h"

#define BMC_BACKOFF_MIN_MS	5000
#define BMC_OUTPUT_MAX		(16 * 1024)

static void sched_kick(struct power *);

static int
suspect_cap(const struct power *pw)
{
	int cap = pw->set.max_concurrency / 4;

	return cap < 1 ? 1 : cap;
}

static bool
bmc_suspect(const struct bmc *b)
{
	return b->consecutive_failures > 0;
}

bool
bmc_quarantined(const struct bmc *b)
{
	return b->quarantine_until_ms > rackd_now_ms();
}

struct bmc *
bmc_get(struct power *pw, const char *address, int port)
{
	struct bmc *b;
	char *key;

	xasprintf(&key, "%s:%d", address, port);
	TAILQ_FOREACH(b, &pw->bmcs, entry) {
		if (strcmp(b->key, key) == 0) {
			free(key);
			return b;
		}
	}
	b = xcalloc(1, sizeof *b);
	b->pw = pw;
	b->key = key;
	TAILQ_INIT(&b->pending);
	TAILQ_INSERT_TAIL(&pw->bmcs, b, entry);
	pw->nbmcs++;
	return b;
}

static void
ready_add(struct bmc *b)
{
	if (b->in_ready || b->running != NULL || TAILQ_EMPTY(&b->pending))
		return;
	if (b->gap_timer != NULL && evtimer_pending(b->gap_timer, NULL))
		return;
	TAILQ_INSERT_TAIL(&b->pw->ready, b, ready_entry);
	b->in_ready = true;
}

static void
ready_remove(struct bmc *b)
{
	if (!b->in_ready)
		return;
	TAILQ_REMOVE(&b->pw->ready, b, ready_entry);
	b->in_ready = false;
}

static void
gap_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct bmc *b = arg;

	ready_add(b);
	sched_kick(b->pw);
}

/* Record the outcome in the BMC's health. */
void
bmc_note(struct bmc *b, const struct ipmi_outcome *o)
{
	const struct power_settings *s = &b->pw->set;
	uint64_t now = rackd_now_ms();

	if (o->fail == IPMI_FAIL_NONE) {
		if (b->quarantine_until_ms != 0)
			log_info("power: BMC %s answers again; quarantine "
			    "lifted", b->key);
		b->consecutive_failures = 0;
		b->backoff_ms = 0;
		b->quarantine_until_ms = 0;
		b->last_ok_ms = now;
		return;
	}
	b->last_fail = o->fail;
	b->last_fail_ms = now;
	free(b->last_error);
	b->last_error = xstrdup(o->message != NULL ? o->message : "failed");
	/* Fast, definite answers (bad password, privilege, cipher) say the
	 * BMC is alive: they cost nothing and never quarantine it. */
	if (ipmi_fail_fatal(o->fail))
		return;
	b->consecutive_failures++;
	if (b->consecutive_failures >= s->quarantine_after) {
		b->backoff_ms = b->backoff_ms == 0 ? BMC_BACKOFF_MIN_MS :
		    b->backoff_ms * 2;
		if (b->backoff_ms > s->quarantine_max_ms)
			b->backoff_ms = s->quarantine_max_ms;
		b->quarantine_until_ms = now + (uint64_t)b->backoff_ms;
		log_warnx("power: BMC %s failed %d times in a row (%s); "
		    "quarantined for %d ms", b->key, b->consecutive_failures,
		    ipmi_fail_name(o->fail), b->backoff_ms);
	}
}

/* The run is over: every waiter gets o, in arrival order. */
static void
run_finish(struct bmc_run *run, const struct ipmi_outcome *o)
{
	struct bmc *b = run->bmc;
	struct power *pw = b->pw;
	struct bmc_cmd *c;

	if (b->running == run) {
		b->running = NULL;
		pw->running--;
		b->last_end_ms = rackd_now_ms();
	}
	pw->stats.commands_run++;
	if (o->fail != IPMI_FAIL_NONE)
		pw->stats.commands_failed++;
	if (run->nwaiters > 1)
		pw->stats.queries_shared += (unsigned long)run->nwaiters - 1;
	/* Off every list first: a callback that queries again starts a new
	 * run rather than joining this finished one. */
	while ((c = TAILQ_FIRST(&run->waiters)) != NULL) {
		TAILQ_REMOVE(&run->waiters, c, entry);
		run->nwaiters--;
		c->run = NULL;
		if (c->cb != NULL)
			c->cb(c, o, c->arg);
		free(c);
	}
	free(run);
	/* Next command on this BMC after the gap; others may start now. */
	if (!TAILQ_EMPTY(&b->pending)) {
		if (pw->set.bmc_gap_ms > 0) {
			struct timeval tv = { pw->set.bmc_gap_ms / 1000,
			    (pw->set.bmc_gap_ms % 1000) * 1000 };

			if (b->gap_timer == NULL)
				b->gap_timer = evtimer_new(pw->base, gap_cb, b);
			evtimer_add(b->gap_timer, &tv);
		} else
			ready_add(b);
	}
	sched_kick(pw);
}

static void
proc_done(const struct proc_result *r, void *arg)
{
	struct bmc_run *c = arg;
	struct bmc *b = c->bmc;
	struct ipmi_outcome o;
	bool was_suspect = c->suspect;

	memset(&o, 0, sizeof o);
	c->proc = NULL;
	if (was_suspect)
		b->pw->running_suspect--;
	if (r->cancelled) {
		o.fail = IPMI_FAIL_OTHER;
		o.message = xstrdup("Failed talking to node's BMC: cancelled");
		o.raw = xstrdup("");
	} else if (r->spawn_error != 0) {
		o.fail = IPMI_FAIL_OTHER;
		xasprintf(&o.message, "Missing power tool: cannot run %s: %s",
		    b->pw->set.ipmitool, strerror(r->spawn_error));
		o.raw = xstrdup("");
	} else {
		ipmi_classify(c->op, r->exited ? r->exit_status : 128 + r->signal,
		    r->timed_out, r->out, r->err, &o);
		log_debug("power: %s %s: %s in %llu ms for %d caller(s)%s%s",
		    b->key, ipmi_op_name(c->op), o.fail == IPMI_FAIL_NONE ?
		    "ok" : ipmi_fail_name(o.fail),
		    (unsigned long long)r->elapsed_ms, c->nwaiters,
		    o.fail == IPMI_FAIL_NONE ? "" : ": ",
		    o.fail == IPMI_FAIL_NONE ? "" : o.raw);
		bmc_note(b, &o);
		bmc_observe_run(b, c->op, &o, r->elapsed_ms);
	}
	run_finish(c, &o);
	ipmi_outcome_clear(&o);
}

static void
cmd_start(struct bmc_run *c)
{
	struct bmc *b = c->bmc;
	struct power *pw = b->pw;
	struct ipmi_timing t = { pw->set.retransmit_s, pw->set.retries };
	struct proc_spec spec;
	const struct ipmi_params *params;
	struct proc_input kgin;
	char **argv, *input, *kg, *cause = NULL;
	size_t inlen, kglen = 0;

	TAILQ_REMOVE(&b->pending, c, entry);
	b->running = c;
	pw->running++;
	/* Runs to failing BMCs count against their share of the slots. */
	c->suspect = bmc_suspect(b);
	if (c->suspect)
		pw->running_suspect++;
	/* Every waiter of a shared run has the same session parameters. */
	params = TAILQ_FIRST(&c->waiters)->params;
	argv = ipmi_argv(pw->set.ipmitool, params, c->op, 3, &t);
	input = ipmi_password_input(params, &inlen);
	memset(&spec, 0, sizeof spec);
	spec.path = pw->set.ipmitool;
	spec.argv = argv;
	spec.input = input;
	spec.input_len = inlen;
	spec.input_fd = 3;
	spec.timeout_ms = pw->set.command_timeout_ms;
	spec.kill_grace_ms = 500;
	spec.output_max = BMC_OUTPUT_MAX;
	/* The K_g goes on stdin for -Y; with no controlling terminal,
	 * ipmitool's getpass() reads it there, not from a terminal. */
	spec.new_session = true;
	if ((kg = ipmi_kg_input(params, &kglen)) != NULL) {
		kgin.data = kg;
		kgin.len = kglen;
		kgin.fd = 0;
		spec.more_inputs = &kgin;
		spec.n_more_inputs = 1;
	}
	c->proc = proc_start(pw->runner, &spec, proc_done, c, &cause);
	if (kg != NULL) {
		xwipe(kg, kglen);
		free(kg);
	}
	xwipe(input, inlen);
	free(input);
	ipmi_argv_free(argv);
	if (c->proc == NULL) {
		struct ipmi_outcome o;

		memset(&o, 0, sizeof o);
		o.fail = IPMI_FAIL_OTHER;
		xasprintf(&o.message, "Missing power tool: %s", cause);
		o.raw = xstrdup("");
		free(cause);
		if (c->suspect)
			pw->running_suspect--;
		run_finish(c, &o);
		ipmi_outcome_clear(&o);
	}
}

/*
 * Start what can start.  Each ready BMC is looked at once per kick, in
 * FIFO order: BMCs over the failing share stay queued for a later kick.
 */
static void
sched_kick(struct power *pw)
{
	struct bmc *b, *next;
	struct bmc_run *c;

	if (pw->shutting_down)
		return;
	for (b = TAILQ_FIRST(&pw->ready); b != NULL; b = next) {
		next = TAILQ_NEXT(b, ready_entry);
		if (pw->running >= pw->set.max_concurrency)
			break;
		if (bmc_suspect(b) && pw->running_suspect >= suspect_cap(pw))
			continue;
		ready_remove(b);
		c = TAILQ_FIRST(&b->pending);
		if (c == NULL || b->running != NULL)
			continue;
		cmd_start(c);
		/* cmd_start may have finished synchronously and changed the
		 * ready list; restart from its head. */
		next = TAILQ_FIRST(&pw->ready);
	}
}

/* A queued or running run cmd may join, or NULL. */
static struct bmc_run *
joinable_run(struct bmc *b, enum ipmi_op op, const struct ipmi_params *p)
{
	struct bmc_run *run;

	run = b->running;
	if (run != NULL && run->shared && !run->abandoned && run->op == op &&
	    run->nwaiters > 0 &&
	    ipmi_params_same_session(TAILQ_FIRST(&run->waiters)->params, p))
		return run;
	TAILQ_FOREACH(run, &b->pending, entry)
		if (run->shared && run->op == op &&
		    ipmi_params_same_session(TAILQ_FIRST(&run->waiters)->params,
		    p))
			return run;
	return NULL;
}

struct bmc_cmd *
bmc_submit(struct bmc *b, enum ipmi_op op, const struct ipmi_params *p,
    bool shareable, bmc_cmd_cb cb, void *arg)
{
	struct bmc_cmd *c = xcalloc(1, sizeof *c);
	struct bmc_run *run = NULL;

	c->op = op;
	c->params = p;
	c->cb = cb;
	c->arg = arg;
	if (shareable && (run = joinable_run(b, op, p)) != NULL) {
		c->run = run;
		TAILQ_INSERT_TAIL(&run->waiters, c, entry);
		run->nwaiters++;
		log_debug("power: %s %s: joins the %s run (%d caller(s))",
		    b->key, ipmi_op_name(op), run->proc != NULL ? "running" :
		    "queued", run->nwaiters);
		return c;
	}
	run = xcalloc(1, sizeof *run);
	run->bmc = b;
	run->op = op;
	run->shared = shareable;
	TAILQ_INIT(&run->waiters);
	TAILQ_INSERT_TAIL(&run->waiters, c, entry);
	run->nwaiters = 1;
	c->run = run;
	TAILQ_INSERT_TAIL(&b->pending, run, entry);
	ready_add(b);
	/* Never start synchronously: the caller gets its handle first, and
	 * a synchronous failure would call back into it. */
	event_active(b->pw->kick_ev, EV_TIMEOUT, 0);
	return c;
}

bool
bmc_cmd_running(const struct bmc_cmd *c)
{
	return c != NULL && c->run != NULL && c->run->proc != NULL;
}

void
bmc_cmd_note_timeout(struct bmc_cmd *c, const struct ipmi_outcome *o)
{
	if (!bmc_cmd_running(c) || c->run->timeout_noted)
		return;
	c->run->timeout_noted = true;
	bmc_note(c->run->bmc, o);
}

void
bmc_kick_cb(evutil_socket_t fd, short ev, void *arg)
{
	sched_kick(arg);
}

void
bmc_cmd_cancel(struct bmc_cmd *c)
{
	struct bmc_run *run;

	if (c == NULL)
		return;
	run = c->run;
	TAILQ_REMOVE(&run->waiters, c, entry);
	run->nwaiters--;
	free(c);
	if (run->nwaiters > 0)
		return;		/* the others still want its answer */
	if (run->proc != NULL) {
		run->abandoned = true;
		proc_cancel(run->proc);	/* proc_done frees the run */
		return;
	}
	TAILQ_REMOVE(&run->bmc->pending, run, entry);
	if (TAILQ_EMPTY(&run->bmc->pending))
		ready_remove(run->bmc);
	free(run);
}

int
bmc_route_check(const char *address, int port, char **cause)
{
	struct addrinfo hints, *res = NULL;
	char portbuf[16];
	int fd, rc = 0, e;

	memset(&hints, 0, sizeof hints);
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	hints.ai_socktype = SOCK_DGRAM;
	snprintf(portbuf, sizeof portbuf, "%d", port);
	if (getaddrinfo(address, portbuf, &hints, &res) != 0)
		return 0;	/* a host name: ipmitool resolves it */
	/* connect() on a UDP socket only looks the route up: no packet. */
	fd = socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd != -1) {
		if (connect(fd, res->ai_addr, res->ai_addrlen) == -1) {
			e = errno;
			if (e == ENETUNREACH || e == EHOSTUNREACH ||
			    e == EACCES || e == EPERM) {
				xasprintf(cause, "Could not contact node's BMC: "
				    "this rack controller has no route to %s "
				    "(%s)", address, strerror(e));
				rc = -1;
			}
		}
		close(fd);
	}
	freeaddrinfo(res);
	return rc;
}

void
bmc_table_free(struct power *pw)
{
	struct bmc *b;
	struct bmc_run *run;
	struct bmc_cmd *c;

	while ((b = TAILQ_FIRST(&pw->bmcs)) != NULL) {
		TAILQ_REMOVE(&pw->bmcs, b, entry);
		while ((run = TAILQ_FIRST(&b->pending)) != NULL) {
			TAILQ_REMOVE(&b->pending, run, entry);
			while ((c = TAILQ_FIRST(&run->waiters)) != NULL) {
				TAILQ_REMOVE(&run->waiters, c, entry);
				free(c);
			}
			free(run);
		}
		if (b->gap_timer != NULL)
			event_free(b->gap_timer);
		free(b->last_error);
		free(b->key);
		free(b);
	}
	TAILQ_INIT(&pw->ready);
	pw->nbmcs = 0;
}
