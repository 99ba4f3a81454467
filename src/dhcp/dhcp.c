/*
 * dhcp.c — the DHCP service: ConfigureDHCPv4/v6 and ValidateDHCP*Config
 * from the region, the set of supervised Kea instances per family, the
 * lease service, and the dhcpd/dhcpd6 status.
 *
 * Applying (spec D.6).  Each family applies one configuration at a time.
 * A configuration arriving while one is being applied waits; when several
 * wait, only the newest is applied and every waiting request gets its
 * result, so a burst of re-sends costs one apply (MAAS re-sends often).
 * Identical configurations are skipped per instance (kea_server.c), so
 * they never restart Kea's HA.  The answer goes to the region when every
 * instance has answered, well inside MAAS's 30 s; a failure is
 * CannotConfigureDHCP naming the instance and the cause, and the failed
 * instance keeps serving its last known-good configuration.
 *
 * isc-dhcpd snippets cannot be fed to Kea: the rest is applied, each
 * skipped snippet is logged, and ValidateDHCP*Config returns them as
 * errors in MAAS's format.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <ifaddrs.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "dhcp.h"
#include "fileio.h"
#include "kea.h"
#include "kea_carry.h"
#include "kea_config.h"
#include "kea_resync.h"
#include "kea_tls.h"
#include "leases.h"
#include "log.h"
#include "metrics.h"
#include "proc.h"
#include "rackd.h"
#include "region.h"
#include "secret.h"
#include "xmalloc.h"

#define DHCP_MAX_WAITING	64	/* requests waiting for one apply */
#define DHCP_RESYNC_MS		120000	/* wait this long for an HA partner */

struct dhcp_inst {
	char			*name;
	struct kea_server	*srv;
	bool			 planned;	/* in the current plan */
	bool			 applied_early;	/* in phase 1 (family_apply) */
};

struct dhcp_waiter {
	struct region_request	*req;
};

struct dhcp_family {
	struct dhcp		*d;
	int			 family;
	struct dhcp_inst	*inst;
	size_t			 ninst;
	/* the apply in progress */
	bool			 applying;
	int			 outstanding;
	char			*errors;	/* joined failure texts */
	struct region_request	**reqs;
	size_t			 nreqs;
	/* the newest configuration waiting, and who waits for it */
	json_t			*next;
	struct region_request	**waiting;
	size_t			 nwaiting;
	uint64_t		 applies, skipped_requests;
	/* Lease carry (see family_apply): the plan waiting for the stops,
	 * how many stops are outstanding (+1 while issuing them), and
	 * whether a carry of this apply was not confirmed (then no lease
	 * file is retired). */
	struct kea_plan		 plan;
	int			 stopping;
	int			 phase;		/* of family_apply: 0 none, 1-3 */
	bool			 carry_failed;
	/* HA instances that took over subnets, waiting to pull their
	 * partner's leases (kea_resync.h). */
	struct kea_resync	**resyncs;
	char			**resync_names;
	size_t			 nresyncs;
	/* The last finished apply, for `rackd status` (dhcp_status_json). */
	uint64_t		 last_apply_ms;	/* 0 = none yet */
	char			*last_apply_error;	/* NULL = it worked */
};

struct dhcp {
	struct event_base	*base;
	struct region_pool	*pool;
	struct proc_runner	*runner;	/* Kea and kea -t children */
	struct leases		*leases;
	char			*run_dir, *data_dir;
	char			*kea4, *kea6, *hooks_dir, *hook_wrapper;
	char			*secret_file;	/* HA TLS credentials */
	bool			 ha_tls;
	char			 ha_tls_id[KEA_TLS_ID_LEN + 1];
	char			*hook_lib;	/* NULL: run_script */
	char			*hook_spool, *hook_socket;
	int			 ha_port, ha_port_v6, heartbeat_ms;
	int			 max_response_ms;
	bool			 v6_split;	/* dhcp.v6_failover: split */
	int			 max_ack_ms, max_unacked;
	struct dhcp_family	 v4, v6;
};

static void family_apply_next(struct dhcp_family *);

/* --- the rack's own addresses (next-server) ------------------------------ */

static int
cidr_contains(int family, const char *cidr, const void *addr)
{
	char net[INET6_ADDRSTRLEN];
	uint8_t nb[16];
	const uint8_t *a = addr;
	const char *slash = strchr(cidr, '/');
	int plen, i, bits, n = family == 4 ? 4 : 16;

	if (slash == NULL || (size_t)(slash - cidr) >= sizeof net)
		return 0;
	memcpy(net, cidr, (size_t)(slash - cidr));
	net[slash - cidr] = '\0';
	plen = atoi(slash + 1);
	if (inet_pton(family == 4 ? AF_INET : AF_INET6, net, nb) != 1)
		return 0;
	for (i = 0; i < n && plen > 0; i++, plen -= 8) {
		bits = plen >= 8 ? 8 : plen;
		if (((a[i] ^ nb[i]) & (uint8_t)(0xff << (8 - bits))) != 0)
			return 0;
	}
	return 1;
}

static int
rack_ip(void *arg, int family, const char *cidr, const char *ifname,
    char *buf, size_t len)
{
	struct ifaddrs *ifa, *i;
	const void *a;
	int found = -1, af = family == 4 ? AF_INET : AF_INET6;

	if (getifaddrs(&ifa) == -1)
		return -1;
	for (i = ifa; i != NULL && found == -1; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != af)
			continue;
		if (ifname != NULL && strcmp(i->ifa_name, ifname) != 0)
			continue;
		a = af == AF_INET ?
		    (const void *)&((struct sockaddr_in *)i->ifa_addr)->sin_addr :
		    (const void *)&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
		if (cidr != NULL && !cidr_contains(family, cidr, a))
			continue;
		if (inet_ntop(af, a, buf, (socklen_t)len) != NULL)
			found = 0;
	}
	freeifaddrs(ifa);
	return found;
}

/* --- instances ---------------------------------------------------------------- */

static struct dhcp_inst *
inst_find(struct dhcp_family *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->ninst; i++)
		if (strcmp(f->inst[i].name, name) == 0)
			return &f->inst[i];
	return NULL;
}

static char **
cause_p(char **c)
{
	return c;
}

static void add_error(struct dhcp_family *, const char *, ...)
    RACKD_PRINTF(2, 3);

static struct dhcp_inst *inst_new(struct dhcp_family *, const char *name,
    const char *socket_path);

static struct dhcp_inst *
inst_get(struct dhcp_family *f, const struct kea_instance *ki)
{
	struct dhcp_inst *in;

	if ((in = inst_find(f, ki->name)) != NULL)
		return in;
	return inst_new(f, ki->name, ki->socket_path);
}

static struct dhcp_inst *
inst_new(struct dhcp_family *f, const char *name, const char *socket_path)
{
	struct dhcp *d = f->d;
	struct dhcp_inst *in;
	struct kea_server_opts o;
	struct kea_server *srv;
	char *conf, *log, *cause = NULL;

	/* In data_dir, so the last known-good survives a reboot and rackd
	 * serves again before any region answers (dhcp_resume). */
	xasprintf(&conf, "%s/dhcp/kea%d-%s.conf", d->data_dir, f->family,
	    name);
	xasprintf(&log, "%s/kea%d-%s.log", d->run_dir, f->family, name);
	memset(&o, 0, sizeof o);
	o.name = name;
	o.family = f->family;
	o.binary = f->family == 4 ? d->kea4 : d->kea6;
	o.config_path = conf;
	o.socket_path = socket_path;
	o.run_dir = d->run_dir;
	o.log_path = log;
	o.reconfig = KEA_RECONFIG_RESTART_HA;
	srv = kea_server_new(d->base, d->runner, &o, cause_p(&cause));
	free(conf);
	free(log);
	if (srv == NULL) {
		add_error(f, "Kea instance %s: %s", name, cause);
		free(cause);
		return NULL;
	}
	f->inst = xreallocarray(f->inst, f->ninst + 1, sizeof *f->inst);
	in = &f->inst[f->ninst++];
	memset(in, 0, sizeof *in);
	in->name = xstrdup(name);
	in->srv = srv;
	return in;
}

static void family_apply_restarts(struct dhcp_family *);
static void family_apply_carry(struct dhcp_family *);

/* Drop the resyncs of instance name (NULL: the finished ones). */
static void
resync_drop(struct dhcp_family *f, const char *name)
{
	size_t i, j;

	for (i = j = 0; i < f->nresyncs; i++) {
		if (name != NULL ? strcmp(f->resync_names[i], name) == 0 :
		    kea_resync_finished(f->resyncs[i])) {
			kea_resync_free(f->resyncs[i]);
			free(f->resync_names[i]);
			continue;
		}
		f->resyncs[j] = f->resyncs[i];
		f->resync_names[j++] = f->resync_names[i];
	}
	f->nresyncs = j;
}

static void
resync_add(struct dhcp_family *f, const char *name, const char *socket,
    const json_t *config, bool hold)
{
	struct kea_resync *r;

	resync_drop(f, NULL);
	resync_drop(f, name);
	r = kea_resync_start(f->d->base, name, f->family, socket, config,
	    DHCP_RESYNC_MS, hold);
	if (r == NULL)
		return;		/* not HA */
	f->resyncs = xreallocarray(f->resyncs, f->nresyncs + 1,
	    sizeof *f->resyncs);
	f->resync_names = xreallocarray(f->resync_names, f->nresyncs + 1,
	    sizeof *f->resync_names);
	f->resyncs[f->nresyncs] = r;
	f->resync_names[f->nresyncs++] = xstrdup(name);
}

/* One stop of family_apply's first phase is done; the last one starts
 * the second. */
static void
family_stopped_one(struct dhcp_family *f)
{
	if (--f->stopping != 0)
		return;
	if (f->phase == 1) {
		f->phase = 2;
		family_apply_restarts(f);
	} else if (f->phase == 2) {
		f->phase = 3;
		family_apply_carry(f);
	}
}

static void
inst_restart_stopped(void *arg)
{
	family_stopped_one(arg);
}

struct prune_ctx {
	struct dhcp_family	*f;
	struct kea_server	*srv;
	char			*good;		/* its last known-good file */
};

/*
 * A pruned instance is gone: forget its last known-good configuration,
 * so the next rackd start does not resume an instance the region no
 * longer wants (it would serve the same subnets as their new instance).
 * Its lease file stays: the next instance of those subnets carries it.
 */
static void
inst_stop_done(void *arg)
{
	struct prune_ctx *c = arg;
	char *applied;

	kea_server_free(c->srv);
	xasprintf(&applied, "%s.applied", c->good);
	unlink(c->good);
	unlink(applied);
	free(applied);
	free(c->good);
	family_stopped_one(c->f);
	free(c);
}

/* Stop and forget instances the new plan does not have. */
static void
family_prune(struct dhcp_family *f)
{
	struct prune_ctx *c;
	size_t i, j;

	for (i = j = 0; i < f->ninst; i++) {
		if (f->inst[i].planned) {
			f->inst[j++] = f->inst[i];
			continue;
		}
		log_info("dhcp: stopping Kea instance %s (DHCPv%d): no longer "
		    "configured by the region", f->inst[i].name, f->family);
		resync_drop(f, f->inst[i].name);
		c = xcalloc(1, sizeof *c);
		c->f = f;
		c->srv = f->inst[i].srv;
		xasprintf(&c->good, "%s/dhcp/kea%d-%s.conf.good",
		    f->d->data_dir, f->family, f->inst[i].name);
		f->stopping++;
		kea_server_stop(f->inst[i].srv, inst_stop_done, c);
		free(f->inst[i].name);
	}
	f->ninst = j;
}

/* --- answering ------------------------------------------------------------------ */

static void
answer_all(struct dhcp_family *f)
{
	size_t i;

	for (i = 0; i < f->nreqs; i++) {
		if (f->errors == NULL)
			region_request_answer(f->reqs[i], NULL);
		else
			region_request_error(f->reqs[i], "CannotConfigureDHCP",
			    f->errors);
	}
	free(f->reqs);
	f->reqs = NULL;
	f->nreqs = 0;
}

/*
 * Once every planned instance confirmed what it was given (applied, and
 * any carried leases present in Kea), the lease files of instances that
 * no longer exist are retired: their leases of subnets still served are
 * held by the new instances.  Not when the family was switched off (the
 * files are what a later re-enable carries), nor after any failure (a
 * crash or a failed start must find them again).
 */
static void
family_retire(struct dhcp_family *f)
{
	const char **keep;
	char **names = NULL, *dir;
	size_t i, n;

	if (f->errors != NULL || f->carry_failed || f->plan.n == 0)
		return;
	keep = xcalloc(f->ninst + 1, sizeof *keep);
	for (i = 0; i < f->ninst; i++)
		keep[i] = f->inst[i].name;
	xasprintf(&dir, "%s/dhcp", f->d->data_dir);
	n = kea_carry_retire(dir, f->family, keep, f->ninst, &names);
	for (i = 0; i < n; i++) {
		log_info("dhcp: retired %s/%s: its instance is gone and the "
		    "instances now serving hold its leases", dir, names[i]);
		free(names[i]);
	}
	free(names);
	free(dir);
	free(keep);
}

static void
apply_finished(struct dhcp_family *f)
{
	f->last_apply_ms = rackd_now_ms();
	free(f->last_apply_error);
	f->last_apply_error = f->errors != NULL ? xstrdup(f->errors) : NULL;
	if (f->errors != NULL)
		log_warnx("dhcp: DHCPv%d configuration failed: %s", f->family,
		    f->errors);
	family_retire(f);
	kea_plan_free(&f->plan);
	memset(&f->plan, 0, sizeof f->plan);
	f->phase = 0;
	f->carry_failed = false;
	answer_all(f);
	free(f->errors);
	f->errors = NULL;
	f->applying = false;
	family_apply_next(f);
}

static void
add_error(struct dhcp_family *f, const char *fmt, ...)
{
	char *msg, *joined;
	va_list ap;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	if (f->errors == NULL)
		f->errors = msg;
	else {
		xasprintf(&joined, "%s; %s", f->errors, msg);
		free(f->errors);
		free(msg);
		f->errors = joined;
	}
}

struct apply_ctx {
	struct dhcp_family	*f;
	char			*name;
	char			*socket;	/* its control socket */
	struct kea_seed		 seed;		/* leases carried into it */
	struct kea_ctl		*ctl;
	json_t			*config;	/* what it was given */
	bool			 applied;	/* and it serves it */
	bool			 early;		/* a phase-1 apply */
};

static void
apply_ctx_done(struct apply_ctx *c)
{
	struct dhcp_family *f = c->f;

	/* Subnets new to an HA instance: its partner may hold leases it
	 * lacks (carried on the other rack), so pull them once in touch. */
	if (c->applied && c->seed.nsubnet_ids > 0)
		resync_add(f, c->name, c->socket, c->config, c->seed.n == 0);
	json_decref(c->config);
	kea_seed_free(&c->seed);
	free(c->name);
	free(c->socket);
	if (c->early) {
		free(c);
		family_stopped_one(f);
		return;
	}
	free(c);
	if (--f->outstanding == 0)
		apply_finished(f);
}

static int
addr_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

/* Does Kea hold every carried lease?  Only then may the source files go. */
static void
carry_verified(int result, json_t *reply, const char *text, void *arg)
{
	struct apply_ctx *c = arg;
	json_t *leases, *l;
	uint8_t a[16], (*hit)[16];
	size_t i, k, held = 0, n = c->seed.n;
	bool *seen = xcalloc(n, sizeof *seen);
	const char *ip;
	int af = c->f->family == 4 ? AF_INET : AF_INET6;

	c->ctl = NULL;
	leases = json_object_get(json_object_get(reply, "arguments"),
	    "leases");
	qsort(c->seed.addrs, n, sizeof *c->seed.addrs, addr_cmp);
	json_array_foreach(leases, i, l) {
		ip = json_string_value(json_object_get(l, "ip-address"));
		memset(a, 0, sizeof a);
		if (ip == NULL || inet_pton(af, ip, a) != 1)
			continue;
		hit = bsearch(a, c->seed.addrs, n, sizeof *c->seed.addrs,
		    addr_cmp);
		if (hit == NULL)
			continue;
		k = (size_t)(hit - c->seed.addrs);
		if (!seen[k]) {
			seen[k] = true;
			held++;
		}
	}
	free(seen);
	if (result != KEA_CTL_OK || held != n) {
		log_warnx("dhcp: Kea instance %s (DHCPv%d) holds %zu of the %zu "
		    "leases carried into it (%s); the old lease files are kept",
		    c->name, c->f->family, held, n, result == KEA_CTL_OK ?
		    "some missing" : text != NULL ? text : "no answer");
		c->f->carry_failed = true;
	} else {
		for (i = 0; i < c->seed.nlines; i++)
			log_info("dhcp: %s", c->seed.lines[i]);
	}
	apply_ctx_done(c);
}

static void
carry_verify(struct apply_ctx *c)
{
	json_t *args, *ids;
	char *cause = NULL;
	size_t i;

	ids = json_array();
	for (i = 0; i < c->seed.nsubnet_ids; i++)
		json_array_append_new(ids, json_integer(c->seed.subnet_ids[i]));
	args = json_pack("{s:o}", "subnets", ids);
	c->ctl = kea_ctl_send(c->f->d->base, c->socket, c->f->family == 4 ?
	    "lease4-get-all" : "lease6-get-all", args, 0, carry_verified, c,
	    &cause);
	if (c->ctl == NULL) {
		log_warnx("dhcp: Kea instance %s: cannot check the carried "
		    "leases: %s", c->name, cause);
		free(cause);
		c->f->carry_failed = true;
		apply_ctx_done(c);
	}
}

/* How the plan being applied has instance name serve ("" if unknown). */
static const char *
plan_mode(const struct dhcp_family *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->plan.n; i++)
		if (strcmp(f->plan.inst[i].name, name) == 0)
			return f->plan.inst[i].mode;
	return "";
}

static void
inst_applied(const struct kea_apply_result *r, void *arg)
{
	struct apply_ctx *c = arg;
	struct dhcp_family *f = c->f;

	c->applied = r->status != KEA_APPLY_FAILED;
	/* Which mode a VLAN is served in (v6: HA or MAAS's split) is the
	 * operator's first question; say it whenever a config takes effect. */
	if (r->status == KEA_APPLY_APPLIED)
		log_info("dhcp: Kea instance %s (DHCPv%d) serves as %s",
		    c->name, f->family, plan_mode(f, c->name));
	if (r->status != KEA_APPLY_FAILED && c->seed.n > 0) {
		carry_verify(c);
		return;
	}
	if (c->seed.n > 0)
		f->carry_failed = true;
	if (r->status == KEA_APPLY_FAILED)
		add_error(f, "Kea instance %s: %s", c->name,
		    r->error != NULL ? r->error : "apply failed");
	else if (r->status == KEA_APPLY_UNCHANGED)
		log_debug("dhcp: Kea instance %s (DHCPv%d): configuration "
		    "unchanged", c->name, f->family);
	else	/* kea_server.c logs it at info already */
		log_debug("dhcp: Kea instance %s (DHCPv%d): configuration "
		    "applied in %llu ms%s", c->name, f->family,
		    (unsigned long long)r->elapsed_ms,
		    r->restarted ? " (Kea started)" : "");
	apply_ctx_done(c);
}

/* --- applying -------------------------------------------------------------------- */

/* What the planner needs from rackd.conf and this rack. */
static void
dhcp_paths(struct dhcp *d, struct kea_paths *p)
{
	memset(p, 0, sizeof *p);
	p->run_dir = d->run_dir;
	p->data_dir = d->data_dir;
	p->lease_hook = d->hook_wrapper;	/* v6 too: the region takes ipv6 */
	p->lease_hook_lib = d->hook_lib;
	p->lease_spool = d->hook_spool;
	p->lease_socket = d->hook_socket;
	p->hooks_dir = d->hooks_dir;
	p->ha_port = d->ha_port;
	p->ha_port_v6 = d->ha_port_v6;
	p->v6_split = d->v6_split;
	p->ha_tls_id = d->ha_tls ? d->ha_tls_id : NULL;
	p->heartbeat_ms = d->heartbeat_ms;
	p->max_response_ms = d->max_response_ms;
	p->max_ack_ms = d->max_ack_ms;
	p->max_unacked = d->max_unacked;
	p->rack_ip = rack_ip;
	p->rack_ip_arg = d;
}

/*
 * The HA channel's TLS credentials (kea_tls.h), read from the secret at
 * every plan so a new secret gives new credentials without a restart.
 * Before the plan: the directory id (the secret can be missing only on a
 * rack that never registered; then no HA instance can be planned safely
 * and the cause comes back from dhcp_tls_provision).
 */
static void
dhcp_tls_id(struct dhcp *d)
{
	struct secret sec;

	if (!d->ha_tls)
		return;
	if (secret_load(d->secret_file, &sec, NULL) == 0) {
		kea_tls_id(sec.key, sec.len, d->ha_tls_id);
		secret_wipe(&sec);
	}
}

/* After the plan: write the credentials of every HA instance. */
static int
dhcp_tls_provision(struct dhcp *d, const struct kea_plan *plan,
    char **cause)
{
	struct secret sec;
	char *why = NULL, id[KEA_TLS_ID_LEN + 1];
	size_t i;
	int rc = 0;

	if (!d->ha_tls)
		return 0;
	for (i = 0; i < plan->n && !plan->inst[i].ha; i++)
		;
	if (i == plan->n)
		return 0;
	if (secret_load(d->secret_file, &sec, &why) == -1) {
		xasprintf(cause, "the HA channel needs TLS credentials derived "
		    "from the shared secret: %s", why);
		free(why);
		return -1;
	}
	for (i = 0; i < plan->n && rc == 0; i++) {
		if (plan->inst[i].ha)
			rc = kea_tls_provision(d->data_dir, sec.key, sec.len,
			    plan->inst[i].this_address, cause);
	}
	kea_tls_id(sec.key, sec.len, id);
	if (rc == 0 && kea_tls_prune(d->data_dir, id) > 0)
		log_info("dhcp: removed the HA TLS credentials of a previous "
		    "shared secret");
	secret_wipe(&sec);
	return rc;
}

/* An instance's last known-good document (what it served), or NULL. */
static json_t *
inst_good_doc(struct dhcp_family *f, const char *name)
{
	json_t *doc;
	char *path;

	xasprintf(&path, "%s/dhcp/kea%d-%s.conf.good", f->d->data_dir,
	    f->family, name);
	doc = json_load_file(path, 0, NULL);
	free(path);
	return doc;
}

static void
seed_log_warnings(const struct kea_seed *sd)
{
	size_t i;

	for (i = 0; i < sd->nwarnings; i++)
		log_warnx("dhcp: lease carry: %s (skipped)", sd->warnings[i]);
}

/* Apply an instance's new configuration before the carry (it gives
 * subnets up); phase 3 then leaves it alone. */
static void
apply_early(struct dhcp_family *f, struct dhcp_inst *in,
    const struct kea_instance *ki)
{
	struct apply_ctx *c;

	log_info("dhcp: Kea instance %s (DHCPv%d) gives subnets up: "
	    "reconfigured before any lease is carried", ki->name, f->family);
	c = xcalloc(1, sizeof *c);
	c->f = f;
	c->name = xstrdup(ki->name);
	c->socket = xstrdup(ki->socket_path);
	c->config = json_incref(ki->config);
	c->early = true;
	in->applied_early = true;
	f->stopping++;
	kea_server_apply(in->srv, ki->config, inst_applied, c);
}

/*
 * Applying a plan runs in phases, because of the lease carry.
 *
 * A VLAN whose subnets move to another Kea instance (standalone -> HA
 * when a secondary is added, HA -> standalone when it is removed, a
 * renamed instance) would otherwise start with an empty lease file and
 * hand out addresses machines still hold.  So:
 *   1. Stop the instances the plan drops, and reconfigure the running
 *      ones that only give subnets up; wait until that is done, so no
 *      Kea still serves a subnet that moves.
 *   2. Stop the running instances that take subnets over when a dry run
 *      finds leases to carry into them (so no Kea writes a file being
 *      seeded); wait again.
 *   3. For each planned instance, seed its memfile with the still-valid
 *      leases other instances' files hold for subnets it did not serve
 *      before (kea_carry.c), then apply its configuration as usual (a
 *      stopped one starts, loading the seeded file before it serves a
 *      packet).  After it is up, lease4-get-all confirms Kea holds every
 *      carried lease; only when every instance has confirmed are the
 *      files of instances that no longer exist retired (apply_finished).
 * The other rack of an HA pair gets them through Kea's HA lease sync:
 * Kea syncs only a server that starts while its partner answers, so each
 * HA instance that took over subnets also pulls its partner's leases
 * (ha-sync) once the pair is in touch, with its DHCP held until then when
 * this rack had nothing to carry (kea_resync.h).  A crash at any point
 * leaves the old files in place and the next apply carries again
 * (carrying is idempotent: only rows newer than the target's count).
 */
static void
family_apply(struct dhcp_family *f, json_t *args)
{
	struct dhcp *d = f->d;
	struct kea_paths p;
	struct kea_plan plan;
	struct kea_server_status st;
	struct dhcp_inst *in;
	json_t *old;
	char *cause = NULL;
	size_t i;

	f->applying = true;
	f->applies++;
	dhcp_tls_id(d);
	dhcp_paths(d, &p);
	if (kea_plan_build(args, f->family, &p, &plan, &cause) == -1) {
		add_error(f, "bad configuration: %s", cause);
		free(cause);
		json_decref(args);
		apply_finished(f);
		return;
	}
	if (dhcp_tls_provision(d, &plan, &cause) == -1) {
		add_error(f, "%s", cause);
		free(cause);
		kea_plan_free(&plan);
		json_decref(args);
		apply_finished(f);
		return;
	}
	json_decref(args);
	for (i = 0; i < plan.n_skipped; i++)
		log_warnx("dhcp: DHCPv%d: %s: isc-dhcpd snippet not applied "
		    "(Kea cannot use isc-dhcpd syntax)", f->family,
		    plan.skipped_snippets[i]);
	for (i = 0; i < plan.n_notes; i++)
		log_info("dhcp: DHCPv%d: %s", f->family, plan.notes[i]);
	for (i = 0; i < f->ninst; i++)
		f->inst[i].planned = false;
	for (i = 0; i < plan.n; i++) {
		if ((in = inst_get(f, &plan.inst[i])) != NULL)
			in->planned = true;
	}
	f->stopping++;		/* held while the stops are issued */
	family_prune(f);
	if (f->errors != NULL || plan.n == 0) {
		if (f->errors == NULL)
			log_info("dhcp: DHCPv%d off: the region configured no "
			    "shared network for this rack", f->family);
		kea_plan_free(&plan);
		f->stopping--;
		apply_finished(f);
		return;
	}
	f->plan = plan;
	f->phase = 1;
	for (i = 0; i < plan.n; i++) {
		in = inst_find(f, plan.inst[i].name);
		in->applied_early = false;
		kea_server_status(in->srv, &st);
		if (st.state == KEA_SERVER_OFF)
			continue;
		old = inst_good_doc(f, plan.inst[i].name);
		/* Gives subnets up and takes none: reconfigure it now. */
		if (kea_config_loses_subnets(old, plan.inst[i].config,
		    f->family) && !kea_config_loses_subnets(
		    plan.inst[i].config, old, f->family))
			apply_early(f, in, &plan.inst[i]);
		json_decref(old);
	}
	family_stopped_one(f);	/* phase 2 now, or after the last one */
}

/*
 * Phase 2: every file a moving subnet's leases can be in is quiet now.
 * A running instance that takes subnets over is stopped when a dry run
 * finds leases to carry into it; one that takes subnets over with
 * nothing to carry but also gives some up is reconfigured now.
 */
static void
family_apply_restarts(struct dhcp_family *f)
{
	struct kea_plan *plan = &f->plan;
	struct kea_server_status st;
	struct kea_seed dry;
	struct dhcp_inst *in;
	json_t *old;
	char *cause = NULL, *dir;
	size_t i;

	if (!f->applying)
		return;
	f->stopping++;		/* held while the stops are issued */
	xasprintf(&dir, "%s/dhcp", f->d->data_dir);
	for (i = 0; i < plan->n; i++) {
		in = inst_find(f, plan->inst[i].name);
		kea_server_status(in->srv, &st);
		if (in->applied_early || st.state == KEA_SERVER_OFF)
			continue;
		old = inst_good_doc(f, plan->inst[i].name);
		if (kea_carry_seed(dir, f->family, plan->inst[i].name,
		    plan->inst[i].lease_path, old, plan->inst[i].config,
		    (int64_t)time(NULL), KEA_SEED_DRY_RUN, &dry, &cause) == 0 &&
		    dry.n > 0) {
			log_info("dhcp: restarting Kea instance %s (DHCPv%d) to "
			    "carry %zu leases into it", plan->inst[i].name,
			    f->family, dry.n);
			f->stopping++;
			kea_server_stop(in->srv, inst_restart_stopped, f);
		} else if (kea_config_loses_subnets(old, plan->inst[i].config,
		    f->family))
			apply_early(f, in, &plan->inst[i]);
		free(cause);
		cause = NULL;
		kea_seed_free(&dry);
		json_decref(old);
	}
	free(dir);
	family_stopped_one(f);	/* phase 3 now, or after the last one */
}

/* Phase 2 of family_apply: seed, then apply each planned instance. */
static void
family_apply_carry(struct dhcp_family *f)
{
	struct kea_plan *plan = &f->plan;
	struct kea_server_status st;
	struct dhcp_inst *in;
	struct apply_ctx *c;
	json_t *old;
	char *cause = NULL, *dir;
	size_t i, n = plan->n;
	int flags;

	if (!f->applying || n == 0)
		return;		/* a stop left over from an earlier apply */
	f->phase = 0;
	xasprintf(&dir, "%s/dhcp", f->d->data_dir);
	f->outstanding = (int)n + 1;
	for (i = 0; i < n; i++) {
		in = inst_find(f, plan->inst[i].name);
		if (in->applied_early) {	/* done in phase 1 */
			in->applied_early = false;
			f->outstanding--;
			continue;
		}
		c = xcalloc(1, sizeof *c);
		c->f = f;
		c->name = xstrdup(plan->inst[i].name);
		c->socket = xstrdup(plan->inst[i].socket_path);
		c->config = json_incref(plan->inst[i].config);
		/* Never write the file of a Kea that runs (it appends to
		 * it): one still running had nothing to carry in phase 1. */
		kea_server_status(in->srv, &st);
		flags = st.state == KEA_SERVER_OFF ? 0 : KEA_SEED_DRY_RUN;
		old = inst_good_doc(f, plan->inst[i].name);
		if (kea_carry_seed(dir, f->family, plan->inst[i].name,
		    plan->inst[i].lease_path, old, plan->inst[i].config,
		    (int64_t)time(NULL), flags, &c->seed, &cause) == -1) {
			/* Starting it would serve without the leases. */
			add_error(f, "Kea instance %s: cannot carry leases "
			    "into it: %s", c->name, cause);
			free(cause);
			cause = NULL;
			json_decref(old);
			f->carry_failed = true;
			apply_ctx_done(c);
			continue;
		}
		json_decref(old);
		seed_log_warnings(&c->seed);
		if (flags != 0 && c->seed.n > 0) {
			log_warnx("dhcp: Kea instance %s: %zu leases appeared "
			    "for it while it ran; they are carried at the next "
			    "change", c->name, c->seed.n);
			f->carry_failed = true;
			kea_seed_free(&c->seed);
		}
		kea_server_apply(in->srv, plan->inst[i].config, inst_applied,
		    c);
	}
	free(dir);
	if (--f->outstanding == 0)	/* every instance failed at once */
		apply_finished(f);
}

static void
family_apply_next(struct dhcp_family *f)
{
	json_t *args;

	if (f->applying || f->next == NULL)
		return;
	args = f->next;
	f->next = NULL;
	f->reqs = f->waiting;
	f->nreqs = f->nwaiting;
	f->waiting = NULL;
	f->nwaiting = 0;
	family_apply(f, args);
}

void
dhcp_rpc_configure(struct dhcp *d, struct region_request *req,
    const struct amp_box *args, int family)
{
	struct dhcp_family *f = family == 4 ? &d->v4 : &d->v6;
	json_t *j = NULL;
	char *cause = NULL, *msg;

	if (dhcp_args_decode(args, family, &j, &cause) == -1) {
		xasprintf(&msg, "bad ConfigureDHCPv%d arguments: %s", family,
		    cause);
		log_warnx("dhcp: %s (from %s)", msg, region_request_loop(req));
		region_request_error(req, "CannotConfigureDHCP", msg);
		free(msg);
		free(cause);
		return;
	}
	if (f->nwaiting >= DHCP_MAX_WAITING) {
		region_request_error(req, "CannotConfigureDHCP",
		    "too many DHCP configurations waiting; try again");
		json_decref(j);
		return;
	}
	if (f->next != NULL) {
		f->skipped_requests++;
		json_decref(f->next);	/* superseded by this one */
	}
	f->next = j;
	f->waiting = xreallocarray(f->waiting, f->nwaiting + 1,
	    sizeof *f->waiting);
	f->waiting[f->nwaiting++] = req;
	family_apply_next(f);
}

void
dhcp_rpc_validate(struct dhcp *d, struct region_request *req,
    const struct amp_box *args, int family)
{
	struct kea_paths p;
	struct kea_plan plan;
	struct amp_box *ans;
	json_t *j = NULL, *errors = NULL;
	char *cause = NULL, *msg;

	dhcp_tls_id(d);
	dhcp_paths(d, &p);
	if (dhcp_args_decode(args, family, &j, &cause) == -1 ||
	    kea_plan_build(j, family, &p, &plan, &cause) == -1) {
		/* A real error is reported as MAAS reports dhcpd -t's. */
		xasprintf(&msg, "%s", cause != NULL ? cause : "invalid");
		errors = json_pack("[{s:s, s:i, s:s, s:s}]", "error", msg,
		    "line_num", 0, "line", "", "position", "");
		free(msg);
		free(cause);
		memset(&plan, 0, sizeof plan);
	} else
		dhcp_validate_errors(&plan, &errors);
	json_decref(j);
	ans = amp_box_new();
	if (dhcp_validate_errors_encode(errors, ans, &cause) == -1) {
		region_request_error(req, "CannotConfigureDHCP", cause);
		free(cause);
		amp_box_free(ans);
	} else
		region_request_answer(req, ans);
	json_decref(errors);
	kea_plan_free(&plan);
}

/* --- status ------------------------------------------------------------------------ */

static int
status_rank(const char *s)
{
	if (strcmp(s, "dead") == 0)
		return 3;
	if (strcmp(s, "degraded") == 0)
		return 2;
	if (strcmp(s, "running") == 0)
		return 1;
	return 0;
}

const char *
dhcp_service_status(const struct dhcp *d, int family, char *info,
    size_t infolen)
{
	const struct dhcp_family *f = family == 4 ? &d->v4 : &d->v6;
	struct kea_server_status st;
	const char *worst = "off", *s;
	char one[256];
	size_t i, used = 0;

	if (infolen > 0)
		info[0] = '\0';
	for (i = 0; i < f->ninst; i++) {
		kea_server_status(f->inst[i].srv, &st);
		s = kea_server_service_status(&st, one, sizeof one);
		if (status_rank(s) > status_rank(worst))
			worst = s;
		if (used < infolen)
			used += (size_t)snprintf(info + used, infolen - used,
			    "%s%s: %s", used > 0 ? "; " : "", f->inst[i].name,
			    one);
	}
	if (used >= infolen && infolen > 0)
		info[infolen - 1] = '\0';
	return worst;
}

/* --- lifecycle ------------------------------------------------------------------------ */

/* The run_script hook gets no arguments and no environment from Kea but
 * the lease's, so a per-rack wrapper carries the socket and spool paths. */
static int
write_hook_wrapper(struct dhcp *d, const char *helper, char **cause)
{
	char *text, *conf, *tmp;
	int rc;

	/* <run_dir>/rackd-lease-hook -> the helper, and its paths next to
	 * it: Kea runs the symlink, and the helper reads the file. */
	xasprintf(&d->hook_wrapper, "%s/rackd-lease-hook", d->run_dir);
	xasprintf(&conf, "%s/rackd-lease-hook.conf", d->run_dir);
	xasprintf(&text, "socket %s/lease.sock\nspool %s/dhcp/lease-hook.spool\n",
	    d->run_dir, d->data_dir);
	rc = file_write_atomic(conf, text, strlen(text), 0644, cause);
	free(text);
	free(conf);
	if (rc == -1)
		return -1;
	xasprintf(&tmp, "%s.tmp", d->hook_wrapper);
	unlink(tmp);
	if (symlink(helper, tmp) == -1 || rename(tmp, d->hook_wrapper) == -1) {
		xasprintf(cause, "cannot link %s to %s: %s", d->hook_wrapper,
		    helper, strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

/*
 * The helper file to use: the configured path when it was set; else, for
 * a rackd running from its build tree, the one built beside it
 * (build/rackd -> build/rackd-lease-hook.so); else the default.  Caller
 * frees.
 */
static char *
dhcp_hook_file(const char *configured, const char *def, const char *name)
{
	char exe[4096], *beside, *slash;
	ssize_t n;

	if (strcmp(configured, def) != 0)
		return xstrdup(configured);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		if ((slash = strrchr(exe, '/')) != NULL) {
			*slash = '\0';
			xasprintf(&beside, "%s/%s", exe, name);
			if (access(beside, R_OK) == 0)
				return beside;
			free(beside);
		}
	}
	return xstrdup(def);
}

/*
 * Start every instance that has a last known-good configuration from a
 * previous run, so a restarted rack serves DHCP before (and without) any
 * region: machines keep booting while the regions are down.  The
 * region's next ConfigureDHCP then finds them applied ("unchanged") or
 * replaces them.
 */
static void
dhcp_resume(struct dhcp *d)
{
	struct dhcp_family *f;
	struct dirent *de;
	struct dhcp_inst *in;
	json_t *doc, *sock;
	json_error_t je;
	char *dir, *path, *name;
	size_t len;
	int family;
	DIR *dp;

	xasprintf(&dir, "%s/dhcp", d->data_dir);
	if ((dp = opendir(dir)) == NULL) {
		free(dir);
		return;
	}
	while ((de = readdir(dp)) != NULL) {
		len = strlen(de->d_name);
		if (len < 16 || strncmp(de->d_name, "kea", 3) != 0 ||
		    (de->d_name[3] != '4' && de->d_name[3] != '6') ||
		    de->d_name[4] != '-' ||
		    strcmp(de->d_name + len - 10, ".conf.good") != 0)
			continue;
		family = de->d_name[3] - '0';
		f = family == 4 ? &d->v4 : &d->v6;
		name = xstrndup(de->d_name + 5, len - 15);
		xasprintf(&path, "%s/%s", dir, de->d_name);
		doc = json_load_file(path, 0, &je);
		sock = json_object_get(json_object_get(doc, family == 4 ?
		    "Dhcp4" : "Dhcp6"), "control-socket");
		sock = json_object_get(sock, "socket-name");
		if (!json_is_string(sock)) {
			log_warnx("dhcp: %s: no control socket in the saved "
			    "configuration; not started", path);
		} else if (inst_find(f, name) == NULL &&
		    (in = inst_new(f, name, json_string_value(sock))) != NULL) {
			if (kea_server_start(in->srv) == 0)
				log_info("dhcp: Kea instance %s (DHCPv%d) "
				    "started from its last known-good "
				    "configuration", name, family);
		}
		free(f->errors);	/* inst_new's, already logged */
		f->errors = NULL;
		json_decref(doc);
		free(path);
		free(name);
	}
	closedir(dp);
	free(dir);
}

struct dhcp *
dhcp_new(struct event_base *base, struct region_pool *pool,
    const struct rackd_config *cfg, char **cause)
{
	struct dhcp *d = xcalloc(1, sizeof *d);
	char *dir, *script;
	int rc;

	d->base = base;
	d->pool = pool;
	d->run_dir = xstrdup(cfg->run_dir);
	d->data_dir = xstrdup(cfg->data_dir);
	d->kea4 = xstrdup(cfg->dhcp.kea_dhcp4);
	d->kea6 = xstrdup(cfg->dhcp.kea_dhcp6);
	d->hooks_dir = xstrdup(cfg->dhcp.hooks_dir);
	d->ha_port = cfg->dhcp.ha_port;
	d->ha_port_v6 = cfg->dhcp.ha_port_v6;
	d->v6_split = strcmp(cfg->dhcp.v6_failover, "split") == 0;
	d->ha_tls = cfg->dhcp.ha_tls;
	d->secret_file = xstrdup(cfg->secret_file);
	memset(d->ha_tls_id, '0', KEA_TLS_ID_LEN);
	d->heartbeat_ms = cfg->dhcp.heartbeat_ms;
	d->max_response_ms = cfg->dhcp.max_response_ms;
	d->max_ack_ms = cfg->dhcp.max_ack_ms;
	d->max_unacked = cfg->dhcp.max_unacked;
	d->v4.d = d->v6.d = d;
	d->v4.family = 4;
	d->v6.family = 6;
	d->runner = proc_runner_new(base, 32);
	xasprintf(&dir, "%s/dhcp", d->data_dir);
	if (mkdir(dir, 0750) == -1 && errno != EEXIST) {
		xasprintf(cause, "cannot create %s: %s", dir, strerror(errno));
		free(dir);
		dhcp_free(d);
		return NULL;
	}
	free(dir);
	xasprintf(&d->hook_spool, "%s/%s/%s", d->data_dir, LEASES_SPOOL_DIR,
	    LEASES_HOOK_SPOOL_NAME);
	xasprintf(&d->hook_socket, "%s/%s", d->run_dir, LEASES_SOCKET_NAME);
	script = dhcp_hook_file(cfg->dhcp.lease_hook_script,
	    "/usr/lib/rackd/rackd-lease-hook", "rackd-lease-hook");
	if (strcmp(cfg->dhcp.lease_hook, "library") == 0) {
		d->hook_lib = dhcp_hook_file(cfg->dhcp.lease_hook_library,
		    "/usr/lib/rackd/rackd-lease-hook.so",
		    "rackd-lease-hook.so");
		if (access(d->hook_lib, R_OK) == -1) {
			log_warnx("dhcp: lease hook library %s: %s; Kea "
			    "reports leases through run_script and %s "
			    "instead (slower)", d->hook_lib, strerror(errno),
			    script);
			free(d->hook_lib);
			d->hook_lib = NULL;
		}
	}
	rc = write_hook_wrapper(d, script, cause);
	free(script);
	if (rc == -1) {
		dhcp_free(d);
		return NULL;
	}
	d->leases = leases_new(base, pool, d->run_dir, d->data_dir,
	    cfg->dhcp.spool_max, cause);
	if (d->leases == NULL) {
		dhcp_free(d);
		return NULL;
	}
	dhcp_resume(d);
	return d;
}

struct shutdown_ctx {
	struct dhcp	*d;
	int		 left;
	void		(*done)(void *);
	void		*arg;
};

static void
shutdown_one(void *arg)
{
	struct shutdown_ctx *c = arg;

	if (--c->left == 0) {
		if (c->done != NULL)
			c->done(c->arg);
		free(c);
	}
}

void
dhcp_shutdown(struct dhcp *d, void (*done)(void *), void *arg)
{
	struct shutdown_ctx *c;
	struct dhcp_family *fams[2] = { &d->v4, &d->v6 };
	size_t i, k;

	c = xcalloc(1, sizeof *c);
	c->d = d;
	c->done = done;
	c->arg = arg;
	c->left = 1;
	for (k = 0; k < 2; k++) {
		for (i = 0; i < fams[k]->ninst; i++) {
			c->left++;
			kea_server_stop(fams[k]->inst[i].srv, shutdown_one, c);
		}
	}
	shutdown_one(c);	/* the initial reference */
}

void
dhcp_region_up(struct dhcp *d)
{
	if (d->leases != NULL)
		leases_region_up(d->leases);
}

static void
family_free(struct dhcp_family *f)
{
	size_t i;

	for (i = 0; i < f->nreqs; i++)
		region_request_error(f->reqs[i], "CannotConfigureDHCP",
		    "rack controller stopping");
	for (i = 0; i < f->nwaiting; i++)
		region_request_error(f->waiting[i], "CannotConfigureDHCP",
		    "rack controller stopping");
	free(f->reqs);
	free(f->waiting);
	json_decref(f->next);
	resync_drop(f, NULL);
	for (i = 0; i < f->nresyncs; i++) {
		kea_resync_free(f->resyncs[i]);
		free(f->resync_names[i]);
	}
	free(f->resyncs);
	free(f->resync_names);
	kea_plan_free(&f->plan);	/* an apply cut short */
	for (i = 0; i < f->ninst; i++) {
		kea_server_free(f->inst[i].srv);	/* stops it */
		free(f->inst[i].name);
	}
	free(f->inst);
	free(f->errors);
	free(f->last_apply_error);
}

void
dhcp_free(struct dhcp *d)
{
	if (d == NULL)
		return;
	family_free(&d->v4);
	family_free(&d->v6);
	leases_free(d->leases);
	proc_runner_free(d->runner);
	free(d->run_dir);
	free(d->data_dir);
	free(d->kea4);
	free(d->kea6);
	free(d->hooks_dir);
	free(d->secret_file);
	free(d->hook_wrapper);
	free(d->hook_lib);
	free(d->hook_spool);
	free(d->hook_socket);
	free(d);
}

/* --- the operator's view (`rackd status`, metrics) ------------------------ */

static json_t *
family_status_json(const struct dhcp_family *f)
{
	struct kea_server_status st;
	json_t *arr = json_array(), *e;
	uint64_t now = rackd_now_ms();
	char info[256];
	size_t i;

	for (i = 0; i < f->ninst; i++) {
		kea_server_status(f->inst[i].srv, &st);
		e = json_pack("{s:s, s:i, s:s, s:s, s:I}",
		    "name", f->inst[i].name,
		    "family", f->family,
		    "status", kea_server_service_status(&st, info, sizeof info),
		    "info", info,
		    "restarts", (json_int_t)st.restarts);
		json_object_set_new(e, "pid", st.pid > 0 ?
		    json_integer(st.pid) : json_null());
		json_object_set_new(e, "ha_role", st.ha && st.ha_role[0] != '\0' ?
		    json_string(st.ha_role) : json_null());
		json_object_set_new(e, "ha_state", st.ha && st.ha_state[0] != '\0' ?
		    json_string(st.ha_state) : json_null());
		json_object_set_new(e, "partner_state", st.ha &&
		    st.remote_state[0] != '\0' ? json_string(st.remote_state) :
		    json_null());
		json_object_set_new(e, "last_error", st.last_error[0] != '\0' ?
		    json_string(st.last_error) : json_null());
		json_object_set_new(e, "last_apply_age_s", f->last_apply_ms != 0 ?
		    json_integer((json_int_t)((now - f->last_apply_ms) / 1000)) :
		    json_null());
		json_object_set_new(e, "last_apply_error",
		    f->last_apply_error != NULL ?
		    json_string(f->last_apply_error) : json_null());
		json_array_append_new(arr, e);
	}
	return arr;
}

json_t *
dhcp_status_json(const struct dhcp *d)
{
	struct leases_stats ls;
	long long oldest;
	json_t *o, *inst, *more;

	inst = family_status_json(&d->v4);
	more = family_status_json(&d->v6);
	json_array_extend(inst, more);
	json_decref(more);
	leases_stats(d->leases, &ls);
	o = json_object();
	json_object_set_new(o, "instances", inst);
	json_object_set_new(o, "leases", json_pack("{s:I, s:I, s:I, s:I, s:I}",
	    "pending", (json_int_t)ls.pending,
	    "spooled", (json_int_t)ls.spooled,
	    "sent", (json_int_t)ls.sent,
	    "dropped", (json_int_t)ls.dropped,
	    "rejected", (json_int_t)ls.rejected));
	json_object_set_new(json_object_get(o, "leases"), "oldest_pending_age_s",
	    leases_oldest_pending(d->leases, &oldest) == 0 ?
	    json_integer(time(NULL) - oldest) : json_null());
	return o;
}

#define DHCP_METRIC_HA		"rackd_kea_ha_state"
#define DHCP_METRIC_UP		"rackd_kea_up"
#define DHCP_METRIC_LEASES	"rackd_lease_events_total"
#define DHCP_METRIC_PENDING	"rackd_lease_events_pending"

static void
family_metrics(const struct dhcp_family *f, struct metrics *m)
{
	struct kea_server_status st;
	const char *v[3];
	char info[256];
	size_t i;

	for (i = 0; i < f->ninst; i++) {
		kea_server_status(f->inst[i].srv, &st);
		v[0] = f->inst[i].name;
		v[1] = f->family == 4 ? "4" : "6";
		metrics_gauge_set(m, DHCP_METRIC_UP, v, strcmp(
		    kea_server_service_status(&st, info, sizeof info),
		    "running") == 0 ? 1 : 0);
		if (!st.ha || st.ha_state[0] == '\0')
			continue;
		v[2] = st.ha_state;
		metrics_gauge_set(m, DHCP_METRIC_HA, v, 1);
	}
}

void
dhcp_metrics(const struct dhcp *d, struct metrics *m)
{
	struct leases_stats ls;
	const char *v[1];

	metrics_define(m, DHCP_METRIC_UP, METRICS_GAUGE,
	    "Kea instance running (1) or not (0)", "instance,family", NULL, 0);
	metrics_define(m, DHCP_METRIC_HA, METRICS_GAUGE,
	    "Kea HA state of an instance (1 for its current state)",
	    "instance,family,state", NULL, 0);
	metrics_define(m, DHCP_METRIC_LEASES, METRICS_COUNTER,
	    "Lease events by fate: spooled, sent (acknowledged), dropped, "
	    "rejected", "result", NULL, 0);
	metrics_define(m, DHCP_METRIC_PENDING, METRICS_GAUGE,
	    "Lease events spooled, not yet acknowledged by a region", NULL,
	    NULL, 0);
	/* Instances come and go, and a state is a label: rebuilt each time. */
	metrics_reset(m, DHCP_METRIC_UP);
	metrics_reset(m, DHCP_METRIC_HA);
	family_metrics(&d->v4, m);
	family_metrics(&d->v6, m);
	leases_stats(d->leases, &ls);
	v[0] = "spooled";
	metrics_counter_set(m, DHCP_METRIC_LEASES, v, (double)ls.spooled);
	v[0] = "sent";
	metrics_counter_set(m, DHCP_METRIC_LEASES, v, (double)ls.sent);
	v[0] = "dropped";
	metrics_counter_set(m, DHCP_METRIC_LEASES, v, (double)ls.dropped);
	v[0] = "rejected";
	metrics_counter_set(m, DHCP_METRIC_LEASES, v, (double)ls.rejected);
	metrics_gauge_set(m, DHCP_METRIC_PENDING, NULL, (double)ls.pending);
}
