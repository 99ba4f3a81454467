/*
 * refresh.c — the refresh service: when the rack is registered and its
 * interfaces differ from what the region last accepted, tell the region
 * (spec maas-rack-refresh.md §1, §2, §8).
 *
 * One refresh ("run") is: RequestRackRefresh(system_id) for the OAuth
 * credentials, the machine-resources document built from the current
 * interface snapshot, then five op=signal POSTs to
 * <maas_url>/metadata/2012-03-01/ in MAAS's order:
 *
 *   WORKING "Starting 20-maas-03-machine-resources [1/2]"
 *   WORKING "Finished 20-maas-03-machine-resources [1/2]: 0" + 3 files
 *   WORKING "Starting 50-maas-01-commissioning [2/2]"
 *   WORKING "Finished 50-maas-01-commissioning [2/2]: 0"     + 3 files
 *   OK      "Finished refreshing <system_id>"
 *
 * Every POST must answer 200; only then is the snapshot recorded as what
 * the region knows.  A failure anywhere ends the run; the whole run is
 * retried after refresh.retry_interval (with a new RequestRackRefresh, as
 * MAAS's rack does).  Two things MAAS's rack does not do: a 401 whose Date
 * header shows clock skew is corrected and that POST resent once (the
 * skew is kept for later POSTs), and a maas_url that fails at the
 * transport level is replaced by the next configured one.
 *
 * Timing: the interface watcher (ifsnap.h) debounces netlink changes and
 * re-reads every check_interval; runs start at most once per
 * min_interval; one run at a time.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>

#include "amp.h"
#include "config.h"
#include "http.h"
#include "ifsnap.h"
#include "log.h"
#include "metrics.h"
#include "rackd.h"
#include "refresh.h"
#include "region.h"
#include "resources.h"
#include "xmalloc.h"

/* A Date this far from our (corrected) clock on a 401 means skew. */
#define REFRESH_SKEW_TOLERANCE_S	5
/* The region answers "OK"; anything bigger is an error page. */
#define REFRESH_MAX_ANSWER		(64 * 1024)
#define REFRESH_NPOSTS			5

static const char *const refresh_scripts[] = {
	"20-maas-03-machine-resources",
	"50-maas-01-commissioning",
};

/* One refresh attempt. */
struct refresh_run {
	char		*why;		/* "start-up" or the ifsnap_diff text */
	struct ifsnap	 snap;		/* what is being reported */
	char		*doc;		/* the JSON document */
	size_t		 doc_len;
	size_t		 nifs, naddrs;
	char		*system_id;
	char		*consumer_key, *token_key, *token_secret;
	int		 step;		/* next POST, 0..REFRESH_NPOSTS-1 */
	int		 url_index;	/* into cfg URLs; -1 = the pool's URL */
	char		*base_url;	/* maas_url used, no trailing '/' */
	int		 url_tries;	/* transport failures on this POST */
	int		 skew_retried;	/* this POST was resent for skew */
	int		 nposts;	/* POSTs sent, resends included */
	long		 last_status;
	uint64_t	 started_ms;
};

struct refresh {
	struct event_base	*base;
	struct http		*http;
	struct region_pool	*pool;
	struct config_refresh	 p;
	char			**urls;		/* configured maas_urls */
	size_t			 nurls;
	struct resources_host	 host;
	struct ifwatch		*watch;
	int			 have_snap;	/* the watcher delivered once */

	struct ifsnap		 recorded;	/* what the region accepted */
	int			 have_recorded;
	char			*recorded_for;	/* system_id it was reported for */

	int			 registered;
	int			 stopping;
	int			 hinted;	/* the rack-events hint was logged */
	struct event		*timer;
	uint64_t		 last_start_ms;
	uint64_t		 retry_at_ms;

	struct refresh_run	*run;		/* NULL when idle */
	int			 calling;	/* RequestRackRefresh in flight */
	struct http_request	*req;		/* POST in flight */
	long long		 skew_s;	/* region clock - ours */

	char			*failure;	/* last cause logged, NULL if fine */
	unsigned		 nfailures;	/* failed runs in a row */
	uint64_t		 failing_since_ms;
	/* For `rackd status` and metrics (refresh_status_json). */
	uint64_t		 last_ok_ms, last_fail_ms;
	size_t			 last_nifs;
	unsigned long		 runs_ok, runs_failed;
};

static void	refresh_schedule(struct refresh *);
static void	refresh_post(struct refresh *);

/* --- small helpers ---------------------------------------------------- */

static void
wipe_free(char *s)
{
	if (s != NULL) {
		xwipe(s, strlen(s));
		free(s);
	}
}

static void
run_free(struct refresh_run *run)
{
	if (run == NULL)
		return;
	free(run->why);
	ifsnap_clear(&run->snap);
	free(run->doc);
	free(run->system_id);
	free(run->consumer_key);
	free(run->token_key);
	wipe_free(run->token_secret);
	free(run->base_url);
	free(run);
}

static void
random_bytes(void *buf, size_t len)
{
	uint8_t *p = buf;
	ssize_t n;

	while (len > 0) {
		if ((n = getrandom(p, len, 0)) <= 0)
			fatal("getrandom");
		p += n;
		len -= (size_t)n;
	}
}

/* oauthlib's nonce: a random 64-bit number followed by the timestamp. */
static void
make_nonce(char *out, size_t size, long long ts)
{
	uint64_t v;

	random_bytes(&v, sizeof v);
	snprintf(out, size, "%llu%lld", (unsigned long long)v, ts);
}

/* MAAS's _random_string(30): 31 ASCII letters. */
static void
make_boundary(char out[METADATA_BOUNDARY_LEN + 1])
{
	static const char letters[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
	uint8_t r[METADATA_BOUNDARY_LEN];
	size_t i;

	random_bytes(r, sizeof r);
	for (i = 0; i < METADATA_BOUNDARY_LEN; i++)
		out[i] = letters[r[i] % 52];
	out[METADATA_BOUNDARY_LEN] = '\0';
}

/* maas_url without trailing slashes (MAAS appends "/metadata/..."). */
static char *
base_url(const char *url)
{
	char *s = xstrdup(url);
	size_t n = strlen(s);

	while (n > 0 && s[n - 1] == '/')
		s[--n] = '\0';
	return s;
}

/* A region answer for a log line: printable, one line, bounded. */
static char *
answer_text(const char *body, size_t len)
{
	char *out;
	size_t i, n = len > 120 ? 120 : len;

	out = xmalloc(n + 4);
	for (i = 0; i < n; i++)
		out[i] = (body[i] >= 0x20 && body[i] < 0x7f) ? body[i] : ' ';
	out[n] = '\0';
	while (n > 0 && out[n - 1] == ' ')
		out[--n] = '\0';
	if (n < len && n == 120)
		strcpy(out + n, "...");
	return out;
}

static void
params_set(struct refresh *r, const struct rackd_config *cfg)
{
	size_t i;

	for (i = 0; i < r->nurls; i++)
		free(r->urls[i]);
	free(r->urls);
	r->nurls = cfg->n_maas_urls;
	r->urls = xcalloc(r->nurls + 1, sizeof *r->urls);
	for (i = 0; i < r->nurls; i++)
		r->urls[i] = xstrdup(cfg->maas_urls[i]);
	r->p = cfg->refresh;
}

/* --- run outcome ------------------------------------------------------ */

static void
run_end(struct refresh *r)
{
	run_free(r->run);
	r->run = NULL;
	r->calling = 0;
	r->req = NULL;
}

/*
 * The run failed: log the cause when it is new (not on every retry) and
 * retry the whole refresh after retry_interval.
 */
static void
run_failed(struct refresh *r, const char *fmt, ...) RACKD_PRINTF(2, 3);

static void
run_failed(struct refresh *r, const char *fmt, ...)
{
	va_list ap;
	char *cause;

	va_start(ap, fmt);
	xvasprintf(&cause, fmt, ap);
	va_end(ap);
	if (r->nfailures++ == 0)
		r->failing_since_ms = rackd_now_ms();
	r->last_fail_ms = rackd_now_ms();
	r->runs_failed++;
	if (r->failure == NULL || strcmp(r->failure, cause) != 0) {
		log_warnx("refresh: %s: failed: %s; the whole refresh is "
		    "retried every %g s until the region accepts it",
		    r->run->why, cause, r->p.retry_interval_ms / 1000.0);
		free(r->failure);
		r->failure = cause;
	} else {
		log_debug("refresh: %s: failed again (%u): %s", r->run->why,
		    r->nfailures, cause);
		free(cause);
	}
	r->retry_at_ms = rackd_now_ms() + (uint64_t)r->p.retry_interval_ms;
	run_end(r);
	refresh_schedule(r);
}

static void
run_succeeded(struct refresh *r)
{
	struct refresh_run *run = r->run;
	uint64_t now = rackd_now_ms();

	ifsnap_clear(&r->recorded);
	ifsnap_copy(&r->recorded, &run->snap);
	r->have_recorded = 1;
	free(r->recorded_for);
	r->recorded_for = xstrdup(run->system_id);
	if (r->failure != NULL) {
		log_info("refresh: the region accepts refreshes again, after "
		    "%u failed attempt%s over %llu s", r->nfailures,
		    r->nfailures == 1 ? "" : "s",
		    (unsigned long long)(now - r->failing_since_ms) / 1000);
		free(r->failure);
		r->failure = NULL;
	}
	r->nfailures = 0;
	r->retry_at_ms = 0;
	r->last_ok_ms = now;
	r->last_nifs = run->nifs;
	r->runs_ok++;
	log_info("refresh: %s: %zu interface%s, %zu address%s reported to %s "
	    "in %llu ms (%d POSTs, %ld)", run->why, run->nifs,
	    run->nifs == 1 ? "" : "s", run->naddrs,
	    run->naddrs == 1 ? "" : "es", run->base_url,
	    (unsigned long long)(now - run->started_ms), run->nposts,
	    run->last_status);
	if (!r->hinted) {
		/* The region answers 200 even when its hook rejects the
		 * document (spec pitfall 11): say where to look, once. */
		log_info("refresh: if the rack's interfaces do not show in "
		    "MAAS, the rack's events there say why the region could "
		    "not process them");
		r->hinted = 1;
	}
	run_end(r);
	refresh_schedule(r);
}

/* --- the POSTs ------------------------------------------------------- */

/* Pick the next configured URL after a transport failure; 0 if none. */
static int
run_next_url(struct refresh *r)
{
	struct refresh_run *run = r->run;

	if (r->nurls < 2 || ++run->url_tries >= (int)r->nurls)
		return 0;
	run->url_index = (run->url_index + 1) % (int)r->nurls;
	free(run->base_url);
	run->base_url = base_url(r->urls[run->url_index]);
	return 1;
}

static void
post_done(const struct http_result *res, void *arg)
{
	struct refresh *r = arg;
	struct refresh_run *run = r->run;
	long long seen;
	char *text, *prev;

	r->req = NULL;
	if (r->stopping || run == NULL)
		return;
	if (!res->ok) {
		log_debug("refresh: POST %d/%d to %s: %s", run->step + 1,
		    REFRESH_NPOSTS, run->base_url, res->error);
		prev = xstrdup(run->base_url);
		if (run_next_url(r)) {
			log_info("refresh: %s did not answer (%s); trying %s",
			    prev, res->error, run->base_url);
			free(prev);
			refresh_post(r);
			return;
		}
		free(prev);
		run_failed(r, "POST %d/%d to %s" METADATA_PATH ": %s",
		    run->step + 1, REFRESH_NPOSTS, run->base_url, res->error);
		return;
	}
	run->last_status = res->status;
	/* A transport success on this URL: later failures start over. */
	run->url_tries = 0;
	if (res->status == 401 && res->date != 0 && !run->skew_retried) {
		seen = (long long)res->date - ((long long)time(NULL) +
		    r->skew_s);
		if (seen > REFRESH_SKEW_TOLERANCE_S ||
		    seen < -REFRESH_SKEW_TOLERANCE_S) {
			r->skew_s += seen;
			log_warnx("refresh: the region's clock is %lld s %s of "
			    "ours (its Date header on a 401); signing with "
			    "corrected timestamps", r->skew_s < 0 ? -r->skew_s :
			    r->skew_s, r->skew_s < 0 ? "behind" : "ahead");
			run->skew_retried = 1;
			refresh_post(r);
			return;
		}
	}
	if (res->status != 200) {
		text = answer_text(res->body, res->len);
		run_failed(r, "POST %d/%d to %s" METADATA_PATH ": HTTP %ld%s%s",
		    run->step + 1, REFRESH_NPOSTS, run->base_url, res->status,
		    text[0] != '\0' ? ": " : "", text);
		free(text);
		return;
	}
	run->skew_retried = 0;
	if (++run->step == REFRESH_NPOSTS) {
		run_succeeded(r);
		return;
	}
	refresh_post(r);
}

/* Send POST number run->step (again, after a skew or URL change). */
static void
refresh_post(struct refresh *r)
{
	struct refresh_run *run = r->run;
	struct metadata_creds creds = { run->consumer_key, run->token_key,
	    run->token_secret };
	struct metadata_signal sig;
	struct metadata_file files[3];
	const char *script = refresh_scripts[run->step / 2 % 2];
	char boundary[METADATA_BOUNDARY_LEN + 1], nonce[64];
	char *auth, *auth_line, *ctype, *ctype_line, *body, *url, *err;
	char *cause = NULL, *names[3];
	const char *hdrs[3];
	long long ts;
	size_t len, i;

	memset(&sig, 0, sizeof sig);
	memset(names, 0, sizeof names);
	sig.status = "WORKING";
	switch (run->step) {
	case 0:
	case 2:
		xasprintf(&err, "Starting %s [%d/2]", script,
		    run->step / 2 + 1);
		break;
	case 1:
	case 3:
		xasprintf(&err, "Finished %s [%d/2]: 0", script,
		    run->step / 2 + 1);
		sig.has_exit_status = 1;
		sig.exit_status = 0;
		/* combined output (stdout + empty stderr), stdout, stderr */
		xasprintf(&names[0], "%s", script);
		xasprintf(&names[1], "%s.out", script);
		xasprintf(&names[2], "%s.err", script);
		for (i = 0; i < 3; i++) {
			files[i].name = names[i];
			files[i].data = i < 2 ? run->doc : "";
			files[i].len = i < 2 ? run->doc_len : 0;
		}
		sig.files = files;
		sig.nfiles = 3;
		break;
	default:
		sig.status = "OK";
		xasprintf(&err, "Finished refreshing %s", run->system_id);
		break;
	}
	sig.error = err;

	ts = (long long)time(NULL) + r->skew_s;
	make_nonce(nonce, sizeof nonce, ts);
	make_boundary(boundary);
	metadata_body(boundary, &sig, &body, &len);
	auth = metadata_oauth_header(&creds, nonce, ts);
	xasprintf(&auth_line, "Authorization: %s", auth);
	ctype = metadata_content_type(boundary);
	xasprintf(&ctype_line, "Content-Type: %s", ctype);
	hdrs[0] = auth_line;
	hdrs[1] = ctype_line;
	hdrs[2] = NULL;
	xasprintf(&url, "%s" METADATA_PATH, run->base_url);
	log_debug("refresh: POST %d/%d to %s: %s \"%s\" (%zu bytes)",
	    run->step + 1, REFRESH_NPOSTS, url, sig.status, err, len);
	run->nposts++;
	r->req = http_post(r->http, url, hdrs, body, len, r->p.timeout_ms,
	    REFRESH_MAX_ANSWER, post_done, r, &cause);
	wipe_free(auth);
	wipe_free(auth_line);
	free(ctype);
	free(ctype_line);
	free(body);
	free(err);
	for (i = 0; i < 3; i++)
		free(names[i]);
	if (r->req == NULL) {
		run_failed(r, "POST %s: %s", url, cause);
		free(cause);
	}
	free(url);
}

/* --- RequestRackRefresh ---------------------------------------------- */

static void
call_done(const struct region_call_result *res, void *arg)
{
	struct refresh *r = arg;
	struct refresh_run *run = r->run;
	const char *keys[] = { "consumer_key", "token_key", "token_secret" };
	char **out[3];
	const char *pool_url;
	char *cause = NULL;
	size_t i;
	int rc;

	r->calling = 0;
	if (r->stopping || run == NULL ||
	    res->status == REGION_CALL_CANCELLED)
		return;
	if (res->status != REGION_CALL_OK) {
		if (res->status == REGION_CALL_REMOTE_ERROR)
			run_failed(r, "RequestRackRefresh(%s): %s: %s",
			    run->system_id, res->error_code,
			    res->error_description);
		else
			run_failed(r, "RequestRackRefresh(%s): %s",
			    run->system_id,
			    region_call_status_name(res->status));
		return;
	}
	out[0] = &run->consumer_key;
	out[1] = &run->token_key;
	out[2] = &run->token_secret;
	for (i = 0; i < 3; i++) {
		rc = amp_box_get_str(res->answer, keys[i], out[i], &cause);
		if (rc != 0) {
			run_failed(r, "RequestRackRefresh(%s): answer %s %s",
			    run->system_id, rc == 1 ? "lacks" : "has a bad",
			    rc == 1 ? keys[i] : cause);
			free(cause);
			return;
		}
	}
	/* The URL discovery uses (as MAAS's clientService.maas_url), else
	 * the configured ones in order. */
	run->url_index = 0;
	pool_url = region_pool_maas_url(r->pool);
	if (pool_url != NULL) {
		for (i = 0; i < r->nurls; i++)
			if (strcmp(r->urls[i], pool_url) == 0)
				run->url_index = (int)i;
		run->base_url = base_url(pool_url);
	} else
		run->base_url = base_url(r->urls[0]);
	refresh_post(r);
}

/* --- scheduling -------------------------------------------------------- */

/* What the region lacks, or NULL when it has the current interfaces. */
static char *
refresh_needed(struct refresh *r)
{
	const char *sid = region_pool_system_id(r->pool);

	if (!r->have_recorded)
		return xstrdup("start-up");
	if (r->recorded_for != NULL && strcmp(r->recorded_for, sid) != 0) {
		char *s;

		xasprintf(&s, "new system_id %s", sid);
		return s;
	}
	return ifsnap_diff(&r->recorded, ifwatch_snapshot(r->watch));
}

static void
run_start(struct refresh *r, char *why)
{
	struct refresh_run *run;
	struct amp_box *args;
	json_t *doc;
	char *cause = NULL;

	run = xcalloc(1, sizeof *run);
	run->why = why;
	run->started_ms = rackd_now_ms();
	run->system_id = xstrdup(region_pool_system_id(r->pool));
	ifsnap_copy(&run->snap, ifwatch_snapshot(r->watch));
	r->run = run;
	r->last_start_ms = run->started_ms;
	if ((doc = resources_build(&run->snap, &r->host, &cause)) == NULL) {
		run_failed(r, "building the document: %s", cause);
		free(cause);
		return;
	}
	resources_count(doc, &run->nifs, &run->naddrs);
	/* Compact: resources_build bounds the compact size under the
	 * region's 1 MiB field (MAAS's indent=4 is only cosmetic). */
	run->doc = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (run->doc == NULL) {
		run_failed(r, "building the document: json_dumps failed");
		return;
	}
	run->doc_len = strlen(run->doc);
	log_debug("refresh: %s: document of %zu bytes (%zu interface(s), "
	    "%zu address(es))", why, run->doc_len, run->nifs, run->naddrs);
	args = amp_box_new();
	amp_box_put_str(args, "system_id", run->system_id);
	r->calling = 1;
	region_call(r->pool, "RequestRackRefresh", args,
	    REGION_CALL_IDEMPOTENT, 0, call_done, r);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct refresh *r = arg;
	char *why;

	if (r->run != NULL || r->stopping || !r->p.enabled || !r->have_snap)
		return;
	if ((why = refresh_needed(r)) != NULL)
		run_start(r, why);
}

/*
 * Arm the timer for the next run when one is due: registered, enabled,
 * idle, the interfaces read, and something the region does not know;
 * never sooner than min_interval after the last start nor before a
 * pending retry.
 */
static void
refresh_schedule(struct refresh *r)
{
	uint64_t now = rackd_now_ms(), at;
	struct timeval tv;
	char *why;

	if (r->stopping || !r->registered || !r->p.enabled || !r->have_snap ||
	    r->run != NULL)
		return;
	if ((why = refresh_needed(r)) == NULL) {
		evtimer_del(r->timer);
		return;
	}
	free(why);
	at = now;
	if (r->last_start_ms != 0 &&
	    r->last_start_ms + (uint64_t)r->p.min_interval_ms > at)
		at = r->last_start_ms + (uint64_t)r->p.min_interval_ms;
	if (r->retry_at_ms > at)
		at = r->retry_at_ms;
	tv.tv_sec = (time_t)((at - now) / 1000);
	tv.tv_usec = (suseconds_t)((at - now) % 1000 * 1000);
	evtimer_add(r->timer, &tv);
}

static void
watch_cb(const struct ifsnap *snap, const char *changes, void *arg)
{
	struct refresh *r = arg;

	r->have_snap = 1;
	if (changes != NULL)
		log_debug("refresh: interfaces changed: %s", changes);
	refresh_schedule(r);
}

static int
watch_start(struct refresh *r, char **cause)
{
	r->watch = ifwatch_new(r->base, r->p.debounce_ms,
	    r->p.check_interval_ms, watch_cb, r, cause);
	return r->watch != NULL ? 0 : -1;
}

/* --- public ------------------------------------------------------------ */

struct refresh *
refresh_new(struct event_base *base, struct http *http,
    struct region_pool *pool, const struct rackd_config *cfg, char **cause)
{
	struct refresh *r;

	r = xcalloc(1, sizeof *r);
	r->base = base;
	r->http = http;
	r->pool = pool;
	params_set(r, cfg);
	ifsnap_init(&r->recorded);
	resources_host_read(&r->host);
	if ((r->timer = evtimer_new(base, timer_cb, r)) == NULL) {
		xasprintf(cause, "evtimer_new failed");
		refresh_free(r);
		return NULL;
	}
	if (r->p.enabled && watch_start(r, cause) == -1) {
		refresh_free(r);
		return NULL;
	}
	return r;
}

void
refresh_registered(struct refresh *r)
{
	if (r == NULL || r->stopping)
		return;
	if (region_pool_system_id(r->pool)[0] == '\0')
		return;
	r->registered = 1;
	refresh_schedule(r);
}

void
refresh_reconfigure(struct refresh *r, const struct rackd_config *cfg)
{
	struct config_refresh old = r->p;
	char *cause = NULL;

	params_set(r, cfg);
	if (!r->p.enabled || old.debounce_ms != r->p.debounce_ms ||
	    old.check_interval_ms != r->p.check_interval_ms) {
		ifwatch_free(r->watch);
		r->watch = NULL;
		r->have_snap = 0;
	}
	if (!r->p.enabled) {
		if (old.enabled)
			log_info("refresh: disabled");
		evtimer_del(r->timer);
		return;
	}
	if (!old.enabled)
		log_info("refresh: enabled");
	if (r->watch == NULL && watch_start(r, &cause) == -1) {
		log_warnx("refresh: cannot watch the interfaces: %s", cause);
		free(cause);
		return;
	}
	/* A shorter retry or min interval takes effect now. */
	if (r->retry_at_ms != 0 && r->p.retry_interval_ms <
	    old.retry_interval_ms)
		r->retry_at_ms = rackd_now_ms() +
		    (uint64_t)r->p.retry_interval_ms;
	refresh_schedule(r);
}

void
refresh_shutdown(struct refresh *r)
{
	if (r == NULL || r->stopping)
		return;
	r->stopping = 1;
	if (r->req != NULL)
		http_cancel(r->http, r->req);
	r->req = NULL;
	evtimer_del(r->timer);
	ifwatch_free(r->watch);
	r->watch = NULL;
}

void
refresh_free(struct refresh *r)
{
	size_t i;

	if (r == NULL)
		return;
	refresh_shutdown(r);
	run_free(r->run);
	if (r->timer != NULL)
		event_free(r->timer);
	ifsnap_clear(&r->recorded);
	free(r->recorded_for);
	free(r->failure);
	for (i = 0; i < r->nurls; i++)
		free(r->urls[i]);
	free(r->urls);
	free(r);
}

/* --- the operator's view ---------------------------------------------- */

json_t *
refresh_status_json(const struct refresh *r)
{
	uint64_t now = rackd_now_ms();
	json_t *o;

	o = json_pack("{s:b, s:b, s:I, s:I}",
	    "registered", r->registered != 0,
	    "running", r->run != NULL,
	    "ok", (json_int_t)r->runs_ok,
	    "failed", (json_int_t)r->runs_failed);
	json_object_set_new(o, "last_ok_age_s", r->last_ok_ms != 0 ?
	    json_integer((json_int_t)((now - r->last_ok_ms) / 1000)) :
	    json_null());
	json_object_set_new(o, "interfaces", r->last_ok_ms != 0 ?
	    json_integer((json_int_t)r->last_nifs) : json_null());
	json_object_set_new(o, "last_error", r->failure != NULL ?
	    json_string(r->failure) : json_null());
	json_object_set_new(o, "failing_for_s", r->failure != NULL ?
	    json_integer((json_int_t)((now - r->failing_since_ms) / 1000)) :
	    json_null());
	return o;
}

void
refresh_metrics(const struct refresh *r, struct metrics *m)
{
	const char *v[1];

	metrics_define(m, "rackd_refresh_total", METRICS_COUNTER,
	    "Refreshes (interfaces reported to the region), by result",
	    "result", NULL, 0);
	metrics_define(m, "rackd_refresh_interfaces", METRICS_GAUGE,
	    "Interfaces reported by the last successful refresh", NULL, NULL, 0);
	v[0] = "ok";
	metrics_counter_set(m, "rackd_refresh_total", v, (double)r->runs_ok);
	v[0] = "failed";
	metrics_counter_set(m, "rackd_refresh_total", v,
	    (double)r->runs_failed);
	metrics_gauge_set(m, "rackd_refresh_interfaces", NULL,
	    (double)r->last_nifs);
}
