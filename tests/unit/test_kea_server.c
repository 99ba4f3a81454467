/*
 * test_kea_server.c — kea_ctl and kea_server against a real kea-dhcp4
 * 2.2.  The configs open no DHCP sockets (interfaces-config lists no
 * interfaces, spec D.2), so nothing leaves the machine: the control
 * socket, lease file, pid/lock files and log live in a per-test temp dir.
 * HA tests use a standalone instance whose peer (127.0.0.2, a high port)
 * is absent, with short timers so it reaches partner-down in about 1 s.
 *
 * Skips with a message unless run as root with /usr/sbin/kea-dhcp4.
 * Every wait polls against a deadline; teardown frees the server (SIGKILL
 * to any Kea still running), reaps through proc_runner_free(), and
 * removes the temp dir, also after a failed assertion.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "kea.h"
#include "log.h"
#include "proc.h"
#include "rackd.h"
#include "xmalloc.h"

#define KEA4		"/usr/sbin/kea-dhcp4"
#define HOOKS		"/usr/lib/x86_64-linux-gnu/kea/hooks"
#define APPLY_MS	30000	/* MAAS's RPC wait: every apply must fit */

struct t {
	struct event_base	*base;
	struct proc_runner	*runner;
	struct kea_server	*ks;
	struct kea_server	*peer;	/* HA pair test: the standby */
	struct event		*tick;
	char			 dir[64];
	char			 conf[128];
	char			 sock[128];
	char			 log[128];
	enum kea_reconfig	 reconfig;

	/* last apply */
	int			 napplied;
	struct kea_apply_result	 res;
	char			 err[512];

	/* last ctl */
	int			 nctl;
	int			 ctl_result;
	json_t			*ctl_reply;
	char			 ctl_text[512];

	int			 nstopped;
	int			 nstate;
};

static bool
skip_reason(void)
{
	if (geteuid() != 0) {
		print_message("[  SKIP    ] test_kea_server: needs root\n");
		return true;
	}
	if (access(KEA4, X_OK) != 0) {
		print_message("[  SKIP    ] test_kea_server: no %s\n", KEA4);
		return true;
	}
	return false;
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
}

static void
state_cb(struct kea_server *ks, const struct kea_server_status *st,
    void *arg)
{
	struct t *t = arg;

	t->nstate++;
}

static void
new_server(struct t *t, enum kea_reconfig rc)
{
	struct kea_server_opts o;
	char *cause = NULL;

	memset(&o, 0, sizeof(o));
	o.name = "test";
	o.family = 4;
	o.binary = KEA4;
	o.config_path = t->conf;
	o.socket_path = t->sock;
	o.run_dir = t->dir;
	o.log_path = t->log;
	o.reconfig = rc;
	o.backoff_min_ms = 300;
	o.backoff_max_ms = 1200;
	o.poll_ms = 200;
	o.state_cb = state_cb;
	o.state_arg = t;
	t->ks = kea_server_new(t->base, t->runner, &o, &cause);
	if (t->ks == NULL)
		fail_msg("kea_server_new: %s", cause);
}

static int
setup(void **state)
{
	struct t *t;
	struct timeval tv = { 0, 20000 };

	t = xcalloc(1, sizeof(*t));
	snprintf(t->dir, sizeof(t->dir), "/tmp/kst-XXXXXX");
	if (mkdtemp(t->dir) == NULL) {
		free(t);
		return -1;
	}
	snprintf(t->conf, sizeof(t->conf), "%s/kea4-test.conf", t->dir);
	snprintf(t->sock, sizeof(t->sock), "%s/kea4-test.sock", t->dir);
	snprintf(t->log, sizeof(t->log), "%s/kea4-test.log", t->dir);
	t->base = event_base_new();
	t->runner = proc_runner_new(t->base, 4);
	/* Wake the loop often so deadlines are checked. */
	t->tick = event_new(t->base, -1, EV_PERSIST, tick_cb, NULL);
	event_add(t->tick, &tv);
	*state = t;
	return 0;
}

static int
rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

static int
teardown(void **state)
{
	struct t *t = *state;

	kea_server_free(t->ks);		/* SIGKILLs a running Kea */
	kea_server_free(t->peer);
	proc_runner_free(t->runner);	/* and reaps it */
	event_free(t->tick);
	event_base_free(t->base);
	json_decref(t->ctl_reply);
	if (getenv("KST_KEEP") == NULL)
		nftw(t->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(t);
	return 0;
}

/* Run the loop until cond(t) or ms pass; true if cond held. */
static bool
run_until(struct t *t, bool (*cond)(struct t *), int ms)
{
	uint64_t end = rackd_now_ms() + (uint64_t)ms;

	while (!cond(t)) {
		if (rackd_now_ms() >= end)
			return false;
		event_base_loop(t->base, EVLOOP_ONCE);
	}
	return true;
}

static void
run_for(struct t *t, int ms)
{
	uint64_t end = rackd_now_ms() + (uint64_t)ms;

	while (rackd_now_ms() < end)
		event_base_loop(t->base, EVLOOP_ONCE);
}

/* --- configs ----------------------------------------------------------- */

static json_t *
base_config(struct t *t, int valid_lifetime)
{
	char lease[160];

	/* The socket name is forced to the server's own by kea_server. */
	snprintf(lease, sizeof(lease), "%s/%s.leases", t->dir,
	    strrchr(t->conf, '/') + 1);
	return json_pack("{s:{s:{s:[]}, s:{s:s, s:s}, s:{s:s, s:b, s:s, s:i},"
	    " s:i, s:[{s:s}], s:[{s:i, s:s, s:[{s:s}], s:[{s:s, s:s}]}],"
	    " s:[{s:s, s:s, s:[{s:s}]}]}}",
	    "Dhcp4",
	    "interfaces-config", "interfaces",
	    "control-socket", "socket-type", "unix", "socket-name", t->sock,
	    "lease-database", "type", "memfile", "persist", 1, "name", lease,
	    "lfc-interval", 0,
	    "valid-lifetime", valid_lifetime,
	    "hooks-libraries", "library", HOOKS "/libdhcp_lease_cmds.so",
	    "subnet4", "id", 1, "subnet", "10.99.0.0/24", "pools", "pool",
	    "10.99.0.10 - 10.99.0.100", "reservations", "hw-address",
	    "02:00:00:00:00:01", "ip-address", "10.99.0.5",
	    "loggers", "name", "kea-dhcp4", "severity", "INFO",
	    "output_options", "output", "stderr");
}

static json_t *
d4(json_t *c)
{
	return json_object_get(c, "Dhcp4");
}

static json_t *
ha_entry(int heartbeat, const char *me)
{
	return json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:i,"
	    " s:{s:b, s:b, s:i, s:i}, s:[{s:s, s:s, s:s, s:b},"
	    " {s:s, s:s, s:s, s:b}]}",
	    "this-server-name", me, "mode", "hot-standby",
	    "heartbeat-delay", heartbeat, "max-response-delay", 1000,
	    "max-ack-delay", 1000, "max-unacked-clients", 0,
	    "sync-timeout", 5000,
	    "multi-threading", "enable-multi-threading", 1,
	    "http-dedicated-listener", 1, "http-listener-threads", 1,
	    "http-client-threads", 1,
	    "peers",
	    "name", "rack-127.0.0.1", "url", "http://127.0.0.1:28647/",
	    "role", "primary", "auto-failover", 1,
	    "name", "rack-127.0.0.2", "url", "http://127.0.0.2:28647/",
	    "role", "standby", "auto-failover", 1);
}

/* A standalone HA primary whose partner never answers. */
static json_t *
ha_config_as(struct t *t, int valid_lifetime, int nentries, const char *me)
{
	json_t *c = base_config(t, valid_lifetime), *hal;
	int i;

	json_object_set_new(d4(c), "multi-threading", json_pack(
	    "{s:b, s:i, s:i}", "enable-multi-threading", 1,
	    "thread-pool-size", 2, "packet-queue-size", 16));
	hal = json_array();
	for (i = 0; i < nentries; i++)
		json_array_append_new(hal, ha_entry(500, me));
	json_array_append_new(json_object_get(d4(c), "hooks-libraries"),
	    json_pack("{s:s, s:{s:o}}", "library", HOOKS "/libdhcp_ha.so",
	    "parameters", "high-availability", hal));
	return c;
}

static json_t *
ha_config(struct t *t, int valid_lifetime, int nentries)
{
	return ha_config_as(t, valid_lifetime, nentries, "rack-127.0.0.1");
}

/* --- callbacks and waits --------------------------------------------- */

static void
apply_cb(const struct kea_apply_result *r, void *arg)
{
	struct t *t = arg;

	t->napplied++;
	t->res = *r;
	snprintf(t->err, sizeof(t->err), "%s", r->error ? r->error : "");
	t->res.error = t->err;
}

static bool
applied(struct t *t)
{
	return t->napplied > 0;
}

static void
apply(struct t *t, json_t *config)
{
	uint64_t t0 = rackd_now_ms();

	t->napplied = 0;
	kea_server_apply(t->ks, config, apply_cb, t);
	/* Never from inside the call. */
	assert_int_equal(t->napplied, 0);
	if (!run_until(t, applied, APPLY_MS))
		fail_msg("apply did not finish within %d ms", APPLY_MS);
	assert_int_equal(t->napplied, 1);
	print_message("  apply: status %d restarted %d rolled_back %d in "
	    "%llu ms%s%s\n", t->res.status, t->res.restarted,
	    t->res.rolled_back, (unsigned long long)(rackd_now_ms() - t0),
	    t->err[0] ? ": " : "", t->err);
}

static void
ctl_cb(int result, json_t *reply, const char *text, void *arg)
{
	struct t *t = arg;

	t->nctl++;
	t->ctl_result = result;
	json_decref(t->ctl_reply);
	t->ctl_reply = json_incref(reply);
	snprintf(t->ctl_text, sizeof(t->ctl_text), "%s", text ? text : "");
}

static bool
ctl_done(struct t *t)
{
	return t->nctl > 0;
}

static int
ctl(struct t *t, const char *command)
{
	char *cause = NULL;

	t->nctl = 0;
	if (kea_ctl_send(t->base, t->sock, command, NULL, 5000, ctl_cb, t,
	    &cause) == NULL)
		fail_msg("kea_ctl_send: %s", cause);
	assert_int_equal(t->nctl, 0);
	assert_true(run_until(t, ctl_done, 8000));
	return t->ctl_result;
}

/* The running valid-lifetime, from config-get. */
static int
running_lifetime(struct t *t)
{
	assert_int_equal(ctl(t, "config-get"), 0);
	return (int)json_integer_value(json_object_get(d4(json_object_get(
	    t->ctl_reply, "arguments")), "valid-lifetime"));
}

static struct kea_server_status cur;

static void
status(struct t *t)
{
	kea_server_status(t->ks, &cur);
}

static bool
is_running(struct t *t)
{
	status(t);
	return cur.state == KEA_SERVER_RUNNING && cur.pid > 0;
}

static int want_state_pid;
static const char *want_ha;

static bool
running_new_pid(struct t *t)
{
	status(t);
	return cur.state == KEA_SERVER_RUNNING && cur.pid > 0 &&
	    cur.pid != want_state_pid;
}

static bool
ha_state_is(struct t *t)
{
	status(t);
	return cur.state == KEA_SERVER_RUNNING && cur.polled &&
	    strcmp(cur.ha_state, want_ha) == 0;
}

static bool
pid_gone(int pid)
{
	return kill(pid, 0) == -1 && errno == ESRCH;
}

/* Apply the base config and check it serves. */
static int
start_base(struct t *t)
{
	json_t *c;

	new_server(t, t->reconfig);
	c = base_config(t, 600);
	apply(t, c);
	json_decref(c);
	assert_int_equal(t->res.status, KEA_APPLY_APPLIED);
	assert_true(t->res.restarted);
	assert_true(is_running(t));
	assert_int_equal(ctl(t, "status-get"), 0);
	assert_int_equal(running_lifetime(t), 600);
	return cur.pid;
}

/* --- tests ----------------------------------------------------------- */

static void
test_ctl_missing_socket(void **state)
{
	struct t *t = *state;
	char *cause = NULL, path[200];

	snprintf(t->sock, sizeof(t->sock), "%s/nothing.sock", t->dir);
	assert_int_equal(ctl(t, "status-get"), KEA_CTL_ETRANSPORT);
	assert_null(t->ctl_reply);
	assert_non_null(strstr(t->ctl_text, t->sock));
	assert_non_null(strstr(t->ctl_text, "No such file"));

	/* Unusable requests fail at once and never call back. */
	memset(path, 'x', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	t->nctl = 0;
	assert_null(kea_ctl_send(t->base, path, "status-get",
	    json_object(), 1000, ctl_cb, t, &cause));
	assert_non_null(cause);
	free(cause);
	run_for(t, 50);
	assert_int_equal(t->nctl, 0);
}

static void
test_apply_unchanged_and_change(void **state)
{
	struct t *t = *state;
	json_t *c;
	int pid;

	pid = start_base(t);
	assert_true(access(t->conf, F_OK) == 0);

	/* Identical: skipped, same process. */
	c = base_config(t, 600);
	apply(t, c);
	json_decref(c);
	assert_int_equal(t->res.status, KEA_APPLY_UNCHANGED);
	status(t);
	assert_int_equal(cur.pid, pid);

	/* Changed, no HA: config-set on the running process. */
	c = base_config(t, 900);
	apply(t, c);
	json_decref(c);
	assert_int_equal(t->res.status, KEA_APPLY_APPLIED);
	assert_false(t->res.restarted);
	status(t);
	assert_int_equal(cur.pid, pid);
	assert_int_equal(running_lifetime(t), 900);
	/* The good copy on disk is what a restart would use. */
	{
		char good[160];
		json_t *g;

		snprintf(good, sizeof(good), "%s.good", t->conf);
		g = json_load_file(good, 0, NULL);
		assert_non_null(g);
		assert_int_equal(json_integer_value(json_object_get(d4(g),
		    "valid-lifetime")), 900);
		json_decref(g);
	}
}

static void
test_apply_broken_keeps_old(void **state)
{
	struct t *t = *state;
	json_t *c, *r;
	int pid;

	pid = start_base(t);

	/* A reservation outside its subnet: kea -t catches it. */
	c = base_config(t, 1200);
	r = json_array_get(json_object_get(json_array_get(json_object_get(
	    d4(c), "subnet4"), 0), "reservations"), 0);
	json_object_set_new(r, "ip-address", json_string("10.98.0.5"));
	apply(t, c);
	json_decref(c);
	assert_int_equal(t->res.status, KEA_APPLY_FAILED);
	assert_false(t->res.rolled_back);
	assert_non_null(strstr(t->err, "DHCP4_PARSER_FAIL"));
	assert_non_null(strstr(t->err, "10.98.0.5"));
	assert_non_null(strstr(t->err, "reservation"));
	status(t);
	assert_int_equal(cur.state, KEA_SERVER_RUNNING);
	assert_int_equal(cur.pid, pid);
	assert_int_equal(ctl(t, "status-get"), 0);
	assert_int_equal(running_lifetime(t), 600);

	/* Two HA entries: refused by our own check (-t would pass it). */
	c = ha_config(t, 1300, 2);
	apply(t, c);
	json_decref(c);
	assert_int_equal(t->res.status, KEA_APPLY_FAILED);
	assert_non_null(strstr(t->err, "high-availability"));
	assert_non_null(strstr(t->err, "exactly one"));
	status(t);
	assert_int_equal(cur.pid, pid);
	assert_int_equal(running_lifetime(t), 600);
}

static void
test_apply_rollback(void **state)
{
	struct t *t = *state;
	json_t *c;
	int pid;

	pid = start_base(t);

	/* Passes -t but config-set fails (and cripples Kea: thread pool
	 * 0): the last good config must be re-sent. */
	c = base_config(t, 1400);
	json_object_set_new(json_object_get(d4(c), "lease-database"), "name",
	    json_string("/nonexistent-kst/leases.csv"));
	apply(t, c);
	json_decref(c);
	assert_int_equal(t->res.status, KEA_APPLY_FAILED);
	assert_true(t->res.rolled_back);
	assert_non_null(strstr(t->err, "config-set"));
	assert_non_null(strstr(t->err, "/nonexistent-kst/leases.csv"));
	status(t);
	assert_int_equal(cur.state, KEA_SERVER_RUNNING);
	assert_int_equal(cur.pid, pid);
	assert_int_equal(running_lifetime(t), 600);

	/* The same good config again is unchanged. */
	c = base_config(t, 600);
	apply(t, c);
	json_decref(c);
	assert_int_equal(t->res.status, KEA_APPLY_UNCHANGED);
}

static void
test_first_start_fails(void **state)
{
	struct t *t = *state;
	json_t *c;
	char info[256];

	new_server(t, KEA_RECONFIG_CONFIG_SET);
	c = base_config(t, 600);
	json_object_set_new(json_object_get(d4(c), "lease-database"), "name",
	    json_string("/nonexistent-kst/leases.csv"));
	apply(t, c);
	json_decref(c);
	assert_int_equal(t->res.status, KEA_APPLY_FAILED);
	assert_non_null(strstr(t->err, "start-up"));
	status(t);
	assert_int_equal(cur.state, KEA_SERVER_DEAD);
	assert_string_equal(kea_server_service_status(&cur, info,
	    sizeof(info)), "dead");
	assert_true(access(t->sock, F_OK) != 0);
	assert_true(access(t->conf, F_OK) != 0);	/* nothing to restart */
}

static void
test_crash_restart(void **state)
{
	struct t *t = *state;
	json_t *c;
	int pid;

	pid = start_base(t);
	c = base_config(t, 700);
	apply(t, c);
	json_decref(c);
	assert_int_equal(t->res.status, KEA_APPLY_APPLIED);

	assert_int_equal(kill(pid, SIGKILL), 0);
	want_state_pid = pid;
	/* backoff_min 300 ms + start-up; generous on a loaded box. */
	if (!run_until(t, running_new_pid, 8000))
		fail_msg("not restarted: state %d error '%s'", cur.state,
		    cur.last_error);
	assert_int_equal(cur.restarts, 1);
	assert_non_null(strstr(cur.last_error, "signal 9"));
	assert_int_equal(running_lifetime(t), 700);	/* the last good */

	/* And again: the backoff doubles but it still comes back. */
	pid = cur.pid;
	assert_int_equal(kill(pid, SIGKILL), 0);
	want_state_pid = pid;
	assert_true(run_until(t, running_new_pid, 8000));
	assert_int_equal(cur.restarts, 2);
}

static void
stopped_cb(void *arg)
{
	struct t *t = arg;

	t->nstopped++;
}

static bool
stopped(struct t *t)
{
	return t->nstopped > 0;
}

static void
test_stop(void **state)
{
	struct t *t = *state;
	char info[256];
	json_t *c;
	int pid;

	pid = start_base(t);
	kea_server_stop(t->ks, stopped_cb, t);
	assert_int_equal(t->nstopped, 0);
	assert_true(run_until(t, stopped, 8000));
	assert_true(pid_gone(pid));
	assert_true(access(t->sock, F_OK) != 0);
	status(t);
	assert_int_equal(cur.state, KEA_SERVER_OFF);
	assert_string_equal(kea_server_service_status(&cur, info,
	    sizeof(info)), "off");
	/* No restart after a stop. */
	run_for(t, 800);
	status(t);
	assert_int_equal(cur.state, KEA_SERVER_OFF);

	/* The same config again starts it: not "unchanged" while off. */
	c = base_config(t, 600);
	apply(t, c);
	json_decref(c);
	assert_int_equal(t->res.status, KEA_APPLY_APPLIED);
	assert_true(is_running(t));

	/* A fresh server on the same paths can start the saved good one. */
	kea_server_stop(t->ks, stopped_cb, t);
	t->nstopped = 0;
	assert_true(run_until(t, stopped, 8000));
	kea_server_free(t->ks);
	t->ks = NULL;
	new_server(t, KEA_RECONFIG_CONFIG_SET);
	assert_int_equal(kea_server_start(t->ks), 0);
	assert_true(run_until(t, is_running, 8000));
	assert_int_equal(running_lifetime(t), 600);
}

/* HA instance: apply, settle to partner-down, reconfigure per policy. */
static void
ha_reconfigure(struct t *t, enum kea_reconfig rc, bool expect_restart)
{
	char info[256];
	json_t *c;
	uint64_t t0;
	int pid;

	new_server(t, rc);
	c = ha_config(t, 600, 1);
	t0 = rackd_now_ms();
	apply(t, c);
	json_decref(c);
	assert_int_equal(t->res.status, KEA_APPLY_APPLIED);
	status(t);
	assert_true(cur.ha);
	assert_true(cur.ha_present);
	assert_string_equal(cur.ha_role, "primary");
	want_ha = "partner-down";
	if (!run_until(t, ha_state_is, 10000))
		fail_msg("HA state '%s', not partner-down", cur.ha_state);
	print_message("  HA: start to partner-down %llu ms\n",
	    (unsigned long long)(rackd_now_ms() - t0));
	assert_string_equal(kea_server_service_status(&cur, info,
	    sizeof(info)), "running");
	assert_string_equal(info, "partner-down (primary)");
	pid = cur.pid;

	c = ha_config(t, 800, 1);
	t0 = rackd_now_ms();
	apply(t, c);
	json_decref(c);
	assert_int_equal(t->res.status, KEA_APPLY_APPLIED);
	assert_int_equal(t->res.restarted, expect_restart);
	status(t);
	assert_true(expect_restart ? cur.pid != pid : cur.pid == pid);
	assert_int_equal(running_lifetime(t), 800);
	if (!run_until(t, ha_state_is, 10000))
		fail_msg("HA state '%s' after reconfigure", cur.ha_state);
	print_message("  HA: reconfigure (%s) to partner-down %llu ms\n",
	    expect_restart ? "restart" : "config-set",
	    (unsigned long long)(rackd_now_ms() - t0));
}

static void
test_ha_config_set(void **state)
{
	ha_reconfigure(*state, KEA_RECONFIG_CONFIG_SET, false);
}

static void
test_ha_restart(void **state)
{
	ha_reconfigure(*state, KEA_RECONFIG_RESTART_HA, true);
}

/*
 * A real hot-standby pair on loopback (127.0.0.1 primary, 127.0.0.2
 * standby), both supervised here: reconfigure each side several times
 * with config-set while the partner is up (the path FINDINGS.md found
 * safe on 2.2.0) and check the process survives and HA comes back.
 */
static bool
pair_hot_standby(struct t *t)
{
	struct kea_server_status a, b;

	kea_server_status(t->ks, &a);
	kea_server_status(t->peer, &b);
	return strcmp(a.ha_state, "hot-standby") == 0 &&
	    strcmp(b.ha_state, "hot-standby") == 0;
}

static void
swap(struct t *t, char *save_conf, char *save_sock)
{
	struct kea_server *k = t->ks;
	char tmp[128];

	t->ks = t->peer;
	t->peer = k;
	snprintf(tmp, sizeof(tmp), "%s", t->conf);
	snprintf(t->conf, sizeof(t->conf), "%s", save_conf);
	snprintf(save_conf, 128, "%s", tmp);
	snprintf(tmp, sizeof(tmp), "%s", t->sock);
	snprintf(t->sock, sizeof(t->sock), "%s", save_sock);
	snprintf(save_sock, 128, "%s", tmp);
}

static void
test_ha_pair_config_set(void **state)
{
	struct t *t = *state;
	char conf2[128], sock2[128];
	json_t *c;
	uint64_t t0;
	int i, side, pid;

	/* The standby: its own paths, swapped in while it is handled. */
	snprintf(conf2, sizeof(conf2), "%s/kea4-peer.conf", t->dir);
	snprintf(sock2, sizeof(sock2), "%s/kea4-peer.sock", t->dir);
	new_server(t, KEA_RECONFIG_CONFIG_SET);
	swap(t, conf2, sock2);
	snprintf(t->log, sizeof(t->log), "%s/kea4-peer.log", t->dir);
	new_server(t, KEA_RECONFIG_CONFIG_SET);
	c = ha_config_as(t, 600, 1, "rack-127.0.0.2");
	t0 = rackd_now_ms();
	apply(t, c);
	json_decref(c);
	assert_int_equal(t->res.status, KEA_APPLY_APPLIED);
	swap(t, conf2, sock2);
	c = ha_config(t, 600, 1);
	apply(t, c);
	json_decref(c);
	assert_int_equal(t->res.status, KEA_APPLY_APPLIED);
	if (!run_until(t, pair_hot_standby, 15000))
		fail_msg("pair never reached hot-standby");
	print_message("  pair: cold start to hot-standby/hot-standby %llu ms\n",
	    (unsigned long long)(rackd_now_ms() - t0));

	for (i = 0; i < 6; i++) {
		side = i % 2;		/* primary, standby, ... */
		if (side)
			swap(t, conf2, sock2);
		status(t);
		pid = cur.pid;
		c = ha_config_as(t, 700 + i, 1, side ? "rack-127.0.0.2" :
		    "rack-127.0.0.1");
		t0 = rackd_now_ms();
		apply(t, c);
		json_decref(c);
		assert_int_equal(t->res.status, KEA_APPLY_APPLIED);
		assert_false(t->res.restarted);
		assert_int_equal(running_lifetime(t), 700 + i);
		if (side)
			swap(t, conf2, sock2);
		/* Let a poll see the restarted HA state machine first. */
		run_for(t, 300);
		if (!run_until(t, pair_hot_standby, 15000))
			fail_msg("pair not back to hot-standby after "
			    "reconfigure %d", i);
		if (side)
			swap(t, conf2, sock2);
		status(t);
		assert_int_equal(cur.pid, pid);		/* did not crash */
		assert_int_equal(cur.restarts, 0);
		if (side)
			swap(t, conf2, sock2);
		print_message("  pair: config-set on the %s, back to "
		    "hot-standby in %llu ms\n", side ? "standby" : "primary",
		    (unsigned long long)(rackd_now_ms() - t0));
	}
}

static void
test_service_status(void **state)
{
	struct kea_server_status st;
	char info[256];

	memset(&st, 0, sizeof(st));
	assert_string_equal(kea_server_service_status(&st, info,
	    sizeof(info)), "off");
	st.state = KEA_SERVER_DEAD;
	snprintf(st.last_error, sizeof(st.last_error), "exited with status 1");
	assert_string_equal(kea_server_service_status(&st, info,
	    sizeof(info)), "dead");
	assert_string_equal(info, "exited with status 1");

	memset(&st, 0, sizeof(st));
	st.state = KEA_SERVER_RUNNING;
	st.polled = st.poll_ok = true;
	snprintf(st.sockets, sizeof(st.sockets), "ready");
	assert_string_equal(kea_server_service_status(&st, info,
	    sizeof(info)), "running");
	snprintf(st.sockets, sizeof(st.sockets), "failed");
	snprintf(st.socket_error, sizeof(st.socket_error), "no such iface");
	assert_string_equal(kea_server_service_status(&st, info,
	    sizeof(info)), "degraded");
	assert_non_null(strstr(info, "no such iface"));

	snprintf(st.sockets, sizeof(st.sockets), "ready");
	st.ha = st.ha_present = true;
	snprintf(st.ha_role, sizeof(st.ha_role), "standby");
	snprintf(st.ha_state, sizeof(st.ha_state), "hot-standby");
	st.ha_state_ms = rackd_now_ms();
	assert_string_equal(kea_server_service_status(&st, info,
	    sizeof(info)), "running");
	assert_string_equal(info, "hot-standby (standby)");
	snprintf(st.ha_state, sizeof(st.ha_state), "terminated");
	assert_string_equal(kea_server_service_status(&st, info,
	    sizeof(info)), "degraded");
	/* waiting: fine briefly, degraded when it lasts */
	snprintf(st.ha_state, sizeof(st.ha_state), "waiting");
	assert_string_equal(kea_server_service_status(&st, info,
	    sizeof(info)), "running");
	st.ha_state_ms = rackd_now_ms() - KEA_HA_SETTLE_MS - 1;
	assert_string_equal(kea_server_service_status(&st, info,
	    sizeof(info)), "degraded");
	assert_string_equal(info, "waiting (standby)");
	st.polled = true;
	st.poll_ok = false;
	snprintf(st.poll_error, sizeof(st.poll_error), "x.sock: timed out");
	assert_string_equal(kea_server_service_status(&st, info,
	    sizeof(info)), "degraded");
}

int
main(void)
{
	const struct CMUnitTest all[] = {
		cmocka_unit_test(test_service_status),
		cmocka_unit_test_setup_teardown(test_ctl_missing_socket,
		    setup, teardown),
	};
	const struct CMUnitTest kea[] = {
		cmocka_unit_test_setup_teardown(test_apply_unchanged_and_change,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_broken_keeps_old,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_rollback,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_first_start_fails,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_restart,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ha_config_set,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_ha_restart,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_ha_pair_config_set,
		    setup, teardown),
	};
	int rc;

	log_init("test_kea_server", getenv("KST_DEBUG") != NULL);
	signal(SIGPIPE, SIG_IGN);
	rc = cmocka_run_group_tests_name("kea_ctl", all, NULL, NULL);
	if (skip_reason())
		return rc;
	rc |= cmocka_run_group_tests_name("kea_server", kea, NULL, NULL);
	return rc;
}
