/*
 * main.c — rackd's entry point: options, start-up order, signals, the
 * event loop, reload and teardown.  The only file that knows every module.
 *
 *   rackd [-d] [-f FILE]                 run (foreground; systemd manages us)
 *   rackd -n [-v] [-f FILE]              check the config (and secret), exit 0/1
 *   rackd init --maas-url URL ... --secret HEX [-f FILE]
 *   rackd status [--json|--metrics] [-f FILE]  ask the running daemon
 *   rackd --man-conf                     print rackd.conf(5)
 *   rackd -V                             print the version
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "boot_backend.h"
#include "boot_http.h"
#include "boot_rpc.h"
#include "bootres.h"
#include "config.h"
#include "daemon.h"
#include "http.h"
#include "httpd.h"
#include "dhcp.h"
#include "log.h"
#include "metrics.h"
#include "power.h"
#include "programs.h"
#include "proc.h"
#include "refresh.h"
#include "imagesync.h"
#include "region.h"
#include "region_report.h"
#include "rpc.h"
#include "secret.h"
#include "status.h"
#include "tftp.h"
#include "tftp_source.h"
#include "xmalloc.h"

struct rackd {
	struct event_base	*base;
	struct rackd_config	*cfg;
	char			*config_path;
	int			 force_debug;
	struct secret		 secret;
	struct http		*http;
	struct rpc		*rpc;
	struct region_pool	*pool;
	struct proc_runner	*runner;
	struct power		*power;
	struct dhcp		*dhcp;
	struct refresh		*refresh;
	struct bootres_store	*images;
	struct metrics		*metrics;	/* the process's registry */
	struct status_server	*status;	/* run_dir/rackd.sock */
	struct tftp_fs		*tftp_fs;	/* NULL: tftp_port 0 */
	struct tftp		*tftp;
	struct httpd		*httpd;		/* NULL: both http ports 0 */
	struct boot_backend	*boot;		/* NULL: neither TFTP nor HTTP */
	struct boot_http	*boot_http;	/* httpd's boot paths -> boot */
	struct region_reports	*boot_reports;
	struct imagesync	*sync;		/* boot images from the region */
	struct event		*ev_term, *ev_int, *ev_hup;
	struct event		*secret_timer;
	int			 stopping;
};

static void	rackd_start_regions(struct rackd *);

/* What `rackd status` and /metrics read (status.h). */
static void
rackd_status_fill(struct rackd *r, struct status_sources *src)
{
	struct status_sources s = {
		RACKD_VERSION, r->cfg->hostname, r->pool, r->power, r->dhcp,
		r->refresh, r->metrics, r->tftp, r->httpd, r->sync, r->images,
	};

	*src = s;
}

/* Hand the sources to the status socket; called whenever a service starts. */
static void
rackd_status_sources(struct rackd *r)
{
	struct status_sources src;

	rackd_status_fill(r, &src);
	if (r->status != NULL)
		status_server_set_sources(r->status, &src);
}

/* httpd's /metrics (httpd_set_metrics_hook): built at each request from
 * the services running now, so it is never stale. */
static char *
rackd_metrics_text(void *arg)
{
	struct status_sources src;

	rackd_status_fill(arg, &src);
	return status_metrics_text(&src);
}
/* Boot events waiting for a region: a storm of 100 clients makes ~10
 * each; beyond this the oldest go. */
#define BOOT_REPORT_MAX		5000

/* A hand-copied tree is noticed within this (bootres.h). */
#define RACKD_IMAGES_MAX_AGE_MS	10000

/* The image store behind ListBootImages (tftp_root, as MAAS's rack). */
static void
rackd_start_images(struct rackd *r)
{
	r->images = bootres_store_new(r->cfg->tftp_root,
	    RACKD_IMAGES_MAX_AGE_MS);
	log_info("boot images: %s, %zu rows", r->cfg->tftp_root,
	    bootres_store_images(r->images)->n);
}

/* A sync ended: when it switched `current`, ListBootImages and the boot
 * backend must see the new tree at once, not at the store's next check. */
static void
rackd_images_synced(bool ok, bool switched, void *arg)
{
	struct rackd *r = arg;

	if (switched && r->images != NULL)
		bootres_store_invalidate(r->images);
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: rackd [-d] [-f FILE]\n"
	    "       rackd -n [-v] [-f FILE]\n"
	    "       rackd init --maas-url URL [--maas-url URL ...] --secret HEX [-f FILE]\n"
	    "       rackd status [--json | --metrics] [-f FILE]\n"
	    "       rackd --man-conf | -V\n");
	exit(2);
}

/* mkdir -p with mode for the last component; -1 with errno. */
static int
mkdirs(const char *path, mode_t mode)
{
	char *p = xstrdup(path), *s;
	int rc = 0;

	for (s = p + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) == -1 && errno != EEXIST) {
			rc = -1;
			break;
		}
		*s = '/';
	}
	if (rc == 0 && mkdir(p, mode) == -1 && errno != EEXIST)
		rc = -1;
	free(p);
	return rc;
}

/* --- rackd init ----------------------------------------------------- */

static int
cmd_init(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "maas-url", required_argument, NULL, 'u' },
		{ "secret", required_argument, NULL, 's' },
		{ "file", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	char **urls = NULL, *secret = NULL, *cause = NULL;
	const char *path = RACKD_DEFAULT_CONFIG;
	size_t nurls = 0;
	int ch, rc = 1;
	struct rackd_config *cfg;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "f:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'u':
			urls = xreallocarray(urls, nurls + 2, sizeof *urls);
			urls[nurls++] = optarg;
			urls[nurls] = NULL;
			break;
		case 's':
			secret = optarg;
			break;
		case 'f':
			path = optarg;
			break;
		default:
			usage();
		}
	}
	if (nurls == 0 || secret == NULL) {
		fprintf(stderr, "rackd init: --maas-url and --secret are "
		    "required\n");
		free(urls);
		return 2;
	}
	if (config_init_write(path, urls, nurls, secret, &cause) == -1) {
		fprintf(stderr, "rackd init: %s\n", cause);
		free(cause);
		goto out;
	}
	/* When run as root for the packaged service, hand the secret to
	 * the service user so the daemon can read it. */
	if ((cfg = config_load(path, &cause)) != NULL) {
		struct passwd *pw;

		if (geteuid() == 0 && (pw = getpwnam("_rackd")) != NULL &&
		    chown(cfg->secret_file, pw->pw_uid, pw->pw_gid) == -1)
			fprintf(stderr, "rackd init: chown %s: %s\n",
			    cfg->secret_file, strerror(errno));
		printf("rackd init: wrote %s and %s\n", path, cfg->secret_file);
		config_free(cfg);
	} else {
		fprintf(stderr, "rackd init: %s\n", cause);
		free(cause);
		goto out;
	}
	rc = 0;
out:
	/* optarg points into argv; wipe the secret from our argv copy. */
	if (secret != NULL)
		xwipe(secret, strlen(secret));
	free(urls);
	return rc;
}

/* --- config check --------------------------------------------------- */

static int
cmd_check(const char *path, int verbose)
{
	struct rackd_config *cfg;
	struct secret sec;
	char *cause = NULL, **missing;
	size_t i, n;

	if ((cfg = config_load(path, &cause)) == NULL) {
		fprintf(stderr, "%s\n", cause);
		free(cause);
		return 1;
	}
	programs_use_build_tree(cfg, NULL);
	n = programs_check(cfg, &missing);
	for (i = 0; i < n; i++) {
		fprintf(stderr, "%s: warning: %s\n", path, missing[i]);
		free(missing[i]);
	}
	free(missing);
	if (access(cfg->secret_file, F_OK) == -1 && errno == ENOENT) {
		fprintf(stderr, "%s: note: shared secret %s does not exist yet; "
		    "rackd will wait for it (run 'rackd init')\n", path,
		    cfg->secret_file);
	} else if (secret_load(cfg->secret_file, &sec, &cause) == -1) {
		fprintf(stderr, "%s: %s\n", path, cause);
		free(cause);
		config_free(cfg);
		return 1;
	} else
		secret_wipe(&sec);
	if (verbose)
		config_print(stdout, cfg);
	else
		printf("configuration OK\n");
	config_free(cfg);
	return 0;
}

/* --- running -------------------------------------------------------- */

/* Name each missing program once at start-up (programs.h), so the
 * operator learns it before a region sends work that needs it. */
static void
rackd_check_programs(struct rackd_config *cfg)
{
	char **missing;
	size_t i, n;

	if (programs_use_build_tree(cfg, NULL))
		log_info("dhcp: using the lease hook built beside rackd: %s, %s",
		    cfg->dhcp.lease_hook_library, cfg->dhcp.lease_hook_script);
	n = programs_check(cfg, &missing);
	for (i = 0; i < n; i++) {
		log_warnx("%s", missing[i]);
		free(missing[i]);
	}
	free(missing);
}

static void
rackd_status(const struct region_stats *st, void *arg)
{
	struct rackd *r = arg;

	if (st->advertised == 0)
		daemon_status("discovering region controllers");
	else
		daemon_status("connected to %zu/%zu event loops on %zu/%zu "
		    "region controllers%s", st->established, st->advertised,
		    st->regions_connected, st->regions_advertised,
		    st->from_saved ? " (saved list: no region URL answers)" : "");
	if (r->rpc != NULL)
		rpc_stats_changed(r->rpc, st);
	if (r->power != NULL && st->established > 0)
		power_region_up(r->power);
	if (r->dhcp != NULL && st->established > 0)
		dhcp_region_up(r->dhcp);
	/* Established means registered: the system_id is known. */
	if (r->refresh != NULL && st->established > 0)
		refresh_registered(r->refresh);
	if (r->sync != NULL && st->established > 0)
		imagesync_registered(r->sync);
}

static void
rackd_dhcp_stopped(void *arg)
{
	struct rackd *r = arg;
	struct timeval tv = { 0, 0 };

	event_base_loopexit(r->base, &tv);
}

static void
rackd_stop(struct rackd *r, const char *why)
{
	struct timeval tv = { 0, 0 };

	if (r->stopping)
		return;
	r->stopping = 1;
	log_info("stopping (%s)", why);
	daemon_stopping();
	power_shutdown(r->power);
	refresh_shutdown(r->refresh);
	imagesync_shutdown(r->sync);
	if (r->pool != NULL)
		region_pool_shutdown(r->pool);
	if (r->dhcp != NULL) {
		/* Stop Kea cleanly (its partner takes over at once); the
		 * loop ends when it is gone, or after 5 s regardless. */
		tv.tv_sec = 5;
		event_base_loopexit(r->base, &tv);
		dhcp_shutdown(r->dhcp, rackd_dhcp_stopped, r);
		return;
	}
	/* Let pending writes (e.g. a final answer) go out first. */
	event_base_loopexit(r->base, &tv);
}

static void
rackd_shutdown_hook(void *arg)
{
	struct rackd *r = arg;
	struct timeval tv = { 0, 200000 };

	/* Give the answer to DisableAndShutoffRackd time to leave. */
	r->stopping = 1;
	daemon_stopping();
	log_info("stopping (disabled by the region)");
	event_base_loopexit(r->base, &tv);
}

static void
rackd_reload(struct rackd *r)
{
	struct rackd_config *ncfg;
	struct secret nsec;
	char *cause = NULL;

	daemon_reloading();
	log_info("reloading %s", r->config_path);
	if ((ncfg = config_load(r->config_path, &cause)) == NULL) {
		log_warnx("reload: %s; keeping the running configuration",
		    cause);
		free(cause);
		daemon_ready();
		return;
	}
	memset(&nsec, 0, sizeof nsec);
	if (r->pool == NULL && access(ncfg->secret_file, F_OK) == -1 &&
	    errno == ENOENT) {
		/* Still waiting for the secret: take the new file anyway. */
	} else if (secret_load(ncfg->secret_file, &nsec, &cause) == -1) {
		log_warnx("reload: %s; keeping the running configuration",
		    cause);
		free(cause);
		config_free(ncfg);
		daemon_ready();
		return;
	}
	programs_use_build_tree(ncfg, NULL);
	if (config_log_changes(r->cfg, ncfg) == 0)
		log_info("reload: configuration unchanged");
	log_set_debug(ncfg->debug || r->force_debug);
	if (r->boot != NULL)
		boot_backend_set_debug(r->boot, ncfg->debug);
	if (r->pool != NULL)
		region_pool_reconfigure(r->pool, ncfg, &nsec);
	rpc_reconfigure(r->rpc, ncfg);
	if (r->power != NULL)
		power_reconfigure(r->power, ncfg);
	if (r->refresh != NULL)
		refresh_reconfigure(r->refresh, ncfg);
	if (r->images != NULL)
		bootres_store_set_root(r->images, ncfg->tftp_root);
	if (ncfg->tftp_port != r->cfg->tftp_port ||
	    strcmp(ncfg->tftp_root, r->cfg->tftp_root) != 0 ||
	    ncfg->tftp.max_transfers != r->cfg->tftp.max_transfers)
		log_warnx("reload: tftp_port, tftp_root and tftp: changes "
		    "take effect at the next restart");
	if (ncfg->http.port != r->cfg->http.port ||
	    ncfg->http.internal_port != r->cfg->http.internal_port ||
	    strcmp(ncfg->http.bind, r->cfg->http.bind) != 0 ||
	    strcmp(ncfg->tftp_root, r->cfg->tftp_root) != 0 ||
	    ncfg->http.region_port != r->cfg->http.region_port)
		log_warnx("reload: tftp_root and http: changes take effect "
		    "for HTTP at the next restart");
	if (r->sync != NULL)
		imagesync_reconfigure(r->sync, ncfg);
	secret_wipe(&r->secret);
	r->secret = nsec;
	config_free(r->cfg);
	r->cfg = ncfg;
	daemon_ready();
}

static void
signal_cb(evutil_socket_t sig, short ev, void *arg)
{
	struct rackd *r = arg;

	switch (sig) {
	case SIGHUP:
		rackd_reload(r);
		break;
	case SIGTERM:
		rackd_stop(r, "SIGTERM");
		break;
	case SIGINT:
		rackd_stop(r, "SIGINT");
		break;
	}
}

/* region.c has one callback argument; route commands to rpc.c's registry. */
static void
rackd_command(struct region_request *req, const char *command,
    const struct amp_box *args, void *arg)
{
	struct rackd *r = arg;

	rpc_command(req, command, args, r->rpc);
}

static void
secret_poll_cb(evutil_socket_t fd, short ev, void *arg)
{
	rackd_start_regions(arg);
}

/*
 * Start the region side once the secret exists; until then poll for it
 * every second.  A secret that exists but is unusable (permissions, bad
 * hex) is fatal: that needs the operator, not patience.
 */
static void
rackd_start_regions(struct rackd *r)
{
	struct timeval tv = { 1, 0 };
	char *cause = NULL;

	if (r->pool != NULL || r->stopping)
		return;
	if (r->secret.len == 0) {
		if (access(r->cfg->secret_file, F_OK) == -1 && errno == ENOENT) {
			if (r->secret_timer == NULL)
				r->secret_timer = evtimer_new(r->base,
				    secret_poll_cb, r);
			evtimer_add(r->secret_timer, &tv);
			return;
		}
		if (secret_load(r->cfg->secret_file, &r->secret, &cause) == -1)
			fatalx("%s", cause);
		log_info("shared secret %s found", r->cfg->secret_file);
	}
	r->pool = region_pool_new(r->base, r->http, r->cfg, &r->secret,
	    rackd_command, rackd_status, r);
	rpc_set_pool(r->rpc, r->pool);
	if (r->httpd != NULL)
		httpd_set_pool(r->httpd, r->pool);
	region_reports_set_pool(r->boot_reports, r->pool);
	if (r->boot != NULL)
		boot_backend_set_pool(r->boot, r->pool);
	r->power = power_new(r->base, r->runner, r->pool, r->cfg);
	if ((r->dhcp = dhcp_new(r->base, r->pool, r->cfg, &cause)) == NULL)
		fatalx("dhcp: %s", cause);
	/* Watching the interfaces needs only a netlink socket: failing
	 * that is a broken host, worth stopping for at start-up. */
	if ((r->refresh = refresh_new(r->base, r->http, r->pool, r->cfg,
	    &cause)) == NULL)
		fatalx("refresh: %s", cause);
	region_pool_set_metrics(r->pool, r->metrics);
	power_set_metrics(r->power, r->metrics);
	if ((r->sync = imagesync_new(r->base, r->http, r->pool, r->runner,
	    r->cfg, &cause)) == NULL)
		fatalx("images: %s", cause);
	imagesync_set_done_cb(r->sync, rackd_images_synced, r);
	/* Every service's commands, before the first region can call. */
	if (power_rpc_register(r->rpc, r->power, &cause) == -1 ||
	    dhcp_rpc_register(r->rpc, r->dhcp, &cause) == -1 ||
	    boot_rpc_register(r->rpc, r->images, r->sync, &cause) == -1)
		fatalx("rpc: %s", cause);
	rackd_status_sources(r);
	region_pool_start(r->pool);
	power_start(r->power);
	daemon_status("discovering region controllers");
}

/* UpdateServices status of TFTP (rpc_set_service_status). */
static const char *
rackd_tftp_status(void *arg, char *info, size_t cap)
{
	struct rackd *r = arg;

	if (r->tftp == NULL) {
		snprintf(info, cap, "tftp_port is 0");
		return "off";
	}
	return tftp_service_status(r->tftp, info, cap);
}

/*
 * The boot backend behind TFTP and HTTP boot.  files is TFTP's reader
 * pool for names no boot method matches; NULL without TFTP (httpd
 * serves plain files itself).
 */
static void
rackd_start_boot(struct rackd *r, struct tftp_source *files)
{
	struct boot_backend_params bp = { 0, false };

	bp.debug = r->cfg->debug;
	r->boot = boot_backend_new(r->base, files, r->images, r->boot_reports,
	    &bp);
}

/*
 * Start TFTP.  Not fatal when it cannot listen (port taken by tftpd-hpa,
 * no permission): the rest of the rack still works, and UpdateServices
 * reports tftp dead with the cause.
 */
static void
rackd_start_tftp(struct rackd *r)
{
	struct tftp_params p;
	char *cause = NULL;

	if (r->cfg->tftp_port == 0) {
		log_info("tftp: off (tftp_port is 0)");
		return;
	}
	/* Two readers: enough to keep a disk busy, few enough to leave
	 * the cores to the loop. */
	if ((r->tftp_fs = tftp_fs_new(r->base, r->cfg->tftp_root, 2,
	    &cause)) == NULL)
		fatalx("tftp: %s", cause);
	memset(&p, 0, sizeof p);
	p.port = r->cfg->tftp_port;
	p.max_transfers = r->cfg->tftp.max_transfers;
	rackd_start_boot(r, tftp_fs_source(r->tftp_fs));
	r->tftp = tftp_new(r->base, boot_backend_tftp_source(r->boot), &p);
	if (tftp_start(r->tftp, &cause) == -1) {
		log_warnx("tftp: not serving: %s", cause);
		free(cause);
	}
}

/* UpdateServices status of HTTP (rpc_set_service_status). */
static const char *
rackd_http_status(void *arg, char *info, size_t cap)
{
	return httpd_service_status(((struct rackd *)arg)->httpd, info, cap);
}

/*
 * Start HTTP on http.port / http.internal_port.  Not fatal when it
 * cannot listen (5248 taken by a region's nginx on the same host): the
 * rest of the rack works, and UpdateServices reports http dead.
 */
static void
rackd_start_httpd(struct rackd *r)
{
	struct httpd_params p;
	char *cause = NULL;

	if (r->cfg->http.port == 0 && r->cfg->http.internal_port == 0) {
		log_info("http: off (http.port and http.internal_port are 0)");
		return;
	}
	memset(&p, 0, sizeof p);
	p.port = r->cfg->http.port;
	p.internal_port = r->cfg->http.internal_port;
	p.bind = r->cfg->http.bind;
	p.root = r->cfg->tftp_root;
	p.region_port = r->cfg->http.region_port;
	p.proxy_timeout_ms = r->cfg->http.proxy_timeout_ms;
	p.client_timeout_ms = r->cfg->http.client_timeout_ms;
	p.max_connections = r->cfg->http.max_connections;
	r->httpd = httpd_new(r->base, &p);
	/* Its events share the boot backend's ordered queue. */
	httpd_set_event_hook(r->httpd, boot_http_event, r->boot_reports);
	if (httpd_start(r->httpd, &cause) == -1) {
		log_warnx("http: not fully serving: %s", cause);
		free(cause);
	}
}

static void
curl_init_or_die(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		fatalx("curl_global_init failed");
}

static int
cmd_run(const char *path, int debug)
{
	struct rackd r;
	struct rpc_hooks hooks;
	char *cause = NULL;

	memset(&r, 0, sizeof r);
	r.config_path = xstrdup(path);
	r.force_debug = debug;
	log_init("rackd", debug);
	if ((r.cfg = config_load(path, &cause)) == NULL)
		fatalx("%s", cause);
	log_set_debug(r.cfg->debug || debug);
	log_info("rackd %s starting (config %s, hostname %s)", RACKD_VERSION,
	    path, r.cfg->hostname);
	config_note_unused(r.cfg);
	rackd_check_programs(r.cfg);
	if (mkdirs(r.cfg->data_dir, 0750) == -1)
		fatal("cannot create data_dir %s", r.cfg->data_dir);
	if (mkdirs(r.cfg->run_dir, 0750) == -1)
		fatal("cannot create run_dir %s", r.cfg->run_dir);

	signal(SIGPIPE, SIG_IGN);
	curl_init_or_die();
	log_hook_libevent();
	if ((r.base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	r.ev_term = evsignal_new(r.base, SIGTERM, signal_cb, &r);
	r.ev_int = evsignal_new(r.base, SIGINT, signal_cb, &r);
	r.ev_hup = evsignal_new(r.base, SIGHUP, signal_cb, &r);
	evsignal_add(r.ev_term, NULL);
	evsignal_add(r.ev_int, NULL);
	evsignal_add(r.ev_hup, NULL);

	if ((r.http = http_new(r.base, &cause)) == NULL)
		fatalx("http: %s", cause);
	memset(&hooks, 0, sizeof hooks);
	hooks.shutdown = rackd_shutdown_hook;
	hooks.arg = &r;
	r.rpc = rpc_new(r.base, r.cfg, &hooks);
	/* Before the regions: boot serving must not wait for a secret. */
	rackd_start_images(&r);
	/* One runner for every child rackd starts (power.c sizes it). */
	r.runner = proc_runner_new(r.base, 40);
	/* Boot events and MarkNodeFailed wait here for a region. */
	r.boot_reports = region_reports_new(r.base, "boot", BOOT_REPORT_MAX);
	rackd_start_tftp(&r);
	rpc_set_service_status(r.rpc, "tftp", rackd_tftp_status, &r);
	rackd_start_httpd(&r);
	rpc_set_service_status(r.rpc, "http", rackd_http_status, &r);
	/* HTTP boot configs need the backend with or without TFTP. */
	if (r.httpd != NULL) {
		if (r.boot == NULL)
			rackd_start_boot(&r, NULL);
		r.boot_http = boot_http_new(r.httpd, r.boot);
	}

	/* One registry per process, owned here and handed to the services. */
	r.metrics = metrics_new();
	if (r.tftp != NULL)
		tftp_set_metrics(r.tftp, r.metrics);
	/* httpd is below the status layer: it gets the text as a hook. */
	if (r.httpd != NULL && r.cfg->metrics.enabled)
		httpd_set_metrics_hook(r.httpd, rackd_metrics_text, &r);
	{
		struct status_sources src = { RACKD_VERSION, r.cfg->hostname,
		    NULL, NULL, NULL, NULL, r.metrics, r.tftp, r.httpd, NULL,
		    r.images };
		char *sock;

		xasprintf(&sock, "%s/%s", r.cfg->run_dir, STATUS_SOCKET_NAME);
		/* Operators need it, the daemon does not: a failure is logged. */
		if ((r.status = status_server_new(r.base, sock, &src,
		    &cause)) == NULL) {
			log_warnx("status: %s; `rackd status` will not work",
			    cause);
			free(cause);
			cause = NULL;
		}
		free(sock);
	}

	daemon_init(r.base);
	if (access(r.cfg->secret_file, F_OK) == -1 && errno == ENOENT) {
		/* As MAAS's rackd: wait for the secret instead of failing,
		 * so "install, then rackd init" needs no restart. */
		log_warnx("waiting for the shared secret %s (run 'rackd init "
		    "--maas-url URL --secret HEX')", r.cfg->secret_file);
		daemon_status("waiting for the shared secret %s",
		    r.cfg->secret_file);
	}
	rackd_start_regions(&r);
	daemon_ready();
	log_info("running; %zu region URL%s configured", r.cfg->n_maas_urls,
	    r.cfg->n_maas_urls == 1 ? "" : "s");

	event_base_dispatch(r.base);

	/* Teardown in reverse order of start-up. */
	status_server_free(r.status);
	if (r.secret_timer != NULL)
		event_free(r.secret_timer);
	/* Power first stops acting; the pool's and the runner's last
	 * callbacks still reach it; then it goes. */
	power_shutdown(r.power);
	refresh_shutdown(r.refresh);	/* its last RPC callback comes below */
	/* TFTP first closes its readers, then the pool joins its threads. */
	tftp_free(r.tftp);
	/* Flights still waiting for the region are freed by the pool's
	 * CANCELLED callbacks below. */
	boot_http_free(r.boot_http);	/* cancels its configs in flight */
	boot_backend_free(r.boot);
	tftp_fs_free(r.tftp_fs);
	httpd_free(r.httpd);		/* before the pool it asks for regions */
	region_reports_shutdown(r.boot_reports);
	imagesync_shutdown(r.sync);
	dhcp_free(r.dhcp);		/* stops the Kea instances */
	region_pool_free(r.pool);
	region_reports_free(r.boot_reports);
	refresh_free(r.refresh);
	proc_runner_free(r.runner);
	imagesync_free(r.sync);
	power_free(r.power);
	bootres_store_free(r.images);
	metrics_free(r.metrics);
	rpc_free(r.rpc);
	http_free(r.http);
	daemon_shutdown();
	event_free(r.ev_term);
	event_free(r.ev_int);
	event_free(r.ev_hup);
	event_base_free(r.base);
	curl_global_cleanup();
	secret_wipe(&r.secret);
	config_free(r.cfg);
	free(r.config_path);
	log_info("stopped");
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "man-conf", no_argument, NULL, 'M' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = RACKD_DEFAULT_CONFIG;
	int ch, check = 0, verbose = 0, debug = 0;

	if (argc > 1 && strcmp(argv[1], "status") == 0) {
		log_init("rackd", 0);
		return status_client_main(argc - 1, argv + 1);
	}
	if (argc > 1 && strcmp(argv[1], "init") == 0) {
		log_init("rackd", 0);
		return cmd_init(argc - 1, argv + 1);
	}
	while ((ch = getopt_long(argc, argv, "df:nvVh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			debug = 1;
			break;
		case 'f':
			path = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'V':
			printf("rackd %s\n", RACKD_VERSION);
			return 0;
		case 'M':
			config_print_man(stdout);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (check) {
		log_init("rackd", 0);
		return cmd_check(path, verbose);
	}
	return cmd_run(path, debug);
}
